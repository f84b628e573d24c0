"""A real Chromium (Debian's) driven by Playwright, for tests marked `browser`."""

import os
import shutil
from collections.abc import Iterator

import pytest

CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    path = os.environ.get("ORGSYNC_CHROMIUM") or shutil.which("chromium")
    if not path:
        pytest.fail(
            "No chromium found. Install Debian's chromium, or run `make test`, which leaves "
            "browser tests out (and says so) when there is none."
        )
    return path


def spki_hash(url: str) -> str:
    """base64 SHA-256 of the public key of the certificate `url` presents (Chromium's
    --ignore-certificate-errors-spki-list format)."""
    import base64
    import hashlib
    import ssl
    from urllib.parse import urlparse

    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    parts = urlparse(url)
    pem = ssl.get_server_certificate((parts.hostname, parts.port))
    spki = (
        x509.load_pem_x509_certificate(pem.encode())
        .public_key()
        .public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return base64.b64encode(hashlib.sha256(spki).digest()).decode()


@pytest.fixture(scope="session")
def browser(django_db_setup, sfemu_server) -> Iterator:
    """Playwright's sync API runs an event loop in this thread while the browser is open, so
    Django's async-safety guard is relaxed for the test's own ORM calls (and only then).

    The browser plays an admin's browser, which would trust the emulator's CA: here exactly the
    emulator's certificate is trusted (by its key), nothing else."""
    from playwright.sync_api import sync_playwright

    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(
                executable_path=chromium_path(),
                args=[*CHROMIUM_ARGS, f"--ignore-certificate-errors-spki-list={spki_hash(sfemu_server.url)}"],
            )
            yield browser
            browser.close()
    finally:
        del os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"]


@pytest.fixture
def page(browser, live_server):
    """A fresh browser context on the live console."""
    context = browser.new_context(base_url=live_server.url)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()

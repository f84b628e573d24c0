"""The Content-Security-Policy breaks nothing: the admin's widgets and popups, the sign-in and
the MFA setup page run in a real browser without a single CSP violation."""

import re

import pytest
from playwright.sync_api import expect

from tests.browser.test_login_browser import sign_in
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def violations(page) -> list[str]:
    """Console messages and page errors of the page and its popups that are about the CSP."""
    seen: list[str] = []

    def watch(target) -> None:
        target.on("console", lambda message: seen.append(f"{message.type}: {message.text}"))
        target.on("pageerror", lambda error: seen.append(f"pageerror: {error}"))

    watch(page)
    page.context.on("page", watch)
    yield seen


def csp_errors(messages: list[str]) -> list[str]:
    return [m for m in messages if "Content Security Policy" in m or "Content-Security-Policy" in m]


def test_admin_and_mfa_pages_run_under_the_policy(page, violations):
    admin = UserFactory(is_superuser=True)
    response = page.goto("/accounts/login/")
    assert "script-src 'self'" in response.headers["content-security-policy"]
    sign_in(page, admin.username, PASSWORD)
    expect(page).to_have_url(re.compile(r"/admin/$"))

    # The index: product first, the library apps under a collapsed "Administration".
    administration = page.locator("#administration-apps")
    expect(administration.locator(".app-auth")).to_be_hidden()
    administration.locator("summary").click()
    expect(administration.locator(".app-auth")).to_be_visible()

    # A change form with a filter_horizontal widget (built by admin JS) and a related-object popup.
    page.goto(f"/admin/auth/user/{admin.pk}/change/")
    expect(page.locator("#id_groups_from")).to_be_visible()  # SelectFilter2 ran
    with page.expect_popup() as popup_info:
        page.click("#add_id_groups")
    popup = popup_info.value
    popup.fill("input[name=name]", "CSP checkers")
    popup.click("input[name=_save]")
    popup.wait_for_event("close")  # popup_response.js ran and closed it
    expect(page.locator("#id_groups_to option", has_text="CSP checkers")).to_have_count(1)

    # A page that still carries an inline script (see orgsync.security.INLINE_SCRIPT_VIEWS).
    page.goto("/admin/metadiff/diffrun/")
    expect(page.locator("#content")).to_be_visible()

    # MFA setup: the QR code is a data: image.
    page.goto("/accounts/2fa/totp/activate/")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    expect(page).to_have_url(re.compile(r"/accounts/2fa/totp/activate/"))
    qr = page.locator("img[src^='data:image/svg+xml']")
    expect(qr).to_be_visible()
    assert qr.evaluate("img => img.complete && img.naturalWidth > 0"), "the QR code loaded"

    assert not csp_errors(violations), violations


def test_the_policy_is_enforced(page, violations):
    """The check above is meaningful: an inline script is refused and reported in the console."""
    page.goto("/accounts/login/")
    page.evaluate(
        """() => { const s = document.createElement("script");
                   s.textContent = "window.inlineRan = true"; document.body.appendChild(s); }"""
    )
    assert page.evaluate("() => window.inlineRan") is None
    page.wait_for_timeout(200)
    assert csp_errors(violations), violations

"""The edge: HTTPS settings from the environment, Content-Security-Policy, `check --deploy`."""

import json
import os
import re
import secrets
import subprocess
import sys
from pathlib import Path

import pytest
from django.test import override_settings

from replication.models import BulkSync
from tests.factories import ConnectionFactory, UserFactory

PROJECT_DIR = Path(__file__).resolve().parents[2]
TEST_ENCRYPTION_KEY = "test:b3Jnc3luYy10ZXN0LWtleS1ub3QtZm9yLXByb2QtMzI="
# docs/production.md, "Behind a TLS proxy": the documented production environment.
PRODUCTION = {
    "DEBUG": "false",
    "ORGSYNC_HTTPS": "true",
    "ALLOWED_HOSTS": "orgsync.example.com",
    "ORGSYNC_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEY,
}
EDGE_SETTINGS = [
    "SECURE_SSL_REDIRECT",
    "SECURE_HSTS_SECONDS",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS",
    "SECURE_HSTS_PRELOAD",
    "SECURE_PROXY_SSL_HEADER",
    "SESSION_COOKIE_SECURE",
    "CSRF_COOKIE_SECURE",
    "SECURE_CONTENT_TYPE_NOSNIFF",
    "X_FRAME_OPTIONS",
    "SECURE_REFERRER_POLICY",
]


def run_manage(environment: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    """manage.py with the real settings, only `environment` (no .env, nothing inherited)."""
    inherited = {k: v for k, v in os.environ.items() if k in {"PATH", "HOME", "LANG", "DATABASE_URL"}}
    env = {
        **inherited,
        "DJANGO_SETTINGS_MODULE": "orgsync.settings",
        "ORGSYNC_ENV_FILE": "",
        "SECRET_KEY": secrets.token_urlsafe(64),
        **environment,
    }
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def edge_settings(environment: dict[str, str]) -> dict:
    code = (
        "import json; from django.conf import settings as s; "
        "print(json.dumps({n: getattr(s, n) for n in %r}))"
    )
    completed = run_manage(environment, "shell", "-c", code % (EDGE_SETTINGS,))
    assert completed.returncode == 0, completed.stderr
    return json.loads(completed.stdout.strip().splitlines()[-1])


# ------------------------------------------------------------------------------ settings
def test_check_deploy_passes_with_the_documented_production_settings():
    completed = run_manage(
        PRODUCTION,
        "shell",
        "-c",
        "from django.core.management import call_command; "
        "call_command('check', deploy=True, fail_level='WARNING')",
    )
    assert completed.returncode == 0, completed.stdout + completed.stderr
    assert "System check identified no issues" in completed.stdout + completed.stderr


def test_check_deploy_warns_without_https():
    """The default (plain HTTP for `make run`) is not production: --deploy says so."""
    completed = run_manage(
        {**PRODUCTION, "ORGSYNC_HTTPS": "false"}, "check", "--deploy", "--fail-level", "WARNING"
    )
    assert completed.returncode != 0
    assert "security.W008" in completed.stderr  # SECURE_SSL_REDIRECT


def test_defaults_keep_plain_http_working_with_debug_off():
    """`make run` serves http://127.0.0.1:8000 with DEBUG off: no redirect, no HSTS, no secure
    cookies, no trusted proxy header; the harmless headers are on."""
    values = edge_settings({"DEBUG": "false", "ORGSYNC_ENCRYPTION_KEYS": TEST_ENCRYPTION_KEY})
    assert values == {
        "SECURE_SSL_REDIRECT": False,
        "SECURE_HSTS_SECONDS": 0,
        "SECURE_HSTS_INCLUDE_SUBDOMAINS": False,
        "SECURE_HSTS_PRELOAD": False,
        "SECURE_PROXY_SSL_HEADER": None,
        "SESSION_COOKIE_SECURE": False,
        "CSRF_COOKIE_SECURE": False,
        "SECURE_CONTENT_TYPE_NOSNIFF": True,
        "X_FRAME_OPTIONS": "DENY",
        "SECURE_REFERRER_POLICY": "same-origin",
    }


def test_orgsync_https_turns_everything_on():
    values = edge_settings(PRODUCTION)
    assert values["SECURE_SSL_REDIRECT"] is True
    assert values["SECURE_HSTS_SECONDS"] == 31_536_000
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True
    assert values["SECURE_HSTS_PRELOAD"] is False
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["SESSION_COOKIE_SECURE"] is True and values["CSRF_COOKIE_SECURE"] is True


def test_each_piece_stays_overridable():
    values = edge_settings(
        {
            **PRODUCTION,
            "SECURE_SSL_REDIRECT": "false",
            "SECURE_HSTS_SECONDS": "300",
            "SECURE_HSTS_INCLUDE_SUBDOMAINS": "false",
            "SECURE_HSTS_PRELOAD": "true",
            "ORGSYNC_BEHIND_TLS_PROXY": "false",
            "CSRF_COOKIE_SECURE": "false",
            "X_FRAME_OPTIONS": "SAMEORIGIN",
            "SECURE_REFERRER_POLICY": "no-referrer",
        }
    )
    assert values["SECURE_SSL_REDIRECT"] is False
    assert values["SECURE_HSTS_SECONDS"] == 300
    assert values["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is False
    assert values["SECURE_HSTS_PRELOAD"] is True
    assert values["SECURE_PROXY_SSL_HEADER"] is None
    assert values["SESSION_COOKIE_SECURE"] is True and values["CSRF_COOKIE_SECURE"] is False
    assert values["X_FRAME_OPTIONS"] == "SAMEORIGIN"
    assert values["SECURE_REFERRER_POLICY"] == "no-referrer"


def test_behind_tls_proxy_alone_trusts_the_header_and_changes_nothing_else():
    values = edge_settings({**PRODUCTION, "ORGSYNC_HTTPS": "false", "ORGSYNC_BEHIND_TLS_PROXY": "true"})
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["SECURE_SSL_REDIRECT"] is False and values["SECURE_HSTS_SECONDS"] == 0


# ------------------------------------------------------------------------ the responses
PRODUCTION_EDGE = {
    "SECURE_SSL_REDIRECT": True,
    "SECURE_HSTS_SECONDS": 31_536_000,
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": True,
    "SECURE_PROXY_SSL_HEADER": ("HTTP_X_FORWARDED_PROTO", "https"),
    "SESSION_COOKIE_SECURE": True,
    "CSRF_COOKIE_SECURE": True,
}


@pytest.mark.django_db
def test_plain_http_is_served_by_default(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 200
    assert "Strict-Transport-Security" not in response
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"


@pytest.mark.django_db
@override_settings(**PRODUCTION_EDGE)
def test_behind_the_proxy_http_redirects_and_https_gets_hsts_and_secure_cookies(client):
    response = client.get("/accounts/login/")
    assert response.status_code == 301 and response["Location"] == "https://testserver/accounts/login/"
    response = client.get("/accounts/login/", headers={"X-Forwarded-Proto": "https"})
    assert response.status_code == 200
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    assert response.cookies["csrftoken"]["secure"]


@pytest.mark.django_db
@override_settings(**PRODUCTION_EDGE)
def test_healthz_answers_plain_http_probes(client):
    assert client.get("/healthz").status_code != 301


def directives(response) -> dict[str, list[str]]:
    policy = response["Content-Security-Policy"]
    return {d.split()[0]: d.split()[1:] for d in (p.strip() for p in policy.split(";")) if d}


@pytest.mark.django_db
def test_csp_on_login_and_admin(client):
    for response in (client.get("/accounts/login/"), client.get("/admin/")):
        policy = directives(response)
        assert policy["default-src"] == ["'self'"]
        assert policy["script-src"] == ["'self'"], "no inline scripts"
        assert policy["frame-ancestors"] == ["'none'"]
        assert policy["object-src"] == ["'none'"]
        assert "data:" in policy["img-src"], "the MFA QR code is a data: image"
        assert policy["form-action"] == ["'self'", "https:"], "Connect New Org redirects to the org"


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*type=\"application/json\")[^>]*>", re.IGNORECASE)


def test_no_template_holds_an_inline_script():
    """Only <script src=…> (and json_script's data block, which is not run) in our templates."""
    inline = {
        str(path.relative_to(PROJECT_DIR)): INLINE_SCRIPT.findall(path.read_text())
        for path in (PROJECT_DIR / "templates").rglob("*.html")
    }
    assert not {path: tags for path, tags in inline.items() if tags}


@pytest.mark.django_db
def test_the_formerly_excepted_pages_get_the_strict_policy_and_run_no_inline_script(client):
    client.force_login(UserFactory(is_superuser=True))
    connection = ConnectionFactory()
    running = BulkSync.objects.create(connection=connection, status=BulkSync.Status.RUNNING)
    pages = {
        "/admin/metadiff/diffrun/": "orgsync/diffrun.js",
        f"/admin/replication/bulksync/start/{connection.pk}/": "orgsync/bulksync.js",
        f"/admin/replication/bulksync/{running.pk}/change/": "orgsync/bulksync.js",
    }
    for url, script in pages.items():
        response = client.get(url)
        assert response.status_code == 200, url
        assert directives(response)["script-src"] == ["'self'"], url
        html = response.content.decode()
        assert f'src="/static/{script}"' in html, url
        assert not INLINE_SCRIPT.findall(html), url
    progress = client.get(f"/admin/replication/bulksync/{running.pk}/change/").content.decode()
    assert f'data-status-url="/admin/replication/bulksync/{running.pk}/status.json"' in progress
    assert 'data-poll-seconds="2"' in progress and 'data-stamp="running:' in progress
    assert directives(client.get("/admin/connections/connection/"))["script-src"] == ["'self'"]


def test_the_static_scripts_exist():
    for name in ("diffrun.js", "bulksync.js"):
        assert (PROJECT_DIR / "static" / "orgsync" / name).is_file()


@pytest.mark.django_db
@override_settings(ORGSYNC_CSP_REPORT_ONLY=True)
def test_report_only(client):
    response = client.get("/accounts/login/")
    assert "Content-Security-Policy" not in response
    assert "script-src 'self'" in response["Content-Security-Policy-Report-Only"]


@pytest.mark.django_db
@override_settings(ORGSYNC_CSP="")
def test_empty_policy_sends_none(client):
    assert "Content-Security-Policy" not in client.get("/accounts/login/")

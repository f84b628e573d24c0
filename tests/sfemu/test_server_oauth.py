"""OAuth 2.0 grants on /services/oauth2/token, the authorize page (PKCE) and revoke."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import re
import secrets
import time
from html.parser import HTMLParser
from urllib.parse import parse_qs, urlsplit

import jwt
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from sfemu.testing import AppHandle, OrgHandle, SfemuServer

CALLBACK = "http://localhost:1717/OauthRedirect"


@pytest.fixture
def app(sfemu_server: SfemuServer, sfemu_org: OrgHandle) -> AppHandle:
    return sfemu_server.create_app(sfemu_org, callback_urls=[CALLBACK])


def token(http: requests.Session, server: SfemuServer, **form: str) -> requests.Response:
    return http.post(f"{server.url}/services/oauth2/token", data=form, timeout=10)


def password_grant(
    http: requests.Session, server: SfemuServer, org: OrgHandle, app: AppHandle
) -> requests.Response:
    return token(
        http,
        server,
        grant_type="password",
        client_id=app.client_id,
        client_secret=app.client_secret,
        username=org.username,
        password=org.login_password,
    )


def test_password_grant_answer_has_the_recorded_keys(http, sfemu_server, sfemu_org, app) -> None:
    resp = password_grant(http, sfemu_server, sfemu_org, app)
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json;charset=UTF-8"
    body = resp.json()
    assert sorted(body) == ["access_token", "id", "instance_url", "issued_at", "signature", "token_type"]
    assert next(iter(body)) == "access_token"
    assert body["token_type"] == "Bearer"
    assert body["instance_url"] == sfemu_server.url
    assert body["id"] == f"{sfemu_server.url}/id/{sfemu_org.org_id}/{sfemu_org.user_id}"
    assert re.fullmatch(r"\d{13}", body["issued_at"])
    assert re.fullmatch(r"00D[0-9A-Za-z]{12}!AQ[0-9A-Za-z._]+", body["access_token"])
    assert body["access_token"].startswith(sfemu_org.org_id[:15] + "!")
    mac = hmac.new(app.client_secret.encode(), (body["id"] + body["issued_at"]).encode(), hashlib.sha256)
    assert body["signature"] == base64.b64encode(mac.digest()).decode()
    limits = http.get(
        f"{body['instance_url']}/services/data/v62.0/limits",
        headers={"Authorization": f"Bearer {body['access_token']}"},
        timeout=10,
    )
    assert limits.status_code == 200


def test_password_grant_requires_the_security_token(http, sfemu_server, sfemu_org, app):
    resp = token(
        http,
        sfemu_server,
        grant_type="password",
        client_id=app.client_id,
        client_secret=app.client_secret,
        username=sfemu_org.username,
        password=sfemu_org.password,
    )
    assert resp.status_code == 400
    assert resp.json() == {"error": "invalid_grant", "error_description": "authentication failure"}


@pytest.mark.parametrize(
    ("change", "error", "description"),
    [
        ({"password": "wrong"}, "invalid_grant", "authentication failure"),
        ({"username": "nobody@example.com"}, "invalid_grant", "authentication failure"),
        ({"client_secret": "nope"}, "invalid_client", "invalid client credentials"),
        ({"client_id": "3MVG9unknown"}, "invalid_client_id", "client identifier invalid"),
        ({"grant_type": "magic"}, "unsupported_grant_type", "grant type not supported"),
    ],
)
def test_password_grant_errors(http, sfemu_server, sfemu_org, app, change, error, description):
    form = {
        "grant_type": "password",
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "username": sfemu_org.username,
        "password": sfemu_org.login_password,
    } | change
    resp = token(http, sfemu_server, **form)
    assert resp.status_code == 400
    assert resp.headers["content-type"] == "application/json;charset=UTF-8"
    assert resp.json() == {"error": error, "error_description": description}


class _FormParser(HTMLParser):
    """Collects the login form's action and inputs."""

    def __init__(self) -> None:
        super().__init__()
        self.action = ""
        self.fields: dict[str, str] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "form":
            self.action = values.get("action") or ""
        if tag == "input" and values.get("name"):
            self.fields[values["name"] or ""] = values.get("value") or ""


def pkce_pair() -> tuple[str, str]:
    verifier = base64.urlsafe_b64encode(secrets.token_bytes(96)).decode().rstrip("=")
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
    return verifier, challenge.decode().rstrip("=")


def authorize(
    http: requests.Session,
    server: SfemuServer,
    org: OrgHandle,
    app: AppHandle,
    challenge: str,
    *,
    action: str = "allow",
    password: str | None = None,
) -> requests.Response:
    """Drive the authorize page like a browser: GET the form, POST it back."""
    page = http.get(
        f"{server.url}/services/oauth2/authorize",
        params={
            "response_type": "code",
            "client_id": app.client_id,
            "redirect_uri": CALLBACK,
            "state": "xyz 123",
            "code_challenge": challenge,
        },
        timeout=10,
    )
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    form = _FormParser()
    form.feed(page.text)
    fields = form.fields | {"username": org.username, "pw": password or org.password, "action": action}
    return http.post(f"{server.url}{form.action}", data=fields, allow_redirects=False, timeout=10)


def test_pkce_flow_through_the_authorize_page(http, sfemu_server, sfemu_org, app) -> None:
    verifier, challenge = pkce_pair()
    resp = authorize(http, sfemu_server, sfemu_org, app, challenge)
    assert resp.status_code == 302
    location = urlsplit(resp.headers["location"])
    assert f"{location.scheme}://{location.netloc}{location.path}" == CALLBACK
    query = parse_qs(location.query)
    assert query["state"] == ["xyz 123"]
    code = query["code"][0]
    # jsforce sends no code_challenge_method and, for a PKCE client, no secret.
    granted = token(
        http,
        sfemu_server,
        grant_type="authorization_code",
        code=code,
        client_id=app.client_id,
        redirect_uri=CALLBACK,
        code_verifier=verifier,
    )
    assert granted.status_code == 200, granted.text
    body = granted.json()
    assert {"access_token", "refresh_token", "scope", "signature", "id"} <= set(body)
    assert "refresh_token" in body["scope"].split()
    again = token(
        http,
        sfemu_server,
        grant_type="authorization_code",
        code=code,
        client_id=app.client_id,
        redirect_uri=CALLBACK,
        code_verifier=verifier,
    )
    assert again.json() == {"error": "invalid_grant", "error_description": "invalid authorization code"}

    refreshed = token(
        http,
        sfemu_server,
        grant_type="refresh_token",
        refresh_token=body["refresh_token"],
        client_id=app.client_id,
    )
    assert refreshed.status_code == 200
    assert "refresh_token" not in refreshed.json()
    assert refreshed.json()["access_token"] != body["access_token"]


def test_pkce_wrong_verifier_is_refused(http, sfemu_server, sfemu_org, app) -> None:
    _, challenge = pkce_pair()
    resp = authorize(http, sfemu_server, sfemu_org, app, challenge)
    code = parse_qs(urlsplit(resp.headers["location"]).query)["code"][0]
    other, _ = pkce_pair()
    granted = token(
        http,
        sfemu_server,
        grant_type="authorization_code",
        code=code,
        client_id=app.client_id,
        redirect_uri=CALLBACK,
        code_verifier=other,
    )
    assert granted.status_code == 400
    assert granted.json() == {"error": "invalid_grant", "error_description": "invalid code verifier"}


def test_authorize_deny_redirects_with_access_denied(http, sfemu_server, sfemu_org, app) -> None:
    _, challenge = pkce_pair()
    resp = authorize(http, sfemu_server, sfemu_org, app, challenge, action="deny")
    assert resp.status_code == 302
    query = parse_qs(urlsplit(resp.headers["location"]).query)
    assert query["error"] == ["access_denied"]
    assert query["state"] == ["xyz 123"]


def test_authorize_wrong_password_shows_the_page_again(http, sfemu_server, sfemu_org, app):
    _, challenge = pkce_pair()
    resp = authorize(http, sfemu_server, sfemu_org, app, challenge, password="wrong")
    assert resp.status_code == 200
    assert "check your username and password" in resp.text


def test_authorize_unknown_redirect_uri_is_not_redirected(http, sfemu_server, app) -> None:
    resp = http.get(
        f"{sfemu_server.url}/services/oauth2/authorize",
        params={
            "response_type": "code",
            "client_id": app.client_id,
            "redirect_uri": "https://evil.example/cb",
        },
        allow_redirects=False,
        timeout=10,
    )
    assert resp.status_code == 400
    assert "redirect_uri_mismatch" in resp.text


def test_refresh_with_unknown_token(http, sfemu_server, app) -> None:
    resp = token(
        http, sfemu_server, grant_type="refresh_token", refresh_token="5Aep861nope", client_id=app.client_id
    )
    assert resp.json() == {"error": "invalid_grant", "error_description": "expired access/refresh token"}


def test_client_credentials_with_basic_auth(http, sfemu_server, sfemu_org, app) -> None:
    resp = http.post(
        f"{sfemu_server.url}/services/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(app.client_id, app.client_secret),
        timeout=10,
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["id"].endswith(f"/{sfemu_org.org_id}/{sfemu_org.user_id}")
    assert "refresh_token" not in body
    bad = http.post(
        f"{sfemu_server.url}/services/oauth2/token",
        data={"grant_type": "client_credentials"},
        auth=(app.client_id, "wrong"),
        timeout=10,
    )
    assert bad.json()["error"] == "invalid_client"


def _key_and_cert() -> tuple[rsa.RSAPrivateKey, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "jwt-test")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    return key, cert.public_bytes(serialization.Encoding.PEM).decode()


@pytest.fixture(scope="module")
def jwt_keys() -> tuple[rsa.RSAPrivateKey, str]:
    return _key_and_cert()


def _assertion(key: rsa.RSAPrivateKey, client_id: str, sub: str, **claims: object) -> str:
    payload = {
        "iss": client_id,
        "sub": sub,
        "aud": "https://login.salesforce.com",
        "exp": int(time.time()) + 180,
    } | claims
    return jwt.encode(payload, key, algorithm="RS256")


def test_jwt_bearer_grant(http, sfemu_server, sfemu_org, jwt_keys) -> None:
    key, cert = jwt_keys
    app = sfemu_server.create_app(sfemu_org, "JWT App", cert_pem=cert)

    def grant(assertion: str) -> requests.Response:
        return token(
            http, sfemu_server, grant_type="urn:ietf:params:oauth:grant-type:jwt-bearer", assertion=assertion
        )

    ok = grant(_assertion(key, app.client_id, sfemu_org.username))
    assert ok.status_code == 200, ok.text
    assert ok.json()["id"].endswith(f"/{sfemu_org.user_id}")
    assert "refresh_token" not in ok.json()

    own_aud = grant(_assertion(key, app.client_id, sfemu_org.username, aud=sfemu_server.url))
    assert own_aud.status_code == 200

    def error(assertion: str) -> dict:
        resp = grant(assertion)
        assert resp.status_code == 400
        return resp.json()

    assert error(_assertion(key, app.client_id, sfemu_org.username, aud="https://x.example")) == {
        "error": "invalid_grant",
        "error_description": "Audience validation failed",
    }
    assert (
        error(_assertion(key, app.client_id, sfemu_org.username, exp=int(time.time()) - 600))["error"]
        == "invalid_grant"
    )
    assert error(_assertion(key, app.client_id, "nobody@example.com")) == {
        "error": "invalid_grant",
        "error_description": "user hasn't approved this consumer",
    }
    other_key, _ = _key_and_cert()
    assert error(_assertion(other_key, app.client_id, sfemu_org.username)) == {
        "error": "invalid_grant",
        "error_description": "invalid assertion",
    }
    assert error(_assertion(key, "3MVG9unknown", sfemu_org.username))["error"] == ("invalid_client_id")


def test_revoke_access_token(http, sfemu_server, sfemu_org) -> None:
    access = sfemu_org.new_access_token()
    headers = {"Authorization": f"Bearer {access}"}
    url = f"{sfemu_server.url}/services/data/v62.0/limits"
    assert http.get(url, headers=headers, timeout=10).status_code == 200
    resp = http.post(f"{sfemu_server.url}/services/oauth2/revoke", data={"token": access}, timeout=10)
    assert resp.status_code == 200
    after = http.get(url, headers=headers, timeout=10)
    assert after.status_code == 401
    assert after.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    again = http.post(f"{sfemu_server.url}/services/oauth2/revoke", data={"token": access}, timeout=10)
    assert again.status_code == 400
    assert again.json()["error"] in {"invalid_token", "unsupported_token_type"}


def test_revoking_a_refresh_token_ends_its_access_tokens(http, sfemu_server, sfemu_org, app):
    verifier, challenge = pkce_pair()
    resp = authorize(http, sfemu_server, sfemu_org, app, challenge)
    code = parse_qs(urlsplit(resp.headers["location"]).query)["code"][0]
    body = token(
        http,
        sfemu_server,
        grant_type="authorization_code",
        code=code,
        client_id=app.client_id,
        redirect_uri=CALLBACK,
        code_verifier=verifier,
    ).json()
    revoke = http.get(
        f"{sfemu_server.url}/services/oauth2/revoke", params={"token": body["refresh_token"]}, timeout=10
    )
    assert revoke.status_code == 200
    rest = http.get(
        f"{sfemu_server.url}/services/data/v62.0/limits",
        headers={"Authorization": f"Bearer {body['access_token']}"},
        timeout=10,
    )
    assert rest.status_code == 401
    refreshed = token(
        http,
        sfemu_server,
        grant_type="refresh_token",
        refresh_token=body["refresh_token"],
        client_id=app.client_id,
    )
    assert refreshed.json()["error"] == "invalid_grant"

"""Console orgs backed by sfemu orgs, connected by each sign-in method the console supports."""

import datetime
import html
import re
from urllib.parse import parse_qs, urlparse

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

from connections import services
from connections.models import Org
from sfemu.testing import OrgHandle, SfemuServer

CALLBACK = "https://console.test/admin/connections/org/oauth/callback/"
PARTNER_CALLBACK = "http://testserver/partner/oauth/callback/"  # the partner pages' (issue 19)


def unsaved_org(server: SfemuServer, handle: OrgHandle, method: str, **fields) -> Org:
    return Org(
        label=fields.pop("label", f"{handle.name} ({method})"),
        environment=Org.Environment.CUSTOM,
        custom_login_url=server.url,
        auth_method=method,
        ca_bundle=server.ca_path.read_text(),
        **fields,
    )


def connect_by_password(server: SfemuServer, handle: OrgHandle, **app_options) -> Org:
    """`app_options` go to the connected app (e.g. the callback URLs a partner signs in by)."""
    app = server.create_app(handle, **app_options)
    org = unsaved_org(
        server, handle, Org.AuthMethod.PASSWORD, client_id=app.client_id, username=handle.username
    )
    org.client_secret, org.password, org.security_token = (
        app.client_secret,
        handle.password,
        handle.security_token,
    )
    return services.org_connect(org=org)


def connect_by_client_credentials(server: SfemuServer, handle: OrgHandle) -> Org:
    app = server.create_app(handle, run_as_user_id=handle.user_id)
    org = unsaved_org(server, handle, Org.AuthMethod.CLIENT_CREDENTIALS, client_id=app.client_id)
    org.client_secret = app.client_secret
    return services.org_connect(org=org)


def key_and_certificate() -> tuple[str, str]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "orgsync test")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=1))
        .not_valid_after(now + datetime.timedelta(days=30))
        .sign(key, hashes.SHA256())
    )
    key_pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return key_pem, cert.public_bytes(serialization.Encoding.PEM).decode()


def connect_by_jwt(server: SfemuServer, handle: OrgHandle) -> Org:
    key_pem, cert_pem = key_and_certificate()
    app = server.create_app(handle, cert_pem=cert_pem)
    org = unsaved_org(
        server, handle, Org.AuthMethod.JWT_BEARER, client_id=app.client_id, username=handle.username
    )
    org.private_key = key_pem
    return services.org_connect(org=org)


def connect_by_pkce(server: SfemuServer, handle: OrgHandle) -> Org:
    """The web-server flow with PKCE, the browser's part played by requests."""
    app = server.create_app(handle, callback_urls=[CALLBACK], require_secret=False)
    org = unsaved_org(server, handle, Org.AuthMethod.OAUTH_PKCE, client_id=app.client_id)
    org.save()
    session: dict = {}
    url = services.org_start_oauth(org=org, session=session, redirect_uri=CALLBACK)
    params = approve_in_browser(server, handle, url)
    return services.org_finish_oauth(
        session=session, state=params["state"], code=params.get("code", ""), error=params.get("error", "")
    )


def approve_in_browser(
    server: SfemuServer, handle: OrgHandle, authorize_url: str, action: str = "allow"
) -> dict:
    """Open the org's authorize page, sign in and click Allow (or Deny); return the redirect's query."""
    browser = server.http_session()
    page = browser.get(authorize_url)
    assert page.status_code == 200, page.text
    hidden = dict(re.findall(r'<input type="hidden" name="([^"]+)" value="([^"]*)">', page.text))
    form = {k: html.unescape(v) for k, v in hidden.items()}
    form.update({"username": handle.username, "pw": handle.password, "action": action})
    answer = browser.post(f"{server.url}/services/oauth2/authorize", data=form, allow_redirects=False)
    assert answer.status_code in (302, 303), answer.text
    return {k: v[0] for k, v in parse_qs(urlparse(answer.headers["Location"]).query).items()}


CONNECTORS = {
    Org.AuthMethod.PASSWORD: connect_by_password,
    Org.AuthMethod.CLIENT_CREDENTIALS: connect_by_client_credentials,
    Org.AuthMethod.JWT_BEARER: connect_by_jwt,
    Org.AuthMethod.OAUTH_PKCE: connect_by_pkce,
}

"""OAuth 2.0 with a Salesforce org: one function per grant, one validator for every answer.

Grants: authorization code with PKCE (S256), refresh token, JWT bearer, client credentials and
username-password. Tokens never appear in exceptions, logs or reprs.

The edge: every token answer passes `check_org_url` before anything is sent to the instance or
identity URL it names (https only, and a Salesforce domain or the host of the org's own login
URL); SalesforceClient applies the same check to the stored instance URL before each session.
"""

import base64
import hashlib
import secrets
import time
from dataclasses import dataclass, field
from urllib.parse import urlencode, urlsplit

import jwt
import requests

from connections.errors import ConnectionsError
from connections.http import build_session
from connections.models import Org

SCOPES = "api refresh_token"
JWT_LIFETIME_SECONDS = 180
# Hosts Salesforce serves orgs from (My Domain, sandboxes, Lightning, setup, the old pods); any
# name under these, plus the host of the org's own configured login URL.
SALESFORCE_DOMAINS = (
    "salesforce.com",  # login., test., *.my., *.sandbox.my., na1., cs1. …
    "force.com",  # *.lightning.force.com, *.my.site.com's older *.force.com sites
    "salesforce-setup.com",
    "cloudforce.com",
    "database.com",
)


class OAuthError(ConnectionsError):
    """The org refused a grant. `error` is Salesforce's code (invalid_grant, access_denied…)."""

    def __init__(self, error: str, description: str = "", *, hint: str = "") -> None:
        self.error = error
        self.description = description
        text = f"Salesforce refused the sign-in: {error}"
        if description:
            text += f" ({description})"
        super().__init__(f"{text}. {hint}".strip() if hint else f"{text}.")


class UnsafeOrgUrl(OAuthError):
    """A token answer (or a stored instance URL) points where no credential may go."""

    def __init__(self, message: str) -> None:
        self.error = "unsafe_url"
        self.description = ""
        ConnectionsError.__init__(self, message)


def allowed_hosts_text(org: Org) -> str:
    own = urlsplit(org.login_url).hostname or "?"
    domains = ", ".join(f"*.{domain}" for domain in SALESFORCE_DOMAINS)
    return f"{domains}, or {own} (the host of the org's login URL)"


def check_org_url(org: Org, url: str, *, what: str) -> None:
    """Refuse (UnsafeOrgUrl) a URL a credential would be sent to unless it is https:// on a
    Salesforce domain or on the host of the org's configured login URL."""
    parts = urlsplit(url)
    host = (parts.hostname or "").lower().rstrip(".")
    own = (urlsplit(org.login_url).hostname or "").lower()
    why = ""
    if parts.scheme != "https":
        why = "is not https"
    elif not host:
        why = "has no host"
    elif host != own and not any(host.endswith(f".{domain}") for domain in SALESFORCE_DOMAINS):
        why = f"is on {host}, which is neither a Salesforce domain nor the org's login host"
    if why:
        raise UnsafeOrgUrl(
            f"The {what} “{url[:200]}” {why}: orgsync sent no credentials there. An org's instance "
            f"and identity URLs must be https:// on {allowed_hosts_text(org)}. Check the org's "
            "login URL (a custom domain must be the org's own)."
        )


@dataclass(frozen=True)
class TokenGrant:
    access_token: str = field(repr=False)
    instance_url: str
    identity_url: str
    refresh_token: str = field(default="", repr=False)
    scope: str = ""


@dataclass(frozen=True)
class Pkce:
    verifier: str = field(repr=False)

    @classmethod
    def new(cls) -> "Pkce":
        return cls(verifier=secrets.token_urlsafe(96)[:128])

    @property
    def challenge(self) -> str:
        digest = hashlib.sha256(self.verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


HINTS = {
    "invalid_client_id": "Check the consumer key of the connected app.",
    "invalid_client": "Check the consumer secret of the connected app.",
    "invalid_grant": "Check the username, password and security token, or that the app is approved "
    "for this user and the token was not revoked.",
    "access_denied": "The Salesforce user did not allow access; start again and click Allow.",
    "redirect_uri_mismatch": "Add the console's callback URL to the connected app.",
    "unsupported_grant_type": "Enable this flow on the connected app.",
}


def authorize_url(org: Org, *, redirect_uri: str, state: str, pkce: Pkce) -> str:
    query = {
        "response_type": "code",
        "client_id": org.client_id,
        "redirect_uri": redirect_uri,
        "scope": SCOPES,
        "state": state,
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
    }
    return f"{org.login_url}/services/oauth2/authorize?{urlencode(query)}"


def exchange_code(org: Org, *, code: str, redirect_uri: str, pkce: Pkce) -> TokenGrant:
    form = {
        "grant_type": "authorization_code",
        "code": code,
        "client_id": org.client_id,
        "redirect_uri": redirect_uri,
        "code_verifier": pkce.verifier,
    }
    if org.client_secret:
        form["client_secret"] = org.client_secret
    return _token_request(org, form)


def refresh_grant(org: Org) -> TokenGrant:
    if not org.refresh_token:
        raise OAuthError("invalid_grant", "no refresh token stored", hint="Connect the org again.")
    form = {"grant_type": "refresh_token", "refresh_token": org.refresh_token, "client_id": org.client_id}
    if org.client_secret:
        form["client_secret"] = org.client_secret
    return _token_request(org, form)


def password_grant(org: Org) -> TokenGrant:
    form = {
        "grant_type": "password",
        "client_id": org.client_id,
        "client_secret": org.client_secret,
        "username": org.username,
        "password": org.password + org.security_token,
    }
    return _token_request(org, form)


def client_credentials_grant(org: Org) -> TokenGrant:
    form = {"grant_type": "client_credentials"}
    # Basic auth as bytes: requests would encode text as Latin-1 and fail on anything else.
    return _token_request(org, form, auth=(org.client_id.encode(), org.client_secret.encode()))


def jwt_bearer_grant(org: Org) -> TokenGrant:
    claims = {
        "iss": org.client_id,
        "sub": org.username,
        "aud": org.login_url,
        "exp": int(time.time()) + JWT_LIFETIME_SECONDS,
    }
    try:
        assertion = jwt.encode(claims, org.private_key, algorithm="RS256")
    except (ValueError, TypeError, jwt.PyJWTError):
        raise OAuthError(
            "invalid_private_key", hint="Upload the PEM private key that matches the app's certificate."
        ) from None
    form = {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion}
    return _token_request(org, form)


def new_token(org: Org) -> TokenGrant:
    """A fresh access token by the org's own method (used when the current one expired)."""
    grant = {
        Org.AuthMethod.OAUTH_PKCE: refresh_grant,
        Org.AuthMethod.JWT_BEARER: jwt_bearer_grant,
        Org.AuthMethod.CLIENT_CREDENTIALS: client_credentials_grant,
        Org.AuthMethod.PASSWORD: password_grant,
    }[org.auth_method]
    return grant(org)


def _token_request(org: Org, form: dict, auth: tuple[bytes, bytes] | None = None) -> TokenGrant:
    session = build_session(ca_bundle=org.ca_bundle)
    try:
        response = session.post(f"{org.login_url}/services/oauth2/token", data=form, auth=auth)
    except requests.exceptions.SSLError:
        raise OAuthError(
            "tls_error",
            hint=f"The certificate of {org.login_url} is not trusted: add its CA to the org's "
            "trusted CA certificates.",
        ) from None
    except requests.RequestException as exc:
        raise OAuthError("unreachable", f"{org.login_url}: {exc.__class__.__name__}") from None
    grant = validate_token_response(response)
    check_org_url(org, grant.instance_url, what="instance URL in the org's token answer")
    if grant.identity_url:
        check_org_url(org, grant.identity_url, what="identity URL in the org's token answer")
    return grant


def validate_token_response(response: requests.Response) -> TokenGrant:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    if response.status_code != 200 or "access_token" not in body:
        error = str(body.get("error") or f"HTTP {response.status_code}")
        raise OAuthError(error, str(body.get("error_description", "")), hint=HINTS.get(error, ""))
    if not isinstance(body.get("instance_url"), str) or not body["instance_url"]:
        raise OAuthError(
            "invalid_response",
            "the token answer has no instance_url",
            hint="Check that the login URL is a Salesforce login host or the org's My Domain.",
        )
    return TokenGrant(
        access_token=body["access_token"],
        instance_url=body["instance_url"].rstrip("/"),
        identity_url=str(body.get("id") or ""),
        refresh_token=body.get("refresh_token", ""),
        scope=body.get("scope", ""),
    )

"""Verification of the JWT bearer grant's assertion (RS256 against the app's certificate)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import jwt
from cryptography import x509
from cryptography.hazmat.primitives import serialization

from sfemu.server.auth_store import ConnectedApp

if TYPE_CHECKING:
    from sfemu.server.state import ServerState

# Audiences Salesforce accepts besides the instance's own URL.
LOGIN_AUDIENCES = ("https://login.salesforce.com", "https://test.salesforce.com")
LEEWAY_SECONDS = 5


@dataclass(frozen=True)
class Assertion:
    app: ConnectedApp
    subject: str


def _error(description: str, error: str = "invalid_grant") -> Exception:
    from sfemu.server.oauth import OAuthError

    return OAuthError(error, description)


def public_key_from_pem(pem: str) -> object:
    """Accept an X.509 certificate (what Salesforce stores) or a bare public key."""
    data = pem.encode()
    if b"CERTIFICATE" in data:
        return x509.load_pem_x509_certificate(data).public_key()
    return serialization.load_pem_public_key(data)


def verify_assertion(state: ServerState, assertion: str, base: str) -> Assertion:
    """Check signature, ``iss`` (consumer key), ``aud``, ``exp`` and ``sub``; OAuthError if not."""
    if not assertion:
        raise _error("invalid assertion")
    try:
        unverified = jwt.decode(assertion, options={"verify_signature": False})
        header = jwt.get_unverified_header(assertion)
    except jwt.PyJWTError:
        raise _error("invalid assertion") from None
    app = state.auth.app(str(unverified.get("iss", "")))
    if app is None:
        raise _error("client identifier invalid", "invalid_client_id")
    if not app.cert_pem or header.get("alg") != "RS256":
        raise _error("invalid assertion")
    audiences = [*LOGIN_AUDIENCES, base, base + "/"]
    if state.config.login_host:
        audiences.append(state.config.login_host)
    try:
        claims = jwt.decode(
            assertion,
            public_key_from_pem(app.cert_pem),  # type: ignore[arg-type]
            algorithms=["RS256"],
            options={"require": ["exp", "sub", "aud", "iss"], "verify_aud": False},
            leeway=LEEWAY_SECONDS,
        )
    except jwt.ExpiredSignatureError:
        raise _error("expired authorization code") from None
    except (jwt.PyJWTError, ValueError):
        raise _error("invalid assertion") from None
    aud = claims.get("aud")
    given = aud if isinstance(aud, list) else [aud]
    if not any(isinstance(a, str) and a.rstrip("/") in {x.rstrip("/") for x in audiences} for a in given):
        raise _error("Audience validation failed")
    return Assertion(app, str(claims["sub"]))

"""``/services/oauth2/token`` and ``/services/oauth2/revoke``."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import time
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from sfemu.server.auth_store import ConnectedApp
from sfemu.server.http import json_response
from sfemu.server.jwt_bearer import verify_assertion
from sfemu.server.rest_endpoint import base_url
from sfemu.server.state import ServerState
from sfemu.server.users import authenticate

log = logging.getLogger("sfemu.server.oauth")
JWT_GRANT = "urn:ietf:params:oauth:grant-type:jwt-bearer"


class OAuthError(Exception):
    """An OAuth error answer: HTTP 400 ``{"error","error_description"}``."""

    def __init__(self, error: str, description: str, status: int = 400) -> None:
        super().__init__(f"{error}: {description}")
        self.error = error
        self.description = description
        self.status = status


def oauth_error_response(exc: OAuthError) -> Response:
    body = {"error": exc.error, "error_description": exc.description}
    return json_response(exc.status, body)


async def request_params(request: Request) -> dict[str, str]:
    """Query-string and form parameters (Salesforce accepts both on the token endpoint)."""
    params = {k: request.query_params[k] for k in request.query_params}
    if request.method == "POST":
        form = await request.form()
        params.update({k: str(v) for k, v in form.items()})
    return params


async def token_endpoint(request: Request) -> Response:
    state: ServerState = request.app.state.sfemu
    params = await request_params(request)
    auth_header = request.headers.get("authorization", "")
    try:
        body = await run_in_threadpool(grant, state, params, auth_header, base_url(request))
    except OAuthError as exc:
        log.info("token grant %s refused: %s", params.get("grant_type"), exc.error)
        return oauth_error_response(exc)
    log.info("token grant %s issued", params.get("grant_type"))
    return json_response(200, body)


def grant(state: ServerState, params: dict[str, str], auth_header: str, base: str) -> dict:
    grant_type = params.get("grant_type", "")
    handlers = {
        "password": _password,
        "refresh_token": _refresh,
        "authorization_code": _authorization_code,
        "client_credentials": _client_credentials,
        JWT_GRANT: _jwt_bearer,
    }
    handler = handlers.get(grant_type)
    if handler is None:
        raise OAuthError("unsupported_grant_type", "grant type not supported")
    return handler(state, params, auth_header, base)


def _app(state: ServerState, client_id: str | None) -> ConnectedApp:
    app = state.auth.app(client_id) if client_id else None
    if app is None:
        raise OAuthError("invalid_client_id", "client identifier invalid")
    return app


def _check_secret(app: ConnectedApp, secret: str | None, *, required: bool) -> None:
    if secret is None or secret == "":
        if required:
            raise OAuthError("invalid_client", "invalid client credentials")
        return
    if not hmac.compare_digest(secret.encode(), app.client_secret.encode()):
        raise OAuthError("invalid_client", "invalid client credentials")


def token_answer(
    state: ServerState,
    base: str,
    app: ConnectedApp | None,
    org_id: str,
    user_id: str,
    *,
    scope: str | None,
    refresh: bool = False,
) -> dict[str, Any]:
    """Issue an access token (and maybe a refresh token) and build the success body."""
    refresh_token = None
    granted = scope or "api"
    if refresh and app is not None:
        refresh_token = state.auth.issue_refresh_token(org_id, user_id, app.client_id, granted)
    access = state.auth.issue_access_token(
        org_id,
        user_id,
        client_id=app.client_id if app else None,
        scope=granted,
        refresh_token=refresh_token,
    )
    identity = f"{identity_base(state, base)}/id/{org_id}/{user_id}"
    issued_at = str(int(time.time() * 1000))
    body: dict[str, Any] = {
        "access_token": access,
        "instance_url": base,
        "id": identity,
        "token_type": "Bearer",
        "issued_at": issued_at,
        "signature": signature(app.client_secret if app else "", identity, issued_at),
    }
    if scope is not None:
        body["scope"] = scope
    if refresh_token is not None:
        body["refresh_token"] = refresh_token
    return body


def identity_base(state: ServerState, base: str) -> str:
    return state.config.login_host or base


def signature(secret: str, identity: str, issued_at: str) -> str:
    """base64 HMAC-SHA256 of ``id + issued_at`` keyed with the consumer secret."""
    mac = hmac.new(secret.encode(), (identity + issued_at).encode(), hashlib.sha256)
    return base64.b64encode(mac.digest()).decode()


def _granted_scope(app: ConnectedApp, requested: str | None) -> str:
    """Requested scopes the app allows (all of the app's when none were requested)."""
    allowed = list(app.scopes)
    if not requested:
        return " ".join(allowed)
    wanted = requested.replace(",", " ").split()
    unknown = [s for s in wanted if s not in allowed]
    if unknown:
        raise OAuthError("invalid_scope", "the requested scope is not allowed")
    return " ".join(wanted)


def _offline(scope: str) -> bool:
    parts = scope.split()
    return "refresh_token" in parts or "offline_access" in parts


def _password(state: ServerState, p: dict[str, str], auth_header: str, base: str) -> dict:
    app = _app(state, p.get("client_id"))
    _check_secret(app, p.get("client_secret"), required=True)
    login = authenticate(state.instance, p.get("username", ""), p.get("password", ""))
    if login.error == "INACTIVE_USER":
        raise OAuthError("inactive_user", "user is inactive")
    if login.error or login.password_expired or login.org is None or login.user is None:
        raise OAuthError("invalid_grant", "authentication failure")
    org, user = login.org, login.user
    return token_answer(state, base, app, org.org_id, user["Id"], scope=None)


def _refresh(state: ServerState, p: dict[str, str], auth_header: str, base: str) -> dict:
    app = _app(state, p.get("client_id"))
    _check_secret(app, p.get("client_secret"), required=False)
    found = state.auth.refresh_grant(p.get("refresh_token", ""))
    if found is None or found[2] != app.client_id:
        raise OAuthError("invalid_grant", "expired access/refresh token")
    org_id, user_id, _, scope = found
    return token_answer(state, base, app, org_id, user_id, scope=scope)


def _authorization_code(state: ServerState, p: dict[str, str], auth_header: str, base: str) -> dict:
    app = _app(state, p.get("client_id"))
    verifier = p.get("code_verifier")
    _check_secret(app, p.get("client_secret"), required=app.require_secret and not verifier)
    code = state.auth.consume_code(p.get("code", ""))
    if code is None or code.client_id != app.client_id:
        raise OAuthError("invalid_grant", "invalid authorization code")
    if p.get("redirect_uri") != code.redirect_uri:
        raise OAuthError("invalid_grant", "redirect_uri must match configuration")
    if code.code_challenge is not None:
        if not verifier or pkce_challenge(verifier) != code.code_challenge:
            raise OAuthError("invalid_grant", "invalid code verifier")
    elif verifier:
        raise OAuthError("invalid_grant", "invalid code verifier")
    return token_answer(
        state, base, app, code.org_id, code.user_id, scope=code.scope, refresh=_offline(code.scope)
    )


def pkce_challenge(verifier: str) -> str:
    """S256: base64url(SHA-256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode()).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def _basic_credentials(auth_header: str) -> tuple[str | None, str | None]:
    scheme, _, value = auth_header.strip().partition(" ")
    if scheme.lower() != "basic":
        return None, None
    try:
        decoded = base64.b64decode(value.strip()).decode()
    except (ValueError, UnicodeDecodeError):
        return None, None
    client_id, _, secret = decoded.partition(":")
    return client_id, secret


def _client_credentials(state: ServerState, p: dict[str, str], auth_header: str, base: str) -> dict:
    client_id, secret = _basic_credentials(auth_header)
    if client_id is None:
        client_id, secret = p.get("client_id"), p.get("client_secret")
    app = _app(state, client_id)
    _check_secret(app, secret, required=True)
    if not app.run_as_user_id:
        raise OAuthError("invalid_grant", "no client credentials user enabled")
    scope = " ".join(s for s in app.scopes if s != "refresh_token")
    return token_answer(state, base, app, app.org_id, app.run_as_user_id, scope=scope)


def _jwt_bearer(state: ServerState, p: dict[str, str], auth_header: str, base: str) -> dict:
    claims = verify_assertion(state, p.get("assertion", ""), base)
    app = claims.app
    found = state.instance.find_user(claims.subject)
    if found is None:
        raise OAuthError("invalid_grant", "user hasn't approved this consumer")
    org, user = found
    if org.org_id != app.org_id or not app.preauthorized:
        raise OAuthError("invalid_grant", "user hasn't approved this consumer")
    scope = " ".join(s for s in app.scopes if s != "refresh_token")
    return token_answer(state, base, app, org.org_id, user["Id"], scope=scope)


async def revoke_endpoint(request: Request) -> Response:
    """Revoke an access or refresh token: 200 empty, or 400 with an OAuth error."""
    state: ServerState = request.app.state.sfemu
    params = await request_params(request)
    token = params.get("token")
    if not token:
        return oauth_error_response(OAuthError("unsupported_token_type", "unsupported token type"))
    revoked = await run_in_threadpool(state.auth.revoke, token)
    if not revoked:
        return oauth_error_response(OAuthError("invalid_token", "invalid token"))
    return Response(status_code=200, headers={"Cache-Control": "no-cache,no-store"})

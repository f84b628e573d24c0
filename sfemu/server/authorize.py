"""``/services/oauth2/authorize``: a small login + approve page for the web-server (PKCE) flow.

GET renders the page (the OAuth parameters travel as hidden fields); POST checks the
credentials and redirects to ``redirect_uri?code=…&state=…`` (or ``?error=access_denied…``).
Invalid client ids and unregistered redirect URIs are shown as an error page, never redirected,
as Salesforce does.
"""

from __future__ import annotations

import html
import logging
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from sfemu.server.auth_store import ConnectedApp
from sfemu.server.oauth import OAuthError, _granted_scope, request_params
from sfemu.server.state import ServerState
from sfemu.server.users import authenticate

log = logging.getLogger("sfemu.server.authorize")
_CARRIED = (
    "response_type",
    "client_id",
    "redirect_uri",
    "scope",
    "state",
    "code_challenge",
    "code_challenge_method",
    "prompt",
    "login_hint",
)
_PAGE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Login | Salesforce</title>
<style>body{{font-family:sans-serif;max-width:26rem;margin:4rem auto}}label{{display:block;
margin-top:.8rem}}input[type=text],input[type=password]{{width:100%}}.error{{color:#c23934}}
</style></head><body>
<h1>sfemu</h1><p>Allow <strong>{app}</strong> to access your data?</p>
{error}
<form method="post" action="/services/oauth2/authorize" id="login_form">
{hidden}
<label for="username">Username</label>
<input type="text" id="username" name="username" value="{username}" autocomplete="username">
<label for="password">Password</label>
<input type="password" id="password" name="pw" autocomplete="current-password">
<p><button type="submit" name="action" value="allow" id="Login">Allow</button>
<button type="submit" name="action" value="deny" id="Deny">Deny</button></p>
</form></body></html>
"""


def _error_page(message: str, status: int = 400) -> Response:
    body = (
        "<!DOCTYPE html><html><head><title>Error</title></head><body>"
        f"<h1>OAuth Error</h1><p class='error'>{html.escape(message)}</p></body></html>"
    )
    return HTMLResponse(body, status_code=status)


def _redirect(redirect_uri: str, params: dict[str, str]) -> Response:
    sep = "&" if "?" in redirect_uri else "?"
    return RedirectResponse(redirect_uri + sep + urlencode(params), status_code=302)


def _page(app: ConnectedApp, params: dict[str, str], error: str = "") -> Response:
    hidden = "\n".join(
        f'<input type="hidden" name="{k}" value="{html.escape(params[k])}">'
        for k in _CARRIED
        if params.get(k)
    )
    body = _PAGE.format(
        app=html.escape(app.name),
        error=f'<p class="error">{html.escape(error)}</p>' if error else "",
        hidden=hidden,
        username=html.escape(params.get("login_hint") or params.get("username") or ""),
    )
    return HTMLResponse(body)


def _check_client(state: ServerState, params: dict[str, str]) -> ConnectedApp | Response:
    app = state.auth.app(params.get("client_id", ""))
    if app is None:
        return _error_page("error=invalid_client_id: client identifier invalid")
    if params.get("redirect_uri") not in app.callback_urls:
        return _error_page("error=redirect_uri_mismatch: redirect_uri must match configuration")
    return app


async def authorize_endpoint(request: Request) -> Response:
    state: ServerState = request.app.state.sfemu
    params = await request_params(request)
    checked = await run_in_threadpool(_check_client, state, params)
    if isinstance(checked, Response):
        return checked
    app = checked
    redirect_uri = params["redirect_uri"]
    echo = {"state": params["state"]} if params.get("state") else {}
    if params.get("response_type") != "code":
        return _redirect(
            redirect_uri,
            {
                "error": "unsupported_response_type",
                "error_description": "response type not supported",
                **echo,
            },
        )
    try:
        scope = _granted_scope(app, params.get("scope"))
    except OAuthError as exc:
        return _redirect(redirect_uri, {"error": exc.error, "error_description": exc.description, **echo})
    method = params.get("code_challenge_method")
    if method and method != "S256":
        return _redirect(
            redirect_uri,
            {"error": "invalid_request", "error_description": "unsupported code_challenge_method", **echo},
        )
    if request.method == "GET":
        return _page(app, params)
    if params.get("action") == "deny":
        return _redirect(
            redirect_uri,
            {"error": "access_denied", "error_description": "end-user denied authorization", **echo},
        )
    return await run_in_threadpool(_login, state, app, params, scope, echo)


def _login(state: ServerState, app: ConnectedApp, params: dict[str, str], scope: str, echo: dict) -> Response:
    login = authenticate(state.instance, params.get("username", ""), params.get("pw", ""), browser=True)
    if login.error or login.org is None or login.user is None:
        log.info("authorize login refused")
        return _page(
            app,
            params,
            "Please check your username and password. If you still can't "
            "log in, contact your Salesforce administrator.",
        )
    org, user = login.org, login.user
    code = state.auth.issue_code(
        app, org.org_id, user["Id"], params["redirect_uri"], params.get("code_challenge") or None, scope
    )
    log.info("authorize code issued")
    return _redirect(params["redirect_uri"], {"code": code, **echo})

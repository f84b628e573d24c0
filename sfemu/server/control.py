"""Local control endpoint for fault injection and call counters (``/_sfemu/...``).

Only the owner of the data dir can use it: every request needs the control token that the server
writes to ``<data_dir>/control-token`` (mode 0600) when it starts, sent as
``X-Sfemu-Control-Token``; it is compared in constant time. Requests must also come from the
loopback interface. Routes (``{org}`` = org name or id)::

    GET    /_sfemu/orgs/{org}/faults   status: faults, API usage, call counters
    POST   /_sfemu/orgs/{org}/faults   JSON change request (see faults_api.apply_changes)
    DELETE /_sfemu/orgs/{org}/faults   every fault off
    GET    /_sfemu/orgs/{org}/calls    call counters by endpoint
    DELETE /_sfemu/orgs/{org}/calls    reset the counters (answers what they held)
"""

from __future__ import annotations

import hmac
import ipaddress
import json
import os
import secrets
from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from sfemu.server import faults_api
from sfemu.server.state import ServerState

TOKEN_FILE = "control-token"
TOKEN_HEADER = "x-sfemu-control-token"


def new_token() -> str:
    return secrets.token_urlsafe(32)


def write_token(state: ServerState) -> Path | None:
    """Write the server's control token into its data dir, readable by the owner only."""
    data_dir = state.config.data_dir
    if data_dir is None:
        return None
    path = Path(data_dir) / TOKEN_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, state.control_token.encode())
    finally:
        os.close(fd)
    return path


def read_token(data_dir: Path) -> str | None:
    path = Path(data_dir) / TOKEN_FILE
    return path.read_text().strip() if path.exists() else None


def _error(status: int, message: str) -> Response:
    return JSONResponse({"error": message}, status_code=status)


def _is_loopback(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _authorized(request: Request, state: ServerState) -> Response | None:
    """None when the caller may use the control endpoint, else the refusal."""
    if not _is_loopback(request):
        return _error(403, "the control endpoint only answers local clients")
    sent = request.headers.get(TOKEN_HEADER, "")
    if not hmac.compare_digest(sent.encode(), state.control_token.encode()):
        return _error(401, "missing or wrong control token")
    return None


async def faults_endpoint(request: Request) -> Response:
    state: ServerState = request.app.state.sfemu
    refused = _authorized(request, state)
    if refused is not None:
        return refused
    try:
        org = faults_api.find_org(state, request.path_params["org"])
    except KeyError:
        return _error(404, "no such org")
    if request.method == "GET":
        return JSONResponse(await run_in_threadpool(faults_api.status, state, org))
    changes: dict = {"clear": True}
    if request.method == "POST":
        try:
            changes = json.loads(await request.body() or b"{}")
        except ValueError:
            return _error(400, "the body must be a JSON object")
        if not isinstance(changes, dict):
            return _error(400, "the body must be a JSON object")
    try:
        body = await run_in_threadpool(faults_api.apply_changes, state, org, changes)
    except ValueError as exc:
        return _error(400, str(exc))
    return JSONResponse(body)


async def calls_endpoint(request: Request) -> Response:
    state: ServerState = request.app.state.sfemu
    refused = _authorized(request, state)
    if refused is not None:
        return refused
    try:
        org = faults_api.find_org(state, request.path_params["org"])
    except KeyError:
        return _error(404, "no such org")
    faults = state.instance.faults
    if request.method == "DELETE":
        return JSONResponse(await run_in_threadpool(faults.reset_calls, org.org_id))
    return JSONResponse(await run_in_threadpool(faults.calls, org.org_id))


ROUTES = [
    Route("/_sfemu/orgs/{org}/faults", faults_endpoint, methods=["GET", "POST", "DELETE"]),
    Route("/_sfemu/orgs/{org}/calls", calls_endpoint, methods=["GET", "DELETE"]),
]

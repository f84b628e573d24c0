"""The HTTP face of the REST data API: version check, auth, metering, dispatch, headers."""

from __future__ import annotations

import logging
import secrets
from urllib.parse import unquote

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from sfemu.errors import SalesforceError
from sfemu.faults import endpoint_kind
from sfemu.server import faults_api, uploads
from sfemu.server.dispatch import dispatch
from sfemu.server.http import (
    ApiRequest,
    ApiResponse,
    error_entry,
    error_response,
    json_response,
    not_found,
    to_starlette,
)
from sfemu.server.rest_routes import ROUTES
from sfemu.server.state import Ctx, ServerState
from sfemu.server.users import bearer_token, live_session
from sfemu.server.versions import parse_version, versions

log = logging.getLogger("sfemu.server")

INVALID_SESSION = SalesforceError("INVALID_SESSION_ID", "Session expired or invalid", status=401)
EXPIRED_PASSWORD = SalesforceError(
    "INVALID_OPERATION_WITH_EXPIRED_PASSWORD",
    "Your password has expired. Please reset your password.",
    status=401,
)


def base_url(request: Request) -> str:
    """``https://host:port`` as the client addressed us (the org's instance URL)."""
    host = request.headers.get("host") or f"{request.url.hostname}:{request.url.port}"
    return f"https://{host}"


def data_segments(request: Request) -> list[str]:
    """Decoded path segments after ``/services/data/``, trailing slash dropped."""
    raw = request.scope.get("raw_path") or request.url.path.encode()
    path = raw.decode("latin-1").split("?", 1)[0]
    rest = path.split("/services/data", 1)[1]
    parts = [unquote(p) for p in rest.split("/")[1:]]
    while parts and parts[-1] == "":
        parts.pop()
    return parts


async def versions_endpoint(request: Request) -> Response:
    """``GET /services/data/``: no auth, no ``Sforce-Limit-Info``."""
    return json_response(200, versions())


async def rest_endpoint(request: Request) -> Response:
    state: ServerState = request.app.state.sfemu
    segments = data_segments(request)
    if not segments:
        return json_response(200, versions())
    try:
        if uploads.is_multipart(request):
            await uploads.check_declared_length(request, uploads.multipart_limit(segments))
            async with request.form() as form:
                return await _serve(request, state, segments, b"", form)
        body = await uploads.read_body(request, uploads.JSON_LIMIT)
    except SalesforceError as exc:
        return to_starlette(error_response(exc), {})
    return await _serve(request, state, segments, body, None)


async def _serve(
    request: Request, state: ServerState, segments: list[str], body: bytes, form: FormData | None
) -> Response:
    req = ApiRequest(
        method=request.method,
        segments=segments[1:],
        query={k: request.query_params[k] for k in request.query_params},
        headers={k.lower(): v for k, v in request.headers.items()},
        body=body,
        query_lists={k: request.query_params.getlist(k) for k in request.query_params},
        form=form,
    )
    response = await run_in_threadpool(serve_rest, state, segments[0], req, base_url(request))
    if request.method == "HEAD":
        headers = {**response.headers, "content-length": "0"}
        return Response(status_code=response.status_code, headers=headers)
    return response


def serve_rest(state: ServerState, version_segment: str, req: ApiRequest, base: str) -> Response:
    """Everything after parsing: runs in the threadpool (domain calls are blocking)."""
    version = parse_version(version_segment)
    if version is None:
        return to_starlette(error_response(not_found()), {})
    found = live_session(state, bearer_token(req.headers))
    if found is None:
        return unauthorized(INVALID_SESSION)
    session, org = found
    if session.password_expired:
        return unauthorized(EXPIRED_PASSWORD)
    unavailable = faults_api.gate(org, endpoint_kind(req.segments))
    if unavailable is not None:
        return to_starlette(error_response(unavailable), faults_api.retry_after(unavailable))
    try:
        org.check_api_limit()
        org.count_api_call("rest")
    except SalesforceError as exc:
        return to_starlette(error_response(exc), limit_header(org))
    ctx = Ctx(state, org, session, version, base)
    resp = run_handler(ctx, req)
    log.info("%s /services/data/%s → %s", req.method, _loggable(version_segment, req), resp.status)
    return to_starlette(resp, limit_header(org))


def run_handler(ctx: Ctx, req: ApiRequest) -> ApiResponse:
    try:
        return dispatch(ROUTES, ctx, req)
    except SalesforceError as exc:
        return error_response(exc)
    except Exception:
        error_id = str(secrets.randbelow(10**10))
        log.exception("unexpected error %s", error_id)
        err = SalesforceError(
            "UNKNOWN_EXCEPTION",
            "An unexpected error occurred. Please include this ErrorId if you contact "
            f"support: {error_id}-0 ({error_id})",
            status=500,
        )
        return ApiResponse(500, [error_entry(err)])


def unauthorized(err: SalesforceError) -> Response:
    return json_response(err.status, [error_entry(err)])


def limit_header(org: object) -> dict[str, str]:
    usage = getattr(org, "api_usage", None)
    if usage is None:
        return {}
    used, limit = usage()
    return {"Sforce-Limit-Info": f"api-usage={used}/{limit}"}


def _loggable(version_segment: str, req: ApiRequest) -> str:
    """Path without ids or values (record data must not reach the logs)."""
    kept = req.segments[:2]
    suffix = "/…" if len(req.segments) > 2 else ""
    return "/".join([version_segment, *kept]) + suffix

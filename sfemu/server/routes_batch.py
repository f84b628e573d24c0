"""``POST /composite/batch``: up to 25 independent subrequests, each committed on its own.

Salesforce's rules (REST API guide, "Composite Batch" and its request/response bodies): the body is
``{"batchRequests": [{"method", "url", "richInput"?}], "haltOnError": false}``; ``url`` is relative
to ``/services/data`` (``v62.0/sobjects/Account/…``; the absolute ``/services/data/v62.0/…`` form
is accepted too) and ``richInput`` is the subrequest's body. The answer is always ``200
{"hasErrors", "results": [{"statusCode", "result"}]}``; ``hasErrors`` is true when any result is
4xx/5xx. With ``haltOnError`` the subrequests after the first failure are not run and answer
``412`` ``BATCH_PROCESSING_HALTED``. A failure never rolls back earlier subrequests, and each
subrequest counts against the API limit. A malformed request (no list, more than 25, a
subrequest without ``method`` or ``url``) is refused as a whole with 400 before anything runs.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from sfemu.errors import SalesforceError
from sfemu.server.http import ApiRequest, ApiResponse, error_entry, error_response, not_found
from sfemu.server.state import Ctx
from sfemu.server.transactions import atomic
from sfemu.server.versions import parse_version

MAX_SUBREQUESTS = 25
HALTED = [{"errorCode": "BATCH_PROCESSING_HALTED", "message": "Batch processing halted per request"}]
_METHODS = {"GET", "POST", "PATCH", "PUT", "DELETE", "HEAD"}


def _bad(message: str) -> SalesforceError:
    return SalesforceError("INVALID_API_INPUT", message, status=400)


def _parse(req: ApiRequest) -> tuple[list[dict[str, Any]], bool]:
    body = req.json_object()
    items = body.get("batchRequests")
    if not isinstance(items, list) or not items:
        raise _bad("batchRequests is required and must be a non-empty list")
    if len(items) > MAX_SUBREQUESTS:
        raise _bad(f"A batch request may contain at most {MAX_SUBREQUESTS} subrequests")
    for item in items:
        if not isinstance(item, dict):
            raise _bad("Each subrequest must be a JSON object")
        method, url = item.get("method"), item.get("url")
        if not isinstance(method, str) or method.upper() not in _METHODS:
            raise _bad(f"Invalid subrequest method: {method}")
        if not isinstance(url, str) or not url.strip():
            raise _bad("Subrequest is missing required field: url")
    halt = body.get("haltOnError") in (True, "true")
    return items, halt


def _segments(url: str) -> list[str]:
    """``v62.0/sobjects/Account`` or ``/services/data/v62.0/sobjects/Account`` → path parts."""
    path = urlsplit(url.strip()).path.lstrip("/")
    if path.startswith("services/data/"):
        path = path[len("services/data/") :]
    parts = [unquote(p) for p in path.split("/")]
    while parts and parts[-1] == "":
        parts.pop()
    return parts


def _run(ctx: Ctx, item: dict[str, Any]) -> tuple[int, Any]:
    from sfemu.server.dispatch import dispatch
    from sfemu.server.rest_routes import ROUTES

    url = str(item["url"])
    try:
        segments = _segments(url)
        version = parse_version(segments[0]) if segments else None
        if version is None:
            raise not_found()
        if segments[1:3] == ["composite", "batch"]:
            raise _bad("Batch subrequests cannot call /composite/batch")
        query = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
        body = item.get("richInput")
        sub_req = ApiRequest(str(item["method"]).upper(), segments[1:], query, {}, b"", parsed=body)
        sub_ctx = replace(ctx, api_version=version, in_composite=True)
        with atomic(ctx.org):
            resp = dispatch(ROUTES, sub_ctx, sub_req)
    except SalesforceError as exc:
        resp = error_response(exc)
        resp.body = [error_entry(exc)] if resp.body is None else resp.body
    return resp.status, resp.body


def batch(ctx: Ctx, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
    items, halt = _parse(req)
    results: list[dict[str, Any]] = []
    halted = False
    for index, item in enumerate(items):
        if halted:
            results.append({"statusCode": 412, "result": HALTED})
            continue
        if index:  # the batch itself was metered as one call; every further subrequest counts
            try:
                ctx.org.count_api_call("rest")
            except SalesforceError as exc:
                results.append({"statusCode": exc.status, "result": [error_entry(exc)]})
                halted = halt
                continue
        status, body = _run(ctx, item)
        results.append({"statusCode": status, "result": body})
        halted = halt and status >= 400
    has_errors = any(r["statusCode"] >= 400 for r in results)
    return ApiResponse(200, {"hasErrors": has_errors, "results": results})

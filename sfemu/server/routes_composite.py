"""``POST /composite``: up to 25 subrequests with ``@{ref.path}`` references, one API call."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from sfemu.errors import SalesforceError
from sfemu.server.http import ApiRequest, ApiResponse, error_entry, error_response
from sfemu.server.state import Ctx
from sfemu.server.transactions import atomic
from sfemu.server.versions import parse_version

MAX_SUBREQUESTS = 25
MAX_QUERIES_OR_COLLECTIONS = 5
_REF_RE = re.compile(r"@\{([A-Za-z0-9_]+)\.([^}]+)\}")
_REF_ID_RE = re.compile(r"^[A-Za-z0-9_]+$")
_PATH_PART_RE = re.compile(r"([^.\[\]]+)|\[(\d+)\]")
HALTED = "PROCESSING_HALTED"
ROLLED_BACK_MESSAGE = (
    "The transaction was rolled back since another operation in the same transaction failed."
)


class _Rollback(Exception):
    pass


@dataclass
class _Sub:
    method: str
    url: str
    reference_id: str
    body: Any
    headers: dict[str, str]


def _bad(message: str, code: str = "INVALID_API_INPUT") -> SalesforceError:
    return SalesforceError(code, message, status=400)


def _parse(ctx: Ctx, req: ApiRequest) -> tuple[list[_Sub], bool]:
    from sfemu.server.rest_routes import ROUTES, route_kind_of

    body = req.json_object()
    items = body.get("compositeRequest")
    if not isinstance(items, list) or not items:
        raise _bad("compositeRequest is required and must be a non-empty list")
    if len(items) > MAX_SUBREQUESTS:
        raise _bad(f"Composite request may contain at most {MAX_SUBREQUESTS} subrequests")
    subs: list[_Sub] = []
    seen: set[str] = set()
    heavy = 0
    for item in items:
        sub = _sub(item)
        if sub.reference_id in seen:
            raise _bad(f"Duplicate referenceId provided in the request: {sub.reference_id}")
        seen.add(sub.reference_id)
        segments = _segments(sub.url)
        if segments and route_kind_of(ROUTES, segments[1:]) in {"query", "collections"}:
            heavy += 1
        subs.append(sub)
    if heavy > MAX_QUERIES_OR_COLLECTIONS:
        raise _bad("Composite request may contain at most 5 query or sObject Collections subrequests")
    all_or_none = body.get("allOrNone") in (True, "true")
    return subs, all_or_none


def _sub(item: Any) -> _Sub:
    if not isinstance(item, dict):
        raise _bad("Each subrequest must be a JSON object")
    method, url, ref = item.get("method"), item.get("url"), item.get("referenceId")
    for name, value in (("method", method), ("url", url), ("referenceId", ref)):
        if not isinstance(value, str) or not value:
            raise _bad(f"Subrequest is missing required field: {name}")
    assert isinstance(method, str) and isinstance(url, str) and isinstance(ref, str)
    if not _REF_ID_RE.match(ref):
        raise _bad(f"Invalid referenceId: {ref}")
    headers = {str(k).lower(): str(v) for k, v in (item.get("httpHeaders") or {}).items()}
    return _Sub(method.upper(), url, ref, item.get("body"), headers)


def _segments(url: str) -> list[str]:
    """``/services/data/v62.0/sobjects/Account`` → ``["v62.0", "sobjects", "Account"]``."""
    path = urlsplit(url).path
    prefix = "/services/data/"
    if not path.startswith(prefix):
        return []
    parts = [unquote(p) for p in path[len(prefix) :].split("/")]
    while parts and parts[-1] == "":
        parts.pop()
    return parts


def composite(ctx: Ctx, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
    subs, all_or_none = _parse(ctx, req)
    results: list[dict[str, Any]] = []
    bodies: dict[str, Any] = {}
    try:
        with atomic(ctx.org):
            for index, sub in enumerate(subs):
                item = _run_sub(ctx, sub, bodies)
                results.append(item)
                if item["httpStatusCode"] < 400:
                    bodies[sub.reference_id] = item["body"]
                elif all_or_none:
                    results.extend(_halted(s) for s in subs[index + 1 :])
                    raise _Rollback
    except _Rollback:
        results = [r if r["httpStatusCode"] >= 400 else _halted_ref(r) for r in results]
    return ApiResponse(200, {"compositeResponse": results})


def _halted(sub: _Sub) -> dict[str, Any]:
    return _item(400, [{"errorCode": HALTED, "message": ROLLED_BACK_MESSAGE}], {}, sub.reference_id)


def _halted_ref(item: dict[str, Any]) -> dict[str, Any]:
    return _item(400, [{"errorCode": HALTED, "message": ROLLED_BACK_MESSAGE}], {}, item["referenceId"])


def _item(status: int, body: Any, headers: dict[str, str], ref: str) -> dict[str, Any]:
    return {"body": body, "httpHeaders": headers, "httpStatusCode": status, "referenceId": ref}


def _run_sub(ctx: Ctx, sub: _Sub, bodies: dict[str, Any]) -> dict[str, Any]:
    from sfemu.server.dispatch import dispatch
    from sfemu.server.rest_routes import ROUTES

    try:
        url = _resolve_text(sub.url, bodies)
        body = _resolve_body(sub.body, bodies)
        segments = _segments(url)
        version = parse_version(segments[0]) if segments else None
        if version is None:
            raise SalesforceError("NOT_FOUND", "The requested resource does not exist", status=404)
        query = dict(parse_qsl(urlsplit(url).query, keep_blank_values=True))
        sub_req = ApiRequest(sub.method, segments[1:], query, sub.headers, b"", parsed=body)
        sub_ctx = replace(ctx, api_version=version, in_composite=True)
        if segments[1:2] == ["composite"] and len(segments) == 2:
            raise _bad("Composite subrequests cannot call /composite")
        with atomic(ctx.org):
            resp = dispatch(ROUTES, sub_ctx, sub_req)
    except SalesforceError as exc:
        resp = error_response(exc)
        resp.body = [error_entry(exc)] if resp.body is None else resp.body
    return _item(resp.status, resp.body, resp.headers, sub.reference_id)


def _lookup(ref: str, path: str, bodies: dict[str, Any]) -> Any:
    if ref not in bodies:
        raise SalesforceError(
            HALTED,
            f"Invalid reference specified. No value for {ref}.{path} found in {ref}. "
            f"Provided referenceId ('{ref}') must refer to an earlier successful subrequest.",
            status=400,
        )
    value = bodies[ref]
    for name, index in _PATH_PART_RE.findall(path):
        try:
            value = value[int(index)] if index else value[name]
        except (KeyError, IndexError, TypeError):
            raise SalesforceError(
                HALTED,
                f"Invalid reference specified. No value for {ref}.{path} found in {ref}.",
                status=400,
            ) from None
    return value


def _resolve_text(text: str, bodies: dict[str, Any]) -> str:
    def sub(match: re.Match[str]) -> str:
        value = _lookup(match.group(1), match.group(2), bodies)
        return value if isinstance(value, str) else json.dumps(value)

    return _REF_RE.sub(sub, text)


def _resolve_body(body: Any, bodies: dict[str, Any]) -> Any:
    if isinstance(body, str):
        whole = _REF_RE.fullmatch(body)
        if whole:
            return _lookup(whole.group(1), whole.group(2), bodies)
        return _resolve_text(body, bodies)
    if isinstance(body, list):
        return [_resolve_body(v, bodies) for v in body]
    if isinstance(body, dict):
        return {k: _resolve_body(v, bodies) for k, v in body.items()}
    return body

"""``query`` / ``queryAll`` and their ``nextRecordsUrl`` continuations."""

from __future__ import annotations

import re
import time
from typing import Any

from sfemu import query_pages
from sfemu.errors import SalesforceError
from sfemu.server.cursors import Cursor
from sfemu.server.http import ApiRequest, ApiResponse
from sfemu.server.state import Ctx

DEFAULT_BATCH = 2000
MIN_BATCH = 200
_BATCH_RE = re.compile(r"batchSize\s*=\s*(\d+)", re.IGNORECASE)
_LOCATOR_RE = re.compile(r"^(01g[0-9A-Za-z]{15})-(\d+)$")


def batch_size(req: ApiRequest) -> int | None:
    """``Sforce-Query-Options: batchSize=N`` clamped to 200..2000 (a hint, as in Salesforce)."""
    header = req.headers.get("sforce-query-options", "")
    match = _BATCH_RE.search(header)
    if not match:
        return None
    return max(MIN_BATCH, min(DEFAULT_BATCH, int(match.group(1))))


def run_query(ctx: Ctx, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
    return _start(ctx, req, include_deleted=False)


def run_query_all(ctx: Ctx, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
    return _start(ctx, req, include_deleted=True)


def _start(ctx: Ctx, req: ApiRequest, *, include_deleted: bool) -> ApiResponse:
    soql = req.query.get("q")
    if soql is None or not soql.strip():
        raise SalesforceError("MALFORMED_QUERY", "A query string has to be specified", status=400)
    result = query_pages.start(ctx.org, soql, include_deleted=include_deleted, api_version=ctx.api_version)
    if result.is_count:
        return ApiResponse(200, _page(result.total_size, True, None, []))
    size = batch_size(req) or DEFAULT_BATCH
    records = result.page(ctx.org, 0, size)
    if result.rows <= size:
        return ApiResponse(200, _page(result.total_size, True, None, records))
    cursor = Cursor(
        org_id=ctx.org.org_id,
        result=result,
        total_size=result.total_size,
        batch_size=size,
        include_deleted=include_deleted,
        api_version=ctx.api_version,
        created=time.time(),
    )
    locator = ctx.state.cursors.open(cursor)
    next_url = ctx.data_path(f"query/{locator}-{size}")
    return ApiResponse(200, _page(result.total_size, False, next_url, records))


def more(ctx: Ctx, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
    """``GET /query/01g…-N``: the page at offset N of a stored cursor (query or queryAll)."""
    match = _LOCATOR_RE.match(params["locator"])
    cursor = ctx.state.cursors.get(match.group(1), ctx.org.org_id) if match else None
    if match is None or cursor is None:
        raise SalesforceError("INVALID_QUERY_LOCATOR", "invalid query locator", status=400)
    offset = int(match.group(2))
    size = batch_size(req) or cursor.batch_size
    page = cursor.result.page(ctx.org, offset, offset + size)
    end = min(offset + size, cursor.result.rows)
    if end >= cursor.result.rows:
        return ApiResponse(200, _page(cursor.total_size, True, None, page))
    next_url = ctx.data_path(f"query/{match.group(1)}-{end}")
    return ApiResponse(200, _page(cursor.total_size, False, next_url, page))


def _page(total: int, done: bool, next_url: str | None, records: list[dict]) -> dict[str, Any]:
    body: dict[str, Any] = {"totalSize": total, "done": done}
    if next_url is not None:
        body["nextRecordsUrl"] = next_url
    body["records"] = records
    return body

"""``query`` / ``queryAll`` and their ``nextRecordsUrl`` continuations."""

from __future__ import annotations

import dataclasses
import re
import time
from typing import Any

from sfemu import query_pages
from sfemu.errors import SalesforceError
from sfemu.server.cursors import Cursor
from sfemu.server.http import ApiRequest, ApiResponse
from sfemu.server.state import Ctx
from sfemu.soql import ast, execute, parse
from sfemu.soql.columns import column_metadata
from sfemu.soql_source import OrgDataSource

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
    if soql is None and req.query.get("explain") is not None:
        return ApiResponse(200, explain(ctx, req.query["explain"]))
    if soql is None or not soql.strip():
        raise SalesforceError("MALFORMED_QUERY", "A query string has to be specified", status=400)
    if req.query.get("columns", "").lower() == "true":
        return ApiResponse(200, columns(ctx, soql))
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


def columns(ctx: Ctx, soql: str) -> dict[str, Any]:
    """``query?q=…&columns=true`` (the Salesforce CLI's column lookup): metadata, no rows."""
    schema = ctx.org.schema

    def flags(sobject: str, name: str) -> tuple[bool, bool]:
        obj = schema.get(sobject)
        spec = obj.field(name) if obj is not None else None
        return (bool(spec.createable), bool(spec.updateable)) if spec is not None else (False, False)

    sobject = schema.get(parse(soql).sobject)
    return column_metadata(
        soql,
        OrgDataSource(ctx.org, ctx.api_version),
        api_version=ctx.api_version,
        flags=flags,
        key_prefix=sobject.key_prefix if sobject is not None else None,
    )


UNINDEXED = "Not considering filter for optimization because unindexed"


def explain(ctx: Ctx, soql: str) -> dict[str, Any]:
    """``query?explain=SOQL``: one approximate TableScan plan (sfemu has no optimizer).

    ``sobjectCardinality`` is the object's live row count, ``cardinality`` the rows the WHERE
    matches, ``relativeCost`` 0.65 plus one per million rows of the object.
    """
    if not soql.strip():
        raise SalesforceError("MALFORMED_QUERY", "A query string has to be specified", status=400)
    query = parse(soql)
    source = OrgDataSource(ctx.org, ctx.api_version)
    execute(query, source, api_version=ctx.api_version, root_rows=[])  # errors as when it runs
    counting = dataclasses.replace(
        query, select=[ast.CountAll()], group_by=[], having=None, order_by=[], limit=None, offset=None
    )
    matches = execute(counting, source, api_version=ctx.api_version).total_size
    name = ctx.org.schema.require(query.sobject).name
    total = ctx.org.record_counts([name]).get(name, 0)
    cardinality = min(matches, query.limit) if query.limit is not None else matches
    return {
        "plans": [
            {
                "cardinality": cardinality,
                "fields": [],
                "leadingOperationType": "TableScan",
                "notes": [{"description": UNINDEXED, "fields": ["IsDeleted"], "tableEnumOrId": name}],
                "relativeCost": round(0.65 + total / 1_000_000, 6),
                "sobjectCardinality": total,
                "sobjectType": name,
            }
        ]
    }

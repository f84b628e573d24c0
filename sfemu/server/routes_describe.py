"""Global describe, sObject basic info and full describe."""

from __future__ import annotations

from email.utils import format_datetime, parsedate_to_datetime
from typing import Any

from sfemu.server.http import ApiRequest, ApiResponse, not_found
from sfemu.server.state import Ctx


def _not_modified(ctx: Ctx, req: ApiRequest) -> bool:
    """``If-Modified-Since`` at or after the org's last schema change (answer 304)."""
    header = req.headers.get("if-modified-since")
    if not header:
        return False
    try:
        since = parsedate_to_datetime(header)
    except (TypeError, ValueError):
        return False
    changed = ctx.org.schema_modified_at.replace(microsecond=0)
    return since.tzinfo is not None and changed <= since


def _last_modified(ctx: Ctx) -> dict[str, str]:
    return {"Last-Modified": format_datetime(ctx.org.schema_modified_at, usegmt=True)}


def describe_global(ctx: Ctx, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
    if _not_modified(ctx, req):
        return ApiResponse(304)
    body = {"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": _global_entries(ctx)}
    return ApiResponse(200, body, _last_modified(ctx))


def basic_info(ctx: Ctx, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
    """``GET /sobjects/{Type}``: the global-describe entry plus recently viewed items."""
    entry = global_entry(ctx, params["sobject"])
    return ApiResponse(200, {"objectDescribe": entry, "recentItems": []})


def describe(ctx: Ctx, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
    body = ctx.org.describe(params["sobject"], ctx.api_version, instance_url=ctx.base_url)
    if _not_modified(ctx, req):
        return ApiResponse(304)
    return ApiResponse(200, body, _last_modified(ctx))


def _global_entries(ctx: Ctx) -> list[dict[str, Any]]:
    return ctx.org.describe_global(ctx.api_version)


def global_entry(ctx: Ctx, sobject: str) -> dict[str, Any]:
    """The global describe entry of one object (case-insensitive); NOT_FOUND otherwise."""
    for entry in _global_entries(ctx):
        if str(entry.get("name", "")).lower() == sobject.lower():
            return entry
    raise not_found()

"""Global describe, sObject basic info and full describe."""

from __future__ import annotations

from typing import Any

from sfemu.server.http import ApiRequest, ApiResponse, not_found
from sfemu.server.state import Ctx


def describe_global(ctx: Ctx, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
    body = {"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": _global_entries(ctx)}
    return ApiResponse(200, body)


def basic_info(ctx: Ctx, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
    """``GET /sobjects/{Type}``: the global-describe entry plus recently viewed items."""
    entry = global_entry(ctx, params["sobject"])
    return ApiResponse(200, {"objectDescribe": entry, "recentItems": []})


def describe(ctx: Ctx, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
    body = ctx.org.describe(params["sobject"], ctx.api_version, instance_url=ctx.base_url)
    return ApiResponse(200, body)


def _global_entries(ctx: Ctx) -> list[dict[str, Any]]:
    return ctx.org.describe_global(ctx.api_version)


def global_entry(ctx: Ctx, sobject: str) -> dict[str, Any]:
    """The global describe entry of one object (case-insensitive); NOT_FOUND otherwise."""
    for entry in _global_entries(ctx):
        if str(entry.get("name", "")).lower() == sobject.lower():
            return entry
    raise not_found()

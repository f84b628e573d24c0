"""Version root (resources by version), ``/limits`` and ``/limits/recordCount``."""

from __future__ import annotations

from sfemu.server.http import ApiRequest, ApiResponse
from sfemu.server.state import Ctx

# Resources sfemu serves, in the order a real org lists them ("identity" is absolute).
_RESOURCES = ("queryAll", "identity", "composite", "limits", "query", "sobjects")


def resources(ctx: Ctx, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
    body: dict[str, str] = {}
    for name in _RESOURCES:
        body[name] = ctx.identity_url() if name == "identity" else ctx.data_path(name)
    return ApiResponse(200, body)


def limits(ctx: Ctx, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
    return ApiResponse(200, ctx.org.limits())


def record_count(ctx: Ctx, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
    """``{"sObjects":[{"count":n,"name":"Account"}]}``; objects without rows are left out."""
    wanted = req.query.get("sObjects")
    names = [n.strip() for n in wanted.split(",") if n.strip()] if wanted else None
    counts = ctx.org.record_counts(names)
    entries = [{"count": n, "name": name} for name, n in sorted(counts.items()) if n]
    return ApiResponse(200, {"sObjects": entries})

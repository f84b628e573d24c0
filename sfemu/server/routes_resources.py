"""Version root (resources by version), ``/limits`` and ``/limits/recordCount``."""

from __future__ import annotations

from sfemu.server.http import ApiRequest, ApiResponse
from sfemu.server.state import Ctx
from sfemu.server.versions import at_least

# Resources sfemu serves, in the order a real org lists them (Salesforce's "List Available REST
# Resources" example), each with the first version that serves it here; "identity" is absolute.
_RESOURCES: tuple[tuple[str, float], ...] = (
    ("tooling", 0),
    ("queryAll", 0),
    ("search", 0),
    ("identity", 0),
    ("composite", 0),
    ("parameterizedSearch", 36.0),
    ("recent", 0),
    ("limits", 0),
    ("query", 0),
    ("jobs", 41.0),  # Bulk API 2.0 (ingest from 41.0, query from 47.0)
    ("sobjects", 0),
)


def resources(ctx: Ctx, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
    body: dict[str, str] = {}
    for name, since in _RESOURCES:
        if since and not at_least(ctx.api_version, since):
            continue
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

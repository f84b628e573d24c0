"""``search?q=SOSL`` and ``parameterizedSearch`` (GET parameters or POST body)."""

from __future__ import annotations

from typing import Any

from sfemu import sosl
from sfemu.server.http import ApiRequest, ApiResponse, not_found
from sfemu.server.state import Ctx
from sfemu.server.versions import at_least


def search(ctx: Ctx, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
    """``GET search/?q=FIND {…}``: ``{"searchRecords": [...]}``."""
    records = sosl.run(ctx.org, req.query.get("q") or "", ctx.api_version)
    return ApiResponse(200, {"searchRecords": records})


def parameterized_get(ctx: Ctx, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
    """``GET parameterizedSearch/?q=Acme&sobject=Account&Account.fields=Id,Name&Account.limit=5``."""
    _check_version(ctx)
    query = req.query
    names = _multi(req, "sobject")
    fields = _csv(query.get("fields"))
    sobjects = []
    for name in names:
        sobjects.append(
            {
                "name": name,
                "fields": _csv(query.get(f"{name}.fields")) or fields,
                "where": query.get(f"{name}.where"),
                "limit": query.get(f"{name}.limit"),
                "orderBy": query.get(f"{name}.orderBy"),
            }
        )
    body = {
        "q": query.get("q"),
        "in": query.get("in"),
        "overallLimit": query.get("overallLimit"),
        "defaultLimit": query.get("defaultLimit"),
        "fields": fields,
        "sobjects": sobjects,
    }
    return ApiResponse(200, {"searchRecords": sosl.parameterized(ctx.org, body, ctx.api_version)})


def parameterized_post(ctx: Ctx, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
    """``POST parameterizedSearch`` with ``{"q", "fields", "sobjects": [{"name", …}], "in", …}``."""
    _check_version(ctx)
    body: dict[str, Any] = dict(req.json_object())
    return ApiResponse(200, {"searchRecords": sosl.parameterized(ctx.org, body, ctx.api_version)})


def _check_version(ctx: Ctx) -> None:
    if not at_least(ctx.api_version, 36.0):
        raise not_found()


def _csv(value: str | None) -> list[str]:
    return [v.strip() for v in value.split(",") if v.strip()] if value else []


def _multi(req: ApiRequest, name: str) -> list[str]:
    """Repeated ``sobject=A&sobject=B`` (ApiRequest keeps the last one) or comma lists."""
    values = req.query_lists.get(name) or ([req.query[name]] if name in req.query else [])
    out: list[str] = []
    for value in values:
        out.extend(_csv(value))
    return out

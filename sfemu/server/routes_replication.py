"""``sobjects/{Type}/updated/`` and ``/deleted/`` (getUpdated / getDeleted over REST)."""

from __future__ import annotations

from datetime import datetime

from sfemu.errors import SalesforceError
from sfemu.server.http import ApiRequest, ApiResponse
from sfemu.server.routes_rows import canonical_sobject
from sfemu.server.state import Ctx
from sfemu.server.wire import parse_param_datetime


def _window(req: ApiRequest) -> tuple[datetime, datetime]:
    bounds = []
    for name in ("start", "end"):
        raw = req.query.get(name)
        if not raw:
            raise SalesforceError("MISSING_ARGUMENT", f"{name} parameter is required", status=400)
        try:
            bounds.append(parse_param_datetime(raw))
        except ValueError:
            raise SalesforceError(
                "INVALID_REPLICATION_DATE",
                f"Unable to parse {name} date: {raw}",
                status=400,
            ) from None
    return bounds[0], bounds[1]


def updated(ctx: Ctx, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
    sobject = canonical_sobject(ctx, params["sobject"])
    start, end = _window(req)
    return ApiResponse(200, ctx.org.get_updated(sobject, start, end))


def deleted(ctx: Ctx, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
    sobject = canonical_sobject(ctx, params["sobject"])
    start, end = _window(req)
    return ApiResponse(200, ctx.org.get_deleted(sobject, start, end))

"""``GET /recent``: the user's recently viewed items.

Salesforce fills this list from record views in its user interface and from SOQL ``FOR VIEW`` /
``FOR REFERENCE`` queries; the answer is a JSON array of ``{"attributes": {"type", "url"}, "Id",
"Name"}`` records, at most ``limit`` (default and maximum 200). sfemu has no user interface and
accepts ``FOR VIEW`` without recording views, so nothing is ever recently viewed: the answer is an
empty array in that shape, as for a user who viewed nothing.
"""

from __future__ import annotations

from typing import Any

from sfemu.server.http import ApiRequest, ApiResponse
from sfemu.server.state import Ctx

MAX_ITEMS = 200


def _limit(req: ApiRequest) -> int:
    raw = req.query.get("limit")
    if raw is None or raw == "":
        return MAX_ITEMS
    try:
        return max(0, min(int(raw), MAX_ITEMS))
    except ValueError:  # what Salesforce answers for a bad limit is not documented
        return MAX_ITEMS


def recent(ctx: Ctx, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
    items: list[dict[str, Any]] = []  # no recorded views (see the module docstring)
    return ApiResponse(200, items[: _limit(req)])

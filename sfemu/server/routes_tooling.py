"""Tooling API (``/services/data/vXX.X/tooling/...``): CustomField create/read and tooling queries
over ``EntityDefinition`` / ``FieldDefinition`` / ``CustomField``."""

from __future__ import annotations

from typing import Any

from sfemu import tooling
from sfemu.errors import SalesforceError
from sfemu.server.apex_anonymous import execute_anonymous_rest
from sfemu.server.dispatch import RestRoute, route
from sfemu.server.http import ApiRequest, ApiResponse, not_found
from sfemu.server.state import Ctx
from sfemu.soql.columns import column_metadata
from sfemu.tooling_source import OBJECTS, ToolingSource, tooling_query

WRITABLE = {"customfield": "CustomField"}


def resources(ctx: Ctx, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
    base = ctx.data_path("tooling")
    names = ("query", "sobjects")
    return ApiResponse(200, {name: f"{base}/{name}" for name in names})


def sobjects(ctx: Ctx, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
    base = ctx.data_path("tooling/sobjects")
    entries = [
        {
            "name": info.name,
            "label": info.name,
            "queryable": True,
            "createable": info.name.lower() in WRITABLE,
            "custom": False,
            "urls": {"sobject": f"{base}/{info.name}", "rowTemplate": f"{base}/{info.name}/{{ID}}"},
        }
        for info in OBJECTS.values()
    ]
    return ApiResponse(200, {"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": entries})


def _writable(sobject: str) -> str:
    name = WRITABLE.get(sobject.lower())
    if name is None:
        raise not_found()
    return name


def create(ctx: Ctx, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
    """``POST tooling/sobjects/CustomField``: 201 with the new ``00N`` id."""
    _writable(params["sobject"])
    field_id = tooling.create_custom_field(ctx.org, req.json(), ctx.user_id)
    body: dict[str, Any] = {"id": field_id, "success": True, "errors": [], "warnings": [], "infos": []}
    location = ctx.data_path(f"tooling/sobjects/CustomField/{field_id}")
    return ApiResponse(201, body, {"Location": location})


def read(ctx: Ctx, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
    """``GET tooling/sobjects/CustomField/{id}``: the record with FullName and Metadata."""
    name = _writable(params["sobject"])
    row = tooling.get_custom_field(ctx.org, params["record_id"])
    url = ctx.data_path(f"tooling/sobjects/{name}/{row['Id']}")
    return ApiResponse(200, {"attributes": {"type": name, "url": url}, **row})


def query(ctx: Ctx, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
    soql = req.query.get("q")
    if soql is None or not soql.strip():
        raise SalesforceError("MALFORMED_QUERY", "A query string has to be specified", status=400)
    if req.query.get("columns", "").lower() == "true":  # the Salesforce CLI's column lookup
        body = column_metadata(soql, ToolingSource(ctx.org), api_version=ctx.api_version)
        return ApiResponse(200, body)
    return ApiResponse(200, tooling_query(ctx.org, soql, ctx.api_version))


ROUTES: list[RestRoute] = [
    route("tooling", "tooling", get=resources),
    route("tooling/query", "tooling", get=query),
    route("tooling/executeAnonymous", "tooling", get=execute_anonymous_rest),
    route("tooling/sobjects", "tooling", get=sobjects),
    route("tooling/sobjects/{sobject}", "tooling", post=create),
    route("tooling/sobjects/{sobject}/{record_id}", "tooling", get=read),
]

"""``GET sobjects/{T}/{id}/{relationship}``: relationship traversal by friendly URL.

A parent relationship (``Contact/{id}/Account``, ``Foo__c/{id}/Bar__r``) answers the parent
record as ``GET sobjects/{Parent}/{id}`` would (``fields`` honoured), 404 NOT_FOUND when the
lookup is empty. A child relationship (``Account/{id}/Contacts``) answers a query result
(``totalSize``, ``done``, ``records``) of the child records, 200 with no records when there are
none. Any other name is 404 NOT_FOUND.
"""

from __future__ import annotations

from typing import Any

from sfemu import ids
from sfemu.server.http import ApiRequest, ApiResponse, not_found
from sfemu.server.state import Ctx
from sfemu.soql import execute, parse
from sfemu.soql_source import OrgDataSource


def _fields(req: ApiRequest) -> list[str] | None:
    raw = req.query.get("fields")
    return [f.strip() for f in raw.split(",") if f.strip()] if raw is not None else None


def traverse(ctx: Ctx, req: ApiRequest, sobject: str, record_id: str, name: str) -> ApiResponse:
    org = ctx.org
    obj = org.schema.require(sobject)
    record = org.get(obj.name, record_id, api_version=ctx.api_version)  # 404 for unknown ids
    fields = _fields(req)
    lookup = org.schema.relationship_field(obj, name)
    if lookup is not None:
        parent_id = record.get(lookup.name)
        if not parent_id:
            raise not_found()
        parent = _type_of(ctx, str(parent_id), lookup.reference_to)
        if parent is None:
            raise not_found()
        found = org.get(parent, str(parent_id), fields, api_version=ctx.api_version)
        return ApiResponse(200, found)
    for rel in org.schema.children(obj.name):
        if rel.name and rel.name.lower() == name.lower():
            return ApiResponse(200, _children(ctx, rel.child, rel.field, record["Id"], fields))
    raise not_found()


def _type_of(ctx: Ctx, record_id: str, candidates: tuple[str, ...]) -> str | None:
    prefix = record_id[:3]
    for name in candidates:
        obj = ctx.org.schema.get(name)
        if obj is not None and obj.key_prefix == prefix:
            return obj.name
    return candidates[0] if len(candidates) == 1 else None


def _children(ctx: Ctx, child: str, field: str, parent_id: str, fields: list[str] | None) -> dict[str, Any]:
    soql = f"SELECT Id FROM {child} WHERE {field} = '{ids.to_18(parent_id)}' ORDER BY Id"
    rows = execute(parse(soql), OrgDataSource(ctx.org, ctx.api_version), api_version=ctx.api_version)
    records = [ctx.org.get(child, r["Id"], fields, api_version=ctx.api_version) for r in rows.records]
    return {"totalSize": len(records), "done": True, "records": records}

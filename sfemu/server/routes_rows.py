"""sObject rows: create, read, update, delete, by-external-id read/upsert/delete."""

from __future__ import annotations

from dataclasses import replace
from email.utils import format_datetime
from typing import Any

from sfemu import ids
from sfemu.errors import MultipleMatchesError, SalesforceError
from sfemu.server import routes_relationships, uploads
from sfemu.server.http import ApiRequest, ApiResponse, not_found
from sfemu.server.state import Ctx
from sfemu.server.versions import at_least
from sfemu.server.wire import parse_wire_datetime

_SPECIAL = {"describe", "updated", "deleted"}


def canonical_sobject(ctx: Ctx, sobject: str) -> str:
    """The object's API name as the org spells it; NOT_FOUND for unknown objects."""
    wanted = sobject.lower()
    for name in ctx.org.object_names():
        if name.lower() == wanted:
            return name
    raise not_found()


def record_values(req: ApiRequest) -> dict[str, Any]:
    """The body's field map without the ``attributes`` envelope."""
    values = dict(req.json_object())
    values.pop("attributes", None)
    return values


def _fields_param(req: ApiRequest) -> list[str] | None:
    raw = req.query.get("fields")
    if raw is None:
        return None
    return [f.strip() for f in raw.split(",") if f.strip()]


def save_result(record_id: str, created: bool | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"id": record_id, "success": True, "errors": []}
    if created is not None:
        body["created"] = created
    return body


def create(ctx: Ctx, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
    """``POST /sobjects/{Type}``: a JSON record, or a multipart entity part plus file parts."""
    sobject = canonical_sobject(ctx, params["sobject"])
    files = None
    if req.form is not None:
        entity, files = uploads.multipart_parts(req.form)
        req = replace(req, body=entity, form=None)
    values = record_values(req)
    record_id = ctx.org.create(sobject, values, user_id=ctx.user_id, files=files)
    location = ctx.data_path(f"sobjects/{sobject}/{record_id}")
    return ApiResponse(201, save_result(record_id), {"Location": location})


def read(ctx: Ctx, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
    sobject = canonical_sobject(ctx, params["sobject"])
    record = ctx.org.get(sobject, params["record_id"], _fields_param(req), api_version=ctx.api_version)
    return ApiResponse(200, record, _last_modified(record))


def update(ctx: Ctx, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
    """PATCH a record: 204. ``PATCH /sobjects/{Type}/Id/`` (jsforce's upsert of a record whose
    Id is null) is the null-Id upsert, i.e. a create."""
    if params["record_id"] == "Id":
        return _create_by_null_id(ctx, req, params)
    sobject = canonical_sobject(ctx, params["sobject"])
    ctx.org.update(sobject, params["record_id"], record_values(req), user_id=ctx.user_id)
    return ApiResponse(204)


def delete(ctx: Ctx, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
    sobject = canonical_sobject(ctx, params["sobject"])
    ctx.org.delete(params["record_id"], user_id=ctx.user_id, sobject=sobject)
    return ApiResponse(204)


def post_on_record(ctx: Ctx, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
    """``POST /sobjects/{Type}/Id``: upsert with a null Id, i.e. create (API ≥ 37.0)."""
    if params["record_id"] != "Id":
        raise SalesforceError(
            "METHOD_NOT_ALLOWED",
            "HTTP Method 'POST' not allowed. Allowed are HEAD,GET,PATCH,DELETE",
            status=405,
        )
    return _create_by_null_id(ctx, req, params)


def _create_by_null_id(ctx: Ctx, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
    sobject = canonical_sobject(ctx, params["sobject"])
    values = record_values(req)
    if values.get("Id") is None:
        values.pop("Id", None)
    record_id = ctx.org.create(sobject, values, user_id=ctx.user_id)
    created = True if at_least(ctx.api_version, 46.0) else None
    location = ctx.data_path(f"sobjects/{sobject}/{record_id}")
    return ApiResponse(201, save_result(record_id, created), {"Location": location})


def read_by_external_id(ctx: Ctx, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
    """``GET /sobjects/{Type}/{extField}/{value}``, or a blob ``/sobjects/{Type}/{id}/{field}``."""
    sobject = canonical_sobject(ctx, params["sobject"])
    if _is_record_id(ctx, sobject, params["field"]):
        spec = ctx.org.schema.field(sobject, params["value"])
        if spec is None or spec.type != "base64":
            return routes_relationships.traverse(ctx, req, sobject, params["field"], params["value"])
        size, chunks = ctx.org.open_blob(sobject, params["field"], params["value"])
        headers = {} if size is None else {"Content-Length": str(size)}
        return ApiResponse(200, headers=headers, stream=chunks, media_type="application/octetstream")
    try:
        record = ctx.org.get_by_external_id(
            sobject,
            params["field"],
            params["value"],
            _fields_param(req),
            api_version=ctx.api_version,
        )
    except MultipleMatchesError as exc:
        return ApiResponse(300, exc.record_urls(ctx.api_version))
    return ApiResponse(200, record, _last_modified(record))


def upsert(ctx: Ctx, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
    """PATCH by external id: 201 created, 200 (≥ 46.0) / 204 updated, 300 several matches."""
    sobject = canonical_sobject(ctx, params["sobject"])
    values = record_values(req)
    field, value = params["field"], params["value"]
    update_only = req.query.get("updateOnly", "").lower() == "true"
    try:
        record_id, created = ctx.org.upsert(
            sobject, field, value, values, user_id=ctx.user_id, update_only=update_only
        )
    except MultipleMatchesError as exc:
        return ApiResponse(300, exc.record_urls(ctx.api_version))
    modern = at_least(ctx.api_version, 46.0)
    if created:
        location = ctx.data_path(f"sobjects/{sobject}/{record_id}")
        body = save_result(record_id, True if modern else None)
        return ApiResponse(201, body, {"Location": location})
    if modern:
        return ApiResponse(200, save_result(record_id, False))
    return ApiResponse(204)


def delete_by_external_id(ctx: Ctx, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
    sobject = canonical_sobject(ctx, params["sobject"])
    try:
        record = ctx.org.get_by_external_id(
            sobject, params["field"], params["value"], ["Id"], api_version=ctx.api_version
        )
    except MultipleMatchesError as exc:
        return ApiResponse(300, exc.record_urls(ctx.api_version))
    ctx.org.delete(record["Id"], user_id=ctx.user_id, sobject=sobject)
    return ApiResponse(204)


def _is_record_id(ctx: Ctx, sobject: str, segment: str) -> bool:
    """A 15/18-char id with the object's key prefix (not an external-id field name)."""
    if ids.normalize(segment) is None:
        return False
    prefixes = {e.get("keyPrefix") for e in ctx.org.describe_global(ctx.api_version) if e["name"] == sobject}
    return segment[:3] in prefixes


def _last_modified(record: dict[str, Any]) -> dict[str, str]:
    stamp = record.get("LastModifiedDate") if isinstance(record, dict) else None
    if not isinstance(stamp, str):
        return {}
    try:
        return {"Last-Modified": format_datetime(parse_wire_datetime(stamp), usegmt=True)}
    except ValueError:
        return {}

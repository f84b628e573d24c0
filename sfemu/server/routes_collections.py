"""sObject Collections (``/composite/sobjects``): create, update, upsert, retrieve, delete."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sfemu import ids
from sfemu.errors import SalesforceError
from sfemu.server.http import ApiRequest, ApiResponse
from sfemu.server.routes_rows import canonical_sobject
from sfemu.server.state import Ctx
from sfemu.server.transactions import Outcome, run_batch

MAX_RECORDS = 200


def _too_many() -> SalesforceError:
    return SalesforceError(
        "EXCEEDED_ID_LIMIT",
        "record limit reached. cannot submit more than 200 records into this call",
        status=400,
    )


def _batch_body(req: ApiRequest) -> tuple[list[Any], bool]:
    body = req.json_object()
    records = body.get("records")
    if not isinstance(records, list) or not records:
        raise SalesforceError(
            "INVALID_FIELD", "No records in the request; 'records' must be a list", status=400
        )
    if len(records) > MAX_RECORDS:
        raise _too_many()
    return records, _truthy(body.get("allOrNone", False))


def _truthy(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def _record_parts(ctx: Ctx, record: Any) -> tuple[str, dict[str, Any]]:
    """(canonical type, field map) of one collection record; per-record errors otherwise."""
    if not isinstance(record, dict):
        raise SalesforceError("JSON_PARSER_ERROR", "Each record must be a JSON object", fields=[])
    attributes = record.get("attributes")
    sobject = attributes.get("type") if isinstance(attributes, dict) else None
    if not sobject:
        raise SalesforceError("INVALID_TYPE", "Must specify a type in attributes for each record", fields=[])
    try:
        name = canonical_sobject(ctx, str(sobject))
    except SalesforceError:
        raise SalesforceError(
            "INVALID_TYPE", f"sObject type '{sobject}' is not supported.", fields=[]
        ) from None
    values = {k: v for k, v in record.items() if k != "attributes"}
    return name, values


def _result(outcome: Outcome, *, upsert: bool = False) -> dict[str, Any]:
    if outcome.error is not None:
        return {"success": False, "errors": [outcome.error.as_collection()]}
    if upsert:
        record_id, created = outcome.value
        return {"id": record_id, "success": True, "errors": [], "created": created}
    return {"id": outcome.value, "success": True, "errors": []}


def _run(ctx: Ctx, ops: list[Callable[[], Any]], all_or_none: bool, upsert: bool = False) -> Any:
    outcomes, _ = run_batch(ctx.org, ops, all_or_none=all_or_none)
    return [_result(o, upsert=upsert) for o in outcomes]


def create_many(ctx: Ctx, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
    records, all_or_none = _batch_body(req)

    def op(record: Any) -> Callable[[], str]:
        def run() -> str:
            sobject, values = _record_parts(ctx, record)
            if values.get("Id") or values.get("id"):
                raise SalesforceError(
                    "INVALID_FIELD",
                    "Cannot specify Id in an insert call",
                    fields=["Id"],
                )
            values.pop("Id", None)
            values.pop("id", None)
            return ctx.org.create(sobject, values, user_id=ctx.user_id)

        return run

    return ApiResponse(200, _run(ctx, [op(r) for r in records], all_or_none))


def update_many(ctx: Ctx, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
    records, all_or_none = _batch_body(req)

    def op(record: Any) -> Callable[[], str]:
        def run() -> str:
            sobject, values = _record_parts(ctx, record)
            record_id = values.pop("Id", None) or values.pop("id", None)
            if not record_id:
                raise SalesforceError("MISSING_ARGUMENT", "Id not specified in an update call", fields=[])
            ctx.org.update(sobject, str(record_id), values, user_id=ctx.user_id)
            return _id18(ctx, sobject, str(record_id))

        return run

    return ApiResponse(200, _run(ctx, [op(r) for r in records], all_or_none))


def upsert_many(ctx: Ctx, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
    """``PATCH /composite/sobjects/{Type}/{extField}``: results carry ``created``."""
    sobject = canonical_sobject(ctx, params["sobject"])
    field = params["field"]
    records, all_or_none = _batch_body(req)

    def op(record: Any) -> Callable[[], tuple[str, bool]]:
        def run() -> tuple[str, bool]:
            record_type, values = _record_parts(ctx, record)
            if record_type != sobject:
                raise SalesforceError(
                    "INVALID_TYPE", f"Record type {record_type} does not match {sobject}", fields=[]
                )
            key = next((k for k in values if k.lower() == field.lower()), None)
            ext_value = values.pop(key) if key else None
            value = None if ext_value is None else str(ext_value)
            return ctx.org.upsert(sobject, field, value, values, user_id=ctx.user_id)

        return run

    return ApiResponse(200, _run(ctx, [op(r) for r in records], all_or_none, upsert=True))


def delete_many(ctx: Ctx, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
    ids = [i.strip() for i in req.query.get("ids", "").split(",") if i.strip()]
    if not ids:
        raise SalesforceError("REQUIRED_FIELD_MISSING", "At least 1 Id is required.", status=400)
    if len(ids) > MAX_RECORDS:
        raise _too_many()
    all_or_none = _truthy(req.query.get("allOrNone", "false"))

    def op(record_id: str) -> Callable[[], str]:
        def run() -> str:
            ctx.org.delete(record_id, user_id=ctx.user_id)
            return _id18(ctx, None, record_id)

        return run

    return ApiResponse(200, _run(ctx, [op(i) for i in ids], all_or_none))


def retrieve_many(ctx: Ctx, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
    """GET ``?ids=&fields=`` or POST ``{"ids":[…],"fields":[…]}``; null for missing records."""
    sobject = canonical_sobject(ctx, params["sobject"])
    if req.method.upper() == "POST":
        body = req.json_object()
        ids = [str(i) for i in body.get("ids") or []]
        fields = [str(f) for f in body.get("fields") or []]
    else:
        ids = [i.strip() for i in req.query.get("ids", "").split(",") if i.strip()]
        fields = [f.strip() for f in req.query.get("fields", "").split(",") if f.strip()]
    if not ids:
        raise SalesforceError("REQUIRED_FIELD_MISSING", "At least 1 Id is required.", status=400)
    if not fields:
        raise SalesforceError("REQUIRED_FIELD_MISSING", "At least 1 field is required.", status=400)
    if len(ids) > 2000:
        raise _too_many()
    records: list[Any] = []
    for record_id in ids:
        try:
            records.append(ctx.org.get(sobject, record_id, fields, api_version=ctx.api_version))
        except SalesforceError as exc:
            if exc.status != 404:
                raise
            records.append(None)
    return ApiResponse(200, records)


def _id18(ctx: Ctx, sobject: str | None, record_id: str) -> str:
    """Results always carry 18-char ids even when the caller sent 15."""
    return ids.normalize(record_id) or record_id

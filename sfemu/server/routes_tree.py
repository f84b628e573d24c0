"""``POST /composite/tree/{sObject}``: create record trees (parents with nested children).

Salesforce's rules (REST API guide, "sObject Tree" and its request/response bodies): at most 200
records across all trees, at most five types and five levels; each record carries
``attributes.type`` and a request-unique ``attributes.referenceId``; children sit under the
parent's child relationship name as ``{"records": [...]}`` and get their lookup to the parent set.
Records are created level by level (every root, then every second-level record, …), which is also
the order of the ``results``. All or nothing: success is ``201 {"hasErrors": false, "results":
[{"referenceId", "id"}]}``; the first failing record rolls everything back and the answer is
``400 {"hasErrors": true, "results": [{"referenceId", "errors": [{statusCode, message, fields}]}]}``
with only that record. An unknown field is a deserialization error: the usual REST error array
(``INVALID_FIELD`` "No such column …", which the Salesforce CLI reads as a field-security hint).
The whole request is one API call.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from sfemu.errors import SalesforceError
from sfemu.server.http import ApiRequest, ApiResponse
from sfemu.server.routes_rows import canonical_sobject
from sfemu.server.state import Ctx
from sfemu.server.transactions import atomic

MAX_RECORDS = 200
MAX_TYPES = 5
MAX_DEPTH = 5
_REF_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_]*$")


@dataclass
class _Node:
    reference_id: str
    sobject: str
    values: dict[str, Any]
    depth: int
    parent: _Node | None = None
    parent_field: str | None = None  # the child's lookup to its parent
    record_id: str | None = None
    children: list[_Node] = field(default_factory=list)


class _RecordError(Exception):
    """A per-record problem, answered in the tree failure shape."""

    def __init__(self, reference_id: str, errors: list[dict[str, Any]]) -> None:
        super().__init__(reference_id)
        self.results = [{"referenceId": reference_id, "errors": errors}]


class _Rollback(Exception):
    pass


def _error(code: str, message: str, fields: list[str] | None = None) -> dict[str, Any]:
    return {"statusCode": code, "message": message, "fields": list(fields or [])}


def _bad_request(message: str, code: str = "INVALID_INPUT") -> SalesforceError:
    return SalesforceError(code, message, status=400)


def _records_of(container: Any, where: str) -> list[Any]:
    records = container.get("records") if isinstance(container, dict) else None
    if not isinstance(records, list) or not records:
        raise _bad_request(f"{where} must contain a non-empty 'records' array", "JSON_PARSER_ERROR")
    return records


def _parse(ctx: Ctx, root_type: str, body: dict[str, Any]) -> list[_Node]:
    """Every record of the request as a node, roots first; per-record errors raised."""
    roots: list[_Node] = []
    seen: dict[str, int] = {}
    types: set[str] = set()
    count = 0

    def node(raw: Any, depth: int, parent: _Node | None, expected: str, parent_field: str | None) -> _Node:
        nonlocal count
        count += 1
        if count > MAX_RECORDS:
            raise _bad_request(f"The request may contain at most {MAX_RECORDS} records in all trees")
        if depth > MAX_DEPTH:
            raise _bad_request(f"sObject trees may be at most {MAX_DEPTH} levels deep")
        if not isinstance(raw, dict):
            raise _bad_request("Each record must be a JSON object", "JSON_PARSER_ERROR")
        attributes = raw.get("attributes")
        attributes = attributes if isinstance(attributes, dict) else {}
        ref = attributes.get("referenceId")
        sobject = attributes.get("type")
        if not isinstance(ref, str) or not ref:
            raise _bad_request("Each record must have attributes.referenceId", "JSON_PARSER_ERROR")
        if not _REF_RE.match(ref):
            raise _RecordError(
                ref,
                [
                    _error(
                        "INVALID_INPUT",
                        f"Provided referenceId ('{ref}') must start with a letter or a number, "
                        "and it can contain only letters, numbers and underscores ('_').",
                    )
                ],
            )
        seen[ref] = seen.get(ref, 0) + 1
        if not isinstance(sobject, str) or not sobject:
            raise _RecordError(
                ref, [_error("INVALID_TYPE", "Must specify a type in attributes for each record")]
            )
        try:
            name = canonical_sobject(ctx, sobject)
        except SalesforceError:
            raise _RecordError(
                ref, [_error("INVALID_TYPE", f"sObject type '{sobject}' is not supported.")]
            ) from None
        if name != expected:
            raise _RecordError(
                ref,
                [_error("INVALID_TYPE", f"Record type {name} does not match the expected type {expected}")],
            )
        types.add(name)
        if len(types) > MAX_TYPES:
            raise _bad_request(f"The request may contain records of at most {MAX_TYPES} types")
        this = _Node(ref, name, {}, depth, parent, parent_field)
        children = {r.name.lower(): r for r in ctx.org.schema.children(name) if r.name}
        for key, value in raw.items():
            if key == "attributes":
                continue
            relation = children.get(key.lower()) if isinstance(value, dict) and "records" in value else None
            if relation is None:
                this.values[key] = value
                continue
            for child in _records_of(value, key):
                this.children.append(node(child, depth + 1, this, relation.child, relation.field))
        return this

    for raw in _records_of(body, "The request body"):
        roots.append(node(raw, 1, None, root_type, None))
    dupes = [ref for ref, n in seen.items() if n > 1]
    if dupes:
        results: list[dict[str, Any]] = []
        for ref in dupes:
            error = _error("INVALID_INPUT", f"Duplicate ReferenceId provided in the request: {ref}")
            results += [{"referenceId": ref, "errors": [error]}] * seen[ref]
        failure = _RecordError(dupes[0], [])
        failure.results = results
        raise failure
    return _by_level(roots)


def _by_level(roots: list[_Node]) -> list[_Node]:
    ordered: list[_Node] = []
    level = roots
    while level:
        ordered.extend(level)
        level = [child for n in level for child in n.children]
    return ordered


def _create(ctx: Ctx, node: _Node) -> str:
    values = dict(node.values)
    if any(k.lower() == "id" and v for k, v in values.items()):
        raise SalesforceError("INVALID_FIELD", "Cannot specify Id in an insert call", fields=["Id"])
    values = {k: v for k, v in values.items() if k.lower() != "id"}
    if node.parent is not None and node.parent_field:
        values = {k: v for k, v in values.items() if k.lower() != node.parent_field.lower()}
        values[node.parent_field] = node.parent.record_id
    return ctx.org.create(node.sobject, values, user_id=ctx.user_id)


def _is_unknown_field(exc: SalesforceError) -> bool:
    return exc.error_code == "INVALID_FIELD" and exc.message.startswith("No such column")


def tree(ctx: Ctx, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
    root_type = canonical_sobject(ctx, params["sobject"])
    try:
        nodes = _parse(ctx, root_type, req.json_object())
    except _RecordError as failure:
        return ApiResponse(400, {"hasErrors": True, "results": failure.results})
    failed: dict[str, Any] | None = None
    try:
        with atomic(ctx.org):
            for node in nodes:
                try:
                    node.record_id = _create(ctx, node)
                except SalesforceError as exc:
                    if _is_unknown_field(exc):
                        raise
                    failed = {"referenceId": node.reference_id, "errors": [exc.as_collection()]}
                    raise _Rollback from None
    except _Rollback:
        return ApiResponse(400, {"hasErrors": True, "results": [failed]})
    results = [{"referenceId": n.reference_id, "id": n.record_id} for n in nodes]
    return ApiResponse(201, {"hasErrors": False, "results": results})

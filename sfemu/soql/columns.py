"""``GET query?q=…&columns=true``: the query's column metadata instead of its rows.

The shape is what the Salesforce CLI reads (plugin-data ``retrieveColumns``)::

    {"columnMetadata": [{"aggregate", "apexType", "booleanType", "columnName", "custom",
                         "displayName", "foreignKeyName", "insertable", "joinColumns",
                         "numberType", "textType", "updatable"}, …],
     "entityName", "groupBy", "idSelected", "keyPrefix"}

Plain fields have ``joinColumns: []``; a parent relationship (``Owner.Name``) is one column
named after the relationship with ``foreignKeyName`` (``OwnerId``) and the parent's fields in
``joinColumns``; a child subquery is an ``aggregate`` column named after the relationship with
its fields in ``joinColumns``; an aggregate function is an ``aggregate`` column named by its
alias or ``exprN`` with the function as written for ``displayName``. The query is validated
exactly as when it runs, but no row is read.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sfemu.soql import ast
from sfemu.soql.executor import ChildPlan, Node, RecordPlan, execute
from sfemu.soql.parser import parse
from sfemu.soql.resolve import Context
from sfemu.soql.source import DataSource, FieldInfo, ObjectInfo

# (object, field) -> (insertable, updatable); None when the source has no such facts
Flags = Callable[[str, str], tuple[bool, bool]]

_APEX_TYPES = {
    "id": "Id",
    "reference": "Id",
    "boolean": "Boolean",
    "int": "Integer",
    "long": "Long",
    "double": "Double",
    "percent": "Double",
    "currency": "Decimal",
    "date": "Date",
    "datetime": "Datetime",
    "time": "Time",
    "base64": "Blob",
    "address": "Address",
    "location": "Location",
    "anyType": "Object",
}
_NUMBER_TYPES = {"int", "long", "double", "percent", "currency"}
_TEXT_TYPES = {
    "string",
    "textarea",
    "picklist",
    "multipicklist",
    "combobox",
    "email",
    "phone",
    "url",
    "encryptedstring",
}
_NUMERIC_FUNCTIONS = {"AVG", "SUM", "COUNT", "COUNT_DISTINCT"}


def _no_flags(obj: str, name: str) -> tuple[bool, bool]:
    return False, False


def column_metadata(
    soql: str,
    source: DataSource,
    *,
    api_version: str = "62.0",
    flags: Flags | None = None,
    key_prefix: str | None = None,
) -> dict[str, Any]:
    """The ``columns=true`` answer for ``soql`` (SoqlError for an invalid query, as when run)."""
    query = parse(soql)
    # validation only: every name, WHERE, ORDER BY, LIMIT rule is checked, no row is read
    execute(query, source, api_version=api_version, root_rows=[])
    builder = _Builder(source, flags or _no_flags)
    ctx = Context(source, query.text, include_deleted=False, api_version=api_version)
    obj = ctx.object_info(query.sobject, query.sobject_pos)
    if query.is_count and not query.group_by:
        columns: list[dict[str, Any]] = []
        id_selected = False
    elif query.is_aggregate:
        columns = builder.aggregate_columns(ctx, query, obj)
        id_selected = False
    else:
        plan = RecordPlan(ctx, query, obj)
        columns = builder.node_columns(plan.root, [obj])
        id_selected = "id" in plan.root.seen
    return {
        "columnMetadata": columns,
        "entityName": obj.name,
        "groupBy": bool(query.group_by),
        "idSelected": id_selected,
        "keyPrefix": key_prefix,
    }


class _Builder:
    def __init__(self, source: DataSource, flags: Flags) -> None:
        self.source = source
        self.flags = flags

    def node_columns(self, node: Node, objects: list[ObjectInfo]) -> list[dict[str, Any]]:
        columns = []
        for kind, value in node.entries:
            if kind == "field":
                owner, info = _field_of(objects, value)
                columns.append(self.field_column(owner, info))
            elif kind == "parent":
                hop, child = value
                targets = [t for t in (self.source.object_info(n) for n in hop.lookup.reference_to) if t]
                columns.append(
                    _column(
                        hop.name,
                        custom=hop.name.endswith("__r"),
                        foreign_key=hop.lookup.name,
                        join=self.node_columns(child, targets),
                    )
                )
            elif kind == "child":
                plan: ChildPlan = value
                columns.append(
                    _column(
                        plan.name,
                        aggregate=True,
                        custom=plan.name.endswith("__r"),
                        join=self.node_columns(plan.plan.root, [plan.plan.obj]),
                    )
                )
        return columns

    def field_column(self, owner: ObjectInfo, info: FieldInfo) -> dict[str, Any]:
        insertable, updatable = self.flags(owner.name, info.name)
        return _column(
            info.name,
            apex_type=_APEX_TYPES.get(info.type, "String"),
            custom=info.name.endswith("__c"),
            insertable=insertable,
            updatable=updatable,
            field_type=info.type,
        )

    def aggregate_columns(self, ctx: Context, query: ast.Query, obj: ObjectInfo) -> list[dict[str, Any]]:
        columns = []
        expr = 0
        for item in query.select:
            if isinstance(item, ast.FieldRef):
                resolved = ctx.resolve(obj, item)
                owner = obj
                if resolved.hops:
                    targets = [self.source.object_info(n) for n in resolved.hops[-1].lookup.reference_to]
                    owner = next((t for t in targets if t and resolved.leaf.name.lower() in t.fields), obj)
                columns.append(self.field_column(owner, resolved.leaf))
            elif isinstance(item, ast.Aggregate):
                name = item.alias
                if name is None:
                    name = f"expr{expr}"
                    expr += 1
                end = query.text.find(")", item.pos)
                display = query.text[item.pos : end + 1] if end >= 0 else item.func
                field_type = ""
                if item.field is not None and item.func not in _NUMERIC_FUNCTIONS:
                    field_type = ctx.resolve(obj, item.field).leaf.type  # MIN/MAX keep the type
                columns.append(
                    _column(
                        name,
                        display=display,
                        aggregate=True,
                        number=item.func in _NUMERIC_FUNCTIONS or field_type in _NUMBER_TYPES,
                        field_type=field_type,
                    )
                )
        return columns


def _field_of(objects: list[ObjectInfo], name: str) -> tuple[ObjectInfo, FieldInfo]:
    """The object (of a polymorphic relationship's targets) defining field ``name``."""
    for obj in objects:
        info = obj.fields.get(name.lower())
        if info is not None:
            return obj, info
    raise KeyError(name)  # the executor resolved it, so a target has it


def _column(
    name: str,
    *,
    display: str | None = None,
    apex_type: str | None = None,
    aggregate: bool = False,
    custom: bool = False,
    foreign_key: str | None = None,
    insertable: bool = False,
    updatable: bool = False,
    join: list[dict[str, Any]] | None = None,
    number: bool | None = None,
    field_type: str = "",
) -> dict[str, Any]:
    return {
        "aggregate": aggregate,
        "apexType": apex_type,
        "booleanType": field_type == "boolean",
        "columnName": name,
        "custom": custom,
        "displayName": display or name,
        "foreignKeyName": foreign_key,
        "insertable": insertable,
        "joinColumns": join or [],
        "numberType": field_type in _NUMBER_TYPES if number is None else number,
        "textType": field_type in _TEXT_TYPES,
        "updatable": updatable,
    }

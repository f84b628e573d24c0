"""Tooling API query objects over an org's schema: ``EntityDefinition``, ``FieldDefinition`` and
``CustomField``, as a SOQL :class:`~sfemu.soql.source.DataSource`.

Rows are computed from the org's schema on each query. ``FieldDefinition.EntityDefinitionId``
holds the object's durable id (its API name) and is navigable (``EntityDefinition.QualifiedApiName``);
``EntityDefinition`` has the ``Fields`` child relationship. Deviation: custom objects' durable ids
are their API names here, where real orgs use ``01I…`` ids.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sfemu import tooling
from sfemu.soql import execute
from sfemu.soql.source import FieldInfo, ObjectInfo

if TYPE_CHECKING:
    from sfemu.org import Org
    from sfemu.schema.spec import FieldSpec, ObjectSpec


def _info(name: str, fields: dict[str, str], refs: dict[str, tuple[str, str]] | None = None) -> ObjectInfo:
    """ObjectInfo from {field: type}; ``refs`` maps a field to (target object, relationship)."""
    infos = {}
    for fname, ftype in fields.items():
        target = (refs or {}).get(fname)
        compound = ftype == "anyType"
        infos[fname.lower()] = FieldInfo(
            fname,
            ftype,
            (target[0],) if target else (),
            target[1] if target else None,
            filterable=not compound,
            sortable=not compound,
        )
    children = (
        {"fields": ("FieldDefinition", "EntityDefinitionId", "Fields")} if name == "EntityDefinition" else {}
    )
    return ObjectInfo(name, infos, children)


S, B, N, D, A = "string", "boolean", "int", "datetime", "anyType"
ENTITY = _info(
    "EntityDefinition",
    {
        "Id": S,
        "DurableId": S,
        "QualifiedApiName": S,
        "DeveloperName": S,
        "MasterLabel": S,
        "Label": S,
        "PluralLabel": S,
        "KeyPrefix": S,
        "NamespacePrefix": S,
        "IsCustomizable": B,
        "IsQueryable": B,
        "IsRetrieveable": B,
        "IsSearchable": B,
        "IsTriggerable": B,
        "IsLayoutable": B,
        "IsReplicateable": B,
        "IsEverCreatable": B,
        "IsEverUpdatable": B,
        "IsEverDeletable": B,
        "IsFeedEnabled": B,
        "IsMruEnabled": B,
        "IsCustomSetting": B,
        "IsDeprecatedAndHidden": B,
        "DeploymentStatus": S,
        "Description": S,
        "LastModifiedDate": D,
    },
)
FIELD = _info(
    "FieldDefinition",
    {
        "Id": S,
        "DurableId": S,
        "QualifiedApiName": S,
        "DeveloperName": S,
        "MasterLabel": S,
        "Label": S,
        "NamespacePrefix": S,
        "EntityDefinitionId": S,
        "DataType": S,
        "ValueTypeId": S,
        "ExtraTypeInfo": S,
        "Length": N,
        "Precision": N,
        "Scale": N,
        "Digits": N,
        "IsIndexed": B,
        "IsNillable": B,
        "IsCalculated": B,
        "IsCompound": B,
        "IsApiFilterable": B,
        "IsApiSortable": B,
        "IsApiGroupable": B,
        "IsFieldHistoryTracked": B,
        "IsHighScaleNumber": B,
        "IsPolymorphicForeignKey": B,
        "IsWorkflowFilterable": B,
        "ReferenceTo": A,
        "RelationshipName": S,
        "ReferenceTargetField": S,
        "Description": S,
        "InlineHelpText": S,
        "LastModifiedDate": D,
        "LastModifiedById": S,
    },
    {"EntityDefinitionId": ("EntityDefinition", "EntityDefinition")},
)
CUSTOM_FIELD = _info(
    "CustomField",
    {
        "Id": "id",
        "TableEnumOrId": S,
        "DeveloperName": S,
        "Description": S,
        "Length": N,
        "NamespacePrefix": S,
        "ManageableState": S,
        "CreatedDate": D,
        "CreatedById": S,
        "LastModifiedDate": D,
        "LastModifiedById": S,
        "EntityDefinitionId": S,
        "FullName": S,
        "Metadata": A,
    },
    {"EntityDefinitionId": ("EntityDefinition", "EntityDefinition")},
)
OBJECTS = {info.name.lower(): info for info in (ENTITY, FIELD, CUSTOM_FIELD)}


def data_type(spec: FieldSpec) -> str:
    """Setup's "Data Type" column, e.g. ``Text(18) (External ID) (Unique Case Sensitive)``."""
    t = spec.type
    if spec.calculated:
        kind = {"string": "Text", "double": "Number", "boolean": "Checkbox"}.get(
            spec.value_type, spec.value_type
        )
        return f"Formula ({kind.capitalize() if kind.islower() else kind})"
    if t == "id":
        return "Lookup()"
    if t == "reference":
        kind = "Master-Detail" if spec.cascade_delete and not spec.nillable else "Lookup"
        return f"{kind}({','.join(spec.reference_to)})"
    if spec.auto_number:
        text = "Auto Number"
    elif spec.name_field and not spec.custom:
        text = "Name"
    elif t == "string":
        text = f"Text({spec.length})"
    elif t == "textarea":
        kind = {"richtextarea": "Rich Text Area"}.get(spec.extra_type_info or "", "")
        kind = kind or ("Long Text Area" if spec.length > 255 else "Text Area")
        text = f"{kind}({spec.length})"
    elif t in ("double", "currency", "percent"):
        label = {"double": "Number", "currency": "Currency", "percent": "Percent"}[t]
        text = f"{label}({spec.precision - spec.scale}, {spec.scale})"
    elif t == "int":
        text = f"Number({spec.digits}, 0)"
    else:
        text = {
            "boolean": "Checkbox",
            "date": "Date",
            "datetime": "Date/Time",
            "time": "Time",
            "email": "Email",
            "phone": "Phone",
            "url": f"URL({spec.length})",
            "picklist": "Picklist",
            "multipicklist": "Picklist (Multi-Select)",
            "encryptedstring": f"Text (Encrypted)({spec.length})",
            "address": "Address",
            "location": "Geolocation",
            "base64": "Blob",
            "combobox": "Picklist",
        }.get(t, t.capitalize())
    if spec.external_id:
        text += " (External ID)"
    if spec.unique:
        text += " (Unique Case Sensitive)" if spec.case_sensitive else " (Unique Case Insensitive)"
    return text


def _indexed(spec: FieldSpec) -> bool:
    return (
        spec.type in ("id", "reference")
        or spec.name_field
        or spec.external_id
        or spec.unique
        or spec.role == "modstamp"
        or spec.name in ("SystemModstamp", "CreatedDate", "LastModifiedDate")
    )


def entity_row(obj: ObjectSpec, modified: str) -> dict[str, Any]:
    return {
        "Id": obj.name,
        "DurableId": obj.name,
        "QualifiedApiName": obj.name,
        "DeveloperName": obj.name[:-3] if obj.custom else obj.name,
        "MasterLabel": obj.label,
        "Label": obj.label,
        "PluralLabel": obj.label_plural,
        "KeyPrefix": obj.key_prefix,
        "NamespacePrefix": None,
        "IsCustomizable": obj.layoutable,
        "IsQueryable": obj.queryable,
        "IsRetrieveable": obj.retrieveable,
        "IsSearchable": obj.searchable,
        "IsTriggerable": obj.triggerable,
        "IsLayoutable": obj.layoutable,
        "IsReplicateable": obj.replicateable,
        "IsEverCreatable": obj.createable,
        "IsEverUpdatable": obj.updateable,
        "IsEverDeletable": obj.deletable,
        "IsFeedEnabled": obj.feed_enabled,
        "IsMruEnabled": obj.mru_enabled,
        "IsCustomSetting": False,
        "IsDeprecatedAndHidden": False,
        "DeploymentStatus": "Deployed" if obj.custom else None,
        "Description": obj.description,
        "LastModifiedDate": modified,
    }


def field_row(obj: ObjectSpec, spec: FieldSpec, field_ids: dict[tuple[str, str], str], modified: str) -> dict:
    tail = field_ids.get((obj.name.lower(), spec.lower), spec.name) if spec.custom else spec.name
    return {
        "Id": f"{obj.name}.{tail}",
        "DurableId": f"{obj.name}.{tail}",
        "QualifiedApiName": spec.name,
        "DeveloperName": spec.name[:-3] if spec.custom else spec.name,
        "MasterLabel": spec.label,
        "Label": spec.label,
        "NamespacePrefix": None,
        "EntityDefinitionId": obj.name,
        "DataType": data_type(spec),
        "ValueTypeId": spec.value_type,
        "ExtraTypeInfo": spec.extra_type_info,
        "Length": spec.length,
        "Precision": spec.precision,
        "Scale": spec.scale,
        "Digits": spec.digits,
        "IsIndexed": _indexed(spec),
        "IsNillable": spec.nillable,
        "IsCalculated": spec.calculated,
        "IsCompound": spec.type in ("address", "location"),
        "IsApiFilterable": spec.filterable is not False
        and spec.type not in ("textarea", "address", "location"),
        "IsApiSortable": spec.sortable is not False and spec.type not in ("textarea", "multipicklist"),
        "IsApiGroupable": spec.groupable is not False
        and spec.type in ("string", "picklist", "boolean", "id"),
        "IsFieldHistoryTracked": False,
        "IsHighScaleNumber": False,
        "IsPolymorphicForeignKey": len(spec.reference_to) > 1,
        "IsWorkflowFilterable": True,
        "ReferenceTo": {"referenceTo": list(spec.reference_to)} if spec.reference_to else None,
        "RelationshipName": spec.relationship_name,
        "ReferenceTargetField": None,
        "Description": None,
        "InlineHelpText": spec.inline_help_text,
        "LastModifiedDate": modified if spec.custom else None,
        "LastModifiedById": None,
    }


class ToolingSource:
    """The tooling objects of one org as a SOQL data source."""

    def __init__(self, org: Org) -> None:
        self.org = org
        self.schema = org.schema
        self.modified = org.schema_modified_at.strftime("%Y-%m-%dT%H:%M:%S.000+0000")

    def object_info(self, name: str) -> ObjectInfo | None:
        return OBJECTS.get(name.lower())

    def rows(self, sobject: str, *, include_deleted: bool) -> Iterator[dict]:
        kind = sobject.lower()
        if kind == "entitydefinition":
            return (entity_row(o, self.modified) for o in self.schema.objects())
        if kind == "fielddefinition":
            return self._field_rows()
        if kind == "customfield":
            return (tooling.custom_field_row(self.org, d) for d in tooling.field_definitions(self.org))
        return iter(())

    def _field_rows(self) -> Iterator[dict]:
        defs = tooling.field_definitions(self.org)
        field_ids = {(d["object"].lower(), d["name"].lower()): d["tooling_id"][:15] for d in defs}
        for obj in self.schema.objects():
            for spec in obj.fields:
                yield field_row(obj, spec, field_ids, self.modified)

    def row_by_id(self, record_id: str) -> tuple[str, dict] | None:
        obj = self.schema.get(str(record_id))
        return ("EntityDefinition", entity_row(obj, self.modified)) if obj is not None else None

    def now(self) -> datetime:
        return self.org.now()


def tooling_query(org: Org, soql: str, api_version: str) -> dict[str, Any]:
    """``GET tooling/query?q=``: the tooling answer shape (``size``, ``entityTypeName``…)."""
    from sfemu.soql import parse

    query = parse(soql)
    result = execute(query, ToolingSource(org), api_version=api_version)
    data_prefix = f"/services/data/v{api_version}/sobjects/"
    tooling_prefix = f"/services/data/v{api_version}/tooling/sobjects/"
    for record in result.records:
        _retarget(record, data_prefix, tooling_prefix)
    entity = OBJECTS.get(query.sobject.lower())
    return {
        "size": result.total_size,
        "totalSize": result.total_size,
        "done": True,
        "queryLocator": None,
        "entityTypeName": entity.name if entity else query.sobject,
        "records": result.records,
    }


def _retarget(record: Any, data_prefix: str, tooling_prefix: str) -> None:
    """Record urls of tooling objects point below ``/tooling/sobjects/``."""
    if isinstance(record, dict):
        attrs = record.get("attributes")
        if isinstance(attrs, dict) and isinstance(attrs.get("url"), str):
            attrs["url"] = attrs["url"].replace(data_prefix, tooling_prefix, 1)
        for value in record.values():
            if isinstance(value, dict):
                _retarget(value, data_prefix, tooling_prefix)
                for child in value.get("records") or []:
                    _retarget(child, data_prefix, tooling_prefix)

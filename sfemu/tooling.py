"""Tooling API ``CustomField``: create a custom field from Metadata API JSON, read it back.

``POST tooling/sobjects/CustomField`` sends ``{"FullName": "Account.Foo__c", "Metadata": {...}}``
with Metadata API names (``type: Text|Number|Checkbox|Picklist|Lookup|…``, ``externalId``,
``unique``, ``valueSet``, ``referenceTo``…). The field goes through the org's customisation API
(:meth:`sfemu.org.Org.add_custom_field`), so it shows up in describe and takes values at once; its
``00N`` id and the Metadata as sent are kept in the stored definition.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sfemu import ids
from sfemu.errors import SalesforceError, not_found
from sfemu.schema.custom import check_api_name
from sfemu.timeutil import format_datetime

if TYPE_CHECKING:
    from sfemu.org import Org
    from sfemu.schema.spec import FieldSpec, ObjectSpec

FIELD_PREFIX = "00N"
# Metadata API field type -> sfemu.schema.custom type.
METADATA_TYPES = {
    "text": "text",
    "textarea": "textarea",
    "longtextarea": "longtextarea",
    "html": "richtextarea",
    "encryptedtext": "encryptedtext",
    "number": "number",
    "currency": "currency",
    "percent": "percent",
    "checkbox": "checkbox",
    "date": "date",
    "datetime": "datetime",
    "time": "time",
    "email": "email",
    "phone": "phone",
    "url": "url",
    "picklist": "picklist",
    "multiselectpicklist": "multipicklist",
    "lookup": "lookup",
    "masterdetail": "masterdetail",
    "autonumber": "autonumber",
}
NO_CUSTOMIZE = (
    "You do not have sufficient access to create or change custom fields: "
    'the "Customize Application" permission is required.'
)


def integrity(message: str) -> SalesforceError:
    return SalesforceError("FIELD_INTEGRITY_EXCEPTION", message, fields=[])


def can_customize(org: Org, user_id: str) -> bool:
    """ "Customize Application" (sfemu profiles carry it with "Modify All Data")."""
    user = org.user(user_id)
    rec = org.store.get_record(user.get("ProfileId") or "")
    if rec is None:
        return False
    profile = rec[3]
    if "PermissionsCustomizeApplication" in profile:
        return bool(profile["PermissionsCustomizeApplication"])
    return bool(profile.get("PermissionsModifyAllData"))


def require_customize(org: Org, user_id: str) -> None:
    if not can_customize(org, user_id):
        raise SalesforceError("INSUFFICIENT_ACCESS", NO_CUSTOMIZE, status=400)


def _flag(value: Any) -> bool:
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)


def _int(metadata: dict[str, Any], key: str, label: str, low: int, high: int) -> int:
    value = metadata.get(key)
    try:
        number = int(value)
    except (TypeError, ValueError):
        raise integrity(f"{label}: you must enter a value between {low} and {high}") from None
    if not low <= number <= high:
        raise integrity(f"{label}: you must enter a value between {low} and {high}")
    return number


def field_options(org: Org, metadata: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """(custom type, add_custom_field options) for Metadata API field JSON."""
    raw_type = str(metadata.get("type") or "")
    kind = METADATA_TYPES.get(raw_type.lower())
    if kind is None:
        raise integrity(f"Field Type: bad value for restricted picklist field: {raw_type or 'null'}")
    if not metadata.get("label"):
        raise SalesforceError(
            "REQUIRED_FIELD_MISSING", "Required fields are missing: [Label]", fields=["Label"]
        )
    options: dict[str, Any] = {
        "label": str(metadata["label"]),
        "required": _flag(metadata.get("required")),
        "help": metadata.get("inlineHelpText") or None,
        "description": metadata.get("description") or None,
    }
    if metadata.get("formula"):
        options.update(formula=str(metadata["formula"]), formula_type=kind)
        kind = "formula"
    if kind == "text":
        options["length"] = _int(metadata, "length", "Length", 1, 255)
    elif kind == "longtextarea" or kind == "richtextarea":
        options["length"] = _int(metadata, "length", "Length", 256, 131072)
    elif kind == "encryptedtext":
        options["length"] = _int(metadata, "length", "Length", 1, 175)
    if kind in ("number", "currency", "percent") or (kind == "formula" and "precision" in metadata):
        options["precision"] = _int(metadata, "precision", "Length", 1, 18)
        options["scale"] = (
            _int(metadata, "scale", "Decimal Places", 0, options["precision"])
            if (metadata.get("scale") is not None)
            else 0
        )
    if kind in ("text", "number", "email", "autonumber", "phone"):
        options["external_id"] = _flag(metadata.get("externalId"))
    if kind in ("text", "number", "email"):
        options["unique"] = _flag(metadata.get("unique"))
        options["case_sensitive"] = _flag(metadata.get("caseSensitive"))
    if kind == "checkbox":
        options["default"] = _flag(metadata.get("defaultValue"))
    if kind in ("picklist", "multipicklist"):
        options.update(_picklist(metadata))
    if kind in ("lookup", "masterdetail"):
        options.update(_lookup(org, metadata))
    if kind == "autonumber":
        options["format"] = metadata.get("displayFormat") or "{0}"
        options["start"] = int(metadata.get("startingNumber") or 1)
    return kind, {k: v for k, v in options.items() if v is not None}


def _picklist(metadata: dict[str, Any]) -> dict[str, Any]:
    value_set = metadata.get("valueSet") or {}
    definition = value_set.get("valueSetDefinition") or {}
    entries = definition.get("value") or []
    if isinstance(entries, dict):
        entries = [entries]
    values = [str(e.get("fullName") or e.get("label") or "") for e in entries if isinstance(e, dict)]
    values = [v for v in values if v]
    if not values:
        raise integrity("Picklist: you must enter at least one value")
    default = next(
        (str(e["fullName"]) for e in entries if isinstance(e, dict) and _flag(e.get("default"))), None
    )
    return {"values": values, "restricted": _flag(value_set.get("restricted")), "default": default}


def _lookup(org: Org, metadata: dict[str, Any]) -> dict[str, Any]:
    target = metadata.get("referenceTo")
    obj = org.schema.get(str(target)) if target else None
    if obj is None:
        raise integrity(f"Related To: bad value for restricted picklist field: {target}")
    rel = metadata.get("relationshipName")
    if not rel:
        raise SalesforceError(
            "REQUIRED_FIELD_MISSING", "Required fields are missing: [RelationshipName]", fields=[]
        )
    constraint = metadata.get("deleteConstraint") or "SetNull"
    return {"reference_to": obj.name, "child_relationship": str(rel), "delete_constraint": constraint}


def _split_full_name(org: Org, full_name: Any) -> tuple[ObjectSpec, str]:
    text = str(full_name or "")
    if "." not in text:
        raise SalesforceError(
            "REQUIRED_FIELD_MISSING", "Required fields are missing: [FullName]", fields=["FullName"]
        )
    object_name, field_name = text.split(".", 1)
    obj = org.schema.get(object_name)
    if obj is None:
        raise integrity(f"Entity Enumeration Or ID: bad value for restricted picklist field: {object_name}")
    try:
        check_api_name(field_name)
    except SalesforceError:
        raise integrity(
            f"The Field Name is invalid: {field_name}. Custom field names end in __c, begin with a letter "
            "and use only alphanumeric characters and single underscores."
        ) from None
    return obj, field_name


def new_field_id(org: Org) -> str:
    first = org.store.allocate_sequence(org.pod, FIELD_PREFIX, 1, ids.sequence_start(org.instance.rng))
    return ids.make_id(FIELD_PREFIX, org.pod, first)


def create_custom_field(org: Org, body: Any, user_id: str) -> str:
    """Create the field of a ``CustomField`` tooling record; returns its 18-char ``00N`` id."""
    require_customize(org, user_id)
    if not isinstance(body, dict):
        raise SalesforceError("JSON_PARSER_ERROR", "The body must be a CustomField object", status=400)
    metadata = body.get("Metadata")
    if not isinstance(metadata, dict):
        raise SalesforceError(
            "REQUIRED_FIELD_MISSING", "Required fields are missing: [Metadata]", fields=["Metadata"]
        )
    obj, field_name = _split_full_name(org, body.get("FullName"))
    existing = org.schema.field(obj.name, field_name)
    if existing is not None:
        raise SalesforceError(
            "DUPLICATE_DEVELOPER_NAME",
            f"There is already a field named {existing.name.removesuffix('__c')} on {obj.label}.",
            fields=[],
        )
    kind, options = field_options(org, metadata)
    field_id = new_field_id(org)
    stamp = format_datetime(org.now())
    options.update(
        tooling_id=field_id,
        metadata={**metadata, "fullName": f"{obj.name}.{field_name}"},
        created_date=stamp,
        created_by=user_id,
    )
    org.add_custom_field(obj.name, field_name, kind, **options)
    return field_id


def field_definitions(org: Org) -> list[dict[str, Any]]:
    """Stored custom-field definitions of the org, each with a ``tooling_id`` (assigned and
    persisted here for fields made through the domain API)."""
    out = []
    for fdef in org.store.list_defs(org.org_id, "field"):
        if not fdef.get("tooling_id"):
            fdef["tooling_id"] = new_field_id(org)
            org.store.put_def(org.org_id, "field", fdef["object"], fdef["name"], fdef)
        out.append(fdef)
    return out


def custom_field_row(org: Org, fdef: dict[str, Any]) -> dict[str, Any]:
    """The ``CustomField`` tooling record of a stored definition (wire values)."""
    obj = org.schema.get(fdef["object"])
    spec = obj.field(fdef["name"]) if obj else None
    created = fdef.get("created_date") or format_datetime(org.created_at)
    creator = fdef.get("created_by") or org.admin_user_id
    table = obj.name if obj is not None and not obj.custom else (obj.key_prefix if obj else fdef["object"])
    return {
        "Id": fdef["tooling_id"],
        "TableEnumOrId": table,
        "DeveloperName": fdef["name"][:-3],
        "Description": fdef.get("description"),
        "Length": spec.length if spec is not None else None,
        "NamespacePrefix": None,
        "ManageableState": "unmanaged",
        "CreatedDate": created,
        "CreatedById": creator,
        "LastModifiedDate": created,
        "LastModifiedById": creator,
        "EntityDefinitionId": obj.name if obj else fdef["object"],
        "FullName": f"{fdef['object']}.{fdef['name']}",
        "Metadata": metadata_of(fdef, spec),
    }


def metadata_of(fdef: dict[str, Any], spec: FieldSpec | None) -> dict[str, Any]:
    """The Metadata of a field: as sent for tooling-made fields, else derived from the spec."""
    if fdef.get("metadata"):
        return dict(fdef["metadata"])
    body: dict[str, Any] = {"fullName": f"{fdef['object']}.{fdef['name']}", "label": fdef.get("label")}
    if spec is not None:
        body.update(
            type=next((k for k, v in METADATA_TYPES.items() if v == fdef["type"].lower()), fdef["type"]),
            length=spec.length or None,
            precision=spec.precision or None,
            scale=spec.scale if spec.precision else None,
            externalId=spec.external_id,
            unique=spec.unique,
            caseSensitive=spec.case_sensitive if spec.unique else None,
            required=not spec.nillable and spec.type != "boolean",
            referenceTo=spec.reference_to[0] if spec.reference_to else None,
        )
    return body


def get_custom_field(org: Org, field_id: str) -> dict[str, Any]:
    wanted = ids.normalize(field_id)
    if wanted is None:
        raise not_found()
    for fdef in field_definitions(org):
        if fdef["tooling_id"] == wanted:
            return custom_field_row(org, fdef)
    raise not_found()

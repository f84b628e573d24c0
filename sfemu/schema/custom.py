"""Custom objects and fields: JSON definitions (as stored per org) → specs.

A definition is a plain dict so it can be persisted as JSON and replayed on restart.
Field ``type`` takes Setup's names (``text``, ``number``, ``checkbox``, ``lookup``,
``masterdetail``, ``formula``, ``autonumber``, ``longtextarea``, ``richtextarea``,
``encryptedtext``, …).
"""

from __future__ import annotations

import re
from typing import Any

from sfemu.errors import SalesforceError
from sfemu.schema import formula as formulas
from sfemu.schema.spec import (
    FieldSpec,
    ObjectSpec,
    PicklistValue,
    audit_fields,
    f_date,
    f_deleted,
    f_id,
    f_text,
    owner,
    readonly,
    viewed_fields,
)

# An optional managed-package namespace prefix (``acme__``) before the developer name.
_API_NAME_RE = re.compile(r"^(?:[A-Za-z][A-Za-z0-9]{0,14}__)?([A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)*__c)$")

FIELD_TYPES = {
    "text": "string",
    "string": "string",
    "textarea": "textarea",
    "longtextarea": "textarea",
    "richtextarea": "textarea",
    "number": "double",
    "double": "double",
    "int": "int",
    "currency": "currency",
    "percent": "percent",
    "checkbox": "boolean",
    "boolean": "boolean",
    "date": "date",
    "datetime": "datetime",
    "time": "time",
    "email": "email",
    "phone": "phone",
    "url": "url",
    "picklist": "picklist",
    "multipicklist": "multipicklist",
    "lookup": "reference",
    "reference": "reference",
    "masterdetail": "reference",
    "formula": None,
    "autonumber": "string",
    "encryptedtext": "encryptedstring",
    "encryptedstring": "encryptedstring",
}
DEFAULT_LENGTH = {
    "text": 255,
    "string": 255,
    "textarea": 255,
    "longtextarea": 32768,
    "richtextarea": 32768,
    "encryptedtext": 175,
    "encryptedstring": 175,
    "email": 80,
    "phone": 40,
    "url": 255,
    "picklist": 255,
    "multipicklist": 4099,
    "autonumber": 30,
}


def bad_definition(message: str) -> SalesforceError:
    return SalesforceError("INVALID_FIELD", message)


def check_api_name(name: str) -> None:
    match = _API_NAME_RE.match(name)
    if not match or len(match.group(1)) > 43:
        raise bad_definition(f"invalid custom API name: {name}")


def object_spec(defn: dict[str, Any], fields: list[dict[str, Any]]) -> ObjectSpec:
    """The spec of a custom object with its standard fields and ``fields`` appended."""
    label = defn.get("label") or defn["name"][:-3].replace("_", " ")
    plural = defn.get("plural_label") or f"{label}s"
    detail = any(f.get("type") == "masterdetail" for f in fields)
    head: list[FieldSpec] = [f_id("Record ID")]
    if not detail:
        head.append(owner())
    head += [f_deleted(), name_field(defn, label)]
    head += audit_fields()
    if defn.get("allow_activities", True):
        head.append(readonly(f_date("LastActivityDate", "Last Activity Date")))
    head += viewed_fields()
    order = 0
    custom_fields = []
    for fdef in fields:
        spec = field_spec(fdef)
        if spec.relationship_order is not None:
            spec = spec.with_(relationship_order=order)
            order += 1
        custom_fields.append(spec)
    return ObjectSpec(
        defn["name"],
        label,
        plural,
        defn["key_prefix"],
        head + custom_fields,
        custom=True,
        feed_enabled=False,
        mru_enabled=True,
        mergeable=False,
        deep_cloneable=False,
        supported_scopes=(
            ("everything", "All {plural}"),
            ("mine", "My {plural}"),
            ("queue_owned", "My queues' {plural}"),
            ("team", "My team's {plural}"),
        ),
        description=defn.get("description"),
        extra={"allow_activities": defn.get("allow_activities", True)},
    )


def name_field(defn: dict[str, Any], label: str) -> FieldSpec:
    name_def = defn.get("name_field") or {}
    name_label = name_def.get("label") or f"{label} Name"
    if name_def.get("type") == "autonumber":
        return readonly(
            f_text(
                "Name",
                name_label,
                30,
                nillable=False,
                defaulted_on_create=True,
                name_field=True,
                auto_number=True,
                auto_number_format=name_def.get("format", "{0}"),
                auto_number_start=int(name_def.get("start", 1)),
                id_lookup=True,
            )
        )
    return f_text(
        "Name", name_label, 80, defaulted_on_create=True, name_field=True, id_lookup=True, role="custom_name"
    )


def field_spec(fdef: dict[str, Any]) -> FieldSpec:
    """A custom field's spec from its definition."""
    kind = fdef["type"].lower()
    if kind not in FIELD_TYPES:
        raise bad_definition(f"unsupported field type: {fdef['type']}")
    name = fdef["name"]
    check_api_name(name)
    label = fdef.get("label") or name[:-3].replace("_", " ")
    base: dict[str, Any] = {
        "custom": True,
        "inline_help_text": fdef.get("help"),
        "nillable": not fdef.get("required", False),
    }
    if kind == "formula":
        return _formula_field(name, label, fdef, base)
    builder = _BUILDERS.get(kind, _simple_field)
    return builder(name, label, kind, fdef, base)


def _simple_field(name: str, label: str, kind: str, fdef: dict, base: dict) -> FieldSpec:
    type_ = FIELD_TYPES[kind]
    kw = dict(base)
    if type_ in ("string", "textarea", "email", "phone", "url", "encryptedstring"):
        kw["length"] = int(fdef.get("length") or DEFAULT_LENGTH[kind])
    if type_ in ("double", "currency", "percent"):
        kw["precision"] = int(fdef.get("precision", 18))
        kw["scale"] = int(fdef.get("scale", 2 if type_ == "currency" else 0))
    if type_ == "int":
        kw["digits"] = int(fdef.get("digits", 9))
    if fdef.get("external_id") or fdef.get("unique"):
        kw.update(
            external_id=bool(fdef.get("external_id")),
            unique=bool(fdef.get("unique")),
            case_sensitive=bool(fdef.get("case_sensitive")),
            id_lookup=True,
        )
    if "default" in fdef and fdef["default"] is not None:
        kw.update(default_value=fdef["default"], defaulted_on_create=True)
    if type_ == "textarea":
        kw.update(_textarea_flags(kind))
    if type_ == "encryptedstring":
        kw.update(encrypted=True, mask=fdef.get("mask_char", "X"), mask_type=fdef.get("mask_type", "all"))
    return FieldSpec(name, type_, label, **kw)


def _textarea_flags(kind: str) -> dict[str, Any]:
    if kind == "richtextarea":
        return {"html_formatted": True, "extra_type_info": "richtextarea"}
    return {"extra_type_info": "plaintextarea"}


def _checkbox(name: str, label: str, kind: str, fdef: dict, base: dict) -> FieldSpec:
    base = dict(base, nillable=False)
    return FieldSpec(
        name,
        "boolean",
        label,
        default_value=bool(fdef.get("default", False)),
        defaulted_on_create=True,
        **base,
    )


def _picklist(name: str, label: str, kind: str, fdef: dict, base: dict) -> FieldSpec:
    values = tuple(PicklistValue(v, default=(v == fdef.get("default"))) for v in fdef.get("values", ()))
    return FieldSpec(
        name,
        FIELD_TYPES[kind],
        label,
        length=DEFAULT_LENGTH[kind],
        picklist=values,
        restricted_picklist=bool(fdef.get("restricted", False)),
        defaulted_on_create=fdef.get("default") is not None,
        default_value=fdef.get("default"),
        **base,
    )


def _reference(name: str, label: str, kind: str, fdef: dict, base: dict) -> FieldSpec:
    target = fdef["reference_to"]
    rel = fdef.get("relationship_name") or name[:-3]
    child = fdef.get("child_relationship")
    master = kind == "masterdetail"
    constraint = (fdef.get("delete_constraint") or "SetNull").lower()
    kw = dict(base)
    if master:
        kw.update(
            nillable=False,
            relationship_order=0,
            cascade_delete=True,
            updateable=bool(fdef.get("reparentable", False)),
        )
    else:
        kw.update(cascade_delete=constraint == "cascade", restricted_delete=constraint == "restrict")
    return FieldSpec(
        name,
        "reference",
        label,
        length=18,
        reference_to=(target,),
        relationship_name=f"{rel}__r",
        child_relationship=f"{child}__r" if child else None,
        **kw,
    )


def _autonumber(name: str, label: str, kind: str, fdef: dict, base: dict) -> FieldSpec:
    return FieldSpec(
        name,
        "string",
        label,
        length=30,
        nillable=False,
        createable=False,
        updateable=False,
        defaulted_on_create=True,
        auto_number=True,
        auto_number_format=fdef.get("format", "{0}"),
        auto_number_start=int(fdef.get("start", 1)),
        id_lookup=True,
        external_id=bool(fdef.get("external_id")),
        custom=True,
    )


def _formula_field(name: str, label: str, fdef: dict, base: dict) -> FieldSpec:
    text = fdef["formula"]
    formulas.parse(text)
    result = FIELD_TYPES.get(fdef.get("formula_type", "text").lower()) or "string"
    kw = dict(base, nillable=result != "boolean")
    if result in ("double", "currency", "percent"):
        kw.update(precision=int(fdef.get("precision", 18)), scale=int(fdef.get("scale", 0)))
    if result == "string":
        kw["length"] = 1300
    return FieldSpec(
        name,
        result,
        label,
        createable=False,
        updateable=False,
        formula=text,
        formula_type=result,
        defaulted_on_create=False,
        **kw,
    )


_BUILDERS = {
    "checkbox": _checkbox,
    "boolean": _checkbox,
    "picklist": _picklist,
    "multipicklist": _picklist,
    "lookup": _reference,
    "reference": _reference,
    "masterdetail": _reference,
    "autonumber": _autonumber,
}


def format_auto_number(fmt: str, n: int) -> str:
    """``A-{0000}`` + 42 → ``A-0042``; ``{0}`` → ``42``."""

    def repl(m: re.Match[str]) -> str:
        return str(n).rjust(len(m.group(1)), "0")

    return re.sub(r"\{(0+)\}", repl, fmt)

"""Describe helpers shared by the mapping modules: type families, friendly names, lookups."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

Field = dict  # one entry of a describe's ``fields``

TEXT_TYPES = frozenset({"string", "textarea", "email", "phone", "url", "combobox", "encryptedstring"})
NUMBER_TYPES = frozenset({"int", "long", "double", "currency", "percent"})
AUDIT_FIELDS = ("CreatedDate", "CreatedById", "LastModifiedDate", "LastModifiedById", "SystemModstamp")
COMPOUND_NAME_OBJECTS = frozenset({"Contact", "Lead"})
# orgsync's own field on each subscribed object: the origin Id of the records it copied (the
# upsert key; replication.models.EXTERNAL_ID_FIELD — this package stays free of Django).
ORGSYNC_ID_FIELD = "OrgSync_Source_Id__c"

_TYPE_NAMES = {
    "string": "text",
    "textarea": "text area",
    "reference": "lookup",
    "boolean": "checkbox",
    "int": "number",
    "long": "number",
    "double": "number",
    "datetime": "date/time",
    "multipicklist": "multi-select picklist",
    "id": "record ID",
    "encryptedstring": "encrypted text",
    "address": "compound address",
    "location": "geolocation",
    "base64": "file (base64)",
}


def kind(field: Field) -> str:
    """The mapping family of a field: autonumber, text, number, picklist, multipicklist,
    reference, id, boolean, date, datetime, or its raw describe type."""
    if field.get("autoNumber"):
        return "autonumber"
    ftype = field.get("type", "")
    if ftype in TEXT_TYPES:
        return "text"
    if ftype in NUMBER_TYPES:
        return "number"
    return ftype


def type_name(field: Field) -> str:
    """How Setup names the field's type (``text``, ``lookup``, ``checkbox``…)."""
    if field.get("autoNumber"):
        return "auto-number"
    if field.get("calculated"):
        return "formula" if field.get("calculatedFormula") else "roll-up summary"
    if field.get("type") == "textarea" and field.get("htmlFormatted"):
        return "rich text area"
    ftype = field.get("type", "")
    return _TYPE_NAMES.get(ftype, ftype)


def is_text(field: Field) -> bool:
    return kind(field) == "text"


def is_orgsync_identity(field: Field) -> bool:
    """orgsync's record identity field, whatever the case it is written in."""
    return (field.get("name") or "").lower() == ORGSYNC_ID_FIELD.lower()


def is_writable(field: Field) -> bool:
    return bool(field.get("createable") or field.get("updateable"))


def length(field: Field) -> int:
    return int(field.get("length") or 0)


def integer_digits(field: Field) -> int:
    """Digits allowed before the decimal point (``int`` fields carry them in ``digits``)."""
    if field.get("type") in ("int", "long"):
        return int(field.get("digits") or field.get("precision") or 0)
    return int(field.get("precision") or 0) - int(field.get("scale") or 0)


def scale(field: Field) -> int:
    if field.get("type") in ("int", "long"):
        return 0
    return int(field.get("scale") or 0)


def active_values(field: Field) -> list[str]:
    """Active picklist values, in describe order."""
    return [p["value"] for p in field.get("picklistValues") or [] if p.get("active", True)]


def is_required(field: Field) -> bool:
    """The target must receive a value on create: not nillable, createable, no default."""
    return (
        not field.get("nillable", True)
        and bool(field.get("createable"))
        and not field.get("defaultedOnCreate")
        and field.get("type") != "boolean"
    )


class FieldIndex:
    """Case-insensitive access to a describe's fields, with "did you mean" suggestions."""

    def __init__(self, fields: Iterable[Field]) -> None:
        self.fields = list(fields)
        self._by_name = {f["name"].lower(): f for f in self.fields}

    def get(self, name: str | None) -> Field | None:
        return self._by_name.get(name.lower()) if name else None

    def suggest(self, name: str, limit: int = 3) -> list[str]:
        """Close API names, or the field whose label is ``name``."""
        wanted = name.strip().lower()
        by_label = [f["name"] for f in self.fields if (f.get("label") or "").lower() == wanted]
        close = difflib.get_close_matches(wanted, list(self._by_name), n=limit, cutoff=0.6)
        names = by_label + [self._by_name[c]["name"] for c in close]
        return list(dict.fromkeys(names))[:limit]


def did_you_mean(suggestions: list[str]) -> str:
    if not suggestions:
        return ""
    return " Did you mean " + " or ".join(suggestions) + "?"

"""Stored rows → wire rows: defaults for absent fields, formula values, REST output shape."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sfemu.schema import formula as formulas
from sfemu.schema.spec import FieldSpec, ObjectSpec

ADDRESS_KEYS = (
    "city",
    "country",
    "geocodeAccuracy",
    "latitude",
    "longitude",
    "postalCode",
    "state",
    "street",
)
_ADDRESS_PARTS = {
    "city": "City",
    "country": "Country",
    "geocodeAccuracy": "GeocodeAccuracy",
    "latitude": "Latitude",
    "longitude": "Longitude",
    "postalCode": "PostalCode",
    "state": "State",
    "street": "Street",
}


def address_prefix(spec: FieldSpec) -> str:
    return spec.name[: -len("Address")]


def address_value(spec: FieldSpec, row: dict[str, Any]) -> dict[str, Any] | None:
    """The compound address of ``row`` (None when every part is empty)."""
    prefix = address_prefix(spec)
    value = {key: row.get(prefix + part) for key, part in _ADDRESS_PARTS.items()}
    return value if any(v is not None for v in value.values()) else None


class RowShaper:
    """Per-object helper turning stored JSON into full wire rows."""

    def __init__(self, obj: ObjectSpec) -> None:
        self.obj = obj
        self.template: dict[str, Any] = {}
        for f in obj.fields:
            default = None
            if f.type == "boolean" and not f.calculated:
                default = bool(f.default_value)
            self.template[f.name] = default
        self.template.setdefault("IsDeleted", False)
        self.formulas = [(f, formulas.parse(f.formula)) for f in obj.fields if f.formula]
        self.blobs = [f.name for f in obj.fields if f.type == "base64"]

    def full(self, stored: dict[str, Any], *, today: Callable | None = None) -> dict[str, Any]:
        """Every field of the object, formulas evaluated."""
        row = {**self.template, **stored}
        for spec, node in self.formulas:
            try:
                value = formulas.Evaluator(row, today=today).eval(node)
            except (TypeError, ValueError, ZeroDivisionError, KeyError, IndexError):
                value = None
            row[spec.name] = _formula_result(spec, value)
        return row

    def blob_url(self, record_id: str, field: str, api_version: str) -> str:
        return f"/services/data/v{api_version}/sobjects/{self.obj.name}/{record_id}/{field}"

    def rest(
        self, row: dict[str, Any], api_version: str, fields: list[FieldSpec] | None = None
    ) -> dict[str, Any]:
        """REST record JSON: attributes first, then fields (describe order by default)."""
        rid = row["Id"]
        out: dict[str, Any] = {
            "attributes": {
                "type": self.obj.name,
                "url": f"/services/data/v{api_version}/sobjects/{self.obj.name}/{rid}",
            }
        }
        for spec in fields if fields is not None else self.obj.fields:
            value = row.get(spec.name)
            if spec.type == "base64" and value is not None:
                value = self.blob_url(rid, spec.name, api_version)
            out[spec.name] = value
        return out


def _formula_result(spec: FieldSpec, value: Any) -> Any:
    if value is None:
        return False if spec.value_type == "boolean" else None
    kind = spec.value_type
    if kind == "boolean":
        return bool(value)
    if kind in ("double", "currency", "percent"):
        try:
            return round(float(value), spec.scale)
        except (TypeError, ValueError):
            return None
    if kind == "string":
        text = formulas._text(value)
        return text[:1300] if text else None
    return value

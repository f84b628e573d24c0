"""Coercion of incoming field values to wire format, with Salesforce's error wording.

REST bodies are JSON, so a value of the wrong JSON type fails like Salesforce's JSON parser
(``JSON_PARSER_ERROR``); Bulk CSV values are strings and fail per record
(``INVALID_TYPE_ON_FIELD_IN_RECORD``). Length, email, picklist and range checks are DML
errors with the field's label in the message.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from sfemu import ids
from sfemu.errors import SalesforceError
from sfemu.schema.spec import FieldSpec
from sfemu.timeutil import format_date, normalize_datetime, parse_date

_EMAIL_RE = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
_TIME_RE = re.compile(r"^(\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,3}))?)?Z?$")
_JSON_KIND = {
    "double": "double",
    "currency": "double",
    "percent": "double",
    "int": "int",
    "long": "long",
    "boolean": "boolean",
    "date": "date",
    "datetime": "datetime",
    "time": "time",
    "string": "String",
}
STRINGISH = frozenset(
    {
        "string",
        "textarea",
        "email",
        "phone",
        "url",
        "picklist",
        "multipicklist",
        "combobox",
        "encryptedstring",
        "id",
        "reference",
        "base64",
    }
)


def _token(value: Any) -> tuple[str, str]:
    if isinstance(value, bool):
        return ("VALUE_TRUE" if value else "VALUE_FALSE"), ("true" if value else "false")
    if isinstance(value, int):
        return "VALUE_NUMBER_INT", str(value)
    if isinstance(value, float):
        return "VALUE_NUMBER_FLOAT", repr(value)
    if isinstance(value, dict):
        return "START_OBJECT", "{"
    if isinstance(value, list):
        return "START_ARRAY", "["
    return "VALUE_STRING", str(value)


def type_error(spec: FieldSpec, value: Any, input_format: str) -> SalesforceError:
    """The error for a value that cannot be read as the field's type."""
    if input_format == "csv":
        return SalesforceError(
            "INVALID_TYPE_ON_FIELD_IN_RECORD",
            f"{spec.label}: value not of required type: {value}",
            fields=[spec.name],
        )
    token, text = _token(value)
    kind = _JSON_KIND.get(spec.value_type, "String")
    return SalesforceError(
        "JSON_PARSER_ERROR",
        f"Cannot deserialize instance of {kind} from {token} value {text} "
        "or request may be missing a required field",
    )


def coerce(spec: FieldSpec, value: Any, *, input_format: str = "json") -> Any:
    """Wire-format value for ``spec`` or a SalesforceError. ``None`` stays ``None``."""
    if value is None:
        return False if spec.type == "boolean" else None
    kind = spec.type
    if kind in STRINGISH:
        return _coerce_text(spec, value, input_format)
    if kind == "boolean":
        return _coerce_bool(spec, value, input_format)
    if kind in ("double", "currency", "percent", "int", "long"):
        return _coerce_number(spec, value, input_format)
    if kind == "date":
        return _coerce_date(spec, value, input_format)
    if kind == "datetime":
        return _coerce_datetime(spec, value, input_format)
    if kind == "time":
        return _coerce_time(spec, value, input_format)
    return value


def _as_text(spec: FieldSpec, value: Any, input_format: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    raise type_error(spec, value, input_format)


def _coerce_text(spec: FieldSpec, value: Any, input_format: str) -> str | None:
    text = _as_text(spec, value, input_format)
    if text == "":
        return None
    if spec.type in ("id", "reference"):
        return text  # checked by the org, which knows the targets
    if spec.type == "base64":
        return _check_base64(spec, text, input_format)
    if spec.type == "multipicklist":
        return _coerce_multi(spec, text)
    if spec.type == "picklist" and spec.restricted_picklist:
        check_picklist(spec, text)
    if spec.type == "email" and not _EMAIL_RE.match(text):
        raise SalesforceError(
            "INVALID_EMAIL_ADDRESS",
            f"{spec.label}: invalid email address: {text}",
            fields=[spec.name],
        )
    if spec.length and len(text) > spec.length:
        raise SalesforceError(
            "STRING_TOO_LONG",
            f"{spec.label}: data value too large: {text} (max length={spec.length})",
            fields=[spec.name],
        )
    return text


def check_picklist(spec: FieldSpec, text: str) -> None:
    """Restricted picklists accept only their active values (case-sensitive)."""
    if not any(p.value == text and p.active for p in spec.picklist):
        raise SalesforceError(
            "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
            f"{spec.label}: bad value for restricted picklist field: {text}",
            fields=[spec.name],
        )


def _coerce_multi(spec: FieldSpec, text: str) -> str | None:
    parts = [p.strip() for p in text.split(";") if p.strip()]
    unique: list[str] = []
    for part in parts:
        if spec.restricted_picklist:
            check_picklist(spec, part)
        if part not in unique:
            unique.append(part)
    return ";".join(unique) or None


def _check_base64(spec: FieldSpec, text: str, input_format: str) -> str:
    try:
        base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise type_error(spec, text, input_format) from None
    return text


def _coerce_bool(spec: FieldSpec, value: Any, input_format: str) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str):
        lowered = value.strip().lower()
        csv = input_format == "csv"
        if lowered == "true" or (csv and lowered == "1"):
            return True
        if lowered in ("false", "") or (csv and lowered == "0"):
            return False
    raise type_error(spec, value, input_format)


def _coerce_number(spec: FieldSpec, value: Any, input_format: str) -> int | float | None:
    if isinstance(value, bool):
        raise type_error(spec, value, input_format)
    if isinstance(value, str):
        if value.strip() == "":
            return None
        try:
            number = Decimal(value.strip())
        except InvalidOperation:
            raise type_error(spec, value, input_format) from None
    elif isinstance(value, int | float):
        if isinstance(value, float) and not math.isfinite(value):
            raise type_error(spec, value, input_format)
        number = Decimal(str(value))
    else:
        raise type_error(spec, value, input_format)
    if spec.type in ("int", "long"):
        if number != number.to_integral_value():
            raise type_error(spec, value, input_format)
        limit = 10 ** (spec.digits or 18)
        if abs(number) >= limit:
            raise _out_of_range(spec, value)
        return int(number)
    scale = spec.scale
    rounded = number.quantize(Decimal(1).scaleb(-scale), rounding=ROUND_HALF_UP)
    integer_digits = (spec.precision or 18) - scale
    if abs(rounded) >= Decimal(10) ** integer_digits:
        raise _out_of_range(spec, value)
    return float(rounded)


def _out_of_range(spec: FieldSpec, value: Any) -> SalesforceError:
    return SalesforceError(
        "NUMBER_OUTSIDE_VALID_RANGE",
        f"{spec.label}: value outside of valid range on numeric field: {value}",
        fields=[spec.name],
    )


def _coerce_date(spec: FieldSpec, value: Any, input_format: str) -> str:
    if not isinstance(value, str):
        raise type_error(spec, value, input_format)
    try:
        return format_date(parse_date(value))
    except ValueError:
        raise type_error(spec, value, input_format) from None


def _coerce_datetime(spec: FieldSpec, value: Any, input_format: str) -> str:
    if not isinstance(value, str):
        raise type_error(spec, value, input_format)
    try:
        return normalize_datetime(value)
    except ValueError:
        raise type_error(spec, value, input_format) from None


def _coerce_time(spec: FieldSpec, value: Any, input_format: str) -> str:
    m = _TIME_RE.match(value.strip()) if isinstance(value, str) else None
    if not m:
        raise type_error(spec, value, input_format)
    hh, mm, ss, ms = m.groups()
    if int(hh) > 23 or int(mm) > 59 or int(ss or 0) > 59:
        raise type_error(spec, value, input_format)
    return f"{hh}:{mm}:{ss or '00'}.{(ms or '0').ljust(3, '0')}Z"


def normalize_reference(spec: FieldSpec, value: str) -> str:
    """Canonical 18-char id of a lookup value, or MALFORMED_ID."""
    canonical = ids.normalize(value)
    if canonical is None:
        raise ids.malformed_id(spec.label, value, spec.name)
    return canonical

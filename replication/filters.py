"""Record filters: conditions joined by AND, validated against a describe, compiled to SOQL
and evaluated in Python with the same semantics.

Values never reach SOQL as raw text: every value is parsed for the field's type first and
written back as a literal we format ourselves (quoted and escaped strings, canonical numbers,
dates and datetimes), and field names come from the describe, not from the user.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

__all__ = [
    "OPERATORS",
    "Condition",
    "FilterError",
    "InvalidFilter",
    "compile_where",
    "filter_fields",
    "id18",
    "matches",
    "validate",
]

EQUALS, NOT_EQUALS = "equals", "not_equals"
GREATER_THAN, LESS_THAN = "greater_than", "less_than"
CONTAINS, STARTS_WITH = "contains", "starts_with"
IS_BLANK, IS_NOT_BLANK, IN_LIST = "is_blank", "is_not_blank", "in_list"
_COMPARISONS = (EQUALS, NOT_EQUALS, GREATER_THAN, LESS_THAN)
OPERATORS = (*_COMPARISONS, CONTAINS, STARTS_WITH, IS_BLANK, IS_NOT_BLANK, IN_LIST)
_NO_VALUE = frozenset({IS_BLANK, IS_NOT_BLANK})

# Families of describe types, and the operators each accepts.
_KINDS = {
    **dict.fromkeys(("string", "textarea", "email", "phone", "url", "combobox", "encryptedstring"), "text"),
    **dict.fromkeys(("int", "long", "double", "currency", "percent"), "number"),
    **dict.fromkeys(("id", "reference"), "id"),
    "picklist": "picklist",
    "multipicklist": "multipicklist",
    "boolean": "boolean",
    "date": "date",
    "datetime": "datetime",
}
_ORDERED = (*_COMPARISONS, IS_BLANK, IS_NOT_BLANK, IN_LIST)
_ALLOWED = {
    "text": OPERATORS,
    "picklist": (EQUALS, NOT_EQUALS, CONTAINS, STARTS_WITH, IS_BLANK, IS_NOT_BLANK, IN_LIST),
    "multipicklist": (EQUALS, NOT_EQUALS, CONTAINS, IS_BLANK, IS_NOT_BLANK, IN_LIST),
    "id": (EQUALS, NOT_EQUALS, IS_BLANK, IS_NOT_BLANK, IN_LIST),
    "number": _ORDERED,
    "date": _ORDERED,
    "datetime": _ORDERED,
    "boolean": (EQUALS, NOT_EQUALS),
}
_KIND_NAMES = {
    "multipicklist": "multi-select picklist",
    "id": "ID/lookup",
    "datetime": "date/time",
    "boolean": "checkbox",
}
_SOQL_OPS = {EQUALS: "=", NOT_EQUALS: "!=", GREATER_THAN: ">", LESS_THAN: "<"}
_ESCAPES = {c: "\\" + e for c, e in zip("\\'\"\n\r\t\b\f", "\\'\"nrtbf", strict=True)}
_LIKE_ESCAPES = {**_ESCAPES, "%": "\\%", "_": "\\_"}
_CONTROL = re.compile(r"[\x00-\x07\x0b\x0e-\x1f\x7f]")
_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_DATETIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,3})?(Z|[+-]\d{2}:\d{2})")
_ID = re.compile(r"[0-9A-Za-z]{15}([0-9A-Za-z]{3})?")
_ID_SUFFIX = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"


@dataclass(frozen=True)
class Condition:
    """``field operator value``; ``value`` is a list for in_list and None for the blank tests."""

    field: str
    operator: str
    value: str | list[str] | None = None


@dataclass(frozen=True)
class FilterError:
    """What is wrong with the condition at ``field_index`` (0-based), and how to fix it."""

    field_index: int
    message: str


class InvalidFilter(ValueError):
    """A filter that doesn't validate can't be compiled or evaluated."""

    def __init__(self, errors: list[FilterError]) -> None:
        super().__init__("; ".join(f"condition {e.field_index + 1}: {e.message}" for e in errors))
        self.errors = errors


@dataclass(frozen=True)
class _Resolved:
    """A validated condition: the describe field, its family and the parsed values."""

    name: str
    kind: str
    operator: str
    values: tuple[Any, ...]  # parsed; () for the blank tests, (None,) for "equals null"


# ----------------------------------------------------------------------------- validation
def validate(conditions: Sequence[Condition], describe: dict) -> list[FilterError]:
    """Every problem of ``conditions`` against the object's describe (empty = valid)."""
    fields = {f["name"].lower(): f for f in describe.get("fields", [])}
    errors: list[FilterError] = []
    for index, cond in enumerate(conditions):
        try:
            _resolve(cond, fields, describe.get("name", "the object"))
        except _Problem as problem:
            errors.append(FilterError(index, str(problem)))
    return errors


class _Problem(Exception):
    pass


def _resolve(cond: Condition, fields: dict[str, dict], object_name: str) -> _Resolved:
    field = fields.get((cond.field or "").strip().lower())
    if field is None:
        raise _Problem(_unknown_field(cond.field, fields, object_name))
    name = field["name"]
    kind = _KINDS.get(field.get("type", ""))
    if kind is None:
        raise _Problem(
            f"{name} is a {field.get('type')} field, which filters don't support: pick another field."
        )
    if not field.get("filterable", True):
        raise _Problem(
            f"{name} can't be filtered in Salesforce queries (long text, encrypted…): pick another field."
        )
    if cond.operator not in OPERATORS:
        raise _Problem(f"Unknown operator '{cond.operator}': use one of {', '.join(OPERATORS)}.")
    if cond.operator not in _ALLOWED[kind]:
        allowed, kind_name = ", ".join(_ALLOWED[kind]), _KIND_NAMES.get(kind, kind)
        raise _Problem(f"'{cond.operator}' doesn't apply to {name}, a {kind_name} field: use {allowed}.")
    return _Resolved(name, kind, cond.operator, _parse_values(cond, name, kind))


def _unknown_field(given: str, fields: dict[str, dict], object_name: str) -> str:
    wanted = (given or "").strip().lower()
    by_label = [f["name"] for f in fields.values() if (f.get("label") or "").lower() == wanted]
    close = [fields[c]["name"] for c in difflib.get_close_matches(wanted, list(fields), n=3, cutoff=0.6)]
    names = list(dict.fromkeys(by_label + close))[:3]
    hint = f" Did you mean {' or '.join(names)}?" if names else ""
    return f"{object_name} has no field '{given}'.{hint}"


def _parse_values(cond: Condition, name: str, kind: str) -> tuple[Any, ...]:
    op, value = cond.operator, cond.value
    if op in _NO_VALUE:
        if value not in (None, "", []):
            raise _Problem(f"'{op}' on {name} takes no value: remove the value, or use equals.")
        return ()
    if op == IN_LIST:
        if not isinstance(value, list | tuple) or not value:
            raise _Problem(f"'in_list' on {name} needs a list of one or more values.")
        return tuple(_parse_one(v, name, kind, op) for v in value)
    if isinstance(value, list | tuple):
        raise _Problem(f"'{op}' on {name} takes one value; use in_list for several.")
    if value is None or value == "":
        if op in (EQUALS, NOT_EQUALS) and kind != "boolean":
            return (None,)
        raise _Problem(f"'{op}' on {name} needs a value.")
    return (_parse_one(value, name, kind, op),)


def _parse_one(value: Any, name: str, kind: str, op: str) -> Any:
    if not isinstance(value, str):
        raise _Problem(f"Values for {name} must be given as text, got {type(value).__name__}.")
    if value == "" and op == IN_LIST:
        raise _Problem(
            f"in_list on {name} contains an empty value: remove it, or add 'is_blank' as another filter."
        )
    return _PARSERS[kind](value, name)


def _text(value: str, name: str) -> str:
    if _CONTROL.search(value):
        raise _Problem(f"The value for {name} contains a control character: remove it.")
    return value


def _number(value: str, name: str) -> Decimal:
    text = value.strip()
    if not _NUMBER.fullmatch(text):
        raise _Problem(
            f"{name} is a number: give a value like 1000 or -12.5 (no thousands separators), not '{value}'."
        )
    return Decimal(text)


def _boolean(value: str, name: str) -> bool:
    text = value.strip().lower()
    if text not in ("true", "false"):
        raise _Problem(f"{name} is a checkbox: give true or false, not '{value}'.")
    return text == "true"


def _date(value: str, name: str) -> date:
    text = value.strip()
    try:
        if _DATE.fullmatch(text):
            return date.fromisoformat(text)
    except ValueError:
        pass
    raise _Problem(f"{name} is a date: give it as YYYY-MM-DD, e.g. 2024-01-31, not '{value}'.")


def _datetime(value: str, name: str) -> datetime:
    text = value.strip()
    try:
        if _DATETIME.fullmatch(text):
            return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        pass
    raise _Problem(
        f"{name} is a date/time: give it in ISO 8601 with a time zone, e.g. 2024-01-31T12:00:00Z "
        f"or 2024-01-31T14:00:00+02:00, not '{value}'."
    )


def _id(value: str, name: str) -> str:
    normalized = id18(value.strip())
    if normalized is None:
        raise _Problem(f"{name} needs a Salesforce record ID of 15 or 18 characters, not '{value}'.")
    return normalized


_PARSERS: dict[str, Callable[[str, str], Any]] = {
    "text": _text,
    "picklist": _text,
    "multipicklist": _text,
    "number": _number,
    "boolean": _boolean,
    "date": _date,
    "datetime": _datetime,
    "id": _id,
}


def id18(value: str) -> str | None:
    """The 18-character form of a 15/18-character record ID, None if it isn't one
    (an 18-character ID whose suffix doesn't match its letters' case is not one)."""
    if not _ID.fullmatch(value):
        return None
    head = value[:15] if len(value) == 15 else _recase(value)
    if head is None:
        return None
    suffix = ""
    for start in (0, 5, 10):
        bits = sum(1 << i for i, c in enumerate(head[start : start + 5]) if "A" <= c <= "Z")
        suffix += _ID_SUFFIX[bits]
    return head + suffix


def _recase(value: str) -> str | None:
    """The case-sensitive 15-char head of an 18-char ID (18-char IDs are case-insensitive)."""
    chars = list(value[:15])
    for block, code in enumerate(value[15:].upper()):
        bits = _ID_SUFFIX.find(code)
        if bits < 0:
            return None
        for i in range(5):
            c = chars[block * 5 + i]
            if bits & (1 << i) and not c.isalpha():
                return None
            chars[block * 5 + i] = c.upper() if bits & (1 << i) else c.lower()
    return "".join(chars)


def _resolve_all(conditions: Sequence[Condition], describe: dict) -> list[_Resolved]:
    errors = validate(conditions, describe)
    if errors:
        raise InvalidFilter(errors)
    fields = {f["name"].lower(): f for f in describe.get("fields", [])}
    return [_resolve(c, fields, describe.get("name", "")) for c in conditions]


def filter_fields(conditions: Sequence[Condition], describe: dict) -> list[str]:
    """Canonical names of the fields the filter reads (capture must select them for ``matches``)."""
    return list(dict.fromkeys(r.name for r in _resolve_all(conditions, describe)))


# -------------------------------------------------------------------------------- SOQL
def compile_where(conditions: Sequence[Condition], describe: dict) -> str:
    """The SOQL WHERE fragment (without "WHERE") of the filter; "" when there is none.

    Raises :class:`InvalidFilter` when :func:`validate` finds problems.
    """
    return " AND ".join(_soql(r) for r in _resolve_all(conditions, describe))


def _soql(r: _Resolved) -> str:
    if r.operator == IS_BLANK:
        return f"{r.name} = null"
    if r.operator == IS_NOT_BLANK:
        return f"{r.name} != null"
    if r.operator in _SOQL_OPS:
        return f"{r.name} {_SOQL_OPS[r.operator]} {_literal(r.kind, r.values[0])}"
    if r.kind == "multipicklist":  # contains / in_list: the record has (any of) the value(s)
        return f"{r.name} INCLUDES ({', '.join(_quote(v) for v in r.values)})"
    if r.operator == IN_LIST:
        return f"{r.name} IN ({', '.join(_literal(r.kind, v) for v in r.values)})"
    pattern = _escape(r.values[0], _LIKE_ESCAPES)
    return f"{r.name} LIKE '%{pattern}%'" if r.operator == CONTAINS else f"{r.name} LIKE '{pattern}%'"


def _literal(kind: str, value: Any) -> str:
    if value is None:
        return "null"
    if kind == "number":
        return format(value, "f")
    if kind == "boolean":
        return "true" if value else "false"
    if kind == "date":
        return value.isoformat()
    if kind == "datetime":
        millis = f".{value.microsecond // 1000:03d}" if value.microsecond else ""
        return value.strftime("%Y-%m-%dT%H:%M:%S") + millis + "Z"
    return _quote(value)


def _quote(value: str) -> str:
    return "'" + _escape(value, _ESCAPES) + "'"


def _escape(value: str, table: dict[str, str]) -> str:
    return "".join(table.get(c, c) for c in value)


# ------------------------------------------------------------------------------- Python
def matches(conditions: Sequence[Condition], record: dict, describe: dict) -> bool:
    """Whether a captured record (REST JSON values) passes the filter, with SOQL's semantics:
    text compares case-insensitively and '' is blank, not_equals includes blanks, greater/less
    and contains never match a blank. Raises KeyError when the record lacks a filtered field
    (capture must select :func:`filter_fields`)."""
    values = {k.lower(): v for k, v in record.items()}
    for r in _resolve_all(conditions, describe):
        if r.name.lower() not in values:
            raise KeyError(f"the record has no {r.name}: select it when capturing")
        if not _passes(r, values[r.name.lower()]):
            return False
    return True


def _passes(r: _Resolved, raw: Any) -> bool:
    key = _KEYS[r.kind](raw)
    op = r.operator
    if op in (IS_BLANK, IS_NOT_BLANK):
        return (key is None) == (op == IS_BLANK)
    if r.kind == "multipicklist" and op in (CONTAINS, IN_LIST):
        return key is not None and any(_multi_key(v) <= key for v in r.values)
    if op in (CONTAINS, STARTS_WITH):
        if key is None:
            return False
        found = re.compile(re.escape(r.values[0]), re.IGNORECASE | re.DOTALL)
        return bool(found.search(str(raw)) if op == CONTAINS else found.match(str(raw)))
    wanted = [_KEYS[r.kind](v) for v in r.values]
    if op == IN_LIST:
        return key is not None and key in wanted
    if op == EQUALS:
        return key == wanted[0]
    if op == NOT_EQUALS:
        return key != wanted[0]
    if key is None:
        return False
    return key > wanted[0] if op == GREATER_THAN else key < wanted[0]


def _text_key(value: Any) -> str | None:
    return None if value is None or value == "" else str(value).casefold()


def _multi_key(value: Any) -> frozenset[str] | None:
    parts = frozenset(p.strip().casefold() for p in str(value or "").split(";") if p.strip())
    return parts or None


def _id_key(value: Any) -> str | None:
    return None if value is None or value == "" else id18(str(value)) or str(value)


def _number_key(value: Any) -> Decimal | None:
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return Decimal(str(value))
    except InvalidOperation:
        return None


def _boolean_key(value: Any) -> bool | None:
    return value.lower() == "true" if isinstance(value, str) else None if value is None else bool(value)


def _date_key(value: Any) -> date | None:
    if value is None or value == "":
        return None
    return value if isinstance(value, date) else date.fromisoformat(str(value)[:10])


def _datetime_key(value: Any) -> datetime | None:
    if value is None or value == "":
        return None
    if not isinstance(value, datetime):
        value = datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    return value.astimezone(UTC)


_KEYS: dict[str, Callable[[Any], Any]] = {
    "text": _text_key,
    "picklist": _text_key,
    "multipicklist": _multi_key,
    "id": _id_key,
    "number": _number_key,
    "boolean": _boolean_key,
    "date": _date_key,
    "datetime": _datetime_key,
}

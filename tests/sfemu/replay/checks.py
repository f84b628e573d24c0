"""Independent checks of Salesforce wire formats (written from the reference, not from sfemu).

``shared/reference/salesforce-api.md`` §4.1 (id checksum) and §4.3 (datetime format).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

_CHECKSUM_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ012345"
ID18 = re.compile(r"^[a-zA-Z0-9]{18}$")
ID_LIKE = re.compile(r"^[a-zA-Z0-9]{3}[a-zA-Z0-9]{12}(?:[A-Z0-5]{3})?$")
SF_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+0000$")
SF_DATE = re.compile(r"^\d{4}-\d\d-\d\d$")
JSON_CONTENT_TYPE = "application/json;charset=UTF-8"
LIMIT_INFO = re.compile(r"^api-usage=(\d+)/(\d+)(?:; per-app-api-usage=\d+/\d+\(appName=[^)]*\))?$")


def checksum(id15: str) -> str:
    """The 3-char case-safe suffix of a 15-char id."""
    suffix = ""
    for start in (0, 5, 10):
        chunk = id15[start : start + 5]
        n = sum(1 << i for i, c in enumerate(chunk) if "A" <= c <= "Z")
        suffix += _CHECKSUM_ALPHABET[n]
    return suffix


def valid_id18(value: Any) -> bool:
    return isinstance(value, str) and bool(ID18.match(value)) and checksum(value[:15]) == value[15:]


def looks_like_id18(value: Any) -> bool:
    """An 18-char value whose last 3 chars could be a checksum (upper-case letters or 0-5)."""
    return isinstance(value, str) and len(value) == 18 and bool(ID_LIKE.match(value))


def walk(value: Any, path: str = "$") -> Iterator[tuple[str, Any]]:
    """Every (json-path, scalar) in a JSON document."""
    if isinstance(value, dict):
        for key, item in value.items():
            yield from walk(item, f"{path}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from walk(item, f"{path}[{i}]")
    else:
        yield path, value


def id_fields(doc: Any) -> Iterator[tuple[str, str]]:
    """(path, value) of every value in ``doc`` that sits where Salesforce puts an 18-char id."""
    for path, value in walk(doc):
        key = path.rsplit(".", 1)[-1]
        if not isinstance(value, str):
            continue
        if key in ("id", "Id") or (key.endswith("Id") and len(value) == 18) or key == "recordTypeId":
            yield path, value


def bad_checksums(doc: Any) -> list[tuple[str, str]]:
    """Ids in ``doc`` (18 chars, id-like keys) whose checksum is wrong."""
    return [(p, v) for p, v in id_fields(doc) if len(v) == 18 and not valid_id18(v)]


def datetime_values(doc: Any) -> Iterator[tuple[str, str]]:
    """(path, value) of strings that look like datetimes (contain ``T`` between a date and a time)."""
    for path, value in walk(doc):
        if isinstance(value, str) and re.match(r"^\d{4}-\d\d-\d\dT\d\d:\d\d", value):
            yield path, value

"""Salesforce to Salesforce's data type matching rules for one source → target field pair.

"The mapping enforces field type, dimension and precision": text into text of equal or greater
length, lookups into text of 80+ characters (or a lookup to the mapped object), auto-numbers
into text of 30+ characters, numbers that fit, picklists into picklists or text, and the
remaining types only into themselves.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from replication.mapping import fields as f
from replication.mapping.fields import Field

ERROR, WARNING = "error", "warning"
LOOKUP_TEXT_LENGTH = 80
AUTO_NUMBER_TEXT_LENGTH = 30
ID_TEXT_LENGTH = 18
MAX_TEXT_LENGTH = 255  # a Text field; longer needs a Text Area (Long)


@dataclass(frozen=True)
class Finding:
    """One problem of a mapping: ``level`` is "error" (records will fail or the mapping is
    refused) or "warning" (some records may fail or lose data)."""

    level: str
    code: str
    source_field: str | None
    target_field: str | None
    message: str


def _error(code: str, source: Field, target: Field, message: str) -> list[Finding]:
    return [Finding(ERROR, code, source.get("name"), target.get("name"), message)]


def _type_mismatch(source: Field, target: Field, allowed: str) -> list[Finding]:
    s, t = source["name"], target["name"]
    return _error(
        "TYPE_MISMATCH",
        source,
        target,
        f"Source {s} is {_a(f.type_name(source))} field, target {t} is {_a(f.type_name(target))} "
        f"field: {f.type_name(source)} maps only to {allowed}. Map {s} to such a field or unmap it.",
    )


def _a(word: str) -> str:
    return ("an " if word[:1] in "aeiou" else "a ") + word


def _text_length(source: Field, target: Field, needed: int, why: str) -> list[Finding]:
    have = f.length(target)
    if have >= needed:
        return []
    s, t = source["name"], target["name"]
    widen = f"widen {t} to {needed}"
    if target.get("type") == "string" and needed > MAX_TEXT_LENGTH:
        widen = f"make {t} a long text area of {needed}"
    return _error(
        "TEXT_TOO_SHORT",
        source,
        target,
        f"Target {t} holds {have} characters, source {s} {why} {needed}: {widen} or map another field.",
    )


def _text(source: Field, target: Field, mapped: Mapping[str, str]) -> list[Finding]:
    if not f.is_text(target):
        return _type_mismatch(source, target, "a text field")
    return _text_length(source, target, f.length(source), "up to")


def _auto_number(source: Field, target: Field, mapped: Mapping[str, str]) -> list[Finding]:
    if not f.is_text(target):
        return _type_mismatch(source, target, "a text field of 30 or more characters")
    needed = max(AUTO_NUMBER_TEXT_LENGTH, f.length(source))
    return _text_length(source, target, needed, "is an auto-number, which needs")


def _id(source: Field, target: Field, mapped: Mapping[str, str]) -> list[Finding]:
    if not f.is_text(target):
        return _type_mismatch(
            source, target, "a text field of 18 or more characters (ideally an external ID)"
        )
    return _text_length(source, target, ID_TEXT_LENGTH, "is a record ID, which needs")


def _reference(source: Field, target: Field, mapped: Mapping[str, str]) -> list[Finding]:
    if f.is_text(target):
        return _text_length(source, target, LOOKUP_TEXT_LENGTH, "is a lookup; copied as text it needs")
    if target.get("type") != "reference":
        return _type_mismatch(source, target, "a lookup or a text field of 80 or more characters")
    expected = expected_targets(source, mapped)
    if set(target.get("referenceTo") or []) & set(expected):
        return []
    s, t = source["name"], target["name"]
    points = "/".join(target.get("referenceTo") or []) or "nothing"
    return _error(
        "LOOKUP_OBJECT_MISMATCH",
        source,
        target,
        f"Source {s} looks up {'/'.join(expected)} in the target org, but target {t} looks up "
        f"{points}: map {s} to a lookup to {' or '.join(expected)}.",
    )


def expected_targets(source: Field, mapped: Mapping[str, str]) -> list[str]:
    """Target objects a source lookup's records become: each referenced object through the
    object mapping, or the same name when that object isn't mapped."""
    return list(dict.fromkeys(mapped.get(obj, obj) for obj in source.get("referenceTo") or []))


def _number(source: Field, target: Field, mapped: Mapping[str, str]) -> list[Finding]:
    if f.kind(target) != "number":
        return _type_mismatch(source, target, "a number, currency or percent field")
    s, t = source["name"], target["name"]
    s_int, t_int = f.integer_digits(source), f.integer_digits(target)
    s_scale, t_scale = f.scale(source), f.scale(target)
    out: list[Finding] = []
    if t_int < s_int:
        precision = s_int + t_scale
        out += _error(
            "NUMBER_TOO_LARGE",
            source,
            target,
            f"Target {t} allows {t_int} digits before the decimal point, source {s} up to {s_int}: "
            f"larger values fail with NUMBER_OUTSIDE_VALID_RANGE. Raise {t}'s precision to {precision} "
            "or map another field.",
        )
    if t_scale < s_scale:
        example = "1." + "2" * s_scale
        rounded = f"{float(example):.{t_scale}f}"
        out += _error(
            "SCALE_TRUNCATED",
            source,
            target,
            f"Target {t} keeps {t_scale} decimal places, source {s} has {s_scale}: {example} would be "
            f"stored as {rounded}. Set {t}'s scale to {s_scale} (precision {max(s_int, t_int) + s_scale}) "
            "or map another field.",
        )
    return out


def _picklist(source: Field, target: Field, mapped: Mapping[str, str]) -> list[Finding]:
    if target.get("type") in ("picklist", "multipicklist"):
        return []
    if not f.is_text(target):
        return _type_mismatch(source, target, "a picklist or a text field")
    return _longest_value_fits(source, target)


def _multipicklist(source: Field, target: Field, mapped: Mapping[str, str]) -> list[Finding]:
    if target.get("type") == "multipicklist":
        return []
    if target.get("type") == "picklist":
        s, t = source["name"], target["name"]
        return _error(
            "MULTI_INTO_SINGLE_PICKLIST",
            source,
            target,
            f"Source {s} allows several values, target {t} only one: records with two or more "
            f"values selected would fail. Map {s} to a multi-select picklist or a long text field.",
        )
    if not f.is_text(target):
        return _type_mismatch(source, target, "a multi-select picklist or a text field")
    return _longest_value_fits(source, target)


def _longest_value_fits(source: Field, target: Field) -> list[Finding]:
    values = f.active_values(source)
    longest = max((len(v) for v in values), default=0)
    return _text_length(source, target, longest, "has values up to") if longest else []


def _same_type(allowed: str) -> Callable[[Field, Field, Mapping[str, str]], list[Finding]]:
    def check(source: Field, target: Field, mapped: Mapping[str, str]) -> list[Finding]:
        if target.get("type") == source.get("type") and not target.get("autoNumber"):
            return []
        return _type_mismatch(source, target, allowed)

    return check


_RULES: dict[str, Callable[[Field, Field, Mapping[str, str]], list[Finding]]] = {
    "text": _text,
    "autonumber": _auto_number,
    "id": _id,
    "reference": _reference,
    "number": _number,
    "picklist": _picklist,
    "multipicklist": _multipicklist,
    "boolean": _same_type("a checkbox"),
    "date": _same_type("a date field"),
    "datetime": _same_type("a date/time field"),
    "time": _same_type("a time field"),
}


def check_mapping(
    source_field: Field, target_field: Field, *, target_object_mapped: Mapping[str, str]
) -> list[Finding]:
    """S2S data type matching for one pair; every violation is an "error" Finding.

    ``target_object_mapped`` maps source object names to the target objects they are
    subscribed as; a lookup may point at the object its referenced object is mapped to.
    Nothing maps onto orgsync's own identity field (OrgSync_Source_Id__c).
    """
    if f.is_orgsync_identity(target_field):
        s, t = source_field.get("name"), target_field.get("name")
        return _error(
            "TARGET_ORGSYNC_IDENTITY",
            source_field,
            target_field,
            f"Target {t} is orgsync's own record identity: it holds the origin Id of the records "
            f"orgsync copied and is written only by orgsync. Map {s} to another field or unmap it.",
        )
    rule = _RULES.get(f.kind(source_field))
    if rule is None:
        rule = _same_type(f"{_a(f.type_name(source_field))} field")
    return rule(source_field, target_field, target_object_mapped)

"""Validation rules: declarative (field + condition + value) or a formula that flags errors.

A rule "fires" (the save fails with FIELD_CUSTOM_VALIDATION_EXCEPTION) when its condition
is true, exactly like a Salesforce validation rule formula.
"""

from __future__ import annotations

import re
from typing import Any

from sfemu.errors import SalesforceError
from sfemu.schema import formula as formulas

CONDITIONS = (
    "blank",
    "not_blank",
    "eq",
    "ne",
    "lt",
    "le",
    "gt",
    "ge",
    "matches",
    "not_matches",
    "longer_than",
    "changed",
    "formula",
)


def check_definition(rule: dict[str, Any]) -> None:
    if not rule.get("message"):
        raise SalesforceError("INVALID_FIELD", "validation rule needs a message")
    if rule.get("formula"):
        formulas.parse(rule["formula"])
        return
    if rule.get("condition") not in CONDITIONS or not rule.get("field"):
        raise SalesforceError(
            "INVALID_FIELD", f"validation rule needs a field and a condition among {', '.join(CONDITIONS)}"
        )


def fires(rule: dict[str, Any], row: dict[str, Any], old: dict[str, Any] | None) -> bool:
    if not rule.get("active", True):
        return False
    if rule.get("formula"):
        return bool(formulas.evaluate(rule["formula"], row))
    field = rule["field"]
    value = _get(row, field)
    cond = rule["condition"]
    target = rule.get("value")
    if cond == "blank":
        return value is None or value == ""
    if cond == "not_blank":
        return not (value is None or value == "")
    if cond == "changed":
        return old is not None and _get(old, field) != value
    if cond in ("matches", "not_matches"):
        hit = value is not None and re.search(str(target), str(value)) is not None
        return hit if cond == "matches" else not hit
    if cond == "longer_than":
        return value is not None and len(str(value)) > int(target)
    if value is None:
        return False
    ops = {"eq": value == target, "ne": value != target}
    if cond in ops:
        return ops[cond]
    try:
        return {"lt": value < target, "le": value <= target, "gt": value > target, "ge": value >= target}[
            cond
        ]
    except TypeError:
        return False


def _get(row: dict[str, Any], field: str) -> Any:
    if field in row:
        return row[field]
    lower = field.lower()
    return next((v for k, v in row.items() if k.lower() == lower), None)


def error(rule: dict[str, Any]) -> SalesforceError:
    target = rule.get("error_field")
    return SalesforceError(
        "FIELD_CUSTOM_VALIDATION_EXCEPTION", rule["message"], fields=[target] if target else []
    )

"""Auto-mapping: suggest a target field for every source field, by API name then by label."""

from __future__ import annotations

import re

from replication.mapping.fields import Field, is_orgsync_identity, is_writable
from replication.mapping.support import field_support


def _label_key(field: Field) -> str:
    return re.sub(r"\s+", " ", (field.get("label") or "").strip()).casefold()


def auto_map(
    source_fields: list[Field], target_fields: list[Field], *, object_name: str = ""
) -> dict[str, str | None]:
    """``{source name: target name or None}`` for every source field, in source order.

    A source field maps to the writable (createable or updateable) target field with the same
    API name, compared case-insensitively; failing that, to the one target field with the same
    label. Each target field is used once; a label shared by several free target fields is
    ambiguous and left unmapped. Fields that can't be published (formulas, audit fields,
    auto-numbers — whose workaround is an explicit mapping…) stay unmapped, as Organization
    Sync only maps supported fields. orgsync's own identity field (OrgSync_Source_Id__c) is
    never a source nor a target.
    """
    writable = [t for t in target_fields if is_writable(t) and not is_orgsync_identity(t)]
    by_name = {t["name"].lower(): t["name"] for t in writable}
    result: dict[str, str | None] = {}
    used: set[str] = set()
    eligible = [s for s in source_fields if field_support(s, object_name=object_name).supported]
    for source in eligible:
        target = by_name.get(source["name"].lower())
        if target is not None and target not in used:
            result[source["name"]] = target
            used.add(target)
    for source in eligible:
        if source["name"] not in result:
            result[source["name"]] = _by_label(source, writable, used)
    return {s["name"]: result.get(s["name"]) for s in source_fields}


def _by_label(source: Field, writable: list[Field], used: set[str]) -> str | None:
    key = _label_key(source)
    if not key:
        return None
    candidates = [t["name"] for t in writable if t["name"] not in used and _label_key(t) == key]
    if len(candidates) != 1:
        return None
    used.add(candidates[0])
    return candidates[0]

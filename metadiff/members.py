"""Member differences: a component's body taken apart into named members, and the changes
between two versions of it written for people ("Picklist value Bronze: only in source",
"Properties: length 80 in source, 40 in destination"), not as raw XML.

A member is one entry of a keyed list (a profile's field permission, a picklist value, a
layout's section or field) or, for everything else, the component's "Properties" — its plain
settings flattened to dotted paths. Keyed lists are compared by key, so the order of entries
in a file is never a difference.
"""

import difflib
from dataclasses import dataclass
from typing import Any

from metadiff.mdxml import as_list

PROPERTIES = "Properties"
SOURCE_CODE = "Source code"
MAX_CODE_DIFF_LINES = 40

# list element → (member label, key elements)
KEYED: dict[str, tuple[str, tuple[str, ...]]] = {
    "fieldPermissions": ("Field permission", ("field",)),
    "objectPermissions": ("Object permission", ("object",)),
    "classAccesses": ("Apex class access", ("apexClass",)),
    "pageAccesses": ("Visualforce page access", ("apexPage",)),
    "layoutAssignments": ("Layout assignment", ("layout", "recordType")),
    "recordTypeVisibilities": ("Record type visibility", ("recordType",)),
    "userPermissions": ("User permission", ("name",)),
    "tabVisibilities": ("Tab visibility", ("tab",)),
    "tabSettings": ("Tab setting", ("tab",)),
    "applicationVisibilities": ("App visibility", ("application",)),
    "customPermissions": ("Custom permission", ("name",)),
    "value": ("Picklist value", ("fullName",)),
    "picklistValues": ("Record type picklist", ("picklist",)),
    "relatedLists": ("Related list", ("relatedList",)),
    "listViews": ("List view", ("fullName",)),
    "webLinks": ("Button or link", ("fullName",)),
    "actionOverrides": ("Action override", ("actionName", "formFactor")),
}


@dataclass(frozen=True)
class MemberDiff:
    member: str  # "Picklist value Bronze"
    state: str  # a compare.State value
    changes: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"member": self.member, "state": self.state, "changes": list(self.changes)}

    def text(self) -> str:
        from metadiff.compare import STATE_LABELS

        head = f"{self.member}: {STATE_LABELS[self.state].lower()}"
        return head + (f" ({'; '.join(self.changes)})" if self.changes else "")


def explode(type_name: str, body: dict[str, Any], content: str | None = None) -> dict[str, dict[str, str]]:
    """The members of one component: member label → {attribute path: text}."""
    members: dict[str, dict[str, str]] = {}
    properties: dict[str, str] = {}
    if type_name == "Layout":
        body = _explode_layout(body, members)
    _walk(body, "", properties, members)
    if properties:
        members[PROPERTIES] = properties
    if content is not None:
        members[SOURCE_CODE] = {"source": content}
    return members


def _walk(value: dict[str, Any], prefix: str, properties: dict[str, str], members: dict) -> None:
    for key, item in value.items():
        if key == "fullName" and not prefix:
            continue
        path = f"{prefix}{key}"
        keyed = KEYED.get(key)
        items = as_list(item)
        if keyed and items and all(isinstance(i, dict) for i in items):
            label, keys = keyed
            for entry in items:
                name = " / ".join(str(entry.get(k)) for k in keys if entry.get(k) not in (None, ""))
                attrs: dict[str, str] = {}
                _flatten({k: v for k, v in entry.items() if k not in keys}, "", attrs)
                members[f"{label} {name}"] = attrs
        elif isinstance(item, dict):
            _walk(item, path + ".", properties, members)
        else:
            _flatten(item, path, properties)


def _flatten(value: Any, path: str, out: dict[str, str]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(item, f"{path}.{key}" if path else key, out)
    elif isinstance(value, list):
        if all(not isinstance(v, (dict, list)) for v in value):
            out[path] = ", ".join(str(v) for v in value)
        else:
            for index, item in enumerate(value, 1):
                _flatten(item, f"{path}[{index}]", out)
    elif value is not None:
        out[path] = str(value)


def _explode_layout(body: dict[str, Any], members: dict[str, dict[str, str]]) -> dict[str, Any]:
    """Sections and the fields placed on them become members; the rest stays for _walk."""
    for section in as_list(body.get("layoutSections")):
        if not isinstance(section, dict):
            continue
        label = str(section.get("label") or "(no label)")
        scalars = {
            k: v for k, v in section.items() if k != "layoutColumns" and not isinstance(v, (dict, list))
        }
        members[f"Layout section {label}"] = {k: str(v) for k, v in scalars.items()}
        for column_number, column in enumerate(as_list(section.get("layoutColumns")), 1):
            for item in as_list(column.get("layoutItems") if isinstance(column, dict) else None):
                if isinstance(item, dict) and item.get("field"):
                    attrs = {"section": label, "column": str(column_number)}
                    attrs.update({k: str(v) for k, v in item.items() if k != "field"})
                    members[f"Layout field {item['field']}"] = attrs
    return {k: v for k, v in body.items() if k != "layoutSections"}


def member_diffs(
    source: dict[str, dict[str, str]], destination: dict[str, dict[str, str]]
) -> list[MemberDiff]:
    """What differs between the members of a component in the source and in the destination."""
    out: list[MemberDiff] = []
    for name in sorted(set(source) | set(destination), key=_member_order):
        mine, theirs = source.get(name), destination.get(name)
        if theirs is None:
            out.append(MemberDiff(name, "only_source", _summary(name, mine or {})))
        elif mine is None:
            out.append(MemberDiff(name, "only_destination", _summary(name, theirs)))
        elif mine != theirs:
            out.append(MemberDiff(name, "different", _changes(name, mine, theirs)))
    return out


def _member_order(name: str) -> tuple[int, str]:
    return (0 if name == PROPERTIES else 2 if name == SOURCE_CODE else 1, name.lower())


def _summary(name: str, attrs: dict[str, str]) -> tuple[str, ...]:
    if name == SOURCE_CODE:
        return (f"{len(attrs.get('source', '').splitlines())} lines",)
    return tuple(f"{k} {v}" for k, v in sorted(attrs.items()))


def _changes(name: str, source: dict[str, str], destination: dict[str, str]) -> tuple[str, ...]:
    if name == SOURCE_CODE:
        lines = difflib.unified_diff(
            destination.get("source", "").splitlines(),
            source.get("source", "").splitlines(),
            "destination",
            "source",
            lineterm="",
            n=1,
        )
        code = [line for line in lines if not line.startswith(("---", "+++"))]
        extra = len(code) - MAX_CODE_DIFF_LINES
        return tuple(code[:MAX_CODE_DIFF_LINES]) + ((f"… {extra} more lines",) if extra > 0 else ())
    out = []
    for key in sorted(set(source) | set(destination)):
        mine, theirs = source.get(key), destination.get(key)
        if mine == theirs:
            continue
        if theirs is None:
            out.append(f"{key} {mine} only in source")
        elif mine is None:
            out.append(f"{key} {theirs} only in destination")
        else:
            out.append(f"{key} {mine} in source, {theirs} in destination")
    return tuple(out)

"""Metadata files ⇄ plain values ("XML dicts"), the way the Metadata API writes them.

A body is a dict of element name → text, nested dict, or list of those (repeated elements, and
the elements Salesforce always treats as lists even when a file holds one). Element order is
kept as read, so a file written back from a parsed body has the source org's shape.
"""

from typing import Any
from xml.etree import ElementTree
from xml.sax.saxutils import escape

MD_NS = "http://soap.sforce.com/2006/04/metadata"
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"

# Elements that are lists even when a file holds one of them.
LIST_TAGS = frozenset(
    {
        "actionOverrides",
        "applicationVisibilities",
        "businessProcesses",
        "classAccesses",
        "columns",
        "compactLayouts",
        "customPermissions",
        "fieldPermissions",
        "fieldSets",
        "fields",
        "filters",
        "indexes",
        "layoutAssignments",
        "layoutColumns",
        "layoutItems",
        "layoutSections",
        "listViews",
        "members",
        "objectPermissions",
        "pageAccesses",
        "picklistValues",
        "platformActionList",
        "quickActionList",
        "recordTypeVisibilities",
        "recordTypes",
        "relatedLists",
        "sharingReasons",
        "tabSettings",
        "tabVisibilities",
        "types",
        "userPermissions",
        "validationRules",
        "value",
        "values",
        "webLinks",
    }
)


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def to_value(element: ElementTree.Element) -> Any:
    """An element's content: text, or a dict of its children (repeated names → lists)."""
    if element.get(XSI_NIL) == "true":
        return None
    children = list(element)
    if not children:
        return (element.text or "").strip()
    out: dict[str, Any] = {}
    for child in children:
        name = local(child.tag)
        value = to_value(child)
        if name in out:
            if not isinstance(out[name], list):
                out[name] = [out[name]]
            out[name].append(value)
        else:
            out[name] = [value] if name in LIST_TAGS else value
    return out


def parse(data: bytes) -> tuple[str, dict[str, Any]]:
    """(root element name, body) of a metadata file; ValueError when it is not XML."""
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise ValueError(f"not a metadata file: {exc}") from None
    body = to_value(root)
    return local(root.tag), body if isinstance(body, dict) else {}


def _elements(name: str, value: Any, depth: int) -> list[str]:
    pad = "    " * depth
    if value is None:
        return []
    if isinstance(value, list):
        return [line for item in value for line in _elements(name, item, depth)]
    if isinstance(value, dict):
        inner = [line for key, item in value.items() for line in _elements(key, item, depth + 1)]
        return [f"{pad}<{name}>", *inner, f"{pad}</{name}>"] if inner else [f"{pad}<{name}/>"]
    text = ("true" if value else "false") if isinstance(value, bool) else str(value)
    return [f"{pad}<{name}>{escape(text)}</{name}>"]


def document(root: str, body: dict[str, Any]) -> bytes:
    """A metadata file (``<CustomObject xmlns=…>``…), elements in the body's order."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f'<{root} xmlns="{MD_NS}">']
    for key, value in body.items():
        lines += _elements(key, value, 1)
    lines.append(f"</{root}>")
    return ("\n".join(lines) + "\n").encode()

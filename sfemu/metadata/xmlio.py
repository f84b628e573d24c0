"""Metadata API XML ⇄ plain values ("XML dicts").

A component body is a dict of element name → text, nested dict or list of those (repeated
elements). Files are written the way Salesforce writes them on retrieve: the XML declaration,
the root element in the metadata namespace, 4-space indentation, ``fullName`` first and the
other elements in alphabetical order.
"""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree
from xml.sax.saxutils import escape

MD_NS = "http://soap.sforce.com/2006/04/metadata"
XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"

# Elements that are lists even when a file holds one of them.
LIST_TAGS = frozenset(
    {
        "actionOverrides",
        "applicationVisibilities",
        "classAccesses",
        "customPermissions",
        "fieldPermissions",
        "fields",
        "layoutAssignments",
        "layoutColumns",
        "layoutItems",
        "layoutSections",
        "listViews",
        "members",
        "objectPermissions",
        "pageAccesses",
        "picklistValues",
        "recordTypeVisibilities",
        "recordTypes",
        "relatedLists",
        "tabVisibilities",
        "tabSettings",
        "types",
        "userPermissions",
        "validationRules",
        "value",
        "values",
        "webLinks",
        "platformActionList",
        "quickActionList",
        "columns",
        "filters",
    }
)

XmlValue = str | dict[str, Any] | list[Any] | None


def local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def is_nil(element: ElementTree.Element) -> bool:
    return element.get(f"{{{XSI_NS}}}nil") == "true"


def xsi_type(element: ElementTree.Element) -> str | None:
    value = element.get(f"{{{XSI_NS}}}type")
    return value.rsplit(":", 1)[-1] if value else None


def to_value(element: ElementTree.Element) -> XmlValue:
    """An element's content: text, or a dict of its children (repeated names → lists)."""
    if is_nil(element):
        return None
    children = list(element)
    if not children:
        return element.text if element.text is not None else ""
    out: dict[str, Any] = {}
    for child in children:
        name = local(child.tag)
        value = to_value(child)
        if name in out:
            if not isinstance(out[name], list):
                out[name] = [out[name]]
            out[name].append(value)
        elif name in LIST_TAGS:
            out[name] = [value]
        else:
            out[name] = value
    return out


def parse_document(data: bytes) -> tuple[str, dict[str, Any]]:
    """(root element name, body) of a metadata file; ValueError when it is not XML."""
    try:
        root = ElementTree.fromstring(data)
    except ElementTree.ParseError as exc:
        raise ValueError(f"Error parsing file: {exc}") from None
    body = to_value(root)
    return local(root.tag), body if isinstance(body, dict) else {}


def text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _ordered(body: dict[str, Any]) -> list[str]:
    keys = sorted(k for k in body if k != "fullName")
    return ["fullName", *keys] if "fullName" in body else keys


def elements(name: str, value: Any, depth: int, *, sort: bool = True) -> list[str]:
    """Pretty-printed lines of ``<name>value</name>`` (lists repeat the element)."""
    pad = "    " * depth
    if value is None:
        return []
    if isinstance(value, list):
        lines: list[str] = []
        for item in value:
            lines += elements(name, item, depth, sort=sort)
        return lines
    if isinstance(value, dict):
        inner: list[str] = []
        for key in _ordered(value) if sort else list(value):
            inner += elements(key, value[key], depth + 1, sort=sort)
        if not inner:
            return [f"{pad}<{name}/>"]
        return [f"{pad}<{name}>", *inner, f"{pad}</{name}>"]
    return [f"{pad}<{name}>{escape(text(value))}</{name}>"]


def document(root: str, body: dict[str, Any], *, sort: bool = True) -> bytes:
    """A metadata file (``<CustomObject xmlns=…>``…)."""
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', f'<{root} xmlns="{MD_NS}">']
    for key in _ordered(body) if sort else list(body):
        lines += elements(key, body[key], 1, sort=sort)
    lines.append(f"</{root}>")
    return ("\n".join(lines) + "\n").encode()


def inline(name: str, value: Any, *, attrs: str = "") -> str:
    """Compact ``<name>…</name>`` for SOAP bodies (``fullName`` first, then alphabetical)."""
    if value is None:
        return ""
    if isinstance(value, list):
        return "".join(inline(name, item, attrs=attrs) for item in value)
    if isinstance(value, dict):
        inner = "".join(inline(k, value[k]) for k in _ordered(value))
        return f"<{name}{attrs}>{inner}</{name}>"
    return f"<{name}{attrs}>{escape(text(value))}</{name}>"


def as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return value if isinstance(value, list) else [value]


def flag(value: Any, default: bool = False) -> bool:
    if value is None or value == "":
        return default
    if isinstance(value, str):
        return value.strip().lower() == "true"
    return bool(value)

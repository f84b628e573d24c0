"""The effective schema of one org: standard objects + its custom objects/fields/record types."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sfemu.errors import SalesforceError, not_found
from sfemu.schema.spec import FieldSpec, ObjectSpec
from sfemu.schema.std_files import FILE_OBJECTS
from sfemu.schema.std_sales import SALES_OBJECTS
from sfemu.schema.std_service import SERVICE_OBJECTS
from sfemu.schema.std_setup import SETUP_OBJECTS

STANDARD_OBJECTS: tuple[ObjectSpec, ...] = (*SALES_OBJECTS, *SERVICE_OBJECTS, *SETUP_OBJECTS, *FILE_OBJECTS)
AUDIT_ROLES = frozenset({"created_date", "created_by", "modified_date", "modified_by"})
# Polymorphic "related to" lookups that also accept custom objects with activities.
ACTIVITY_PARENTS = {
    ("Task", "WhatId"),
    ("Attachment", "ParentId"),
    ("EmailMessage", "RelatedToId"),
    ("FeedItem", "ParentId"),
    ("FeedComment", "ParentId"),
    ("ContentDocumentLink", "LinkedEntityId"),
    ("ContentVersion", "FirstPublishLocationId"),
}
# Lookups to these are not listed as child relationships (every record points at a User).
_NOT_CHILD_ROLES = frozenset({"owner", "created_by", "modified_by"})


@dataclass(frozen=True)
class RecordTypeInfo:
    """A custom record type of an object (the master one is implicit)."""

    id: str
    sobject: str
    name: str
    developer_name: str
    active: bool = True
    default: bool = False
    description: str | None = None


@dataclass(frozen=True)
class ChildRelationship:
    """Parent → child link, as in describe ``childRelationships``."""

    parent: str
    child: str
    field: str
    name: str | None
    cascade_delete: bool
    restricted_delete: bool


class OrgSchema:
    """Lookups by (case-insensitive) name, key prefix and child relationships."""

    def __init__(
        self,
        objects: Iterable[ObjectSpec],
        record_types: Iterable[RecordTypeInfo],
        *,
        audit_on_create: bool = False,
    ) -> None:
        objects = list(objects)
        self.record_types: dict[str, list[RecordTypeInfo]] = {}
        for rt in record_types:
            self.record_types.setdefault(rt.sobject.lower(), []).append(rt)
        activity_targets = tuple(
            o.name for o in objects if o.custom and o.extra.get("allow_activities", True)
        )
        self._objects: dict[str, ObjectSpec] = {}
        for obj in objects:
            self._objects[obj.name.lower()] = self._effective(obj, activity_targets, audit_on_create)
        self._fields = {k: {f.lower: f for f in o.fields} for k, o in self._objects.items()}
        self.by_prefix = {o.key_prefix: o for o in self._objects.values() if o.key_prefix}
        self._children = self._child_relationships()
        self.cache: dict = {}  # derived views (SOQL ObjectInfo, …) live as long as this schema

    def _effective(
        self, obj: ObjectSpec, activity_targets: tuple[str, ...], audit_on_create: bool
    ) -> ObjectSpec:
        has_rt = bool(self.record_types.get(obj.name.lower()))
        fields: list[FieldSpec] = []
        for f in obj.fields:
            if f.role == "record_type" and not has_rt:
                continue
            if audit_on_create and f.role in AUDIT_ROLES:
                f = f.with_(createable=True)
            if (obj.name, f.name) in ACTIVITY_PARENTS and activity_targets:
                f = f.with_(reference_to=f.reference_to + activity_targets)
            fields.append(f)
        if obj.custom and has_rt and not any(f.role == "record_type" for f in fields):
            from sfemu.schema.spec import record_type_field

            fields.insert(4 if fields[1].role == "owner" else 3, record_type_field())
        clone = ObjectSpec(**{**obj.__dict__, "fields": fields})
        return clone

    def _child_relationships(self) -> dict[str, list[ChildRelationship]]:
        children: dict[str, list[ChildRelationship]] = {}
        for child in self._objects.values():
            for f in child.fields:
                if f.type != "reference" or f.role in _NOT_CHILD_ROLES:
                    continue
                for parent in f.reference_to:
                    if parent.lower() not in self._objects:
                        continue
                    rel = ChildRelationship(
                        parent,
                        child.name,
                        f.name,
                        f.child_relationship,
                        f.cascade_delete,
                        f.restricted_delete,
                    )
                    children.setdefault(parent.lower(), []).append(rel)
        for rels in children.values():
            rels.sort(key=lambda r: (r.child, r.field))
        return children

    # --- lookups ---------------------------------------------------------------------------

    def names(self) -> list[str]:
        return sorted((o.name for o in self._objects.values()), key=str.lower)

    def objects(self) -> list[ObjectSpec]:
        return [self._objects[n.lower()] for n in self.names()]

    def get(self, name: str) -> ObjectSpec | None:
        return self._objects.get(name.lower()) if isinstance(name, str) else None

    def require(self, name: str) -> ObjectSpec:
        obj = self.get(name)
        if obj is None:
            raise not_found()
        return obj

    def field(self, sobject: str, name: str) -> FieldSpec | None:
        return self._fields.get(sobject.lower(), {}).get(name.lower())

    def require_field(self, obj: ObjectSpec, name: str) -> FieldSpec:
        spec = self.field(obj.name, name)
        if spec is None:
            raise SalesforceError("INVALID_FIELD", f"No such column '{name}' on sobject of type {obj.name}")
        return spec

    def fields_by_lower(self, sobject: str) -> dict[str, FieldSpec]:
        return self._fields[sobject.lower()]

    def object_for_id(self, record_id: str) -> ObjectSpec | None:
        return self.by_prefix.get(record_id[:3])

    def children(self, sobject: str) -> list[ChildRelationship]:
        return self._children.get(sobject.lower(), [])

    def relationship_field(self, obj: ObjectSpec, rel_name: str) -> FieldSpec | None:
        """The lookup field behind a parent relationship name (``Account``, ``Foo__r``)."""
        lower = rel_name.lower()
        for f in obj.fields:
            if f.relationship_name and f.relationship_name.lower() == lower:
                return f
        return None

    def record_types_of(self, sobject: str) -> list[RecordTypeInfo]:
        return self.record_types.get(sobject.lower(), [])

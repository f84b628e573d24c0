"""Name resolution against the DataSource: objects, fields and parent relationship paths."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sfemu.soql import ast
from sfemu.soql import errors as err
from sfemu.soql.source import DataSource, FieldInfo, ObjectInfo

Getter = Callable[[dict], Any]


@dataclass(frozen=True)
class Hop:
    """One parent relationship step of a path: follow ``lookup`` to the parent row."""

    lookup: FieldInfo  # the reference field, e.g. AccountId
    name: str  # canonical relationship name, e.g. "Account"
    polymorphic: bool


@dataclass(frozen=True)
class Resolved:
    """A field path resolved against the schema."""

    hops: tuple[Hop, ...]
    leaf: FieldInfo
    getter: Getter

    @property
    def out_path(self) -> tuple[str, ...]:
        """Keys of the value in a result record: ("Account", "Owner", "Name")."""
        return (*(h.name for h in self.hops), self.leaf.name)


class Context:
    """Per-execution state: schema and parent-row caches, the clock, error text."""

    def __init__(self, source: DataSource, text: str, *, include_deleted: bool, api_version: str) -> None:
        self.source = source
        self.text = text
        self.include_deleted = include_deleted
        self.api_version = api_version
        self.today: date = source.now().date()
        self._objects: dict[str, ObjectInfo | None] = {}
        self._relationships: dict[str, dict[str, FieldInfo]] = {}
        self._parents: dict[str, tuple[str, dict] | None] = {}

    # ----------------------------------------------------------------------- schema
    def object_info(self, name: str, pos: int) -> ObjectInfo:
        info = self.lookup_object(name)
        if info is None:
            raise err.unknown_object(self.text, pos, name)
        return info

    def lookup_object(self, name: str) -> ObjectInfo | None:
        key = name.lower()
        if key not in self._objects:
            self._objects[key] = self.source.object_info(name)
        return self._objects[key]

    def relationship(self, obj: ObjectInfo, name: str) -> FieldInfo | None:
        index = self._relationships.get(obj.name)
        if index is None:
            index = {
                f.relationship_name.lower(): f
                for f in obj.fields.values()
                if f.relationship_name and f.reference_to
            }
            self._relationships[obj.name] = index
        return index.get(name.lower())

    # ------------------------------------------------------------------------- rows
    def parent(self, record_id: Any) -> tuple[str, dict] | None:
        """(object, row) of a referenced record, cached for the whole execution."""
        if not record_id:
            return None
        try:
            return self._parents[record_id]
        except KeyError:
            found = self.source.row_by_id(record_id)
            self._parents[record_id] = found
            return found

    def url(self, sobject: str, record_id: Any) -> str:
        return f"/services/data/v{self.api_version}/sobjects/{sobject}/{record_id}"

    # ------------------------------------------------------------------------ paths
    def resolve(self, obj: ObjectInfo, ref: ast.FieldRef) -> Resolved:
        """Resolve ``ref`` on ``obj``; INVALID_FIELD errors point at the path's start."""
        hops: list[Hop] = []
        current: list[ObjectInfo] = [obj]
        for segment in ref.path[:-1]:
            if len(current) != 1:  # past a polymorphic hop only a leaf field may follow
                raise err.bad_relationship(self.text, ref.pos, segment)
            lookup = self.relationship(current[0], segment)
            if lookup is None:
                raise err.bad_relationship(self.text, ref.pos, segment)
            assert lookup.relationship_name is not None
            targets = [t for t in (self.lookup_object(n) for n in lookup.reference_to) if t]
            if not targets:
                raise err.bad_relationship(self.text, ref.pos, segment)
            hops.append(Hop(lookup, lookup.relationship_name, len(lookup.reference_to) > 1))
            current = targets
        leaf = self._leaf(current, ref)
        return Resolved(tuple(hops), leaf, self._getter(tuple(hops), leaf))

    def _leaf(self, candidates: list[ObjectInfo], ref: ast.FieldRef) -> FieldInfo:
        name = ref.path[-1]
        for candidate in candidates:
            found = candidate.fields.get(name.lower())
            if found is not None:
                return found
        entity = candidates[0].name if len(candidates) == 1 else "Name"
        raise err.no_such_column(self.text, ref.pos, name, entity)

    def _getter(self, hops: tuple[Hop, ...], leaf: FieldInfo) -> Getter:
        name = leaf.name
        if not hops:
            return lambda row: row.get(name)
        lookups = [h.lookup.name for h in hops]
        parent = self.parent

        def follow(row: dict) -> Any:
            current: dict | None = row
            for lookup in lookups:
                found = parent(current.get(lookup))
                if found is None:
                    return None
                current = found[1]
            return current.get(name)

        return follow

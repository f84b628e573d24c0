"""What the SOQL engine needs from an org: schema lookups, rows, and the clock.

The domain layer implements :class:`DataSource` in ``sfemu/soql_source.py``; tests use an
in-memory fake. Rows are dicts keyed by canonical field name holding wire-format values.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable


@dataclass(frozen=True)
class FieldInfo:
    """One field as the query engine sees it (a slice of the describe)."""

    name: str  # canonical API name, e.g. "AccountId"
    type: str  # describe type: id, string, reference, boolean, int, double, date, datetime, ...
    reference_to: tuple[str, ...] = ()
    relationship_name: str | None = None  # "Account" for AccountId, "Parent__r" for Parent__c
    filterable: bool = True
    sortable: bool = True


@dataclass(frozen=True)
class ObjectInfo:
    """One sObject: its canonical name, fields and child relationships."""

    name: str  # canonical, e.g. "Account"
    fields: Mapping[str, FieldInfo]  # keyed by lower-cased API name
    child_relationships: Mapping[str, tuple[str, str]]  # lower rel name -> (child obj, child field)


@runtime_checkable
class DataSource(Protocol):
    """The org, as seen by the query engine."""

    def object_info(self, name: str) -> ObjectInfo | None:
        """Schema of ``name`` (case-insensitive), or None when the org has no such object."""
        ...

    def rows(self, sobject: str, *, include_deleted: bool) -> Iterable[dict]:
        """Every row of ``sobject``; soft-deleted ones only when ``include_deleted``."""
        ...

    def row_by_id(self, record_id: str) -> tuple[str, dict] | None:
        """(object name, row) for any record id, or None."""
        ...

    def now(self) -> datetime:
        """Aware UTC "now", the anchor of date literals such as TODAY."""
        ...

"""The org as a SOQL :class:`~sfemu.soql.source.DataSource`."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING

from sfemu import ids
from sfemu.schema.registry import OrgSchema
from sfemu.schema.spec import ObjectSpec
from sfemu.soql.source import FieldInfo, ObjectInfo

if TYPE_CHECKING:
    from sfemu.org import Org


def object_info(schema: OrgSchema, obj: ObjectSpec) -> ObjectInfo:
    """Schema slice the query engine needs (cached per schema build)."""
    info = schema.cache.get(("soql", obj.name))
    if info is not None:
        return info
    from sfemu.schema.describe import field_describe

    fields = {}
    for f in obj.fields:
        d = field_describe(f)
        fields[f.lower] = FieldInfo(
            f.name,
            f.type,
            tuple(f.reference_to),
            f.relationship_name,
            bool(d["filterable"]),
            bool(d["sortable"]),
        )
    children = {r.name.lower(): (r.child, r.field) for r in schema.children(obj.name) if r.name}
    info = ObjectInfo(obj.name, fields, children)
    schema.cache[("soql", obj.name)] = info
    return info


class OrgDataSource:
    """Rows are streamed from SQLite in id order; values are wire format."""

    def __init__(self, org: Org, api_version: str = "62.0") -> None:
        self.org = org
        self.api_version = api_version
        self.schema = org.schema

    def object_info(self, name: str) -> ObjectInfo | None:
        obj = self.schema.get(name)
        return object_info(self.schema, obj) if obj else None

    def rows(self, sobject: str, *, include_deleted: bool) -> Iterator[dict]:
        obj = self.schema.get(sobject)
        if obj is None:
            return iter(())
        return self._rows(obj, include_deleted)

    def _rows(self, obj: ObjectSpec, include_deleted: bool) -> Iterator[dict]:
        shaper = self.org.shaper(obj)
        today = self._today
        for stored in self.org.store.iter_records(self.org.org_id, obj.name, include_deleted=include_deleted):
            row = shaper.full(stored, today=today)
            for blob in shaper.blobs:
                if row.get(blob) is not None:
                    row[blob] = shaper.blob_url(row["Id"], blob, self.api_version)
            yield row

    def row_by_id(self, record_id: str) -> tuple[str, dict] | None:
        rid = ids.normalize(record_id)
        rec = self.org.store.get_record(rid) if rid else None
        if rec is None or rec[0] != self.org.org_id:
            return None
        obj = self.schema.get(rec[1])
        if obj is None:
            return None
        shaper = self.org.shaper(obj)
        row = shaper.full(rec[3], today=self._today)
        for blob in shaper.blobs:
            if row.get(blob) is not None:
                row[blob] = shaper.blob_url(row["Id"], blob, self.api_version)
        return obj.name, row

    def now(self) -> datetime:
        return self.org.now()

    def _today(self):
        return self.org.now().date()

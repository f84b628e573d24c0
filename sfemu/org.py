"""One emulated org: schema, records, DML semantics, describe, replication, limits, users.

Every public method raises :class:`sfemu.errors.SalesforceError` with Salesforce's code,
message, status and fields. See docs/dev/sfemu-contract.md for the API the HTTP layer uses.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from typing import IO, TYPE_CHECKING, Any

from sfemu import ids
from sfemu.errors import MultipleMatchesError, SalesforceError, not_found, unknown_external_id_field
from sfemu.faults import faultable
from sfemu.schema import blobs, custom, lifecycle, replication
from sfemu.schema.customize import CustomizeMixin
from sfemu.schema.describe import global_entry, object_describe
from sfemu.schema.dml import Writer, key_value, keyed
from sfemu.schema.limits import HARD_LIMIT_EDITIONS, daily_api_max, limits_body
from sfemu.schema.registry import STANDARD_OBJECTS, OrgSchema, RecordTypeInfo
from sfemu.schema.rows import RowShaper
from sfemu.schema.spec import FieldSpec, ObjectSpec
from sfemu.schema.users import UsersMixin
from sfemu.schema.values import coerce
from sfemu.timeutil import Stamper, format_datetime, parse_datetime

if TYPE_CHECKING:
    from sfemu.instance import Instance
    from sfemu.soql import QueryResult

DEFAULT_OPTIONS: dict[str, Any] = {
    "audit_fields_on_create": False,  # "Set Audit Fields upon Record Creation"
    "require_security_token": True,
    "api_daily_limit": None,  # None = the edition's allocation
    "recycle_bin_days": 15,
}
_INVALID_COLUMN = (
    "No such column '{field}' on entity '{obj}'. If you are attempting to use a custom field, "
    "be sure to append the '__c' after the custom field name. Please reference your WSDL or "
    "the describe call for the appropriate names."
)


class Org(CustomizeMixin, UsersMixin):
    """An org inside an :class:`~sfemu.instance.Instance`."""

    def __init__(self, instance: Instance, org_id: str, name: str, data: dict) -> None:
        self.instance = instance
        self.store = instance.store
        self.org_id = org_id
        self.name = name
        self._data = data
        self._lock = threading.RLock()
        self._schema: OrgSchema | None = None
        self._shapers: dict[str, RowShaper] = {}
        self._describe_cache: dict[tuple, dict] = {}
        last = self.store.max_modstamp(org_id)
        self.stamper = Stamper(instance.clock, parse_datetime(last) if last else None)

    # --- properties ----------------------------------------------------------------------

    @property
    def edition(self) -> str:
        return self._data["edition"]

    @property
    def is_sandbox(self) -> bool:
        return bool(self._data["sandbox"])

    @property
    def pod(self) -> str:
        return self._data["pod"]

    @property
    def instance_name(self) -> str:
        return self._data["instance_name"]

    @property
    def created_at(self) -> datetime:
        return parse_datetime(self._data["created"])

    @property
    def default_currency(self) -> str:
        return "USD"

    @property
    def admin_user_id(self) -> str:
        return self._data["admin_user_id"]

    @property
    def options(self) -> dict[str, Any]:
        return {**DEFAULT_OPTIONS, **self._data.get("options", {})}

    def set_option(self, name: str, value: Any) -> None:
        """Change an org option (see ``DEFAULT_OPTIONS``)."""
        if name not in DEFAULT_OPTIONS:
            raise KeyError(name)
        with self._lock:
            self._data.setdefault("options", {})[name] = value
            self._save()
            self._invalidate()

    def now(self) -> datetime:
        return self.instance.clock.now()

    def _save(self) -> None:
        self.store.update_org(self.org_id, self._data)

    # --- schema --------------------------------------------------------------------------

    @property
    def schema(self) -> OrgSchema:
        with self._lock:
            if self._schema is None:
                self._schema = self._build_schema()
            return self._schema

    def _build_schema(self) -> OrgSchema:
        field_defs: dict[str, list[dict]] = {}
        for fdef in self.store.list_defs(self.org_id, "field"):
            field_defs.setdefault(fdef["object"].lower(), []).append(fdef)
        objects: list[ObjectSpec] = []
        for std in STANDARD_OBJECTS:
            extra = [custom.field_spec(f) for f in field_defs.get(std.name.lower(), [])]
            objects.append(ObjectSpec(**{**std.__dict__, "fields": [*std.fields, *extra]}) if extra else std)
        for odef in self.store.list_defs(self.org_id, "object"):
            objects.append(custom.object_spec(odef, field_defs.get(odef["name"].lower(), [])))
        defaults = set(self._data.get("default_record_types", {}).values())
        rts = [
            RecordTypeInfo(
                r["Id"],
                r["SobjectType"],
                r["Name"],
                r["DeveloperName"],
                bool(r.get("IsActive")),
                r["Id"] in defaults,
                r.get("Description"),
            )
            for r in self.store.iter_records(self.org_id, "RecordType", include_deleted=False)
        ]
        return OrgSchema(objects, rts, audit_on_create=self.options["audit_fields_on_create"])

    def _invalidate(self) -> None:
        with self._lock:
            self._schema = None
            self._shapers.clear()
            self._describe_cache.clear()
            self._data["schema_modified"] = format_datetime(self.now())
            self._save()

    @property
    def schema_modified_at(self) -> datetime:
        """Last schema change (for ``If-Modified-Since`` on describe)."""
        return parse_datetime(self._data.get("schema_modified") or self._data["created"])

    def shaper(self, obj: ObjectSpec) -> RowShaper:
        with self._lock:
            schema = self.schema
            shaper = self._shapers.get(obj.name)
            if shaper is None or shaper.obj is not schema.get(obj.name):
                shaper = self._shapers[obj.name] = RowShaper(schema.require(obj.name))
            return shaper

    def object_names(self) -> list[str]:
        return self.schema.names()

    def describe_global(self, api_version: str = "62.0") -> list[dict]:
        """Entries of ``GET /sobjects`` (the HTTP layer wraps them with encoding/maxBatchSize)."""
        return [global_entry(o, api_version) for o in self.schema.objects()]

    def describe(self, sobject: str, api_version: str = "62.0", instance_url: str | None = None) -> dict:
        """Full describe; ``instance_url`` fills the ``ui*`` urls like a real org."""
        schema = self.schema
        obj = schema.require(sobject)
        key = (obj.name, api_version, instance_url)
        with self._lock:
            if key not in self._describe_cache:
                self._describe_cache[key] = object_describe(schema, obj, api_version, instance_url)
            return self._describe_cache[key]

    # --- ids and lookups -----------------------------------------------------------------

    def new_ids(self, obj: ObjectSpec, count: int) -> list[str]:
        prefix = obj.key_prefix or "000"
        start = ids.sequence_start(self.instance.rng)
        first = self.store.allocate_sequence(self.pod, prefix, count, start)
        return [ids.make_id(prefix, self.pod, n) for n in range(first, first + count)]

    def normalize_id(self, record_id: Any, obj: ObjectSpec | None) -> str:
        canonical = ids.normalize(record_id)
        if canonical is None:
            label = obj.fields[0].label if obj else "Record ID"
            raise ids.malformed_id(label, record_id)
        return canonical

    def live_record(self, obj: ObjectSpec, record_id: str) -> tuple[str, dict]:
        """(id, stored row) of a live record of ``obj``; NOT_FOUND / ENTITY_IS_DELETED."""
        rid = self.normalize_id(record_id, obj)
        rec = self.store.get_record(rid)
        if rec is None or rec[0] != self.org_id or rec[1] != obj.name:
            raise not_found()
        if rec[2]:
            raise SalesforceError("ENTITY_IS_DELETED", "entity is deleted", status=404, fields=[])
        return rid, rec[3]

    def find_by_field(self, obj: ObjectSpec, spec: FieldSpec, value: Any) -> list[str]:
        """Live ids of ``obj`` whose ``spec`` equals ``value`` (external ids, idLookup)."""
        if spec.name == "Id":
            rid = ids.normalize(value)
            rec = self.store.get_record(rid) if rid else None
            ok = rec is not None and rec[0] == self.org_id and rec[1] == obj.name and not rec[2]
            return [rid] if ok else []
        try:
            wire = coerce(spec, value)
        except SalesforceError:
            return []
        if wire is None:
            return []
        if keyed(obj, spec):
            return self.store.find_keys(self.org_id, obj.name, spec.name, key_value(spec, wire))
        return self.store.find_by_value(
            self.org_id, obj.name, spec.name, str(wire), nocase=not spec.case_sensitive
        )

    def default_record_type(self, sobject: str) -> str | None:
        rts = [r for r in self.schema.record_types_of(sobject) if r.active]
        default = next((r for r in rts if r.default), None)
        return default.id if default else (ids.MASTER_RECORD_TYPE_ID if rts else None)

    def validation_rules(self, sobject: str) -> list[dict]:
        return [r for r in self._data.get("rules", []) if r["object"].lower() == sobject.lower()]

    # --- DML -----------------------------------------------------------------------------

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group several DML calls; an exception rolls all of them back (allOrNone).
        Nested use is a savepoint: an exception inside rolls back only the inner block."""
        with self.store.write():
            yield

    atomic = transaction

    @faultable
    def create(
        self,
        sobject: str,
        values: dict,
        *,
        user_id: str,
        input_format: str = "json",
        files: dict[str, IO[bytes]] | None = None,
    ) -> str:
        """Insert a record; ``files`` are base64 fields uploaded as binary (multipart) parts."""
        obj = self.schema.require(sobject)
        with self.store.write():
            return Writer(self, input_format).insert(obj, values, user_id, uploads=files)

    @faultable
    def update(
        self, sobject: str, record_id: str, values: dict, *, user_id: str, input_format: str = "json"
    ) -> None:
        obj = self.schema.require(sobject)
        if not obj.updateable:
            raise SalesforceError(
                "INVALID_TYPE_FOR_OPERATION", f"entity type {obj.name} does not support update"
            )
        with self.store.write():
            Writer(self, input_format).update(obj, record_id, values, user_id)

    @faultable
    def upsert(
        self,
        sobject: str,
        ext_field: str,
        ext_value: str | None,
        values: dict,
        *,
        user_id: str,
        input_format: str = "json",
        update_only: bool = False,
    ) -> tuple[str, bool]:
        """(id, created). Several matches raise :class:`MultipleMatchesError` (HTTP 300)."""
        obj = self.schema.require(sobject)
        spec = self.schema.field(obj.name, ext_field)
        if spec is None or not (spec.external_id or spec.id_lookup):
            raise unknown_external_id_field(ext_field)
        body = {k: v for k, v in values.items() if k.lower() != spec.lower}
        if ext_value in (None, ""):
            if spec.name == "Id":
                return self.create(obj.name, body, user_id=user_id, input_format=input_format), True
            raise SalesforceError("MISSING_ARGUMENT", f"{spec.name} not specified")
        matches = self.find_by_field(obj, spec, ext_value)
        if len(matches) > 1:
            raise MultipleMatchesError(obj.name, spec.name, str(ext_value), matches)
        if matches:
            self.update(obj.name, matches[0], body, user_id=user_id, input_format=input_format)
            return matches[0], False
        if update_only or spec.name == "Id":
            raise not_found()
        if spec.createable:
            body[spec.name] = ext_value
        return self.create(obj.name, body, user_id=user_id, input_format=input_format), True

    @faultable
    def delete(self, record_id: str, *, user_id: str, sobject: str | None = None, hard: bool = False) -> None:
        """Soft delete into the recycle bin (cascade/restrict/clear lookups), or hard."""
        rid = self.normalize_id(record_id, self.schema.get(sobject) if sobject else None)
        obj = self.schema.object_for_id(rid)
        if obj is None or (sobject and obj.name.lower() != sobject.lower()):
            raise not_found()
        self.purge()
        with self.store.write():
            lifecycle.delete(self, obj, rid, user_id, hard=hard)

    @faultable
    def undelete(self, record_id: str, *, user_id: str) -> None:
        with self.store.write():
            lifecycle.undelete(self, record_id, user_id)

    def purge(self) -> None:
        lifecycle.purge(self, int(self.options["recycle_bin_days"]))

    def note_purge(self, cutoff: str) -> None:
        self._data["deleted_purged_before"] = cutoff
        self._save()

    @property
    def earliest_deleted_available(self) -> datetime:
        purged = self._data.get("deleted_purged_before")
        return max(self.created_at, parse_datetime(purged)) if purged else self.created_at

    # --- reads ---------------------------------------------------------------------------

    def _field_list(self, obj: ObjectSpec, fields: list[str] | None) -> list[FieldSpec] | None:
        if fields is None:
            return None
        specs: list[FieldSpec] = []
        for name in fields:
            spec = self.schema.field(obj.name, name.strip())
            if spec is None:
                raise SalesforceError(
                    "INVALID_FIELD", _INVALID_COLUMN.format(field=name.strip(), obj=obj.name)
                )
            if spec not in specs:
                specs.append(spec)
        if not any(s.name == "Id" for s in specs):
            specs.append(obj.fields[0])
        return specs

    def get(
        self, sobject: str, record_id: str, fields: list[str] | None = None, *, api_version: str = "62.0"
    ) -> dict:
        obj = self.schema.require(sobject)
        specs = self._field_list(obj, fields)
        rid = self.normalize_id(record_id, obj)
        rec = self.store.get_record(rid)
        if rec is None or rec[0] != self.org_id or rec[1] != obj.name or rec[2]:
            raise not_found()
        shaper = self.shaper(obj)
        return shaper.rest(shaper.full(rec[3]), api_version, specs)

    def get_by_external_id(
        self,
        sobject: str,
        ext_field: str,
        value: str,
        fields: list[str] | None = None,
        *,
        api_version: str = "62.0",
    ) -> dict:
        obj = self.schema.require(sobject)
        spec = self.schema.field(obj.name, ext_field)
        if spec is None or not (spec.external_id or spec.id_lookup):
            raise unknown_external_id_field(ext_field)
        matches = self.find_by_field(obj, spec, value)
        if len(matches) > 1:
            raise MultipleMatchesError(obj.name, spec.name, str(value), matches)
        if not matches:
            raise not_found()
        return self.get(obj.name, matches[0], fields, api_version=api_version)

    def get_blob(self, sobject: str, record_id: str, field: str) -> bytes:
        """Raw bytes of a base64 field (``/sobjects/Attachment/{id}/Body``)."""
        return b"".join(self.open_blob(sobject, record_id, field)[1])

    def open_blob(self, sobject: str, record_id: str, field: str) -> tuple[int | None, Iterator[bytes]]:
        """(size when the object records it, chunks) of a base64 field, read lazily."""
        obj = self.schema.require(sobject)
        spec = self.schema.field(obj.name, field)
        if spec is None or spec.type != "base64":
            raise not_found()
        rid, row = self.live_record(obj, record_id)
        chunks = blobs.read(self.store, rid, spec.name, row.get(spec.name))
        return blobs.size_of(obj.name, spec.name, row), chunks

    def query(self, soql: str, *, include_deleted: bool = False, api_version: str = "62.0") -> QueryResult:
        from sfemu import query_pages  # SQL pushdown of simple predicates (SystemModstamp windows…)

        return query_pages.run(self, soql, include_deleted=include_deleted, api_version=api_version)

    def record_counts(self, sobjects: list[str] | None = None) -> dict[str, int]:
        """Live rows per object (``/limits/recordCount``); objects without rows omitted."""
        counts = self.store.count_records(self.org_id)
        if sobjects is None:
            return counts
        wanted = {s.lower() for s in sobjects}
        return {k: v for k, v in counts.items() if k.lower() in wanted}

    def get_updated(self, sobject: str, start: datetime, end: datetime) -> dict:
        return replication.get_updated(self, sobject, start, end)

    def get_deleted(self, sobject: str, start: datetime, end: datetime) -> dict:
        return replication.get_deleted(self, sobject, start, end)

    # --- limits --------------------------------------------------------------------------

    def count_api_call(self, kind: str = "REST", n: int = 1) -> None:
        """Meter one API call; REQUEST_LIMIT_EXCEEDED (403) once a Developer/trial/sandbox
        org used its daily allocation (the refused call is not counted)."""
        self.check_api_limit()
        hour = int(self.now().timestamp() // 3600)
        self.store.count_api(self.org_id, hour, kind, n)

    def api_usage_by_kind(self) -> dict[str, int]:
        since = int((self.now() - timedelta(hours=24)).timestamp() // 3600) + 1
        return self.store.api_usage(self.org_id, since)

    def api_usage(self) -> tuple[int, int]:
        """(used in the rolling 24 h, daily max) for ``Sforce-Limit-Info``."""
        return sum(self.api_usage_by_kind().values()), self.api_limit

    @property
    def api_limit(self) -> int:
        override = self._fault_request_limit()
        if override is not None:
            return override
        return self.options["api_daily_limit"] or daily_api_max(self.edition, self.is_sandbox)

    def _fault_request_limit(self) -> int | None:
        """A daily allocation set as a fault (sfemu.faults), always enforced."""
        faults = getattr(self.instance, "faults", None)
        return None if faults is None else faults.get(self.org_id).request_limit

    def check_api_limit(self) -> None:
        """403 REQUEST_LIMIT_EXCEEDED once a Developer/trial/sandbox org used its allocation
        (any org when the allocation is a fault)."""
        used, limit = self.api_usage()
        hard = (
            self.edition in HARD_LIMIT_EDITIONS or self.is_sandbox or self._fault_request_limit() is not None
        )
        if hard and used >= limit:
            raise SalesforceError("REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.", status=403)

    def limits(self) -> dict:
        used = self.api_usage_by_kind()
        return limits_body(
            api_max=self.api_limit,
            api_used=sum(used.values()),
            edition=self.edition,
            record_count=sum(self.store.count_records(self.org_id).values()),
            bulk_batches_used=used.get("bulk_batch", 0),
            bulk_query_jobs_used=used.get("bulk_query_job", 0),
        )

    def __repr__(self) -> str:
        return f"<Org {self.name} {self.org_id}>"

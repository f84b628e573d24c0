"""Insert and update: value parsing, defaults, derived fields, checks, then the write.

Checks run in the order Salesforce reports them: unknown fields, read-only fields, value
types, required fields, lookups, validation rules, duplicates. Nothing is written before
every check passed, so a failed DML leaves the org untouched.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import IO, TYPE_CHECKING, Any

from sfemu import ids
from sfemu.errors import SalesforceError
from sfemu.ids import MASTER_RECORD_TYPE_ID
from sfemu.schema import blobs, files
from sfemu.schema import rules as vrules
from sfemu.schema.custom import format_auto_number
from sfemu.schema.derive import derive
from sfemu.schema.spec import FieldSpec, ObjectSpec
from sfemu.schema.values import coerce, normalize_reference
from sfemu.timeutil import format_datetime

if TYPE_CHECKING:
    from sfemu.org import Org

SERVER_ROLES = frozenset({"created_date", "created_by", "modified_date", "modified_by"})
_NO_REF_ROLES = frozenset({"owner", "created_by", "modified_by", "record_type"})


def not_writable(names: list[str]) -> SalesforceError:
    return SalesforceError(
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        f"Unable to create/update fields: {', '.join(names)}. Please check the security "
        "settings of this field and verify that it is read/write for your profile or "
        "permission set.",
        fields=names,
    )


def key_value(spec: FieldSpec, value: Any) -> str:
    """Normalised value stored in the unique/external-id index."""
    if isinstance(value, float):
        return repr(float(value))
    text = str(value)
    return text if spec.case_sensitive else text.lower()


def keyed(obj: ObjectSpec, spec: FieldSpec) -> bool:
    return spec.unique or spec.external_id


class Writer:
    """The DML pipeline of one org."""

    def __init__(self, org: Org, input_format: str = "json", *, system: bool = False) -> None:
        self.org = org
        self.schema = org.schema
        self.store = org.store
        self.input_format = input_format
        self.system = system  # internal writes (org setup, seed): skip create/update rights
        self._parents: dict[str, dict[str, Any] | None] = {}

    # --- parsing -------------------------------------------------------------------------

    def parse(self, obj: ObjectSpec, values: dict[str, Any], *, creating: bool) -> dict:
        fields = self.schema.fields_by_lower(obj.name)
        out: dict[str, Any] = {}
        blocked: list[str] = []
        for key, raw in values.items():
            if key == "attributes":
                continue
            spec = fields.get(key.lower())
            if spec is None:
                rel_spec, rel_id = self._foreign(obj, key, raw)
                out[rel_spec.name] = rel_id
                continue
            if spec.name == "Id":
                if creating:
                    raise SalesforceError(
                        "INVALID_FIELD_FOR_INSERT_UPDATE",
                        "cannot specify Id in an insert call",
                        fields=["Id"],
                    )
                continue
            writable = spec.createable if creating else spec.updateable
            if not writable and not (self.system and not spec.calculated):
                blocked.append(spec.name)
                continue
            value = coerce(spec, raw, input_format=self.input_format)
            if spec.type == "reference" and value is not None:
                value = normalize_reference(spec, value)
            out[spec.name] = value
        if blocked:
            raise not_writable(blocked)
        return out

    def _foreign(self, obj: ObjectSpec, key: str, raw: Any) -> tuple[FieldSpec, str | None]:
        """``"Account": {"Ext__c": "x"}`` or ``"Account.Ext__c": "x"`` → (AccountId, id)."""
        rel_name, _, ext_name = key.partition(".")
        spec = self.schema.relationship_field(obj, rel_name)
        if spec is None or (not ext_name and not isinstance(raw, dict)):
            raise SalesforceError("INVALID_FIELD", f"No such column '{key}' on sobject of type {obj.name}")
        if ext_name:
            raw = {ext_name: raw}
        target_name = (raw.get("attributes") or {}).get("type") or spec.reference_to[0]
        pairs = [(k, v) for k, v in raw.items() if k != "attributes"]
        target = self.schema.get(target_name)
        if target is None or target.name not in spec.reference_to or len(pairs) != 1:
            raise SalesforceError("INVALID_FIELD", f"Invalid foreign key reference: {key}")
        field_name, value = pairs[0]
        ext = self.schema.field(target.name, field_name)
        if ext is None or not (ext.external_id or ext.id_lookup):
            raise SalesforceError(
                "INVALID_FIELD",
                f"The field name provided, {field_name} is not an External ID "
                f"or indexed field for {target.name}",
            )
        if value is None or value == "":
            return spec, None
        found = self.org.find_by_field(target, ext, value)
        if not found:
            raise SalesforceError(
                "INVALID_FIELD",
                f"Foreign key external ID: {value} not found for field {ext.name} in entity {target.name}",
            )
        if len(found) > 1:
            raise SalesforceError(
                "INVALID_FIELD",
                f"Foreign key external ID: {value} matched more than one "
                f"record for field {ext.name} in entity {target.name}",
            )
        return spec, found[0]

    # --- insert --------------------------------------------------------------------------

    def insert(
        self,
        obj: ObjectSpec,
        values: dict[str, Any],
        user_id: str,
        record_id: str | None = None,
        uploads: dict[str, IO[bytes]] | None = None,
    ) -> str:
        """Insert one row; ``uploads`` are base64 fields sent as files (multipart parts)."""
        if not obj.createable and not self.system:
            raise SalesforceError(
                "INVALID_TYPE_FOR_OPERATION", f"entity type {obj.name} does not support insert"
            )
        parsed = self.parse(obj, values, creating=True)
        sources = self._take_blobs(obj, parsed, uploads)
        rid = record_id or self.org.new_ids(obj, 1)[0]
        stamp = format_datetime(self.org.stamper.next())
        row = self.defaults(obj, parsed, rid, user_id, stamp)
        derive(obj, row, None, stamp, self.parent)
        self.check_required(obj, row, [f for f in obj.fields if f.createable])
        refs = [
            f
            for f in obj.fields
            if f.type == "reference" and row.get(f.name) and (f.name in parsed or f.role not in SERVER_ROLES)
        ]
        for spec in refs:
            self.check_reference(obj, spec, row[spec.name])
        self.check_rules(obj, row, None)
        self._assign_auto_numbers(obj, row)
        keys = self.keys_of(obj, row)
        self.check_unique(obj, keys, rid)
        with self.store.write():
            self._save_blobs(obj, rid, row, sources)
            before = files.BEFORE_INSERT.get(obj.name)
            if before is not None:
                before(self, row, user_id)
            self.write_new(obj, row, keys)
        return rid

    def write_new(self, obj: ObjectSpec, row: dict[str, Any], keys: list[tuple[str, str]]) -> None:
        """Store a new, already checked row with its keys and lookups."""
        rid = row["Id"]
        with self.store.write():
            self.store.insert_records([(rid, self.org.org_id, obj.name, False, row["SystemModstamp"], row)])
            self.store.add_keys((self.org.org_id, obj.name, f, v, rid) for f, v in keys)
            self.store.add_refs((p, rid, f) for f, p in self.refs_of(obj, row))

    def add_platform_row(self, obj: ObjectSpec, values: dict[str, Any], user_id: str) -> str:
        """A row Salesforce creates as a side effect (a file's ContentDocument and links):
        defaults and derived fields, no checks (the triggering DML was checked)."""
        rid = self.org.new_ids(obj, 1)[0]
        stamp = format_datetime(self.org.stamper.next())
        row = self.defaults(obj, values, rid, user_id, stamp)
        derive(obj, row, None, stamp, self.parent)
        self.write_new(obj, row, self.keys_of(obj, row))
        return rid

    def _take_blobs(
        self, obj: ObjectSpec, parsed: dict[str, Any], uploads: dict[str, IO[bytes]] | None
    ) -> dict[str, Iterable[bytes]]:
        """Move base64 values (and uploaded files) out of ``parsed``; the row keeps a marker."""
        sources: dict[str, Iterable[bytes]] = {}
        for f in obj.fields:
            if f.type == "base64" and parsed.get(f.name) is not None:
                sources[f.name] = blobs.base64_chunks(parsed[f.name])
        for name, source in (uploads or {}).items():
            spec = self.schema.field(obj.name, name)
            if spec is None or spec.type != "base64":
                raise SalesforceError(
                    "INVALID_FIELD", f"No such column '{name}' on sobject of type {obj.name}"
                )
            sources[spec.name] = blobs.file_chunks(source)
        for name in sources:
            parsed[name] = blobs.STORED
        return sources

    def _save_blobs(
        self, obj: ObjectSpec, rid: str, row: dict[str, Any], sources: dict[str, Iterable[bytes]]
    ) -> None:
        for name, chunks in sources.items():
            size, md5 = blobs.save(self.store, rid, name, chunks)
            blobs.fill_stats(obj.name, name, row, size, md5)

    def insert_many(
        self,
        obj: ObjectSpec,
        rows: list[dict[str, Any]],
        user_id: str,
        *,
        stamps: list[str] | None = None,
        check_references: bool = True,
    ) -> list[str]:
        """Insert many rows in one transaction with ``executemany`` (seed data, bulk loads).

        ``stamps`` (increasing wire datetimes) back-date the rows: they become CreatedDate,
        LastModifiedDate and SystemModstamp. Without them every row gets the same stamp, as
        Salesforce stamps the records of one transaction. Any failing row aborts the whole batch.
        """
        rids = self.org.new_ids(obj, len(rows))
        records: list[tuple] = []
        keys: list[tuple[str, str, str, str, str]] = []
        refs: list[tuple[str, str, str]] = []
        batch_keys: set[tuple[str, str]] = set()
        sources: list[tuple[str, dict, dict[str, Iterable[bytes]]]] = []
        shared = None if stamps else format_datetime(self.org.stamper.next())
        for i, (rid, values) in enumerate(zip(rids, rows, strict=True)):
            parsed = self.parse(obj, values, creating=True)
            row_blobs = self._take_blobs(obj, parsed, None)
            stamp = stamps[i] if stamps else shared
            row = self.defaults(obj, parsed, rid, user_id, stamp)
            if row_blobs:
                sources.append((rid, row, row_blobs))
            derive(obj, row, None, stamp, self.parent)
            self.check_required(obj, row, [f for f in obj.fields if f.createable])
            if check_references:
                for spec in obj.fields:
                    if (
                        spec.type == "reference"
                        and row.get(spec.name)
                        and (spec.name in parsed or spec.role not in SERVER_ROLES)
                    ):
                        self.check_reference(obj, spec, row[spec.name])
            self.check_rules(obj, row, None)
            self._assign_auto_numbers(obj, row)
            row_keys = self.keys_of(obj, row)
            self.check_unique(obj, row_keys, rid)
            for name, value in row_keys:
                spec = obj.field(name)
                if spec is not None and spec.unique and (name, value) in batch_keys:
                    raise duplicate_error(obj, spec, rid)
                batch_keys.add((name, value))
            records.append((rid, self.org.org_id, obj.name, False, row["SystemModstamp"], row))
            keys += [(self.org.org_id, obj.name, f, v, rid) for f, v in row_keys]
            refs += [(p, rid, f) for f, p in self.refs_of(obj, row)]
            self._parents[rid] = row
        with self.store.write():
            for rid, row, row_blobs in sources:
                self._save_blobs(obj, rid, row, row_blobs)
            self.store.insert_records(records)
            self.store.add_keys(keys)
            self.store.add_refs(refs)
        if stamps:
            from sfemu.timeutil import parse_datetime

            self.org.stamper.observe(parse_datetime(stamps[-1]))
        return rids

    def defaults(self, obj: ObjectSpec, parsed: dict, rid: str, user_id: str, stamp: str) -> dict[str, Any]:
        row: dict[str, Any] = {"Id": rid, "IsDeleted": False}
        for f in obj.fields:
            if f.default_value is not None and not f.calculated and f.role != "deleted":
                row[f.name] = f.default_value
            elif f.type == "picklist" and f.defaulted_on_create:
                row[f.name] = next((p.value for p in f.picklist if p.default), None)
        row.update(parsed)
        audit = {"created_date": stamp, "modified_date": stamp, "created_by": user_id, "modified_by": user_id}
        for f in obj.fields:
            if f.role in audit and row.get(f.name) is None:
                row[f.name] = audit[f.role]
            elif f.role == "owner" and row.get(f.name) is None:
                row[f.name] = user_id
            elif f.role == "record_type" and "RecordTypeId" not in parsed:
                row[f.name] = self.org.default_record_type(obj.name)
            elif f.role == "clean_status" and row.get(f.name) is None:
                row[f.name] = "Pending"
        if obj.field("LastModifiedDate") and "LastModifiedDate" not in parsed:
            row["LastModifiedDate"] = row.get("CreatedDate", stamp)
        row["SystemModstamp"] = stamp
        if obj.field("LastViewedDate"):
            row["LastViewedDate"] = row["LastReferencedDate"] = stamp
        name = obj.field("Name")
        if name is not None and name.role == "custom_name" and not row.get("Name"):
            row["Name"] = rid
        return row

    def _assign_auto_numbers(self, obj: ObjectSpec, row: dict[str, Any]) -> None:
        for f in obj.fields:
            if f.auto_number and row.get(f.name) is None:
                n = self.store.next_counter(self.org.org_id, f"auto:{obj.name}.{f.name}", f.auto_number_start)
                row[f.name] = format_auto_number(f.auto_number_format or "{0}", n)

    # --- update --------------------------------------------------------------------------

    def update(self, obj: ObjectSpec, record_id: str, values: dict[str, Any], user_id: str) -> None:
        rid, old = self.org.live_record(obj, record_id)
        parsed = self.parse(obj, values, creating=False)
        sources = self._take_blobs(obj, parsed, None)
        if obj.name == "Lead" and old.get("IsConverted"):
            raise SalesforceError(
                "CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead", fields=[]
            )
        stamp = format_datetime(self.org.stamper.next())
        row = {**old, **parsed}
        if obj.field("LastModifiedDate"):
            row["LastModifiedDate"] = stamp
        if obj.field("LastModifiedById"):
            row["LastModifiedById"] = user_id
        row["SystemModstamp"] = stamp
        derive(obj, row, old, stamp, self.parent)
        touched = [f for f in obj.fields if f.name in parsed]
        self.check_required(obj, row, touched)
        changed_refs = [
            f
            for f in touched
            if f.type == "reference" and row.get(f.name) and row.get(f.name) != old.get(f.name)
        ]
        for spec in changed_refs:
            self.check_reference(obj, spec, row[spec.name])
        self.check_rules(obj, row, old)
        keys = self.keys_of(obj, row)
        if keys != self.keys_of(obj, old):
            self.check_unique(obj, keys, rid)
        with self.store.write():
            self._save_blobs(obj, rid, row, sources)
            self.store.replace_record(rid, False, stamp, row)
            self.store.set_keys(self.org.org_id, obj.name, rid, keys)
            if changed_refs or any(f.type == "reference" for f in touched):
                self.store.set_refs(rid, self.refs_of(obj, row))

    # --- checks --------------------------------------------------------------------------

    def check_required(self, obj: ObjectSpec, row: dict, candidates: list[FieldSpec]) -> None:
        missing = [
            f.name
            for f in candidates
            if not f.nillable
            and not f.defaulted_on_create
            and f.type != "boolean"
            and not f.calculated
            and row.get(f.name) in (None, "")
        ]
        if missing:
            raise SalesforceError(
                "REQUIRED_FIELD_MISSING",
                f"Required fields are missing: [{', '.join(missing)}]",
                fields=missing,
            )

    def parent(self, record_id: str | None) -> dict[str, Any] | None:
        """A referenced row (cached for the duration of one DML)."""
        if not record_id:
            return None
        if record_id not in self._parents:
            rec = self.store.get_record(record_id)
            ok = rec is not None and rec[0] == self.org.org_id
            self._parents[record_id] = rec[3] if ok else None
        return self._parents[record_id]

    def check_reference(self, obj: ObjectSpec, spec: FieldSpec, value: str) -> None:
        if spec.role == "record_type":
            self._check_record_type(obj, spec, value)
            return
        target = self.schema.object_for_id(value)
        if target is None or target.name not in spec.reference_to:
            raise SalesforceError(
                "FIELD_INTEGRITY_EXCEPTION",
                f"{spec.label}: id value of incorrect type: {value}",
                fields=[spec.name],
            )
        rec = self.store.get_record(value)
        if rec is None or rec[0] != self.org.org_id:
            raise SalesforceError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", fields=[])
        self._parents[value] = rec[3]
        if rec[2]:
            raise SalesforceError("ENTITY_IS_DELETED", "entity is deleted", fields=[])
        if spec.role == "owner" and target.name == "User" and not rec[3].get("IsActive", True):
            raise SalesforceError(
                "INACTIVE_OWNER_OR_USER", "operation performed with inactive user", fields=[]
            )

    def _check_record_type(self, obj: ObjectSpec, spec: FieldSpec, value: str) -> None:
        if value == MASTER_RECORD_TYPE_ID:
            return
        rec = self.store.get_record(value)
        ok = (
            rec is not None
            and rec[0] == self.org.org_id
            and rec[1] == "RecordType"
            and rec[3].get("SobjectType") == obj.name
            and rec[3].get("IsActive")
        )
        if not ok:
            raise SalesforceError(
                "INVALID_CROSS_REFERENCE_KEY",
                f"Record Type ID: this ID value isn't valid for the user: {value}",
                fields=[spec.name],
            )

    def check_rules(self, obj: ObjectSpec, row: dict, old: dict | None) -> None:
        for rule in self.org.validation_rules(obj.name):
            if vrules.fires(rule, row, old):
                raise vrules.error(rule)

    def keys_of(self, obj: ObjectSpec, row: dict) -> list[tuple[str, str]]:
        return [
            (f.name, key_value(f, row[f.name]))
            for f in obj.fields
            if keyed(obj, f) and row.get(f.name) not in (None, "")
        ]

    def check_unique(self, obj: ObjectSpec, keys: list[tuple[str, str]], rid: str) -> None:
        for name, value in keys:
            spec = obj.field(name)
            if spec is None or not spec.unique:
                continue
            scope = None if (obj.name, name) == ("User", "Username") else self.org.org_id
            others = [i for i in self.store.find_keys(scope, obj.name, name, value) if i != rid]
            if others:
                raise duplicate_error(obj, spec, others[0])

    def refs_of(self, obj: ObjectSpec, row: dict) -> list[tuple[str, str]]:
        return [
            (f.name, row[f.name])
            for f in obj.fields
            if f.type == "reference" and f.role not in _NO_REF_ROLES and row.get(f.name)
        ]


def duplicate_error(obj: ObjectSpec, spec: FieldSpec, other_id: str) -> SalesforceError:
    if (obj.name, spec.name) == ("User", "Username"):
        return SalesforceError(
            "DUPLICATE_USERNAME",
            "Duplicate Username.<br>The username already exists in this or another Salesforce "
            "organization. Usernames must be unique across all Salesforce organizations. To "
            "resolve, use a different username (it doesn't need to match the user's email "
            "address).",
            fields=["Username"],
        )
    if (obj.name, spec.name) == ("User", "CommunityNickname"):
        return SalesforceError(
            "DUPLICATE_COMM_NICKNAME",
            "Duplicate Nickname.<br>Another user has already selected this nickname.<br>"
            "Please select another.",
            fields=["CommunityNickname"],
        )
    return SalesforceError(
        "DUPLICATE_VALUE",
        f"duplicate value found: {spec.name} duplicates value on record with id: {ids.to_15(other_id)}",
        fields=[],
    )

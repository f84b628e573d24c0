"""Delete (recycle bin, cascade, restrict, lookup clearing), undelete, hard delete, purge."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from sfemu.errors import SalesforceError
from sfemu.schema.dml import Writer, duplicate_error
from sfemu.schema.spec import ObjectSpec
from sfemu.timeutil import format_datetime

if TYPE_CHECKING:
    from sfemu.org import Org


@dataclass
class DeletePlan:
    """Rows a delete touches: deleted (root first), and lookups to clear."""

    deleted: list[tuple[str, str, dict]] = field(default_factory=list)  # (id, sobject, row)
    cleared: list[tuple[str, str, str]] = field(default_factory=list)  # (child, field, parent)


def plan_delete(org: Org, root_id: str, root_obj: ObjectSpec, root_row: dict) -> DeletePlan:
    plan = DeletePlan([(root_id, root_obj.name, root_row)])
    seen = {root_id}
    frontier = [root_id]
    restricted: list[tuple[str, str]] = []
    while frontier:
        links = org.store.children_of(frontier)
        frontier = []
        rows = org.store.get_records([c for _, c, _ in links])
        for parent_id, child_id, fname in links:
            rec = rows.get(child_id)
            if rec is None or rec[2] or child_id in seen:
                continue
            spec = org.schema.field(rec[1], fname)
            if spec is None or rec[3].get(fname) != parent_id:
                continue
            if spec.cascade_delete:
                seen.add(child_id)
                plan.deleted.append((child_id, rec[1], rec[3]))
                frontier.append(child_id)
            elif spec.restricted_delete:
                restricted.append((child_id, rec[1]))
            else:
                plan.cleared.append((child_id, fname, parent_id))
    blocking = [(c, o) for c, o in restricted if c not in seen]
    if blocking:
        raise _restricted(org, root_row, blocking)
    plan.cleared = [c for c in plan.cleared if c[0] not in seen]
    return plan


def _restricted(org: Org, root_row: dict, blocking: list[tuple[str, str]]) -> SalesforceError:
    child_obj = org.schema.require(blocking[0][1])
    rows = org.store.get_records([c for c, _ in blocking])
    name_field = next((f.name for f in child_obj.fields if f.name_field), "Id")
    labels = ", ".join(str(rows[c][3].get(name_field) or c) for c, _ in blocking if c in rows)
    return SalesforceError(
        "DELETE_FAILED",
        f"Your attempt to delete {root_row.get('Name') or root_row['Id']} could not be "
        f"completed because it is associated with the following "
        f"{child_obj.label_plural.lower()}.: {labels}",
        fields=[],
    )


def delete(org: Org, obj: ObjectSpec, record_id: str, user_id: str, *, hard: bool) -> None:
    if not obj.deletable:
        raise SalesforceError("INVALID_TYPE_FOR_OPERATION", f"entity type {obj.name} does not support delete")
    rid, row = org.live_record(obj, record_id)
    plan = plan_delete(org, rid, obj, row)
    store = org.store
    with store.write():
        _clear_lookups(org, plan.cleared)
        if hard:
            ids = [i for i, _, _ in plan.deleted]
            stamp = format_datetime(org.stamper.next())
            store.delete_records(ids)
            store.log_deleted((org.org_id, o, stamp, i) for i, o, _ in plan.deleted)
            return
        log, binned = [], []
        for child_id, sobject, data in plan.deleted:
            stamp = format_datetime(org.stamper.next())
            data = {**data, "IsDeleted": True, "SystemModstamp": stamp}
            if "LastModifiedDate" in data:
                data["LastModifiedDate"], data["LastModifiedById"] = stamp, user_id
            store.replace_record(child_id, True, stamp, data)
            log.append((org.org_id, sobject, stamp, child_id))
            cleared = plan.cleared if child_id == rid else []
            binned.append((child_id, org.org_id, rid, sobject, stamp, cleared))
        store.log_deleted(log)
        store.bin_add(binned)


def _clear_lookups(org: Org, cleared: list[tuple[str, str, str]]) -> None:
    if not cleared:
        return
    rows = org.store.get_records([c for c, _, _ in cleared])
    for child_id, fname, _parent in cleared:
        _, _sobject, deleted, data = rows[child_id]
        data[fname] = None
        stamp = format_datetime(org.stamper.next())
        data["SystemModstamp"] = stamp
        org.store.replace_record(child_id, deleted, stamp, data)
        org.store.set_refs(child_id, [(f, v) for f, v in _refs(org, _sobject, data)])


def _refs(org: Org, sobject: str, data: dict) -> Iterator[tuple[str, str]]:
    obj = org.schema.require(sobject)
    return iter(Writer(org).refs_of(obj, data))


def undelete(org: Org, record_id: str, user_id: str) -> str:
    rid = org.normalize_id(record_id, None)
    rec = org.store.get_record(rid)
    if rec is None or rec[0] != org.org_id:
        raise SalesforceError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", fields=[])
    entry = org.store.bin_entry(rid)
    if not rec[2] or entry is None:
        raise SalesforceError("UNDELETE_FAILED", "Entity is not in the recycle bin", fields=[])
    root = entry[0]
    group = org.store.bin_group(root) if root == rid else [(rid, rec[1], [])]
    rows = org.store.get_records([g[0] for g in group])
    writer = Writer(org)
    for gid, sobject, _ in group:
        obj = org.schema.require(sobject)
        data = rows[gid][3]
        for name, value in writer.keys_of(obj, data):
            spec = obj.field(name)
            others = [i for i in org.store.find_keys(org.org_id, sobject, name, value) if i != gid]
            if spec is not None and spec.unique and others:
                raise duplicate_error(obj, spec, others[0])
    with org.store.write():
        for gid, _sobject, cleared in group:
            stamp = format_datetime(org.stamper.next())
            data = {**rows[gid][3], "IsDeleted": False, "SystemModstamp": stamp}
            if "LastModifiedDate" in data:
                data["LastModifiedDate"], data["LastModifiedById"] = stamp, user_id
            org.store.replace_record(gid, False, stamp, data)
            _restore_lookups(org, cleared)
        ids = [g[0] for g in group]
        org.store.unlog_deleted(ids)
        org.store.bin_remove(ids)
    return rid


def _restore_lookups(org: Org, cleared: list) -> None:
    if not cleared:
        return
    rows = org.store.get_records([c for c, _, _ in cleared])
    for child_id, fname, parent_id in cleared:
        rec = rows.get(child_id)
        if rec is None or rec[3].get(fname) is not None:
            continue
        data = {**rec[3], fname: parent_id}
        stamp = format_datetime(org.stamper.next())
        data["SystemModstamp"] = stamp
        org.store.replace_record(child_id, rec[2], stamp, data)
        org.store.set_refs(child_id, list(_refs(org, rec[1], data)))


def purge(org: Org, days: int) -> None:
    """Empty recycle-bin rows and delete-log entries older than ``days`` days."""
    cutoff = format_datetime(org.now() - timedelta(days=days))
    expired = org.store.bin_expired(org.org_id, cutoff)
    with org.store.write():
        if expired:
            org.store.delete_records(expired)
        if org.store.purge_deleted_log(org.org_id, cutoff) or expired:
            org.note_purge(cutoff)

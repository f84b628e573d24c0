"""The test oracle of two-way sync: compare two orgs after a connection settled.

The integrity tests judge the engine only by what the orgs hold (never by counting errors), so
the oracle reads every live record of the compared objects from both orgs over the domain API and
pairs them by the identity the orgs carry — ``OrgSync_Source_Id__c`` — not by ``RecordLink``,
because the links are part of what is under test:

- a record whose marker is empty is an *origin* in its org;
- a record whose marker holds the Id of an origin in the other org is that origin's *copy*.

Then it sorts what is wrong into four classes (see :class:`Verdict`). Entries name objects,
record Ids and field names, never field values, so a report can go into a CI log as it is.

    verdict = compare_orgs(linked, {"Account": ["Name", "Phone"], "Contact": ["LastName", "AccountId"]})
    assert verdict.counts() == {"missing": 0, "duplicated": 0, "stale": 0, "stuck": 0}, verdict.report()
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.utils import timezone

from replication.models import EXTERNAL_ID_FIELD, QueueStatus, RecordQueueItem
from synclog.models import SyncLog

API_VERSION = "62.0"
EXAMPLES = 20  # per class in report()
SIDES = ("primary", "secondary")


def key(record_id: str | None) -> str:
    """Salesforce Ids compare on their case-sensitive 15-character form (18 = 15 + checksum)."""
    return (record_id or "")[:15]


@dataclass
class Verdict:
    """What is wrong between two orgs, by class. Each entry is one record (or one pair for
    ``stale``), described by object, Ids and field names only."""

    missing: list[str] = field(default_factory=list)
    """An origin with no copy in the other org (and no Failed sync log entry saying why)."""
    duplicated: list[str] = field(default_factory=list)
    """A record that should not exist: an origin's second (third…) copy; a copy whose marker names
    no live origin (an orphan, or a copy that survived its origin's delete); a copy of a copy (a
    record copied back into the org it came from); with ``unique``, a second record with the
    same content on fields that are unique by construction."""
    stale: list[str] = field(default_factory=list)
    """A pair whose compared fields differ (lookups compared through the pairing)."""
    stuck: list[str] = field(default_factory=list)
    """A queue item still In Progress, Queued, or Retrying and due, after settling."""
    explained: list[str] = field(default_factory=list)
    """A record out of sync that has a Failed sync log entry saying why (not counted above)."""
    compared: dict[str, int] = field(default_factory=dict)
    """Pairs compared per object (so that an empty comparison cannot pass for a good one)."""

    def counts(self) -> dict[str, int]:
        return {
            "missing": len(self.missing),
            "duplicated": len(self.duplicated),
            "stale": len(self.stale),
            "stuck": len(self.stuck),
        }

    @property
    def ok(self) -> bool:
        return not any(self.counts().values())

    def summary(self) -> str:
        figures = ", ".join(f"{name} {count}" for name, count in self.counts().items())
        pairs = ", ".join(f"{count:,} {name}" for name, count in self.compared.items()) or "nothing"
        return f"{figures} (pairs compared: {pairs}; explained by a Failed log entry: {len(self.explained)})"

    def report(self, examples: int = EXAMPLES) -> str:
        """The four figures, then up to `examples` entries per class (Ids and field names only)."""
        lines = [f"oracle: {self.summary()}"]
        for name in ("missing", "duplicated", "stale", "stuck", "explained"):
            entries: list[str] = getattr(self, name)
            if not entries:
                continue
            lines.append(f"{name} ({len(entries)}):")
            lines.extend(f"  {entry}" for entry in entries[:examples])
            if len(entries) > examples:
                lines.append(f"  … and {len(entries) - examples} more")
        return "\n".join(lines)


@dataclass
class _Record:
    side: str  # "primary" or "secondary": the org it lives in
    sobject: str
    id: str
    marker: str  # OrgSync_Source_Id__c ("" for an origin)
    created: str
    values: dict[str, Any]

    def __str__(self) -> str:
        return f"{self.sobject} {self.id} ({self.side})"


@dataclass
class _Index:
    """Every live record of the compared objects in both orgs, by Id key."""

    records: dict[str, _Record] = field(default_factory=dict)
    by_object: dict[tuple[str, str], list[_Record]] = field(default_factory=lambda: defaultdict(list))
    deleted_copies: dict[str, str] = field(default_factory=dict)  # origin key → deleted copy's Id


def compare_orgs(
    linked,
    objects: dict[str, list[str]],
    *,
    unique: dict[str, list[str]] | None = None,
) -> Verdict:
    """Compare `objects` (object name, the same in both orgs → fields to compare) between
    ``linked.primary`` and ``linked.secondary`` (a :class:`tests.replication.conftest.LinkedOrgs`).

    `unique` optionally names, per object, fields whose values a test made unique per logical
    record (say a token in Name): two records of one org with the same values there are a
    duplicate even when their markers do not show it (a copy written back without its marker).
    """
    orgs = {"primary": linked.primary.org, "secondary": linked.secondary.org}
    index = _read(orgs, objects)
    references = {
        sobject: _reference_fields(orgs["primary"], sobject, fields) for sobject, fields in objects.items()
    }
    failed = _failed_log_keys(linked.connection)
    verdict = Verdict(compared=dict.fromkeys(objects, 0))
    flagged: set[str] = set()  # keys of records already counted as duplicated
    pairs: list[tuple[_Record, _Record]] = []
    counterpart: dict[str, _Record] = {}

    for sobject in objects:
        for side in SIDES:
            other = _other(side)
            copies: dict[str, list[_Record]] = defaultdict(list)
            for record in index.by_object[(other, sobject)]:
                if record.marker:
                    copies[key(record.marker)].append(record)
            for origin in index.by_object[(side, sobject)]:
                if origin.marker:
                    continue
                found = sorted(copies.pop(key(origin.id), []), key=lambda r: (r.created, r.id))
                if not found:
                    _missing(verdict, origin, other, index, failed)
                    continue
                copy, extra = found[0], found[1:]
                pairs.append((origin, copy))
                verdict.compared[sobject] = verdict.compared.get(sobject, 0) + 1
                counterpart[key(origin.id)] = copy
                counterpart[key(copy.id)] = origin
                for duplicate in extra:
                    counterpart[key(duplicate.id)] = origin
                    flagged.add(key(duplicate.id))
                    verdict.duplicated.append(f"{duplicate}: a second copy of {origin}")
            for marker, orphans in copies.items():  # copies whose marker names no origin over there
                for orphan in orphans:
                    flagged.add(key(orphan.id))
                    verdict.duplicated.append(f"{orphan}: {_orphan_reason(orphan, marker, index)}")

    if unique:
        _content_duplicates(verdict, index, unique, flagged)

    for origin, copy in pairs:
        differing = [
            name
            for name in objects[origin.sobject]
            if not _same(origin, copy, name, name in references[origin.sobject], counterpart)
        ]
        if not differing:
            continue
        entry = f"{origin} ⇄ {copy.id}: differ in {', '.join(differing)}"
        explanation = failed.get(key(origin.id)) or failed.get(key(copy.id))
        if explanation:
            verdict.explained.append(f"{entry}; {explanation}")
        else:
            verdict.stale.append(entry)

    verdict.stuck = _stuck_items(linked.connection)
    return verdict


def _other(side: str) -> str:
    return "secondary" if side == "primary" else "primary"


def _read(orgs: dict[str, Any], objects: dict[str, list[str]]) -> _Index:
    index = _Index()
    for side, org in orgs.items():
        for sobject, fields in objects.items():
            names = {f["name"] for f in org.describe(sobject, api_version=API_VERSION)["fields"]}
            has_marker = EXTERNAL_ID_FIELD in names
            wanted = ["Id", "CreatedDate", *([EXTERNAL_ID_FIELD] if has_marker else []), *fields]
            columns = ", ".join(dict.fromkeys(wanted))
            rows = org.query(
                f"SELECT {columns} FROM {sobject}", include_deleted=False, api_version=API_VERSION
            ).records
            for row in rows:
                record = _Record(
                    side=side,
                    sobject=sobject,
                    id=row["Id"],
                    marker=(row.get(EXTERNAL_ID_FIELD) or "") if has_marker else "",
                    created=row.get("CreatedDate") or "",
                    values={name: row.get(name) for name in fields},
                )
                index.records[key(record.id)] = record
                index.by_object[(side, sobject)].append(record)
            if has_marker:  # copies in the recycle bin: tell "never copied" from "delete not carried"
                deleted = org.query(
                    f"SELECT Id, {EXTERNAL_ID_FIELD} FROM {sobject} WHERE IsDeleted = true",
                    include_deleted=True,
                    api_version=API_VERSION,
                ).records
                for row in deleted:
                    if row.get(EXTERNAL_ID_FIELD):
                        index.deleted_copies[key(row[EXTERNAL_ID_FIELD])] = row["Id"]
    return index


def _reference_fields(org: Any, sobject: str, fields: list[str]) -> set[str]:
    describe = {f["name"]: f for f in org.describe(sobject, api_version=API_VERSION)["fields"]}
    return {name for name in fields if describe.get(name, {}).get("type") == "reference"}


def _failed_log_keys(connection) -> dict[str, str]:
    """Record Id key → why it could not be synced, from open Failed sync log entries."""
    explanations: dict[str, str] = {}
    entries = SyncLog.objects.filter(connection=connection, status=SyncLog.Status.FAILED)
    for entry in entries.only("pk", "source_id", "target_id", "error_code", "direction"):
        why = f"Failed {entry.error_code or 'without a code'} (sync log #{entry.pk}, {entry.direction})"
        for record_id in (entry.source_id, entry.target_id):
            if record_id:
                explanations.setdefault(key(record_id), why)
    return explanations


def _missing(verdict: Verdict, origin: _Record, other: str, index: _Index, failed: dict[str, str]) -> None:
    deleted = index.deleted_copies.get(key(origin.id))
    if deleted:
        entry = f"{origin}: its copy {deleted} was deleted in the {other}, the delete never came back"
    else:
        entry = f"{origin}: no copy in the {other}"
    explanation = failed.get(key(origin.id))
    if explanation:
        verdict.explained.append(f"{entry}; {explanation}")
    else:
        verdict.missing.append(entry)


def _orphan_reason(orphan: _Record, marker: str, index: _Index) -> str:
    named = index.records.get(marker)
    if named is None:
        return (
            f"its {EXTERNAL_ID_FIELD} names no live record (an orphan, or a copy that survived its "
            "origin's delete)"
        )
    if named.side == orphan.side:
        return f"its {EXTERNAL_ID_FIELD} names a record of its own org, {named}"
    if named.marker:
        return f"a copy of a copy: it was copied from {named}, itself a copy of {named.marker}"
    return f"its {EXTERNAL_ID_FIELD} names {named}, of another object"


def _content_duplicates(
    verdict: Verdict, index: _Index, unique: dict[str, list[str]], flagged: set[str]
) -> None:
    """Records of one org that agree on fields unique by construction: all but the oldest are
    extra (each record is counted once, whatever else already flagged it)."""
    for (side, sobject), records in index.by_object.items():
        fields = unique.get(sobject)
        if not fields:
            continue
        groups: dict[tuple, list[_Record]] = defaultdict(list)
        for record in records:
            values = tuple(record.values.get(name) for name in fields)
            if all(v in (None, "") for v in values):
                continue
            groups[values].append(record)
        names = ", ".join(fields)
        for group in groups.values():
            if len(group) < 2:
                continue
            group.sort(key=lambda r: (r.created, r.id))
            first = group[0]
            for record in group[1:]:
                if key(record.id) in flagged:
                    continue
                flagged.add(key(record.id))
                verdict.duplicated.append(f"{record}: the same {names} as {first.id} in the {side}")


def _same(origin: _Record, copy: _Record, name: str, is_reference: bool, counterpart: dict) -> bool:
    mine, theirs = _blank(origin.values.get(name)), _blank(copy.values.get(name))
    if not is_reference:
        return mine == theirs
    if mine is None or theirs is None:
        return mine is None and theirs is None
    parent = counterpart.get(key(mine))
    if parent is not None:
        return key(parent.id) == key(theirs)
    # The parent is not a compared record (another object) or has no counterpart: only the very
    # same Id can be right (a shared record such as a user is never the case across two orgs).
    return key(mine) == key(theirs)


def _blank(value: Any) -> Any:
    return None if value == "" else value


def _stuck_items(connection) -> list[str]:
    now = timezone.now()
    stuck = RecordQueueItem.objects.filter(connection=connection).filter(
        Q(status__in=[QueueStatus.IN_PROGRESS, QueueStatus.QUEUED])
        | Q(status=QueueStatus.RETRYING, next_retry_at__lte=now)
        | Q(status=QueueStatus.RETRYING, next_retry_at__isnull=True)
    )
    return [
        f"queue item #{item.pk} {item.direction} {item.source_object} {item.source_id}: "
        f"{item.get_status_display()} ({item.get_action_display()}, {item.attempts} attempt(s))"
        for item in stuck.order_by("enqueued_at", "id")
    ]

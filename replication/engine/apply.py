"""Apply: write claimed queue items into the target org and record each record's outcome.

Parents before children (plan order). Inserts are upserts on OrgSync_Source_Id__c, so a replayed
batch never duplicates; updates of linked records go by Id; up to five 200-record collection
writes travel in one composite call. Writes that would change nothing (the echo of a change we
made) are skipped by comparing keyed hashes.
"""

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.utils import timezone

from connections import services as connection_services
from connections.client import (
    COLLECTION_SIZE,
    MAX_COMPOSITE_COLLECTIONS,
    MAX_COMPOSITE_QUERIES,
    CollectionWrite,
)
from connections.client_errors import (
    RETRYABLE_CODES,
    RecordResult,
    RetryableError,
    SalesforceApiError,
    error_from_body,
)
from connections.models import Connection
from replication.engine import bulk_apply, queue
from replication.engine.conflicts import decide_stale_target
from replication.engine.context import EngineContext
from replication.engine.identity import Pair, PairOutcome, link_pair
from replication.engine.lease import LeaseLost
from replication.engine.links import LinkIndex, LinkWrite
from replication.engine.payloads import (
    Payload,
    audit_user_ids,
    audit_values,
    build_payload,
    referenced_ids,
    source_digest,
    target_digest,
)
from replication.engine.plans import ASSIGN_ON_INSERT_ONLY, AUDIT_FIELDS, OWNER_FIELD, ObjectPlan, opposite
from replication.engine.runs import RunCounter
from replication.models import (
    EXTERNAL_ID_FIELD,
    Direction,
    QueueAction,
    QueueStatus,
    RecordLink,
    RecordQueueItem,
)
from replication.owners import soql_string
from synclog.redact import safe_message
from synclog.services import log_attempt_failed, log_resolved

logger = logging.getLogger(__name__)
PARENT_WAIT = timedelta(seconds=5)
READ_FAILURE_WAIT = timedelta(seconds=30)
BULK_APPLY_BATCH = 10_000  # items claimed at once while an object's backlog goes Bulk
MAX_APPLY_ROUNDS = 20
BULK_MINIMUM = 1000  # fewer writes of an object fit one composite call: cheaper than a job
RECORDED_TOGETHER = 2000  # outcomes of a Bulk job recorded in one transaction
READ_CHUNK = 300  # ids per query: keeps the GET under Salesforce's 16 KB URI limit
TARGET_GONE = {"ENTITY_IS_DELETED", "NOT_FOUND", "INVALID_CROSS_REFERENCE_KEY"}
SUSPENDING_CODES = {"REQUEST_LIMIT_EXCEEDED", "SERVER_UNAVAILABLE", "UNREACHABLE"}
# What ends the cycle instead of one record: the lease is gone, or the database is.
CYCLE_STOPS = (LeaseLost, OperationalError, InterfaceError)


class ConnectionUnavailable(Exception):
    """An org refused or could not be reached; the connection was suspended automatically."""


@dataclass
class Entry:
    item: RecordQueueItem
    payload: Payload | None = None
    link: RecordLink | None = None
    target_id: str = ""


@dataclass
class Ops:
    upserts: list[Entry] = field(default_factory=list)
    updates: list[Entry] = field(default_factory=list)
    deletes: list[Entry] = field(default_factory=list)
    undeletes: list[Entry] = field(default_factory=list)
    adopts: list[Entry] = field(default_factory=list)  # our own copies with no link (identity.py)
    unlinked_deletes: list[Entry] = field(default_factory=list)  # deleted, no link: a copy may exist
    in_sync: list[Entry] = field(default_factory=list)  # the target holds the payload: nothing to write
    gone: list[RecordQueueItem] = field(default_factory=list)  # deleted in the source, no copy: nothing to do


@dataclass(eq=False)  # one job each: found in the in-flight list by identity
class PendingIngest:
    """A Bulk job of one batch, submitted and not read back yet: its items stay In Progress."""

    applier: "Applier"
    plan: ObjectPlan
    kind: str
    entries: list[Entry]
    links: LinkIndex
    job: bulk_apply.IngestJob


def apply_queue(
    ctx: EngineContext,
    connection: Connection,
    direction: str,
    plans: list[ObjectPlan],
    counter: RunCounter,
    fresh: dict[str, dict],
) -> int:
    """Rounds of `Applier` until nothing is ready (at most MAX_APPLY_ROUNDS); returns the items
    taken. Pipelined on a big backlog: a round's Bulk jobs are read back once the next round has
    submitted its own, so Salesforce processes one batch while the engine claims, reads and
    plans the next. Every job is read back before this returns; a cycle that stops on the way
    (its lease lost, the connection suspended) leaves its items claimed, as a crash would."""
    in_flight: list[PendingIngest] = []
    taken = 0
    for _ in range(MAX_APPLY_ROUNDS):
        earlier = list(in_flight)
        round_taken = Applier(ctx, connection, direction, plans, counter, fresh, in_flight).run()
        for pending in earlier:
            if pending in in_flight:  # not read back already by the round (another object)
                pending.applier.settle(pending)
        taken += round_taken
        if not round_taken and not earlier:
            break
    settle_all(in_flight)
    return taken


def settle_all(in_flight: list[PendingIngest]) -> None:
    """Read back every job in flight (each removes itself from the list)."""
    while in_flight:
        pending = in_flight[0]
        pending.applier.settle(pending)


class Applier:
    def __init__(
        self,
        ctx: EngineContext,
        connection: Connection,
        direction: str,
        plans: list[ObjectPlan],
        counter: RunCounter,
        fresh: dict[str, dict],
        in_flight: list[PendingIngest],
    ) -> None:
        self.ctx, self.connection, self.direction = ctx, connection, direction
        self.plans, self.counter, self.fresh = plans, counter, fresh
        self.bulk_objects: set[str] = set()  # objects whose backlog goes through Bulk jobs this run
        # Bulk jobs submitted and not read back yet, the previous round's and this round's
        # (`apply_queue` reads them back).
        self.in_flight = in_flight

    def run(self, *, limit: int = 2000) -> int:
        """Apply up to `limit` ready items (BULK_APPLY_BATCH when an object's backlog goes
        Bulk); return how many were taken."""
        self.bulk_objects = self._big_backlogs()
        if self.bulk_objects:
            limit = max(limit, BULK_APPLY_BATCH)
        items = queue.claim(
            self.connection, self.direction, self.ctx.worker, limit=limit, fence=self.ctx.fence
        )
        by_object: dict[str, list[RecordQueueItem]] = defaultdict(list)
        for item in items:
            if queue.is_connection_event(item):
                queue.complete(item)  # a suspend/resume marker: nothing to write, reached in order
            else:
                by_object[item.source_object].append(item)
        planned = {p.source_object for p in self.plans}
        for orphan in [i for name, its in by_object.items() if name not in planned for i in its]:
            queue.drop(orphan)  # no longer published or subscribed
        if set(by_object) - {p.plan.source_object for p in self.in_flight}:
            # Another object may look up the records in flight: their links must exist first.
            settle_all(self.in_flight)
        for plan in self.plans:
            if by_object.get(plan.source_object):
                self._apply_batch(plan, by_object[plan.source_object])
        return len(items)

    def _big_backlogs(self) -> set[str]:
        """Objects with at least ORGSYNC_BULK_APPLY_THRESHOLD ready items in this direction
        (each count stops at the threshold, so a huge queue costs no more to look at)."""
        threshold = settings.ORGSYNC_BULK_APPLY_THRESHOLD
        if not threshold:
            return set()
        ready = queue.ready_items(self.connection, self.direction)
        return {
            p.source_object
            for p in self.plans
            if ready.filter(source_object=p.source_object)[:threshold].count() >= threshold
        }

    def _apply_batch(self, plan: ObjectPlan, batch: list[RecordQueueItem]) -> None:
        self._guarded(plan, batch, lambda: self._apply_object(plan, batch))

    def _guarded(self, plan: ObjectPlan, batch: list[RecordQueueItem], work: Callable[[], None]) -> None:
        """A read that fails (the source's records, the owners' users) gives the batch back to
        the queue for later; an org outage also suspends the connection. Anything unexpected
        fails the batch's records (with a log entry each), never the cycle."""
        try:
            work()
        except CYCLE_STOPS:
            raise
        except SalesforceApiError as exc:
            logger.warning("apply of %s paused: %s", plan.source_object, safe_message(str(exc)))
            if exc.error_code in SUSPENDING_CODES or exc.status == 503 or isinstance(exc, RetryableError):
                queue.release(self._still_claimed(batch), delay=READ_FAILURE_WAIT)
                self._suspend_if_unavailable(exc)
            else:
                for item in self._still_claimed(batch):
                    self._failed(plan, Entry(item), exc.error_code or "ERROR", exc.message, exc.fields)
        except Exception as exc:
            logger.exception("apply of %s failed", plan.source_object)
            for item in self._still_claimed(batch):
                self._crashed(plan, Entry(item), exc)

    def _still_claimed(self, batch: list[RecordQueueItem]) -> list[RecordQueueItem]:
        mine = set(
            RecordQueueItem.objects.filter(
                pk__in_ids=[i.pk for i in batch], status=QueueStatus.IN_PROGRESS
            ).values_list("pk", flat=True)
        )
        return [i for i in batch if i.pk in mine]

    # --- reading ---------------------------------------------------------------------------
    def _records(self, plan: ObjectPlan, batch: list[RecordQueueItem]) -> dict[str, dict]:
        # Taken out of `fresh`: a record applied once is read again if its item comes round again.
        records = {i.source_id: self.fresh.pop(i.source_id) for i in batch if i.source_id in self.fresh}
        missing = [i.source_id for i in batch if i.source_id not in records]
        org = plan.publication.source_org
        records.update(
            self._read(org, plan.source_object, plan.capture_fields(), "Id", missing, deleted=True)
        )
        return records

    def _read(
        self, org, sobject: str, fields: Iterable[str], key: str, values: Iterable[str], *, deleted: bool
    ) -> dict[str, dict]:
        """Records of `sobject` whose `key` is one of `values`, by that key: queries of
        READ_CHUNK values, five per composite call; with `deleted`, the recycle bin too."""
        values = sorted(set(values))
        client = self.ctx.client(org)
        columns = ", ".join(dict.fromkeys(["Id", key, *fields]))
        soqls = [
            f"SELECT {columns} FROM {sobject} WHERE {key} IN ({_in_list(values[s : s + READ_CHUNK])})"
            for s in range(0, len(values), READ_CHUNK)
        ]
        found: dict[str, dict] = {}
        for start in range(0, len(soqls), MAX_COMPOSITE_QUERIES):
            self.ctx.fence()
            for answer in client.composite_queries(
                soqls[start : start + MAX_COMPOSITE_QUERIES], include_deleted=deleted
            ):
                if answer["httpStatusCode"] >= 400:
                    raise error_from_body(
                        answer["httpStatusCode"],
                        answer.get("body"),
                        fallback="query failed",
                        prefix=f"{sobject}: ",
                    )
                found.update({r[key]: r for r in answer["body"]["records"]})
        return found

    # --- planning --------------------------------------------------------------------------
    def _apply_object(self, plan: ObjectPlan, batch: list[RecordQueueItem]) -> None:
        records = self._records(plan, batch)
        links = LinkIndex(self.connection, self.direction)
        links.load([*(i.source_id for i in batch), *referenced_ids(plan, list(records.values()))])
        owners = self._owners(plan, records)
        new = [r for i, r in records.items() if links.get(i) is None]
        audit_users = self._audit_users(plan, new)
        ops = Ops()
        for item in batch:
            try:
                self._plan_item(plan, item, records.get(item.source_id), links, ops, owners)
            except CYCLE_STOPS:
                raise
            except Exception as exc:  # one record's surprise is that record's failure
                logger.exception("planning %s %s failed", plan.source_object, item.source_id)
                self._crashed(plan, Entry(item), exc)
        for entry in ops.upserts:
            entry.payload.audit = audit_values(plan, records[entry.item.source_id], audit_users)
        self.ctx.checkpoint("apply.planned")
        self._execute(plan, ops, links, records)

    def _audit_users(self, plan: ObjectPlan, new_records: list[dict]) -> dict[str, str]:
        """Target users for the audit user fields of records about to be created."""
        wanted = audit_user_ids(plan, new_records)
        if not wanted:
            return {}
        return self.ctx.owner_resolver(plan.publication).matching_users(wanted)

    def _owners(self, plan: ObjectPlan, records: dict[str, dict]) -> dict[str, str]:
        """Target owner per source record by the publication's owner strategy (one user query
        per org for the batch, cached between cycles)."""
        if not any(m.source == OWNER_FIELD for m in plan.fields):
            return {}
        alive = [r for r in records.values() if not r.get("IsDeleted") and r.get(OWNER_FIELD)]
        resolver = self.ctx.owner_resolver(plan.publication)
        owners = resolver.resolve_records(alive)
        for warning in resolver.warnings:
            logger.warning("owner of %s: %s", plan.source_object, warning)
        resolver.warnings.clear()
        return owners

    def _plan_item(
        self,
        plan: ObjectPlan,
        item: RecordQueueItem,
        record: dict | None,
        links: LinkIndex,
        ops: Ops,
        owners: dict[str, str],
    ) -> None:
        link = links.get(item.source_id)
        if record is None or record.get("IsDeleted"):
            if link and not link.is_deleted:
                ops.deletes.append(Entry(item, link=link, target_id=links.target_id(link)))
            elif link is None and record is not None:
                ops.unlinked_deletes.append(Entry(item))
            else:
                ops.gone.append(item)
            return
        if link is None and plan.identity and record.get(EXTERNAL_ID_FIELD):
            ops.adopts.append(Entry(item))  # our own copy: linked, never copied back
            return
        owner = owners.get(item.source_id)
        if link is not None and plan.publication.owner_strategy in ASSIGN_ON_INSERT_ONLY:
            owner = None  # fixed / round robin assign an owner once; later reassignments stay
        payload = build_payload(plan, record, links, owner)
        payload.source_digest = source_digest(plan, record)
        if payload.missing_parents:
            self._wait_for_parents(plan, item, payload)
        elif link is None and not (plan.publication.subscription.auto_accept or item.accepted):
            queue.hold_for_acceptance(item)  # S2S without Auto-Accept: an admin accepts or rejects it
        elif link is None:
            ops.upserts.append(Entry(item, payload))
        elif link.is_deleted:
            ops.undeletes.append(Entry(item, payload, link, links.target_id(link)))
        elif payload.digest in (links.sent_hash(link), links.target_hash(link)):
            # Unchanged source (a re-read), or the target holds it already (our own echo).
            ops.in_sync.append(Entry(item, payload, link))
        else:
            ops.updates.append(Entry(item, payload, link, links.target_id(link)))

    def _wait_for_parents(self, plan: ObjectPlan, item: RecordQueueItem, payload: Payload) -> None:
        """A child whose parent is not linked waits; a published parent is forwarded first."""
        published = {p.source_object for p in self.plans}
        for parent_object, parent_id in payload.missing_parents:
            if parent_object in published:
                queue.enqueue(
                    self.connection, self.direction, parent_object, {parent_id: QueueAction.GENERIC_INSERT}
                )
        queue.release([item], delay=PARENT_WAIT)

    # --- identity (a copy with no link, a delete with no link) -----------------------------------
    def _pair(self, plan: ObjectPlan, source_id: str, target_id: str) -> Pair:
        if self.direction == Direction.PRIMARY_TO_SECONDARY:
            return Pair(plan.source_object, source_id, plan.target_object, target_id)
        return Pair(plan.target_object, target_id, plan.source_object, source_id)

    def _adopt(self, plan: ObjectPlan, ops: Ops, links: LinkIndex, records: dict[str, dict]) -> None:
        """Source records that carry an origin Id are copies orgsync wrote whose link was never
        saved (a crash between the write and its link). Link them to their origin; the origin's
        direction then brings the copy up to date, or deletes it if the origin was deleted. An
        origin that no longer exists at all is a Failed entry: the copy is never sent back."""
        origins = {e.item.source_id: records[e.item.source_id][EXTERNAL_ID_FIELD] for e in ops.adopts}
        target_org = plan.publication.target_org
        found = self._read(
            target_org, plan.target_object, ["IsDeleted"], "Id", origins.values(), deleted=True
        )
        for entry in ops.adopts:
            source_id = entry.item.source_id
            origin = origins[source_id]
            if origin not in found:
                self._failed(
                    plan,
                    entry,
                    "ORIGIN_NOT_FOUND",
                    f"This record is a copy orgsync made of {origin} ({EXTERNAL_ID_FIELD}), which no longer "
                    f"exists in {target_org.label}, not even in its recycle bin: it is not copied back. "
                    f"Delete the copy, or clear its {EXTERNAL_ID_FIELD} to sync it as a new record.",
                    (EXTERNAL_ID_FIELD,),
                )
                continue
            outcome, link = link_pair(self.connection, self._pair(plan, source_id, origin))
            if outcome == PairOutcome.DUPLICATE:
                other = link.secondary_id if link.primary_id in (source_id, origin) else link.primary_id
                self._failed(
                    plan,
                    entry,
                    "DUPLICATE_COPY",
                    f"Two records claim the same origin {origin}: this one and {other}. Delete the "
                    "duplicate, then run manage.py rebuild_links for this connection.",
                    (EXTERNAL_ID_FIELD,),
                )
                continue
            links.by_source[source_id] = link
            if plan.reverse_fields:  # the origin's direction is published: it brings the copy in step
                deleted = found[origin].get("IsDeleted")
                action = QueueAction.REPLICATION_DELETE if deleted else QueueAction.GENERIC_UPDATE
                queue.enqueue(self.connection, opposite(self.direction), plan.target_object, {origin: action})
                self.counter.skipped += 1
                self._finish(entry.item)
            else:  # only this direction is published: the copy's change goes on, now by its link
                queue.release([entry.item])

    def _find_copies(self, plan: ObjectPlan, ops: Ops) -> None:
        """Deleted source records with no link: their copy, if one was written, is found by its
        OrgSync_Source_Id__c and deleted too (a delete never leaves a copy behind)."""
        ids = [e.item.source_id for e in ops.unlinked_deletes]
        copies = self._read(
            plan.publication.target_org, plan.target_object, [], EXTERNAL_ID_FIELD, ids, deleted=False
        )
        for entry in ops.unlinked_deletes:
            copy = copies.get(entry.item.source_id)
            if copy is None:
                ops.gone.append(entry.item)
            else:
                entry.target_id = copy["Id"]
                ops.deletes.append(entry)

    # --- no stale overwrite ----------------------------------------------------------------
    def _check_targets(self, plan: ObjectPlan, ops: Ops, links: LinkIndex, records: dict[str, dict]) -> None:
        """Two-way: before overwriting, read the targets. One that changed since it was last read
        or written by orgsync changed in both orgs: a conflict, decided by the connection's policy
        and logged. An older value never silently replaces a newer one."""
        fields = ["SystemModstamp", "IsDeleted", *plan.state_fields]
        ids = [e.target_id for e in ops.updates]
        current = self._read(plan.publication.target_org, plan.target_object, fields, "Id", ids, deleted=True)
        keep: list[Entry] = []
        for entry in ops.updates:
            target = current.get(entry.target_id)
            known = links.target_hash(entry.link)
            now = target_digest(plan, target) if target and not target.get("IsDeleted") else known
            if not known or now == known:
                keep.append(entry)
            elif now == entry.payload.digest:  # the target already holds what we would write
                ops.in_sync.append(entry)
            elif decide_stale_target(
                self.connection, self.direction, entry.link, records.get(entry.item.source_id), target
            ):
                keep.append(entry)
        ops.updates = keep

    # --- writing ---------------------------------------------------------------------------
    def _execute(self, plan: ObjectPlan, ops: Ops, links: LinkIndex, records: dict[str, dict]) -> None:
        if ops.adopts:
            self._adopt(plan, ops, links, records)
        if ops.unlinked_deletes:
            self._find_copies(plan, ops)
        if ops.undeletes:
            self._undelete(plan, ops, links)
        if ops.updates and plan.state_fields:
            self._check_targets(plan, ops, links, records)
        if ops.in_sync:
            self._settle_in_sync(ops.in_sync, links)
        if ops.gone:
            self._settle_gone(ops.gone)
        if plan.source_object in self.bulk_objects and len(ops.upserts) + len(ops.updates) > BULK_MINIMUM:
            self._send_bulk(plan, ops, links)
            ops.upserts, ops.updates = [], []
        target = plan.target_object
        jobs: list[tuple[CollectionWrite, list[Entry], str]] = []
        for chunk in _chunks(ops.upserts):
            jobs.append((_upsert_write(target, chunk, audit=True), chunk, "upsert"))
        for chunk in _chunks(ops.updates):
            records = [{"attributes": {"type": target}, "Id": e.target_id, **e.payload.values} for e in chunk]
            jobs.append((CollectionWrite("PATCH", "composite/sobjects", records), chunk, "update"))
        for chunk in _chunks(ops.deletes):
            ids = ",".join(e.target_id for e in chunk)
            jobs.append(
                (
                    CollectionWrite("DELETE", f"composite/sobjects?ids={ids}&allOrNone=false", []),
                    chunk,
                    "delete",
                )
            )
        for start in range(0, len(jobs), MAX_COMPOSITE_COLLECTIONS):
            self._send(plan, jobs[start : start + MAX_COMPOSITE_COLLECTIONS], links)

    def _send(self, plan: ObjectPlan, jobs: list, links: LinkIndex) -> None:
        client = self.ctx.client(plan.publication.target_org)
        self.ctx.fence()
        self.ctx.checkpoint("apply.before_write")
        try:
            answers = client.composite_collections([write for write, _, _ in jobs])
        except SalesforceApiError as exc:
            self._write_failed(plan, [entry for _, entries, _ in jobs for entry in entries], exc)
            return
        self.ctx.checkpoint("apply.written")
        self._record(
            plan,
            [
                (kind, entry, result)
                for (_, entries, kind), results in zip(jobs, answers, strict=True)
                for entry, result in zip(entries, results, strict=True)
            ],
            links,
        )

    def _send_bulk(self, plan: ObjectPlan, ops: Ops, links: LinkIndex) -> None:
        """A big backlog's inserts and updates, each submitted as one Bulk API 2.0 job
        (`bulk_apply.py`) and read back by `settle`, later (`apply_queue`)."""
        client = self.ctx.client(plan.publication.target_org)
        for kind, entries, key in (("upsert", ops.upserts, EXTERNAL_ID_FIELD), ("update", ops.updates, "Id")):
            if not entries:
                continue
            rows = [(_job_key(kind, e), {**e.payload.values, **e.payload.audit}) for e in entries]
            self.ctx.fence()
            self.ctx.checkpoint("apply.before_write")
            try:
                job = bulk_apply.submit(client, plan.target_object, kind, key, rows)
            except SalesforceApiError as exc:
                self._write_failed(plan, entries, exc)
                continue
            for entry in entries:
                entry.payload.forget_values()
            self.in_flight.append(PendingIngest(self, plan, kind, entries, links, job))
            self.ctx.checkpoint("apply.submitted")

    def settle(self, pending: PendingIngest) -> None:
        """Read a submitted job back and record each record's outcome; records the job left
        unprocessed go back to the queue."""
        self.in_flight.remove(pending)
        items = [e.item for e in pending.entries]
        self._guarded(pending.plan, items, lambda: self._settle_ingest(pending))

    def _settle_ingest(self, pending: PendingIngest) -> None:
        plan, kind, entries = pending.plan, pending.kind, pending.entries
        try:
            results = bulk_apply.results(self.ctx.client(plan.publication.target_org), pending.job)
        except SalesforceApiError as exc:
            self._write_failed(plan, entries, exc)
            return
        self.ctx.checkpoint("apply.written")
        self.ctx.fence()  # the wait may have outlived the lease: record only while holding it
        answered = [(kind, e, results[_job_key(kind, e)]) for e in entries if _job_key(kind, e) in results]
        queue.release([e.item for e in entries if _job_key(kind, e) not in results])
        for start in range(0, len(answered), RECORDED_TOGETHER):
            self._record(plan, answered[start : start + RECORDED_TOGETHER], pending.links)

    def _write_failed(self, plan: ObjectPlan, entries: list[Entry], exc: SalesforceApiError) -> None:
        """A write call that failed as a whole fails each of its records (retried if it may)."""
        for entry in entries:
            self._failed(
                plan,
                entry,
                exc.error_code or "ERROR",
                exc.message,
                exc.fields,
                retryable=isinstance(exc, RetryableError),
            )
        self._suspend_if_unavailable(exc)

    def _record(
        self, plan: ObjectPlan, outcomes: list[tuple[str, Entry, RecordResult]], links: LinkIndex
    ) -> None:
        """The outcomes of one answer: the records that went through together, the others (and
        all of them, if the set hits a surprise) one by one."""
        outcomes = self._replay_without_audit(plan, outcomes)
        done = [outcome for outcome in outcomes if _went_through(*outcome)]
        rest = [outcome for outcome in outcomes if not _went_through(*outcome)]
        if done and not self._settle_done(plan, done, links):
            rest = outcomes
        for kind, entry, result in rest:
            self._settle(plan, kind, entry, result, links)

    def _replay_without_audit(
        self, plan: ObjectPlan, outcomes: list[tuple[str, Entry, RecordResult]]
    ) -> list[tuple[str, Entry, RecordResult]]:
        """An upsert that carried audit fields (settable on create only) and found its copy
        already there — a worker died after writing it, before recording it — is refused with
        INVALID_FIELD_FOR_INSERT_UPDATE on those fields. It is sent again without them (composite
        calls of the answer's replays only), and that outcome counts; a replay that could not be
        sent keeps its refusal (logged and retried as any failure)."""
        replays = [
            i
            for i, (kind, entry, result) in enumerate(outcomes)
            if kind == "upsert" and _audit_refused(entry, result)
        ]
        if not replays:
            return outcomes
        writes = [
            _upsert_write(plan.target_object, part, audit=False)
            for part in _chunks([outcomes[i][1] for i in replays])
        ]
        client = self.ctx.client(plan.publication.target_org)
        results: list[RecordResult] = []
        try:
            for start in range(0, len(writes), MAX_COMPOSITE_COLLECTIONS):
                self.ctx.fence()
                answers = client.composite_collections(writes[start : start + MAX_COMPOSITE_COLLECTIONS])
                results += [result for answer in answers for result in answer]
        except SalesforceApiError as exc:
            logger.warning("replaying upserts without audit fields failed: %s", exc.error_code)
        replayed = list(outcomes)
        for i, result in zip(replays, results, strict=False):  # those answered before a failure
            replayed[i] = ("upsert", outcomes[i][1], result)
        return replayed

    def _settle_done(
        self, plan: ObjectPlan, done: list[tuple[str, Entry, RecordResult]], links: LinkIndex
    ) -> bool:
        """The records of one composite answer that went through: their links, log resolutions
        and queue completions commit in one transaction of set-based statements (safe because
        one fenced writer owns the connection). False, with nothing written, when the set hit a
        surprise (a link that conflicts with another): the caller then settles record by record."""
        written = [(e, result) for kind, e, result in done if kind != "delete"]
        deleted = [e.link.pk for kind, e, _ in done if kind == "delete"]
        try:
            with transaction.atomic():
                saved = links.save_links([_link_write(plan, e, result) for e, result in written])
                RecordLink.objects.filter(pk__in_ids=deleted).update(
                    is_deleted=True, synced_at=timezone.now()
                )
                source_ids = [e.item.source_id for _, e, _ in done]
                log_resolved(connection=self.connection, direction=self.direction, source_ids=source_ids)
                queue.complete_all([e.item for _, e, _ in done])
        except CYCLE_STOPS:
            raise
        except IntegrityError:
            logger.warning(
                "recording %d %s outcomes together failed: one by one", len(done), plan.source_object
            )
            return False
        links.remember(saved)
        self.counter.succeeded += len(done)
        self.ctx.checkpoint("apply.recorded")
        return True

    def _settle_in_sync(self, entries: list[Entry], links: LinkIndex) -> None:
        """Records whose target holds the payload already (an echo, a re-read): no write; their
        links note the payload as sent, their open log entries (a failure, an operator's retry)
        are resolved, since the orgs agree, and their items complete, together."""
        with transaction.atomic():
            links.mark_all_sent([(e.link, e.payload.digest) for e in entries])
            source_ids = [e.item.source_id for e in entries]
            log_resolved(connection=self.connection, direction=self.direction, source_ids=source_ids)
            queue.complete_all([e.item for e in entries])
        self.counter.skipped += len(entries)

    def _settle_gone(self, items: list[RecordQueueItem]) -> None:
        """Records deleted in the source with no copy in the target (never linked, or the copy's
        delete recorded already): nothing to write, the orgs agree. Their open log entries are
        resolved and their items complete, together — an entry retried by an operator would
        otherwise stay Retrying for ever."""
        with transaction.atomic():
            log_resolved(
                connection=self.connection, direction=self.direction, source_ids=[i.source_id for i in items]
            )
            queue.complete_all(items)

    def _settle(
        self, plan: ObjectPlan, kind: str, entry: Entry, result: RecordResult, links: LinkIndex
    ) -> None:
        """One record's outcome: its link, log entries and queue item commit together, and a
        surprise (a link that conflicts with another) fails this record only."""
        try:
            with transaction.atomic():
                self._outcome(plan, kind, entry, result, links)
        except CYCLE_STOPS:
            raise
        except Exception as exc:
            links.by_source.pop(entry.item.source_id, None)  # may hold a link that was rolled back
            logger.exception("recording %s %s failed", plan.source_object, entry.item.source_id)
            self._crashed(plan, entry, exc)
        self.ctx.checkpoint("apply.recorded")

    def _undelete(self, plan: ObjectPlan, ops: Ops, links: LinkIndex) -> None:
        client = self.ctx.client(plan.publication.target_org)
        for chunk in _chunks(ops.undeletes):
            self.ctx.fence()
            try:
                results = client.undelete([e.target_id for e in chunk])
            except SalesforceApiError as exc:
                self._write_failed(plan, chunk, exc)
                continue
            for entry, result in zip(chunk, results, strict=True):
                if result.success:
                    RecordLink.objects.filter(pk=entry.link.pk).update(
                        is_deleted=False, synced_at=timezone.now()
                    )
                    entry.link.is_deleted = False
                    ops.updates.append(entry)
                else:
                    self._record_error(plan, entry, result)

    # --- outcomes --------------------------------------------------------------------------
    def _outcome(
        self, plan: ObjectPlan, kind: str, entry: Entry, result: RecordResult, links: LinkIndex
    ) -> None:
        if result.success or (kind == "delete" and _codes(result) & {"ENTITY_IS_DELETED"}):
            if kind == "delete":
                self._deleted(plan, entry)
            else:
                links.save_link(_link_write(plan, entry, result))
            log_resolved(
                connection=self.connection, direction=self.direction, source_ids=[entry.item.source_id]
            )
            self._finish(entry.item)
            self.counter.succeeded += 1
        elif kind == "update" and _codes(result) & TARGET_GONE and plan.reverse_deletes:
            # Deleted in the other org (two-way): that delete travels back; never re-created here.
            queue.enqueue(
                self.connection,
                opposite(self.direction),
                plan.target_object,
                {entry.target_id: QueueAction.REPLICATION_DELETE},
            )
            self._finish(entry.item)
        elif kind == "update" and _codes(result) & TARGET_GONE:
            # Deleted by hand in the target: forget the link, re-create from the source now.
            RecordLink.objects.filter(pk=entry.link.pk).delete()
            links.by_source.pop(entry.item.source_id, None)
            RecordQueueItem.objects.filter(pk=entry.item.pk).update(action=QueueAction.GENERIC_INSERT)
            queue.release([entry.item])
        else:
            self._record_error(plan, entry, result)

    def _deleted(self, plan: ObjectPlan, entry: Entry) -> None:
        """Both records are deleted now. A copy found by its origin Id (no link) gets its link."""
        link = entry.link
        if link is None:
            outcome, link = link_pair(
                self.connection, self._pair(plan, entry.item.source_id, entry.target_id)
            )
            if outcome == PairOutcome.DUPLICATE:
                return
        # synced_at moves too: the other direction re-reads what this cycle rewrote (cycle.py).
        RecordLink.objects.filter(pk=link.pk).update(is_deleted=True, synced_at=timezone.now())

    def _record_error(self, plan: ObjectPlan, entry: Entry, result: RecordResult) -> None:
        error = result.errors[0] if result.errors else None
        code = error.status_code if error else "UNKNOWN_ERROR"
        self._failed(
            plan,
            entry,
            code,
            error.message if error else "no error detail",
            error.fields if error else (),
            retryable=code in RETRYABLE_CODES,
        )

    def _crashed(self, plan: ObjectPlan, entry: Entry, exc: Exception) -> None:
        """Something orgsync did not expect while handling this record: the record fails (with a
        log entry that says what), the rest of the batch goes on."""
        if isinstance(exc, IntegrityError):
            self._failed(
                plan,
                entry,
                "LINK_CONFLICT",
                "The record's link conflicts with another record's link (two records claim one "
                "copy). Run manage.py rebuild_links for this connection, then Retry.",
                (),
            )
        else:
            self._failed(
                plan,
                entry,
                "ORGSYNC_ERROR",
                f"orgsync failed on this record: {exc.__class__.__name__}",
                (),
                retryable=True,
            )

    def _failed(
        self,
        plan: ObjectPlan,
        entry: Entry,
        code: str,
        message: str,
        fields: tuple[str, ...],
        *,
        retryable: bool = False,
    ) -> None:
        item = entry.item
        final = not retryable or item.attempts >= self.connection.max_retry_attempts
        log_attempt_failed(
            connection=self.connection,
            direction=self.direction,
            source_object=plan.source_object,
            source_id=item.source_id,
            action=item.action,
            target_id=entry.target_id,
            code=code,
            message=message,
            fields=tuple(fields),
            attempt=item.attempts + 1,
            final=final,
            run=self.counter.run,
        )
        if final:
            self.counter.failed += 1
            queue.drop(item)
        else:
            queue.schedule_retry(item, code=code, message=message)

    def _finish(self, item: RecordQueueItem) -> None:
        queue.complete(item)

    def _suspend_if_unavailable(self, exc: SalesforceApiError) -> None:
        if exc.error_code in SUSPENDING_CODES or exc.status == 503:
            self.connection.refresh_from_db()
            if self.connection.status == Connection.Status.ACTIVE:
                connection_services.connection_suspend(
                    connection=self.connection,
                    actor=None,
                    automatic=True,
                    reason=f"{exc.error_code or exc.status}",
                )
            raise ConnectionUnavailable(str(exc)) from exc


def _job_key(kind: str, entry: Entry) -> str:
    """What identifies a record in a Bulk job's results: its origin Id (upsert) or its Id."""
    return entry.item.source_id if kind == "upsert" else entry.target_id


def _link_write(plan: ObjectPlan, entry: Entry, result: RecordResult) -> LinkWrite:
    return LinkWrite(
        source_object=plan.source_object,
        source_id=entry.item.source_id,
        target_object=plan.target_object,
        target_id=result.id or entry.target_id,
        target_hash=entry.payload.digest,
        source_hash=entry.payload.source_digest,
    )


def _upsert_write(target: str, entries: list[Entry], *, audit: bool) -> CollectionWrite:
    """One collection upsert on `OrgSync_Source_Id__c` (with the audit values of a create, or
    without them when a create is replayed on a copy that exists)."""
    records = [
        {
            "attributes": {"type": target},
            EXTERNAL_ID_FIELD: e.item.source_id,
            **e.payload.values,
            **(e.payload.audit if audit else {}),
        }
        for e in entries
    ]
    return CollectionWrite("PATCH", f"composite/sobjects/{target}/{EXTERNAL_ID_FIELD}", records)


def _audit_refused(entry: Entry, result: RecordResult) -> bool:
    """The write failed only because it set audit fields on a record that exists already."""
    return bool(entry.payload.audit) and any(
        error.status_code == "INVALID_FIELD_FOR_INSERT_UPDATE" and set(error.fields) & set(AUDIT_FIELDS)
        for error in result.errors
    )


def _went_through(kind: str, entry: Entry, result: RecordResult) -> bool:
    """A write that needs only the plain bookkeeping: a link saved or marked deleted, the
    record's log resolved, its queue item completed (`Applier._settle_done`)."""
    if kind == "delete":
        # A delete by origin Id with no link yet needs its link made (identity.link_pair).
        gone = result.success or "ENTITY_IS_DELETED" in _codes(result)
        return gone and entry.link is not None
    return result.success


def _codes(result: RecordResult) -> set[str]:
    return {e.status_code for e in result.errors}


def _chunks(entries: list[Entry]) -> list[list[Entry]]:
    return [entries[s : s + COLLECTION_SIZE] for s in range(0, len(entries), COLLECTION_SIZE)]


def _in_list(values: list[str]) -> str:
    return ",".join(soql_string(v) for v in values)

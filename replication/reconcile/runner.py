"""Running one `ReconcileRun`: every published object and direction (or the chosen ones) read
from both orgs into the scratch store, compared, counted, a capped sample kept, and with repair
the differences handed to the record queue.

Comparing takes no lease, so sync cycles go on meanwhile; what they have in hand is not judged
(`compare.in_flight`). Repair runs at the end under the connection's lease. The run itself is
leased (`lease_until`), so a second task for it returns at once and the engine tick restarts a
run whose worker died; a restarted run starts over (comparing writes nothing, and a queue item
collapses into the one already queued).
"""

import logging
import math
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from datetime import datetime, timedelta

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from connections.models import Connection, ConnectionEvent
from replication.engine.context import EngineContext
from replication.engine.cycle import default_worker, directions
from replication.engine.lease import LeaseLost, acquire_waiting
from replication.engine.plans import OWNER_FIELD, ObjectPlan, build_plans, written_on_update
from replication.filters import filter_fields, matches
from replication.models import (
    EXTERNAL_ID_FIELD,
    Direction,
    ReconcileDifference,
    ReconcileRun,
    RecordLink,
    RecordQueueItem,
)
from replication.reconcile import reading
from replication.reconcile.compare import Difference, ObjectSpec, compare, in_flight, pairs_compared
from replication.reconcile.repair import Repairer, side
from replication.reconcile.store import FieldHasher, Store, key, stamp

logger = logging.getLogger(__name__)

Status = ReconcileRun.Status
LEASE = timedelta(minutes=2)
SAMPLE_PER_CLASS = 200  # differences kept per object, direction and class (counts are exact)
CONNECTION_LEASE_WAIT = 120  # seconds repair waits for a running sync cycle to let go
P2S = Direction.PRIMARY_TO_SECONDARY


class RunTakenOver(Exception):
    """Another worker runs this reconcile now (this one was presumed dead)."""


class ReconcileRunner:
    def __init__(
        self,
        run: ReconcileRun,
        *,
        ctx: EngineContext | None = None,
        progress: Callable[[ReconcileRun], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.run_row = run
        self.connection: Connection = run.connection
        self.ctx = ctx or EngineContext(worker=default_worker())
        self.progress = progress or (lambda run: None)
        self.sleep = sleep
        self.threshold = settings.ORGSYNC_BULK_SYNC_THRESHOLD
        self.settle = timedelta(seconds=settings.ORGSYNC_RECONCILE_SETTLE_SECONDS)
        self.hasher = FieldHasher()
        self.counts: dict[str, Counter] = defaultdict(Counter)
        self.sampled: Counter = Counter()
        self.sample: list[ReconcileDifference] = []
        self.repairer: Repairer | None = None
        self._beat = 0.0

    # --- the run ------------------------------------------------------------------------------
    def run(self) -> ReconcileRun:
        """Run the reconcile to its end; returns it refreshed. Does nothing when another worker
        holds it or it is finished."""
        if not self._acquire():
            self.run_row.refresh_from_db()
            return self.run_row
        store = Store()
        try:
            self._run(store)
        except RunTakenOver:
            logger.warning("reconcile %s was taken over by another worker", self.run_row.pk)
        except (KeyboardInterrupt, SystemExit):
            self._update(
                lease_holder="", lease_until=None, phase="stopped by a shutdown signal: starts again"
            )
            raise
        except Exception as exc:
            logger.exception("reconcile %s failed", self.run_row.pk)
            self._finish(Status.FAILED, error=f"{exc.__class__.__name__}: {exc}"[:1000])
        finally:
            store.close()
        self.run_row.refresh_from_db()
        return self.run_row

    def _run(self, store: Store) -> None:
        run = self.run_row
        self._load_pending(store)
        if run.repair:
            self.repairer = Repairer(self.connection, store, delete_extra=run.delete_extra)
        chosen = [run.direction] if run.direction else directions(self.connection)
        work = [(d, self._plans(d)) for d in chosen]
        self._count(work)
        for direction, plans in work:
            store.reset_direction()
            self._load_translation(store, direction)
            for group in self._groups(plans):
                self._compare_group(store, direction, group)
        ReconcileDifference.objects.bulk_create(self.sample, batch_size=500)
        repairs = dict(self.repairer.planned) if self.repairer else {}
        if self.repairer is not None and not run.dry_run:
            repairs = dict(self._repair())
            self._record_repair(repairs)
        self._finish(Status.COMPLETED, repairs=repairs)

    def _plans(self, direction: str) -> list[ObjectPlan]:
        plans = build_plans(self.connection, direction, self.ctx.describe)
        wanted = self.run_row.source_object.lower()
        return [p for p in plans if not wanted or p.source_object.lower() == wanted]

    def _count(self, work: list[tuple[str, list[ObjectPlan]]]) -> None:
        """Records per object in each org: sizes decide the reading path and the progress total."""
        self.sizes: dict[tuple[str, str], int] = {}
        self.org_now: dict[str, datetime] = {}
        wanted: dict[str, set[str]] = defaultdict(set)
        for _, plans in work:
            for plan in plans:
                wanted["source" + str(plan.publication.source_org.pk)].add(plan.source_object)
                wanted["target" + str(plan.publication.target_org.pk)].add(plan.target_object)
        for org in (self.connection.primary_org, self.connection.secondary_org):
            names = sorted(wanted["source" + str(org.pk)] | wanted["target" + str(org.pk)])
            if names:
                self._heartbeat(force=True, phase=f"counting records in the {org.label} org")
                client = self.ctx.client(org)
                for name, total in reading.count_records(client, names).items():
                    self.sizes[(str(org.pk), name)] = total
                # "Changed within the settle window" is judged by the org's clock, which stamps
                # SystemModstamp (the answer's Date), not by ours: clocks drift apart.
                self.org_now[str(org.pk)] = client.last_server_time or self.run_row.started_at
        total = sum(
            self._size(plan.publication.source_org, plan.source_object)
            + self._size(plan.publication.target_org, plan.target_object)
            for _, plans in work
            for plan in plans
        )
        self._update(records_total=total)

    def _size(self, org, sobject: str) -> int:
        return self.sizes.get((str(org.pk), sobject), 0)

    def _is_bulk(self, plan: ObjectPlan) -> bool:
        return (
            max(
                self._size(plan.publication.source_org, plan.source_object),
                self._size(plan.publication.target_org, plan.target_object),
            )
            > self.threshold
        )

    def _groups(self, plans: list[ObjectPlan]) -> Iterable[list[ObjectPlan]]:
        """Consecutive small objects five at a time (one composite call per org), big ones alone."""
        group: list[ObjectPlan] = []
        for plan in plans:
            if self._is_bulk(plan):
                if group:
                    yield group
                    group = []
                yield [plan]
                continue
            group.append(plan)
            if len(group) == reading.MAX_COMPOSITE_QUERIES:
                yield group
                group = []
        if group:
            yield group

    # --- one group of objects -------------------------------------------------------------------
    def _compare_group(self, store: Store, direction: str, group: list[ObjectPlan]) -> None:
        specs = [self._spec(plan) for plan in group]
        if len(group) == 1 and self._is_bulk(group[0]):
            plan, spec = group[0], specs[0]
            self._heartbeat(force=True, phase=f"reading {plan.source_object} with Bulk API 2.0")
            store.reset_object()
            source_org, target_org = plan.publication.source_org, plan.publication.target_org
            source, target = self.ctx.client(source_org), self.ctx.client(target_org)
            # Both jobs first: the target's runs while the source's results are read.
            jobs = (
                reading.start_query(source, self._source_soql(plan)),
                reading.start_query(target, self._target_soql(plan, spec)),
            )
            reads = (
                (
                    source,
                    jobs[0],
                    plan.source_object,
                    lambda rows: self._load_source(store, plan, spec, rows),
                ),
                (
                    target,
                    jobs[1],
                    plan.target_object,
                    lambda rows: self._load_target(store, plan, spec, rows),
                ),
            )
            for client, job_id, sobject, load in reads:
                pages = reading.bulk_pages(
                    client,
                    job_id,
                    self.ctx.describe(client.org, sobject),
                    expected=self._size(client.org, sobject),
                    before_page=self._heartbeat,
                    sleep=self.sleep,
                )
                for chunk in pages:
                    load(chunk)
            self._judge(store, plan, spec)
            return
        names = ", ".join(p.source_object for p in group)
        self._heartbeat(force=True, phase=f"reading {names} ({_label(direction)})")
        first = group[0].publication
        sources = reading.rest_records(
            self.ctx.client(first.source_org),
            [self._source_soql(p) for p in group],
            before_page=self._heartbeat,
        )
        targets = reading.rest_records(
            self.ctx.client(first.target_org),
            [self._target_soql(p, s) for p, s in zip(group, specs, strict=True)],
            before_page=self._heartbeat,
        )
        for plan, spec, source_rows, target_rows in zip(group, specs, sources, targets, strict=True):
            store.reset_object()
            self._load_source(store, plan, spec, source_rows)
            self._load_target(store, plan, spec, target_rows)
            self._judge(store, plan, spec)

    def _spec(self, plan: ObjectPlan) -> ObjectSpec:
        written = set(plan.state_fields or written_on_update(plan.publication, plan.fields))
        fields = [m for m in plan.fields if m.target in written]
        source_describe = self.ctx.describe(plan.publication.source_org, plan.source_object)
        return ObjectSpec(
            direction=plan.direction,
            source_object=plan.source_object,
            target_object=plan.target_object,
            compared=[m for m in fields if not m.references or m.source == OWNER_FIELD],
            lookups=[m for m in fields if m.references and m.source != OWNER_FIELD],
            key_prefix=source_describe.get("keyPrefix") or "",
            identity=plan.identity,
            sync_created=plan.publication.sync_created,
            sync_updated=plan.publication.sync_updated,
        )

    def _source_soql(self, plan: ObjectPlan) -> str:
        describe = self.ctx.describe(plan.publication.source_org, plan.source_object)
        names = {f["name"] for f in describe["fields"]}
        marker = [EXTERNAL_ID_FIELD] if plan.identity and EXTERNAL_ID_FIELD in names else []
        wanted = [
            "Id",
            "SystemModstamp",
            *marker,
            *(m.source for m in plan.fields),
            *filter_fields(plan.conditions, describe),
        ]
        return f"SELECT {', '.join(dict.fromkeys(wanted))} FROM {plan.source_object}"

    def _target_soql(self, plan: ObjectPlan, spec: ObjectSpec) -> str:
        describe = self.ctx.describe(plan.publication.target_org, plan.target_object)
        names = {f["name"] for f in describe["fields"]}
        marker = [EXTERNAL_ID_FIELD] if EXTERNAL_ID_FIELD in names else []
        wanted = [
            "Id",
            "SystemModstamp",
            *marker,
            *(m.target for m in spec.compared),
            *(m.target for m in spec.lookups),
        ]
        return f"SELECT {', '.join(dict.fromkeys(wanted))} FROM {plan.target_object}"

    # --- loading the store --------------------------------------------------------------------
    def _load_source(self, store: Store, plan: ObjectPlan, spec: ObjectSpec, records: list[dict]) -> None:
        describe = self.ctx.describe(plan.publication.source_org, plan.source_object)
        owners = self._owners(plan, spec, records)
        cutoff = self._cutoff(plan.publication.source_org)
        names = [m.source for m in spec.compared]
        owner_at = names.index(OWNER_FIELD) if owners else None
        rows, refs = [], []
        for r in records:
            k = key(r["Id"])
            values = [r.get(name) for name in names]
            if owner_at is not None:
                values[owner_at] = owners.get(r["Id"])
            passes = not plan.conditions or matches(plan.conditions, r, describe)
            modstamp = stamp(r.get("SystemModstamp"))
            marker = key(r.get(EXTERNAL_ID_FIELD)) if spec.identity else ""
            rows.append(
                (k, r["Id"], marker, int(passes), modstamp, int(modstamp >= cutoff), self.hasher.row(values))
            )
            refs.extend((k, m.target, key(r.get(m.source)) or None) for m in spec.lookups)
        store.insert("src", rows)
        store.insert("src_ref", refs)
        self._read(len(records))

    def _load_target(self, store: Store, plan: ObjectPlan, spec: ObjectSpec, records: list[dict]) -> None:
        cutoff = self._cutoff(plan.publication.target_org)
        rows, refs = [], []
        for r in records:
            k = key(r["Id"])
            modstamp = stamp(r.get("SystemModstamp"))
            values = [r.get(m.target) for m in spec.compared]
            rows.append(
                (
                    k,
                    r["Id"],
                    key(r.get(EXTERNAL_ID_FIELD)),
                    modstamp,
                    int(modstamp >= cutoff),
                    self.hasher.row(values),
                )
            )
            refs.extend((k, m.target, key(r.get(m.target)) or None) for m in spec.lookups)
        store.insert("tgt", rows)
        store.insert("tgt_ref", refs)
        self._read(len(records))

    def _owners(self, plan: ObjectPlan, spec: ObjectSpec, records: list[dict]) -> dict[str, str]:
        """The owner the engine would write, per source record (when the owner is compared)."""
        if not any(m.source == OWNER_FIELD for m in spec.compared):
            return {}
        resolver = self.ctx.owner_resolver(plan.publication)
        owners = resolver.resolve_records([r for r in records if r.get(OWNER_FIELD)])
        resolver.warnings.clear()
        return owners

    def _load_links(self, store: Store, plan: ObjectPlan) -> None:
        forward = plan.direction == P2S
        primary, secondary = (
            (plan.source_object, plan.target_object) if forward else (plan.target_object, plan.source_object)
        )
        links = RecordLink.objects.filter(
            connection=self.connection, primary_object=primary, secondary_object=secondary
        ).values_list("pk", "primary_id", "secondary_id", "is_deleted")
        oriented = (
            (pk, p, s, deleted) if forward else (pk, s, p, deleted)
            for pk, p, s, deleted in links.iterator(chunk_size=5000)
        )
        store.insert_all(
            "link", ((pk, key(src), key(tgt), int(deleted), src, tgt) for pk, src, tgt, deleted in oriented)
        )

    def _load_translation(self, store: Store, direction: str) -> None:
        """Every live link of the connection, source key → target Id, for lookups."""
        forward = direction == P2S
        links = RecordLink.objects.filter(connection=self.connection, is_deleted=False).values_list(
            "primary_id", "secondary_id"
        )
        store.insert_all(
            "xlate",
            ((key(p), s) if forward else (key(s), p) for p, s in links.iterator(chunk_size=5000)),
        )

    def _load_pending(self, store: Store) -> None:
        """Records with a queue item in either direction are in the engine's hands."""
        items = RecordQueueItem.objects.filter(connection=self.connection).values_list("source_id", flat=True)
        store.insert_all("pending", ((key(source_id),) for source_id in items.iterator(chunk_size=5000)))

    # --- judging ---------------------------------------------------------------------------------
    def _judge(self, store: Store, plan: ObjectPlan, spec: ObjectSpec) -> None:
        self._load_links(store, plan)
        self._heartbeat(force=True, phase=f"comparing {plan.source_object} ({_label(plan.direction)})")
        for diff in compare(store, spec):
            self._found(diff)
        self._update(
            pairs_compared=self.run_row.pairs_compared + pairs_compared(store),
            in_flight=self.run_row.in_flight + in_flight(store),
        )

    def _found(self, diff: Difference) -> None:
        self.counts[diff.source_object][diff.kind] += 1
        repair = self.repairer.decide(diff) if self.repairer else ""
        slot = (diff.direction, diff.source_object, diff.kind)
        if self.sampled[slot] >= SAMPLE_PER_CLASS:
            return
        self.sampled[slot] += 1
        changed = side(diff.direction, diff.changed_last) if diff.changed_last else ""
        self.sample.append(
            ReconcileDifference(
                run=self.run_row,
                direction=diff.direction,
                source_object=diff.source_object,
                target_object=diff.target_object,
                kind=diff.kind,
                source_id=diff.source_id,
                target_id=diff.target_id,
                fields=", ".join(diff.fields)[:1000],
                changed_last=changed,
                detail=diff.detail[:300],
                repair=repair[:200],
            )
        )

    def _repair(self) -> Counter:
        self._heartbeat(force=True, phase="repairing: waiting for the connection's sync cycle")
        lease = acquire_waiting(
            self.connection, self.ctx.worker, wait=CONNECTION_LEASE_WAIT, sleep=self.sleep
        )
        if lease is None:
            raise RuntimeError(
                "repair could not start: the connection's sync cycle held it for over "
                f"{CONNECTION_LEASE_WAIT} s. Differences are listed; run the repair again."
            )
        self.ctx.lease = lease
        try:
            self._heartbeat(force=True, phase="repairing")
            return self.repairer.execute(self.ctx)
        except LeaseLost as exc:
            raise RuntimeError(f"repair stopped: {exc}") from exc
        finally:
            self.ctx.lease = None
            lease.release()

    def _record_repair(self, repairs: dict[str, int]) -> None:
        """A repair changes the orgs: the connection's history says what, and who asked."""
        if not repairs:
            return
        done = "; ".join(f"{label}: {n:,}" for label, n in sorted(repairs.items()))
        ConnectionEvent.objects.create(
            connection=self.connection,
            kind=ConnectionEvent.Kind.RECONCILE_REPAIRED,
            actor=self.run_row.requested_by,
            detail=f"Reconcile #{self.run_row.pk}: {done}"[:500],
        )

    # --- the run's row ----------------------------------------------------------------------------
    def _acquire(self) -> bool:
        now = timezone.now()
        free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
        taken = ReconcileRun.objects.filter(free, pk=self.run_row.pk, status__in=ReconcileRun.ACTIVE).update(
            status=Status.RUNNING,
            lease_holder=self.ctx.worker[:80],
            lease_until=now + LEASE,
            started_at=now,
            error="",
            records_read=0,
            pairs_compared=0,
            in_flight=0,
            differences=0,
            counts={},
            repairs={},
            phase="starting",
        )
        if not taken:
            return False
        self.run_row.refresh_from_db()
        self.run_row.found.all().delete()  # a restarted run starts over
        return True

    def _cutoff(self, org) -> float:
        """Records of `org` stamped at or after this (epoch seconds) are in flight: changed
        within the settle window before the run (by the org's clock), or during it. A window of
        0 turns this off: every record is judged."""
        if not self.settle:
            return math.inf
        now = self.org_now.get(str(org.pk), self.run_row.started_at)
        return (now - self.settle).timestamp()

    def _read(self, records: int) -> None:
        self.run_row.records_read += records
        self._heartbeat()

    def _heartbeat(self, *, force: bool = False, phase: str | None = None) -> None:
        """Progress and the run's lease, at most once a second (or now with `force`)."""
        if not force and time.monotonic() - self._beat < 1.0:
            return
        self._beat = time.monotonic()
        fields = {"lease_until": timezone.now() + LEASE, "records_read": self.run_row.records_read}
        if phase is not None:
            fields["phase"] = phase
            self.run_row.phase = phase
        mine = ReconcileRun.objects.filter(pk=self.run_row.pk, lease_holder=self.ctx.worker[:80])
        if not mine.update(**fields):
            raise RunTakenOver
        self.progress(self.run_row)

    def _update(self, **fields) -> None:
        ReconcileRun.objects.filter(pk=self.run_row.pk).update(**fields)
        for name, value in fields.items():
            setattr(self.run_row, name, value)

    def _finish(self, status: str, *, error: str = "", repairs: dict | None = None) -> None:
        counts = {name: dict(found) for name, found in sorted(self.counts.items())}
        self._update(
            status=status,
            error=error,
            counts=counts,
            differences=sum(sum(found.values()) for found in counts.values()),
            repairs=repairs or {},
            records_read=self.run_row.records_read,
            api_calls=self.ctx.api_calls(),
            phase="" if status == Status.COMPLETED else self.run_row.phase,
            lease_holder="",
            lease_until=None,
            finished_at=timezone.now(),
        )
        self.progress(self.run_row)


def _label(direction: str) -> str:
    return Direction(direction).label

"""Running a bulk sync: object by object (parents first), page by page, chunk by chunk.

The run holds a lease (renewed every chunk) so two workers never run it at once and a dead
worker's run is taken over once the lease lapses. Each Bulk API page is checkpointed: the query
job, the locator of the page being written, the ingest job in flight and the counts when the
page began. A resumed run reads back the ingest job that was in flight instead of sending its
records again, and a page that was only half read is read again from its start.
"""

import logging
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from contextlib import suppress
from dataclasses import dataclass
from datetime import timedelta
from itertools import islice

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from connections.client_errors import RetryableError, SalesforceApiError
from replication.bulksync.feeds import bulk_sync_feeds
from replication.bulksync.scope import Scope
from replication.bulksync.source import BulkSource, RestSource, count_in_scope
from replication.bulksync.target import (
    BulkTarget,
    DryRunTarget,
    Entry,
    Outcome,
    RestTarget,
    expected_seconds,
    harvest,
)
from replication.engine import queue
from replication.engine.bulk_jobs import wait_for_job
from replication.engine.context import EngineContext
from replication.engine.cycle import default_worker
from replication.engine.feeds import CHILD_OBJECTS, FeedReport
from replication.engine.lease import ConnectionLease, acquire_waiting
from replication.engine.lease import LeaseLost as ConnectionLeaseLost
from replication.engine.links import NEW_LINK_FIELDS, LinkIndex
from replication.engine.payloads import (
    audit_user_ids,
    audit_values,
    build_payload,
    referenced_ids,
    source_digest,
)
from replication.engine.plans import OWNER_FIELD, ObjectPlan, build_plans
from replication.engine.sets import insert_rows
from replication.models import EXTERNAL_ID_FIELD, BulkSync, BulkSyncObject, Direction, QueueAction, RecordLink
from synclog.models import SyncLog, SyncRun
from synclog.services import log_attempt_failed, log_resolved

logger = logging.getLogger(__name__)
LEASE = timedelta(minutes=2)
CONNECTION_LEASE_WAIT = 60  # seconds a bulk sync waits for a running cycle of its connection
CHUNK = 2000  # records classified (links, owners, parents looked up) together
IN_FLIGHT = 2  # ingest jobs of an object Salesforce runs at once while the next is prepared
END = "<end>"  # next_locator once every page of the query is written
COUNTS = ("processed", "inserted", "linked", "skipped", "failed", "held_back", "queued")
Status = BulkSync.Status
ObjectStatus = BulkSyncObject.Status


@dataclass
class InFlight:
    """An ingest job sent and not yet read back, with the keyed hashes of what it carries."""

    id: str
    digests: dict[str, tuple[str, str]]
    rows: int
    sent_at: float  # time.monotonic()


class Cancelled(Exception):
    pass


class LeaseLost(Exception):
    """Another worker took the run over (this one was presumed dead)."""


class BulkSyncRunner:
    def __init__(
        self,
        bulk_sync: BulkSync,
        *,
        ctx: EngineContext | None = None,
        progress: Callable[[BulkSyncObject], None] | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.bulk = bulk_sync
        self.ctx = ctx or EngineContext(worker=default_worker())
        self.progress = progress or (lambda obj: None)
        self.sleep = sleep
        # Dry run: what would be written so far, so children of those parents count as written too.
        self.would_write: set[str] = set()
        self.threshold = settings.ORGSYNC_BULK_SYNC_THRESHOLD
        self.page_records = settings.ORGSYNC_BULK_SYNC_PAGE_RECORDS
        self.job_records = settings.ORGSYNC_BULK_SYNC_JOB_RECORDS

    # --- the run ------------------------------------------------------------------------------
    def run(self) -> BulkSync:
        """Run (or resume) the bulk sync to its end; returns it refreshed. Does nothing when
        another worker holds it or it is finished."""
        if not self._acquire():
            self.bulk.refresh_from_db()
            return self.bulk
        lease = self._connection_lease()
        if lease is None:
            self._interrupt("waiting for the connection's running sync cycle to finish")
            self.bulk.refresh_from_db()
            return self.bulk
        self.ctx.lease = lease
        try:
            self._run()
        except Cancelled:
            self._close(Status.CANCELLED)
        except LeaseLost:
            logger.warning("bulk sync %s was taken over by another worker", self.bulk.pk)
        except (RetryableError, requests.RequestException) as exc:
            self._interrupt(f"{exc.__class__.__name__}: {exc}")
        except (KeyboardInterrupt, SystemExit):
            self._interrupt("stopped by a shutdown signal")
            raise
        except Exception as exc:
            logger.exception("bulk sync %s failed", self.bulk.pk)
            self._close(Status.FAILED, error=f"{exc.__class__.__name__}: {exc}")
        finally:
            self.ctx.lease = None
            lease.release()
        self.bulk.refresh_from_db()
        return self.bulk

    def _connection_lease(self) -> ConnectionLease | None:
        """One writer per connection: the bulk sync holds the connection's lease for its whole
        run (sync cycles of the connection wait meanwhile)."""
        return acquire_waiting(
            self.bulk.connection,
            self.ctx.worker,
            wait=CONNECTION_LEASE_WAIT,
            duration=LEASE,
            sleep=self.sleep,
        )

    def _run(self) -> None:
        connection = self.bulk.connection
        plans = {p.source_object: p for p in build_plans(connection, self.bulk.direction, self.ctx.describe)}
        objects = list(self.bulk.sync_objects.exclude(status__in=[ObjectStatus.DONE, ObjectStatus.FAILED]))
        self._count_totals([o for o in objects if o.total is None], plans)
        for n, obj in enumerate(objects):
            plan = plans.get(obj.source_object)
            self._check()
            if plan is None:
                self._object_failed(obj, "no longer published and subscribed in this direction")
                continue
            before = self.ctx.api_calls()
            following = next(
                ((o, plans[o.source_object]) for o in objects[n + 1 :] if o.source_object in plans), None
            )
            try:
                self._run_object(obj, plan, following)
            except SalesforceApiError as exc:
                if isinstance(exc, RetryableError):
                    raise
                self._object_failed(obj, str(exc))
            finally:
                BulkSyncObject.objects.filter(pk=obj.pk).update(
                    api_calls=obj.api_calls + self.ctx.api_calls() - before
                )
                obj.api_calls += self.ctx.api_calls() - before
        failures = self.bulk.sync_objects.filter(
            Q(status=ObjectStatus.FAILED) | Q(failed__gt=0) | Q(held_back__gt=0)
        ).exists()
        self._close(Status.COMPLETED_WITH_FAILURES if failures else Status.COMPLETED)

    def _count_totals(self, objects: list[BulkSyncObject], plans: dict[str, ObjectPlan]) -> None:
        counted = [plans[o.source_object] for o in objects if o.source_object in plans]
        if not counted:
            return
        totals = count_in_scope(self.ctx, counted, self.scope)
        for obj in objects:
            if obj.source_object in totals:
                obj.total = totals[obj.source_object]
                obj.path = (
                    BulkSyncObject.Path.BULK if obj.total > self.threshold else BulkSyncObject.Path.REST
                )
                obj.save(update_fields=["total", "path", "updated_at"])

    @property
    def scope(self) -> Scope:
        return Scope([], self.bulk.since, self.bulk.limit)

    # --- one object ---------------------------------------------------------------------------
    def _run_object(
        self, obj: BulkSyncObject, plan: ObjectPlan, following: tuple[BulkSyncObject, ObjectPlan] | None
    ) -> None:
        obj.status = ObjectStatus.RUNNING
        obj.started_at = obj.started_at or timezone.now()
        obj.save(update_fields=["status", "started_at", "updated_at"])
        if obj.path == BulkSyncObject.Path.BULK:
            self._bulk_object(obj, plan, following)
        else:
            self._rest_object(obj, plan)
        if self.bulk.connection.sync_feeds_and_audit_fields and not self.bulk.dry_run:
            self._feeds(obj)
        obj.status, obj.finished_at = ObjectStatus.DONE, timezone.now()
        obj.save()
        self.progress(obj)

    def _feeds(self, obj: BulkSyncObject) -> None:
        """Sync Feeds: the posts, comments, files and attachments of the records this run copied
        (`bulksync/feeds.py`), with the files and bytes counted on the object as they go."""
        files, file_bytes = obj.files, obj.file_bytes  # a resumed object's earlier step

        def count(report: FeedReport) -> None:
            obj.files, obj.file_bytes = files + report.files, file_bytes + report.bytes
            self._save_progress(obj, extra=("files", "file_bytes"))

        bulk_sync_feeds(self.ctx, self.bulk, obj.source_object, after_chunk=count)

    def _rest_object(self, obj: BulkSyncObject, plan: ObjectPlan) -> None:
        """At most a few thousand records: an interrupted object is simply read again (what it
        copied before is linked by now, and counted as inserted by this run)."""
        for name in COUNTS:
            setattr(obj, name, 0)
        target = DryRunTarget(self.ctx, plan) if self.bulk.dry_run else RestTarget(self.ctx, plan)
        pages = RestSource(self.ctx, plan, self.scope).pages()
        self._write(obj, plan, (record for page in pages for record in page.rows), target)

    def _bulk_object(
        self, obj: BulkSyncObject, plan: ObjectPlan, following: tuple[BulkSyncObject, ObjectPlan] | None
    ) -> None:
        """The object's query job, then its result pages; once they are ready, the next object's
        query job is started too, so Salesforce runs it while this object's records go out."""
        source = self._source(plan)
        if obj.page_checkpoint:  # stopped within a page: as it was at its last checkpoint
            self._restore_counts(obj)
            self._resume_jobs(obj, plan)
        if obj.next_locator == END:
            return
        if not obj.query_job_id:
            self._start_query(obj, source)
        info = source.wait(obj.query_job_id, obj.total or 0)
        if following and following[0].path == BulkSyncObject.Path.BULK and not following[0].query_job_id:
            with suppress(SalesforceApiError):  # not retried here: the object starts its own later
                self._start_query(following[0], self._source(following[1]))
        if info["state"] != "JobComplete":
            raise SalesforceApiError(
                f"query job {obj.query_job_id} ended {info['state']}: "
                f"{info.get('errorMessage') or 'no reason given'}",
                error_code="BULK_QUERY_FAILED",
            )
        for page in source.pages(obj.query_job_id, obj.next_locator):
            if not obj.page_checkpoint:
                self._checkpoint(obj, rows=0, jobs=[])
            if self.bulk.dry_run:
                self._write(obj, plan, page.rows, DryRunTarget(self.ctx, plan))
            else:
                self._bulk_page(obj, plan, islice(page.rows, obj.page_checkpoint["rows"], None))
            self._page_done(obj, page.next_locator or END)

    def _source(self, plan: ObjectPlan) -> BulkSource:
        return BulkSource(self.ctx, plan, self.scope, page_records=self.page_records, sleep=self.sleep)

    def _start_query(self, obj: BulkSyncObject, source: BulkSource) -> None:
        obj.query_job_id, obj.next_locator = source.start_job(), ""
        obj.save(update_fields=["query_job_id", "next_locator", "updated_at"])

    def _bulk_page(self, obj: BulkSyncObject, plan: ObjectPlan, rows: Iterator[dict]) -> None:
        """The page's rows go out in ingest jobs of `job_records`: while Salesforce runs up to
        IN_FLIGHT of them, the next is read and classified, then sent as soon as the oldest is
        read back, so Salesforce is not left idle while orgsync prepares a job. Every job is
        checkpointed when it is created, when it is uploaded and when its outcomes are read
        back, in the order the jobs were sent."""
        flight: deque[InFlight] = deque()
        target, digests, taken = None, {}, 0
        for chunk in _chunks(rows, min(CHUNK, self.job_records)):
            target = target or BulkTarget(self.ctx, plan)
            entries = self._classify(obj, plan, chunk)
            digests.update({e.source_id: (e.digest, e.source_digest) for e in entries})
            target.add(entries)
            taken += len(chunk)
            self._save_progress(obj)
            if taken >= self.job_records:
                self._send(obj, plan, target, digests, taken, flight)
                target, digests, taken = None, {}, 0
        if target:
            self._send(obj, plan, target, digests, taken, flight)
        while flight:
            self._read_back(obj, plan, flight.popleft())

    def _send(
        self,
        obj: BulkSyncObject,
        plan: ObjectPlan,
        target: BulkTarget,
        digests: dict,
        taken: int,
        flight: deque,
    ) -> None:
        """Submit a prepared job once fewer than IN_FLIGHT run (the oldest read back first)."""
        while len(flight) >= IN_FLIGHT:
            self._read_back(obj, plan, flight.popleft())
        self._submit(obj, target, digests, taken, flight)

    def _submit(
        self, obj: BulkSyncObject, target: BulkTarget, digests: dict, taken: int, flight: deque
    ) -> None:
        """Send one ingest job. Until it is uploaded, the checkpoint keeps what to go back to
        should the job be found still Open (never sent) on resume."""
        before = {"rows": obj.page_checkpoint["rows"], "counts": obj.page_checkpoint["counts"]}
        rows = before["rows"] + taken

        def created(job_id: str) -> None:
            jobs = [*obj.page_checkpoint["jobs"], job_id]
            self._checkpoint(obj, rows=rows, jobs=jobs, uploading={"id": job_id, **before})

        job_id = target.submit(created)
        self._checkpoint(obj, rows=rows, uploading=None)
        if job_id:
            flight.append(InFlight(job_id, digests, target.rows, time.monotonic()))

    def _wait(self, plan: ObjectPlan, job: InFlight) -> dict:
        """Poll a job to its end; the first poll comes about when it should be done, the next
        ones by its progress, both counted from when it was sent."""
        first_wait = max(0.0, job.sent_at + expected_seconds(job.rows) - time.monotonic())
        client = self.ctx.client(plan.publication.target_org)
        return wait_for_job(
            client,
            job.id,
            query=False,
            sleep=self.sleep,
            first_wait=first_wait,
            expected=job.rows,
            sent_at=job.sent_at,
        )

    def _read_back(self, obj: BulkSyncObject, plan: ObjectPlan, job: InFlight) -> None:
        """Wait for a job to end, link and log its outcomes, then take it off the checkpoint."""
        client = self.ctx.client(plan.publication.target_org)
        info = self._wait(plan, job)
        self._outcomes(obj, plan, harvest(client, job.id, info), job.digests)
        self._checkpoint(obj, jobs=[j for j in obj.page_checkpoint["jobs"] if j != job.id])

    def _write(self, obj: BulkSyncObject, plan: ObjectPlan, records: Iterable[dict], target) -> None:
        """Classify and send the records chunk by chunk, then read back what the target did."""
        digests: dict[str, tuple[str, str]] = {}  # keyed hashes of what is sent, never its values
        for chunk in _chunks(iter(records), CHUNK):
            entries = self._classify(obj, plan, chunk)
            digests.update({e.source_id: (e.digest, e.source_digest) for e in entries})
            self._outcomes(obj, plan, target.add(entries), digests)
            self._save_progress(obj)
        self._outcomes(obj, plan, target.finish(), digests)

    def _resume_jobs(self, obj: BulkSyncObject, plan: ObjectPlan) -> None:
        """The run stopped within a page: a job still Open was never sent (it is aborted, and
        its rows are read again); the others are read back (their links carry no hashes, so the
        engine's next change of such a record is simply written)."""
        client = self.ctx.client(plan.publication.target_org)
        uploading = obj.page_checkpoint.get("uploading")
        if uploading:
            if client.bulk_job(uploading["id"])["state"] == "Open":
                client.bulk_abort(uploading["id"])
                jobs = [j for j in obj.page_checkpoint["jobs"] if j != uploading["id"]]
                self._checkpoint(obj, rows=uploading["rows"], jobs=jobs, counts=uploading["counts"])
            self._checkpoint(obj, uploading=None)
        for job_id in obj.page_checkpoint["jobs"]:
            self._read_back(obj, plan, InFlight(job_id, {}, 0, time.monotonic()))

    def _checkpoint(self, obj: BulkSyncObject, counts: dict | None = None, **changes) -> None:
        """Save the page's checkpoint: `changes` to it (None drops an entry), with the counts as
        they are now (or `counts`, which become the counts)."""
        if counts is not None:
            for name in COUNTS:
                setattr(obj, name, counts[name])
        point = {**obj.page_checkpoint, **changes, "counts": {n: getattr(obj, n) for n in COUNTS}}
        obj.page_checkpoint = {k: v for k, v in point.items() if v is not None}
        self._save_progress(obj, extra=("page_checkpoint",))

    def _restore_counts(self, obj: BulkSyncObject) -> None:
        for name in COUNTS:
            setattr(obj, name, obj.page_checkpoint["counts"][name])

    def _page_done(self, obj: BulkSyncObject, following: str) -> None:
        obj.next_locator, obj.page_checkpoint = following, {}
        obj.save()
        self.progress(obj)

    # --- records ------------------------------------------------------------------------------
    def _classify(self, obj: BulkSyncObject, plan: ObjectPlan, records: list[dict]) -> list[Entry]:
        """What to write of a chunk: records already linked are skipped; a record whose parent
        failed in this run is held back; one whose parent is outside the run goes to the record
        queue (which sends the parent first)."""
        links = LinkIndex(self.bulk.connection, self.bulk.direction)
        links.load([*(r["Id"] for r in records), *referenced_ids(plan, records)])
        owners = self._owners(plan, records)
        fresh, copies = [], []
        for record in records:
            obj.processed += 1
            link = links.get(record["Id"])
            if link is None and plan.identity and record.get(EXTERNAL_ID_FIELD):
                copies.append(record["Id"])  # our own copy, unlinked: the engine links it
            elif link is None:
                fresh.append(record)
            elif self.bulk.started_at and link.created_at >= self.bulk.started_at and not self.bulk.dry_run:
                obj.inserted += 1  # copied by this run before it was interrupted
            else:
                obj.skipped += 1
        entries, waiting = [], []
        audit_users = self._audit_users(plan, fresh)
        for record in fresh:
            payload = build_payload(plan, record, links, owners.get(record["Id"]))
            if self.bulk.dry_run and all(pid in self.would_write for _, pid in payload.missing_parents):
                entries.append(Entry(record["Id"], payload.values, ""))
            elif payload.missing_parents:
                waiting.append((record["Id"], payload.missing_parents))
            else:
                values = {**payload.values, **audit_values(plan, record, audit_users)}
                entries.append(Entry(record["Id"], values, payload.digest, source_digest(plan, record)))
        self._park(obj, plan, waiting)
        if copies and not self.bulk.dry_run:
            queue.enqueue(
                self.bulk.connection,
                self.bulk.direction,
                plan.source_object,
                dict.fromkeys(copies, QueueAction.GENERIC_INSERT),
            )
        obj.queued += len(copies)
        return entries

    def _audit_users(self, plan: ObjectPlan, records: list[dict]) -> dict[str, str]:
        """Target users for the audit user fields (Sync Feeds and Audit Fields)."""
        wanted = audit_user_ids(plan, records)
        if not wanted or self.bulk.dry_run:
            return {}
        return self.ctx.owner_resolver(plan.publication).matching_users(wanted)

    def _owners(self, plan: ObjectPlan, records: list[dict]) -> dict[str, str]:
        """Target owner per record by the publication's owner strategy."""
        if not any(m.source == OWNER_FIELD for m in plan.fields):
            return {}
        resolver = self.ctx.owner_resolver(plan.publication)
        owners = resolver.resolve_records([r for r in records if r.get(OWNER_FIELD)])
        resolver.warnings.clear()
        return owners

    def _park(self, obj: BulkSyncObject, plan: ObjectPlan, waiting: list[tuple[str, list]]) -> None:
        if not waiting:
            return
        parent_ids = {pid for _, parents in waiting for _, pid in parents}
        failed = set(
            SyncLog.objects.filter(
                run=self.bulk.run, status=SyncLog.Status.FAILED, source_id__in=parent_ids
            ).values_list("source_id", flat=True)
        )
        handed: dict[str, str] = {}
        for source_id, parents in waiting:
            failed_parents = [(name, pid) for name, pid in parents if pid in failed]
            if not failed_parents:
                handed[source_id] = QueueAction.GENERIC_INSERT
                continue
            obj.held_back += 1
            if not self.bulk.dry_run:
                name, pid = failed_parents[0]
                self._log_failure(
                    plan,
                    Outcome(
                        source_id,
                        code="PARENT_FAILED",
                        message=f"Not copied: its parent {name} {pid} failed in this bulk sync. "
                        "Fix the parent's error (see its log entry), then retry both.",
                    ),
                )
        obj.queued += len(handed)
        if handed and not self.bulk.dry_run:
            queue.enqueue(self.bulk.connection, self.bulk.direction, plan.source_object, handed)

    def _outcomes(
        self,
        obj: BulkSyncObject,
        plan: ObjectPlan,
        outcomes: Iterable[Outcome],
        digests: dict[str, tuple[str, str]],
    ) -> None:
        for chunk in _chunks(iter(outcomes), CHUNK):
            ok = [o for o in chunk if o.ok]
            if self.bulk.dry_run:
                self.would_write.update(o.source_id for o in ok)
            for outcome in ok:
                if outcome.created:
                    obj.inserted += 1
                else:
                    obj.linked += 1
            for outcome in chunk:
                if not outcome.ok:
                    obj.failed += 1
                    if not self.bulk.dry_run:
                        self._log_failure(plan, outcome)
            if ok and not self.bulk.dry_run:
                self._link(plan, ok, digests)

    def _link(self, plan: ObjectPlan, ok: list[Outcome], digests: dict[str, tuple[str, str]]) -> None:
        """Link what was written, with the keyed hashes of what the target now holds (so the
        engine neither sends it again nor takes it for a change). One multi-row statement per
        chunk: a link made meanwhile by the engine is kept."""
        forward = self.bulk.direction == Direction.PRIMARY_TO_SECONDARY
        rows = []
        for outcome in ok:
            digest, back = digests.get(outcome.source_id, ("", ""))
            source, target = outcome.source_id, outcome.target_id
            rows.append(
                (
                    plan.source_object if forward else plan.target_object,
                    source if forward else target,
                    plan.target_object if forward else plan.source_object,
                    target if forward else source,
                    back if forward else digest,
                    digest if forward else back,
                    digest if forward else back,
                    back if forward else digest,
                    False,
                )
            )
        insert_rows(
            RecordLink,
            NEW_LINK_FIELDS,
            rows,
            shared={"connection": self.bulk.connection_id},
            ignore_conflicts=True,
        )
        log_resolved(
            connection=self.bulk.connection,
            direction=self.bulk.direction,
            source_ids=[o.source_id for o in ok],
        )

    def _log_failure(self, plan: ObjectPlan, outcome: Outcome) -> None:
        already = SyncLog.objects.filter(
            run=self.bulk.run, source_id=outcome.source_id, status=SyncLog.Status.FAILED
        ).exists()
        if already:  # the same outcome read back again after an interruption
            return
        log_attempt_failed(
            connection=self.bulk.connection,
            direction=self.bulk.direction,
            source_object=plan.source_object,
            source_id=outcome.source_id,
            action=QueueAction.BULK_SYNC,
            code=outcome.code,
            message=outcome.message,
            fields=outcome.fields,
            attempt=1,
            final=True,
            run=self.bulk.run,
        )

    # --- bookkeeping --------------------------------------------------------------------------
    def _save_progress(self, obj: BulkSyncObject, extra: tuple[str, ...] = ()) -> None:
        BulkSyncObject.objects.filter(pk=obj.pk).update(
            updated_at=timezone.now(),
            **{name: getattr(obj, name) for name in (*COUNTS, *extra)},
        )
        self.progress(obj)
        self._check()

    def _check(self) -> None:
        """Renew the leases; stop when a cancel was asked for or a lease was lost."""
        try:
            self.ctx.fence()
        except ConnectionLeaseLost as exc:
            raise LeaseLost from exc
        now = timezone.now()
        renewed = BulkSync.objects.filter(pk=self.bulk.pk, lease_holder=self.ctx.worker).update(
            lease_until=now + LEASE
        )
        if not renewed:
            raise LeaseLost
        if BulkSync.objects.filter(pk=self.bulk.pk, cancel_requested=True).exists():
            raise Cancelled

    def _acquire(self) -> bool:
        now = timezone.now()
        free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
        taken = BulkSync.objects.filter(free, pk=self.bulk.pk, status__in=BulkSync.ACTIVE).update(
            status=Status.RUNNING, lease_holder=self.ctx.worker, lease_until=now + LEASE, error=""
        )
        if not taken:
            return False
        self.bulk.refresh_from_db()
        if self.bulk.started_at is None or self.bulk.run is None:
            self.bulk.started_at = self.bulk.started_at or now
            self.bulk.run = self.bulk.run or SyncRun.objects.create(
                connection=self.bulk.connection, kind=SyncRun.Kind.BULK, direction=self.bulk.direction
            )
            self.bulk.save(update_fields=["started_at", "run"])
        return True

    def _object_failed(self, obj: BulkSyncObject, error: str) -> None:
        obj.status, obj.error, obj.finished_at = ObjectStatus.FAILED, error[:1000], timezone.now()
        obj.save()
        self.progress(obj)

    def _interrupt(self, error: str) -> None:
        """Stopped by an outage or a signal: resumable, by the engine tick or the command."""
        logger.warning("bulk sync %s interrupted: %s", self.bulk.pk, error)
        BulkSync.objects.filter(pk=self.bulk.pk, lease_holder=self.ctx.worker).update(
            status=Status.INTERRUPTED, lease_holder="", lease_until=None, error=error[:1000]
        )

    @transaction.atomic
    def _close(self, status: str, *, error: str = "") -> None:
        if status == Status.CANCELLED:
            self.bulk.sync_objects.exclude(status__in=[ObjectStatus.DONE, ObjectStatus.FAILED]).update(
                status=ObjectStatus.CANCELLED
            )
            self._abort_open_jobs()
        BulkSync.objects.filter(pk=self.bulk.pk).update(
            status=status, lease_holder="", lease_until=None, error=error[:1000], finished_at=timezone.now()
        )
        self._close_run(status)

    def _abort_open_jobs(self) -> None:
        connection = self.bulk.connection
        forward = self.bulk.direction == Direction.PRIMARY_TO_SECONDARY
        client = self.ctx.client(connection.secondary_org if forward else connection.primary_org)
        for obj in self.bulk.sync_objects.exclude(page_checkpoint={}):
            for job_id in obj.page_checkpoint.get("jobs", []):
                # Already finished: its records are in the target and get linked by a later run.
                with suppress(SalesforceApiError):
                    client.bulk_abort(job_id)

    def _close_run(self, status: str) -> None:
        """The run's counts: its objects' records, plus the posts, comments and files (Sync
        Feeds) that failed or were over the size limit, which have Failed entries in its log."""
        objects = list(self.bulk.sync_objects.all())
        children_failed = SyncLog.objects.filter(
            run_id=self.bulk.run_id, status=SyncLog.Status.FAILED, source_object__in=CHILD_OBJECTS
        ).count()
        outcome = {
            Status.COMPLETED: SyncRun.Outcome.FINISHED,
            Status.COMPLETED_WITH_FAILURES: SyncRun.Outcome.FINISHED,
            Status.CANCELLED: SyncRun.Outcome.CANCELLED,
        }.get(status, SyncRun.Outcome.FAILED)
        SyncRun.objects.filter(pk=self.bulk.run_id).update(
            outcome=outcome,
            finished_at=timezone.now(),
            processed=sum(o.processed for o in objects),
            succeeded=sum(o.inserted + o.linked for o in objects),
            failed=sum(o.failed + o.held_back for o in objects) + children_failed,
            skipped=sum(o.skipped for o in objects),
            api_calls=sum(o.api_calls for o in objects),
            files=sum(o.files for o in objects),
            file_bytes=sum(o.file_bytes for o in objects),
        )


def _chunks(rows: Iterator[dict], size: int) -> Iterator[list]:
    rows = iter(rows)
    while chunk := list(islice(rows, size)):
        yield chunk

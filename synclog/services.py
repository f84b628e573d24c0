"""Writing the sync log: one open entry per failing record, Retrying → Failed or Resolved;
sending Failed records again (retry) and removing old entries (retention).

A Failed entry is counted in exactly one run's `failed`: its `run`. An operator's retry keeps
that link while the record is tried again: a success moves the count from failed to succeeded in
that run (SwiftPort: "the original sync log is updated"); a final failure in a later run moves it
to that run, which counted it.

A Failed entry nobody retried is still open: when its record goes through later by itself (its
source changed again and that write succeeded), the entry turns Resolved too, but no count
moves. That run did fail the record, and the later write was a new piece of work that its own
run counts as succeeded; moving failed → succeeded as well would count one success twice. So
the counts stay as written (never negative), and the success rate sees one failure and one
success, the truth of two writes.
"""

import logging
from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from synclog.models import AlertSent, SyncLog, SyncRun
from synclog.redact import safe_message

logger = logging.getLogger(__name__)
Status = SyncLog.Status


def log_attempt_failed(
    *,
    connection,
    direction: str,
    source_object: str,
    source_id: str,
    action: str,
    target_id: str = "",
    code: str,
    message: str,
    fields: tuple[str, ...] = (),
    attempt: int,
    final: bool,
    run: SyncRun | None = None,
) -> SyncLog:
    """Update the record's open entry (or start one): Failed when `final`.

    One open entry per failing record: a record that fails again — a later change, or capture's
    overlap window reading it once more — updates its Retrying or Failed entry instead of adding
    another. A Failed entry is counted in its run; when a later run takes it over, the count
    moves there."""
    values = {
        "status": Status.FAILED if final else Status.RETRYING,
        "error_code": code[:80],
        "message": safe_message(message),
        "fields": ",".join(fields)[:500],
        "attempt": attempt,
        "action": action,
        "target_id": target_id,
        "run": run,
    }
    entry = (
        SyncLog.objects.filter(
            connection=connection,
            direction=direction,
            source_id=source_id,
            status__in=[Status.RETRYING, Status.FAILED],
        )
        .order_by("-updated_at", "-pk")
        .first()
    )
    counted_there = (
        entry is not None
        and entry.run_id is not None
        and (entry.status == Status.FAILED or entry.retried_at is not None)
    )
    if counted_there and (run is None or entry.run_id != run.pk):
        if entry.status == Status.RETRYING and not final:
            values["run"] = entry.run  # an operator's retry: still counted failed there until it settles
        elif final or entry.status == Status.FAILED:
            _move_counts(entry.run_id, failed=-1)  # the run that fails it now counts it
    if entry is None:
        return SyncLog.objects.create(
            connection=connection,
            direction=direction,
            source_object=source_object,
            source_id=source_id,
            **values,
        )
    for name, value in values.items():
        setattr(entry, name, value)
    entry.save()
    return entry


def log_resolved(*, connection, direction: str, source_ids: list[str]) -> int:
    """A record went through: its open entries (Retrying, or Failed ones it left behind) become
    Resolved. An entry an operator retried was counted failed in its run: that run now counts it
    succeeded instead; a Failed entry resolved by a later write moves no count (module doc)."""
    if not source_ids:
        return 0
    entries = SyncLog.objects.filter(
        connection=connection,
        direction=direction,
        source_id__in=source_ids,
        status__in=[Status.RETRYING, Status.FAILED],
    )
    retried = entries.filter(status=Status.RETRYING, retried_at__isnull=False, run__isnull=False)
    for run_id, count in Counter(retried.values_list("run_id", flat=True)).items():
        _move_counts(run_id, failed=-count, succeeded=count)
    return entries.update(status=Status.RESOLVED, attempt=F("attempt") + 1)


def _move_counts(run_id: int, *, failed: int = 0, succeeded: int = 0) -> None:
    changes = {"succeeded": F("succeeded") + succeeded}
    # Never below zero: retention or an older engine may have left the run without this count.
    runs = SyncRun.objects.filter(pk=run_id, failed__gte=-failed)
    runs.update(failed=F("failed") + failed, **changes)


@dataclass(frozen=True)
class RetryResult:
    retried: int  # records sent back to the queue
    already_retrying: int  # Failed entries whose record is being retried already


def _newest_failed_per_record(entries: QuerySet[SyncLog]) -> list[SyncLog]:
    newest: dict[tuple, SyncLog] = {}
    for entry in entries.filter(status=Status.FAILED).select_related("connection").order_by("-updated_at"):
        newest.setdefault((entry.connection_id, entry.direction, entry.source_id), entry)
    return list(newest.values())


def _queue_action(entry: SyncLog) -> str:
    from replication.models import QueueAction

    if entry.action in (QueueAction.REPLICATION_DELETE, QueueAction.REPLICATION_UNDELETE):
        return entry.action
    return QueueAction.GENERIC_UPDATE if entry.target_id else QueueAction.GENERIC_INSERT


@transaction.atomic
def sync_log_retry(*, entries: QuerySet[SyncLog], actor: AbstractBaseUser | None = None) -> RetryResult:
    """Send the records of Failed `entries` again: each goes back to the record queue (collapsing
    into a pending item), due now, and its entry turns Retrying, so the next sync cycle writes it
    and the entry ends Resolved or Failed. A feed child's entry (Sync Feeds: a post, comment,
    file or attachment) only turns Retrying and brings the next cycle forward: the cycle's feed
    step looks at its record again and writes it. Other statuses are left alone."""
    from replication.engine.feeds import CHILD_OBJECTS
    from replication.engine.lease import request_cycle
    from replication.engine.queue import enqueue
    from replication.services.queue import queue_item_retry

    chosen = _newest_failed_per_record(entries)
    busy = set(
        SyncLog.objects.filter(
            status=Status.RETRYING, source_id__in=[e.source_id for e in chosen]
        ).values_list("connection_id", "direction", "source_id")
    )
    todo = [e for e in chosen if (e.connection_id, e.direction, e.source_id) not in busy]
    groups: dict[tuple, dict[str, str]] = defaultdict(dict)
    children = [e for e in todo if e.source_object in CHILD_OBJECTS]
    for entry in todo:
        if entry.source_object in CHILD_OBJECTS:
            continue  # a post, comment, file or attachment: the feed step retries it (no queue item)
        groups[(entry.connection, entry.direction, entry.source_object)][entry.source_id] = _queue_action(
            entry
        )
    for connection in {e.connection for e in children}:
        request_cycle(connection)  # as "Sync now": the next cycle's feed step retries them
    for (connection, direction, source_object), changes in groups.items():
        enqueue(connection, direction, source_object, changes)
        queue_item_retry(
            items=connection.queue_items.filter(direction=direction, source_id__in=list(changes)),
            actor=actor,
        )
    SyncLog.objects.filter(pk__in=[e.pk for e in todo]).update(
        status=Status.RETRYING, retried_at=timezone.now(), retried_by=actor
    )
    if todo:
        logger.info(
            "retry of %d failed records asked by user %s", len(todo), actor.pk if actor else "orgsync"
        )
    return RetryResult(retried=len(todo), already_retrying=len(chosen) - len(todo))


@dataclass(frozen=True)
class PurgeResult:
    cutoff: datetime
    entries: int
    runs: int
    alerts: int


def _delete_in_batches(queryset: QuerySet, batch_size: int) -> int:
    removed = 0
    while ids := list(queryset.values_list("pk", flat=True)[:batch_size]):
        removed += queryset.model.objects.filter(pk__in=ids).delete()[0]
    return removed


def sync_log_purge(*, older_than_days: int, batch_size: int = 1000, dry_run: bool = False) -> PurgeResult:
    """Remove what is older than `older_than_days`: record-level entries first (by last change,
    so an entry still moving is kept), then finished run summaries, then alert memory; in
    batches, each its own short transaction, so web and workers keep writing meanwhile."""
    if older_than_days < 1:
        raise ValueError("Retention must keep at least one day.")
    cutoff = timezone.now() - timedelta(days=older_than_days)
    entries = SyncLog.objects.filter(updated_at__lt=cutoff).exclude(status=Status.RETRYING)
    # A run still named by a younger entry (one retried lately) stays as that entry's summary.
    runs = SyncRun.objects.filter(started_at__lt=cutoff, logs__isnull=True).exclude(
        outcome=SyncRun.Outcome.RUNNING
    )
    alerts = AlertSent.objects.filter(sent_at__lt=cutoff)
    if dry_run:
        return PurgeResult(cutoff, entries.count(), runs.count(), alerts.count())
    return PurgeResult(
        cutoff,
        _delete_in_batches(entries, batch_size),
        _delete_in_batches(runs, batch_size),
        _delete_in_batches(alerts, batch_size),
    )

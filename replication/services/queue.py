"""Operator doors into the record queue: retry now, ignore, remove. The engine's own queue verbs
are in `replication.engine.queue`; these only change when an item is due, or take it away."""

import logging

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction
from django.db.models import QuerySet
from django.utils import timezone

from replication.models import EngineSchedule, QueueStatus, RecordQueueItem

logger = logging.getLogger(__name__)


@transaction.atomic
def queue_item_retry(*, items: QuerySet[RecordQueueItem], actor: AbstractBaseUser | None = None) -> int:
    """Make Retrying `items` due now (their Next Retry Date becomes now; attempts are kept) and
    bring their connections' next sync cycle forward. Returns how many items changed.

    Nothing runs inside the request: the engine's next tick takes them under its lease, so a
    retry never races a running cycle or holds a web worker on Salesforce calls."""
    now = timezone.now()
    retrying = items.filter(status=QueueStatus.RETRYING)
    connection_ids = set(items.values_list("connection_id", flat=True))
    changed = retrying.update(next_retry_at=now, updated_at=now)
    EngineSchedule.objects.filter(connection_id__in=connection_ids, next_cycle_at__gt=now).update(
        next_cycle_at=now, idle_cycles=0
    )
    if changed:
        logger.info("%d queue items made due now by user %s", changed, actor.pk if actor else "orgsync")
    return changed


@transaction.atomic
def queue_item_remove(*, items: QuerySet[RecordQueueItem], actor: AbstractBaseUser | None = None) -> int:
    """Take `items` out of the queue for good: the change is not sent (a later edit of the
    record queues it again). A worker holding one finds it gone and moves on."""
    removed, _ = RecordQueueItem.objects.filter(pk__in=list(items.values_list("pk", flat=True))).delete()
    logger.info("%d queue items removed by user %s", removed, actor.pk if actor else "orgsync")
    return removed


IGNORED = "IGNORED"  # the sync log's error code of a record an operator ignored in the queue


@transaction.atomic
def queue_item_ignore(*, items: QuerySet[RecordQueueItem], actor: AbstractBaseUser | None = None) -> int:
    """Ignore `items` (Organization Sync's record queue "Ignore"): the change is not sent, the
    item leaves the queue, and the sync log records who ignored it — the record's Retrying entry
    turns Resolved with the code IGNORED, or a Resolved IGNORED entry is added. No run's counts
    move. A later change of the record queues it again, except for a record pending acceptance:
    ignoring that one is rejecting it (`queue_items_reject`), so it is never offered again.
    Connection suspend/resume markers are no records, and an item a worker is sending right now
    cannot be held back: both are left alone. Returns how many were ignored."""
    from replication.engine.queue import is_connection_event
    from replication.services.acceptance import queue_items_reject
    from synclog.models import SyncLog
    from synclog.redact import safe_message

    now = timezone.now()
    candidates = RecordQueueItem.objects.filter(pk__in=list(items.values_list("pk", flat=True))).exclude(
        status=QueueStatus.IN_PROGRESS, claim_expires_at__gte=now
    )
    chosen = [i for i in candidates if not is_connection_event(i)]
    if not chosen:
        return 0
    who = actor.get_username() if actor is not None else "orgsync"
    for item in chosen:
        note = (
            f"Ignored by {who} on {now:%Y-%m-%d %H:%M} UTC in the record queue: not sent, it left the queue"
        )
        note += (
            " (pending acceptance: rejected, never offered again)."
            if item.status == QueueStatus.PENDING_ACCEPTANCE
            else " (a later change of the record queues it again)."
        )
        entry = (
            SyncLog.objects.filter(
                connection_id=item.connection_id,
                direction=item.direction,
                source_id=item.source_id,
                status=SyncLog.Status.RETRYING,
            )
            .order_by("-updated_at", "-pk")
            .first()
        )
        if entry is not None:
            last = f" Last error: {entry.error_code}: {entry.message}" if entry.error_code else ""
            entry.status, entry.error_code = SyncLog.Status.RESOLVED, IGNORED
            entry.message = (note + last)[:1000]
            entry.save(update_fields=["status", "error_code", "message", "updated_at"])
            continue
        last = (
            f" Last error: {item.last_error_code}: {safe_message(item.last_error_message)}"
            if item.last_error_code
            else ""
        )
        SyncLog.objects.create(
            connection_id=item.connection_id,
            direction=item.direction,
            source_object=item.source_object,
            source_id=item.source_id,
            action=item.action,
            status=SyncLog.Status.RESOLVED,
            error_code=IGNORED,
            message=(note + last)[:1000],
            attempt=max(item.attempts, 1),
        )
    pending = [i for i in chosen if i.status == QueueStatus.PENDING_ACCEPTANCE]
    queue_items_reject(items=pending, actor=actor)
    RecordQueueItem.objects.filter(pk__in=[i.pk for i in chosen]).delete()
    logger.info("%d queue items ignored by user %s", len(chosen), actor.pk if actor else "orgsync")
    return len(chosen)

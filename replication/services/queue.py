"""Operator doors into the record queue: retry now, remove. The engine's own queue verbs are in
`replication.engine.queue`; these only change when an item is due, or take it away."""

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
        logger.info("%d queue items made due now by %s", changed, actor or "orgsync")
    return changed


@transaction.atomic
def queue_item_remove(*, items: QuerySet[RecordQueueItem], actor: AbstractBaseUser | None = None) -> int:
    """Take `items` out of the queue for good: the change is not sent (a later edit of the
    record queues it again). A worker holding one finds it gone and moves on."""
    removed, _ = RecordQueueItem.objects.filter(pk__in=list(items.values_list("pk", flat=True))).delete()
    logger.info("%d queue items removed by %s", removed, actor or "orgsync")
    return removed

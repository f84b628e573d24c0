"""Pending acceptance (S2S without Auto-Accept): an admin accepts or rejects new records."""

from collections.abc import Iterable

from django.contrib.auth.models import AbstractBaseUser
from django.db import transaction

from replication.models import QueueStatus, RecordQueueItem, RejectedRecord


@transaction.atomic
def queue_items_accept(*, items: Iterable[RecordQueueItem], actor: AbstractBaseUser | None) -> int:
    """Accepted records are sent on the next cycle."""
    ids = [i.pk for i in items]
    return RecordQueueItem.objects.filter(pk__in=ids, status=QueueStatus.PENDING_ACCEPTANCE).update(
        status=QueueStatus.QUEUED, accepted=True, next_retry_at=None
    )


@transaction.atomic
def queue_items_reject(*, items: Iterable[RecordQueueItem], actor: AbstractBaseUser | None) -> int:
    """Rejected records are dropped and not offered again, however often they change."""
    pending = list(
        RecordQueueItem.objects.filter(pk__in=[i.pk for i in items], status=QueueStatus.PENDING_ACCEPTANCE)
    )
    for item in pending:
        RejectedRecord.objects.get_or_create(
            connection_id=item.connection_id,
            direction=item.direction,
            source_id=item.source_id,
            defaults={"source_object": item.source_object, "rejected_by": actor},
        )
    RecordQueueItem.objects.filter(pk__in=[i.pk for i in pending]).delete()
    return len(pending)

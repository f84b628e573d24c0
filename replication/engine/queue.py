"""The record queue as the engine's ledger: enqueue with collapse, claims, completion, retries.

Claims are compare-and-set updates that work on SQLite and PostgreSQL alike (ARCHITECTURE,
"Claims"): an item is taken only while it is ready (queued, due for retry, or its claim expired),
and a claim carries a unique token, so two workers never apply the same record at once.
"""

import random
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import timedelta

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from connections.models import Connection, ConnectionEvent
from replication.engine.plans import publications
from replication.engine.sets import insert_rows
from replication.models import Direction, QueueAction, QueueStatus, RecordQueueItem

CLAIM_LEASE = timedelta(minutes=5)
RETRY_BASE_SECONDS = 30
RETRY_MAX_SECONDS = 3600
CONNECTION_OBJECT = "Connection"  # source_object of connection-event items
USER_OBJECT = "User"
EVENT_ACTIONS = {
    ConnectionEvent.Kind.ADMIN_SUSPENDED: QueueAction.CONNECTION_ADMIN_SUSPENDED,
    ConnectionEvent.Kind.ADMIN_RESUMED: QueueAction.CONNECTION_ADMIN_RESUMED,
    ConnectionEvent.Kind.SUSPENDED: QueueAction.CONNECTION_SUSPENDED,
    ConnectionEvent.Kind.RESUMED: QueueAction.CONNECTION_RESUMED,
}


def enqueue(connection: Connection, direction: str, source_object: str, changes: dict[str, str]) -> int:
    """Record `changes` (source id → action): one pending item per record and direction; a later
    change collapses into the pending one (its version goes up). Returns how many were new."""
    if not changes:
        return 0
    items = RecordQueueItem.objects.filter(connection=connection, direction=direction)
    existing: set[str] = set()
    ids = list(changes)
    for start in range(0, len(ids), 500):
        existing |= set(
            items.filter(source_id__in_ids=ids[start : start + 500]).values_list("source_id", flat=True)
        )
    new = [(i, a) for i, a in changes.items() if i not in existing]
    # A capture of the same connection and direction runs under a lease, so a conflict here is
    # rare; ignoring it keeps a racing insert from failing the whole batch.
    insert_rows(
        RecordQueueItem,
        ["source_id", "action"],
        new,
        shared={"connection": connection.pk, "direction": direction, "source_object": source_object},
        ignore_conflicts=True,
    )
    collapse: dict[str, list[str]] = {}
    for source_id in existing:
        collapse.setdefault(changes[source_id], []).append(source_id)
    for action, source_ids in collapse.items():
        for start in range(0, len(source_ids), 500):
            items.filter(source_id__in_ids=source_ids[start : start + 500]).update(
                version=F("version") + 1,
                action=action,
                source_object=source_object,
                updated_at=timezone.now(),
            )
    return len(new)


def enqueue_connection_event(event: ConnectionEvent) -> int:
    """Mark a suspension or resumption in the queue of each direction the engine applies (one
    with a subscribed publication), as Organization Sync does: the item sits among the records in
    enqueue order and apply completes it when it reaches it. Its source id, "event-<pk>", can
    never be a Salesforce Id (no hyphen there), so it never collides with a record's item."""
    connection = event.connection
    directions = [Direction.PRIMARY_TO_SECONDARY]
    if connection.is_two_way:
        directions.append(Direction.SECONDARY_TO_PRIMARY)
    items = [
        RecordQueueItem(
            connection=connection,
            direction=direction,
            source_object=CONNECTION_OBJECT,
            source_id=f"event-{event.pk}",
            action=EVENT_ACTIONS[event.kind],
        )
        for direction in directions
        if publications(connection, direction).exists()
    ]
    RecordQueueItem.objects.bulk_create(items)
    return len(items)


def is_connection_event(item: RecordQueueItem) -> bool:
    return item.source_object == CONNECTION_OBJECT and item.action in EVENT_ACTIONS.values()


def _ready(now) -> Q:
    return (
        Q(status=QueueStatus.QUEUED)
        | Q(status=QueueStatus.RETRYING, next_retry_at__lte=now)
        | Q(status=QueueStatus.IN_PROGRESS, claim_expires_at__lt=now)
    )


def ready_items(connection: Connection, direction: str, *, users: bool = False):
    """Items that may be claimed now: record items, or with `users` the user sync's (the two
    are applied by different code, `apply.py` and `users.py`, and never take each other's)."""
    items = RecordQueueItem.objects.filter(connection=connection, direction=direction)
    items = items.filter(source_object=USER_OBJECT) if users else items.exclude(source_object=USER_OBJECT)
    return items.filter(_ready(timezone.now()))


def claim(
    connection: Connection,
    direction: str,
    worker: str,
    *,
    limit: int = 1000,
    users: bool = False,
    fence: Callable[[], None] | None = None,
) -> list[RecordQueueItem]:
    """Take up to `limit` ready items (record items, or with `users` user items), oldest first.

    `fence` (the cycle's `EngineContext.fence`) renews the connection's lease in the claim's own
    transaction, or raises `LeaseLost` and claims nothing. A claim is a write to the ledger: a
    cycle that lost its lease and claimed anyway would leave its claims In Progress, since a
    lost lease releases nothing (`ConnectionLease.release`) and the new holder may have let go
    already. Renewal and claim commit together, so every claim is made before the next holder's
    `acquire`, which puts it back."""
    now = timezone.now()
    items = RecordQueueItem.objects.filter(connection=connection, direction=direction)
    ready = ready_items(connection, direction, users=users)
    candidates = list(ready.order_by("enqueued_at", "id").values_list("id", flat=True)[:limit])
    if not candidates:
        return []
    token = f"{worker[:40]}:{uuid.uuid4().hex[:12]}"
    with transaction.atomic():
        if fence is not None:
            fence()
        items.filter(id__in_ids=candidates).filter(_ready(now)).update(
            status=QueueStatus.IN_PROGRESS,
            claimed_by=token,
            claimed_at=now,
            claim_expires_at=now + CLAIM_LEASE,
        )
    return list(items.filter(claimed_by=token).order_by("enqueued_at", "id"))


def complete(item: RecordQueueItem) -> bool:
    """Remove a done item, unless the record changed again meanwhile: then it goes back to the
    queue for another round. True when removed."""
    removed, _ = RecordQueueItem.objects.filter(pk=item.pk, version=item.version).delete()
    if not removed:
        release([item])
    return bool(removed)


def complete_all(items: list[RecordQueueItem]) -> int:
    """`complete` for many items in a few statements: one delete per version seen, then the
    items that changed meanwhile go back to the queue. Returns how many were removed."""
    by_version: dict[int, list[int]] = defaultdict(list)
    for item in items:
        by_version[item.version].append(item.pk)
    removed = 0
    for version, pks in by_version.items():
        pks.sort()  # rows locked in one order by every set-based write of the queue
        for start in range(0, len(pks), 500):
            removed += RecordQueueItem.objects.filter(
                pk__in_ids=pks[start : start + 500], version=version
            ).delete()[0]
    if removed < len(items):
        changed = RecordQueueItem.objects.filter(pk__in_ids=[i.pk for i in items])
        release(list(changed))
    return removed


def release(items: Iterable[RecordQueueItem], *, delay: timedelta | None = None) -> None:
    """Give items back without counting an attempt (e.g. waiting for a parent record)."""
    ids = [i.pk for i in items]
    status = QueueStatus.RETRYING if delay else QueueStatus.QUEUED
    RecordQueueItem.objects.filter(pk__in_ids=ids).update(
        status=status,
        claimed_by="",
        claimed_at=None,
        claim_expires_at=None,
        next_retry_at=timezone.now() + delay if delay else None,
    )


def hold_for_acceptance(item: RecordQueueItem) -> None:
    """Park a new record until an admin accepts or rejects it (claims never take it)."""
    RecordQueueItem.objects.filter(pk=item.pk).update(
        status=QueueStatus.PENDING_ACCEPTANCE, claimed_by="", claimed_at=None, claim_expires_at=None
    )


def backoff(attempts: int) -> timedelta:
    """Exponential backoff with ±20 % jitter: 30 s, 60 s, 120 s … capped at an hour."""
    seconds = min(RETRY_BASE_SECONDS * 2 ** max(attempts - 1, 0), RETRY_MAX_SECONDS)
    return timedelta(seconds=seconds * random.uniform(0.8, 1.2))


def schedule_retry(item: RecordQueueItem, *, code: str, message: str) -> RecordQueueItem:
    """Count an attempt and set the Next Retry Date."""
    item.attempts += 1
    item.status = QueueStatus.RETRYING
    item.next_retry_at = timezone.now() + backoff(item.attempts)
    item.last_error_code, item.last_error_message = code[:80], message[:500]
    item.claimed_by, item.claimed_at, item.claim_expires_at = "", None, None
    item.save(
        update_fields=[
            "attempts",
            "status",
            "next_retry_at",
            "last_error_code",
            "last_error_message",
            "claimed_by",
            "claimed_at",
            "claim_expires_at",
            "updated_at",
        ]
    )
    return item


def drop(item: RecordQueueItem) -> None:
    """Remove an item for good (its failure is in the sync log)."""
    RecordQueueItem.objects.filter(pk=item.pk).delete()

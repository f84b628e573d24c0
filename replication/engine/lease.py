"""One writer per connection, fenced (ARCHITECTURE, "One writer per connection, fenced").

Every path that writes to a connection's orgs — the scheduled tick, "Sync now", forward, bulk
sync, every worker cluster — first takes the connection's lease on its `EngineSchedule` row.
Taking it is a compare-and-set that works on SQLite and PostgreSQL alike, and bumps
`lease_token`: the fencing token. The holder renews the lease before every write batch, in the
transaction of every claim of queue items (`queue.claim(fence=…)`) and between long reads
(`ConnectionLease.renew`); a renewal that finds another token raises `LeaseLost`, so a writer
that stalled past its lease stops before it writes (or claims) again.

The lease is short (`ORGSYNC_LEASE_SECONDS`, 30 s): a cycle killed at any instant frees its
connection within that time, and whoever takes the lease next puts the dead cycle's claimed queue
items back (nobody else could have claimed them: the lease is exclusive).

A request while the lease is held is not run beside the holder: it is coalesced into the next
cycle (`request_cycle`), which the scheduler starts as soon as the holder lets go.

A worker process asked to stop (`request_stop`, from `runworkers` on SIGTERM) lets go the same
way: its next renewal raises `ProcessStopping`, before the next write, and the lease and its
claims are released on the way out.
"""

import logging
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db import connection as db_connection
from django.db.models import F, Q
from django.utils import timezone

from connections.models import Connection
from replication.models import EngineSchedule, QueueStatus, RecordQueueItem

logger = logging.getLogger(__name__)


class LeaseLost(Exception):
    """Another writer holds the connection now: stop before the next write."""


class ProcessStopping(LeaseLost):
    """This process is stopping: the writer lets go before its next write, as if it had lost
    the lease (but it still holds it, so it releases it and its claims at once)."""


_stopping = False


def request_stop() -> None:
    """Ask every writer in this process to stop at its next renewal (a signal handler calls it)."""
    global _stopping
    _stopping = True


def stop_requested() -> bool:
    return _stopping


def lease_duration() -> timedelta:
    return timedelta(seconds=settings.ORGSYNC_LEASE_SECONDS)


@dataclass
class ConnectionLease:
    schedule_id: int
    connection_id: int
    holder: str
    token: int
    duration: timedelta

    def _mine(self):
        return EngineSchedule.objects.filter(
            pk=self.schedule_id, lease_token=self.token, lease_holder=self.holder
        )

    def renew(self) -> None:
        """Fencing check and heartbeat in one statement: extend the lease if it is still ours,
        else raise LeaseLost. Raises ProcessStopping instead when this process is stopping."""
        if _stopping:
            raise ProcessStopping(f"connection {self.connection_id}: the worker is stopping")
        if not self._mine().update(lease_until=timezone.now() + self.duration):
            raise LeaseLost(f"connection {self.connection_id}: lease {self.token} was taken over")

    def release(self) -> None:
        """Let go: claimed items that were not finished go back to the queue, then the lease is
        free. Nothing happens if the lease was lost (the new holder owns those items)."""
        with transaction.atomic():
            if self._mine().update(lease_holder="", lease_until=None):
                release_claims(self.connection_id)

    def release_if_idle(self, *, since) -> bool:
        """Let go unless a cycle was requested after `since` (then the holder runs another one:
        checking and letting go in one statement leaves no gap for a request to fall into).
        True when released, or when the lease was lost anyway."""
        with transaction.atomic():
            idle = Q(cycle_requested_at__isnull=True) | Q(cycle_requested_at__lt=since)
            if self._mine().filter(idle).update(lease_holder="", lease_until=None):
                release_claims(self.connection_id)
                return True
            return not self._mine().exists()


def schedule_for(connection: Connection) -> EngineSchedule:
    schedule, _ = EngineSchedule.objects.get_or_create(
        connection=connection, defaults={"next_cycle_at": timezone.now()}
    )
    return schedule


def acquire(
    connection: Connection, worker: str, *, duration: timedelta | None = None
) -> ConnectionLease | None:
    """Take the connection's lease if it is free (never held, released, or expired)."""
    duration = duration or lease_duration()
    schedule = schedule_for(connection)
    holder = f"{worker[:60]}:{uuid.uuid4().hex[:12]}"
    now = timezone.now()
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    with transaction.atomic():
        taken = EngineSchedule.objects.filter(free, pk=schedule.pk).update(
            lease_holder=holder, lease_until=now + duration, lease_token=F("lease_token") + 1
        )
        if not taken:
            return None
        token = EngineSchedule.objects.filter(pk=schedule.pk).values_list("lease_token", flat=True).get()
        # The lease is exclusive: whatever is still In Progress was claimed by a holder that died.
        orphans = release_claims(connection.pk)
    if orphans:
        logger.warning("connection %s: %d item(s) of a dead cycle back in the queue", connection.pk, orphans)
    return ConnectionLease(schedule.pk, connection.pk, holder, token, duration)


def acquire_waiting(
    connection: Connection,
    worker: str,
    *,
    wait: float,
    duration: timedelta | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> ConnectionLease | None:
    """For long writers (bulk sync, rebuild_links): a sync cycle holds the lease for seconds, so
    wait up to `wait` seconds for it to let go. None if it did not."""
    deadline = time.monotonic() + wait
    while True:
        lease = acquire(connection, worker, duration=duration)
        if lease is not None or time.monotonic() > deadline:
            return lease
        sleep(1.0)


def release_claims(connection_id: int) -> int:
    return RecordQueueItem.objects.filter(connection_id=connection_id, status=QueueStatus.IN_PROGRESS).update(
        status=QueueStatus.QUEUED, claimed_by="", claimed_at=None, claim_expires_at=None
    )


def request_cycle(connection: Connection) -> None:
    """Coalesce a request ("Sync now", forward) into the next cycle: due now, and remembered so
    that a cycle already running is followed by another one at once."""
    now = timezone.now()
    schedule = schedule_for(connection)
    EngineSchedule.objects.filter(pk=schedule.pk).update(cycle_requested_at=now, next_cycle_at=now)


@contextmanager
def connection_lease(
    connection: Connection, worker: str, *, duration: timedelta | None = None
) -> Iterator[ConnectionLease | None]:
    """Hold the lease for the block (None: someone else holds it). Released on the way out,
    also after an exception; a process killed outright releases nothing, and its lease expires."""
    lease = acquire(connection, worker, duration=duration)
    if lease is None:
        yield None
        return
    try:
        yield lease
    except (Exception, KeyboardInterrupt, SystemExit):
        _release_after_failure(lease)
        raise
    else:
        lease.release()


def _release_after_failure(lease: ConnectionLease) -> None:
    """The failure may have been the database connection itself (killed backend): reconnect once
    to release; if even that fails, the lease expires on its own."""
    for attempt in range(2):
        try:
            lease.release()
            return
        except DatabaseError:
            if attempt or db_connection.in_atomic_block:
                logger.warning("connection %s: lease left to expire", lease.connection_id)
                return
            db_connection.close()

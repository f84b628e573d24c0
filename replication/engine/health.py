"""Is the engine keeping up? Liveness of each connection, as /healthz reports it.

An active connection is *stalled* when
- no cycle finished for 18 poll intervals (at least three minutes): no cluster is picking
  up its work;
- its last `FAILED_CYCLES` cycles ended in an exception (each failure is also a Failed sync log
  entry, code CYCLE_FAILED, with the exception and where it was raised);
- records wait in its queue for longer than 3 poll intervals and nothing was written since they
  were queued.
"""

import logging
import traceback
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from django.db import DatabaseError
from django.db.models import Max, Min, Q
from django.utils import timezone

from connections.models import Connection
from replication.models import EngineSchedule, QueueStatus, RecordQueueItem
from synclog.models import SyncRun
from synclog.services import log_attempt_failed, log_resolved

logger = logging.getLogger(__name__)
MIN_STALL = timedelta(minutes=3)
STALL_INTERVALS = 3
IDLE_FACTOR = 6
FAILED_CYCLES = 3
WAITING_INTERVALS = 3
CYCLE_LOG = ("", "Connection", "sync-cycle")  # direction, source object, source id of its entry


@dataclass(frozen=True)
class Stall:
    connection: str
    reason: str
    last_error: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"connection": self.connection, "reason": self.reason, "last_error": self.last_error}


def stall_after(connection: Connection) -> timedelta:
    return max(MIN_STALL, timedelta(seconds=STALL_INTERVALS * IDLE_FACTOR * connection.poll_interval_seconds))


def failure_summary(exc: BaseException) -> str:
    """The exception and where it was raised: file, line, function (never local values)."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno} in {frames[-1].name}" if frames else ""
    return f"{exc.__class__.__name__}{where}: {exc}"


def cycle_failed(connection: Connection, exc: BaseException) -> None:
    """A cycle ended in an exception: count it, and keep one open Failed entry in the sync log
    for the connection's failing cycles (never only a line in the worker log)."""
    summary = failure_summary(exc)
    try:
        EngineSchedule.objects.filter(connection=connection).update(last_error=summary[:500])
        schedule = EngineSchedule.objects.filter(connection=connection).first()
        failures = 0
        if schedule is not None:
            EngineSchedule.objects.filter(pk=schedule.pk).update(failed_cycles=schedule.failed_cycles + 1)
            failures = schedule.failed_cycles + 1
        direction, source_object, source_id = CYCLE_LOG
        log_attempt_failed(
            connection=connection,
            direction=direction,
            source_object=source_object,
            source_id=source_id,
            action="sync cycle",
            code="CYCLE_FAILED",
            message=summary,
            attempt=max(failures, 1),
            final=True,
        )
    except DatabaseError:  # the database itself is what failed: the worker log has it
        logger.warning("connection %s: cycle failure not recorded: %s", connection.pk, summary)


def cycle_succeeded(connection: Connection) -> None:
    updated = EngineSchedule.objects.filter(connection=connection, failed_cycles__gt=0).update(
        failed_cycles=0, last_error=""
    )
    if updated:
        direction, _, source_id = CYCLE_LOG
        log_resolved(connection=connection, direction=direction, source_ids=[source_id])


def stalls() -> list[Stall]:
    """Every active connection that is stalled, with the reason and the last error."""
    now = timezone.now()
    found = []
    schedules = EngineSchedule.objects.filter(connection__status=Connection.Status.ACTIVE).select_related(
        "connection"
    )
    for schedule in schedules:
        connection = schedule.connection
        reason = _reason(schedule, connection, now)
        if reason:
            found.append(Stall(connection.name, reason, schedule.last_error))
    return found


def _reason(schedule: EngineSchedule, connection: Connection, now) -> str:
    last = schedule.last_cycle_at or connection.accepted_at or schedule.next_cycle_at
    if last and now - last > stall_after(connection):
        return f"no sync cycle finished since {timezone.localtime(last):%Y-%m-%d %H:%M:%S}"
    if schedule.failed_cycles >= FAILED_CYCLES:
        return f"its last {schedule.failed_cycles} sync cycles failed"
    waiting_since = now - timedelta(seconds=WAITING_INTERVALS * connection.poll_interval_seconds)
    ready = Q(status__in=[QueueStatus.QUEUED, QueueStatus.IN_PROGRESS]) | Q(
        status=QueueStatus.RETRYING, next_retry_at__lte=now
    )
    oldest = (
        RecordQueueItem.objects.filter(ready, connection=connection, enqueued_at__lt=waiting_since)
        .aggregate(oldest=Min("enqueued_at"))
        .get("oldest")
    )
    if oldest is None:
        return ""
    wrote = SyncRun.objects.filter(
        connection=connection, kind=SyncRun.Kind.APPLY, succeeded__gt=0, finished_at__gt=oldest
    ).aggregate(last=Max("finished_at"))["last"]
    if wrote is None:
        since = f"{timezone.localtime(oldest):%Y-%m-%d %H:%M:%S}"
        return f"records wait in the queue since {since} and nothing was written since"
    return ""


def stalled_connections() -> list[str]:
    """Names of the stalled active connections."""
    return [stall.connection for stall in stalls()]

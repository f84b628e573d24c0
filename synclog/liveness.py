"""Is every active connection moving? The read side of the engine's liveness: what /healthz,
the dashboard, /metrics and the stalled-connection alert report. (The engine records each failed
cycle itself: `replication/engine/health.py`.)

An active connection is *stalled* when
- no cycle finished for 18 poll intervals (at least three minutes): no cluster is picking
  up its work (reason `no_cycle`);
- its last `FAILED_CYCLES` cycles ended in an exception (each failure is also a Failed sync log
  entry, code CYCLE_FAILED, with the exception and where it was raised) (`failing_cycles`);
- records wait in its queue for longer than 3 poll intervals and nothing was written since they
  were queued (`records_waiting`).

Each stall says since when: the last cycle that finished, the first failure of the failing
streak, or when the oldest waiting record was queued. The alert counts a stall whose trouble
began after the connection's last stalled-connection alert as a new episode.
"""

import re
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum

from django.db.models import Max, Min, Q
from django.utils import timezone

from connections.models import Connection
from replication.models import EngineSchedule, QueueStatus, RecordQueueItem
from synclog.catalog import CATALOG, Explanation, explain
from synclog.models import SyncLog, SyncRun
from synclog.redact import safe_message

MIN_STALL = timedelta(minutes=3)
STALL_INTERVALS = 3
IDLE_FACTOR = 6  # the scheduler polls an idle connection at most 6 times its interval apart
FAILED_CYCLES = 3
WAITING_INTERVALS = 3
CYCLE_FAILED = "CYCLE_FAILED"
CYCLE_LOG = ("", "Connection", "sync-cycle")  # direction, source object, source id of its entry
_LEADING_CODE = re.compile(r"([A-Z][A-Z0-9_]{2,})\b")


class StallReason(StrEnum):
    """Why a connection is stalled (the `reason` label of /metrics), with its catalogue code."""

    NO_CYCLE = "no_cycle"
    FAILING_CYCLES = "failing_cycles"
    RECORDS_WAITING = "records_waiting"

    @property
    def code(self) -> str:
        return _CODES[self]


_CODES = {
    StallReason.NO_CYCLE: "NO_SYNC_CYCLE",
    StallReason.FAILING_CYCLES: CYCLE_FAILED,
    StallReason.RECORDS_WAITING: "QUEUE_STUCK",
}


@dataclass(frozen=True)
class Stall:
    connection: str  # its name
    reason: str  # in words, with the time it refers to
    last_error: str = ""  # exception class, file:line, function and message (without record values)
    kind: StallReason | None = None
    since: datetime | None = None
    connection_id: int | None = None
    failed_cycles: int = 0

    @property
    def explanation(self) -> Explanation:
        """The catalogue's entry for this stall: the code the last error of a failing cycle
        starts with when the catalogue knows it, else the reason's own entry."""
        if self.kind is StallReason.FAILING_CYCLES:
            return explain(error_code(self.last_error) or CYCLE_FAILED)
        return explain(self.kind.code if self.kind else CYCLE_FAILED)

    def as_dict(self) -> dict:
        explanation = self.explanation
        return {
            "connection": self.connection,
            "reason": self.reason,
            "last_error": self.last_error,
            "kind": str(self.kind or ""),
            "since": self.since.isoformat() if self.since else None,
            "failed_cycles": self.failed_cycles,
            "explanation": {
                "code": explanation.code,
                "title": explanation.title,
                "meaning": explanation.meaning,
                "fix": explanation.fix,
            },
        }


def error_code(last_error: str) -> str:
    """The catalogue code a last error starts with: the summary's own start, or its message's
    (`failure_summary` writes "Class at file:line in function: message", and a Salesforce error's
    message starts with its code). Empty when there is none the catalogue knows."""
    candidates = [last_error, last_error.partition(": ")[2]]
    for text in candidates:
        found = _LEADING_CODE.match(text.strip())
        if found and found.group(1) in CATALOG:
            return found.group(1)
    return ""


def stall_after(connection: Connection) -> timedelta:
    return max(MIN_STALL, timedelta(seconds=STALL_INTERVALS * IDLE_FACTOR * connection.poll_interval_seconds))


def stalls(*, now: datetime | None = None) -> list[Stall]:
    """Every active connection that is stalled, with the reason, the last error and since when."""
    now = now or timezone.now()
    found = []
    schedules = (
        EngineSchedule.objects.filter(connection__status=Connection.Status.ACTIVE)
        .select_related("connection")
        .order_by("connection__name")
    )
    for schedule in schedules:
        connection = schedule.connection
        reason = _reason(schedule, connection, now)
        if reason:
            kind, text, since = reason
            found.append(
                Stall(
                    connection.name,
                    text,
                    safe_message(schedule.last_error),
                    kind=kind,
                    since=since,
                    connection_id=connection.pk,
                    failed_cycles=schedule.failed_cycles,
                )
            )
    return _with_streak_start(found)


def _reason(
    schedule: EngineSchedule, connection: Connection, now: datetime
) -> tuple[StallReason, str, datetime | None] | None:
    last = schedule.last_cycle_at or connection.accepted_at or schedule.next_cycle_at
    if last and now - last > stall_after(connection):
        return (
            StallReason.NO_CYCLE,
            f"no sync cycle finished since {timezone.localtime(last):%Y-%m-%d %H:%M:%S}",
            last,
        )
    if schedule.failed_cycles >= FAILED_CYCLES:
        return StallReason.FAILING_CYCLES, f"its last {schedule.failed_cycles} sync cycles failed", None
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
        return None
    wrote = SyncRun.objects.filter(
        connection=connection, kind=SyncRun.Kind.APPLY, succeeded__gt=0, finished_at__gt=oldest
    ).aggregate(last=Max("finished_at"))["last"]
    if wrote is None:
        since = f"{timezone.localtime(oldest):%Y-%m-%d %H:%M:%S}"
        return (
            StallReason.RECORDS_WAITING,
            f"records wait in the queue since {since} and nothing was written since",
            oldest,
        )
    return None


def _with_streak_start(found: list[Stall]) -> list[Stall]:
    """A failing streak began with its first failure: when its open CYCLE_FAILED entry was made
    (one query for all failing connections)."""
    failing = [s.connection_id for s in found if s.kind is StallReason.FAILING_CYCLES]
    if not failing:
        return found
    direction, _, source_id = CYCLE_LOG
    started = dict(
        SyncLog.objects.filter(
            connection_id__in=failing,
            direction=direction,
            source_id=source_id,
            error_code=CYCLE_FAILED,
            status__in=[SyncLog.Status.RETRYING, SyncLog.Status.FAILED],
        )
        .values("connection_id")
        .annotate(first=Min("created_at"))
        .order_by()
        .values_list("connection_id", "first")
    )
    return [
        replace(s, since=started.get(s.connection_id)) if s.kind is StallReason.FAILING_CYCLES else s
        for s in found
    ]


def failed_cycles() -> dict[int, int]:
    """Sync cycles in a row that ended in an exception, per connection id (0 after one that
    finished): what the engine counts on each schedule."""
    return dict(EngineSchedule.objects.values_list("connection_id", "failed_cycles"))


def stalled_connections() -> list[str]:
    """Names of the stalled active connections."""
    return [stall.connection for stall in stalls()]

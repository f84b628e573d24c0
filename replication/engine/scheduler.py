"""Which connection's cycle is due, and a lease so one cycle of a connection runs at a time.

Several worker clusters may tick at once (scaled-out mode): a lease is taken by compare-and-set,
expires on its own if its holder dies, and each cycle's result moves the next due time (longer
while nothing changes, back to the connection's interval as soon as something does).
"""

import logging
import time
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from connections.models import Connection
from replication.engine.context import EngineContext
from replication.engine.cycle import SCHEDULED, CycleReport, sync_once
from replication.models import EngineSchedule

logger = logging.getLogger(__name__)
LEASE = timedelta(minutes=2)  # a killed worker holds its connections no longer than this
MAX_IDLE_FACTOR = 6  # an idle connection is polled at most 6 times its interval apart


def ensure_schedules() -> None:
    for connection in Connection.objects.filter(status__in=SCHEDULED, engine_schedule__isnull=True):
        EngineSchedule.objects.get_or_create(
            connection=connection, defaults={"next_cycle_at": timezone.now()}
        )


def due_schedules() -> list[EngineSchedule]:
    now = timezone.now()
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    return list(
        EngineSchedule.objects.filter(free, next_cycle_at__lte=now, connection__status__in=SCHEDULED)
        .select_related("connection")
        .order_by("next_cycle_at")
    )


def acquire(schedule: EngineSchedule, holder: str) -> bool:
    now = timezone.now()
    free = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    taken = EngineSchedule.objects.filter(free, pk=schedule.pk).update(
        lease_holder=holder, lease_until=now + LEASE
    )
    return bool(taken)


def finish(schedule: EngineSchedule, report: CycleReport | None, error: str = "") -> None:
    busy = report is not None and report.written > 0
    idle = 0 if busy or error else schedule.idle_cycles + 1
    interval = schedule.connection.poll_interval_seconds
    wait = interval * min(2 ** min(idle, 10), MAX_IDLE_FACTOR) if idle else interval
    now = timezone.now()
    EngineSchedule.objects.filter(pk=schedule.pk).update(
        lease_holder="",
        lease_until=None,
        idle_cycles=idle,
        next_cycle_at=now + timedelta(seconds=wait),
        last_cycle_at=now,
        last_error=error[:500],
    )


def run_due(ctx: EngineContext) -> int:
    """Run every due cycle this process can lease; return how many ran."""
    ensure_schedules()
    ran = 0
    for schedule in due_schedules():
        if not acquire(schedule, ctx.worker):
            continue
        report, error = None, ""
        try:
            report = sync_once(schedule.connection, ctx=ctx)
        except Exception as exc:  # one connection's failure never stops the others
            logger.exception("sync cycle of connection %s failed", schedule.connection_id)
            error = f"{exc.__class__.__name__}: {exc}"
        finally:
            finish(schedule, report, error)
        ran += 1
    return ran


def run_for(seconds: float, ctx: EngineContext, *, pause: float = 1.0) -> int:
    """Keep running due cycles for about `seconds` (the periodic task's body)."""
    deadline = time.monotonic() + seconds
    ran = 0
    while time.monotonic() < deadline:
        ran += run_due(ctx)
        time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
    return ran

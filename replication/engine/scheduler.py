"""Which connection's cycle is due.

Several worker clusters may tick at once (scaled-out mode): each due connection's cycle takes the
connection's lease (`lease.py`; a connection leased by someone else is skipped), and each
cycle's result moves the next due time (longer while nothing changes, back to the connection's
interval as soon as something does; at once when a "Sync now" arrived during the cycle).
"""

import logging
import time
from datetime import timedelta

from django.db import InterfaceError, OperationalError
from django.db import connection as db_connection
from django.db.models import Q
from django.utils import timezone

from connections.models import Connection
from replication.engine.context import EngineContext
from replication.engine.cycle import SCHEDULED, CycleReport, sync_once
from replication.engine.lease import stop_requested
from replication.models import EngineSchedule

logger = logging.getLogger(__name__)
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


def finish(schedule: EngineSchedule, report: CycleReport | None, started, error: str = "") -> None:
    """Move the next due time (the cycle recorded its own failure: `health.cycle_failed`)."""
    busy = report is not None and report.written > 0
    idle = 0 if busy or error else schedule.idle_cycles + 1
    interval = schedule.connection.poll_interval_seconds
    wait = interval * min(2 ** min(idle, 10), MAX_IDLE_FACTOR) if idle else interval
    now = timezone.now()
    requested = EngineSchedule.objects.filter(pk=schedule.pk, cycle_requested_at__gte=started).exists()
    EngineSchedule.objects.filter(pk=schedule.pk).update(
        idle_cycles=0 if requested else idle,
        next_cycle_at=now if requested else now + timedelta(seconds=wait),
        last_cycle_at=now,
    )


def run_due(ctx: EngineContext) -> int:
    """Run every due cycle this process can lease; return how many ran."""
    ensure_schedules()
    ran = 0
    for schedule in due_schedules():
        if stop_requested():
            break
        started = timezone.now()
        report, error = None, ""
        try:
            report = sync_once(schedule.connection, ctx=ctx)
        except Exception as exc:  # one connection's failure never stops the others
            logger.exception("sync cycle of connection %s failed", schedule.connection_id)
            error = f"{exc.__class__.__name__}: {exc}"
            if isinstance(exc, OperationalError | InterfaceError) and not db_connection.in_atomic_block:
                db_connection.close()  # a killed backend: the next statement reconnects
        if report is not None and report.coalesced:
            continue  # another worker holds the connection
        finish(schedule, report, started, error)
        ran += 1
    return ran


def run_for(seconds: float, ctx: EngineContext, *, pause: float = 1.0) -> int:
    """Keep running due cycles for about `seconds` (the periodic task's body), or until the
    worker is asked to stop."""
    deadline = time.monotonic() + seconds
    ran = 0
    while time.monotonic() < deadline and not stop_requested():
        ran += run_due(ctx)
        time.sleep(min(pause, max(0.0, deadline - time.monotonic())))
    return ran

"""Is the engine keeping up? A connection whose cycles stopped is a stalled cluster."""

from datetime import timedelta

from django.utils import timezone

from connections.models import Connection
from replication.models import EngineSchedule

MIN_STALL = timedelta(minutes=3)
STALL_INTERVALS = 3
IDLE_FACTOR = 6


def stall_after(connection: Connection) -> timedelta:
    return max(MIN_STALL, timedelta(seconds=STALL_INTERVALS * IDLE_FACTOR * connection.poll_interval_seconds))


def stalled_connections() -> list[str]:
    """Names of active connections with no finished cycle for longer than `stall_after`."""
    now = timezone.now()
    stalled = []
    for schedule in EngineSchedule.objects.filter(connection__status=Connection.Status.ACTIVE).select_related(
        "connection"
    ):
        last = schedule.last_cycle_at or schedule.connection.accepted_at or schedule.next_cycle_at
        if last and now - last > stall_after(schedule.connection):
            stalled.append(schedule.connection.name)
    return stalled

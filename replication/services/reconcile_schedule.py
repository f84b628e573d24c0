"""Editing a connection's reconcile schedule (the admin's schedule page calls this; the engine
tick starts what is due, `replication.services.reconcile.reconciles_start_due`)."""

from datetime import datetime

from django.utils import timezone

from connections.models import Connection
from replication.models import ReconcileSchedule
from replication.services.reconcile import next_scheduled


def reconcile_schedule_of(connection: Connection) -> ReconcileSchedule:
    """The connection's schedule, unsaved with the defaults (off, nightly at 02:00 UTC) when it
    has none yet."""
    try:
        return connection.reconcile_schedule
    except ReconcileSchedule.DoesNotExist:
        return ReconcileSchedule(connection=connection)


def reconcile_schedule_save(*, schedule: ReconcileSchedule, now: datetime | None = None) -> ReconcileSchedule:
    """Save an edited schedule with its next run worked out now, so the console can say when it
    comes (off: none). The first run after turning it on is at the scheduled hour, never at once."""
    schedule.next_run_at = next_scheduled(schedule, now or timezone.now()) if schedule.enabled else None
    schedule.save()
    return schedule

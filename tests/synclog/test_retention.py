"""Retention: record-level entries first, then run summaries, in batches; young rows stay."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone
from django_q.models import Schedule

from synclog.models import SyncLog, SyncRun
from synclog.services import sync_log_purge
from tests.factories import ConnectionFactory
from tests.synclog.factories import SyncLogFactory, SyncRunFactory

pytestmark = pytest.mark.django_db


def age(obj, days: int, *fields: str) -> None:
    moment = timezone.now() - timedelta(days=days)
    type(obj).objects.filter(pk=obj.pk).update(**dict.fromkeys(fields, moment))


def test_old_entries_then_old_runs_go_young_ones_stay():
    connection = ConnectionFactory()
    old_run, young_run, kept_run = (SyncRunFactory(connection=connection) for _ in range(3))
    for _ in range(5):
        age(SyncLogFactory(connection=connection, run=old_run), 100, "created_at", "updated_at")
    young = SyncLogFactory(connection=connection, run=young_run)
    retried = SyncLogFactory(connection=connection, run=kept_run)  # touched lately
    age(old_run, 100, "started_at")
    age(kept_run, 100, "started_at")
    retrying = SyncLogFactory(connection=connection, run=None, status=SyncLog.Status.RETRYING)
    age(retrying, 100, "updated_at")

    result = sync_log_purge(older_than_days=90, batch_size=2)
    assert (result.entries, result.runs) == (5, 1)
    assert set(SyncLog.objects.values_list("pk", flat=True)) == {young.pk, retried.pk, retrying.pk}
    assert set(SyncRun.objects.values_list("pk", flat=True)) == {young_run.pk, kept_run.pk}


def test_dry_run_removes_nothing_and_command_reports(capsys, settings):
    settings.ORGSYNC_LOG_RETENTION_DAYS = 30
    age(SyncLogFactory(), 40, "updated_at")
    call_command("purge_sync_log", "--dry-run")
    assert "Would remove 1 log entries" in capsys.readouterr().out
    assert SyncLog.objects.count() == 1
    call_command("purge_sync_log")
    assert SyncLog.objects.count() == 0


def test_nightly_and_alert_schedules_exist():
    """Created by the data migration, like the engine tick."""
    nightly = Schedule.objects.get(func="synclog.tasks.sync_log_purge")
    assert (nightly.schedule_type, nightly.repeats) == (Schedule.DAILY, -1)
    alerts = Schedule.objects.get(func="synclog.tasks.alerts_send_due")
    assert (alerts.schedule_type, alerts.minutes) == (Schedule.MINUTES, 5)


def test_the_scheduled_task_uses_the_setting(settings):
    from synclog.tasks import sync_log_purge as task

    settings.ORGSYNC_LOG_RETENTION_DAYS = 10
    age(SyncLogFactory(), 11, "updated_at")
    assert task()["entries"] == 1

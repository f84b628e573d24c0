"""The reconcile schedule (off until enabled, nightly by default) and the engine tick's part:
due runs start, runs whose task or worker was lost are run again to the end."""

from datetime import UTC, datetime, timedelta

import pytest
from django.utils import timezone

from replication.models import ReconcileRun, ReconcileSchedule
from replication.reconcile.runner import ReconcileRunner
from replication.services.reconcile import (
    next_scheduled,
    reconcile_start,
    reconciles_resume_stalled,
    reconciles_start_due,
)
from replication.tasks import engine_tick

Status = ReconcileRun.Status


@pytest.fixture(autouse=True)
def judge_everything(settings):
    settings.ORGSYNC_RECONCILE_SETTLE_SECONDS = 0


def at(hour: int, minute: int = 0, day: int = 3) -> datetime:
    return datetime(2026, 12, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    "every, hour, now, expected",
    [
        (24, 2, at(1, 59), at(2)),
        (24, 2, at(2), at(2, day=4)),
        (24, 2, at(15, 30), at(2, day=4)),
        (6, 2, at(3), at(8)),
        (6, 2, at(1), at(2)),
        (6, 2, at(20), at(2, day=4)),
        (48, 0, at(12), at(0, day=5)),
    ],
)
def test_next_run_times(every, hour, now, expected):
    assert next_scheduled(ReconcileSchedule(every_hours=every, hour=hour), now) == expected


def test_schedule_is_off_until_enabled_and_the_first_run_waits_for_its_hour(
    subscribed, django_capture_on_commit_callbacks
):
    schedule = ReconcileSchedule.objects.create(connection=subscribed.connection)
    assert reconciles_start_due() == []  # off by default
    schedule.enabled = True
    schedule.save()

    now = timezone.now()
    assert reconciles_start_due(now) == []  # just enabled: the next slot, not at once
    schedule.refresh_from_db()
    assert schedule.next_run_at > now

    ReconcileSchedule.objects.filter(pk=schedule.pk).update(next_run_at=now - timedelta(minutes=1))
    with django_capture_on_commit_callbacks(execute=True):
        started = reconciles_start_due(now)
    assert len(started) == 1
    run = ReconcileRun.objects.get(pk=started[0])
    assert run.scheduled and not run.repair
    assert run.status == Status.COMPLETED  # django-q2 runs tasks inline in tests
    schedule.refresh_from_db()
    assert schedule.next_run_at > now
    assert reconciles_start_due(now) == []  # not twice in one slot


def test_a_due_schedule_waits_while_a_run_is_going(subscribed):
    reconcile_start(connection=subscribed.connection, run_in_worker=False)
    ReconcileSchedule.objects.create(
        connection=subscribed.connection, enabled=True, next_run_at=timezone.now() - timedelta(minutes=1)
    )
    assert reconciles_start_due() == []
    assert ReconcileRun.objects.count() == 1


def test_lost_runs_are_run_again_by_the_tick(subscribed):
    primary = subscribed.primary
    unsynced = primary.org.create("Account", {"Name": "Not copied"}, user_id=primary.user_id)
    fresh = reconcile_start(connection=subscribed.connection, run_in_worker=False)
    assert reconciles_resume_stalled() == []  # queued moments ago: its task may still come

    ReconcileRun.objects.filter(pk=fresh.pk).update(
        status=Status.RUNNING, lease_holder="dead:1", lease_until=timezone.now() - timedelta(seconds=1)
    )
    assert reconciles_resume_stalled() == [fresh.pk]
    fresh.refresh_from_db()
    assert fresh.status == Status.COMPLETED
    assert fresh.counts == {"Account": {"missing": 1}}
    assert fresh.found.get().source_id == unsynced


def test_a_run_held_by_a_live_worker_is_left_alone(subscribed):
    run = reconcile_start(connection=subscribed.connection, run_in_worker=False)
    ReconcileRun.objects.filter(pk=run.pk).update(
        status=Status.RUNNING, lease_holder="alive:1", lease_until=timezone.now() + timedelta(minutes=1)
    )
    assert reconciles_resume_stalled() == []
    assert ReconcileRunner(run).run().status == Status.RUNNING  # a second task returns at once


def test_engine_tick_starts_due_schedules(subscribed):
    ReconcileSchedule.objects.create(
        connection=subscribed.connection, enabled=True, next_run_at=timezone.now() - timedelta(seconds=1)
    )
    engine_tick(0)
    assert ReconcileRun.objects.get().scheduled

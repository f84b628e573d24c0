"""Cycles run when due, one at a time per connection, slower while idle; stalls are reported."""

from datetime import timedelta

from django.core.management import call_command
from django.utils import timezone

from replication.engine import lease, scheduler
from replication.engine.context import EngineContext
from replication.models import Direction, EngineSchedule, RecordLink, RecordQueueItem
from synclog.liveness import stalled_connections
from synclog.models import SyncLog


def test_due_cycles_run_and_idle_ones_wait_longer(subscribed):
    ctx = EngineContext(worker="test")
    subscribed.primary.org.create("Account", {"Name": "Due"}, user_id=subscribed.primary.user_id)
    assert scheduler.run_due(ctx) == 1
    assert RecordLink.objects.count() == 1
    schedule = EngineSchedule.objects.get()
    assert schedule.idle_cycles == 0 and schedule.lease_holder == "" and schedule.last_cycle_at
    assert scheduler.run_due(ctx) == 0, "not due again before its interval"
    EngineSchedule.objects.update(next_cycle_at=timezone.now())
    scheduler.run_due(ctx)
    EngineSchedule.objects.update(next_cycle_at=timezone.now())
    scheduler.run_due(ctx)
    schedule.refresh_from_db()
    wait = (schedule.next_cycle_at - schedule.last_cycle_at).total_seconds()
    assert schedule.idle_cycles >= 1 and wait > subscribed.connection.poll_interval_seconds


def test_a_leased_connection_is_not_run_twice(subscribed):
    scheduler.ensure_schedules()
    held = lease.acquire(subscribed.connection, "worker-a")
    assert held is not None
    assert scheduler.run_due(EngineContext(worker="worker-b")) == 0, "worker-a holds it"
    EngineSchedule.objects.update(lease_until=timezone.now() - timedelta(seconds=1))
    assert scheduler.run_due(EngineContext(worker="worker-b")) == 1, "an expired lease (dead worker) is taken"


def test_stalled_engine_is_reported_by_healthz(subscribed, client):
    scheduler.ensure_schedules()
    EngineSchedule.objects.update(last_cycle_at=timezone.now() - timedelta(hours=1))
    assert stalled_connections() == [subscribed.connection.name]
    body = client.get("/healthz").json()
    assert body["engine"]["ok"] is False
    [stall] = body["engine"]["stalled_connections"]
    assert stall["connection"] == subscribed.connection.name
    assert stall["reason"].startswith("no sync cycle finished since")
    EngineSchedule.objects.update(last_cycle_at=timezone.now())
    assert stalled_connections() == []


class Broken(Exception):
    pass


def fail_every_cycle(point: str) -> None:
    if point == "capture.read":
        raise Broken("the engine broke here")


def test_a_connection_whose_cycles_keep_failing_is_stalled_and_logged(subscribed, client):
    subscribed.primary.org.create("Account", {"Name": "Stuck"}, user_id=subscribed.primary.user_id)
    broken = EngineContext(worker="w", on_checkpoint=fail_every_cycle)
    for n in range(1, 4):
        EngineSchedule.objects.update(next_cycle_at=timezone.now())
        assert scheduler.run_due(broken) == 1, "a failing connection never stops the tick"
        assert SyncLog.objects.get(error_code="CYCLE_FAILED").attempt == n, "one entry, updated"
        assert (stalled_connections() == []) == (n < 3)
    entry = SyncLog.objects.get(error_code="CYCLE_FAILED")
    assert entry.status == SyncLog.Status.FAILED
    assert "Broken at test_scheduler.py" in entry.message and "in fail_every_cycle" in entry.message
    response = client.get("/healthz")
    assert response.status_code == 503
    [stall] = response.json()["engine"]["stalled_connections"]
    assert stall["reason"] == "its last 3 sync cycles failed" and "Broken" in stall["last_error"]

    EngineSchedule.objects.update(next_cycle_at=timezone.now())
    assert scheduler.run_due(EngineContext(worker="w")) == 1
    assert stalled_connections() == [] and RecordLink.objects.count() == 1
    assert SyncLog.objects.get(error_code="CYCLE_FAILED").status == SyncLog.Status.RESOLVED


def test_records_waiting_with_nothing_written_stall_the_connection(subscribed):
    subscribed.primary.org.create("Account", {"Name": "Waiting"}, user_id=subscribed.primary.user_id)
    held = lease.acquire(subscribed.connection, "a-cluster-that-hangs")  # holds it, writes nothing
    assert scheduler.run_due(EngineContext(worker="w")) == 0
    RecordQueueItem.objects.create(
        connection=subscribed.connection, direction=Direction.PRIMARY_TO_SECONDARY, source_object="Account",
        source_id="001000000000777AAA", action="generic_insert",
    )  # fmt: skip
    assert stalled_connections() == [], "queued just now"
    interval = subscribed.connection.poll_interval_seconds
    RecordQueueItem.objects.update(enqueued_at=timezone.now() - timedelta(seconds=4 * interval))
    assert stalled_connections() == [subscribed.connection.name]
    held.release()


def test_sync_once_and_queue_status_commands(subscribed, capsys):
    subscribed.primary.org.create("Account", {"Name": "Cmd"}, user_id=subscribed.primary.user_id)
    call_command("sync_once", subscribed.connection.name)
    out = capsys.readouterr().out
    assert "captured 1 change(s), applied 1 queue item(s)" in out
    call_command("queue_status")
    assert "The record queue is empty." in capsys.readouterr().out

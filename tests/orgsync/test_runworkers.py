"""`manage.py runworkers` for real: its heartbeat row, and a stop within 10 s of SIGTERM in which
a running sync cycle lets go of its connection and claims."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from orgsync.models import WorkerCluster
from orgsync.workers import descendants
from replication.engine.lease import request_cycle
from replication.models import EngineSchedule, QueueStatus, RecordQueueItem
from tests.orgsync.cluster import PROJECT_DIR, child_environment, wait_for
from tests.replication.conftest import linked_orgs, subscribe_accounts

STOP_WITHIN = 10.0


def start_runworkers(log: Path, **env: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "runworkers"],
        cwd=PROJECT_DIR,
        env={**child_environment(), "ORGSYNC_Q_WORKERS": "2", **env},
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def stop_and_time(process: subprocess.Popen) -> tuple[float, list[int]]:
    """SIGTERM the runworkers process alone (as `make run` and systemd's KillMode=mixed do);
    return how long until it and every process below it were gone, and any survivors."""
    tree = [process.pid, *descendants(process.pid)]
    started = time.monotonic()
    process.send_signal(signal.SIGTERM)
    deadline = started + STOP_WITHIN + 5
    while time.monotonic() < deadline and any(alive(pid) for pid in tree):
        time.sleep(0.1)
        process.poll()
    elapsed = time.monotonic() - started
    survivors = [pid for pid in tree if alive(pid)]
    if survivors:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()
    return elapsed, survivors


@pytest.mark.django_db(transaction=True)
def test_heartbeat_then_a_clean_stop_within_10_seconds(tmp_path):
    # A short task timeout makes the engine tick (half of it) end in 5 s instead of 30.
    process = start_runworkers(tmp_path / "runworkers.log", ORGSYNC_Q_TIMEOUT="10")
    try:
        row = wait_for(
            lambda: WorkerCluster.objects.filter(pid=process.pid, tasks_finished__gte=1).first(), timeout=60
        )
        first_beat = row.heartbeat_at
        wait_for(lambda: WorkerCluster.objects.get(pk=row.pk).heartbeat_at > first_beat, timeout=20)
        assert row.engine_tick_at is not None, "the watchdog queued an engine tick and a worker ran it"
        assert len(descendants(process.pid)) >= 4  # sentinel, 2 workers, monitor, pusher
    finally:
        elapsed, survivors = stop_and_time(process)
    assert not survivors, f"still running after SIGTERM: {survivors}"
    assert elapsed < STOP_WITHIN
    assert WorkerCluster.objects.get(pk=row.pk).stopped_at is not None
    assert process.returncode == 0


@pytest.mark.django_db(transaction=True)
def test_sigterm_mid_cycle_releases_the_connection_and_its_claims(sfemu_server, tmp_path):
    linked = linked_orgs(sfemu_server)
    subscribe_accounts(linked)
    org, user = linked.primary.org, linked.primary.user_id
    for n in range(3000):
        org.create("Account", {"Name": f"Backlog {n}"}, user_id=user)
    request_cycle(linked.connection)
    process = start_runworkers(tmp_path / "runworkers.log")
    try:

        def applying() -> bool:
            return RecordQueueItem.objects.filter(
                connection=linked.connection, status=QueueStatus.IN_PROGRESS
            ).exists()

        wait_for(applying, timeout=90, interval=0.1)
    finally:
        elapsed, survivors = stop_and_time(process)
    assert not survivors and elapsed < STOP_WITHIN, (elapsed, survivors)
    schedule = EngineSchedule.objects.get(connection=linked.connection)
    assert schedule.lease_holder == "" and schedule.lease_until is None, "the cycle let go of its lease"
    assert not RecordQueueItem.objects.filter(status=QueueStatus.IN_PROGRESS).exists(), "claims released"
    assert schedule.failed_cycles == 0, "a stop is not a failed cycle"
    assert "the worker is stopping" in (tmp_path / "runworkers.log").read_text(), "stopped mid-cycle"

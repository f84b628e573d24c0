"""Scaled-out mode for real: three `qcluster` processes on PostgreSQL with the Redis broker sync
2,000 records between two sfemu orgs at once. Every record arrives exactly once and none is
written twice, though several cycles of the one connection capture, claim and apply together.

Runs only on the scaled-out lane (`.ci/run`: DATABASE_URL=postgres://…, REDIS_URL=redis://…).
"""

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django_q.models import Task

from replication.engine.cycle import sync_once
from replication.models import EXTERNAL_ID_FIELD, RecordQueueItem
from synclog.models import SyncLog
from tests.orgsync.cluster import PROJECT_DIR, child_environment, wait_for
from tests.replication.conftest import LinkedOrgs, linked_orgs, subscribe_accounts

CLUSTERS = 3
WAVES, PER_WAVE = 4, 500  # 2,000 records, created while the clusters run
TASKS_PER_WAVE = 2 * CLUSTERS
SYNC_TASK = "replication.tasks.sync_connection"


def scaled_lane() -> bool:
    engine = settings.DATABASES["default"]["ENGINE"]
    return engine == "django.db.backends.postgresql" and bool(settings.REDIS_URL)


pytestmark = [
    pytest.mark.scaled,
    pytest.mark.skipif(
        not scaled_lane(), reason="scaled-out lane only: DATABASE_URL=postgres://… and REDIS_URL=redis://…"
    ),
]


def start_cluster(log_path: Path) -> subprocess.Popen:
    """A qcluster with two workers on the test database and this run's Redis queue."""
    return subprocess.Popen(
        [sys.executable, "manage.py", "runworkers"],
        cwd=PROJECT_DIR,
        env={**child_environment(), "ORGSYNC_Q_WORKERS": "2", "ORGSYNC_LEASE_SECONDS": "5"},
        stdout=log_path.open("w"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def stop_clusters(processes: list[subprocess.Popen], *, grace: float = 15.0) -> None:
    """SIGTERM each cluster; SIGKILL what is still there after `grace` seconds (a 50-second
    engine tick may be running; the test finishes its leftovers in-process anyway)."""
    for process in processes:
        if process.poll() is None:
            process.terminate()
    deadline = time.monotonic() + grace
    for process in processes:
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(timeout=max(0.1, deadline - time.monotonic()))
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)  # the cluster's workers too, if any are left
        process.wait()


def sync_now(linked: LinkedOrgs, tasks: int) -> None:
    """ "Sync now" several times: each task is a full cycle, run by whichever cluster takes it."""
    from django_q.tasks import async_task

    for _ in range(tasks):
        async_task(SYNC_TASK, linked.connection.pk, sync=False)


def target_rows(linked: LinkedOrgs) -> list[dict]:
    return linked.secondary.org.query(
        f"SELECT Id, CreatedDate, SystemModstamp, {EXTERNAL_ID_FIELD} FROM Account",
        include_deleted=False,
        api_version="62.0",
    ).records


@pytest.mark.django_db(transaction=True)
def test_three_clusters_sync_2000_records_each_exactly_once(sfemu_server, tmp_path):
    linked = linked_orgs(sfemu_server)
    subscribe_accounts(linked)
    org, user = linked.primary.org, linked.primary.user_id
    logs = [tmp_path / f"qcluster-{n}.log" for n in range(CLUSTERS)]
    clusters = [start_cluster(log) for log in logs]
    try:

        def every_cluster_running() -> bool:
            return all(" running." in log.read_text() for log in logs)

        wait_for(every_cluster_running, timeout=30)
        linked.secondary.reset_calls()
        source_ids: set[str] = set()
        for wave in range(WAVES):
            source_ids |= {
                org.create("Account", {"Name": f"Scaled {wave}-{n}"}, user_id=user) for n in range(PER_WAVE)
            }
            sync_now(linked, TASKS_PER_WAVE)  # after the wave: these cycles see its records

        def all_arrived() -> bool:
            return len(target_rows(linked)) >= len(source_ids)

        def every_task_finished() -> bool:
            return Task.objects.filter(func=SYNC_TASK).count() == WAVES * TASKS_PER_WAVE

        # ~25 s on a laptop; the bounds keep a failure inside pytest's 300 s, clusters stopped.
        wait_for(all_arrived, timeout=150, interval=1)
        wait_for(every_task_finished, timeout=60, interval=1)
        assert not Task.objects.filter(func=SYNC_TASK, success=False).exists(), "no cycle crashed"
        assert all(c.poll() is None for c in clusters), "no cluster died"
    finally:
        stop_clusters(clusters)
    # What is still queued (capture re-reads its last seconds) is applied here: it must write nothing.
    deadline = time.monotonic() + 30
    while RecordQueueItem.objects.exists() and time.monotonic() < deadline:
        if sync_once(linked.connection).coalesced:
            time.sleep(0.5)  # a stopped cluster's lease lapses within 5 s
    assert not RecordQueueItem.objects.exists()

    rows = target_rows(linked)
    external_ids = [r[EXTERNAL_ID_FIELD] for r in rows]
    assert len(external_ids) == len(set(external_ids)), "no record was created twice"
    assert set(external_ids) == source_ids, "every record arrived"
    # sfemu stamps every write with a fresh, strictly increasing SystemModstamp: a record
    # written a second time (an upsert of an existing one, an update) would have moved it.
    rewritten = [r["Id"] for r in rows if r["SystemModstamp"] != r["CreatedDate"]]
    assert rewritten == [], f"{len(rewritten)} record(s) were written more than once"
    calls = linked.secondary.calls()
    assert calls.get("composite", 0) >= len(source_ids) // 1000, calls
    assert "collections" not in calls and "sobjects" not in calls, "every write went by composite"
    assert not SyncLog.objects.filter(status=SyncLog.Status.FAILED).exists()
    took_part = [log for log in logs if f"'{SYNC_TASK}'" in log.read_text()]
    assert len(took_part) >= 2, "the cycles were spread over several clusters"

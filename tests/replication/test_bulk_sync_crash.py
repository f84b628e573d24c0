"""A bulk sync whose worker cluster is killed with SIGKILL three times — once with two ingest jobs
in flight, once while reading a page, once at random — resumes where it stopped: every record arrives once,
and no record is sent to the target twice."""

import os
import signal
import subprocess
import sys
import time

import pytest
from django.utils import timezone

from replication.bulksync.runner import BulkSyncRunner
from replication.models import EXTERNAL_ID_FIELD, BulkSync, BulkSyncObject, EngineSchedule, RecordLink
from replication.services.bulk_sync import bulk_sync_start
from tests.orgsync.cluster import PROJECT_DIR, child_environment
from tests.replication.conftest import linked_orgs
from tests.replication.test_bulk_sync import ingest_jobs, subscribe

RECORDS = 5000
PAGE = 500
JOB = 200  # records per ingest job: a page goes out in three, two of them in flight at once


def start_cluster(log_path) -> subprocess.Popen:
    env = {
        **child_environment(),
        "ORGSYNC_BULK_SYNC_THRESHOLD": str(PAGE),
        "ORGSYNC_BULK_SYNC_PAGE_RECORDS": str(PAGE),
        "ORGSYNC_BULK_SYNC_JOB_RECORDS": str(JOB),
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "runworkers"],
        cwd=PROJECT_DIR,
        env=env,
        stdout=log_path.open("a"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def wait_for(condition, cluster: subprocess.Popen, timeout: float = 45) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and cluster.poll() is None:
        if condition():
            return True
        time.sleep(0.02)
    return False


def progress() -> BulkSyncObject:
    return BulkSyncObject.objects.get(source_object="Account")


def jobs_in_flight() -> list[str]:
    return progress().page_checkpoint.get("jobs", [])


@pytest.mark.django_db(transaction=True)
def test_sigkill_three_times_during_a_bulk_sync(sfemu_server, tmp_path, settings):
    from django_q.tasks import async_task

    settings.ORGSYNC_BULK_SYNC_THRESHOLD = PAGE
    settings.ORGSYNC_BULK_SYNC_PAGE_RECORDS = PAGE
    settings.ORGSYNC_BULK_SYNC_JOB_RECORDS = JOB
    linked = linked_orgs(sfemu_server)
    subscribe(linked, "Account")
    org, user = linked.primary.org, linked.primary.user_id
    source_ids = {org.create("Account", {"Name": f"Bulk {n}"}, user_id=user) for n in range(RECORDS)}
    bulk = bulk_sync_start(connection=linked.connection, actor=None, run_in_worker=False)

    kill_points = [
        ("two ingest jobs in flight", lambda: len(jobs_in_flight()) == 2),
        ("reading a page", lambda: progress().page_checkpoint.get("jobs") == []),
        ("at random", lambda: True),
    ]
    hit = []
    for name, condition in kill_points:
        if name != "at random":
            # Reading and classifying a page, or reading a job's outcomes back while the next
            # runs, takes milliseconds; a slow target holds the phase open long enough to kill in.
            linked.secondary.set_faults(latency_ms=250)
        cluster = start_cluster(tmp_path / "qcluster.log")
        async_task("replication.tasks.run_bulk_sync", bulk.pk, sync=False)
        if name == "at random":
            time.sleep(0.5)
        reached = wait_for(condition, cluster)
        os.killpg(cluster.pid, signal.SIGKILL)
        cluster.wait()
        linked.secondary.clear_faults()
        if reached and BulkSync.objects.get(pk=bulk.pk).is_active:
            hit.append(name)
        # A dead worker's leases, the run's and the connection's, lapse (here at once, instead of
        # after two minutes): otherwise the next cluster waits for them and is killed still waiting.
        BulkSync.objects.filter(pk=bulk.pk).update(lease_until=timezone.now())
        EngineSchedule.objects.filter(connection=linked.connection).update(lease_until=timezone.now())
    log = (tmp_path / "qcluster.log").read_text()[-3000:]
    assert {"two ingest jobs in flight", "reading a page"} <= set(hit), (hit, log)

    bulk.refresh_from_db()
    finished = BulkSyncRunner(bulk, sleep=lambda s: time.sleep(min(s, 0.05))).run()
    assert finished.status == BulkSync.Status.COMPLETED, finished.error

    written = linked.secondary.org.query(
        f"SELECT {EXTERNAL_ID_FIELD} FROM Account", api_version="62.0"
    ).records
    external_ids = [r[EXTERNAL_ID_FIELD] for r in written]
    assert len(external_ids) == len(set(external_ids)), "no record was created twice"
    assert set(external_ids) == source_ids, "every record arrived"
    assert RecordLink.objects.count() == RECORDS
    sent = sum(j.get("numberRecordsProcessed") or 0 for j in ingest_jobs(sfemu_server, linked.secondary))
    assert sent == RECORDS, "no record was sent to the target twice"
    got = progress()
    assert (got.total, got.processed, got.inserted, got.skipped) == (RECORDS, RECORDS, RECORDS, 0)

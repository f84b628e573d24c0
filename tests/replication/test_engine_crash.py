"""A worker cluster killed with SIGKILL three times during a 5,000-record sync loses nothing and
duplicates nothing: the record queue is the ledger and creates are upserts on the external id."""

import os
import signal
import subprocess
import sys
import time

import pytest
from django.utils import timezone

from replication.engine.cycle import sync_once
from replication.models import EXTERNAL_ID_FIELD, RecordQueueItem
from tests.orgsync.cluster import PROJECT_DIR, child_environment
from tests.replication.conftest import linked_orgs, subscribe_accounts

RECORDS = 5000


def start_cluster(log_path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "manage.py", "runworkers"],
        cwd=PROJECT_DIR,
        # A killed cluster's lease (and so its claims) lapses after 5 s instead of 30.
        env={**child_environment(), "ORGSYNC_LEASE_SECONDS": "5"},
        stdout=log_path.open("a"),
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )


def target_count(linked) -> int:
    return linked.secondary.org.record_counts(["Account"]).get("Account", 0)


def kill_cluster(process: subprocess.Popen) -> None:
    os.killpg(process.pid, signal.SIGKILL)
    process.wait()


@pytest.mark.django_db(transaction=True)
def test_sigkill_three_times_during_a_5000_record_sync(sfemu_server, tmp_path):
    from django_q.tasks import async_task

    linked = linked_orgs(sfemu_server)
    subscribe_accounts(linked)
    org, user = linked.primary.org, linked.primary.user_id
    source_ids = {org.create("Account", {"Name": f"Crash {n}"}, user_id=user) for n in range(RECORDS)}

    killed_mid_apply = 0
    for _ in range(3):
        cluster = start_cluster(tmp_path / "qcluster.log")
        async_task("replication.tasks.sync_connection", linked.connection.pk, sync=False)
        before = target_count(linked)
        deadline = time.monotonic() + 60
        while target_count(linked) == before and cluster.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        kill_cluster(cluster)  # as soon as the cluster has started writing: mid-apply
        killed_mid_apply += before < target_count(linked) < RECORDS
    assert killed_mid_apply >= 1, "the cluster was killed while it was writing"

    deadline = time.monotonic() + 60
    while RecordQueueItem.objects.exists() and time.monotonic() < deadline:  # finish in this process
        if sync_once(linked.connection).coalesced:
            time.sleep(0.5)  # the dead cluster's lease has not lapsed yet
        RecordQueueItem.objects.filter(status="retrying").update(next_retry_at=timezone.now())
    written = linked.secondary.org.query(
        f"SELECT {EXTERNAL_ID_FIELD} FROM Account", include_deleted=False, api_version="62.0"
    ).records
    external_ids = [r[EXTERNAL_ID_FIELD] for r in written]
    assert len(external_ids) == len(set(external_ids)), "no record was created twice"
    assert set(external_ids) == source_ids, "every record arrived"

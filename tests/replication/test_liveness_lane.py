"""Nothing stalls silently, on the scaled-out lane (PostgreSQL, the Redis broker, real
`runworkers` clusters): a wedged cluster is named by /healthz and restarted, a flushed broker
loses no change, and a killed database connection frees its claims within 30 s. Every test ends
by comparing both orgs field by field (`oracle.compare_orgs`).
"""

import os
import signal
import time

import pytest
import redis
from django.conf import settings
from django.test import Client
from django.utils import timezone

from orgsync.models import WorkerCluster
from replication.engine.lease import request_cycle
from replication.models import QueueStatus, RecordQueueItem
from tests.orgsync.cluster import wait_for
from tests.replication.conftest import LinkedOrgs, linked_orgs, subscribe_accounts
from tests.replication.fault_scenario import (
    Cluster,
    holds_a_queue_lock,
    scaled_lane,
    terminate_other_backends,
)
from tests.replication.oracle import compare_orgs

pytestmark = [
    pytest.mark.scaled,
    pytest.mark.skipif(
        not scaled_lane(), reason="scaled-out lane only: DATABASE_URL=postgres://… and REDIS_URL=redis://…"
    ),
    pytest.mark.django_db(transaction=True),
]
FIELDS = {"Account": ["Name", "Phone"]}
# Short task timeout: a cluster is stalled after 2 x 15 s without progress; leases lapse in 5 s.
FAST = {"ORGSYNC_Q_TIMEOUT": "15", "ORGSYNC_LEASE_SECONDS": "5"}


def accounts_one_way(sfemu_server) -> LinkedOrgs:
    linked = linked_orgs(sfemu_server)
    subscribe_accounts(linked)
    return linked


def create_accounts(linked: LinkedOrgs, count: int, label: str) -> None:
    org, user = linked.primary.org, linked.primary.user_id
    for n in range(count):
        org.create("Account", {"Name": f"{label} {n}", "Phone": f"555-{n:04d}"}, user_id=user)


def in_step(linked: LinkedOrgs, expected: int) -> bool:
    """Every Account of the primary is in the secondary, field by field, nothing else."""
    verdict = compare_orgs(linked, FIELDS)
    return verdict.ok and verdict.compared["Account"] >= expected


def running(cluster: Cluster) -> WorkerCluster | None:
    """The cluster's heartbeat row, once one of its workers has finished a task."""
    return WorkerCluster.objects.filter(pid=cluster.process.pid, tasks_finished__gte=1).first()


def test_a_worker_killed_holding_the_task_queue_stalls_its_cluster_briefly(sfemu_server, tmp_path):
    """SIGKILL of the one worker while it waits in the task queue's get(), its lock held: every
    worker of that cluster is wedged for good (django-q2 #23). /healthz answers 503 naming the
    cluster; the watchdog restarts it; the changes made meanwhile all arrive within 2 minutes."""
    linked = accounts_one_way(sfemu_server)
    cluster = Cluster("wedge", tmp_path, workers=1, env=FAST)
    named, statuses = set(), set()
    try:
        row = wait_for(lambda: running(cluster), timeout=60)

        def idle_worker() -> int | None:
            return next((pid for pid in cluster.workers() if holds_a_queue_lock(pid)), None)

        worker = wait_for(idle_worker, timeout=60, interval=0.1)
        os.kill(worker, signal.SIGKILL)
        killed_at = time.monotonic()
        create_accounts(linked, 60, "Wedge")
        request_cycle(linked.connection)  # Sync now

        def settled() -> bool:
            response = Client().get("/healthz")
            statuses.add(response.status_code)
            named.update(c["cluster"] for c in response.json()["workers"]["stalled_clusters"])
            return in_step(linked, 60)

        wait_for(settled, timeout=120, interval=1)
        took = time.monotonic() - killed_at
    finally:
        cluster.stop(grace=10)
    row.refresh_from_db()
    assert str(row) in named, f"/healthz never named the stalled cluster (saw {statuses})"
    assert 503 in statuses
    assert row.restarts >= 1 and row.last_restart_reason.startswith("stalled")
    assert took < 120


def test_a_flushed_broker_loses_no_change(sfemu_server, tmp_path):
    """FLUSHDB of the broker's Redis database, three times, with a Sync now pending and the
    watchdog's engine tick queued or running: every change still arrives."""
    linked = accounts_one_way(sfemu_server)
    broker = redis.from_url(settings.REDIS_URL)
    cluster = Cluster("flush", tmp_path, workers=2, env=FAST)
    try:
        wait_for(lambda: running(cluster), timeout=60)
        create_accounts(linked, 300, "Flush")
        request_cycle(linked.connection)  # Sync now: a flag in the database, not a broker task
        for _ in range(3):
            broker.flushdb()
            time.sleep(2)
        wait_for(lambda: in_step(linked, 300), timeout=120, interval=2)
    finally:
        cluster.stop(grace=10)


def test_a_killed_database_connection_frees_its_claims_within_30_seconds(sfemu_server, tmp_path):
    """pg_terminate_backend of the worker's connection while its cycle holds claims: the claims
    are claimable again (released or taken by a new cycle) within 30 s, and everything arrives."""
    linked = accounts_one_way(sfemu_server)
    create_accounts(linked, 2000, "Terminate")
    request_cycle(linked.connection)
    cluster = Cluster("terminate", tmp_path, workers=2, env=FAST)
    try:

        def claimed() -> set[str]:
            return set(
                RecordQueueItem.objects.filter(status=QueueStatus.IN_PROGRESS).values_list(
                    "claimed_by", flat=True
                )
            )

        holders = wait_for(claimed, timeout=90, interval=0.1)
        assert terminate_other_backends() >= 1
        terminated_at = timezone.now()

        def freed() -> bool:
            return not (claimed() & holders)

        wait_for(freed, timeout=30, interval=0.5)
        freed_after = (timezone.now() - terminated_at).total_seconds()
        wait_for(lambda: in_step(linked, 2000), timeout=180, interval=3)
    finally:
        cluster.stop(grace=10)
    assert freed_after <= 30

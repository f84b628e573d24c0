"""Worker clusters' heartbeat rows: live, stalled and lost as /healthz reports them, progress
counted from django-q2's signals, and a lost engine tick queued again."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.tasks import async_task

from orgsync import clusters, work
from orgsync.models import WorkerCluster
from tests.factories import WorkerClusterFactory

pytestmark = pytest.mark.django_db


def stalled_cluster(**fields) -> WorkerCluster:
    """Work waiting, and nothing started or finished for longer than twice the task timeout."""
    quiet = timezone.now() - clusters.stall_after(WorkerCluster()) - timedelta(seconds=5)
    return WorkerClusterFactory(queued=3, cluster_started_at=quiet, progress_at=quiet, **fields)


def test_a_live_cluster_makes_the_workers_check_pass(client):
    WorkerClusterFactory(workers=3)
    workers = client.get("/healthz").json()["workers"]
    assert workers["ok"] is True
    assert (workers["clusters"], workers["workers"]) == (1, 3)
    assert workers["stalled_clusters"] == workers["lost_clusters"] == []


def test_no_cluster_fails_the_check(client):
    response = client.get("/healthz")
    assert response.status_code == 503
    assert response.json()["workers"]["ok"] is False
    assert response.json()["workers"]["clusters"] == 0


def test_a_stalled_cluster_is_503_and_named(client):
    WorkerClusterFactory(host="healthy")
    stalled = stalled_cluster(host="wedged", pid=4242)
    response = client.get("/healthz")
    assert response.status_code == 503
    [entry] = response.json()["workers"]["stalled_clusters"]
    assert entry["cluster"] == "wedged:4242" == str(stalled)
    assert entry["state"] == "stalled"
    assert "3 task(s) waiting" in entry["reason"]


def test_quiet_without_work_is_not_a_stall():
    quiet = timezone.now() - clusters.stall_after(WorkerCluster()) - timedelta(minutes=1)
    idle = WorkerClusterFactory(queued=0, cluster_started_at=quiet, progress_at=quiet)
    assert not clusters.is_stalled(idle, timezone.now())


def test_a_task_started_and_never_finished_is_work_waiting():
    quiet = timezone.now() - clusters.stall_after(WorkerCluster()) - timedelta(seconds=1)
    hung = WorkerClusterFactory(
        queued=0, tasks_started=5, tasks_finished=4, cluster_started_at=quiet, progress_at=quiet
    )
    assert clusters.is_stalled(hung, timezone.now())


def test_a_restart_gives_a_fresh_window():
    cluster = stalled_cluster()
    clusters.mark_stalled(cluster, timezone.now())
    assert cluster.stalled_since is not None
    clusters.restarted(cluster, "stalled")
    assert not clusters.is_stalled(cluster, timezone.now())
    assert (cluster.restarts, cluster.stalled_since, cluster.last_restart_reason) == (1, None, "stalled")


def test_a_lost_cluster_is_listed_but_another_live_one_keeps_the_check_ok(client):
    WorkerClusterFactory(host="alive")
    lost = WorkerClusterFactory(host="gone", heartbeat_at=timezone.now() - timedelta(minutes=2))
    workers = client.get("/healthz").json()["workers"]
    assert workers["ok"] is True and workers["clusters"] == 1
    assert [c["cluster"] for c in workers["lost_clusters"]] == [str(lost)]


def test_a_lost_cluster_alone_fails_the_check(client):
    WorkerClusterFactory(heartbeat_at=timezone.now() - timedelta(minutes=2))
    assert client.get("/healthz").json()["workers"]["ok"] is False


def test_stopped_clusters_are_not_reported(client):
    WorkerClusterFactory(stopped_at=timezone.now(), heartbeat_at=timezone.now() - timedelta(minutes=5))
    assert client.get("/healthz").json()["workers"]["lost_clusters"] == []


def test_task_signals_count_progress_in_a_runworkers_process(monkeypatch):
    """django-q2's pre_execute / post_execute move the counters of the cluster named in the
    process environment (runworkers sets it before forking its workers)."""
    cluster = WorkerClusterFactory()
    monkeypatch.setenv(clusters.CLUSTER_ENV, str(cluster.cluster_id))
    async_task("orgsync.tasks.worker_probe", "x")  # runs inline in tests: both signals fire
    cluster.refresh_from_db()
    assert (cluster.tasks_started, cluster.tasks_finished) == (1, 1)
    assert cluster.progress_at is not None and cluster.engine_tick_at is None


def test_task_signals_outside_a_cluster_touch_nothing():
    cluster = WorkerClusterFactory()
    async_task("orgsync.tasks.worker_probe", "x")
    cluster.refresh_from_db()
    assert (cluster.tasks_started, cluster.tasks_finished) == (0, 0)


def test_an_engine_tick_start_is_remembered(monkeypatch):
    cluster = WorkerClusterFactory()
    monkeypatch.setenv(clusters.CLUSTER_ENV, str(cluster.cluster_id))
    assert clusters.engine_ticks_short(timezone.now(), timedelta(seconds=30))
    clusters.task_started(clusters.ENGINE_TICK)
    assert not clusters.engine_ticks_short(timezone.now(), timedelta(seconds=30))


@pytest.fixture
def broker_queue(monkeypatch):
    """async_task really enqueues (tests run tasks inline otherwise); emptied afterwards."""
    monkeypatch.setattr(Conf, "SYNC", False)
    broker = get_broker()
    broker.purge_queue()
    yield broker
    broker.purge_queue()


def test_a_live_cluster_without_a_tick_gets_one_queued(broker_queue):
    cluster = WorkerClusterFactory(engine_tick_at=timezone.now() - timedelta(minutes=2))
    work.recover_lost_work(cluster, timezone.now())
    assert broker_queue.queue_size() == 1
    cluster.refresh_from_db()
    assert cluster.engine_tick_queued_at is not None
    work.recover_lost_work(cluster, timezone.now())  # queued just now: not again
    assert broker_queue.queue_size() == 1


def test_a_lost_tick_is_queued_again_after_a_short_wait(broker_queue):
    """Queued 11 s ago and never started (a flushed broker): queued again."""
    now = timezone.now()
    cluster = WorkerClusterFactory(engine_tick_queued_at=now - work.QUEUE_AGAIN_AFTER - timedelta(seconds=1))
    work.recover_lost_work(cluster, now)
    assert broker_queue.queue_size() == 1


def test_a_running_tick_needs_nothing(broker_queue):
    cluster = WorkerClusterFactory(engine_tick_at=timezone.now() - timedelta(seconds=3))
    work.recover_lost_work(cluster, timezone.now())
    assert broker_queue.queue_size() == 0


def test_one_tick_per_live_cluster(broker_queue):
    """Two live clusters, one running a tick: the other's watchdog queues a second one."""
    WorkerClusterFactory(engine_tick_at=timezone.now() - timedelta(seconds=3))
    idle = WorkerClusterFactory()
    work.recover_lost_work(idle, timezone.now())
    assert broker_queue.queue_size() == 1


def test_no_tick_is_queued_while_work_waits(broker_queue):
    """The tick may be among the tasks waiting behind busy workers: it is not lost."""
    cluster = WorkerClusterFactory(queued=2)
    work.recover_lost_work(cluster, timezone.now())
    assert broker_queue.queue_size() == 0

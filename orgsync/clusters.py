"""Worker clusters' liveness: heartbeats, progress, and the stall rule.

Each `manage.py runworkers` process keeps one `WorkerCluster` row: a heartbeat every few seconds,
how many tasks are waiting, and when its workers last started or finished a task (django-q2's
`pre_execute` / `post_execute` signals, from the worker and monitor processes). A cluster is

- *live* while its heartbeat is fresher than `LOST_AFTER`;
- *stalled* when it is live, has work waiting (tasks in the broker or its own task queue, or a
  task started and never finished) and no task started or finished for twice the task timeout:
  the cluster is up but picks nothing up (a worker killed while it held the task queue's lock
  wedges every other worker: django-q2 issue #23). `runworkers` restarts such a cluster;
- *lost* when its heartbeat stopped without a clean stop (the whole process was killed);
- *stopped* after a clean stop.
"""

import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import F
from django.utils import timezone
from django_q.conf import Conf

from orgsync.models import WorkerCluster

logger = logging.getLogger(__name__)
CLUSTER_ENV = "ORGSYNC_CLUSTER_ID"  # set by runworkers, inherited by its worker processes
HEARTBEAT_SECONDS = 5.0
LOST_AFTER = timedelta(seconds=30)
SHOW_LOST_FOR = timedelta(hours=1)
ENGINE_TICK = "replication.tasks.engine_tick"


def stall_after(cluster: WorkerCluster) -> timedelta:
    """Twice the cluster's own task timeout (a task runs at most that long)."""
    return timedelta(seconds=2 * cluster.task_timeout)


def current_cluster_id() -> str | None:
    return os.environ.get(CLUSTER_ENV) or None


def register(*, host: str, pid: int, workers: int) -> WorkerCluster:
    now = timezone.now()
    return WorkerCluster.objects.create(
        host=host,
        pid=pid,
        workers=workers,
        task_timeout=Conf.TIMEOUT,
        started_at=now,
        heartbeat_at=now,
        cluster_started_at=now,
    )


def beat(cluster: WorkerCluster, *, queued: int) -> None:
    """The heartbeat: alive, and how many tasks wait."""
    cluster.heartbeat_at = timezone.now()
    cluster.queued = queued
    WorkerCluster.objects.filter(pk=cluster.pk).update(heartbeat_at=cluster.heartbeat_at, queued=queued)


def task_started(func: str) -> None:
    """A worker of this process's cluster starts a task (no-op outside a runworkers cluster)."""
    cluster_id = current_cluster_id()
    if cluster_id is None:
        return
    now = timezone.now()
    changes = {"tasks_started": F("tasks_started") + 1, "progress_at": now}
    if func == ENGINE_TICK:
        changes["engine_tick_at"] = now
    WorkerCluster.objects.filter(cluster_id=cluster_id).update(**changes)


def task_finished() -> None:
    cluster_id = current_cluster_id()
    if cluster_id is None:
        return
    WorkerCluster.objects.filter(cluster_id=cluster_id).update(
        tasks_finished=F("tasks_finished") + 1, progress_at=timezone.now()
    )


def on_task_started(sender, task: dict | None = None, **kwargs) -> None:
    """django-q2's pre_execute signal, in the worker process."""
    task_started(str((task or {}).get("func", "")))


def on_task_finished(sender, **kwargs) -> None:
    """django-q2's post_execute signal, in the monitor process."""
    task_finished()


def is_lost(cluster: WorkerCluster, now: datetime) -> bool:
    return cluster.stopped_at is None and now - cluster.heartbeat_at > LOST_AFTER


def quiet_since(cluster: WorkerCluster) -> datetime:
    """Since when the cluster has neither started nor finished a task (at most since it started)."""
    return max(cluster.progress_at or cluster.cluster_started_at, cluster.cluster_started_at)


def has_work(cluster: WorkerCluster) -> bool:
    return cluster.queued > 0 or cluster.tasks_started > cluster.tasks_finished


def is_stalled(cluster: WorkerCluster, now: datetime) -> bool:
    if cluster.stopped_at is not None or is_lost(cluster, now):
        return False
    return has_work(cluster) and now - quiet_since(cluster) > stall_after(cluster)


def mark_stalled(cluster: WorkerCluster, now: datetime) -> None:
    if cluster.stalled_since is None:
        cluster.stalled_since = now
        WorkerCluster.objects.filter(pk=cluster.pk).update(stalled_since=now)
        logger.error(
            "worker cluster %s is stalled: %d task(s) waiting, none started or finished since %s",
            cluster,
            cluster.queued,
            quiet_since(cluster).isoformat(timespec="seconds"),
        )


def restarted(cluster: WorkerCluster, reason: str) -> None:
    """The cluster's processes were replaced: a fresh window for progress; tasks the old ones
    held are gone (the engine re-derives its work from the database)."""
    now = timezone.now()
    WorkerCluster.objects.filter(pk=cluster.pk).update(
        cluster_started_at=now,
        stalled_since=None,
        restarts=F("restarts") + 1,
        last_restart_reason=reason[:200],
        tasks_finished=F("tasks_started"),
    )
    cluster.refresh_from_db()


def stopped(cluster: WorkerCluster) -> None:
    WorkerCluster.objects.filter(pk=cluster.pk).update(stopped_at=timezone.now(), stalled_since=None)


def live_clusters(now: datetime):
    return WorkerCluster.objects.filter(stopped_at__isnull=True, heartbeat_at__gte=now - LOST_AFTER)


def engine_ticks_short(now: datetime, tick: timedelta) -> bool:
    """Fewer live clusters run an engine tick (one that started within `tick`) than there are
    live clusters."""
    clusters = live_clusters(now)
    return clusters.filter(engine_tick_at__gte=now - tick).count() < clusters.count()


def engine_tick_queued(cluster: WorkerCluster, now: datetime) -> None:
    cluster.engine_tick_queued_at = now
    WorkerCluster.objects.filter(pk=cluster.pk).update(engine_tick_queued_at=now)


@dataclass(frozen=True)
class ClusterState:
    """What /healthz, the dashboard and /metrics say about one cluster."""

    name: str
    state: str  # live, stalled or lost
    workers: int
    queued: int
    heartbeat_at: datetime
    quiet_since: datetime
    restarts: int
    reason: str = ""

    def as_dict(self) -> dict:
        return {
            "cluster": self.name,
            "state": self.state,
            "workers": self.workers,
            "queued": self.queued,
            "heartbeat_at": self.heartbeat_at.isoformat(timespec="seconds"),
            "restarts": self.restarts,
            "reason": self.reason,
        }


def cluster_states(now: datetime | None = None) -> list[ClusterState]:
    """Every cluster that is running, stalled, or was lost within the last hour."""
    now = now or timezone.now()
    rows = WorkerCluster.objects.filter(stopped_at__isnull=True, heartbeat_at__gte=now - SHOW_LOST_FOR)
    return [_state(cluster, now) for cluster in rows]


def state_of(cluster: WorkerCluster, now: datetime) -> str:
    """stopped, lost, stalled or live."""
    if cluster.stopped_at is not None:
        return "stopped"
    if is_lost(cluster, now):
        return "lost"
    return "stalled" if is_stalled(cluster, now) else "live"


def _state(cluster: WorkerCluster, now: datetime) -> ClusterState:
    quiet = quiet_since(cluster)
    state, reason = state_of(cluster, now), ""
    if state == "lost":
        reason = f"no heartbeat since {timezone.localtime(cluster.heartbeat_at):%Y-%m-%d %H:%M:%S}"
    elif state == "stalled":
        reason = (
            f"{cluster.queued} task(s) waiting and none started or finished since "
            f"{timezone.localtime(quiet):%Y-%m-%d %H:%M:%S}"
        )
    return ClusterState(
        name=str(cluster),
        state=state,
        workers=cluster.workers,
        queued=cluster.queued,
        heartbeat_at=cluster.heartbeat_at,
        quiet_since=quiet,
        restarts=cluster.restarts,
        reason=reason,
    )


def forget_old(now: datetime) -> None:
    """Rows of clusters stopped or lost more than a day ago are history nobody reads."""
    WorkerCluster.objects.filter(heartbeat_at__lt=now - timedelta(days=1)).delete()

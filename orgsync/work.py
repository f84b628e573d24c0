"""Work is derived from the database, never only from the broker.

The engine tick derives everything the connections need from database state: which connection
is due, a "Sync now" (a flag on its schedule), a bulk sync to resume. So the one thing a flushed
or restarted broker can lose is the tick itself, and the watchdog of every `runworkers` queues a
new one as soon as a live cluster runs none (`recover_lost_work`, every heartbeat): there is one
tick per live cluster, each running for most of a minute, started again when it ends or is lost.
Metadata runs queued and never started are queued again the same way.
"""

from datetime import datetime, timedelta

from django_q.tasks import async_task

from metadiff.services import lost_work_requeue
from orgsync import clusters
from orgsync.models import WorkerCluster
from replication.tasks import tick_seconds

MARGIN = timedelta(seconds=5)
QUEUE_AGAIN_AFTER = timedelta(seconds=10)


def recover_lost_work(cluster: WorkerCluster, now: datetime) -> None:
    _engine_tick(cluster, now)
    lost_work_requeue(now=now)


def _engine_tick(cluster: WorkerCluster, now: datetime) -> None:
    """Queue a tick when the live clusters run fewer ticks than there are live clusters, and
    nothing waits in this cluster's queue (a tick waiting behind other tasks is not lost)."""
    if cluster.queued or not clusters.engine_ticks_short(now, timedelta(seconds=tick_seconds()) + MARGIN):
        return
    if cluster.engine_tick_queued_at and now - cluster.engine_tick_queued_at < QUEUE_AGAIN_AFTER:
        return
    clusters.engine_tick_queued(cluster, now)
    async_task(clusters.ENGINE_TICK, task_name="engine tick")

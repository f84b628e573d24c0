"""`manage.py runworkers`: a django-q2 cluster under a watchdog.

django-q2's `qcluster` alone can stall for good (a worker killed while it held the task queue's
lock wedges the others: django-q2 issue #23), lose the tasks it pulled from a flushed or
restarted Redis, and ignore SIGTERM once its sentinel died of the same signal. This process runs
the cluster and, every `HEARTBEAT_SECONDS`:

- writes the cluster's heartbeat and waiting work to the database (`orgsync.clusters`);
- restarts the cluster's processes when its sentinel died, or when the cluster stalled (work
  waiting, nothing started or finished for twice the task timeout) and is still stalled one
  heartbeat later (so /healthz has shown it);
- re-derives lost work from the database (`orgsync.work`).

On SIGTERM or SIGINT it asks running sync cycles to let go of their connections at their next
write (SIGUSR1 → `replication.engine.lease.request_stop`), stops the cluster, and kills whatever
is left after `STOP_SECONDS`, so the whole tree is gone within 10 s.
"""

import contextlib
import ctypes
import logging
import os
import signal
import socket
import time
from datetime import timedelta
from pathlib import Path

from django import db
from django.db import DatabaseError
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.cluster import Cluster
from django_q.conf import Conf
from django_q.status import Stat

from orgsync import clusters, work
from orgsync.models import WorkerCluster
from replication.engine.lease import request_stop

logger = logging.getLogger(__name__)
STOP_SECONDS = 8.0
PR_SET_CHILD_SUBREAPER = 36


class SupervisedCluster:
    def __init__(self) -> None:
        self.cluster: Cluster | None = None
        self.row: WorkerCluster | None = None
        self.stopping = False

    def run(self) -> int:
        _become_subreaper()
        # Every process forked from here inherits this: a stop request reaches a running cycle.
        signal.signal(signal.SIGUSR1, lambda signum, frame: request_stop())
        self.row = clusters.register(host=socket.gethostname(), pid=os.getpid(), workers=Conf.WORKERS)
        os.environ[clusters.CLUSTER_ENV] = str(self.row.cluster_id)
        self._start_cluster()
        logger.info("worker cluster %s running with %d worker(s)", self.row, Conf.WORKERS)
        try:
            while not self.stopping:
                self.watch_safely()
                self._sleep(clusters.HEARTBEAT_SECONDS)
        finally:
            self.stop()
        return 0

    def watch_safely(self) -> None:
        """A heartbeat that fails (the database restarted, our connection was killed) is logged
        and tried again at the next one, on a new connection: the watchdog never gives up."""
        try:
            self.watch()
        except DatabaseError as exc:
            logger.warning("worker cluster %s: heartbeat failed: %s", self.row, exc.__class__.__name__)
            db.connections.close_all()
        except Exception:
            logger.exception("worker cluster %s: heartbeat failed", self.row)
            db.connections.close_all()

    def watch(self) -> None:
        """One heartbeat: record it, restart a dead or stalled cluster, recover lost work."""
        now = timezone.now()
        if not self.cluster.sentinel.is_alive():
            self.restart("its sentinel process died")
            return
        clusters.beat(self.row, queued=self._queued())
        self.row.refresh_from_db()
        if clusters.is_stalled(self.row, now):
            if self.row.stalled_since is None:
                clusters.mark_stalled(self.row, now)
            elif now - self.row.stalled_since >= timedelta(seconds=clusters.HEARTBEAT_SECONDS):
                self.restart("stalled: work waiting and no task started or finished")
                return
        elif self.row.stalled_since is not None:
            WorkerCluster.objects.filter(pk=self.row.pk).update(stalled_since=None)
        work.recover_lost_work(self.row, now)

    def restart(self, reason: str) -> None:
        logger.critical("worker cluster %s: %s; restarting its processes", self.row, reason)
        self._kill_tree()
        self._start_cluster()
        clusters.restarted(self.row, reason)

    def stop(self) -> None:
        """Stop within STOP_SECONDS: cycles let go, the sentinel stops its workers, the rest is
        killed."""
        if self.cluster is None:
            return
        for pid in descendants(os.getpid()):
            _signal(pid, signal.SIGUSR1)
        sentinel = self.cluster.sentinel
        if sentinel.is_alive():
            self.cluster.stop_event.set()
            sentinel.join(STOP_SECONDS)
        self._kill_tree()
        self.cluster = None
        with contextlib.suppress(Exception):  # the database may be what is gone
            clusters.stopped(self.row)
        logger.info("worker cluster %s stopped", self.row)

    def on_signal(self, signum: int, frame: object) -> None:
        self.stopping = True

    def _start_cluster(self) -> None:
        # The cluster's processes are forks of this one: none may share its database sockets.
        db.connections.close_all()
        self.cluster = Cluster()
        # django-q2's own handler returns early when the sentinel died of the same signal.
        signal.signal(signal.SIGTERM, self.on_signal)
        signal.signal(signal.SIGINT, self.on_signal)
        self.cluster.start()

    def _queued(self) -> int:
        """Tasks waiting in the broker and in this cluster's own task queue."""
        waiting = 0
        with contextlib.suppress(Exception):  # a broker that is down is /healthz's to report
            waiting += get_broker().queue_size() or 0
        with contextlib.suppress(Exception):
            stat = Stat.get(pid=os.getpid(), cluster_id=self.cluster.cluster_id)
            waiting += stat.task_q_size if stat else 0
        return waiting

    def _kill_tree(self) -> None:
        for pid in descendants(os.getpid()):
            _signal(pid, signal.SIGKILL)
        if self.cluster is not None and self.cluster.sentinel is not None:
            self.cluster.sentinel.join(5)
        _reap_children()

    def _sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self.stopping and time.monotonic() < deadline:
            time.sleep(0.1)


def descendants(pid: int) -> list[int]:
    """Every process below `pid` (Linux /proc), children first."""
    children: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            fields = stat.read_text().rsplit(")", 1)[1].split()
            children.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        for child in children.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def _signal(pid: int, signum: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.kill(pid, signum)


def _reap_children() -> None:
    """Collect the exit status of orphans handed to us (we are their subreaper)."""
    with contextlib.suppress(ChildProcessError):
        while os.waitpid(-1, os.WNOHANG)[0]:
            pass


def _become_subreaper() -> None:
    """Workers orphaned by a dead sentinel become our children, so we can find and stop them."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)

"""django-q2 tasks are picked up by a real `qcluster` from whichever broker is configured."""

import os

import pytest
from django.conf import settings
from django.test import Client
from django_q.brokers import get_broker
from django_q.tasks import async_task, result

from tests.orgsync.cluster import wait_for


@pytest.mark.django_db
def test_broker_follows_redis_url():
    """REDIS_URL set → Redis broker; unset → the ORM broker on the default database."""
    broker = get_broker().__class__.__name__
    assert broker == ("Redis" if settings.REDIS_URL else "ORM")


def test_real_cluster_runs_a_task(qcluster):
    """A task enqueued here is executed by the child cluster process, and its result stored."""
    task_id = async_task("orgsync.tasks.worker_probe", "probe-1", sync=False)
    answer = result(task_id, wait=60_000)
    assert answer is not None, "the cluster did not run the task within 60 s"
    assert answer["token"] == "probe-1"
    assert answer["pid"] != os.getpid()


def test_healthz_reports_a_live_cluster(qcluster):
    """With a cluster up, /healthz answers 200 and counts its worker."""

    def healthy():
        response = Client().get("/healthz")
        return response if response.status_code == 200 else None

    body = wait_for(healthy, timeout=60).json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] and body["broker"]["ok"]
    assert body["workers"]["clusters"] >= 1
    assert body["workers"]["workers"] >= 1

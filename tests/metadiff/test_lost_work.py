"""Nothing stalls silently: `services.lost_work_requeue` queues again a run, deployment or
connection metadata sync whose task was lost with the broker, and fails one that was running when
its worker stopped — never deploying anything twice. The tasks themselves do nothing the second
time they run.

Rows are made directly with old timestamps, as a lost task leaves them (in tests `async_task`
runs inline, so the start services would run them at once)."""

import logging
import threading
from datetime import timedelta

import pytest
from django.db import connection as db_connection
from django.utils import timezone
from django_q.brokers import get_broker
from django_q.conf import Conf

from connections import services as connection_services
from connections.models import Connection, ConnectionEvent
from metadiff import services, tasks
from metadiff.connection_sync import LOST
from metadiff.models import ConnectionMetadataSync, Deployment, DiffRun, OrgDifference
from sfemu.metadata.service import jobs_of
from tests.factories import ConnectionFactory, OrgFactory
from tests.metadiff.conftest import SEEDED
from tests.metadiff.test_connection_gaps import accept, custom_fields, new_connection

REGION = ["CustomField", "Account.Region__c"]


def ago(delta: timedelta):
    return timezone.now() - delta


LONG_QUEUED = services.REQUEUE_AFTER + timedelta(minutes=1)
JUST_QUEUED = services.REQUEUE_AFTER - timedelta(minutes=1)


def quiet(more: bool = True) -> timedelta:
    """Longer (or a minute shorter) than the task timeout."""
    return timedelta(seconds=Conf.TIMEOUT) + timedelta(minutes=1 if more else -1)


def queued_run(difference: OrgDifference, queued_for: timedelta) -> DiffRun:
    """A run as `diff_run_start` records it, whose task never ran."""
    return DiffRun.objects.create(difference=difference, progress_message="Queued", queued_at=ago(queued_for))


def running_run(difference: OrgDifference, quiet_for: timedelta) -> DiffRun:
    return DiffRun.objects.create(
        difference=difference,
        status=DiffRun.Status.RUNNING,
        started_at=ago(quiet_for + timedelta(minutes=1)),
        progress_at=ago(quiet_for),
        log="2026-01-01 00:00:00 Comparing\n",
    )


@pytest.fixture
def difference(db) -> OrgDifference:
    """An org difference of two orgs with no live org behind them (for runs that never run)."""
    return OrgDifference.objects.create(name="no orgs", source_org=OrgFactory(), destination_org=OrgFactory())


def deploys_to(handle) -> int:
    """Deploy requests the emulated org has received."""
    jobs = jobs_of(handle.org.instance)._jobs.values()
    return sum(1 for job in jobs if job.kind == "deploy" and job.org_id == handle.org_id)


# --- runs ------------------------------------------------------------------------------------------


def test_a_queued_run_whose_task_was_lost_is_queued_again_and_runs(pair, caplog):
    run = queued_run(pair.difference(), LONG_QUEUED)
    with caplog.at_level(logging.WARNING, logger="metadiff.services"):
        assert services.lost_work_requeue() == 1
    run.refresh_from_db()
    assert run.status == DiffRun.Status.SUCCEEDED, run.log
    assert {(c.type, c.full_name, c.state) for c in run.components.exclude(state="identical")} == SEEDED
    assert run.queued_at > ago(timedelta(minutes=1)) and run.task_id
    assert [r.levelno for r in caplog.records] == [logging.WARNING]
    assert f"run {run.pk} " in caplog.records[0].getMessage()
    assert services.lost_work_requeue() == 0  # done: nothing left to recover


def test_a_fresh_queued_run_is_left_to_its_task_in_one_query(difference, django_assert_num_queries):
    run = queued_run(difference, JUST_QUEUED)
    running_run(difference, quiet(more=False))  # making progress within the task timeout
    DiffRun.objects.create(difference=difference, status=DiffRun.Status.SUCCEEDED, queued_at=ago(LONG_QUEUED))
    before = DiffRun.objects.get(pk=run.pk).queued_at
    with django_assert_num_queries(1):
        assert services.lost_work_requeue() == 0
    run.refresh_from_db()
    assert run.status == DiffRun.Status.QUEUED and run.queued_at == before and run.task_id == ""
    assert DiffRun.objects.filter(status=DiffRun.Status.RUNNING).count() == 1


@pytest.fixture
def real_broker(monkeypatch):
    """async_task puts tasks on the configured broker instead of running them inline."""
    monkeypatch.setattr(Conf, "SYNC", False)
    broker = get_broker()
    broker.purge_queue()
    yield broker
    broker.purge_queue()


@pytest.mark.django_db(transaction=True)
def test_two_watchdogs_at_once_requeue_a_lost_run_once(real_broker, monkeypatch):
    """Two clusters read the same lost run at the same moment; it is queued again once, and not
    again before another grace period."""
    difference = OrgDifference.objects.create(
        name="race", source_org=OrgFactory(), destination_org=OrgFactory()
    )
    run = queued_run(difference, LONG_QUEUED)
    both_looked = threading.Barrier(2, timeout=10)
    look = services._lost_work

    def look_together(*args):
        found = look(*args)
        both_looked.wait()  # each has the run in hand before either queues it
        return found

    monkeypatch.setattr(services, "_lost_work", look_together)
    now, acted = timezone.now(), []

    def watchdog():
        try:
            acted.append(services.lost_work_requeue(now=now))
        finally:
            db_connection.close()

    watchdogs = [threading.Thread(target=watchdog) for _ in range(2)]
    for thread in watchdogs:
        thread.start()
    for thread in watchdogs:
        thread.join(30)
    assert sorted(acted) == [0, 1]
    assert real_broker.queue_size() == 1
    run.refresh_from_db()
    assert run.status == DiffRun.Status.QUEUED and run.queued_at == now and run.task_id

    monkeypatch.setattr(services, "_lost_work", look)
    assert services.lost_work_requeue(now=now + timedelta(minutes=1)) == 0  # within the grace period
    assert real_broker.queue_size() == 1
    assert services.lost_work_requeue(now=now + LONG_QUEUED) == 1  # still not taken up: again
    assert real_broker.queue_size() == 2


def test_a_running_run_without_progress_is_failed(difference, caplog):
    lost = running_run(difference, quiet())
    alive = running_run(difference, quiet(more=False))
    with caplog.at_level(logging.WARNING, logger="metadiff.services"):
        assert services.lost_work_requeue() == 1
    lost.refresh_from_db()
    assert lost.status == DiffRun.Status.FAILED and lost.finished_at is not None
    assert lost.error == services.RUN_LOST
    assert "the worker running it stopped" in lost.error.lower() and lost.error.endswith("run it again.")
    assert lost.log.startswith("2026-01-01 00:00:00 Comparing\n") and lost.log.endswith(
        f"Failed: {services.RUN_LOST}\n"
    )
    assert f"run {lost.pk} " in caplog.records[0].getMessage()
    alive.refresh_from_db()
    assert alive.status == DiffRun.Status.RUNNING and alive.error == ""
    assert services.lost_work_requeue() == 0


def test_get_differences_does_nothing_for_a_run_already_taken_up(difference):
    """A redelivered or requeued task of a running or finished run leaves it alone (these orgs
    have no live org behind them: running them would fail the run)."""
    running = running_run(difference, quiet(more=False))
    finished = DiffRun.objects.create(
        difference=difference, status=DiffRun.Status.SUCCEEDED, log="done\n", progress=100
    )
    for run in (running, finished):
        before = DiffRun.objects.values().get(pk=run.pk)
        assert tasks.get_differences(run.pk) == run.status
        assert DiffRun.objects.values().get(pk=run.pk) == before


# --- deployments -----------------------------------------------------------------------------------


@pytest.fixture
def compared(pair) -> DiffRun:
    run = services.diff_run_start(difference=pair.difference())
    assert run.status == DiffRun.Status.SUCCEEDED, run.log
    return run


def test_a_queued_deployment_whose_task_was_lost_is_deployed_once(pair, compared):
    deployment = Deployment.objects.create(run=compared, additions=[REGION], queued_at=ago(LONG_QUEUED))
    assert pair.destination.org.schema.field("Account", "Region__c") is None
    assert services.lost_work_requeue() == 1
    deployment.refresh_from_db()
    assert deployment.status == Deployment.Status.SUCCEEDED, deployment.log
    assert pair.destination.org.schema.field("Account", "Region__c") is not None
    assert deploys_to(pair.destination) == 1

    before = Deployment.objects.values().get(pk=deployment.pk)
    assert tasks.deploy(deployment.pk) == Deployment.Status.SUCCEEDED  # its first task, late
    assert Deployment.objects.values().get(pk=deployment.pk) == before
    assert deploys_to(pair.destination) == 1
    assert services.lost_work_requeue() == 0


def test_a_deployment_whose_worker_stopped_is_failed_and_never_deployed_again(pair, compared):
    started = ago(quiet())
    lost = Deployment.objects.create(
        run=compared, additions=[REGION], status=Deployment.Status.IN_PROGRESS, started_at=started
    )
    validation = Deployment.objects.create(
        run=compared,
        additions=[REGION],
        validate_only=True,
        status=Deployment.Status.IN_PROGRESS,
        started_at=started,
    )
    alive = Deployment.objects.create(
        run=compared, additions=[REGION], status=Deployment.Status.IN_PROGRESS, started_at=ago(quiet(False))
    )
    assert services.lost_work_requeue() == 2
    lost.refresh_from_db()
    org = str(pair.destination_org)
    assert lost.status == Deployment.Status.FAILED and lost.finished_at is not None
    assert "worker running this deployment stopped" in lost.error
    assert f"Check the deployment status in {org}" in lost.error and "not deployed again" in lost.error
    assert lost.log.endswith(f"Failed: {lost.error}\n")
    validation.refresh_from_db()
    assert validation.status == Deployment.Status.FAILED and validation.error.endswith("run it again.")
    alive.refresh_from_db()
    assert alive.status == Deployment.Status.IN_PROGRESS

    for deployment in (lost, alive):  # a redelivered task: still not deployed
        assert tasks.deploy(deployment.pk) == deployment.status
    assert services.lost_work_requeue() == 0
    assert pair.destination.org.schema.field("Account", "Region__c") is None
    assert deploys_to(pair.destination) == 0


# --- connection metadata syncs ---------------------------------------------------------------------


def test_an_accepted_connection_whose_metadata_sync_task_was_lost_gets_it(
    db, sfemu_server, django_capture_on_commit_callbacks
):
    """`connections` queues the accept's sync on commit without a row; that task is lost."""
    connection, _, _ = new_connection(sfemu_server, sync_metadata=True)
    with django_capture_on_commit_callbacks(execute=False) as lost:
        connection_services.connection_accept(connection=connection, actor=None)
    assert len(lost) == 1  # the async_task that never reached a worker
    assert services.lost_work_requeue() == 0  # just accepted: its task may still come
    Connection.objects.filter(pk=connection.pk).update(accepted_at=ago(LONG_QUEUED))

    assert services.lost_work_requeue() == 1
    connection.refresh_from_db()
    assert connection.status == Connection.Status.ACTIVE
    sync = ConnectionMetadataSync.objects.get(connection=connection)
    assert sync.status == ConnectionMetadataSync.Status.SUCCEEDED and sync.trigger == "accept"
    assert custom_fields(connection.secondary_org) == custom_fields(connection.primary_org)
    assert services.lost_work_requeue() == 0


def test_a_queued_metadata_sync_whose_task_was_lost_runs(
    db, sfemu_server, django_capture_on_commit_callbacks
):
    connection, primary, secondary = new_connection(sfemu_server, sync_metadata=True)
    connection = accept(connection, django_capture_on_commit_callbacks)
    primary.org.add_custom_field("Account", "Fresh__c", "string", length=55)
    ConnectionMetadataSync.objects.filter(connection=connection).update(
        status=ConnectionMetadataSync.Status.QUEUED, trigger="manual", queued_at=ago(LONG_QUEUED)
    )
    assert services.lost_work_requeue() == 1
    sync = ConnectionMetadataSync.objects.get(connection=connection)
    assert sync.status == ConnectionMetadataSync.Status.SUCCEEDED and sync.trigger == "manual"
    assert sync.deployed == [["CustomField", "Account.Fresh__c"]]
    assert secondary.org.schema.field("Account", "Fresh__c") is not None


def test_a_queued_metadata_sync_with_nothing_to_run_ends_instead_of_coming_back(db):
    connection = ConnectionFactory()  # Invited: a metadata sync has nothing to do
    sync = ConnectionMetadataSync.objects.create(
        connection=connection, trigger="manual", queued_at=ago(LONG_QUEUED)
    )
    assert services.lost_work_requeue() == 1
    sync.refresh_from_db()
    assert sync.status == ConnectionMetadataSync.Status.FAILED
    assert sync.error == "Not run: the connection is Invited and does not sync metadata."
    assert services.lost_work_requeue(now=timezone.now() + LONG_QUEUED) == 0


def test_a_running_metadata_sync_whose_worker_stopped_is_failed(db):
    connection = ConnectionFactory(status=Connection.Status.METADATA_SYNC, sync_metadata=True)
    sync = ConnectionMetadataSync.objects.create(
        connection=connection,
        trigger="accept",
        status=ConnectionMetadataSync.Status.RUNNING,
        started_at=ago(quiet()),
    )
    assert services.lost_work_requeue() == 1
    sync.refresh_from_db()
    assert sync.status == ConnectionMetadataSync.Status.FAILED and sync.error == LOST
    assert sync.error.startswith("The worker running it stopped") and "run it again" in sync.error
    assert connection.events.filter(
        kind=ConnectionEvent.Kind.METADATA_SYNC, detail=f"Metadata sync (connection accepted) failed: {LOST}"
    ).exists()
    connection.refresh_from_db()
    assert connection.status == Connection.Status.METADATA_SYNC  # until an admin runs it again
    assert tasks.connection_metadata_sync(connection.pk, "accept") is None  # a redelivery: nothing
    sync.refresh_from_db()
    assert sync.status == ConnectionMetadataSync.Status.FAILED
    assert services.lost_work_requeue() == 0

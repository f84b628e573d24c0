"""Sync Metadata of replication connections (Organization Sync's metadata sync).

A run deploys primary → secondary the custom objects and custom fields of the connection's
published objects — inserts and updates only, never deletes — through metadiff's own machinery
(a run of the differences of just those objects, then a deployment of what is only in the
primary or different), then computes the metadata gaps left (metadiff.gaps) and keeps them, with
the outcome, on the connection's ConnectionMetadataSync row and in its history.

It runs when a connection with *Sync Metadata* is accepted (status Metadata Sync in Progress:
on success the connection moves on to User Sync or Active; on failure it stays, with the error,
until an admin runs it again), every day for Active connections with *Sync Metadata* on, and
when an admin runs it.
"""

import logging
from datetime import datetime

from django.db.models import F, TextField, Value
from django.db.models.functions import Concat
from django.utils import timezone
from django_q.tasks import async_task

from connections.client import SalesforceClient
from connections.errors import ConnectionsError, IllegalTransition
from connections.metadata_api import MetadataType, Waiter
from connections.models import Connection, ConnectionEvent
from connections.services import connection_advance_setup
from metadiff import services
from metadiff.compare import Component, ComponentDiff, Key, State, compare
from metadiff.errors import MetadiffError
from metadiff.gaps import connection_metadata_gaps, target_object
from metadiff.models import ConnectionMetadataSync, Deployment, DiffRun, OrgDifference
from metadiff.retrieve import parse_zip
from replication.models import Direction, PublishedObject

logger = logging.getLogger(__name__)

TASK = "metadiff.tasks.connection_metadata_sync"
LOST = (
    "The worker running it stopped before it finished; run it again (Run metadata sync now). It "
    "compares the orgs again first and deploys only what still differs."
)
SYNCED_TYPES = ("CustomObject", "CustomField")
Status = Connection.Status
Trigger = ConnectionMetadataSync.Trigger


class MetadataDeployFailed(MetadiffError):
    """The secondary org refused the deployment of the published objects' metadata."""


def connection_metadata_sync_start(*, connection: Connection, trigger: str = Trigger.MANUAL) -> None:
    """Queue a metadata sync of the connection (runs inline when django-q2 is in sync mode)."""
    ConnectionMetadataSync.objects.update_or_create(
        connection=connection,
        defaults={
            "status": ConnectionMetadataSync.Status.QUEUED,
            "trigger": trigger,
            "queued_at": timezone.now(),
        },
    )
    async_task(TASK, connection.pk, str(trigger), task_name=f"metadata-sync-{connection.pk}")


def connections_daily_metadata_sync() -> int:
    """Queue the daily metadata sync of every Active connection with Sync Metadata on."""
    connections = Connection.objects.filter(status=Status.ACTIVE, sync_metadata=True)
    for connection in connections:
        connection_metadata_sync_start(connection=connection, trigger=Trigger.DAILY)
    return len(connections)


def _should_run(connection: Connection | None, trigger: str) -> bool:
    if connection is None:
        return False
    if trigger == Trigger.ACCEPT:  # the setup step, once: a task run twice finds it done
        return connection.status == Status.METADATA_SYNC
    if trigger == Trigger.DAILY:
        return connection.status == Status.ACTIVE and connection.sync_metadata
    return connection.status not in (Status.INVITED, Status.DEACTIVATED)


def connection_metadata_sync_execute(
    *, connection_id: int, trigger: str, wait: Waiter | None = None
) -> ConnectionMetadataSync | None:
    """Deploy, compute the gaps, record the outcome; a successful run of a connection in Metadata
    Sync in Progress moves it on. None when there was nothing to run (see `_should_run`; a queued
    sync of this trigger is then closed, not left queued) or when the sync is already running or
    finished: safe to run twice (see `_claim`)."""
    connection = (
        Connection.objects.select_related("primary_org", "secondary_org").filter(pk=connection_id).first()
    )
    if connection is None:
        return None
    if not _should_run(connection, trigger):
        _not_run(connection, trigger)
        return None
    sync = _claim(connection, trigger)
    if sync is None:
        return None
    _line(sync, f"Metadata sync ({sync.get_trigger_display().lower()}) of {connection}")
    error = ""
    try:
        _deploy_published_objects(connection, sync, wait)
    except (ConnectionsError, MetadiffError) as exc:
        error = f"Metadata deploy failed: {exc}"
    except Exception as exc:
        _finish(connection, sync, f"Unexpected error: {exc.__class__.__name__}: {exc}")
        raise
    try:
        gaps = connection_metadata_gaps(connection)
    except ConnectionsError as exc:
        error = error or f"Could not compare the published fields: {exc}"
    else:
        sync.gaps = [gap.as_dict() for gap in gaps]
        _line(sync, f"{len(gaps)} metadata gap(s) would break record sync")
        for gap in gaps:
            _line(sync, gap.text())
    _finish(connection, sync, error)
    if not error and connection.status == Status.METADATA_SYNC:
        try:
            connection_advance_setup(connection=connection)
        except IllegalTransition:
            logger.info("connection %s moved on during its metadata sync", connection.pk)
    return sync


def _claim(connection: Connection, trigger: str) -> ConnectionMetadataSync | None:
    """Take up the queued sync in one statement, or start one nobody queued (the accept task:
    `connections` queues it without a row). None when it is already running or finished: the
    same task run twice (a redelivery, or a lost task queued again that was only slow)."""
    running = {
        "status": ConnectionMetadataSync.Status.RUNNING,
        "trigger": trigger,
        "started_at": timezone.now(),
        "finished_at": None,
        "error": "",
        "log": "",
        "deployed": [],
        "last_run": None,
        "last_deployment": None,
    }
    queued = ConnectionMetadataSync.objects.filter(
        connection=connection, status=ConnectionMetadataSync.Status.QUEUED
    )
    if not queued.update(**running):
        _, created = ConnectionMetadataSync.objects.get_or_create(connection=connection, defaults=running)
        if not created:
            return None
    return ConnectionMetadataSync.objects.get(connection=connection)


def _not_run(connection: Connection, trigger: str) -> None:
    """A queued sync that has nothing to run ends Failed, saying why, instead of waiting for ever."""
    ConnectionMetadataSync.objects.filter(
        connection=connection, status=ConnectionMetadataSync.Status.QUEUED, trigger=trigger
    ).update(
        status=ConnectionMetadataSync.Status.FAILED,
        error=f"Not run: the connection is {connection.get_status_display()}"
        + ("" if connection.sync_metadata else " and does not sync metadata")
        + ".",
        finished_at=timezone.now(),
    )


def _line(sync: ConnectionMetadataSync, message: str) -> None:
    logger.info("metadata sync of connection %s: %s", sync.connection_id, message)
    sync.log += f"{timezone.now():%Y-%m-%d %H:%M:%S} {message}\n"


def _finish(connection: Connection, sync: ConnectionMetadataSync, error: str) -> None:
    if error:
        _line(sync, f"Failed: {error}")
    sync.status = ConnectionMetadataSync.Status.FAILED if error else ConnectionMetadataSync.Status.SUCCEEDED
    sync.error, sync.finished_at = error, timezone.now()
    sync.save()
    how = sync.get_trigger_display().lower()
    detail = (
        f"Metadata sync ({how}) failed: {error}"
        if error
        else f"Metadata sync ({how}): {len(sync.deployed)} component(s) deployed to "
        f"{connection.secondary_org}, {len(sync.gaps)} metadata gap(s) left"
    )
    ConnectionEvent.objects.create(
        connection=connection, kind=ConnectionEvent.Kind.METADATA_SYNC, detail=detail[:500]
    )


# --- the deployment --------------------------------------------------------------------------


def _deploy_published_objects(
    connection: Connection, sync: ConnectionMetadataSync, wait: Waiter | None
) -> None:
    names = _synced_objects(connection, sync)
    if not names:
        _line(sync, "No published objects: nothing to deploy")
        return
    _line(
        sync,
        f"Comparing {', '.join(sorted(names))} in {connection.primary_org} and {connection.secondary_org}",
    )
    source, types, problems = _object_components(SalesforceClient(connection.primary_org), names, wait)
    destination, _, more = _object_components(SalesforceClient(connection.secondary_org), names, wait)
    diffs = compare(source, destination, exclude_managed=True)
    sync.last_run = services.diff_run_record(
        difference=_difference(connection, sync),
        diffs=diffs,
        source_types=types,
        trigger=DiffRun.Trigger.CONNECTION,
        log=problems + more,
    )
    additions = [(d.type, d.full_name) for d in diffs if _deployable(d)]
    if not additions:
        _line(sync, "The secondary org already has the published objects' metadata: nothing to deploy")
        return
    _line(sync, f"Deploying {len(additions)} component(s) to {connection.secondary_org}")
    deployment = services.deployment_run(run=sync.last_run, additions=additions, wait=wait)
    sync.last_deployment = deployment
    if deployment.status != Deployment.Status.SUCCEEDED:
        problems = [f"{e['type']} {e['name']}: {e['problem']}" for e in deployment.component_errors]
        raise MetadataDeployFailed("; ".join(problems) or deployment.error or deployment.get_status_display())
    sync.deployed = [list(a) for a in additions]
    _line(sync, "Deployed " + ", ".join(f"{t} {n}" for t, n in additions))


def _synced_objects(connection: Connection, sync: ConnectionMetadataSync) -> set[str]:
    """Names of the published objects (either direction) that have the same name in both orgs;
    an object synced into an object of another name is left alone (and said so)."""
    names: set[str] = set()
    for publication in PublishedObject.objects.filter(connection=connection, is_published=True):
        pair = (publication.source_object, target_object(publication))
        primary, secondary = pair if publication.direction == Direction.PRIMARY_TO_SECONDARY else pair[::-1]
        if primary.lower() == secondary.lower():
            names.add(primary)
        else:
            _line(sync, f"{primary} is synced with {secondary}: objects of different names are not deployed")
    return names


def _object_components(
    client: SalesforceClient, names: set[str], wait: Waiter | None
) -> tuple[dict[Key, Component], dict[str, MetadataType], list[str]]:
    """The objects and their fields as retrieved from one org (an object the org lacks is absent)."""
    types = {t.name: t for t in client.md_describe() if not t.in_folder}
    listed = {(x.type, x.full_name.lower()): x for x in client.md_list(list(SYNCED_TYPES))}
    result = client.md_retrieve({"CustomObject": sorted(names)}, wait=wait)
    components = {c.key: c for c in parse_zip(result.zip_bytes, types, listed) if c.type in SYNCED_TYPES}
    return components, types, [f"{client.org.label}: {name}: {problem}" for name, problem in result.messages]


def _deployable(diff: ComponentDiff) -> bool:
    """Inserts and updates of custom objects and custom fields; never deletes, never managed."""
    if diff.state not in (State.ONLY_SOURCE, State.DIFFERENT) or diff.managed:
        return False
    return diff.type == "CustomField" or diff.full_name.lower().endswith("__c")


def _difference(connection: Connection, sync: ConnectionMetadataSync) -> OrgDifference:
    """The org difference the connection's runs are filed under in the history."""
    if sync.difference is None:
        sync.difference, _ = OrgDifference.objects.get_or_create(
            name=f"Connection {connection.pk} metadata sync",
            defaults={
                "source_org": connection.primary_org,
                "destination_org": connection.secondary_org,
                "exclude_managed": True,
                "member_differences": True,
            },
        )
    return sync.difference


# --- lost work (services.lost_work_requeue) ---------------------------------------------------


def connection_metadata_sync_requeue(*, sync_id: int, queued_before: datetime, now: datetime) -> bool:
    """Queue a sync again whose task nobody took up since `queued_before`; False when someone
    (another cluster's watchdog, the task itself) got there first."""
    requeued = ConnectionMetadataSync.objects.filter(
        pk=sync_id, status=ConnectionMetadataSync.Status.QUEUED, queued_at__lt=queued_before
    ).update(queued_at=now)
    sync = ConnectionMetadataSync.objects.filter(pk=sync_id).first() if requeued else None
    if sync is None:
        return False
    logger.warning(
        "metadata sync %s of connection %s was queued and no worker took it up: queued again",
        sync.pk,
        sync.connection_id,
    )
    async_task(TASK, sync.connection_id, str(sync.trigger), task_name=f"metadata-sync-{sync.connection_id}")
    return True


def connection_metadata_sync_queue_lost_accept(*, connection_id: int, now: datetime) -> bool:
    """Queue the metadata sync of an accepted connection whose accept task was lost (it is in
    Metadata Sync in Progress with no sync row); False when a row appeared meanwhile."""
    _, created = ConnectionMetadataSync.objects.get_or_create(
        connection_id=connection_id,
        defaults={
            "status": ConnectionMetadataSync.Status.QUEUED,
            "trigger": Trigger.ACCEPT,
            "queued_at": now,
        },
    )
    if not created:
        return False
    logger.warning(
        "connection %s was accepted and its metadata sync never started: queued again", connection_id
    )
    async_task(TASK, connection_id, str(Trigger.ACCEPT), task_name=f"metadata-sync-{connection_id}")
    return True


def connection_metadata_sync_fail_lost(*, sync_id: int, quiet_since: datetime, now: datetime) -> bool:
    """Fail a sync that started before `quiet_since` and is still running: its worker is gone.

    It ends Failed like a failed sync (error, connection history), and is not run again by itself:
    one that outlived the task timeout would outlive it again. The connection stays where it was
    (Metadata Sync in Progress after an accept) until an admin runs it again; that run compares
    first, so what the lost run deployed is not deployed twice. A deployment it had under way is
    failed on its own (see services.lost_work_requeue)."""
    failed = ConnectionMetadataSync.objects.filter(
        pk=sync_id, status=ConnectionMetadataSync.Status.RUNNING, started_at__lt=quiet_since
    ).update(
        status=ConnectionMetadataSync.Status.FAILED,
        error=LOST,
        finished_at=now,
        log=Concat(F("log"), Value(f"{now:%Y-%m-%d %H:%M:%S} Failed: {LOST}\n"), output_field=TextField()),
    )
    sync = ConnectionMetadataSync.objects.select_related("connection").filter(pk=sync_id).first()
    if not failed or sync is None:
        return False
    logger.warning(
        "metadata sync %s of connection %s was running and its worker stopped: failed",
        sync.pk,
        sync.connection_id,
    )
    detail = f"Metadata sync ({sync.get_trigger_display().lower()}) failed: {LOST}"
    ConnectionEvent.objects.create(
        connection=sync.connection, kind=ConnectionEvent.Kind.METADATA_SYNC, detail=detail[:500]
    )
    return True

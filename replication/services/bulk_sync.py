"""Starting, cancelling and resuming bulk syncs (the admin, the command and the engine tick
call these; the work itself is `replication.bulksync.runner`)."""

from datetime import datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from connections.models import Connection
from replication.bulksync.scope import BulkSyncError, resolve_scope
from replication.models import BulkSync, BulkSyncObject, Direction

STARTUP_GRACE = timedelta(minutes=2)


def bulk_sync_start(
    *,
    connection: Connection,
    actor: AbstractBaseUser | None,
    direction: str = Direction.PRIMARY_TO_SECONDARY,
    objects: list[str] | None = None,
    since: datetime | None = None,
    limit: int | None = None,
    dry_run: bool = False,
    run_in_worker: bool = True,
) -> BulkSync:
    """Check the request and record the bulk sync with one row per object (apply order). With
    `run_in_worker` a django-q2 task runs it once the transaction commits."""
    scope = resolve_scope(connection, direction=direction, objects=objects, since=since, limit=limit)
    try:
        with transaction.atomic():
            bulk = BulkSync.objects.create(
                connection=connection,
                direction=direction,
                since=scope.since,
                limit=scope.limit,
                dry_run=dry_run,
                requested_by=actor if actor and actor.is_authenticated else None,
            )
            BulkSyncObject.objects.bulk_create(
                BulkSyncObject(
                    bulk_sync=bulk,
                    position=n,
                    source_object=p.source_object,
                    target_object=p.subscription.target_object,
                )
                for n, p in enumerate(scope.publications)
            )
    except IntegrityError:
        raise BulkSyncError(
            ["Another bulk sync of this connection just started: wait for it or cancel it."]
        ) from None
    if run_in_worker:
        transaction.on_commit(lambda: queue_bulk_sync(bulk.pk))
    return bulk


def queue_bulk_sync(bulk_sync_id: int) -> None:
    from django_q.tasks import async_task

    async_task("replication.tasks.run_bulk_sync", bulk_sync_id, task_name=f"bulk sync {bulk_sync_id}")


def bulk_sync_cancel(*, bulk_sync: BulkSync, actor: AbstractBaseUser | None) -> BulkSync:
    """A running sync stops after its current chunk (its ingest jobs in flight are aborted); one
    that is waiting is cancelled at once."""
    if not bulk_sync.is_active:
        raise BulkSyncError([f"{bulk_sync} is not running: there is nothing to cancel."])
    idle = Q(lease_until__isnull=True) | Q(lease_until__lt=timezone.now())
    stopped = BulkSync.objects.filter(idle, pk=bulk_sync.pk, status__in=BulkSync.ACTIVE).update(
        status=BulkSync.Status.CANCELLED, cancel_requested=True, finished_at=timezone.now()
    )
    if stopped:
        bulk_sync.sync_objects.exclude(status__in=["done", "failed"]).update(
            status=BulkSyncObject.Status.CANCELLED
        )
    else:
        BulkSync.objects.filter(pk=bulk_sync.pk).update(cancel_requested=True)
    bulk_sync.refresh_from_db()
    return bulk_sync


def bulk_syncs_resume_stalled() -> list[int]:
    """Queue every unfinished bulk sync no worker holds: interrupted ones and those whose
    worker died (its lease lapsed). Called by the engine tick, every minute."""
    now = timezone.now()
    idle = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    # A queued one whose task vanished (a broker restart, a killed worker) is picked up too.
    waiting = Q(status__in=[BulkSync.Status.RUNNING, BulkSync.Status.INTERRUPTED]) | Q(
        status=BulkSync.Status.QUEUED, created_at__lt=now - STARTUP_GRACE
    )
    stalled = list(
        BulkSync.objects.filter(idle, waiting, cancel_requested=False).values_list("pk", flat=True)
    )
    for pk in stalled:
        queue_bulk_sync(pk)
    return stalled

"""Starting reconciles, and the schedule (the admin, the command and the engine tick call these;
the work itself is `replication.reconcile`)."""

from datetime import UTC, datetime, timedelta

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from connections.models import Connection
from replication.errors import ProblemsError
from replication.models import Direction, PublishedObject, ReconcileRun, ReconcileSchedule

STARTUP_GRACE = timedelta(minutes=2)


class ReconcileError(ProblemsError):
    """A reconcile that can't start; `messages` has one line per problem, naming the fix."""


def reconcile_start(
    *,
    connection: Connection,
    actor: AbstractBaseUser | None = None,
    direction: str = "",
    source_object: str = "",
    repair: bool = False,
    dry_run: bool = False,
    delete_extra: bool = False,
    scheduled: bool = False,
    run_in_worker: bool = True,
) -> ReconcileRun:
    """Check the request and record the run; with `run_in_worker` a django-q2 task runs it once
    the transaction commits. Raises ReconcileError with every problem at once."""
    problems = _problems(connection, direction, source_object, repair, dry_run, delete_extra)
    if problems:
        raise ReconcileError(problems)
    try:
        with transaction.atomic():
            run = ReconcileRun.objects.create(
                connection=connection,
                direction=direction,
                source_object=_spelled(connection, source_object),
                repair=repair or dry_run,
                dry_run=dry_run,
                delete_extra=delete_extra,
                scheduled=scheduled,
                requested_by=actor if actor is not None and actor.is_authenticated else None,
            )
    except IntegrityError:
        raise ReconcileError(["A reconcile of this connection is running: wait for it to finish."]) from None
    if run_in_worker:
        transaction.on_commit(lambda: queue_reconcile(run.pk))
    return run


def _problems(
    connection: Connection,
    direction: str,
    source_object: str,
    repair: bool,
    dry_run: bool,
    delete_extra: bool,
) -> list[str]:
    problems: list[str] = []
    if connection.status != Connection.Status.ACTIVE:
        problems.append(
            f"Connection “{connection}” is {connection.get_status_display()}: reconcile needs an Active "
            "connection (finish its setup or resume it first)."
        )
    if direction and direction not in Direction.values:
        problems.append(f"Direction “{direction}” is unknown: use p2s, s2p, or leave it blank for both.")
    elif direction == Direction.SECONDARY_TO_PRIMARY and not connection.is_two_way:
        problems.append("Direction secondary → primary needs a two-way connection.")
    published = _published(connection, direction)
    if not published:
        problems.append("Nothing is published and subscribed: publish and subscribe objects first.")
    elif source_object and source_object.lower() not in {p.lower() for p in published}:
        problems.append(
            f"Object “{source_object}” is not published and subscribed"
            f"{' in this direction' if direction else ''}: choose one of {', '.join(sorted(set(published)))}."
        )
    if delete_extra and not (repair or dry_run):
        problems.append(
            "Deleting duplicates and orphans is part of repair: ask for repair (or a dry run) too."
        )
    if ReconcileRun.objects.filter(connection=connection, status__in=ReconcileRun.ACTIVE).exists():
        problems.append("A reconcile of this connection is running: wait for it to finish.")
    return problems


def _published(connection: Connection, direction: str) -> list[str]:
    query = PublishedObject.objects.filter(
        connection=connection, is_published=True, subscription__isnull=False
    )
    if direction:
        query = query.filter(direction=direction)
    return list(query.values_list("source_object", flat=True))


def _spelled(connection: Connection, source_object: str) -> str:
    """The object's API name as published (the command takes any case)."""
    for name in _published(connection, ""):
        if name.lower() == source_object.lower():
            return name
    return source_object


def queue_reconcile(run_id: int) -> None:
    from django_q.tasks import async_task

    async_task("replication.tasks.run_reconcile", run_id, task_name=f"reconcile {run_id}")


def reconciles_resume_stalled() -> list[int]:
    """Queue reconciles no worker runs: queued ones whose task vanished, and running ones whose
    worker died (their lease lapsed). Called by the engine tick."""
    now = timezone.now()
    idle = Q(lease_until__isnull=True) | Q(lease_until__lt=now)
    stalled = Q(status=ReconcileRun.Status.RUNNING) | Q(
        status=ReconcileRun.Status.QUEUED, created_at__lt=now - STARTUP_GRACE
    )
    ids = list(ReconcileRun.objects.filter(idle, stalled).values_list("pk", flat=True))
    for pk in ids:
        queue_reconcile(pk)
    return ids


def next_scheduled(schedule: ReconcileSchedule, after: datetime) -> datetime:
    """The first slot after `after`: `schedule.hour` o'clock (UTC) of that day, then every
    `every_hours` hours."""
    anchor = after.astimezone(UTC).replace(hour=schedule.hour % 24, minute=0, second=0, microsecond=0)
    step = timedelta(hours=max(schedule.every_hours, 1))
    return anchor + (((after - anchor) // step) + 1) * step


def reconciles_start_due(now: datetime | None = None) -> list[int]:
    """Start the scheduled reconciles that are due (one per connection; a connection whose last
    run is still going waits for the next slot). Called by the engine tick."""
    now = now or timezone.now()
    started = []
    schedules = ReconcileSchedule.objects.filter(enabled=True).select_related("connection")
    for schedule in schedules.filter(Q(next_run_at__isnull=True) | Q(next_run_at__lte=now)):
        due = schedule.next_run_at is not None
        schedule.next_run_at = next_scheduled(schedule, now)
        schedule.save(update_fields=["next_run_at"])
        if not due:
            continue  # just enabled: the first run comes at the scheduled hour
        try:
            run = reconcile_start(connection=schedule.connection, repair=schedule.repair, scheduled=True)
        except ReconcileError:
            continue
        started.append(run.pk)
    return started

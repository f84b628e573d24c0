"""What a bulk sync may copy: Org Sync's rules for the cutoff date and the number of entities."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils import timezone

from connections.models import Connection
from replication.errors import ProblemsError
from replication.models import BulkSync, Direction, PublishedObject

MAX_LOOKBACK = timedelta(days=365)


class BulkSyncError(ProblemsError):
    """A bulk sync that can't start; `messages` has one line per problem, naming the fix."""


@dataclass(frozen=True)
class Scope:
    publications: list[PublishedObject]  # apply order: parents first
    since: datetime | None
    limit: int | None


def earliest_cutoff(now: datetime | None = None) -> datetime:
    return (now or timezone.now()) - MAX_LOOKBACK


def default_cutoff(now: datetime | None = None) -> datetime:
    """One year ago, at the start of that day (the form's default)."""
    moment = earliest_cutoff(now) + timedelta(days=1)
    return moment.replace(hour=0, minute=0, second=0, microsecond=0)


def resolve_scope(
    connection: Connection,
    *,
    direction: str = Direction.PRIMARY_TO_SECONDARY,
    objects: list[str] | None = None,
    since: datetime | None = None,
    limit: int | None = None,
) -> Scope:
    """Check the request; raise BulkSyncError with every problem at once."""
    problems: list[str] = []
    if connection.status != Connection.Status.ACTIVE:
        problems.append(
            f"Connection “{connection}” is {connection.get_status_display()}: bulk sync needs an Active "
            "connection (finish its setup or resume it first)."
        )
    if direction == Direction.SECONDARY_TO_PRIMARY and not connection.is_two_way:
        problems.append("Direction secondary → primary needs a two-way connection.")
    active = connection.bulk_syncs.filter(status__in=BulkSync.ACTIVE).first()
    if active is not None:
        problems.append(
            f"Bulk sync #{active.pk} of this connection is not finished: wait for it or cancel it."
        )
    if since is not None and limit is not None:
        problems.append("Give a cutoff date or a number of entities, not both.")
    if since is not None:
        problems += _cutoff_problems(since)
    if limit is not None and limit < 1:
        problems.append("Number of entities must be at least 1.")
    publications, object_problems = _chosen(connection, direction, objects)
    problems += object_problems
    if problems:
        raise BulkSyncError(problems)
    if since is None and limit is None:
        since = default_cutoff()
    return Scope(publications, since, limit)


def _cutoff_problems(since: datetime) -> list[str]:
    now = timezone.now()
    if since > now:
        return ["Cutoff date is in the future: choose a date within the past year."]
    if since < earliest_cutoff(now) - timedelta(days=1):
        return [
            f"Cutoff date {since:%Y-%m-%d} is more than a year ago: as in Organization Sync, a bulk sync "
            f"copies records created or modified within the past year (on or after "
            f"{default_cutoff(now):%Y-%m-%d})."
        ]
    return []


def _chosen(
    connection: Connection, direction: str, objects: list[str] | None
) -> tuple[list[PublishedObject], list[str]]:
    published = list(
        PublishedObject.objects.filter(
            connection=connection, direction=direction, is_published=True, subscription__isnull=False
        )
        .select_related("subscription")
        .order_by("sort_order", "source_object")
    )
    if not published:
        return [], [
            "Nothing is published and subscribed in this direction: publish and subscribe objects first."
        ]
    problems = [
        f"{p.source_object}: {p.subscription.target_object} has no OrgSync_Source_Id__c field yet; "
        "run Analyze on the subscription (it creates the field) before a bulk sync."
        for p in published
        if not p.subscription.external_id_ready
        and (not objects or p.source_object.lower() in _lower(objects))
    ]
    if not objects:
        return published, problems
    by_name = {p.source_object.lower(): p for p in published}
    unknown = [name for name in objects if name.lower() not in by_name]
    if unknown:
        names = ", ".join(p.source_object for p in published)
        problems.append(
            f"Not published and subscribed in this direction: {', '.join(unknown)} (choose from {names})."
        )
    wanted = _lower(objects)
    return [p for p in published if p.source_object.lower() in wanted], problems


def _lower(names: list[str]) -> set[str]:
    return {n.lower() for n in names}

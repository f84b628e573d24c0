"""django-q2 doors into metadiff. Tasks get ids, never instances; each is safe to run twice."""

from metadiff import connection_sync, services
from metadiff.models import DiffRun, OrgDifference


def get_differences(run_id: int) -> str:
    """Get Differences for one queued run."""
    return services.diff_run_execute(run_id=run_id).status


def deploy(deployment_id: int) -> str:
    """Deploy (or validate) one queued synchronization."""
    return services.deployment_execute(deployment_id=deployment_id).status


def scheduled_get_differences(difference_id: int) -> int | None:
    """What a `Schedule` calls: a new run of the org difference (None when it was deleted)."""
    difference = OrgDifference.objects.filter(pk=difference_id).first()
    if difference is None:
        return None
    return services.diff_run_start(difference=difference, trigger=DiffRun.Trigger.SCHEDULE).pk


def connection_metadata_sync(connection_id: int, trigger: str) -> str | None:
    """A connection's metadata sync (queued on accept, daily, or by an admin): its status, or None
    when there was nothing to run."""
    sync = connection_sync.connection_metadata_sync_execute(connection_id=connection_id, trigger=trigger)
    return sync.status if sync else None


def daily_connection_metadata_sync() -> int:
    """What the daily `Schedule` calls: queue the metadata sync of every Active connection with
    Sync Metadata on; returns how many."""
    return connection_sync.connections_daily_metadata_sync()

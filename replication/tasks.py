"""django-q2 doors into the engine. Tasks get ids, never instances; each is safe to run twice."""

from replication.engine.context import EngineContext
from replication.engine.cycle import default_worker, sync_once
from replication.engine.scheduler import run_for

TICK_SECONDS = 50


def engine_tick(seconds: float = TICK_SECONDS) -> int:
    """Scheduled every minute: run due sync cycles for most of that minute (the lease keeps two
    ticks — or two clusters — off the same connection). Returns the number of cycles run."""
    from replication.services.bulk_sync import bulk_syncs_resume_stalled

    bulk_syncs_resume_stalled()
    return run_for(seconds, EngineContext(worker=default_worker()))


def run_bulk_sync(bulk_sync_id: int) -> dict:
    """Run or resume one bulk sync (a second task for the same run finds it leased and returns)."""
    from replication.bulksync.runner import BulkSyncRunner
    from replication.models import BulkSync

    bulk = BulkSyncRunner(BulkSync.objects.get(pk=bulk_sync_id)).run()
    return {"status": bulk.status}


def sync_connection(connection_id: int) -> dict:
    """One cycle of one connection, now (the admin's "Sync now")."""
    from connections.models import Connection

    report = sync_once(Connection.objects.get(pk=connection_id))
    return {"captured": report.captured, "applied": report.applied, "api_calls": report.api_calls}

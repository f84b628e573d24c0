"""django-q2 doors into the engine. Tasks get ids, never instances; each is safe to run twice."""

from django_q.conf import Conf

from connections.models import Connection
from replication.bulksync.runner import BulkSyncRunner
from replication.engine.context import EngineContext
from replication.engine.cycle import default_worker, sync_once
from replication.engine.scheduler import run_for
from replication.models import BulkSync, ReconcileRun
from replication.reconcile.runner import ReconcileRunner
from replication.services.bulk_sync import bulk_syncs_resume_stalled
from replication.services.reconcile import reconciles_resume_stalled, reconciles_start_due

TICK_SECONDS = 50


def tick_seconds() -> float:
    """Most of a minute, and never more than half the task timeout (django-q2 kills a task that
    outlives it)."""
    return min(TICK_SECONDS, Conf.TIMEOUT / 2)


def engine_tick(seconds: float | None = None) -> int:
    """Queued by every worker cluster's watchdog whenever it runs none (`orgsync.work`): run
    due sync cycles for `tick_seconds()` (the lease keeps two ticks — or two clusters — off the
    same connection), resume bulk syncs and reconciles nobody runs, and start the scheduled
    reconciles that are due. Returns the number of cycles run."""
    bulk_syncs_resume_stalled()
    reconciles_resume_stalled()
    reconciles_start_due()
    return run_for(seconds if seconds is not None else tick_seconds(), EngineContext(worker=default_worker()))


def run_bulk_sync(bulk_sync_id: int) -> dict:
    """Run or resume one bulk sync (a second task for the same run finds it leased and returns)."""
    bulk = BulkSyncRunner(BulkSync.objects.get(pk=bulk_sync_id)).run()
    return {"status": bulk.status}


def sync_connection(connection_id: int) -> dict:
    """One cycle of one connection, now (the admin's "Sync now")."""
    report = sync_once(Connection.objects.get(pk=connection_id))
    return {"captured": report.captured, "applied": report.applied, "api_calls": report.api_calls}


def run_reconcile(run_id: int) -> dict:
    """Run one reconcile (a second task for the same run finds it leased and returns)."""
    run = ReconcileRunner(ReconcileRun.objects.get(pk=run_id)).run()
    return {"status": run.status, "differences": run.differences}

"""Every run leaves a SyncRun row that is finalized whatever happens (MetaDeploy's pattern)."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db.models import F
from django.utils import timezone

from connections.models import Connection
from synclog.models import SyncRun

Outcome = SyncRun.Outcome


class RunCounter:
    """Counts of one run, written to its SyncRun row when the run ends."""

    def __init__(self, run: SyncRun) -> None:
        self.run = run
        self.processed = self.succeeded = self.failed = self.filtered_out = self.skipped = 0
        self.api_calls = self.files = self.file_bytes = 0

    def flush(self, *, outcome: str, error: str = "") -> None:
        SyncRun.objects.filter(pk=self.run.pk).update(
            processed=F("processed") + self.processed,
            succeeded=F("succeeded") + self.succeeded,
            failed=F("failed") + self.failed,
            filtered_out=F("filtered_out") + self.filtered_out,
            skipped=F("skipped") + self.skipped,
            api_calls=F("api_calls") + self.api_calls,
            files=F("files") + self.files,
            file_bytes=F("file_bytes") + self.file_bytes,
            outcome=outcome,
            error=error[:1000],
            finished_at=timezone.now(),
        )


@contextmanager
def recorded_run(connection: Connection, kind: str, direction: str = "") -> Iterator[RunCounter]:
    """Open a SyncRun; close it as finished, failed (an exception) or interrupted (shutdown)."""
    counter = RunCounter(SyncRun.objects.create(connection=connection, kind=kind, direction=direction))
    try:
        yield counter
    except (KeyboardInterrupt, SystemExit):
        counter.flush(outcome=Outcome.INTERRUPTED, error="stopped by a shutdown signal")
        raise
    except Exception as exc:
        counter.flush(outcome=Outcome.FAILED, error=f"{exc.__class__.__name__}: {exc}")
        raise
    else:
        counter.flush(outcome=Outcome.FINISHED)

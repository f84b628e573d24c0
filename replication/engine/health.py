"""The engine's side of liveness: each cycle that ends in an exception is counted on the
connection's schedule and kept as one Failed sync log entry (CYCLE_FAILED); the next cycle that
finishes resets the count and resolves the entry. Whether a connection is stalled is read by
`synclog/liveness.py` (what /healthz, the dashboard, /metrics and the alerts report).
"""

import logging
import traceback
from pathlib import Path

from django.db import DatabaseError

from connections.models import Connection
from replication.models import EngineSchedule
from synclog.liveness import CYCLE_FAILED, CYCLE_LOG
from synclog.redact import safe_message
from synclog.services import log_attempt_failed, log_resolved

logger = logging.getLogger(__name__)


def failure_summary(exc: BaseException) -> str:
    """The exception and where it was raised: file, line, function (never local values)."""
    frames = traceback.extract_tb(exc.__traceback__)
    where = f" at {Path(frames[-1].filename).name}:{frames[-1].lineno} in {frames[-1].name}" if frames else ""
    return f"{exc.__class__.__name__}{where}: {exc}"


def cycle_failed(connection: Connection, exc: BaseException) -> None:
    """A cycle ended in an exception: count it, and keep one open Failed entry in the sync log
    for the connection's failing cycles (never only a line in the worker log)."""
    summary = failure_summary(exc)
    try:
        EngineSchedule.objects.filter(connection=connection).update(last_error=summary[:500])
        schedule = EngineSchedule.objects.filter(connection=connection).first()
        failures = 0
        if schedule is not None:
            EngineSchedule.objects.filter(pk=schedule.pk).update(failed_cycles=schedule.failed_cycles + 1)
            failures = schedule.failed_cycles + 1
        direction, source_object, source_id = CYCLE_LOG
        log_attempt_failed(
            connection=connection,
            direction=direction,
            source_object=source_object,
            source_id=source_id,
            action="sync cycle",
            code=CYCLE_FAILED,
            message=summary,
            attempt=max(failures, 1),
            final=True,
        )
    except DatabaseError:  # the database itself is what failed: the worker log has it
        logger.warning("connection %s: cycle failure not recorded: %s", connection.pk, safe_message(summary))


def cycle_succeeded(connection: Connection) -> None:
    updated = EngineSchedule.objects.filter(connection=connection, failed_cycles__gt=0).update(
        failed_cycles=0, last_error=""
    )
    if updated:
        direction, _, source_id = CYCLE_LOG
        log_resolved(connection=connection, direction=direction, source_ids=[source_id])

"""Writing the sync log: one open entry per failing record, Retrying → Failed or Resolved."""

from django.db.models import F

from synclog.models import SyncLog, SyncRun
from synclog.redact import safe_message

Status = SyncLog.Status


def log_attempt_failed(
    *,
    connection,
    direction: str,
    source_object: str,
    source_id: str,
    action: str,
    target_id: str = "",
    code: str,
    message: str,
    fields: tuple[str, ...] = (),
    attempt: int,
    final: bool,
    run: SyncRun | None = None,
) -> SyncLog:
    """Update the record's open Retrying entry (or start one): Failed when `final`."""
    values = {
        "status": Status.FAILED if final else Status.RETRYING,
        "error_code": code[:80],
        "message": safe_message(message),
        "fields": ",".join(fields)[:500],
        "attempt": attempt,
        "action": action,
        "target_id": target_id,
        "run": run,
    }
    entry = SyncLog.objects.filter(
        connection=connection, direction=direction, source_id=source_id, status=Status.RETRYING
    ).first()
    if entry is None:
        return SyncLog.objects.create(
            connection=connection,
            direction=direction,
            source_object=source_object,
            source_id=source_id,
            **values,
        )
    for name, value in values.items():
        setattr(entry, name, value)
    entry.save()
    return entry


def log_resolved(*, connection, direction: str, source_ids: list[str]) -> int:
    """A record that was Retrying went through: its entry becomes Resolved."""
    if not source_ids:
        return 0
    return SyncLog.objects.filter(
        connection=connection, direction=direction, source_id__in=source_ids, status=Status.RETRYING
    ).update(status=Status.RESOLVED, attempt=F("attempt") + 1)

"""How far one object of a bulk sync has come: percent, rate and time left, and the files sent
(for the admin's progress page and its JSON endpoint)."""

from dataclasses import dataclass
from datetime import datetime, timedelta

from replication.models import BulkSyncObject


@dataclass(frozen=True)
class ObjectProgress:
    obj: BulkSyncObject
    percent: int
    rate: float | None  # records per second since the object started
    eta: str  # h:mm:ss left at the current rate, or empty


def object_progress(obj: BulkSyncObject, now: datetime) -> ObjectProgress:
    total = obj.total or 0
    done = obj.status == BulkSyncObject.Status.DONE
    percent = 100 if done else min(100, obj.processed * 100 // total) if total else 0
    rate, eta = None, ""
    if obj.started_at:
        seconds = ((obj.finished_at or now) - obj.started_at).total_seconds()
        rate = obj.processed / seconds if seconds > 0 else None
    if rate and obj.status == BulkSyncObject.Status.RUNNING and total > obj.processed:
        eta = str(timedelta(seconds=int((total - obj.processed) / rate)))
    return ObjectProgress(obj, percent, rate, eta)


@dataclass(frozen=True)
class FilesSent:
    count: int
    bytes: int


def files_sent(objects: list[BulkSyncObject]) -> FilesSent:
    """Files and attachments sent by the run's objects so far (Sync Feeds), and their bytes."""
    return FilesSent(sum(o.files for o in objects), sum(o.file_bytes for o in objects))

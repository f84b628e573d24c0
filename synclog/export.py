"""Streamed CSV of the sync log and of the record queue (whatever the changelist shows), and of
a reconcile run's sample of differences.

The rows are the changelist's own (`get_changelist_instance(request).queryset`: its filters,
search and order); a query parameter the changelist cannot use is a 400 naming it
(orgsync.request_guard), never a 500. Cells use the admin's words: the labels of directions,
actions and statuses ("Primary → secondary", "Generic Insert", "Failed"), not the stored codes.
"""

import csv
from collections.abc import Callable, Iterable, Iterator

from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django.utils import timezone

from replication.models import ReconcileDifference, ReconcileRun, RecordQueueItem
from synclog.labels import action_label, direction_label
from synclog.models import SyncLog

CHUNK = 2000
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


class _Echo:
    def write(self, value: str) -> str:
        return value


def _cell(value) -> str:
    text = "" if value is None else str(value)
    # A spreadsheet would run a cell that starts like a formula: quote it (CSV injection).
    return f"'{text}" if text.startswith(FORMULA_START) else text


def record_url(org, record_id: str) -> str:
    return f"{org.instance_url.rstrip('/')}/{record_id}" if org and org.instance_url and record_id else ""


def _log_row(entry: SyncLog) -> list:
    # SyncLog's direction and action are plain CharFields (no get_FOO_display()): the labels the
    # sync log admin shows, so the file says what its columns say.
    source_org, target_org = direction_orgs(entry.connection, entry.direction)
    return [
        entry.pk,
        entry.created_at.isoformat(),
        entry.updated_at.isoformat(),
        entry.connection.name,
        direction_label(entry.direction),
        entry.source_object,
        entry.source_id,
        record_url(source_org, entry.source_id),
        entry.target_id,
        record_url(target_org, entry.target_id),
        action_label(entry.action),
        entry.get_status_display(),
        entry.error_code,
        entry.message,
        entry.fields,
        entry.attempt,
        entry.run_id or "",
    ]


LOG_HEADER = [
    "id", "created", "updated", "connection", "direction", "object", "source id", "source url",
    "target id", "target url", "action", "status", "error code", "message", "fields", "attempt", "run",
]  # fmt: skip


def _queue_row(item: RecordQueueItem) -> list:
    source_org, _ = direction_orgs(item.connection, item.direction)
    return [
        item.pk,
        item.enqueued_at.isoformat(),
        item.connection.name,
        item.get_direction_display(),
        item.source_object,
        item.source_id,
        record_url(source_org, item.source_id),
        item.get_action_display(),
        item.get_status_display(),
        item.attempts,
        item.next_retry_at.isoformat() if item.next_retry_at else "",
        item.last_error_code,
    ]


QUEUE_HEADER = [
    "id", "enqueued", "connection", "direction", "object", "source id", "source url", "action",
    "status", "attempts", "next retry date", "last error code",
]  # fmt: skip


def _difference_row(run: ReconcileRun, difference: ReconcileDifference) -> list:
    """Ids, links and field names only: reconcile keeps no field values, and neither does this."""
    source_org, target_org = direction_orgs(run.connection, difference.direction)
    return [
        run.pk,
        run.connection.name,
        difference.get_direction_display(),
        difference.get_kind_display(),
        difference.source_object,
        difference.source_id,
        record_url(source_org, difference.source_id),
        difference.target_object,
        difference.target_id,
        record_url(target_org, difference.target_id),
        difference.fields,
        difference.changed_last,
        difference.detail,
        difference.repair,
    ]


DIFFERENCE_HEADER = [
    "run", "connection", "direction", "class", "source object", "source id", "source url",
    "target object", "target id", "target url", "fields", "changed last", "detail", "repair",
]  # fmt: skip


def direction_orgs(connection, direction: str):
    if direction == "s2p":
        return connection.secondary_org, connection.primary_org
    return connection.primary_org, connection.secondary_org


def _rows(header: list[str], queryset: QuerySet, row: Callable) -> Iterator[list]:
    yield header
    for obj in queryset.iterator(chunk_size=CHUNK):
        yield [_cell(v) for v in row(obj)]


def _stream(name: str, rows: Iterable[list]) -> StreamingHttpResponse:
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (writer.writerow(r) for r in rows), content_type="text/csv; charset=utf-8"
    )
    response["Content-Disposition"] = f'attachment; filename="{name}-{timezone.now():%Y%m%d-%H%M%S}.csv"'
    return response


def sync_log_csv(queryset: QuerySet[SyncLog]) -> StreamingHttpResponse:
    related = queryset.select_related("connection__primary_org", "connection__secondary_org")
    return _stream("sync-log", _rows(LOG_HEADER, related, _log_row))


def queue_csv(queryset: QuerySet[RecordQueueItem]) -> StreamingHttpResponse:
    related = queryset.select_related("connection__primary_org", "connection__secondary_org")
    return _stream("record-queue", _rows(QUEUE_HEADER, related, _queue_row))


def reconcile_csv(run: ReconcileRun) -> StreamingHttpResponse:
    """The run's sample of differences (the run page's table, every page of it)."""
    differences = run.found.order_by("id")
    return _stream(
        f"reconcile-{run.pk}", _rows(DIFFERENCE_HEADER, differences, lambda d: _difference_row(run, d))
    )

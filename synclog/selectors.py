"""The numbers of the dashboard and of /metrics, as plain Python over the database.

Definitions (docs/monitoring.md says the same):

- *queue depth*: pending RecordQueueItem rows, by action and status;
- *oldest item age*: now - the oldest pending item's enqueue time (a record changed again keeps
  its place: changes collapse into the pending item);
- *lag*: how long a change in a source org may have waited without reaching the target:
  the larger of the oldest item age and the time since the connection's last finished capture
  run (a change made just after that capture is not even queued yet). None before any capture;
- *throughput* and *failures*: the succeeded and failed counts of apply and bulk runs, per hour;
- *success rate*: succeeded / (succeeded + failed) over the window, as SwiftPort counts it: a
  retried record that then went through counts once, as a success. Its original run already
  says so (retry moves the count there), so the run that wrote it again is not counted twice;
- *files*: the file and attachment bodies Sync Feeds sent (feeds-and-files runs of the engine and
  bulk syncs) and their bytes, over the window (the runs started in it);
- *drift*: the differences the connection's latest *completed* reconcile found (a running or
  failed one does not count), by class summed over objects, and when it finished.
"""

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db.models import Count, Max, Min, Q, Sum
from django.db.models.functions import TruncHour
from django.utils import timezone

from connections.models import Connection, Org
from replication.models import QueueAction, QueueStatus, ReconcileRun, RecordQueueItem
from replication.reconcile_summary import latest_completed, totals_by_kind
from synclog.models import SyncLog, SyncRun

WINDOW = timedelta(hours=24)
WRITING_RUNS = (SyncRun.Kind.APPLY, SyncRun.Kind.BULK)


@dataclass(frozen=True)
class HourBucket:
    start: datetime
    succeeded: int = 0
    failed: int = 0


@dataclass(frozen=True)
class SuccessRate:
    succeeded: int
    failed: int

    @property
    def rate(self) -> float | None:
        """Between 0 and 1; None when nothing was written in the window."""
        total = self.succeeded + self.failed
        return self.succeeded / total if total else None


@dataclass(frozen=True)
class QueueCell:
    action: str
    action_label: str
    status: str
    status_label: str
    count: int


@dataclass(frozen=True)
class Drift:
    """What the connection's latest completed reconcile found."""

    run_id: int
    differences: int
    by_class: dict[str, int]
    finished_at: datetime | None

    @classmethod
    def of(cls, run: ReconcileRun) -> "Drift":
        return cls(run.pk, run.differences, totals_by_kind(run.counts), run.finished_at or run.created_at)


@dataclass(frozen=True)
class FilesSent:
    files: int = 0
    bytes: int = 0


@dataclass
class ConnectionStats:
    connection: Connection
    queue: list[QueueCell] = field(default_factory=list)
    oldest_item_age: float | None = None
    last_capture_at: datetime | None = None
    lag_seconds: float | None = None
    hours: list[HourBucket] = field(default_factory=list)
    success: SuccessRate = SuccessRate(0, 0)
    drift: Drift | None = None  # None: never reconciled to completion
    files: FilesSent = FilesSent()  # over the last 24 hours

    @property
    def queue_depth(self) -> int:
        return sum(cell.count for cell in self.queue)

    @property
    def succeeded_24h(self) -> int:
        return sum(b.succeeded for b in self.hours)

    @property
    def failed_24h(self) -> int:
        return sum(b.failed for b in self.hours)


@dataclass(frozen=True)
class OrgUsage:
    org: Org
    used: int | None
    limit: int | None
    measured_at: datetime | None

    @property
    def fraction(self) -> float | None:
        if self.used is None or not self.limit:
            return None
        return self.used / self.limit


def queue_depth(connection_ids: list[int]) -> dict[int, list[QueueCell]]:
    """Pending items per connection, by action and status (largest first)."""
    actions, statuses = dict(QueueAction.choices), dict(QueueStatus.choices)
    rows = (
        RecordQueueItem.objects.filter(connection_id__in=connection_ids)
        .values("connection_id", "action", "status")
        .annotate(count=Count("id"))
        .order_by("connection_id", "-count", "action", "status")
    )
    cells: dict[int, list[QueueCell]] = defaultdict(list)
    for row in rows:
        action, status = row["action"], row["status"]
        cells[row["connection_id"]].append(
            QueueCell(action, actions.get(action, action), status, statuses.get(status, status), row["count"])
        )
    return cells


def oldest_items(connection_ids: list[int]) -> dict[int, datetime]:
    rows = (
        RecordQueueItem.objects.filter(connection_id__in=connection_ids)
        .values("connection_id")
        .annotate(oldest=Min("enqueued_at"))
        .order_by()
    )
    return {row["connection_id"]: row["oldest"] for row in rows}


def last_captures(connection_ids: list[int]) -> dict[int, datetime]:
    rows = (
        SyncRun.objects.filter(
            connection_id__in=connection_ids, kind=SyncRun.Kind.CAPTURE, outcome=SyncRun.Outcome.FINISHED
        )
        .values("connection_id")
        .annotate(last=Max("finished_at"))
        .order_by()
    )
    return {row["connection_id"]: row["last"] for row in rows}


def lag_seconds(
    *, oldest_item: datetime | None, last_capture: datetime | None, now: datetime
) -> float | None:
    """The larger of the oldest item's age and the time since the last capture (module doc)."""
    if last_capture is None:
        return None
    ages = [(now - last_capture).total_seconds()]
    if oldest_item is not None:
        ages.append((now - oldest_item).total_seconds())
    return max(0.0, *ages)


def hour_start(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def hourly_counts(
    connection_ids: list[int], *, now: datetime, hours: int = 24
) -> dict[int, list[HourBucket]]:
    """Succeeded and failed records of writing runs per hour, the current hour last, by the
    hour each run started; every hour present, empty ones as zeros."""
    first = hour_start(now) - timedelta(hours=hours - 1)
    rows = (
        SyncRun.objects.filter(connection_id__in=connection_ids, kind__in=WRITING_RUNS, started_at__gte=first)
        .annotate(hour=TruncHour("started_at"))
        .values("connection_id", "hour")
        .annotate(succeeded=Sum("succeeded"), failed=Sum("failed"))
        .order_by()
    )
    found = {(row["connection_id"], row["hour"]): row for row in rows}
    result = {}
    for cid in connection_ids:
        buckets = []
        for n in range(hours):
            start = first + timedelta(hours=n)
            row = found.get((cid, start), {})
            buckets.append(HourBucket(start, row.get("succeeded") or 0, row.get("failed") or 0))
        result[cid] = buckets
    return result


def window_sums(connection_ids: list[int], *, since: datetime) -> dict[int, dict]:
    """Per connection, the runs started since `since`: succeeded and failed of the writing runs,
    files and bytes of every run (one query for the success rate and the files figure)."""
    writing = Q(kind__in=WRITING_RUNS)
    rows = (
        SyncRun.objects.filter(connection_id__in=connection_ids, started_at__gte=since)
        .values("connection_id")
        .annotate(
            succeeded=Sum("succeeded", filter=writing),
            failed=Sum("failed", filter=writing),
            files=Sum("files"),
            bytes=Sum("file_bytes"),
        )
        .order_by()
    )
    return {row["connection_id"]: row for row in rows}


def success_rates(
    connection_ids: list[int], *, now: datetime, window: timedelta = WINDOW, sums: dict | None = None
) -> dict[int, SuccessRate]:
    """Per connection over `window` (module doc: a retried success counts once). `sums`: what
    `window_sums` answered for the same window, if the caller has it."""
    since = now - window
    sums = window_sums(connection_ids, since=since) if sums is None else sums
    # Resolved after an operator's retry: counted by its original run and by the run that wrote it.
    twice = dict(
        SyncLog.objects.filter(
            connection_id__in=connection_ids,
            status=SyncLog.Status.RESOLVED,
            retried_at__isnull=False,
            updated_at__gte=since,
        )
        .values("connection_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("connection_id", "n")
    )
    rates = {}
    for cid in connection_ids:
        row = sums.get(cid, {})
        succeeded = max((row.get("succeeded") or 0) - twice.get(cid, 0), 0)
        rates[cid] = SuccessRate(succeeded, row.get("failed") or 0)
    return rates


def files_sent(
    connection_ids: list[int], *, now: datetime, window: timedelta = WINDOW, sums: dict | None = None
) -> dict[int, FilesSent]:
    """Files and bytes sent per connection by the runs started in `window` (module doc); only
    connections that sent any. `sums` as for `success_rates`."""
    sums = window_sums(connection_ids, since=now - window) if sums is None else sums
    return {cid: FilesSent(row["files"], row["bytes"]) for cid, row in sums.items() if row["files"]}


def overall_success(stats: list[ConnectionStats]) -> SuccessRate:
    return SuccessRate(sum(s.success.succeeded for s in stats), sum(s.success.failed for s in stats))


def connection_stats(*, now: datetime | None = None, connections=None) -> list[ConnectionStats]:
    """Everything the dashboard and /metrics show per connection, in a fixed number of queries."""
    now = now or timezone.now()
    if connections is None:
        connections = Connection.objects.exclude(status=Connection.Status.DEACTIVATED).select_related(
            "primary_org", "secondary_org"
        )
    connections = list(connections)
    ids = [c.pk for c in connections]
    queue, oldest, captures = queue_depth(ids), oldest_items(ids), last_captures(ids)
    sums = window_sums(ids, since=now - WINDOW)
    hours, rates = hourly_counts(ids, now=now), success_rates(ids, now=now, sums=sums)
    reconciles = latest_completed(ids)
    files = files_sent(ids, now=now, sums=sums)
    stats = []
    for c in connections:
        first = oldest.get(c.pk)
        stats.append(
            ConnectionStats(
                connection=c,
                queue=queue.get(c.pk, []),
                oldest_item_age=(now - first).total_seconds() if first else None,
                last_capture_at=captures.get(c.pk),
                lag_seconds=lag_seconds(oldest_item=first, last_capture=captures.get(c.pk), now=now),
                hours=hours[c.pk],
                success=rates[c.pk],
                drift=Drift.of(reconciles[c.pk]) if c.pk in reconciles else None,
                files=files.get(c.pk, FilesSent()),
            )
        )
    return stats


def org_usage(orgs=None) -> list[OrgUsage]:
    """Each org's API requests of the last 24 h against its daily limit, as last measured."""
    orgs = Org.objects.order_by("label") if orgs is None else orgs
    return [OrgUsage(o, o.api_requests_used, o.api_requests_max, o.api_usage_at) for o in orgs]


def failures_since(*, since: datetime) -> dict[int, int]:
    """Failed log entries per connection last changed since `since` (what the alert counts)."""
    return dict(
        SyncLog.objects.filter(status=SyncLog.Status.FAILED, updated_at__gte=since)
        .values("connection_id")
        .annotate(n=Count("id"))
        .order_by()
        .values_list("connection_id", "n")
    )

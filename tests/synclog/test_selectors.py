"""The dashboard's numbers on their own: queue depth, ages, lag, hourly counts, success rate."""

from datetime import timedelta

import pytest
from django.utils import timezone

from replication.models import QueueAction, QueueStatus, RecordQueueItem
from synclog import selectors
from synclog.models import SyncLog, SyncRun
from tests.factories import ConnectionFactory, OrgFactory
from tests.synclog.factories import RecordQueueItemFactory, SyncLogFactory, SyncRunFactory

pytestmark = pytest.mark.django_db


def at(run_or_item, field: str, moment) -> None:
    type(run_or_item).objects.filter(pk=run_or_item.pk).update(**{field: moment})


def test_queue_depth_by_action_and_status():
    connection = ConnectionFactory()
    RecordQueueItemFactory.create_batch(3, connection=connection)
    RecordQueueItemFactory(connection=connection, action=QueueAction.GENERIC_INSERT)
    RecordQueueItemFactory(connection=connection, status=QueueStatus.RETRYING)
    RecordQueueItemFactory()  # another connection
    cells = selectors.queue_depth([connection.pk])[connection.pk]
    assert [(c.action, c.status, c.count) for c in cells] == [
        ("generic_update", "queued", 3),
        ("generic_insert", "queued", 1),
        ("generic_update", "retrying", 1),
    ]
    assert cells[0].action_label == "Generic Update"


def test_lag_is_the_larger_of_oldest_item_age_and_time_since_capture():
    now = timezone.now()
    capture = now - timedelta(seconds=30)
    assert selectors.lag_seconds(oldest_item=None, last_capture=None, now=now) is None
    assert selectors.lag_seconds(oldest_item=None, last_capture=capture, now=now) == 30
    assert selectors.lag_seconds(oldest_item=now - timedelta(seconds=90), last_capture=capture, now=now) == 90


def test_connection_stats_reads_oldest_item_and_last_finished_capture():
    connection = ConnectionFactory()
    now = timezone.now()
    old = RecordQueueItemFactory(connection=connection)
    RecordQueueItemFactory(connection=connection)
    at(old, "enqueued_at", now - timedelta(minutes=10))
    capture = SyncRunFactory(connection=connection, kind=SyncRun.Kind.CAPTURE)
    at(capture, "finished_at", now - timedelta(seconds=20))
    SyncRunFactory(connection=connection, kind=SyncRun.Kind.CAPTURE, outcome=SyncRun.Outcome.FAILED)
    [stats] = selectors.connection_stats(now=now, connections=[connection])
    assert stats.queue_depth == 2
    assert stats.oldest_item_age == pytest.approx(600)
    assert stats.lag_seconds == pytest.approx(600)
    RecordQueueItem.objects.all().delete()
    [stats] = selectors.connection_stats(now=now, connections=[connection])
    assert (stats.oldest_item_age, stats.lag_seconds) == (None, pytest.approx(20))


def test_hourly_counts_bucket_writing_runs_and_fill_empty_hours():
    connection = ConnectionFactory()
    now = timezone.now().replace(minute=30)
    for hours_ago, succeeded, failed in ((0, 5, 1), (0, 2, 0), (3, 7, 2), (30, 100, 100)):
        run = SyncRunFactory(connection=connection, succeeded=succeeded, failed=failed)
        at(run, "started_at", now - timedelta(hours=hours_ago))
    SyncRunFactory(connection=connection, kind=SyncRun.Kind.CAPTURE, succeeded=50)
    buckets = selectors.hourly_counts([connection.pk], now=now)[connection.pk]
    assert len(buckets) == 24
    assert (buckets[-1].succeeded, buckets[-1].failed) == (7, 1)
    assert (buckets[-4].succeeded, buckets[-4].failed) == (7, 2)
    assert sum(b.succeeded for b in buckets) == 14, "captures and runs older than 24 h are out"


def test_success_rate_counts_a_retried_success_once():
    """SwiftPort: the original run's failed becomes succeeded; the run that wrote it again is
    not counted a second time."""
    connection = ConnectionFactory()
    original = SyncRunFactory(connection=connection, succeeded=7, failed=3)
    entry = SyncLogFactory(connection=connection, run=original)
    rate = selectors.success_rates([connection.pk], now=timezone.now())[connection.pk]
    assert (rate.succeeded, rate.failed, rate.rate) == (7, 3, 0.7)

    from synclog.services import log_resolved, sync_log_retry

    sync_log_retry(entries=SyncLog.objects.filter(pk=entry.pk))
    SyncRunFactory(connection=connection, succeeded=1)  # the run that wrote it
    log_resolved(connection=connection, direction="p2s", source_ids=[entry.source_id])
    original.refresh_from_db()
    assert (original.succeeded, original.failed) == (8, 2)
    rate = selectors.success_rates([connection.pk], now=timezone.now())[connection.pk]
    assert (rate.succeeded, rate.failed, rate.rate) == (8, 2, 0.8)


def test_success_rate_is_none_without_writes_and_window_applies():
    connection = ConnectionFactory()
    run = SyncRunFactory(connection=connection, succeeded=1, failed=1)
    at(run, "started_at", timezone.now() - timedelta(days=2))
    rate = selectors.success_rates([connection.pk], now=timezone.now())[connection.pk]
    assert rate.rate is None


def test_org_usage_fraction():
    full = OrgFactory(api_requests_used=900, api_requests_max=1000)
    unknown = OrgFactory()
    usage = {u.org: u for u in selectors.org_usage()}
    assert usage[full].fraction == 0.9
    assert usage[unknown].fraction is None


def test_connection_stats_query_count_does_not_grow_with_connections(django_assert_max_num_queries):
    for _ in range(5):
        RecordQueueItemFactory(connection=ConnectionFactory())
    with django_assert_max_num_queries(8):
        stats = selectors.connection_stats()
    assert len(stats) == 5

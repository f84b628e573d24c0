"""The sync log and run pages speak the record queue's words ("Primary → secondary", "Generic
Insert"), and a Retrying entry shows when its record is tried again (the queue's Next Retry Date)."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from orgsync.roles import OPERATORS
from replication.models import QueueStatus
from synclog.models import SyncLog
from tests.factories import UserFactory
from tests.synclog.factories import RecordQueueItemFactory, SyncLogFactory, SyncRunFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator(client):
    client.force_login(UserFactory(groups=[OPERATORS]))
    return client


def table(page: str) -> str:
    return page.split('id="result_list"')[1].split("</table>")[0]


def minute(at) -> str:
    return timezone.localtime(at).strftime("%Y-%m-%d %H:%M")


def test_log_list_and_entry_page_show_the_next_retry_date_of_retrying_entries(operator):
    at = timezone.now() + timedelta(minutes=17)
    waiting = SyncLogFactory(status=SyncLog.Status.RETRYING, direction="s2p")
    RecordQueueItemFactory(
        connection=waiting.connection,
        direction="s2p",
        source_id=waiting.source_id,
        status=QueueStatus.RETRYING,
        next_retry_at=at,
    )
    failed = SyncLogFactory(connection=waiting.connection, status=SyncLog.Status.FAILED)
    RecordQueueItemFactory(  # a later change of the failed record waits too: not this entry's retry
        connection=failed.connection,
        source_id=failed.source_id,
        status=QueueStatus.RETRYING,
        next_retry_at=at + timedelta(hours=3),
    )
    page = operator.get(reverse("admin:synclog_synclog_changelist")).content.decode()
    rows = table(page)
    assert "Next Retry Date" in rows
    assert rows.count(minute(at)) == 1 and minute(at + timedelta(hours=3)) not in rows

    entry = operator.get(reverse("admin:synclog_synclog_change", args=[waiting.pk])).content.decode()
    assert "Next Retry Date" in entry and minute(at) in entry
    assert "Secondary → primary" in entry and ">s2p<" not in entry


def test_an_operators_retry_shows_as_due_at_the_next_cycle(operator):
    entry = SyncLogFactory(status=SyncLog.Status.RETRYING)
    RecordQueueItemFactory(connection=entry.connection, source_id=entry.source_id, status=QueueStatus.QUEUED)
    page = operator.get(reverse("admin:synclog_synclog_change", args=[entry.pk])).content.decode()
    assert "next sync cycle" in page


def test_log_filters_and_columns_use_labels(operator):
    p2s = SyncLogFactory(action="generic_insert")
    s2p = SyncLogFactory(connection=p2s.connection, direction="s2p", action="replication_delete")
    url = reverse("admin:synclog_synclog_changelist")
    page = operator.get(url).content.decode()
    assert "Generic Insert" in table(page) and "Replication Delete" in table(page)
    assert "generic_insert" not in table(page)
    sidebar = page.split('id="changelist-filter"')[1]
    assert "Primary → secondary" in sidebar and "Secondary → primary" in sidebar
    assert ">p2s<" not in sidebar
    filtered = operator.get(url, {"direction": "s2p"})
    assert list(filtered.context["cl"].result_list) == [s2p]


def test_run_pages_use_labels(operator):
    run = SyncRunFactory(direction="p2s", failed=1)
    SyncLogFactory(connection=run.connection, run=run, action="generic_update")
    runs = operator.get(reverse("admin:synclog_syncrun_changelist")).content.decode()
    assert "Primary → secondary" in table(runs) and ">p2s<" not in table(runs)
    assert "Primary → secondary" in runs.split('id="changelist-filter"')[1]
    page = operator.get(reverse("admin:synclog_syncrun_change", args=[run.pk])).content.decode()
    assert "Primary → secondary" in page and "Generic Update" in page
    assert "generic_update" not in page

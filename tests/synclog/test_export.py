"""CSV export of the log and the queue: streamed, with the changelist's filters, no values."""

import csv
import io

import pytest
from django.urls import reverse

from orgsync.roles import OPERATORS
from synclog.models import SyncLog
from tests.factories import ConnectionFactory, UserFactory
from tests.synclog.factories import RecordQueueItemFactory, SyncLogFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def operator_client(client):
    client.force_login(UserFactory(groups=[OPERATORS]))
    return client


def rows(response) -> list[dict]:
    assert response.streaming, "streamed, not built in memory"
    text = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(text)))


def test_log_export_follows_the_changelist_filters(operator_client):
    connection = ConnectionFactory()
    failed = SyncLogFactory(connection=connection, source_id="001AAAAAAAAAAAAAAA")
    SyncLogFactory(connection=connection, status=SyncLog.Status.RESOLVED)
    SyncLogFactory(error_code="DUPLICATE_VALUE")
    url = reverse("admin:synclog_synclog_export")
    answer = operator_client.get(url, {"status__exact": "failed", "connection__id__exact": connection.pk})
    assert answer["Content-Type"].startswith("text/csv")
    assert "attachment" in answer["Content-Disposition"]
    [row] = rows(answer)
    assert row["source id"] == failed.source_id
    assert row["source url"] == f"{connection.primary_org.instance_url}/{failed.source_id}"
    assert (row["status"], row["error code"], row["fields"]) == (
        "Failed",
        "REQUIRED_FIELD_MISSING",
        "Region__c",
    )
    assert row["run"] == str(failed.run_id)
    assert len(rows(operator_client.get(url))) == 3


def test_the_changelist_links_to_the_export_with_its_querystring(operator_client):
    SyncLogFactory()
    page = operator_client.get(reverse("admin:synclog_synclog_changelist"), {"status__exact": "failed"})
    assert f"{reverse('admin:synclog_synclog_export')}?status__exact=failed" in page.content.decode()


def test_cells_that_look_like_formulas_are_quoted(operator_client):
    SyncLogFactory(message='=HYPERLINK("http://evil")')
    [row] = rows(operator_client.get(reverse("admin:synclog_synclog_export")))
    assert row["message"].startswith("'=")


def test_queue_export_follows_filters(operator_client):
    connection = ConnectionFactory()
    wanted = RecordQueueItemFactory(connection=connection, source_object="Contact")
    RecordQueueItemFactory(connection=connection)
    url = reverse("admin:replication_recordqueueitem_export")
    [row] = rows(operator_client.get(url, {"source_object": "Contact"}))
    assert (row["source id"], row["object"], row["action"]) == (wanted.source_id, "Contact", "Generic Update")


def test_export_needs_view_permission(client):
    client.force_login(UserFactory())
    assert client.get(reverse("admin:synclog_synclog_export")).status_code == 403


def test_the_csv_uses_the_admins_labels_not_the_stored_codes(operator_client):
    SyncLogFactory(direction="s2p", action="generic_insert")
    [row] = rows(operator_client.get(reverse("admin:synclog_synclog_export")))
    assert (row["direction"], row["action"], row["status"]) == (
        "Secondary → primary",
        "Generic Insert",
        "Failed",
    )
    RecordQueueItemFactory(direction="p2s")
    [row] = rows(operator_client.get(reverse("admin:replication_recordqueueitem_export")))
    assert (row["direction"], row["action"], row["status"]) == (
        "Primary → secondary",
        "Generic Update",
        "Queued",
    )


@pytest.mark.parametrize(
    ("url_name", "name", "value"),
    [
        ("admin:synclog_synclog_export", "no_such_column", "1"),
        ("admin:synclog_synclog_export", "updated_at__lt", "'; DROP TABLE x;--"),
        ("admin:synclog_synclog_export", "updated_at__year", "é€𝄞"),
        ("admin:replication_recordqueueitem_export", "enqueued_at__gte", "not a date"),
        ("admin:replication_recordqueueitem_export", "connection__name__zz", "x"),
    ],
)
def test_a_parameter_the_changelist_cannot_use_is_a_400_naming_it(
    operator_client, settings, url_name, name, value
):
    guard = "orgsync.request_guard.RequestGuardMiddleware"  # orgsync/settings.py MIDDLEWARE
    if guard not in settings.MIDDLEWARE:
        settings.MIDDLEWARE = [*settings.MIDDLEWARE, guard]
    SyncLogFactory()
    response = operator_client.get(reverse(url_name), {"status__exact": "failed", name: value})
    assert response.status_code == 400
    assert f"Request parameter “{name}” does not fit this list" in response.content.decode()

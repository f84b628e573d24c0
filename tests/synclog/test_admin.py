"""The monitoring console's admin pages: every page opens, read-only, permissions per role,
the queue's Retry now and removal, the entry page's explanation."""

from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from orgsync.roles import ADMINISTRATORS, OPERATORS
from replication.models import QueueStatus, RecordQueueItem
from synclog.catalog import CATALOG, GENERIC, explain
from tests.factories import UserFactory
from tests.synclog.factories import RecordQueueItemFactory, SyncLogFactory

pytestmark = pytest.mark.django_db


def login(client, group: str):
    client.force_login(UserFactory(groups=[group]))
    return client


@pytest.mark.parametrize("group", [ADMINISTRATORS, OPERATORS])
def test_every_page_opens_for_both_roles(client, group):
    entry = SyncLogFactory()
    item = RecordQueueItemFactory(connection=entry.connection)
    login(client, group)
    urls = [
        reverse("admin:index"),
        reverse("admin:synclog_dashboard_changelist"),
        reverse("admin:synclog_synclog_changelist"),
        reverse("admin:synclog_synclog_change", args=[entry.pk]),
        reverse("admin:synclog_syncrun_changelist"),
        reverse("admin:synclog_syncrun_change", args=[entry.run_id]),
        reverse("admin:replication_recordqueueitem_changelist"),
        reverse("admin:replication_recordqueueitem_change", args=[item.pk]),
    ]
    for url in urls:
        assert client.get(url).status_code == 200, url
    assert reverse("admin:synclog_dashboard_changelist") in client.get(urls[0]).content.decode()


def test_log_is_read_only_with_no_add_or_delete(client):
    entry = SyncLogFactory()
    login(client, ADMINISTRATORS)
    assert client.get(reverse("admin:synclog_synclog_add")).status_code == 403
    assert client.post(reverse("admin:synclog_synclog_delete", args=[entry.pk])).status_code == 403
    page = client.get(reverse("admin:synclog_synclog_change", args=[entry.pk])).content.decode()
    assert 'name="_save"' not in page


def test_entry_page_explains_the_error_and_links_the_record(client):
    entry = SyncLogFactory(error_code="REQUIRED_FIELD_MISSING")
    login(client, OPERATORS)
    page = client.get(reverse("admin:synclog_synclog_change", args=[entry.pk])).content.decode()
    assert CATALOG["REQUIRED_FIELD_MISSING"].title in page
    assert f'href="{entry.connection.primary_org.instance_url}/{entry.source_id}"' in page
    assert reverse("admin:synclog_synclog_retry", args=[entry.pk]) in page


def test_catalog_covers_the_issue_codes_and_falls_back():
    codes = {
        "INVALID_CROSS_REFERENCE_KEY", "REQUIRED_FIELD_MISSING", "INVALID_FIELD_FOR_INSERT_UPDATE",
        "MALFORMED_QUERY", "FIELD_CUSTOM_VALIDATION_EXCEPTION", "STRING_TOO_LONG",
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", "DUPLICATE_VALUE", "UNABLE_TO_LOCK_ROW",
        "REQUEST_LIMIT_EXCEEDED", "ENTITY_IS_DELETED", "INVALID_SESSION_ID",
    }  # fmt: skip
    assert codes <= set(CATALOG)
    assert all(e.title and e.meaning and e.fix for e in CATALOG.values())
    assert explain("SOMETHING_NEW") is GENERIC
    assert explain("unable_to_lock_row").retried_automatically


def test_dashboard_shows_numbers_and_an_svg_chart(client):
    entry = SyncLogFactory()
    RecordQueueItemFactory.create_batch(2, connection=entry.connection)
    login(client, OPERATORS)
    page = client.get(reverse("admin:synclog_dashboard_changelist")).content.decode()
    content = page.split('id="content-main"')[1].split('id="footer"')[0]
    assert '<svg class="throughput"' in content and "<script" not in content
    assert 'http-equiv="refresh"' in page
    assert entry.connection.name in page and "Generic Update" in page


def test_log_changelist_query_count_does_not_grow(client, django_assert_max_num_queries):
    login(client, OPERATORS)
    SyncLogFactory.create_batch(3)
    url = reverse("admin:synclog_synclog_changelist")
    with django_assert_max_num_queries(20) as few:
        client.get(url)
    SyncLogFactory.create_batch(20)
    with django_assert_max_num_queries(len(few.captured_queries)):
        client.get(url)


def test_operator_retries_queue_items_now_but_cannot_remove(client):
    item = RecordQueueItemFactory(
        status=QueueStatus.RETRYING, next_retry_at=timezone.now() + timedelta(hours=1)
    )
    login(client, OPERATORS)
    url = reverse("admin:replication_recordqueueitem_changelist")
    client.post(url, {"action": "retry_now", "_selected_action": [item.pk]})
    item.refresh_from_db()
    assert item.next_retry_at <= timezone.now()
    client.post(url, {"action": "delete_selected", "_selected_action": [item.pk], "post": "yes"})
    assert RecordQueueItem.objects.filter(pk=item.pk).exists()
    assert "delete_selected" not in client.get(url).content.decode()


def test_admin_removes_queue_items_after_confirming(client):
    items = RecordQueueItemFactory.create_batch(2)
    login(client, ADMINISTRATORS)
    url = reverse("admin:replication_recordqueueitem_changelist")
    data = {"action": "delete_selected", "_selected_action": [i.pk for i in items]}
    confirm = client.post(url, data)
    assert confirm.status_code == 200 and "Are you sure" in confirm.content.decode()
    assert RecordQueueItem.objects.count() == 2
    client.post(url, {**data, "post": "yes"})
    assert not RecordQueueItem.objects.exists()


def test_queue_filters_by_connection_action_status_and_object(client):
    wanted = RecordQueueItemFactory(source_object="Contact", status=QueueStatus.RETRYING)
    RecordQueueItemFactory(connection=wanted.connection)
    login(client, OPERATORS)
    page = client.get(
        reverse("admin:replication_recordqueueitem_changelist"),
        {
            "connection__id__exact": wanted.connection_id,
            "action__exact": wanted.action,
            "status__exact": "retrying",
            "source_object": "Contact",
        },
    )
    assert list(page.context["cl"].result_list) == [wanted]

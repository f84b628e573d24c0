"""The record queue's item page: Retry now and Ignore do what they say, on rows the engine's own
queue verbs made; who may press them; the list and `queue_status` speak the admin's words."""

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from orgsync.roles import ADMINISTRATORS, OPERATORS
from replication.engine import queue
from replication.models import QueueAction, QueueStatus, RecordQueueItem, RejectedRecord
from replication.services.queue import IGNORED
from synclog.models import SyncLog
from synclog.services import log_attempt_failed
from tests.factories import ConnectionFactory, UserFactory

pytestmark = pytest.mark.django_db

SOURCE_ID = "001000000000001AAA"
LONG_ERROR = "unable to obtain exclusive access to this record or 200 records, " * 3


def login(client, group: str):
    user = UserFactory(groups=[group])
    client.force_login(user)
    return user


def queued(connection, source_id: str = SOURCE_ID) -> RecordQueueItem:
    queue.enqueue(connection, "p2s", "Account", {source_id: QueueAction.GENERIC_UPDATE})
    return RecordQueueItem.objects.get(connection=connection, source_id=source_id)


def retrying(connection, source_id: str = SOURCE_ID) -> RecordQueueItem:
    """What apply does with a retryable failure: the log's Retrying entry, and an attempt counted."""
    item = queued(connection, source_id)
    log_attempt_failed(
        connection=connection,
        direction="p2s",
        source_object="Account",
        source_id=source_id,
        action=item.action,
        code="UNABLE_TO_LOCK_ROW",
        message=LONG_ERROR,
        attempt=1,
        final=False,
    )
    return queue.schedule_retry(item, code="UNABLE_TO_LOCK_ROW", message=LONG_ERROR)


def item_page(client, item: RecordQueueItem) -> str:
    return client.get(reverse("admin:replication_recordqueueitem_change", args=[item.pk])).content.decode()


def test_item_page_retry_makes_a_retrying_item_due_now(client):
    item = retrying(ConnectionFactory())
    assert item.next_retry_at > timezone.now()
    login(client, OPERATORS)
    page = item_page(client, item)
    assert 'id="queue-retry"' in page and 'id="queue-ignore"' not in page, "operators retry, never ignore"

    url = reverse("admin:replication_recordqueueitem_retry", args=[item.pk])
    assert client.get(url).status_code == 405, "a button that POSTs"
    answer = client.post(url, follow=True)
    assert "Due now" in answer.content.decode()
    item.refresh_from_db()
    assert item.status == QueueStatus.RETRYING and item.next_retry_at <= timezone.now()
    assert item.attempts == 1, "attempts are kept"
    assert [i.pk for i in queue.claim(item.connection, "p2s", "test")] == [item.pk], "the next cycle takes it"


def test_retry_is_offered_only_for_retrying_items_and_needs_the_permission(client):
    item = queued(ConnectionFactory())
    login(client, OPERATORS)
    assert 'id="queue-retry"' not in item_page(client, item), "a queued item is due already"
    client.post(reverse("admin:replication_recordqueueitem_retry", args=[item.pk]))
    item.refresh_from_db()
    assert item.status == QueueStatus.QUEUED and item.next_retry_at is None

    client.force_login(UserFactory(username="viewer"))  # staff without the queue's permissions
    waiting = retrying(item.connection, "001000000000002AAA")
    assert (
        client.post(reverse("admin:replication_recordqueueitem_retry", args=[waiting.pk])).status_code == 403
    )


def test_operator_cannot_ignore(client):
    item = retrying(ConnectionFactory())
    login(client, OPERATORS)
    url = reverse("admin:replication_recordqueueitem_ignore", args=[item.pk])
    assert client.post(url, {"confirm": "yes"}).status_code == 403
    assert RecordQueueItem.objects.filter(pk=item.pk).exists()


def test_admin_ignores_a_retrying_item_after_confirming(client):
    connection = ConnectionFactory()
    item = retrying(connection)
    admin_user = login(client, ADMINISTRATORS)
    assert 'id="queue-ignore"' in item_page(client, item)
    url = reverse("admin:replication_recordqueueitem_ignore", args=[item.pk])

    assert client.get(url).status_code == 405
    confirm = client.post(url)
    assert confirm.status_code == 200 and 'id="confirm-ignore"' in confirm.content.decode()
    assert "not sent" in confirm.content.decode()
    assert RecordQueueItem.objects.filter(pk=item.pk).exists(), "nothing happens before confirming"

    done = client.post(url, {"confirm": "yes"}, follow=True)
    assert f"{SOURCE_ID} ignored" in done.content.decode()
    assert not RecordQueueItem.objects.filter(pk=item.pk).exists()
    entry = SyncLog.objects.get(connection=connection, source_id=SOURCE_ID)  # the same entry, closed
    assert (entry.status, entry.error_code) == (SyncLog.Status.RESOLVED, IGNORED)
    assert entry.message.startswith(f"Ignored by {admin_user.username} on ")
    assert "Last error: UNABLE_TO_LOCK_ROW" in entry.message
    assert not RejectedRecord.objects.exists(), "not a rejection: a later change queues it again"
    assert queued(connection).status == QueueStatus.QUEUED


def test_ignoring_a_queued_item_adds_a_log_entry(client):
    connection = ConnectionFactory()
    item = queued(connection)
    admin_user = login(client, ADMINISTRATORS)
    client.post(reverse("admin:replication_recordqueueitem_ignore", args=[item.pk]), {"confirm": "yes"})
    assert not RecordQueueItem.objects.exists()
    entry = SyncLog.objects.get(source_id=SOURCE_ID)
    assert (entry.status, entry.error_code, entry.action) == (SyncLog.Status.RESOLVED, IGNORED, item.action)
    assert f"Ignored by {admin_user.username}" in entry.message


def test_ignoring_a_pending_record_rejects_it_for_good(client):
    connection = ConnectionFactory()
    item = queued(connection)
    queue.hold_for_acceptance(item)
    admin_user = login(client, ADMINISTRATORS)
    url = reverse("admin:replication_recordqueueitem_ignore", args=[item.pk])
    assert "never offered again" in client.post(url).content.decode()
    client.post(url, {"confirm": "yes"})
    assert not RecordQueueItem.objects.exists()
    rejected = RejectedRecord.objects.get(source_id=SOURCE_ID)
    assert rejected.rejected_by == admin_user
    assert SyncLog.objects.get(source_id=SOURCE_ID).error_code == IGNORED


def test_an_item_being_sent_or_a_connection_marker_is_not_ignored(client):
    connection = ConnectionFactory()
    queued(connection)
    [busy] = queue.claim(connection, "p2s", "worker")
    marker = RecordQueueItem.objects.create(
        connection=connection,
        direction="p2s",
        source_object=queue.CONNECTION_OBJECT,
        source_id="event-1",
        action=QueueAction.CONNECTION_ADMIN_SUSPENDED,
    )
    login(client, ADMINISTRATORS)
    page = item_page(client, marker)
    assert 'id="queue-ignore"' not in page and 'id="queue-retry"' not in page
    for item in (busy, marker):
        answer = client.post(
            reverse("admin:replication_recordqueueitem_ignore", args=[item.pk]),
            {"confirm": "yes"},
            follow=True,
        )
        assert "Not ignored" in answer.content.decode()
    assert RecordQueueItem.objects.count() == 2 and not SyncLog.objects.exists()


def test_queue_list_uses_labels_and_cuts_the_last_error_short(client):
    item = retrying(ConnectionFactory())
    login(client, OPERATORS)
    page = client.get(reverse("admin:replication_recordqueueitem_changelist")).content.decode()
    table = page.split('id="result_list"')[1].split("</table>")[0]
    for words in ("Generic Update", "Primary → secondary", "Retrying", "Next Retry Date", "Last error"):
        assert words in table, words
    assert ">p2s<" not in table and "generic_update" not in table
    assert f'title="UNABLE_TO_LOCK_ROW: {LONG_ERROR.strip()}' in table.replace("&#x27;", "'")
    assert f">UNABLE_TO_LOCK_ROW: {LONG_ERROR}<" not in table, "the cell shows only the start"
    assert timezone.localtime(item.next_retry_at).strftime("%Y-%m-%d %H:%M") in table
    assert "Primary → secondary" in page.split('id="changelist-filter"')[1], "the filter's words too"


def test_queue_status_command_uses_the_admin_labels(capsys):
    connection = ConnectionFactory(name="Labels")
    retrying(connection)
    queue.enqueue(connection, "s2p", "Contact", {"003000000000001AAA": QueueAction.GENERIC_INSERT})
    call_command("queue_status")
    out = capsys.readouterr().out
    for words in (
        "Primary → secondary",
        "Secondary → primary",
        "Generic Update",
        "Generic Insert",
        "Retrying",
    ):
        assert words in out, words
    assert " p2s " not in out and "generic_insert" not in out and "retrying " not in out

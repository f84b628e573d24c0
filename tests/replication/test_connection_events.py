"""Suspending and resuming a connection shows in the record queue, as in Organization Sync: one
item per direction, among the record items in order; nothing is applied while suspended, and
apply completes the markers when it reaches them, without counting them as records."""

from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from connections import services as connection_services
from connections.models import Connection, ConnectionEvent
from orgsync.roles import OPERATORS
from replication import services
from replication.engine.cycle import sync_once
from replication.models import EXTERNAL_ID_FIELD, Direction, QueueAction, QueueStatus, RecordQueueItem
from synclog.models import SyncLog, SyncRun
from tests.factories import UserFactory
from tests.replication.conftest import LinkedOrgs

P2S, S2P = Direction.PRIMARY_TO_SECONDARY, Direction.SECONDARY_TO_PRIMARY


def publish(linked: LinkedOrgs, direction: str = P2S, name: str = "Account") -> None:
    publication = services.publication_publish(
        connection=linked.connection, direction=direction, source_object=name, actor=None
    )
    services.subscription_subscribe(publication=publication, actor=None)


def create(handle, name: str) -> str:
    return handle.org.create("Account", {"Name": name}, user_id=handle.user_id)


def target_source_ids(handle) -> list[str]:
    rows = handle.org.query(
        f"SELECT {EXTERNAL_ID_FIELD} FROM Account", include_deleted=False, api_version="62.0"
    ).records
    return sorted(r[EXTERNAL_ID_FIELD] for r in rows)


def queue_in_order(direction: str = P2S) -> list[tuple[str, str]]:
    items = RecordQueueItem.objects.filter(direction=direction).order_by("enqueued_at", "id")
    return [(i.action, i.source_object) for i in items]


def fresh(linked: LinkedOrgs) -> Connection:
    return Connection.objects.get(pk=linked.connection.pk)


def test_admin_suspend_and_resume_are_queue_items_drained_in_order(linked, operator):
    publish(linked)
    first = create(linked.primary, "Before")
    sync_once(linked.connection)
    assert target_source_ids(linked.secondary) == [first]

    connection_services.connection_suspend(connection=fresh(linked), actor=operator)
    marker = RecordQueueItem.objects.get()
    event = ConnectionEvent.objects.get(kind=ConnectionEvent.Kind.ADMIN_SUSPENDED)
    assert (marker.action, marker.source_object, marker.source_id, marker.status) == (
        QueueAction.CONNECTION_ADMIN_SUSPENDED,
        "Connection",
        f"event-{event.pk}",
        QueueStatus.QUEUED,
    )

    during = [create(linked.primary, f"During {n}") for n in range(3)]
    sync_once(fresh(linked))  # captures, applies nothing
    assert target_source_ids(linked.secondary) == [first]
    queued = queue_in_order()
    assert queued[0] == (QueueAction.CONNECTION_ADMIN_SUSPENDED, "Connection")
    # the three new records, and maybe `first` re-read by capture's overlap window
    assert queued[1:].count((QueueAction.GENERIC_INSERT, "Account")) == 3
    assert {o for _, o in queued[1:]} == {"Account"}
    assert set(RecordQueueItem.objects.values_list("status", flat=True)) == {QueueStatus.QUEUED}

    connection_services.connection_resume(connection=fresh(linked), actor=operator)
    assert queue_in_order()[0] == (QueueAction.CONNECTION_ADMIN_SUSPENDED, "Connection")
    assert queue_in_order()[-1] == (QueueAction.CONNECTION_ADMIN_RESUMED, "Connection")

    sync_once(fresh(linked))
    assert target_source_ids(linked.secondary) == sorted([first, *during])
    assert not RecordQueueItem.objects.exists(), "the markers were completed with the records"
    apply_run = SyncRun.objects.filter(kind=SyncRun.Kind.APPLY).latest("started_at")
    assert (apply_run.succeeded, apply_run.failed) == (3, 0), "markers are not records"
    assert not SyncLog.objects.exists()


def test_two_way_marks_each_direction_with_its_own_unique_item(linked_two_way):
    publish(linked_two_way, P2S)
    publish(linked_two_way, S2P)
    for _ in range(2):  # twice: source ids stay unique per connection and direction
        connection_services.connection_suspend(connection=fresh(linked_two_way), actor=None)
        connection_services.connection_resume(connection=fresh(linked_two_way), actor=None)
    for direction in (P2S, S2P):
        assert [a for a, _ in queue_in_order(direction)] == [
            QueueAction.CONNECTION_ADMIN_SUSPENDED,
            QueueAction.CONNECTION_ADMIN_RESUMED,
        ] * 2
    assert RecordQueueItem.objects.values("source_id").distinct().count() == 4
    report = sync_once(fresh(linked_two_way))
    assert report.applied == {P2S: 4, S2P: 4}
    assert not RecordQueueItem.objects.exists()


def test_a_direction_nothing_is_published_in_gets_no_marker(linked_two_way):
    publish(linked_two_way, P2S)
    connection_services.connection_suspend(connection=fresh(linked_two_way), actor=None)
    assert list(RecordQueueItem.objects.values_list("direction", flat=True)) == [P2S]


def test_automatic_suspension_and_resumption_are_queued_among_the_records(linked):
    publish(linked)
    ids = [create(linked.primary, f"M {n}") for n in range(4)]
    linked.secondary.set_faults(maintenance_seconds=60)  # longer than the client's own 503 retries
    sync_once(linked.connection)
    connection = fresh(linked)
    assert (connection.status, connection.suspension) == (Connection.Status.SUSPENDED, "automatic")
    marker = RecordQueueItem.objects.get(source_object="Connection")
    assert (marker.action, marker.status) == (QueueAction.CONNECTION_SUSPENDED, QueueStatus.QUEUED)

    linked.secondary.clear_faults()  # the maintenance ends: the next cycle resumes by itself
    RecordQueueItem.objects.update(next_retry_at=timezone.now())
    report = sync_once(connection)
    assert report.resumed
    assert fresh(linked).status == Connection.Status.ACTIVE
    assert target_source_ids(linked.secondary) == sorted(ids)
    assert not RecordQueueItem.objects.exists()
    assert not SyncLog.objects.filter(status__in=[SyncLog.Status.RETRYING, SyncLog.Status.FAILED]).exists()
    kinds = list(connection.events.values_list("kind", flat=True)[:2])
    assert kinds == [ConnectionEvent.Kind.RESUMED, ConnectionEvent.Kind.SUSPENDED]


def test_queue_status_and_the_queue_admin_show_markers(linked, client, capsys):
    publish(linked)
    connection_services.connection_suspend(connection=fresh(linked), actor=None)
    call_command("queue_status")
    out = capsys.readouterr().out
    assert "Connection Admin Suspended" in out and "Queued" in out

    client.force_login(UserFactory(groups=[OPERATORS]))
    page = client.get(reverse("admin:replication_recordqueueitem_changelist")).content.decode()
    marker = RecordQueueItem.objects.get()
    assert "Connection Admin Suspended" in page
    assert f"/{marker.source_id}" not in page, "a marker is no record: no link into an org"

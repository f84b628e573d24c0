"""Issue 14: unpublishing one direction of a two-way connection through the admin leaves the
other direction whole — its links stay, nothing is copied back as a duplicate, nothing sticks."""

from django.urls import reverse

from connections.client import SalesforceClient
from connections.models import ConnectionEvent
from replication import services
from replication.engine.cycle import sync_once
from replication.models import Direction, PublishedObject, QueueStatus, RecordLink, RecordQueueItem
from synclog.models import SyncLog
from tests.factories import UserFactory

P2S, S2P = Direction.PRIMARY_TO_SECONDARY, Direction.SECONDARY_TO_PRIMARY
NAMES = ("Acme", "Globex", "Initech")


def accounts(org) -> dict[str, str]:
    """Name → Id of every Account in a console-connected org."""
    records = SalesforceClient(org).query_page("SELECT Id, Name FROM Account").records
    return {r["Id"]: r["Name"] for r in records}


def test_unpublishing_one_direction_in_the_admin_keeps_the_other_whole(both_ways, client):
    primary, secondary, connection = both_ways.primary, both_ways.secondary, both_ways.connection
    for name in NAMES:
        primary.org.create("Account", {"Name": name}, user_id=primary.user_id)
    for _ in range(2):
        sync_once(connection)
    assert RecordLink.objects.filter(connection=connection).count() == 3, "linked both ways"
    before = accounts(connection.primary_org)
    assert sorted(before.values()) == sorted(NAMES)

    client.force_login(UserFactory(is_superuser=True))
    publication = PublishedObject.objects.get(connection=connection, direction=P2S, source_object="Account")
    answer = client.post(reverse("admin:replication_publish_unpublish", args=[publication.pk]))
    assert answer.status_code == 302
    publication.refresh_from_db()
    assert not publication.is_published
    assert RecordLink.objects.filter(connection=connection).count() == 3, "the S2P direction keeps its links"
    event = connection.events.filter(kind=ConnectionEvent.Kind.OBJECT_UNPUBLISHED).get()
    assert (
        event.detail == "Account: unpublished; 3 linked record(s) kept for the Secondary → primary direction"
    )

    # The copies in the secondary change (as they do within a second of a write): still linked.
    copy_id = RecordLink.objects.get(primary_id=next(iter(before))).secondary_id
    secondary.org.update("Account", copy_id, {"Industry": "Banking"}, user_id=secondary.user_id)
    new_id = secondary.org.create("Account", {"Name": "Born in the secondary"}, user_id=secondary.user_id)
    for _ in range(3):
        sync_once(connection)  # an IntegrityError or any other crash fails the test here
    after = accounts(connection.primary_org)
    assert sorted(after.values()) == sorted([*NAMES, "Born in the secondary"]), "no duplicate in the primary"
    assert set(before) < set(after)
    link = RecordLink.objects.get(secondary_id=new_id)
    assert after[link.primary_id] == "Born in the secondary"
    industry = primary.org.get("Account", next(iter(before)), ["Industry"], api_version="62.0")["Industry"]
    assert industry == "Banking", "a linked copy's change still travels back by its link"
    assert not RecordQueueItem.objects.filter(status=QueueStatus.IN_PROGRESS).exists()
    assert not RecordQueueItem.objects.filter(direction=P2S).exists(), (
        "the unpublished direction queues nothing"
    )
    assert not SyncLog.objects.filter(status=SyncLog.Status.FAILED).exists()
    assert len(accounts(connection.secondary_org)) == 4, "nothing travels primary → secondary any more"


def test_republishing_the_direction_resumes_it_on_the_kept_links(both_ways, client):
    primary, secondary, connection = both_ways.primary, both_ways.secondary, both_ways.connection
    origin = primary.org.create("Account", {"Name": "Acme"}, user_id=primary.user_id)
    for _ in range(2):
        sync_once(connection)
    copy_id = RecordLink.objects.get(primary_id=origin).secondary_id
    client.force_login(UserFactory(is_superuser=True))
    publication = PublishedObject.objects.get(connection=connection, direction=P2S, source_object="Account")
    client.post(reverse("admin:replication_publish_unpublish", args=[publication.pk]))
    sync_once(connection)

    primary.org.update("Account", origin, {"Name": "Acme (renamed)"}, user_id=primary.user_id)
    services.publication_publish(connection=connection, direction=P2S, source_object="Account", actor=None)
    for _ in range(3):
        sync_once(connection)
    assert sorted(accounts(connection.secondary_org).values()) == ["Acme (renamed)"], "updated, not copied"
    assert secondary.org.get("Account", copy_id, ["Name"], api_version="62.0")["Name"] == "Acme (renamed)"
    assert sorted(accounts(connection.primary_org).values()) == ["Acme (renamed)"]
    assert RecordLink.objects.count() == 1


def test_deleting_one_directions_subscription_in_the_admin_keeps_the_other_whole(both_ways, client):
    primary, connection = both_ways.primary, both_ways.connection
    for name in NAMES:
        primary.org.create("Account", {"Name": name}, user_id=primary.user_id)
    for _ in range(2):
        sync_once(connection)
    client.force_login(UserFactory(is_superuser=True))
    subscription = PublishedObject.objects.get(connection=connection, direction=P2S).subscription
    url = reverse("admin:replication_subscribedobject_delete", args=[subscription.pk])
    assert client.post(url, {"post": "yes"}).status_code == 302
    assert RecordLink.objects.filter(connection=connection).count() == 3
    copy_id = RecordLink.objects.first().secondary_id
    both_ways.secondary.org.update(
        "Account", copy_id, {"Industry": "Energy"}, user_id=both_ways.secondary.user_id
    )
    for _ in range(3):
        sync_once(connection)
    assert sorted(accounts(connection.primary_org).values()) == sorted(NAMES), "no duplicate in the primary"
    assert not RecordQueueItem.objects.filter(status=QueueStatus.IN_PROGRESS).exists()

"""Without Auto-Accept, new records wait in Pending acceptance until an admin decides (S2S)."""

import pytest

from replication import services
from replication.engine.cycle import sync_once
from replication.models import Direction, QueueStatus, RecordLink, RecordQueueItem, SubscribedObject


@pytest.fixture
def manual(linked):
    publication = services.publication_publish(
        connection=linked.connection,
        direction=Direction.PRIMARY_TO_SECONDARY,
        source_object="Account",
        actor=None,
    )
    services.subscription_subscribe(publication=publication, actor=None)
    SubscribedObject.objects.update(auto_accept=False)
    return linked


def new_account(linked, name: str) -> str:
    return linked.primary.org.create("Account", {"Name": name}, user_id=linked.primary.user_id)


def target_count(linked) -> int:
    return linked.secondary.org.record_counts(["Account"]).get("Account", 0)


def test_new_records_wait_until_accepted(manual):
    source_id = new_account(manual, "Waiting")
    sync_once(manual.connection)
    item = RecordQueueItem.objects.get(source_id=source_id)
    assert item.status == QueueStatus.PENDING_ACCEPTANCE and target_count(manual) == 0
    sync_once(manual.connection)
    assert target_count(manual) == 0, "still waiting: claims never take pending records"

    assert services.queue_items_accept(items=[item], actor=None) == 1
    sync_once(manual.connection)
    assert target_count(manual) == 1 and RecordLink.objects.filter(primary_id=source_id).exists()


def test_rejected_records_are_not_offered_again(manual):
    source_id = new_account(manual, "Unwanted")
    sync_once(manual.connection)
    assert services.queue_items_reject(items=RecordQueueItem.objects.all(), actor=None) == 1
    manual.primary.org.update(
        "Account", source_id, {"Name": "Still unwanted"}, user_id=manual.primary.user_id
    )
    sync_once(manual.connection)
    assert not RecordQueueItem.objects.exists() and target_count(manual) == 0


def test_updates_of_linked_records_need_no_acceptance(manual):
    source_id = new_account(manual, "Linked")
    sync_once(manual.connection)
    services.queue_items_accept(items=RecordQueueItem.objects.all(), actor=None)
    sync_once(manual.connection)
    manual.primary.org.update("Account", source_id, {"Name": "Renamed"}, user_id=manual.primary.user_id)
    sync_once(manual.connection)
    target = RecordLink.objects.get(primary_id=source_id).secondary_id
    assert manual.secondary.org.get("Account", target, ["Name"], api_version="62.0")["Name"] == "Renamed"


def test_admin_accepts_and_rejects_pending_records(manual, client):
    from django.urls import reverse

    from orgsync.roles import ADMINISTRATORS, OPERATORS
    from tests.factories import UserFactory

    keep, drop = new_account(manual, "Keep"), new_account(manual, "Drop")
    sync_once(manual.connection)
    items = {i.source_id: i for i in RecordQueueItem.objects.all()}
    url = reverse("admin:replication_recordqueueitem_changelist")
    client.force_login(UserFactory(groups=[OPERATORS]))
    refused = client.post(url, {"action": "accept_records", "_selected_action": [items[keep].pk]})
    assert RecordQueueItem.objects.get(pk=items[keep].pk).status == QueueStatus.PENDING_ACCEPTANCE, refused
    client.force_login(UserFactory(groups=[ADMINISTRATORS]))
    client.post(url, {"action": "accept_records", "_selected_action": [items[keep].pk]})
    client.post(url, {"action": "reject_records", "_selected_action": [items[drop].pk]})
    sync_once(manual.connection)
    assert target_count(manual) == 1
    assert RecordLink.objects.filter(primary_id=keep).exists() and not RecordQueueItem.objects.exists()

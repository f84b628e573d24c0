"""Issue 17: destructive clicks go through a confirmation page with counts and a reason;
Refresh fields, republishing, pick lists from describe, duplicate mappings, Bulk Sync's limit."""

import pytest
from django.urls import reverse

from connections.models import ConnectionEvent
from orgsync.roles import ADMINISTRATORS
from replication import services
from replication.admin_bulk import BulkSyncStartForm
from replication.errors import MappingError
from replication.models import Direction, PublishedObject, RecordLink, RecordQueueItem, SubscribedObject
from replication.services.publication import publication_disconnect_preview, publication_refresh_fields
from tests.factories import UserFactory

P2S, S2P = Direction.PRIMARY_TO_SECONDARY, Direction.SECONDARY_TO_PRIMARY
Kind = ConnectionEvent.Kind


@pytest.fixture
def manager(db, client):
    client.force_login(UserFactory(groups=[ADMINISTRATORS]))
    return client


def publish(linked, name="Account", direction=P2S):
    return services.publication_publish(
        connection=linked.connection, direction=direction, source_object=name, actor=None
    )


def links(connection, count, primary_object="Account", secondary_object="Account", start=0):
    for n in range(start, start + count):
        RecordLink.objects.create(
            connection=connection,
            primary_object=primary_object,
            primary_id=f"001P{n:014d}",
            secondary_object=secondary_object,
            secondary_id=f"001S{n:014d}",
        )


def test_unpublish_asks_first_with_counts_and_keeps_the_reason(manager, linked):
    publication = publish(linked)
    links(linked.connection, 3)
    url = reverse("admin:replication_publish_unpublish", args=[publication.pk])

    page = manager.get(url)
    html = page.content.decode()
    assert page.status_code == 200
    assert "3 linked record(s) will be disconnected" in html
    assert 'name="reason"' in html
    publication.refresh_from_db()
    assert publication.is_published and RecordLink.objects.count() == 3, "GET changes nothing"

    answer = manager.post(url, {"post": "yes", "reason": "  Moving to\n the new org  "})
    assert answer.status_code == 302
    publication.refresh_from_db()
    assert not publication.is_published and not RecordLink.objects.exists()
    event = linked.connection.events.get(kind=Kind.OBJECT_UNPUBLISHED)
    assert (
        event.detail == "Account: unpublished; 3 linked record(s) disconnected; reason: Moving to the new org"
    )
    assert (
        "is no longer published: 3 linked record(s) disconnected."
        in manager.get(answer["Location"]).content.decode()
    )


def test_the_counts_follow_the_services_rule_both_ways(manager, linked_two_way):
    """Links the other direction still syncs are kept: the page says so, and the preview's
    counts are what the service then does."""
    connection = linked_two_way.connection
    p2s = publish(linked_two_way, "Account", P2S)
    services.subscription_subscribe(publication=p2s, actor=None)
    s2p = publish(linked_two_way, "Account", S2P)
    services.subscription_subscribe(publication=s2p, actor=None)
    links(connection, 2)  # Account ↔ Account: the other direction syncs this pair
    links(connection, 3, secondary_object="Contact", start=10)  # a pair only this direction syncs
    RecordQueueItem.objects.create(
        connection=connection, direction=P2S, source_object="Account", source_id="001P00000000000099"
    )

    preview = publication_disconnect_preview(publication=p2s)
    assert (preview.disconnected, preview.kept, preview.queued) == (3, 2, 1)
    html = manager.get(reverse("admin:replication_publish_unpublish", args=[p2s.pk])).content.decode()
    assert "3 linked record(s) in this direction will be disconnected" in html
    assert "2 linked record(s) stay linked because the Secondary → primary direction" in html
    assert "1 pending queue item(s)" in html

    services.publication_unpublish(publication=p2s, actor=None)
    assert RecordLink.objects.count() == 2 and not RecordQueueItem.objects.exists()


def test_deleting_a_subscription_asks_first_with_counts_and_keeps_the_reason(manager, linked):
    subscription = services.subscription_subscribe(publication=publish(linked), actor=None)
    links(linked.connection, 4)
    url = reverse("admin:replication_subscribedobject_delete", args=[subscription.pk])
    html = manager.get(url).content.decode()
    assert "4 linked record(s) will be disconnected" in html and 'name="reason"' in html
    assert SubscribedObject.objects.exists()

    manager.post(url, {"post": "yes", "reason": "wrong target"})
    assert not SubscribedObject.objects.exists() and not RecordLink.objects.exists()
    event = linked.connection.events.get(kind=Kind.MAPPING_CHANGED)
    assert event.detail.endswith(
        "subscription deleted; 4 linked record(s) disconnected; reason: wrong target"
    )


def test_deleting_a_publication_shows_the_counts_and_keeps_the_reason(manager, linked):
    publication = publish(linked)
    links(linked.connection, 2)
    url = reverse("admin:replication_publishedobject_delete", args=[publication.pk])
    assert "2 linked record(s) will be disconnected" in manager.get(url).content.decode()
    manager.post(url, {"post": "yes", "reason": "cleanup"})
    assert not PublishedObject.objects.exists()
    event = linked.connection.events.get(kind=Kind.OBJECT_UNPUBLISHED)
    assert event.detail.endswith("publication deleted; 2 linked record(s) disconnected; reason: cleanup")


def test_removing_a_field_mapping_asks_first_and_keeps_the_reason(manager, linked):
    subscription = services.subscription_subscribe(publication=publish(linked), actor=None)
    mapping = subscription.fields.get(source_field="Phone")
    assert mapping.target_field == "Phone"
    change = manager.get(reverse("admin:replication_subscribedobject_change", args=[subscription.pk]))
    url = reverse("admin:replication_subscription_unmap", args=[subscription.pk, mapping.pk])
    assert url in change.content.decode(), "each mapped row links to its removal"

    html = manager.get(url).content.decode()
    assert "Changes of Account.Phone will no longer reach Account.Phone" in html
    mapping.refresh_from_db()
    assert mapping.target_field == "Phone", "GET changes nothing"

    manager.post(url, {"post": "yes", "reason": "private number"})
    mapping.refresh_from_db()
    assert mapping.target_field == ""
    event = linked.connection.events.filter(kind=Kind.MAPPING_CHANGED).first()
    assert event.detail == "Account.Phone: Phone → (none); reason: private number"


def test_refresh_fields_offers_new_publishable_fields(manager, linked):
    publication = publish(linked)
    sort_order = publication.sort_order
    linked.primary.org.add_custom_field("Account", "Tier__c", type="string", length=20)
    linked.primary.org.add_custom_field("Account", "Score__c", type="double", precision=5, scale=0)
    url = reverse("admin:replication_publish_refresh_fields", args=[publication.pk])
    assert manager.get(url).status_code == 405, "never on GET"

    answer = manager.post(url, follow=True)
    assert "New field(s) of Account: Score__c, Tier__c" in answer.content.decode() or (
        "New field(s) of Account: Tier__c, Score__c" in answer.content.decode()
    )
    tier = publication.fields.get(source_field="Tier__c")
    assert not tier.is_published and not tier.unsupported_reason, "offered, not published"
    assert publication.fields.get(source_field="Name").is_published, "the others are untouched"
    publication.refresh_from_db()
    assert publication.sort_order == sort_order
    again = manager.post(url, follow=True).content.decode()
    assert "No new publishable fields on Account" in again


def test_republishing_after_unpublish_reenables_the_publication(manager, linked):
    publication = publish(linked)
    subscription = services.subscription_subscribe(publication=publication, actor=None)
    services.subscription_set_mapping(
        subscription=subscription, source_field="Fax", target_field="", actor=None
    )
    services.subscription_set_mapping(
        subscription=subscription, source_field="Phone", target_field="Fax", actor=None
    )
    PublishedObject.objects.filter(pk=publication.pk).update(sort_order=70)
    services.publication_unpublish(publication=publication, actor=None)

    answer = manager.post(
        reverse("admin:replication_publishedobject_add"),
        {"connection": linked.connection.pk, "direction": P2S, "source_object": "Account"},
    )
    assert answer.status_code == 302, answer.context_data["adminform"].form.errors
    again = PublishedObject.objects.get()
    assert again.pk == publication.pk and again.is_published and again.sort_order == 70
    assert subscription.fields.get(source_field="Phone").target_field == "Fax", "mappings survive"

    twice = manager.post(
        reverse("admin:replication_publishedobject_add"),
        {"connection": linked.connection.pk, "direction": P2S, "source_object": "Account"},
    )
    assert "Account is already published in this direction." in twice.content.decode()


def test_publish_offers_the_source_orgs_objects(manager, linked):
    linked.primary.org.add_custom_object("Project__c", label="Project", plural_label="Projects")
    url = reverse("admin:replication_publishedobject_add")
    html = manager.get(f"{url}?connection={linked.connection.pk}&direction={P2S}").content.decode()
    assert '<select name="source_object"' in html
    assert '<option value="Project__c">Project (Project__c)</option>' in html
    assert '<option value="Account">Account (Account)</option>' in html
    assert ">User (User)<" not in html, "setup objects aren't offered"

    shown = manager.post(url, {"connection": linked.connection.pk, "direction": P2S, "_show_objects": "1"})
    assert shown.status_code == 302 and f"connection={linked.connection.pk}" in shown["Location"]


def test_publish_says_so_when_the_source_org_cannot_be_read(manager, linked):
    org = linked.connection.primary_org
    org.access_token_sealed = ""
    org.save()
    answer = manager.post(
        reverse("admin:replication_publishedobject_add"),
        {"connection": linked.connection.pk, "direction": P2S, "source_object": "Account"},
    )
    assert answer.status_code == 200
    html = answer.content.decode()
    assert "Could not read the objects of" in html and "errorlist" in html
    assert not PublishedObject.objects.exists()


def test_subscribe_offers_the_target_orgs_objects(manager, linked):
    linked.secondary.org.add_custom_object("Company__c", label="Company", plural_label="Companies")
    publication = publish(linked)
    html = manager.get(
        reverse("admin:replication_publishedobject_change", args=[publication.pk])
    ).content.decode()
    assert '<select id="subscribe-as" name="target_object"' in html
    assert '<option value="Company__c">Company (Company__c)</option>' in html
    assert '<option value="Account" selected>Account (Account)</option>' in html


def test_subscribe_again_keeps_the_admins_mappings(linked):
    linked.secondary.org.add_custom_field("Account", "Tier__c", type="string", length=40)
    publication = publish(linked)
    subscription = services.subscription_subscribe(publication=publication, actor=None)
    services.subscription_set_mapping(
        subscription=subscription, source_field="Fax", target_field="", actor=None
    )
    services.subscription_set_mapping(
        subscription=subscription, source_field="Phone", target_field="Fax", actor=None
    )
    services.subscription_set_mapping(
        subscription=subscription, source_field="Fax", target_field="", actor=None
    )
    linked.primary.org.add_custom_field("Account", "Tier__c", type="string", length=40)
    publication_refresh_fields(publication=publication)
    publication.fields.filter(source_field="Tier__c").update(is_published=True)

    services.subscription_subscribe(publication=publication, actor=None)
    mapping = dict(subscription.fields.values_list("source_field", "target_field"))
    assert mapping["Phone"] == "Fax", "kept"
    assert mapping["Tier__c"] == "Tier__c", "the newly published field is auto-mapped"


def mapping_post(subscription, changes: dict[str, str]) -> dict:
    mappings = list(subscription.fields.order_by("id"))
    data = {"auto_accept": "", "fields-TOTAL_FORMS": len(mappings), "fields-INITIAL_FORMS": len(mappings)}
    for i, mapping in enumerate(mappings):
        data[f"fields-{i}-id"] = mapping.pk
        data[f"fields-{i}-subscribed_object"] = subscription.pk
        data[f"fields-{i}-target_field"] = changes.get(mapping.source_field, mapping.target_field)
    return data


def test_target_fields_are_a_pick_list_and_duplicates_are_refused(manager, linked):
    linked.secondary.org.add_custom_field("Account", "Region__c", type="string", length=255, label="Region")
    subscription = services.subscription_subscribe(publication=publish(linked), actor=None)
    url = reverse("admin:replication_subscribedobject_change", args=[subscription.pk])
    html = manager.get(url).content.decode()
    assert '<option value="Region__c">Region (Region__c)</option>' in html
    assert "OrgSync_Source_Id__c)</option>" not in html, "orgsync's own field is never a target"

    refused = manager.post(
        url, mapping_post(subscription, {"Site": "Region__c", "AccountNumber": "Region__c"})
    )
    assert refused.status_code == 200
    html = refused.content.decode()
    assert "AccountNumber and Site are both mapped to Region__c" in html
    assert not subscription.fields.filter(target_field="Region__c").exists()

    taken = manager.post(url, mapping_post(subscription, {"Site": "Name"}))
    assert "Name and Site are both mapped to Name" in taken.content.decode()

    services.subscription_set_mapping(
        subscription=subscription, source_field="Site", target_field="Region__c", actor=None
    )
    with pytest.raises(MappingError, match="Site and AccountNumber are both mapped to Region__c"):
        services.subscription_set_mapping(
            subscription=subscription, source_field="AccountNumber", target_field="region__c", actor=None
        )


def test_bulk_sync_number_of_entities_has_a_maximum(manager, linked):
    subscription = services.subscription_subscribe(publication=publish(linked), actor=None)
    assert subscription
    url = reverse("admin:replication_bulksync_start", args=[linked.connection.pk])
    answer = manager.post(
        url,
        {"direction": P2S, "objects": ["Account"], "scope": "limit", "limit": "99999999999999999999999"},
    )
    assert answer.status_code == 400, "the form again, not a 500"
    assert "Number of entities can be at most 2,147,483,647." in answer.content.decode()
    form = BulkSyncStartForm(
        {"direction": P2S, "objects": ["Account"], "scope": "limit", "limit": "2147483648"},
        connection=linked.connection,
        direction=P2S,
    )
    assert not form.is_valid() and "at most 2,147,483,647" in str(form.errors["limit"])

"""Publishing objects and fields of a connection's source org (against sfemu)."""

import pytest

from connections.models import ConnectionEvent
from replication import services
from replication.errors import PublishError
from replication.models import Direction, PublishedObject

P2S = Direction.PRIMARY_TO_SECONDARY


def publish(linked, name: str, direction: str = P2S) -> PublishedObject:
    return services.publication_publish(
        connection=linked.connection, direction=direction, source_object=name, actor=None
    )


def test_publishing_takes_every_supported_field_and_greys_out_the_rest(linked):
    publication = publish(linked, "account")
    assert publication.source_object == "Account", "the API name is normalised"
    fields = {f.source_field: f for f in publication.fields.all()}
    assert fields["Name"].is_published and fields["Industry"].is_published
    for unsupported in ("Id", "CreatedDate", "SystemModstamp", "IsDeleted", "BillingAddress"):
        assert not fields[unsupported].is_published
        assert fields[unsupported].unsupported_reason
    assert "audit" in fields["CreatedDate"].unsupported_reason.lower()
    event = linked.connection.events.first()
    assert event.kind == ConnectionEvent.Kind.OBJECT_PUBLISHED and "Account" in event.detail


def test_lookups_to_unpublished_objects_wait_and_say_why(linked):
    contact = publish(linked, "Contact")
    account_id = contact.fields.get(source_field="AccountId")
    assert not account_id.is_published
    assert "publish Account first" in account_id.unsupported_reason
    publish(linked, "Account")
    contact = publish(linked, "Contact")
    account_id = contact.fields.get(source_field="AccountId")
    assert account_id.unsupported_reason == ""


def test_unpublishable_or_unknown_objects_are_refused(linked):
    with pytest.raises(PublishError, match="no object named “Acount”"):
        publish(linked, "Acount")
    with pytest.raises(PublishError, match="User"):
        publish(linked, "User")


def test_one_way_connections_publish_from_the_primary_only(linked):
    with pytest.raises(PublishError, match="one-way"):
        publish(linked, "Account", Direction.SECONDARY_TO_PRIMARY)


def test_publish_order_puts_later_objects_after(linked):
    first, second = publish(linked, "Account"), publish(linked, "Contact")
    assert first.sort_order < second.sort_order


def test_fields_can_be_unpublished_and_unsupported_ones_not_published(linked):
    publication = publish(linked, "Account")
    industry = publication.fields.get(source_field="Industry")
    services.field_set_published(field=industry, published=False, actor=None)
    industry.refresh_from_db()
    assert not industry.is_published
    with pytest.raises(PublishError, match="cannot be published"):
        services.field_set_published(
            field=publication.fields.get(source_field="CreatedDate"), published=True, actor=None
        )
    kinds = list(linked.connection.events.values_list("kind", flat=True))
    assert ConnectionEvent.Kind.FIELD_UNPUBLISHED in kinds


def test_unpublishing_an_object_disconnects_its_records(linked):
    from replication.models import RecordLink

    publication = publish(linked, "Account")
    contact = publish(linked, "Contact")
    RecordLink.objects.create(
        connection=linked.connection,
        primary_object="Account",
        primary_id="001A",
        secondary_object="Account",
        secondary_id="001B",
    )
    RecordLink.objects.create(
        connection=linked.connection,
        primary_object="Contact",
        primary_id="003A",
        secondary_object="Contact",
        secondary_id="003B",
    )
    publication = services.publication_unpublish(publication=publication, actor=None)
    assert not publication.is_published
    assert list(RecordLink.objects.values_list("primary_object", flat=True)) == ["Contact"]
    event = linked.connection.events.first()
    assert (
        event.kind == ConnectionEvent.Kind.OBJECT_UNPUBLISHED
        and "1 linked record(s) disconnected" in event.detail
    )
    assert contact.is_published


# ------------------------------------------------- issue 14: links are shared by both directions
S2P = Direction.SECONDARY_TO_PRIMARY


def _subscribe_both_ways(linked, name: str = "Account") -> dict[str, PublishedObject]:
    publications = {}
    for direction in (P2S, S2P):
        publications[direction] = publish(linked, name, direction)
        services.subscription_subscribe(publication=publications[direction], actor=None)
    return publications


def _link(linked, n: int, name: str = "Account"):
    from replication.models import RecordLink

    return RecordLink.objects.create(
        connection=linked.connection,
        primary_object=name,
        primary_id=f"001P{n:014d}",
        secondary_object=name,
        secondary_id=f"001S{n:014d}",
    )


def _queue(linked, direction: str, source_id: str, name: str = "Account"):
    from replication.models import RecordQueueItem

    return RecordQueueItem.objects.create(
        connection=linked.connection,
        direction=direction,
        source_object=name,
        source_id=source_id,
        action="generic_update",
    )


def test_unpublishing_one_direction_keeps_the_links_the_other_direction_uses(linked_two_way):
    from replication.models import RecordLink, RecordQueueItem

    publications = _subscribe_both_ways(linked_two_way)
    links = [_link(linked_two_way, n) for n in range(3)]
    _queue(linked_two_way, P2S, links[0].primary_id)
    kept_item = _queue(linked_two_way, S2P, links[1].secondary_id)

    services.publication_unpublish(publication=publications[P2S], actor=None)
    assert RecordLink.objects.count() == 3, "the Secondary → primary direction still needs every link"
    assert list(RecordQueueItem.objects.all()) == [kept_item], "only the unpublished direction's items go"
    event = linked_two_way.connection.events.first()
    assert event.kind == ConnectionEvent.Kind.OBJECT_UNPUBLISHED
    assert (
        event.detail == "Account: unpublished; 3 linked record(s) kept for the Secondary → primary direction"
    )

    services.publication_unpublish(publication=publications[S2P], actor=None)
    assert not RecordLink.objects.exists(), "no published direction uses them any more"
    assert not RecordQueueItem.objects.exists()
    event = linked_two_way.connection.events.first()
    assert event.detail == "Account: unpublished; 3 linked record(s) disconnected"


def test_links_of_another_object_pair_or_an_unsubscribed_direction_are_disconnected(linked_two_way):
    from replication.models import RecordLink

    account = publish(linked_two_way, "Account", P2S)
    services.subscription_subscribe(publication=account, actor=None)
    contact_back = publish(linked_two_way, "Contact", S2P)  # published back, but another object
    services.subscription_subscribe(publication=contact_back, actor=None)
    publish(linked_two_way, "Account", S2P)  # published back, never subscribed: syncs nothing
    _link(linked_two_way, 1)
    contact_link = _link(linked_two_way, 2, "Contact")

    services.publication_unpublish(publication=account, actor=None)
    assert list(RecordLink.objects.all()) == [contact_link]
    assert linked_two_way.connection.events.first().detail == (
        "Account: unpublished; 1 linked record(s) disconnected"
    )


def test_unpublishing_in_a_one_way_connection_still_disconnects(linked):
    from replication.models import RecordLink

    publication = publish(linked, "Account")
    services.subscription_subscribe(publication=publication, actor=None)
    _link(linked, 1)
    services.publication_unpublish(publication=publication, actor=None)
    assert not RecordLink.objects.exists()


def test_deleting_a_subscription_or_publication_keeps_the_other_directions_links(linked_two_way):
    from replication.models import RecordLink, RecordQueueItem, SubscribedObject

    publications = _subscribe_both_ways(linked_two_way)
    _link(linked_two_way, 1)
    _queue(linked_two_way, P2S, "001P00000000000001")

    services.subscription_delete(subscription=publications[P2S].subscription, actor=None)
    assert RecordLink.objects.count() == 1 and not RecordQueueItem.objects.exists()
    assert not SubscribedObject.objects.filter(published_object=publications[P2S]).exists()
    event = linked_two_way.connection.events.first()
    assert event.detail == (
        "Account → Account (Primary → secondary): subscription deleted; "
        "1 linked record(s) kept for the Secondary → primary direction"
    )

    services.publication_delete(publication=publications[S2P], actor=None)
    assert not RecordLink.objects.exists(), "the last direction using them is gone"
    assert not PublishedObject.objects.filter(pk=publications[S2P].pk).exists()
    event = linked_two_way.connection.events.first()
    assert event.kind == ConnectionEvent.Kind.OBJECT_UNPUBLISHED
    assert (
        event.detail == "Account (Secondary → primary): publication deleted; 1 linked record(s) disconnected"
    )


def test_republishing_keeps_the_kept_links(linked_two_way):
    from replication.models import RecordLink

    publications = _subscribe_both_ways(linked_two_way)
    link = _link(linked_two_way, 1)
    services.publication_unpublish(publication=publications[P2S], actor=None)
    again = publish(linked_two_way, "Account", P2S)
    assert again.pk == publications[P2S].pk and again.is_published
    assert list(RecordLink.objects.all()) == [link]
    assert again.subscription.target_object == "Account", "the subscription survived the unpublish"


# ------------------------------------------- orgsync's own identity field (issue 14, item 6)
IDENTITY = "OrgSync_Source_Id__c"


def test_the_identity_field_is_never_published_nor_mapped_back(linked_two_way):
    """Subscribing P2S creates OrgSync_Source_Id__c on both Accounts; the S2P direction then
    sees it in the secondary as writable text, and must neither publish nor map it."""
    from replication.errors import MappingError

    publications = _subscribe_both_ways(linked_two_way)
    publish(linked_two_way, "Account", P2S)  # the primary's field was created after P2S published
    for direction, publication in publications.items():
        identity = publication.fields.get(source_field=IDENTITY)
        assert not identity.is_published, direction
        assert "orgsync's own record identity" in identity.unsupported_reason
        subscription = publication.subscription
        assert not subscription.fields.filter(source_field=IDENTITY).exclude(target_field="").exists()
        assert not subscription.fields.filter(target_field__iexact=IDENTITY).exists()
        with pytest.raises(PublishError, match="orgsync's own record identity"):
            services.field_set_published(field=identity, published=True, actor=None)
    back = publications[S2P].subscription
    with pytest.raises(MappingError, match="orgsync's own record identity"):
        services.subscription_set_mapping(
            subscription=back, source_field="Name", target_field=IDENTITY, actor=None
        )


def test_identity_rows_saved_before_the_fix_are_repaired_by_publish_and_subscribe(linked_two_way):
    publications = _subscribe_both_ways(linked_two_way)
    back = publications[S2P]
    # What publishing and auto-mapping left before the field was refused.
    back.fields.filter(source_field=IDENTITY).update(is_published=True, unsupported_reason="")
    back.subscription.fields.filter(source_field=IDENTITY).update(target_field=IDENTITY)
    back.subscription.fields.filter(source_field="Description").update(target_field=IDENTITY.lower())
    identity = back.fields.get(source_field=IDENTITY)
    identity.is_published = False
    with pytest.raises(PublishError, match="orgsync's own record identity"):
        services.field_set_published(field=identity, published=True, actor=None)

    publish(linked_two_way, "Account", S2P)
    identity.refresh_from_db()
    assert not identity.is_published and "orgsync's own record identity" in identity.unsupported_reason
    services.subscription_subscribe(publication=back, actor=None)
    assert not back.subscription.fields.filter(target_field__iexact=IDENTITY).exists()
    assert back.subscription.fields.get(source_field="Name").target_field == "Name", "the rest stays mapped"

"""Publishing objects and fields of a connection's source org (against sfemu)."""

import pytest

from replication import services
from replication.errors import PublishError
from replication.models import Direction, PublishedObject
from synclog.models import ConnectionEvent

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

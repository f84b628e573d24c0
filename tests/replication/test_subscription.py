"""Subscribing: external-id field through the Tooling API, auto-mapping, rules, analysis."""

import pytest

from connections.client import SalesforceClient
from replication import services
from replication.errors import MappingError, SubscribeError
from replication.models import EXTERNAL_ID_FIELD, Direction, PublishedObject

P2S = Direction.PRIMARY_TO_SECONDARY


def publish(linked, name: str, direction: str = P2S) -> PublishedObject:
    return services.publication_publish(
        connection=linked.connection, direction=direction, source_object=name, actor=None
    )


def field(org, sobject: str, name: str) -> dict | None:
    return next((f for f in SalesforceClient(org).describe(sobject)["fields"] if f["name"] == name), None)


def test_subscribing_creates_the_external_id_field_once(linked):
    publication = publish(linked, "Account")
    target_org = linked.connection.secondary_org
    assert field(target_org, "Account", EXTERNAL_ID_FIELD) is None
    subscription = services.subscription_subscribe(publication=publication, actor=None)
    created = field(target_org, "Account", EXTERNAL_ID_FIELD)
    assert (
        created["externalId"] and created["unique"] and created["caseSensitive"] and created["length"] == 18
    )
    assert subscription.external_id_ready
    assert services.ensure_external_id_field(org=target_org, sobject="Account") is False
    assert field(linked.connection.primary_org, "Account", EXTERNAL_ID_FIELD) is None, "one-way: target only"


def test_two_way_subscriptions_give_both_orgs_the_field(linked_two_way):
    services.subscription_subscribe(publication=publish(linked_two_way, "Account"), actor=None)
    for org in (linked_two_way.connection.primary_org, linked_two_way.connection.secondary_org):
        assert field(org, "Account", EXTERNAL_ID_FIELD) is not None


def test_fields_are_auto_mapped_by_name(linked):
    subscription = services.subscription_subscribe(publication=publish(linked, "Account"), actor=None)
    mapping = dict(subscription.fields.values_list("source_field", "target_field"))
    assert mapping["Name"] == "Name" and mapping["Industry"] == "Industry"
    assert "CreatedDate" not in mapping, "unpublished fields are not mapped"


def test_auto_mapping_skips_pairs_that_break_the_rules(linked):
    linked.primary.org.add_custom_field("Account", "Code__c", type="string", length=80)
    linked.secondary.org.add_custom_field("Account", "Code__c", type="string", length=20)
    subscription = services.subscription_subscribe(publication=publish(linked, "Account"), actor=None)
    assert subscription.fields.get(source_field="Code__c").target_field == ""


def test_a_mapping_that_breaks_a_rule_is_refused_with_the_fix(linked):
    linked.primary.org.add_custom_field("Account", "Code__c", type="string", length=80)
    linked.secondary.org.add_custom_field("Account", "Short__c", type="string", length=20)
    subscription = services.subscription_subscribe(publication=publish(linked, "Account"), actor=None)
    with pytest.raises(MappingError) as refused:
        services.subscription_set_mapping(
            subscription=subscription, source_field="Code__c", target_field="Short__c", actor=None
        )
    assert "Short__c" in str(refused.value) and "80" in str(refused.value)
    assert subscription.fields.get(source_field="Code__c").target_field == ""


def test_analysis_reports_required_unmapped_target_fields(linked):
    linked.secondary.org.add_custom_field("Account", "Region__c", type="string", length=40, required=True)
    subscription = services.subscription_subscribe(publication=publish(linked, "Account"), actor=None)
    findings = services.subscription_analyze(subscription=subscription)
    required = [f for f in findings if f.target_field == "Region__c"]
    assert required and required[0].level == "error"


def test_subscribing_to_a_missing_object_says_so(linked):
    with pytest.raises(SubscribeError, match="no object named “Widget__c”"):
        services.subscription_subscribe(
            publication=publish(linked, "Account"), actor=None, target_object="Widget__c"
        )


def test_missing_customize_application_permission_is_explained(db, sfemu_server):
    """The target's connected user cannot create the external-id field: the error says what to grant."""
    from connections import services as connection_services
    from connections.models import Org
    from tests.connections.emu import connect_by_password, unsaved_org

    primary, secondary = sfemu_server.create_org(), sfemu_server.create_org()
    weak = secondary.create_user(profile="Standard User", last_name="Integration")
    app = sfemu_server.create_app(secondary)
    target = unsaved_org(
        sfemu_server,
        secondary,
        Org.AuthMethod.PASSWORD,
        client_id=app.client_id,
        username=weak.username,
        label="weak secondary",
    )
    target.client_secret, target.password, target.security_token = (
        app.client_secret,
        weak.password,
        weak.security_token,
    )
    from connections.services import org_connect

    target = org_connect(org=target)
    connection = connection_services.connection_accept(
        connection=connection_services.connection_create(
            actor=None,
            name="weak",
            primary_org=connect_by_password(sfemu_server, primary),
            secondary_org=target,
            owner_username=primary.username,
            owner_user_id=primary.user_id,
        ),
        actor=None,
    )
    publication = services.publication_publish(
        connection=connection, direction=P2S, source_object="Account", actor=None
    )
    with pytest.raises(SubscribeError, match="“Customize Application” permission"):
        services.subscription_subscribe(publication=publication, actor=None)
    assert not hasattr(PublishedObject.objects.get(pk=publication.pk), "subscription")

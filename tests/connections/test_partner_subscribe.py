"""The partner subscribes on their side (issue 19, item 3): after accepting, the same link opens
a page where the partner maps what is published to them to their own org's objects and fields,
through the same replication services as the admin's subscribe; revoked and forged links are
refused with a 4xx page, and one engine cycle then carries a record to the partner's org."""

import re
from types import SimpleNamespace

import pytest
from django.core.cache import cache
from django.test import Client
from django.urls import reverse
from django.utils.html import escape

from connections import services as connection_services
from connections.client import SalesforceClient
from connections.client_errors import RetryableError
from connections.models import Connection, ConnectionEvent
from replication import services
from replication.engine.cycle import sync_once
from replication.models import EXTERNAL_ID_FIELD, Direction, PublishedObject, SubscribedObject
from tests.connections.test_partner_invitation import history, invite, sign_in

pytestmark = pytest.mark.django_db
Kind = ConnectionEvent.Kind
BY_PARTNER = "reason: by partner Pat Partner <pat@partner.example>"


@pytest.fixture
def accepted(manager_client, primary, partner_handle, sfemu_server) -> SimpleNamespace:
    """An accepted invitation whose primary org publishes Account (with Territory__c) to the
    partner, whose Account has a required Region__c and a short Code__c."""
    primary_handle, _ = primary
    primary_handle.org.add_custom_field("Account", "Territory__c", type="string", length=40)
    partner_handle.org.add_custom_field("Account", "Region__c", type="string", length=40, required=True)
    partner_handle.org.add_custom_field("Account", "Code__c", type="string", length=10)
    connection, link = invite(manager_client, primary)
    partner = Client()
    back = sign_in(partner, sfemu_server, partner_handle, link)
    assert partner.post(f"{back}accept/").status_code == 200
    connection.refresh_from_db()
    publication = services.publication_publish(
        connection=connection, direction=Direction.PRIMARY_TO_SECONDARY, source_object="Account", actor=None
    )
    return SimpleNamespace(
        connection=connection,
        link=back,
        page=f"{back}subscribe/",
        partner=partner,
        publication=publication,
        primary=primary_handle,
        partner_org=partner_handle,
    )


def subscribe(accepted, target_object: str = "Account"):
    return accepted.partner.post(
        f"{accepted.page}object/", {"publication": accepted.publication.pk, "target_object": target_object}
    )


def mapping_of(publication: PublishedObject) -> dict[str, str]:
    subscription = SubscribedObject.objects.get(published_object=publication)
    return dict(subscription.fields.values_list("source_field", "target_field"))


def save_mapping(accepted, **changes: str):
    """Post the mapping form as the browser would: every row, with `changes` applied."""
    rows = {**mapping_of(accepted.publication), **changes}
    return accepted.partner.post(
        f"{accepted.page}mapping/",
        {"publication": accepted.publication.pk, **{f"map:{s}": t for s, t in rows.items()}},
    )


def row(text: str, source_field: str) -> str:
    """The table row of one published field on the subscribe page."""
    start = text.index(f'id="row-Account-{source_field}"')
    return text[start : text.index("</tr>", start)]


def test_the_partner_subscribes_and_maps_as_the_admins_subscribe_would(accepted, manager_client):
    # What the admin's Subscribe makes of this publication, through the service directly.
    direct = services.subscription_subscribe(publication=accepted.publication, actor=None)
    expected = (direct.target_object, direct.external_id_ready, mapping_of(accepted.publication))
    services.subscription_delete(subscription=direct, actor=None)

    opened = accepted.partner.get(accepted.link)
    assert opened.status_code == 302 and opened["Location"] == accepted.page
    page = accepted.partner.get(accepted.page)
    assert page.status_code == 200 and "Account (not subscribed yet)" in page.content.decode()

    subscribed = subscribe(accepted)
    assert subscribed.status_code == 302 and subscribed["Location"] == f"{accepted.page}?saved=subscribed"
    subscription = SubscribedObject.objects.get(published_object=accepted.publication)
    assert (subscription.target_object, subscription.external_id_ready, mapping_of(accepted.publication)) == (
        expected
    )
    assert expected[2]["Name"] == "Name" and expected[2]["Territory__c"] == ""  # auto-mapped by name

    text = accepted.partner.get(subscribed["Location"]).content.decode()
    assert "Subscribed: the published fields were mapped automatically" in text
    assert "Target Region__c is required and has no default" in text  # the analyzer, with the fix
    assert "Map a source field to Region__c" in text

    manual = save_mapping(accepted, Territory__c="Region__c")
    assert manual.status_code == 302 and manual["Location"] == f"{accepted.page}?saved=mapped"
    assert mapping_of(accepted.publication)["Territory__c"] == "Region__c"
    text = accepted.partner.get(manual["Location"]).content.decode()
    warning = row(text, "Territory__c")
    assert "Target Region__c is required but source Territory__c may be blank" in warning
    assert "Add the filter &#x27;Territory__c is not blank&#x27;" in warning
    assert "Region__c is required and has no default" not in text

    lines = history(accepted.connection)
    assert f"{Kind.OBJECT_SUBSCRIBED}: Account → Account; {BY_PARTNER}" in lines
    assert f"{Kind.MAPPING_CHANGED}: Account.Territory__c: (none) → Region__c; {BY_PARTNER}" in lines
    admin_page = manager_client.get(
        reverse("admin:connections_connection_change", args=[accepted.connection.pk])
    ).content.decode()
    assert escape(f"Account.Territory__c: (none) → Region__c; {BY_PARTNER}") in admin_page


def test_a_mapping_that_breaks_a_rule_is_shown_next_to_its_field_with_the_fix(accepted):
    subscribe(accepted)
    refused = save_mapping(accepted, Territory__c="Code__c")
    text = refused.content.decode()
    assert refused.status_code == 400
    assert "Code__c" in row(text, "Territory__c") and "40" in row(text, "Territory__c")
    assert "widen Code__c to 40" in row(text, "Territory__c")
    assert mapping_of(accepted.publication)["Territory__c"] == ""
    unknown = save_mapping(accepted, Territory__c="Nope__c")
    assert unknown.status_code == 400 and "Account has no field “Nope__c”" in row(
        unknown.content.decode(), "Territory__c"
    )


def test_the_page_shows_nothing_else_of_the_console(accepted):
    subscribe(accepted)
    text = accepted.partner.get(accepted.page).content.decode()
    primary_org = accepted.connection.primary_org
    for secret in (primary_org.access_token, primary_org.client_id, primary_org.client_secret):
        assert secret not in text
    links = re.findall(r'(?:href|action|src)="([^"]*)"', text)
    assert links and all(link.startswith(("/static/", "/partner/", "#")) for link in links), links
    assert "<script>" not in text  # CSP: no inline scripts
    assert accepted.connection.owner.username not in text


def test_only_objects_published_to_the_partner_can_be_subscribed(accepted, manager_client, primary):
    other, _ = invite(manager_client, primary, name="Acme to Other")
    foreign = PublishedObject.objects.create(connection=other, source_object="Contact")
    unpublished = PublishedObject.objects.create(
        connection=accepted.connection, source_object="Contact", is_published=False
    )
    for publication in (foreign, unpublished, "x"):
        answer = accepted.partner.post(
            f"{accepted.page}object/", {"publication": getattr(publication, "pk", publication)}
        )
        assert answer.status_code == 404 and "not published to you" in answer.content.decode()
    not_yet = accepted.partner.post(f"{accepted.page}mapping/", {"publication": accepted.publication.pk})
    assert not_yet.status_code == 409 and "Subscribe first" in not_yet.content.decode()
    missing = subscribe(accepted, target_object="Widget__c")
    assert missing.status_code == 400 and "no object named “Widget__c”" in missing.content.decode()
    assert not SubscribedObject.objects.exists()


def test_a_revoked_link_no_longer_opens_the_subscribe_page(accepted, manager_client):
    change = reverse("admin:connections_connection_change", args=[accepted.connection.pk])
    assert "Revoke invitation" in manager_client.get(change).content.decode()
    url = reverse("admin:connections_connection_invitation", args=[accepted.connection.pk, "revoke"])
    assert manager_client.post(url).status_code == 302
    for answer in (
        accepted.partner.get(accepted.link),
        accepted.partner.get(accepted.page),
        subscribe(accepted),
        accepted.partner.post(f"{accepted.page}mapping/", {"publication": accepted.publication.pk}),
    ):
        assert answer.status_code == 410 and "withdrawn" in answer.content.decode()
    assert not SubscribedObject.objects.exists()
    assert history(accepted.connection)[-1] == (
        f"{Kind.INVITATION_REVOKED}: Partner link of Pat Partner <pat@partner.example> revoked: "
        "their subscribe page no longer opens"
    )
    assert "Revoke invitation" not in manager_client.get(change).content.decode()
    accepted.connection.refresh_from_db()
    assert accepted.connection.status == Connection.Status.ACTIVE  # their org stays connected


def test_a_deactivated_connection_ends_the_link(accepted):
    connection_services.connection_deactivate(connection=accepted.connection, actor=None, reason="done")
    answer = accepted.partner.get(accepted.page)
    assert answer.status_code == 410 and "deactivated" in answer.content.decode()


def test_forged_and_not_yet_accepted_links_cannot_subscribe(accepted, manager_client, primary):
    token = accepted.link.rstrip("/").rsplit("/", 1)[1]
    tampered = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    for path in (
        reverse("partner:subscribe", args=[accepted.connection.pk, tampered]),
        reverse("partner:subscribe", args=[accepted.connection.pk, "nonsense"]),
        reverse("partner:subscribe_object", args=[accepted.connection.pk + 1000, token]),
    ):
        page = Client().get(path) if path.endswith("subscribe/") else Client().post(path)
        assert page.status_code == 404 and "not valid" in page.content.decode(), path
    _, pending = invite(manager_client, primary, name="Acme to Pending")
    waiting = Client().get(f"{pending}subscribe/")
    assert waiting.status_code == 409 and "accept it first" in waiting.content.decode()


def test_the_accepted_link_outlives_the_invitation_expiry(accepted, settings):
    settings.ORGSYNC_INVITATION_EXPIRY_DAYS = 0
    assert accepted.partner.get(accepted.page).status_code == 200


def test_the_subscribe_page_is_rate_limited(accepted, settings):
    settings.ORGSYNC_PARTNER_RATE_LIMIT = 2
    cache.clear()  # the fixture's own requests counted too
    answers = [accepted.partner.get(accepted.page).status_code for _ in range(3)]
    assert answers == [200, 200, 429]


def test_salesforce_errors_are_said_without_their_text_and_never_500(accepted, monkeypatch):
    subscribe(accepted)

    def unreachable(self, *args, **kwargs):
        raise RetryableError(f"{self.org.instance_url} did not answer in time", error_code="TIMEOUT")

    monkeypatch.setattr(SalesforceClient, "describe", unreachable)
    monkeypatch.setattr(SalesforceClient, "describe_global", unreachable)
    page = accepted.partner.get(accepted.page)
    text = page.content.decode()
    assert page.status_code == 200 and "Salesforce answered TIMEOUT while reading the objects" in text
    assert "Salesforce answered TIMEOUT while reading the fields of Account → Account" in text
    assert accepted.connection.primary_org.instance_url not in text
    again = subscribe(accepted)
    assert again.status_code == 400 and "Salesforce answered TIMEOUT" in again.content.decode()
    mapped = save_mapping(accepted, Territory__c="Region__c")
    assert mapped.status_code == 400 and "the fields to map Territory__c" in mapped.content.decode()


def test_a_record_travels_to_the_partner_org_after_the_partner_subscribes(accepted):
    subscribe(accepted)
    assert save_mapping(accepted, Territory__c="Region__c").status_code == 302
    source_id = accepted.primary.org.create(
        "Account",
        {"Name": "Acme", "Industry": "Banking", "Territory__c": "EMEA"},
        user_id=accepted.primary.user_id,
    )
    sync_once(accepted.connection)
    [source] = (
        SalesforceClient(accepted.connection.primary_org)
        .query_page(f"SELECT Id, Name, Industry, Territory__c FROM Account WHERE Id = '{source_id}'")
        .records
    )
    [target] = (
        SalesforceClient(accepted.connection.secondary_org)
        .query_page(f"SELECT Id, Name, Industry, Region__c, {EXTERNAL_ID_FIELD} FROM Account")
        .records
    )
    assert (target["Name"], target["Industry"], target["Region__c"], target[EXTERNAL_ID_FIELD]) == (
        source["Name"],
        source["Industry"],
        source["Territory__c"],
        source_id,
    )

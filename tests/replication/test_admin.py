"""Publish → subscribe → map → analyze through the admin, as an Org Sync administrator."""

import pytest
from django.urls import reverse

from orgsync.roles import ADMINISTRATORS, OPERATORS
from replication.models import PublishedObject, SubscribedObject
from tests.factories import UserFactory


@pytest.fixture
def manager(db, client):
    client.force_login(UserFactory(groups=[ADMINISTRATORS]))
    return client


def publish_in_admin(client, linked, name: str):
    return client.post(
        reverse("admin:replication_publishedobject_add"),
        {"connection": linked.connection.pk, "direction": "p2s", "source_object": name},
    )


def test_publish_subscribe_map_and_analyze(manager, linked):
    linked.primary.org.add_custom_field("Account", "Code__c", type="string", length=80)
    linked.secondary.org.add_custom_field("Account", "Short__c", type="string", length=20)
    linked.secondary.org.add_custom_field("Account", "Region__c", type="string", length=40, required=True)
    assert publish_in_admin(manager, linked, "Account").status_code == 302
    publication = PublishedObject.objects.get(source_object="Account")
    page = manager.get(reverse("admin:replication_publishedobject_change", args=[publication.pk]))
    html = page.content.decode()
    assert "CreatedDate" in html and "Sync Feeds and Audit Fields" in html, "unsupported fields say why"

    answer = manager.post(reverse("admin:replication_publish_subscribe", args=[publication.pk]))
    subscription = SubscribedObject.objects.get()
    assert answer["Location"] == reverse("admin:replication_subscribedobject_change", args=[subscription.pk])

    change_url = reverse("admin:replication_subscribedobject_change", args=[subscription.pk])
    mappings = list(subscription.fields.order_by("id"))
    data = {"auto_accept": "on", "fields-TOTAL_FORMS": len(mappings), "fields-INITIAL_FORMS": len(mappings)}
    for i, mapping in enumerate(mappings):
        data[f"fields-{i}-id"] = mapping.pk
        data[f"fields-{i}-subscribed_object"] = subscription.pk
        data[f"fields-{i}-target_field"] = (
            "Short__c" if mapping.source_field == "Code__c" else mapping.target_field
        )
    refused = manager.post(change_url, data)
    assert refused.status_code == 200
    assert "Short__c" in refused.content.decode() and "80" in refused.content.decode()
    assert subscription.fields.get(source_field="Code__c").target_field == ""

    analysis = manager.get(reverse("admin:replication_subscription_analyze", args=[subscription.pk]))
    assert analysis.status_code == 200
    rows = [row for row in analysis.content.decode().split("<tr") if "Region__c" in row]
    assert rows and "finding-error" in rows[0], "the unmapped required target field is an error"


def test_publishing_an_unknown_object_is_a_form_error(manager, linked):
    """The object is chosen from the source org's describe: a name not among them is refused."""
    answer = publish_in_admin(manager, linked, "Acount")
    assert answer.status_code == 200
    assert "Select a valid choice" in answer.content.decode()
    assert not PublishedObject.objects.exists()


def test_operators_cannot_publish_or_subscribe(client, linked):
    client.force_login(UserFactory(groups=[OPERATORS]))
    assert publish_in_admin(client, linked, "Account").status_code == 403


def test_subscribe_as_another_object(manager, linked):
    """S2S lets a published object land in another object of the target org."""
    linked.secondary.org.add_custom_object("Company__c", label="Company", plural_label="Companies")
    publish_in_admin(manager, linked, "Account")
    publication = PublishedObject.objects.get(source_object="Account")
    answer = manager.post(
        reverse("admin:replication_publish_subscribe", args=[publication.pk]), {"target_object": "company__c"}
    )
    subscription = SubscribedObject.objects.get()
    assert subscription.target_object == "Company__c"
    assert answer["Location"] == reverse("admin:replication_subscribedobject_change", args=[subscription.pk])
    assert subscription.fields.get(source_field="Name").target_field == "", (
        "Company__c.Name holds 80 characters, Account.Name 255: not auto-mapped"
    )

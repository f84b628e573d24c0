"""Issue 17 in Chromium: Unpublish goes through a confirmation page with counts and a reason;
Refresh fields offers a field created in the source org after publishing."""

import re

import pytest
from playwright.sync_api import expect

from connections.models import ConnectionEvent
from orgsync.roles import ADMINISTRATORS
from replication import services
from replication.models import Direction, PublishedObject, RecordLink
from tests.browser.test_login_browser import sign_in
from tests.factories import PASSWORD, UserFactory
from tests.replication.conftest import linked_orgs

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def publish(linked) -> PublishedObject:
    return services.publication_publish(
        connection=linked.connection,
        direction=Direction.PRIMARY_TO_SECONDARY,
        source_object="Account",
        actor=None,
    )


def test_unpublish_confirms_with_counts_and_a_reason(page, sfemu_server):
    linked = linked_orgs(sfemu_server)
    publication = publish(linked)
    for n in range(3):
        RecordLink.objects.create(
            connection=linked.connection,
            primary_object="Account",
            primary_id=f"001P{n:014d}",
            secondary_object="Account",
            secondary_id=f"001S{n:014d}",
        )
    sign_in(page, UserFactory(groups=[ADMINISTRATORS]).username, PASSWORD)
    page.goto(f"/admin/replication/publishedobject/{publication.pk}/change/")
    page.get_by_role("button", name="Unpublish").click()
    expect(page).to_have_url(re.compile(r"/publishedobject/\d+/unpublish/"))
    expect(page.locator("#confirm-effect")).to_contain_text("3 linked record(s) will be disconnected")
    publication.refresh_from_db()
    assert publication.is_published, "the first click only asks"

    page.get_by_role("link", name="No, take me back").click()
    expect(page).to_have_url(re.compile(r"/publishedobject/\d+/change/"))
    page.get_by_role("button", name="Unpublish").click()
    page.fill("#id_reason", "Org retired")
    page.get_by_role("button", name="Yes, unpublish").click()
    expect(page.locator(".messagelist")).to_contain_text(
        "Account is no longer published: 3 linked record(s) disconnected."
    )
    expect(page.get_by_role("button", name="Unpublish")).to_have_count(0)
    publication.refresh_from_db()
    assert not publication.is_published and not RecordLink.objects.exists()
    event = linked.connection.events.get(kind=ConnectionEvent.Kind.OBJECT_UNPUBLISHED)
    assert event.detail.endswith("; reason: Org retired")


def test_refresh_fields_offers_a_new_field_to_publish(page, sfemu_server):
    linked = linked_orgs(sfemu_server)
    publication = publish(linked)
    linked.primary.org.add_custom_field("Account", "Tier__c", type="string", length=20)
    sign_in(page, UserFactory(groups=[ADMINISTRATORS]).username, PASSWORD)
    page.goto(f"/admin/replication/publishedobject/{publication.pk}/change/")
    expect(page.locator("tr.dynamic-fields", has_text="Tier__c")).to_have_count(0)

    page.get_by_role("button", name="Refresh fields").click()
    expect(page.locator(".messagelist")).to_contain_text("New field(s) of Account: Tier__c")
    row = page.locator("tr", has_text="Tier__c").first
    checkbox = row.locator("input[type=checkbox][name$=is_published]")
    expect(checkbox).not_to_be_checked()
    checkbox.check()
    page.click("input[name=_continue]")
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    assert publication.fields.get(source_field="Tier__c").is_published

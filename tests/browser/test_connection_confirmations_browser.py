"""Suspend and Deactivate ask first: the admin reads what will happen, gives a reason, confirms."""

import pytest
from playwright.sync_api import expect

from connections.models import Connection
from orgsync.roles import ADMINISTRATORS
from tests.browser.test_login_browser import sign_in
from tests.factories import PASSWORD, ConnectionFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_suspend_then_deactivate_through_their_confirmation_pages(page):
    from replication.models import RecordQueueItem

    manager = UserFactory(groups=[ADMINISTRATORS])
    connection = ConnectionFactory(status=Connection.Status.ACTIVE, name="Prod to DR")
    for n in range(2):
        RecordQueueItem.objects.create(
            connection=connection, direction="p2s", source_object="Account", source_id=f"001{n:015d}"
        )
    sign_in(page, manager.username, PASSWORD)
    change_url = f"/admin/connections/connection/{connection.pk}/change/"
    page.goto(change_url)

    page.get_by_role("button", name="Suspend").click()
    expect(page.get_by_role("heading", name="Suspend connection “Prod to DR”?")).to_be_visible()
    expect(page.locator("#transition-effect")).to_contain_text("keep queueing")
    page.get_by_role("link", name="No, take me back").click()
    expect(page.locator(".field-status .readonly")).to_have_text("Active")

    page.get_by_role("button", name="Suspend").click()
    page.fill("#id_reason", "Release weekend")
    page.get_by_role("button", name="Yes, suspend").click()
    expect(page.locator(".field-status .readonly")).to_have_text("Suspended")

    page.get_by_role("button", name="Deactivate").click()
    expect(page.locator("#transition-effect")).to_contain_text("for good")
    expect(page.locator("#transition-pending")).to_contain_text("items pending")
    page.fill("#id_reason", "Org retired")
    page.get_by_role("button", name="Yes, deactivate").click()
    expect(page.locator(".field-status .readonly")).to_have_text("Deactivated")

    history = page.locator("#events-group tbody tr.has_original")
    expect(history.nth(0)).to_contain_text("Org retired")
    expect(history.nth(0)).to_contain_text(manager.username)
    expect(history.filter(has_text="Release weekend")).to_have_count(1)
    connection.refresh_from_db()
    assert connection.status == Connection.Status.DEACTIVATED

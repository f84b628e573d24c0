"""The connection page as the hub, in a real Chromium at 1280 px: an admin sees the related lists
of a connection with real data under its buttons, and one click on a section's count opens the
filtered list. Screenshot in /tmp/hub.png."""

import pytest
from playwright.sync_api import expect

from orgsync.roles import ADMINISTRATORS
from replication import services
from replication.engine.cycle import sync_once
from replication.models import Direction, ReconcileRun
from synclog.models import SyncLog
from tests.browser.test_login_browser import sign_in
from tests.factories import PASSWORD, UserFactory
from tests.replication.conftest import linked_orgs

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
P2S = Direction.PRIMARY_TO_SECONDARY


def test_hub_shows_the_connection_and_a_section_link_opens_its_filtered_list(page, sfemu_server):
    linked = linked_orgs(sfemu_server)
    connection = linked.connection
    publication = services.publication_publish(
        connection=connection, direction=P2S, source_object="Account", actor=None
    )
    services.subscription_subscribe(publication=publication, actor=None)
    for name in ("Acme", "Globex"):
        linked.primary.org.create("Account", {"Name": name}, user_id=linked.primary.user_id)
    sync_once(connection)
    linked.secondary.org.add_custom_field("Account", "Region__c", type="string", length=40, required=True)
    failing = linked.primary.org.create("Account", {"Name": "No region"}, user_id=linked.primary.user_id)
    sync_once(connection)
    assert SyncLog.objects.get(source_id=failing).status == SyncLog.Status.FAILED

    ReconcileRun.objects.create(
        connection=connection, status=ReconcileRun.Status.COMPLETED, differences=12, api_calls=30
    )

    page.set_viewport_size({"width": 1280, "height": 1000})
    sign_in(page, UserFactory(groups=[ADMINISTRATORS]).username, PASSWORD)
    page.goto(f"/admin/connections/connection/{connection.pk}/change/")

    expect(page.locator("#hub-status")).to_have_text("Active")
    expect(page.locator("#sync-now-button")).to_be_visible()
    account = page.locator('#hub-objects tr[data-object="Account"]')
    expect(account.locator(".mapping-health")).to_have_text("1 error")
    expect(page.locator("#hub-runs tr.hub-run")).to_have_count(4)
    entry = page.locator("#hub-log tr.hub-log-entry")
    expect(entry).to_have_count(1)
    expect(entry).to_contain_text("REQUIRED_FIELD_MISSING")
    expect(page.locator("#hub-reconcile tr.hub-reconcile")).to_have_count(1)
    for slug in ("objects", "queue", "runs", "log", "gaps", "reconcile"):
        box = page.locator(f"#hub-{slug}").bounding_box()
        assert box and box["x"] + box["width"] <= 1280, f"{slug} fits the window"
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280, "the page scrolls sideways"
    page.screenshot(path="/tmp/hub.png", full_page=True)

    page.locator('#hub-log .log-total[data-status="failed"] a').click()
    expect(page.get_by_role("heading", name="Select sync log to view")).to_be_visible()
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(failing)
    expect(rows.first).to_contain_text("REQUIRED_FIELD_MISSING")

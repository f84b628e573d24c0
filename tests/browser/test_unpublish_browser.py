"""Issue 14 in Chromium: on the demo's two-way connection, an admin clicks Unpublish on Account
(Primary → secondary); the Secondary → primary direction goes on without copying a record back."""

import re

import pytest
from playwright.sync_api import expect

from orgsync import demo
from replication.engine.cycle import sync_once
from replication.models import Direction, PublishedObject, QueueStatus, RecordLink, RecordQueueItem
from sfemu.seed import seed_demo
from synclog.models import SyncLog
from tests.browser.test_login_browser import sign_in
from tests.connections.emu import connect_by_password
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def account_names(handle) -> list[str]:
    records = handle.org.query("SELECT Name FROM Account", include_deleted=False, api_version="62.0").records
    return sorted(r["Name"] for r in records)


def test_unpublish_one_direction_of_the_demo_connection(page, sfemu_server):
    primary, secondary = sfemu_server.create_org(), sfemu_server.create_org()
    seed_demo(primary.org, accounts=5)
    orgs = [connect_by_password(sfemu_server, primary), connect_by_password(sfemu_server, secondary)]
    connection = demo.ensure_demo_connection(orgs)  # Account, Contact, Opportunity, Case both ways
    sync_once(connection)  # users copied with .dr, then Active
    connection.refresh_from_db()
    assert connection.status == "active"
    edited = [
        r["Id"] for r in primary.org.query("SELECT Id FROM Account LIMIT 3", api_version="62.0").records
    ]
    for n, record_id in enumerate(edited):
        primary.org.update("Account", record_id, {"Name": f"Edited {n}"}, user_id=primary.user_id)
    for _ in range(2):
        sync_once(connection)
    assert RecordLink.objects.filter(primary_object="Account").count() == 3
    in_primary = account_names(primary)

    sign_in(page, UserFactory(is_superuser=True).username, PASSWORD)
    page.goto(
        f"/admin/replication/publishedobject/?connection__id__exact={connection.pk}&direction__exact=p2s"
    )
    page.get_by_role("link", name="Account", exact=True).click()
    expect(page).to_have_url(re.compile(r"/replication/publishedobject/\d+/change/"))
    expect(page.locator(".field-direction .readonly")).to_have_text("Primary → secondary")
    page.get_by_role("button", name="Unpublish").click()
    page.get_by_role("button", name="Yes, unpublish").click()
    expect(page.locator(".messagelist")).to_contain_text(
        "Account is no longer published: 3 linked record(s) kept for the Secondary → primary direction."
    )
    expect(page.get_by_role("button", name="Unpublish")).to_have_count(0)
    publication = PublishedObject.objects.get(
        connection=connection, direction=Direction.PRIMARY_TO_SECONDARY, source_object="Account"
    )
    assert not publication.is_published

    copy_id = RecordLink.objects.get(primary_id=edited[0]).secondary_id
    secondary.org.update("Account", copy_id, {"Phone": "555-0100"}, user_id=secondary.user_id)
    secondary.org.create("Account", {"Name": "Born in the secondary"}, user_id=secondary.user_id)
    for _ in range(3):
        sync_once(connection)
    assert account_names(primary) == sorted([*in_primary, "Born in the secondary"]), "no duplicate"
    phone = primary.org.get("Account", edited[0], ["Phone"], api_version="62.0")["Phone"]
    assert phone == "555-0100", "the linked copy's change travelled back by its link"
    assert not RecordQueueItem.objects.filter(status=QueueStatus.IN_PROGRESS).exists()
    assert not SyncLog.objects.filter(status=SyncLog.Status.FAILED).exists()
    assert account_names(secondary) == sorted([*(f"Edited {n}" for n in range(3)), "Born in the secondary"])

"""An admin runs a bulk sync from a connection's page in Chromium, against two sfemu orgs: the
Bulk Sync page, the progress page, Cancel, the disabled button and a refused cutoff date."""

import re
from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from orgsync.roles import ADMINISTRATORS, OPERATORS
from replication.models import EXTERNAL_ID_FIELD, BulkSync, RecordLink
from replication.services.bulk_sync import bulk_sync_start
from tests.browser.test_login_browser import sign_in
from tests.factories import PASSWORD, UserFactory
from tests.replication.conftest import linked_orgs
from tests.replication.test_bulk_sync import seed, subscribe, target_rows

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def linked(sfemu_server):
    linked = linked_orgs(sfemu_server)
    subscribe(linked, "Account", "Contact")
    return linked


def test_start_a_bulk_sync_and_watch_it_complete(page, linked):
    _, contact_ids = seed(linked, 4, 2)
    sign_in(page, UserFactory(groups=[ADMINISTRATORS]).username, PASSWORD)

    page.goto(f"/admin/connections/connection/{linked.connection.pk}/change/")
    page.get_by_role("link", name="Bulk Sync", exact=True).click()
    expect(page.get_by_role("heading", name=f"Bulk Sync: {linked.connection}")).to_be_visible()
    expect(page.get_by_label("Account")).to_be_checked()
    expect(page.get_by_label("Contact")).to_be_checked()
    page.get_by_role("button", name="Start Sync").click()

    expect(page).to_have_url(re.compile(r"/admin/replication/bulksync/\d+/change/$"))
    expect(page.locator("#bulk-status")).to_have_text("Completed")
    contacts = page.locator("#object-Contact")
    expect(contacts.locator(".processed")).to_have_text("8 / 8")
    expect(contacts.locator(".inserted")).to_have_text("8")
    expect(contacts.get_by_role("progressbar")).to_have_attribute("aria-valuenow", "100")
    expect(page.locator("#object-Account .inserted")).to_have_text("4")
    expect(page.locator("#cancel-bulk-sync")).to_have_count(0)
    assert sorted(r[EXTERNAL_ID_FIELD] for r in target_rows(linked, "Contact", EXTERNAL_ID_FIELD)) == sorted(
        contact_ids
    )
    assert RecordLink.objects.count() == 12

    page.goto("/admin/replication/bulksync/")
    row = page.locator("#result_list tbody tr").first
    expect(row).to_contain_text("Completed")
    expect(row).to_contain_text("100 %")


def test_the_button_is_disabled_while_one_is_unfinished_and_cancel_frees_it(page, linked):
    unfinished = bulk_sync_start(connection=linked.connection, actor=None, run_in_worker=False)
    sign_in(page, UserFactory(groups=[ADMINISTRATORS]).username, PASSWORD)

    page.goto(f"/admin/connections/connection/{linked.connection.pk}/change/")
    button = page.locator("#bulk-sync-button")
    expect(button).to_be_disabled()
    expect(button).to_have_attribute("title", re.compile(f"Bulk sync #{unfinished.pk} is queued"))

    page.get_by_role("link", name=f"Bulk sync #{unfinished.pk}").click()
    expect(page.locator("#bulk-status")).to_have_text("Queued")
    page.locator("#cancel-bulk-sync").click()
    page.get_by_role("button", name="Yes, cancel it").click()
    expect(page.locator("#bulk-status")).to_have_text("Cancelled")
    unfinished.refresh_from_db()
    assert unfinished.status == BulkSync.Status.CANCELLED

    page.goto(f"/admin/connections/connection/{linked.connection.pk}/change/")
    expect(page.get_by_role("link", name="Bulk Sync", exact=True)).to_be_visible()


def test_a_cutoff_more_than_a_year_ago_is_refused_next_to_the_field(page, linked):
    sign_in(page, UserFactory(groups=[ADMINISTRATORS]).username, PASSWORD)
    page.goto(f"/admin/replication/bulksync/start/{linked.connection.pk}/")
    page.fill("#id_since", (timezone.now() - timedelta(days=400)).strftime("%Y-%m-%d"))
    page.get_by_role("button", name="Start Sync").click()
    expect(page.locator(".field-since .errorlist")).to_contain_text("more than a year ago")
    assert not BulkSync.objects.exists()


def test_operators_may_not_start_one(page, linked):
    sign_in(page, UserFactory(groups=[OPERATORS]).username, PASSWORD)
    answer = page.goto(f"/admin/replication/bulksync/start/{linked.connection.pk}/")
    assert answer.status == 403

"""An operator watches the dashboard and retries a failed record, in Chromium, against two sfemu
orgs where a real engine run failed three Accounts."""

import re

import pytest
from playwright.sync_api import expect

from orgsync.roles import OPERATORS
from replication.engine.cycle import sync_once
from synclog.models import SyncLog
from tests.browser.test_login_browser import sign_in
from tests.factories import PASSWORD, UserFactory
from tests.replication.conftest import linked_orgs
from tests.synclog.conftest import fail_accounts

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_dashboard_then_retry_one_failed_record(page, sfemu_server):
    failing = fail_accounts(linked_orgs(sfemu_server), ["Acme", "Globex", "Initech"])
    failing.linked.secondary.clear_faults()
    sign_in(page, UserFactory(groups=[OPERATORS]).username, PASSWORD)

    page.get_by_role("link", name="Dashboard").click()
    expect(page).to_have_url(re.compile(r"/admin/synclog/dashboard/$"))
    section = page.locator(f"#connection-{failing.connection.pk}")
    expect(section.locator(".status")).to_have_text("Active")
    expect(section.locator(".throughput-total")).to_have_text("0 / 3")
    expect(section.locator("svg.throughput rect.bar-failed")).to_have_count(1)
    expect(page.locator("#overall-success")).to_contain_text("0 %")

    section.get_by_role("link", name="Failed entries").click()
    rows = page.locator("#result_list tbody tr")
    expect(rows).to_have_count(3)
    row = rows.filter(has_text=failing.source_ids[0])
    row.get_by_role("button", name="Retry").click()
    expect(page.locator(".messagelist")).to_contain_text("1 record(s) sent back to the record queue")

    sync_once(failing.connection)  # what the engine's next tick does
    entry = SyncLog.objects.get(source_id=failing.source_ids[0])
    assert entry.status == SyncLog.Status.RESOLVED

    page.goto(f"/admin/synclog/synclog/{entry.pk}/change/")
    expect(page.locator(".field-status .readonly")).to_have_text("Resolved")
    expect(page.locator(".field-explanation")).to_contain_text("locked by another process")
    page.locator(".field-run_link a").click()
    expect(page.locator(".fieldBox.field-succeeded .readonly")).to_have_text("1")
    expect(page.locator(".fieldBox.field-failed .readonly")).to_have_text("2")

    page.goto("/admin/synclog/dashboard/")
    expect(page.locator("#overall-success")).to_contain_text("33 %")

"""The record queue's list at 1280 x 800 in Chromium: Status, Attempts, Next Retry Date and Last
error are on screen without scrolling sideways; an administrator ignores an item from its page."""

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from orgsync.roles import ADMINISTRATORS
from replication.models import QueueStatus, RecordQueueItem
from synclog.models import SyncLog
from tests.browser.test_login_browser import sign_in
from tests.factories import PASSWORD, ConnectionFactory, UserFactory
from tests.synclog.factories import RecordQueueItemFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WIDTH, HEIGHT = 1280, 800
LONG_ERROR = (
    "Required fields are missing: [Region__c, Territory__c, Billing_Country_Code__c]; the target "
    "org's validation rule Account_Needs_Region refused the record after three attempts"
)
COLUMNS = {
    "status": "Status",
    "attempts": "Attempts",
    "next_retry": "Next Retry Date",
    "last_error": "Last error",
}


@pytest.fixture
def wide_page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": WIDTH, "height": HEIGHT})
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


def inside_viewport(locator) -> None:
    box = locator.bounding_box()
    assert box is not None, f"{locator} is not rendered"
    assert box["x"] >= 0 and box["x"] + box["width"] <= WIDTH, f"{locator} sticks out sideways: {box}"


def test_queue_list_fits_1280_and_ignore_from_the_item_page(wide_page):
    page = wide_page
    connection = ConnectionFactory(name="Production to Disaster Recovery (EMEA)")
    item = RecordQueueItemFactory(
        connection=connection,
        source_object="Opportunity",
        status=QueueStatus.RETRYING,
        attempts=4,
        next_retry_at=timezone.now() + timedelta(minutes=20),
        last_error_code="FIELD_CUSTOM_VALIDATION_EXCEPTION",
        last_error_message=LONG_ERROR,
    )
    RecordQueueItemFactory(connection=connection, source_object="Contact")
    sign_in(page, UserFactory(groups=[ADMINISTRATORS]).username, PASSWORD)

    page.goto("/admin/replication/recordqueueitem/")
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH, "the page scrolls sideways"
    row = page.locator("#result_list tbody tr").filter(has_text=item.source_id)
    for field, header in COLUMNS.items():
        th = page.locator(f"#result_list thead th.column-{field}")
        expect(th).to_have_text(header)
        inside_viewport(th)
        inside_viewport(row.locator(f"td.field-{field}"))
    expect(row.locator("td.field-status")).to_have_text("Retrying")
    expect(row.locator("td.field-action_and_direction")).to_contain_text("Primary → secondary")
    error = row.locator("td.field-last_error .queue-error")
    expect(error).to_have_attribute("title", f"FIELD_CUSTOM_VALIDATION_EXCEPTION: {LONG_ERROR}")
    assert len(error.inner_text()) < len(LONG_ERROR)

    row.locator("a.queue-item").click()
    expect(page.locator("#queue-retry")).to_be_visible()
    page.locator("#queue-ignore").click()
    expect(page.locator("#content-main")).to_contain_text("not sent")
    assert RecordQueueItem.objects.filter(pk=item.pk).exists(), "nothing happens before confirming"
    page.locator("#confirm-ignore").click()
    expect(page.locator(".messagelist")).to_contain_text(f"{item.source_id} ignored")
    assert not RecordQueueItem.objects.filter(pk=item.pk).exists()

    page.locator(".messagelist a").click()
    log_row = page.locator("#result_list tbody tr").filter(has_text=item.source_id)
    expect(log_row.locator("td.field-status")).to_have_text("Resolved")
    expect(log_row.locator("td.field-error_code")).to_have_text("IGNORED")
    assert SyncLog.objects.get(source_id=item.source_id).message.startswith("Ignored by operator")

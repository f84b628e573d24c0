"""An admin gets org differences, selects some and validates a synchronization, in Chromium."""

import re

import pytest
from playwright.sync_api import expect

from metadiff.models import Deployment
from orgsync.roles import ADMINISTRATORS
from tests.browser.test_login_browser import sign_in
from tests.factories import PASSWORD, UserFactory
from tests.metadiff.conftest import org_pair

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_get_differences_then_validate_a_synchronization(page, sfemu_server):
    pair = org_pair(sfemu_server)
    sign_in(page, UserFactory(groups=[ADMINISTRATORS]).username, PASSWORD)

    page.goto("/admin/metadiff/diffrun/")
    page.get_by_role("link", name="Get org differences").click()
    page.fill("#id_name", "Source to destination")
    page.select_option("#id_source_org", label=str(pair.source_org))
    page.select_option("#id_destination_org", label=str(pair.destination_org))
    page.click("#get-differences")
    expect(page).to_have_url(re.compile(r"/metadiff/diffrun/\d+/change/"))
    expect(page.locator(".field-status .readonly")).to_have_text("Successful")

    page.get_by_role("link", name="View differences").click()
    region = page.locator("tr.component", has_text="Account.Region__c")
    expect(region).to_contain_text("Only in source")
    expect(page.locator("tr.component", has_text="Account.Tier__c")).to_contain_text("Picklist value Bronze")
    region.locator("input[name=add]").check()
    page.locator("tr.component", has_text="Sales").locator("input[name=delete]").check()
    page.click("#synchronize")

    expect(page.locator("#selected")).to_contain_text("Add or update CustomField Account.Region__c")
    page.check("#id_validate_only")
    page.select_option("#id_test_level", "RunLocalTests")
    page.click("#deploy")
    expect(page).to_have_url(re.compile(r"/metadiff/deployment/\d+/change/"))
    expect(page.locator(".deployment-log")).to_contain_text("validation only")
    deployment = Deployment.objects.get()
    assert deployment.validate_only and deployment.test_level == "RunLocalTests"
    assert pair.destination.org.schema.field("Account", "Region__c") is None, "a validation changes nothing"

    page.goto("/admin/metadiff/diffrun/")
    expect(page.locator("#result_list")).to_contain_text("Source to destination")
    page.locator("a.run-log").first.click()
    expect(page.locator("#run-log")).to_contain_text("Compared")

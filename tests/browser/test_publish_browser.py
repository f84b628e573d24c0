"""An admin publishes, subscribes, analyzes, fixes the mapping and runs a pre-flight in Chromium."""

import re

import pytest
from playwright.sync_api import expect

from orgsync.roles import ADMINISTRATORS
from replication.models import SubscribedObject
from tests.browser.test_login_browser import sign_in
from tests.factories import PASSWORD, UserFactory
from tests.replication.conftest import linked_orgs

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_publish_subscribe_analyze_fix_preflight(page, sfemu_server):
    linked = linked_orgs(sfemu_server)
    linked.primary.org.add_custom_field("Account", "Code__c", type="string", length=80)
    linked.secondary.org.add_custom_field("Account", "Code__c", type="string", length=20)
    linked.secondary.org.add_custom_field("Account", "Code_Long__c", type="string", length=120)
    linked.primary.org.create(
        "Account", {"Name": "Preflight me", "Code__c": "A-1"}, user_id=linked.primary.user_id
    )
    sign_in(page, UserFactory(groups=[ADMINISTRATORS]).username, PASSWORD)

    page.goto("/admin/replication/publishedobject/add/")
    page.select_option("#id_connection", label=str(linked.connection))
    page.select_option("#id_source_object", "Account")
    page.click("input[name=_continue]")
    expect(page.locator(".field-source_object .readonly")).to_have_text("Account")
    page.get_by_role("button", name=re.compile("Subscribe in")).click()
    expect(page).to_have_url(re.compile(r"/replication/subscribedobject/\d+/change/"))
    subscription = SubscribedObject.objects.get()

    page.get_by_role("link", name="Analyze mapping").click()
    expect(page.locator("#content-main")).to_be_visible()

    page.go_back()
    code_row = page.locator("tr.dynamic-fields").filter(
        has=page.locator("td.field-source_field", has_text=re.compile(r"^\s*Code__c\s*$"))
    )
    code_row.locator("select[name$=target_field]").select_option("Code__c")
    page.click("input[name=_continue]")
    expect(page.locator(".errorlist")).to_contain_text("Code__c")
    code_row = page.locator("tr.dynamic-fields").filter(
        has=page.locator("td.field-source_field", has_text=re.compile(r"^\s*Code__c\s*$"))
    )
    code_row.locator("select[name$=target_field]").select_option("Code_Long__c")
    page.click("input[name=_continue]")
    expect(page.locator(".messagelist")).to_contain_text("was changed successfully")
    assert subscription.fields.get(source_field="Code__c").target_field == "Code_Long__c"

    page.get_by_role("link", name="Pre-flight").click()
    expect(page.locator("#preflight-operation")).to_contain_text("insert (upsert on OrgSync_Source_Id__c)")
    payload = page.locator("#payload")
    expect(payload).to_contain_text("Code_Long__c")
    expect(payload).to_contain_text("A-1")
    assert linked.secondary.org.record_counts(["Account"]).get("Account", 0) == 0, "pre-flight writes nothing"

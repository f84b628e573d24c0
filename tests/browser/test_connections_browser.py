"""An admin connects two sfemu orgs through the real PKCE flow and runs a connection."""

import re

import pytest
from playwright.sync_api import expect

from connections.models import Connection, Org
from orgsync.roles import ADMINISTRATORS
from tests.browser.test_login_browser import sign_in
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def connect_org_in_browser(page, sfemu_server, handle, callback: str) -> None:
    app = sfemu_server.create_app(handle, callback_urls=[callback], require_secret=False)
    page.goto("/admin/connections/org/add/")
    expect(page.get_by_role("heading", name="Connect New Org")).to_be_visible()
    page.fill("#id_label", handle.name)
    page.select_option("#id_environment", "custom")
    page.fill("#id_custom_login_url", sfemu_server.url)
    page.select_option("#id_auth_method", "oauth_pkce")
    page.fill("#id_client_id", app.client_id)
    page.get_by_role("heading", name="Trust", exact=True).click()
    page.fill("#id_ca_bundle", sfemu_server.ca_path.read_text())
    page.click("input[name=_save]")
    expect(page).to_have_url(re.compile(r"/services/oauth2/authorize"))
    page.fill("#username", handle.username)
    page.fill("#password", handle.password)
    page.click("#Login")
    expect(page.get_by_text(f"as {handle.username}")).to_be_visible()
    expect(page.locator(".field-org_id .readonly")).to_have_text(handle.org_id)


def test_pkce_connect_two_orgs_then_accept_suspend_resume(page, live_server, sfemu_server):
    manager = UserFactory(groups=[ADMINISTRATORS])
    sign_in(page, manager.username, PASSWORD)
    callback = f"{live_server.url}/admin/connections/org/oauth/callback/"
    primary, secondary = (
        sfemu_server.create_org("browser-primary"),
        sfemu_server.create_org("browser-secondary"),
    )
    for handle in (primary, secondary):
        connect_org_in_browser(page, sfemu_server, handle, callback)
    assert Org.objects.filter(org_id__in=[primary.org_id, secondary.org_id]).count() == 2

    page.goto("/admin/connections/connection/add/")
    page.fill("#id_name", "Primary to secondary")
    page.select_option("#id_primary_org", label="browser-primary")
    page.select_option("#id_secondary_org", label="browser-secondary")
    page.fill("#id_owner_username", primary.username)
    page.click("input[name=_continue]")
    expect(page.locator(".field-status .readonly")).to_have_text("Invited")

    for button, status in (("Accept", "Active"), ("Suspend", "Suspended"), ("Resume", "Active")):
        page.get_by_role("button", name=button).click()
        if button == "Suspend":  # suspending asks first (an optional reason goes into the history)
            page.get_by_role("button", name="Yes, suspend").click()
        expect(page.locator(".field-status .readonly")).to_have_text(status)

    history = page.locator("#events-group tbody tr.has_original")
    expect(history).to_have_count(4)
    expect(history.nth(0)).to_contain_text("Connection Admin Resumed")
    expect(history.nth(1)).to_contain_text("Connection Admin Suspended")
    expect(history.nth(2)).to_contain_text("Connection Accepted")
    expect(history.nth(3)).to_contain_text("Connection Created")
    expect(history.nth(0)).to_contain_text(manager.username)
    connection = Connection.objects.get()
    assert connection.owner_user_id == primary.user_id

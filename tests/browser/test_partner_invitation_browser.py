"""Issue 19 in a real browser: an admin invites a partner by email; the partner opens the mailed
link without a console account, signs in to their own sfemu org by PKCE and accepts — with no
Content-Security-Policy violation on the way; then subscribes on their side through the same
link, and one engine cycle carries a record to their org."""

import re
from types import SimpleNamespace

import pytest
from django.core import mail
from playwright.sync_api import expect

from connections.client import SalesforceClient
from connections.models import Connection, Org
from orgsync.roles import ADMINISTRATORS
from replication import services
from replication.engine.cycle import sync_once
from replication.models import EXTERNAL_ID_FIELD, Direction
from tests.browser.test_login_browser import sign_in
from tests.connections.emu import connect_by_password
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def connected_primary(sfemu_server, handle, callback: str) -> Org:
    return connect_by_password(sfemu_server, handle, callback_urls=[callback])


def invite_and_accept(page, browser, live_server, sfemu_server, name: str = "browser") -> SimpleNamespace:
    """The admin invites; the partner, in their own browser (no console session), signs in to
    their sfemu org (`name`-partner) by PKCE and accepts. Returns the partner's tab and browser
    context, the mailed link, the tab's console messages and both orgs' sfemu handles."""
    primary_handle = sfemu_server.create_org(f"{name}-inviter")
    partner_handle = sfemu_server.create_org(f"{name}-partner")
    connected_primary(sfemu_server, primary_handle, f"{live_server.url}/partner/oauth/callback/")
    manager = UserFactory(groups=[ADMINISTRATORS])
    sign_in(page, manager.username, PASSWORD)

    page.goto("/admin/connections/connection/add/")
    page.fill("#id_name", "Inviter to partner")
    page.select_option("#id_primary_org", label=f"{name}-inviter (password)")
    page.fill("#id_partner_name", "Pat Partner")
    page.fill("#id_partner_email", "pat@partner.example")
    page.fill("#id_owner_username", primary_handle.username)
    page.click("#send-invite-button")
    expect(page.locator("#partner-invitation")).to_contain_text("Pending")
    link = re.search(r"http://\S+/partner/invitations/\S+/", mail.outbox[-1].body).group(0)

    partner = browser.new_context()  # the partner's own browser: no console session
    violations: list[str] = []
    tab = partner.new_page()
    tab.on("console", lambda message: violations.append(message.text))
    tab.goto(link)
    expect(tab.locator("#who")).to_contain_text(f"{name}-inviter")
    expect(tab.locator("#permissions")).to_contain_text("Customize Application")
    tab.select_option("#id_environment", "custom")
    tab.fill("#id_custom_domain", sfemu_server.url)
    tab.click("#signin-button")
    expect(tab).to_have_url(re.compile(r"/services/oauth2/authorize"))
    tab.fill("#username", partner_handle.username)
    tab.fill("#password", partner_handle.password)
    tab.click("#Login")
    expect(tab.locator("#signed-in")).to_contain_text(partner_handle.org_id)
    tab.click("#accept-button")
    expect(tab.locator("#outcome")).to_contain_text("Active")
    return SimpleNamespace(
        tab=tab,
        context=partner,
        link=link,
        violations=violations,
        primary=primary_handle,
        partner=partner_handle,
    )


def test_partner_accepts_the_invitation_in_the_browser(page, browser, live_server, sfemu_server):
    invited = invite_and_accept(page, browser, live_server, sfemu_server)
    invited.context.close()

    connection = Connection.objects.select_related("secondary_org").get()
    assert connection.status == Connection.Status.ACTIVE
    assert connection.secondary_org.org_id == invited.partner.org_id
    assert not [v for v in invited.violations if "Content Security Policy" in v]
    page.reload()
    expect(page.locator("#partner-invitation")).to_contain_text("Accepted")
    expect(page.locator("#events-group")).to_contain_text("Invitation accepted by partner Pat Partner")


def test_partner_subscribes_and_a_record_travels_in_the_browser(page, browser, live_server, sfemu_server):
    invited = invite_and_accept(page, browser, live_server, sfemu_server, name="subscriber")
    invited.primary.org.add_custom_field("Account", "Territory__c", type="string", length=40)
    invited.partner.org.add_custom_field("Account", "Region__c", type="string", length=40, required=True)
    connection = Connection.objects.get()
    services.publication_publish(
        connection=connection, direction=Direction.PRIMARY_TO_SECONDARY, source_object="Account", actor=None
    )
    tab = invited.tab
    tab.click("#subscribe-link")
    expect(tab.locator("#object-Account h2")).to_contain_text("not subscribed yet")
    tab.select_option("#object-Account select[name=target_object]", "Account")
    tab.click("#subscribe-Account")
    expect(tab.locator("#partner-notice")).to_contain_text("Subscribed")
    expect(tab.locator("#object-Account .object-problems")).to_contain_text("Map a source field to Region__c")

    tab.goto(invited.link)  # the mailed link now opens the subscribe page
    tab.select_option("#object-Account select[name='map:Territory__c']", "Region__c")
    tab.click("#save-Account")
    expect(tab.locator("#partner-notice")).to_contain_text("Mapping saved")
    expect(tab.locator("#row-Account-Territory__c")).to_contain_text(
        "Add the filter 'Territory__c is not blank'"
    )
    invited.context.close()
    assert not [v for v in invited.violations if "Content Security Policy" in v]

    source_id = invited.primary.org.create(
        "Account", {"Name": "Acme", "Territory__c": "EMEA"}, user_id=invited.primary.user_id
    )
    sync_once(connection)
    [target] = (
        SalesforceClient(connection.secondary_org)
        .query_page(f"SELECT Name, Region__c, {EXTERNAL_ID_FIELD} FROM Account")
        .records
    )
    assert (target["Name"], target["Region__c"], target[EXTERNAL_ID_FIELD]) == ("Acme", "EMEA", source_id)
    page.reload()
    expect(page.locator("#events-group")).to_contain_text("by partner Pat Partner")

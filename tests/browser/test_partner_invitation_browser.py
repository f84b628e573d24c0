"""Issue 19 in a real browser: an admin invites a partner by email; the partner opens the mailed
link without a console account, signs in to their own sfemu org by PKCE and accepts — with no
Content-Security-Policy violation on the way."""

import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from connections.models import Connection, Org
from orgsync.roles import ADMINISTRATORS
from tests.browser.test_login_browser import sign_in
from tests.connections.emu import connect_by_password
from tests.factories import PASSWORD, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def connected_primary(sfemu_server, handle, callback: str) -> Org:
    return connect_by_password(sfemu_server, handle, callback_urls=[callback])


def test_partner_accepts_the_invitation_in_the_browser(page, browser, live_server, sfemu_server):
    primary_handle = sfemu_server.create_org("browser-inviter")
    partner_handle = sfemu_server.create_org("browser-partner")
    connected_primary(sfemu_server, primary_handle, f"{live_server.url}/partner/oauth/callback/")
    manager = UserFactory(groups=[ADMINISTRATORS])
    sign_in(page, manager.username, PASSWORD)

    page.goto("/admin/connections/connection/add/")
    page.fill("#id_name", "Inviter to partner")
    page.select_option("#id_primary_org", label="browser-inviter (password)")
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
    expect(tab.locator("#who")).to_contain_text("browser-inviter")
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
    partner.close()

    connection = Connection.objects.select_related("secondary_org").get()
    assert connection.status == Connection.Status.ACTIVE
    assert connection.secondary_org.org_id == partner_handle.org_id
    assert not [v for v in violations if "Content Security Policy" in v]
    page.reload()
    expect(page.locator("#partner-invitation")).to_contain_text("Accepted")
    expect(page.locator("#events-group")).to_contain_text("Invitation accepted by partner Pat Partner")

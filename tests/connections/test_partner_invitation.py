"""Inviting a partner company's org by email (issue 19): the admin invites, the partner opens
the mailed link, signs in to their own sfemu org by PKCE and accepts or declines; every link
that must not open the invitation answers a clear 4xx page."""

import re

import pytest
from django.core import mail, signing
from django.test import Client
from django.urls import reverse

from connections import invitations, services
from connections.models import Connection, ConnectionEvent, Org, PartnerInvitation
from orgsync.roles import ADMINISTRATORS, OPERATORS
from replication.models import PublishedField, PublishedObject
from synclog.alerts import alerts_send_due
from tests.connections.emu import PARTNER_CALLBACK, approve_in_browser
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db
Kind = ConnectionEvent.Kind
PARTNER = "pat@partner.example"


def invite(manager_client, primary, name: str = "Acme to Partner") -> tuple[Connection, str]:
    """Save & Send Invite on a new connection; return it and the path of the mailed link."""
    handle, org = primary
    response = manager_client.post(
        reverse("admin:connections_connection_add"),
        {
            "name": name,
            "primary_org": org.pk,
            "partner_name": "Pat Partner",
            "partner_email": "pat@partner.example",
            "owner_username": handle.username,
            "direction": "one_way",
            "conflict_policy": "primary_wins",
            "max_retry_attempts": 5,
            "_send_invite": "Save & Send Invite",
            **management_forms(manager_client),
        },
    )
    assert response.status_code == 302, response.content.decode()
    connection = Connection.objects.get(name=name)
    assert response["Location"] == reverse("admin:connections_connection_change", args=[connection.pk])
    return connection, link_in(mail.outbox[-1])


def management_forms(client: Client) -> dict[str, str]:
    """The inline formsets' management fields of the add page, as the browser would post them."""
    page = client.get(reverse("admin:connections_connection_add")).content.decode()
    return dict(re.findall(r'name="([\w-]+-(?:TOTAL|INITIAL|MIN_NUM|MAX_NUM)_FORMS)" value="(\d*)"', page))


def link_in(message) -> str:
    return re.search(r"http://testserver(/partner/invitations/\S+/)", message.body).group(1)


def sign_in(partner: Client, server, handle, link: str) -> str:
    """Sign in on the partner page (My Domain = the sfemu URL), approve in the org's page,
    follow the callback; return the partner page path it sends back to."""
    started = partner.post(f"{link}signin/", {"environment": "custom", "custom_domain": server.url})
    assert started.status_code == 302, started.content.decode()
    assert started["Location"].startswith(f"{server.url}/services/oauth2/authorize?")
    answer = approve_in_browser(server, handle, started["Location"])
    back = partner.get(reverse("partner:oauth_callback"), answer)
    assert back.status_code == 302, back.content.decode()
    return back["Location"]


def history(connection: Connection) -> list[str]:
    return [f"{e.kind}: {e.detail}" for e in connection.events.order_by("at", "id")]


def test_invite_sign_in_by_pkce_and_accept_connects_the_partner_org(
    manager_client, primary, partner_handle, sfemu_server
):
    connection, link = invite(manager_client, primary)
    message = mail.outbox[-1]
    assert message.to == ["Pat Partner <pat@partner.example>"]
    assert message.from_email == "orgsync <orgsync@localhost>"
    assert message.subject == f"{primary[1].org_name} invites you to connect your Salesforce org"
    assert connection.status == Connection.Status.INVITED and not connection.secondary_org.is_connected
    published = PublishedObject.objects.create(connection=connection, source_object="Account")
    PublishedField.objects.create(published_object=published, source_field="Name")
    PublishedField.objects.create(published_object=published, source_field="Secret__c", is_published=False)

    partner = Client()
    page = partner.get(link)
    text = page.content.decode()
    assert page.status_code == 200
    assert primary[1].org_name in text and "Pat Partner" in text
    assert "Account" in text and "Name" in text and "Secret__c" not in text
    assert "Customize Application" in text and "Accept" in text
    for secret in (primary[1].access_token, primary[1].client_id, primary[1].client_secret, 'href="/admin/'):
        assert secret not in text
    assert "<script>" not in text  # CSP: no inline scripts

    back = sign_in(partner, sfemu_server, partner_handle, link)
    assert "Signed in to" in partner.get(back).content.decode()
    partner_org = Org.objects.get(pk=connection.secondary_org_id)
    assert partner_org.org_id == partner_handle.org_id and partner_org.access_token_sealed
    assert partner_handle.org_id not in partner_org.access_token_sealed  # sealed, not plain

    accepted = partner.post(f"{back}accept/")
    assert accepted.status_code == 200, accepted.content.decode()
    assert "Connection accepted" in accepted.content.decode()
    connection.refresh_from_db()
    assert connection.status == Connection.Status.ACTIVE and connection.accepted_at
    assert connection.invitation.status == PartnerInvitation.Status.ACCEPTED
    lines = history(connection)
    assert lines[0].startswith(f"{Kind.CREATED}:")
    assert lines[1].startswith(
        f"{Kind.INVITATION_SENT}: Invitation sent to Pat Partner <pat@partner.example>"
    )
    assert lines[2].startswith(f"{Kind.INVITATION_SIGNED_IN}:") and "signed in to" in lines[2]
    assert lines[3] == f"{Kind.ACCEPTED}: status now Active"
    assert lines[4].startswith(f"{Kind.INVITATION_ACCEPTED}: Invitation accepted by partner Pat Partner")

    again = partner.post(f"{back}accept/")  # single use
    assert again.status_code == 410 and "already accepted" in again.content.decode()
    assert partner.post(f"{back}decline/").status_code == 410
    opened = partner.get(link)  # from now on, the link opens the partner's subscribe page
    assert opened.status_code == 302 and opened["Location"] == f"{link}subscribe/"
    admin_page = manager_client.get(reverse("admin:connections_connection_change", args=[connection.pk]))
    assert "Invitation accepted by partner" in admin_page.content.decode()


def test_decline_with_a_reason_ends_the_connection_and_uses_the_link_up(manager_client, primary):
    connection, link = invite(manager_client, primary)
    partner = Client()
    declined = partner.post(f"{link}decline/", {"reason": "We use another tool"})
    assert declined.status_code == 200 and "Invitation declined" in declined.content.decode()
    connection.refresh_from_db()
    assert connection.status == Connection.Status.DEACTIVATED
    assert connection.invitation.decline_reason == "We use another tool"
    assert history(connection)[-2:] == [
        f"{Kind.INVITATION_DECLINED}: Invitation declined by partner Pat Partner <pat@partner.example>; "
        "reason: We use another tool",
        f"{Kind.DEACTIVATED}: Invitation declined by partner Pat Partner <pat@partner.example>",
    ]
    used = partner.get(link)
    assert used.status_code == 410 and "was declined" in used.content.decode()


def test_accept_needs_the_partner_signed_in_first(manager_client, primary):
    connection, link = invite(manager_client, primary)
    answer = Client().post(f"{link}accept/")
    assert answer.status_code == 400 and "Sign in to your Salesforce org first" in answer.content.decode()
    connection.refresh_from_db()
    assert connection.status == Connection.Status.INVITED


def test_an_expired_invitation_answers_410_and_the_history_says_so_once(manager_client, primary):
    connection, link = invite(manager_client, primary)
    PartnerInvitation.objects.filter(connection=connection).update(expires_at="2020-01-01T00:00Z")
    for _ in range(2):
        page = Client().get(link)
        assert page.status_code == 410 and "has expired" in page.content.decode()
    expired = [line for line in history(connection) if "expired unanswered" in line]
    assert len(expired) == 1 and expired[0].startswith(f"{Kind.INVITATION_EXPIRED}:")
    assert PartnerInvitation.objects.get(connection=connection).status == PartnerInvitation.Status.EXPIRED


def test_a_link_older_than_the_expiry_setting_answers_410(manager_client, primary, settings):
    _, link = invite(manager_client, primary)
    settings.ORGSYNC_INVITATION_EXPIRY_DAYS = 0
    page = Client().get(link)
    assert page.status_code == 410 and "has expired" in page.content.decode()


def test_resend_mails_a_new_link_and_the_old_one_stops_working(manager_client, primary):
    connection, old = invite(manager_client, primary)
    url = reverse("admin:connections_connection_invitation", args=[connection.pk, "resend"])
    assert manager_client.post(url).status_code == 302
    new = link_in(mail.outbox[-1])
    assert len(mail.outbox) == 2 and new != old
    assert Client().get(old).status_code == 410
    assert Client().get(new).status_code == 200
    assert history(connection)[-1].startswith(f"{Kind.INVITATION_RESENT}: Invitation resent to Pat Partner")


def test_revoke_kills_the_link_and_is_in_the_history(manager_client, primary):
    connection, link = invite(manager_client, primary)
    url = reverse("admin:connections_connection_invitation", args=[connection.pk, "revoke"])
    assert manager_client.post(url).status_code == 302
    page = Client().get(link)
    assert page.status_code == 410 and "Ask the company that invited you" in page.content.decode()
    assert history(connection)[-1] == (
        f"{Kind.INVITATION_REVOKED}: Invitation of Pat Partner <pat@partner.example> revoked"
    )


def test_operator_cannot_resend_or_revoke(manager_client, primary):
    connection, _ = invite(manager_client, primary)
    operator = Client()
    operator.force_login(UserFactory(groups=[OPERATORS]))
    for action in ("resend", "revoke"):
        url = reverse("admin:connections_connection_invitation", args=[connection.pk, action])
        assert operator.post(url).status_code == 403
    assert len(mail.outbox) == 1


def test_forged_tampered_and_cross_connection_links_answer_404(manager_client, primary):
    first, link = invite(manager_client, primary)
    second, _ = invite(manager_client, primary, name="Acme to Other")
    token = link.rstrip("/").rsplit("/", 1)[1]
    payload = signing.loads(token, salt=invitations.SALT)
    forged = signing.dumps(payload, salt="another purpose")
    tampered = token[:-3] + ("aaa" if not token.endswith("aaa") else "bbb")
    relabelled = signing.dumps({**payload, "e": "0" * 20}, salt=invitations.SALT)  # another invitee
    cross = reverse("partner:invitation", args=[second.pk, token])
    bad = [
        reverse("partner:invitation", args=[first.pk, forged]),
        reverse("partner:invitation", args=[first.pk, tampered]),
        reverse("partner:invitation", args=[first.pk, relabelled]),
        reverse("partner:invitation", args=[first.pk, "nonsense"]),
        cross,
        f"{cross}accept/",
    ]
    for path in bad:
        page = Client().get(path) if not path.endswith("accept/") else Client().post(path)
        assert page.status_code == 404, path
        assert "not valid" in page.content.decode()
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.status == second.status == Connection.Status.INVITED


def test_a_sign_in_answer_not_started_from_this_invitation_is_refused(
    manager_client, primary, partner_handle, sfemu_server
):
    connection, link = invite(manager_client, primary)
    partner = Client()
    started = partner.post(f"{link}signin/", {"environment": "custom", "custom_domain": sfemu_server.url})
    answer = approve_in_browser(sfemu_server, partner_handle, started["Location"])
    stranger = Client().get(reverse("partner:oauth_callback"), answer)  # another browser
    assert stranger.status_code == 400 and "does not belong to an invitation" in stranger.content.decode()
    # An admin "Connect" state in the same session cannot be finished through the partner door.
    session: dict = {}
    url = services.org_start_oauth(org=primary[1], session=session, redirect_uri=PARTNER_CALLBACK)
    state = re.search(r"state=([^&]+)", url).group(1)
    assert services.oauth_pending_purpose(session=session, state=state) == ""
    connection.secondary_org.refresh_from_db()
    assert not connection.secondary_org.is_connected


def test_a_custom_domain_must_be_salesforce_or_the_inviting_orgs_host(manager_client, primary):
    connection, link = invite(manager_client, primary)
    page = Client().post(
        f"{link}signin/", {"environment": "custom", "custom_domain": "https://intranet.example.com"}
    )
    assert page.status_code == 400 and "My Domain: enter your org" in page.content.decode()
    connection.secondary_org.refresh_from_db()
    assert connection.secondary_org.custom_login_url == ""  # nothing was pointed there
    production = Client().post(f"{link}signin/", {"environment": "production"})
    assert production["Location"].startswith("https://login.salesforce.com/services/oauth2/authorize?")
    assert "code_challenge_method=S256" in production["Location"]


def test_the_partner_pages_are_rate_limited(manager_client, primary, settings):
    _, link = invite(manager_client, primary)
    settings.ORGSYNC_PARTNER_RATE_LIMIT = 3
    partner = Client()
    answers = [partner.get(link).status_code for _ in range(4)]
    assert answers == [200, 200, 200, 429]


def test_the_new_connection_form_wants_a_secondary_org_or_a_partner(manager_client, primary):
    handle, org = primary
    data = {
        "name": "Half",
        "primary_org": org.pk,
        "owner_username": handle.username,
        "direction": "one_way",
        "conflict_policy": "primary_wins",
        "max_retry_attempts": 5,
        **management_forms(manager_client),
    }
    url = reverse("admin:connections_connection_add")
    neither = manager_client.post(url, data).content.decode()
    assert "Choose the secondary org, or invite a partner" in neither
    nameless = manager_client.post(url, {**data, "partner_email": "pat@partner.example"}).content.decode()
    assert "The partner&#x27;s contact name is needed" in nameless
    both = manager_client.post(
        url, {**data, "secondary_org": org.pk, "partner_name": "Pat", "partner_email": "pat@partner.example"}
    ).content.decode()
    assert "not both" in both
    assert not Connection.objects.exists() and not mail.outbox


def test_a_mail_that_cannot_be_sent_is_said_and_resend_sends_it(manager_client, primary, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2  # nobody listens
    handle, org = primary
    page = manager_client.post(
        reverse("admin:connections_connection_add"),
        {
            "name": "Unsent",
            "primary_org": org.pk,
            "partner_name": "Pat Partner",
            "partner_email": "pat@partner.example",
            "owner_username": handle.username,
            "direction": "one_way",
            "conflict_policy": "primary_wins",
            "max_retry_attempts": 5,
            "_send_invite": "Save & Send Invite",
            **management_forms(manager_client),
        },
        follow=True,
    ).content.decode()
    assert "could not be sent" in page and "check EMAIL_URL" in page
    connection = Connection.objects.get(name="Unsent")
    assert connection.invitation.sent_at is None
    assert not [line for line in history(connection) if "Invitation sent" in line]

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    url = reverse("admin:connections_connection_invitation", args=[connection.pk, "resend"])
    manager_client.post(url)
    assert Client().get(link_in(mail.outbox[-1])).status_code == 200
    assert "Invitation sent to Pat Partner" in history(connection)[-1]


def test_a_too_long_decline_reason_is_refused_on_the_page(manager_client, primary):
    connection, link = invite(manager_client, primary)
    page = Client().post(f"{link}decline/", {"reason": "x" * 501})
    assert page.status_code == 400 and "Reason: keep it under 500 characters" in page.content.decode()
    connection.refresh_from_db()
    assert connection.status == Connection.Status.INVITED


# --- The connection's owner is told (through the alert check) ------------------------------


def outcome_mails(connection: Connection) -> tuple[list, list]:
    """(the owner's, the partner's) mails of two alert checks in a row: each is sent once."""
    before = len(mail.outbox)
    alerts_send_due()
    alerts_send_due()
    new = mail.outbox[before:]
    return [m for m in new if m.to == [connection.owner.email]], [m for m in new if m.to == [PARTNER]]


def test_the_creator_owns_a_new_connection(manager_client, primary):
    connection, _ = invite(manager_client, primary)
    assert connection.owner is not None and connection.owner.groups.filter(name=ADMINISTRATORS).exists()


def test_an_acceptance_is_mailed_to_the_owner_and_the_partner_once(
    manager_client, primary, partner_handle, sfemu_server
):
    connection, link = invite(manager_client, primary)
    partner = Client()
    partner.post(f"{sign_in(partner, sfemu_server, partner_handle, link)}accept/")
    [owner], [contact] = outcome_mails(connection)
    assert owner.subject == "[orgsync] Acme to Partner: Pat Partner accepted the invitation"
    assert "Invitation accepted by partner Pat Partner" in owner.body and "now Active" in owner.body
    assert contact.subject == f"You connected your Salesforce org with {primary[1].org_name}"
    assert contact.from_email == "orgsync <orgsync@localhost>"
    assert "/admin/" not in contact.body and connection.owner.email not in contact.body


def test_a_decline_is_mailed_with_its_reason_to_the_owner_and_the_partner_once(manager_client, primary):
    connection, link = invite(manager_client, primary)
    Client().post(f"{link}decline/", {"reason": "We use another tool"})
    [owner], [contact] = outcome_mails(connection)
    assert owner.subject == "[orgsync] Acme to Partner: Pat Partner declined the invitation"
    assert "reason: We use another tool" in owner.body and "deactivated" in owner.body
    assert contact.subject == f"You declined the invitation of {primary[1].org_name}"


def test_the_alert_check_expires_an_unanswered_invitation_and_tells_both(manager_client, primary):
    connection, _ = invite(manager_client, primary)
    PartnerInvitation.objects.filter(connection=connection).update(expires_at="2020-01-01T00:00Z")
    [owner], [contact] = outcome_mails(connection)
    assert PartnerInvitation.objects.get().status == PartnerInvitation.Status.EXPIRED
    assert history(connection)[-1].startswith(f"{Kind.INVITATION_EXPIRED}:")
    assert owner.subject == "[orgsync] Acme to Partner: the invitation of Pat Partner expired unanswered"
    assert "Resend it from the connection's page" in owner.body
    assert contact.subject == f"The invitation of {primary[1].org_name} expired"

"""Salesforce to Salesforce's invitation: invite a partner company's contact by email to connect
their own org as a connection's secondary org.

A connection created by invitation gets a placeholder secondary Org (no org id, the primary
org's consumer key and trusted CAs: a Salesforce connected app signs in users of any org). The
mail carries a signed link (`SALT`, bound to the connection, the invitation's current nonce
and the invitee's address) that expires; each (re)send draws a new nonce, so only the newest
link works, and accepting or declining uses it up. On the partner's page they sign in to their
org by OAuth 2.0 + PKCE (state and verifier bound to the invitation), then Accept — the same
`connection_accept` as the admin's button — or Decline, which deactivates the connection.
After accepting, the same link opens the partner's subscribe page for the connection's life
(`replication.partner.subscribe`), until the admin revokes it (the nonce becomes `REVOKED_NONCE`).
"""

import secrets
from collections.abc import Callable, MutableMapping
from datetime import timedelta
from email.utils import formataddr
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.core import signing
from django.core.mail import EmailMessage
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac

from connections import oauth
from connections.errors import ConnectionsError
from connections.models import Connection, ConnectionEvent, Org, PartnerInvitation
from connections.services import (
    connection_accept,
    connection_deactivate,
    connection_validate_orgs,
    oauth_pending_purpose,
    org_finish_oauth,
    org_start_oauth,
)

SALT = "orgsync.connections.partner-invitation"
PURPOSE_PREFIX = "partner-invitation:"
Status = PartnerInvitation.Status
REASON_MAX = 500
Kind = ConnectionEvent.Kind
REVOKED_NONCE = ""  # an accepted invitation's link revoked by the admin: no link matches it


class InvitationRefused(ConnectionsError):
    """A partner link that does not open the page: `status` is the HTTP answer (404 not a valid
    link, 410 no longer usable), `title` the page's heading."""

    def __init__(self, message: str, *, status: int, title: str) -> None:
        self.status = status
        self.title = title
        super().__init__(message)


def _invalid() -> InvitationRefused:
    return InvitationRefused(
        "This invitation link is not valid: it was changed, cut short or belongs to another "
        "invitation. Open the link exactly as it is in the invitation email, or ask the company "
        "that invited you to send the invitation again.",
        status=404,
        title="Invitation link not valid",
    )


def _gone(why: str) -> InvitationRefused:
    return InvitationRefused(
        f"This invitation {why}. Ask the company that invited you to send a new invitation.",
        status=410,
        title="Invitation no longer usable",
    )


def _record(connection: Connection, kind: str, detail: str, actor: AbstractBaseUser | None = None) -> None:
    ConnectionEvent.objects.create(connection=connection, kind=kind, actor=actor, detail=detail[:500])


def _invitee(invitation: PartnerInvitation) -> str:
    return f"{invitation.contact_name} <{invitation.contact_email}>"


def _invitee_digest(email: str) -> str:
    return salted_hmac(f"{SALT}.invitee", email.strip().lower()).hexdigest()[:20]


# --- The inviting admin's side -------------------------------------------------------------


def _placeholder_org(primary: Org, contact_email: str) -> Org:
    """The partner's org as the console knows it before they sign in: the primary org's
    connected app (consumer key, secret) and trusted CAs, no org id."""
    org = Org(
        label=f"Partner org of {contact_email}"[:110] + f" [{secrets.token_hex(3)}]",
        environment=Org.Environment.PRODUCTION,
        auth_method=Org.AuthMethod.OAUTH_PKCE,
        client_id=primary.client_id,
        ca_bundle=primary.ca_bundle,
        api_version=primary.api_version,
    )
    org.client_secret = primary.client_secret  # sealed again, bound to this row
    org.save()
    return org


@transaction.atomic
def connection_invite_partner(
    *, actor: AbstractBaseUser | None, contact_name: str, contact_email: str, **fields
) -> PartnerInvitation:
    """Create a connection (Invited) whose secondary org is the partner's, still to be signed in
    to, and its pending invitation. `fields`: the Connection's editable fields but the secondary
    org. Nothing is mailed yet: `invitation_send` does that."""
    primary: Org = fields["primary_org"]
    if not primary.is_connected:
        raise ConnectionsError(f"Org “{primary.label}” is not connected yet: connect it first.")
    connection = Connection(**fields, secondary_org=_placeholder_org(primary, contact_email))
    connection.full_clean()
    connection.save()
    ConnectionEvent.objects.create(
        connection=connection,
        kind=ConnectionEvent.Kind.CREATED,
        actor=actor,
        detail=f"{primary} → the org of invited partner {contact_name} <{contact_email}>"[:500],
    )
    return PartnerInvitation.objects.create(
        connection=connection,
        contact_name=contact_name,
        contact_email=contact_email,
        nonce=secrets.token_hex(16),
        invited_by=actor,
    )


def invitation_token(invitation: PartnerInvitation) -> str:
    payload = {
        "c": invitation.connection_id,
        "i": invitation.pk,
        "n": invitation.nonce,
        "e": _invitee_digest(invitation.contact_email),
    }
    return signing.dumps(payload, salt=SALT)


def invitation_path(invitation: PartnerInvitation) -> str:
    return reverse("partner:invitation", args=[invitation.connection_id, invitation_token(invitation)])


def _expiry() -> timedelta:
    return timedelta(days=settings.ORGSYNC_INVITATION_EXPIRY_DAYS)


@transaction.atomic
def invitation_send(*, invitation: PartnerInvitation, actor: AbstractBaseUser | None, base_url: str) -> None:
    """Mail the invitation (first time or again) with a new link; older links stop working.
    `base_url` is the console's address as the partner reaches it, e.g. https://sync.acme.com."""
    invitation = (
        PartnerInvitation.objects.select_for_update().select_related("connection").get(pk=invitation.pk)
    )
    connection = invitation.connection
    if (
        invitation.status in (Status.ACCEPTED, Status.DECLINED)
        or connection.status != Connection.Status.INVITED
    ):
        raise ConnectionsError(
            f"The invitation of {_invitee(invitation)} is {invitation.get_status_display().lower()} and "
            f"the connection is {connection.get_status_display()}: only an invitation still waiting for "
            "an answer can be sent again."
        )
    again = invitation.sent_at is not None
    now = timezone.now()
    invitation.nonce = secrets.token_hex(16)
    invitation.status = Status.PENDING
    invitation.sent_at, invitation.expires_at = now, now + _expiry()
    invitation.save()
    _mail(invitation, link=base_url.rstrip("/") + invitation_path(invitation))
    verb = "resent" if again else "sent"
    _record(
        connection,
        Kind.INVITATION_RESENT if again else Kind.INVITATION_SENT,
        f"Invitation {verb} to {_invitee(invitation)}; link valid until "
        f"{invitation.expires_at:%Y-%m-%d %H:%M} UTC",
        actor,
    )


def _mail(invitation: PartnerInvitation, *, link: str) -> None:
    connection = invitation.connection
    inviter = invitation.invited_by
    context = {
        "contact_name": invitation.contact_name,
        "inviting_org": connection.primary_org.org_name or connection.primary_org.label,
        "inviter": (inviter.get_full_name() or inviter.get_username()) if inviter else "",
        "connection": connection.name,
        "link": link,
        "expires_at": invitation.expires_at,
    }
    subject, _, body = render_to_string(settings.ORGSYNC_INVITATION_TEMPLATE, context).partition("\n")
    message = EmailMessage(
        subject=subject.strip(),
        body=body.lstrip("\n"),
        from_email=formataddr(
            (settings.ORGSYNC_INVITATION_FROM_NAME, settings.ORGSYNC_INVITATION_FROM_EMAIL)
        ),
        to=[formataddr((invitation.contact_name, invitation.contact_email))],
        reply_to=[inviter.email] if inviter and inviter.email else None,
    )
    try:
        message.send()
    except OSError as exc:  # smtplib's errors are OSErrors
        raise ConnectionsError(
            f"The invitation mail to {invitation.contact_email} could not be sent "
            f"({exc.__class__.__name__}): check EMAIL_URL and ORGSYNC_INVITATION_FROM_EMAIL, then Resend."
        ) from None


@transaction.atomic
def invitation_revoke(*, invitation: PartnerInvitation, actor: AbstractBaseUser | None) -> None:
    """Withdraw a waiting invitation (Resend makes a new link), or an accepted one's link: the
    partner's subscribe page no longer opens (their org stays connected)."""
    invitation = PartnerInvitation.objects.select_for_update().get(pk=invitation.pk)
    if partner_link_alive(invitation):
        invitation.nonce = REVOKED_NONCE
        invitation.save(update_fields=["nonce"])
        _record(
            invitation.connection,
            Kind.INVITATION_REVOKED,
            f"Partner link of {_invitee(invitation)} revoked: their subscribe page no longer opens",
            actor,
        )
        return
    if invitation.status not in (Status.PENDING, Status.EXPIRED):
        raise ConnectionsError(
            f"The invitation of {_invitee(invitation)} is {invitation.get_status_display().lower()}: "
            "only a waiting invitation, or an accepted one whose link still opens, can be revoked."
        )
    invitation.status = Status.REVOKED
    invitation.nonce = secrets.token_hex(16)
    invitation.save(update_fields=["status", "nonce"])
    _record(
        invitation.connection, Kind.INVITATION_REVOKED, f"Invitation of {_invitee(invitation)} revoked", actor
    )


def partner_link_alive(invitation: PartnerInvitation) -> bool:
    """Does an accepted invitation's link still open the partner's subscribe page?"""
    return (
        invitation.status == Status.ACCEPTED
        and invitation.nonce != REVOKED_NONCE
        and invitation.connection.status != Connection.Status.DEACTIVATED
    )


def invitation_expire_if_due(invitation: PartnerInvitation) -> PartnerInvitation:
    """Mark a pending invitation whose link expired as Expired (once, with its history line)."""
    if (
        invitation.status != Status.PENDING
        or not invitation.expires_at
        or invitation.expires_at > timezone.now()
    ):
        return invitation
    updated = PartnerInvitation.objects.filter(pk=invitation.pk, status=Status.PENDING).update(
        status=Status.EXPIRED
    )
    if updated:
        _record(
            invitation.connection,
            Kind.INVITATION_EXPIRED,
            f"Invitation of {_invitee(invitation)} expired unanswered "
            f"(link valid until {invitation.expires_at:%Y-%m-%d %H:%M} UTC)",
        )
    invitation.refresh_from_db()
    return invitation


def invitations_expire_due() -> int:
    """Mark every pending invitation whose link expired as Expired (the alert check does, so the
    owner hears of it even if nobody opens the link or the connection); returns how many."""
    due = PartnerInvitation.objects.filter(status=Status.PENDING, expires_at__lte=timezone.now())
    return sum(invitation_expire_if_due(invitation).status == Status.EXPIRED for invitation in due)


# --- The partner's side --------------------------------------------------------------------


def invitation_from_link(*, connection_id: int, token: str) -> PartnerInvitation:
    """The pending invitation a partner link opens, or InvitationRefused saying why not."""
    return invitation_waiting(partner_link_open(connection_id=connection_id, token=token))


def partner_link_open(*, connection_id: int, token: str) -> PartnerInvitation:
    """The invitation a genuine, current partner link names, in whatever state it is; an
    accepted invitation's link outlives the expiry (it is valid for the connection's life)."""
    try:
        payload = signing.loads(token, salt=SALT, max_age=_expiry())
        too_old = False
    except signing.SignatureExpired:
        payload, too_old = signing.loads(token, salt=SALT), True
    except signing.BadSignature:
        raise _invalid() from None
    if not isinstance(payload, dict) or payload.get("c") != connection_id:
        raise _invalid()
    invitation = (
        PartnerInvitation.objects.select_related("connection__primary_org", "connection__secondary_org")
        .filter(pk=payload.get("i"), connection_id=connection_id)
        .first()
    )
    if invitation is None or not constant_time_compare(
        str(payload.get("e", "")), _invitee_digest(invitation.contact_email)
    ):
        raise _invalid()
    if invitation.nonce == REVOKED_NONCE or not constant_time_compare(
        str(payload.get("n", "")), invitation.nonce
    ):
        raise _gone("link was replaced by a newer one or withdrawn")
    if too_old and invitation.status != Status.ACCEPTED:
        raise _gone("has expired")
    return invitation_expire_if_due(invitation)


def partner_subscriber_from_link(*, connection_id: int, token: str) -> PartnerInvitation:
    """The accepted invitation whose link opens the subscribe page, or InvitationRefused."""
    return partner_subscriber(partner_link_open(connection_id=connection_id, token=token))


def partner_subscriber(invitation: PartnerInvitation) -> PartnerInvitation:
    """The accepted invitation whose partner may subscribe, or InvitationRefused saying why not."""
    if partner_link_alive(invitation):
        return invitation
    if invitation.status == Status.ACCEPTED:
        raise _gone("link no longer opens: the connection was deactivated")
    if invitation.status != Status.PENDING:
        invitation_waiting(invitation)  # says why: declined, expired or withdrawn
    raise InvitationRefused(
        "Subscribing opens once you have accepted the invitation: open the invitation link and "
        "accept it first.",
        status=409,
        title="Accept the invitation first",
    )


def invitation_waiting(invitation: PartnerInvitation) -> PartnerInvitation:
    """The invitation if it still waits for an answer, or InvitationRefused saying why not."""
    why = {
        Status.ACCEPTED: "was already accepted",
        Status.DECLINED: "was declined",
        Status.EXPIRED: "has expired",
        Status.REVOKED: "was withdrawn",
    }.get(invitation.status)
    if why is None and invitation.connection.status != Connection.Status.INVITED:
        why = "was withdrawn (the connection is no longer waiting for a partner)"
    if why:
        raise _gone(why)
    return invitation


def invitation_permissions(invitation: PartnerInvitation) -> list[str]:
    """What the partner's signing-in user (and the connected app) must be allowed to do."""
    connection = invitation.connection
    needed = [
        "API Enabled, and the OAuth scopes “Manage user data via APIs (api)” and “Perform requests "
        "at any time (refresh_token, offline_access)”",
        "Read, Create and Edit on each object you subscribe to, and edit access to its mapped fields",
        "Customize Application (orgsync creates an external-ID field OrgSync_Source_Id__c on each "
        "subscribed object)",
    ]
    if connection.is_two_way:
        needed.append("Read on the objects and fields you publish back (two-way connection)")
    if connection.sync_users:
        needed.append("Manage Users (the connection syncs users)")
    if connection.sync_feeds_and_audit_fields:
        needed.append("Set Audit Fields upon Record Creation (the connection syncs audit fields)")
    return needed


def _partner_login_url(
    invitation: PartnerInvitation, environment: str, custom_domain: str
) -> tuple[str, str]:
    """(environment, custom login URL) after checking them; a custom domain must be https:// on a
    Salesforce domain or on the inviting org's login host (so no request goes anywhere else)."""
    if environment in (Org.Environment.PRODUCTION, Org.Environment.SANDBOX):
        return environment, ""
    if environment != Org.Environment.CUSTOM:
        raise ConnectionsError("Environment: choose Production, Sandbox or My Domain.")
    url = custom_domain.strip().rstrip("/")
    if "://" not in url:
        url = f"https://{url}"
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    own = (urlsplit(invitation.connection.primary_org.login_url).hostname or "").lower()
    on_salesforce = any(host.endswith(f".{domain}") for domain in oauth.SALESFORCE_DOMAINS)
    if parts.scheme != "https" or not host or parts.path or not (on_salesforce or host == own):
        raise ConnectionsError(
            "My Domain: enter your org's login address, e.g. https://yourcompany.my.salesforce.com "
            "(https, a Salesforce domain, no path)."
        )
    return environment, url


def invitation_start_signin(
    *,
    invitation: PartnerInvitation,
    session: MutableMapping,
    environment: str,
    custom_domain: str,
    redirect_uri: str,
) -> str:
    """Point the partner's org at the login they chose; return the authorize URL (PKCE), with
    state and verifier kept in the partner's session, bound to this invitation."""
    org = invitation.connection.secondary_org
    org.environment, org.custom_login_url = _partner_login_url(invitation, environment, custom_domain)
    org.save(update_fields=["environment", "custom_login_url", "updated_at"])
    return org_start_oauth(
        org=org, session=session, redirect_uri=redirect_uri, purpose=f"{PURPOSE_PREFIX}{invitation.pk}"
    )


def invitation_finish_signin(
    *, session: MutableMapping, state: str, code: str, error: str, error_description: str
) -> PartnerInvitation:
    """The partner's org sent the browser back: check the sign-in belongs to a still usable
    invitation, exchange the code (PKCE) and connect the org; its tokens go to the vault."""
    purpose = oauth_pending_purpose(session=session, state=state) or ""
    if not purpose.startswith(PURPOSE_PREFIX):
        raise InvitationRefused(
            "This sign-in answer does not belong to an invitation opened in this browser (or was "
            "already used): open the invitation link again and sign in from there.",
            status=400,
            title="Sign-in not recognised",
        )
    invitation = (
        PartnerInvitation.objects.select_related("connection__primary_org")
        .filter(pk=int(purpose.removeprefix(PURPOSE_PREFIX)))
        .first()
    )
    if invitation is None:
        raise _gone("was withdrawn")
    invitation_waiting(invitation_expire_if_due(invitation))
    try:
        org = org_finish_oauth(
            session=session,
            state=state,
            code=code,
            error=error,
            error_description=error_description,
            purpose=purpose,
        )
    except oauth.OAuthError:
        raise
    except ConnectionsError:  # its text may name the console's other orgs: not for the partner
        raise ConnectionsError(
            "Your org signed you in, but orgsync could not connect it: it may be connected to this "
            "console already, or its answer lacked the org's identity. Ask the company that invited you."
        ) from None
    _record(
        invitation.connection,
        Kind.INVITATION_SIGNED_IN,
        f"Invitation: partner {_invitee(invitation)} signed in to {org.org_name} ({org.org_id}) "
        f"as {org.user_username}",
    )
    return invitation


def invitation_accept(
    *, invitation: PartnerInvitation, check_org: Callable[[Org], object] | None = None
) -> Connection:
    """The partner accepts: their signed-in org becomes the secondary org and the connection
    moves on exactly as the admin's Accept moves it (`connection_accept`)."""
    connection = invitation.connection
    if not connection.secondary_org.is_connected:
        raise ConnectionsError("Sign in to your Salesforce org first, then accept.")
    connection_validate_orgs(primary=connection.primary_org, secondary=connection.secondary_org)
    with transaction.atomic():
        locked = PartnerInvitation.objects.select_for_update().get(pk=invitation.pk)
        invitation_waiting(locked)
        connection = connection_accept(connection=connection, actor=None, check_org=check_org)
        locked.status, locked.responded_at = Status.ACCEPTED, timezone.now()
        locked.save(update_fields=["status", "responded_at"])
        _record(
            connection,
            Kind.INVITATION_ACCEPTED,
            f"Invitation accepted by partner {_invitee(locked)}: {connection.secondary_org.org_name} "
            f"({connection.secondary_org.org_id}) is the secondary org",
        )
    return connection


@transaction.atomic
def invitation_decline(*, invitation: PartnerInvitation, reason: str = "") -> Connection:
    """The partner declines: the connection ends (Deactivated), with their reason in the history."""
    reason = reason.strip()
    if len(reason) > REASON_MAX:
        raise ConnectionsError(f"Reason: keep it under {REASON_MAX} characters.")
    locked = PartnerInvitation.objects.select_for_update().get(pk=invitation.pk)
    invitation_waiting(locked)
    locked.status, locked.responded_at, locked.decline_reason = Status.DECLINED, timezone.now(), reason
    locked.save(update_fields=["status", "responded_at", "decline_reason"])
    detail = f"Invitation declined by partner {_invitee(locked)}"
    _record(
        invitation.connection, Kind.INVITATION_DECLINED, f"{detail}; reason: {reason}" if reason else detail
    )
    return connection_deactivate(connection=invitation.connection, actor=None, reason=detail)

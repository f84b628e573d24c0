"""The connection's owners are told (issue 19): its console owner, and the partner contact for
their side, get suspensions, resumptions and an hourly digest of the records that failed
permanently — through the alert mechanism, each mail once, never a record's values."""

from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from connections import services as connection_services
from connections.models import Connection, PartnerInvitation
from orgsync.roles import ADMINISTRATORS
from synclog.alerts import alerts_send_due
from tests.factories import ConnectionFactory, UserFactory
from tests.synclog.factories import SyncLogFactory

pytestmark = pytest.mark.django_db
OWNER = "owner@example.com"
PARTNER = "pat@partner.example"
SECRET_VALUE = "ACME-CONFIDENTIAL-4711"


@pytest.fixture(autouse=True)
def administrators(settings):
    settings.ORGSYNC_ALERT_EMAILS = ["oncall@example.com"]
    UserFactory(groups=[ADMINISTRATORS], email="admin@example.com")


@pytest.fixture
def connection() -> Connection:
    return ConnectionFactory(status=Connection.Status.ACTIVE, owner=UserFactory(email=OWNER))


def mails_to(address: str) -> list:
    return [message for message in mail.outbox if message.to == [address]]


def partner_owns_the_secondary_side(connection: Connection) -> None:
    PartnerInvitation.objects.create(
        connection=connection,
        contact_name="Pat Partner",
        contact_email=PARTNER,
        nonce="0" * 32,
        status=PartnerInvitation.Status.ACCEPTED,
    )


def test_suspension_and_resumption_mail_the_owner_alone_once_each(connection):
    admin = UserFactory(username="suspender")
    connection_services.connection_suspend(connection=connection, actor=admin, reason="Org maintenance")
    alerts_send_due()
    alerts_send_due()
    [suspended] = mail.outbox
    assert suspended.to == [OWNER], "the owner's own mail, without the administrators"
    assert suspended.subject == f"[orgsync] {connection} was suspended by an admin"
    assert "(suspender)" in suspended.body and "Reason: Org maintenance." in suspended.body
    assert reverse("admin:connections_connection_change", args=[connection.pk]) in suspended.body

    connection_services.connection_resume(connection=connection, actor=admin)
    alerts_send_due()
    alerts_send_due()
    assert [m.subject for m in mail.outbox[1:]] == [f"[orgsync] {connection} was resumed by an admin"]


def test_an_automatic_suspension_tells_the_owner_besides_the_administrators_alert(connection):
    connection_services.connection_suspend(
        connection=connection, actor=None, automatic=True, reason="REQUEST_LIMIT_EXCEEDED"
    )
    alerts_send_due()
    [owner] = mails_to(OWNER)
    assert owner.subject == f"[orgsync] {connection} was suspended automatically"
    assert [m.to for m in mail.outbox if m is not owner] == [["admin@example.com", "oncall@example.com"]]
    connection_services.connection_resume(connection=connection, actor=None, automatic=True)
    alerts_send_due()
    assert [m.subject for m in mails_to(OWNER)][1:] == [f"[orgsync] {connection} was resumed automatically"]


def test_the_partner_contact_is_told_for_their_side_in_a_mail_of_their_own(connection, settings):
    settings.ORGSYNC_INVITATION_FROM_NAME, settings.ORGSYNC_INVITATION_FROM_EMAIL = (
        "Acme IT",
        "it@acme.example",
    )
    partner_owns_the_secondary_side(connection)
    connection_services.connection_suspend(connection=connection, actor=None, reason="internal note")
    alerts_send_due()
    [partner] = mails_to(PARTNER)
    assert partner.from_email == "Acme IT <it@acme.example>"
    assert (
        partner.subject == f"Your connection with {connection.primary_org.org_name} was suspended by an admin"
    )
    assert "internal note" not in partner.body and "/admin/" not in partner.body
    assert len(mails_to(OWNER)) == 1


def test_a_connection_without_an_owner_mails_only_what_it_did_before():
    ownerless = ConnectionFactory(status=Connection.Status.ACTIVE)
    connection_services.connection_suspend(connection=ownerless, actor=None)
    SyncLogFactory.create_batch(3, connection=ownerless)
    alerts_send_due()
    assert mail.outbox == []


def fail(connection: Connection, n: int, source_object: str, error_code: str, direction: str = "p2s") -> None:
    SyncLogFactory.create_batch(
        n,
        connection=connection,
        source_object=source_object,
        error_code=error_code,
        direction=direction,
        message=f"duplicate value found: Name duplicates value on record with id: {SECRET_VALUE}",
    )


def test_a_burst_of_failures_gives_one_owner_mail_an_hour_with_counts_and_the_link(connection):
    fail(connection, 30, "Account", "DUPLICATE_VALUE")
    fail(connection, 15, "Contact", "REQUIRED_FIELD_MISSING")
    fail(connection, 5, "Contact", "FIELD_CUSTOM_VALIDATION_EXCEPTION")
    for _ in range(3):
        alerts_send_due()
    [digest] = mails_to(OWNER)
    assert digest.subject == f"[orgsync] {connection}: 50 records failed"
    assert "  Account, DUPLICATE_VALUE: 30\n" in digest.body
    assert "  Contact, FIELD_CUSTOM_VALIDATION_EXCEPTION: 5\n" in digest.body
    assert "  Contact, REQUIRED_FIELD_MISSING: 15\n" in digest.body
    log = reverse("admin:synclog_synclog_changelist")
    assert f"{log}?connection__id__exact={connection.pk}&status__exact=failed" in digest.body
    assert SECRET_VALUE not in digest.body and "duplicate value found" not in digest.body

    fail(connection, 1, "Account", "DUPLICATE_VALUE")
    alerts_send_due(now=timezone.now() + timedelta(minutes=30))
    assert len(mails_to(OWNER)) == 1, "at most one an hour"
    later = timezone.now() + timedelta(minutes=61)
    alerts_send_due(now=later)
    alerts_send_due(now=later)
    second = mails_to(OWNER)[1:]
    assert [m.subject for m in second] == [f"[orgsync] {connection}: 1 records failed"]
    assert "  Account, DUPLICATE_VALUE: 1\n" in second[0].body


def test_the_console_url_makes_the_link_absolute(connection, settings):
    settings.ORGSYNC_CONSOLE_URL = "https://sync.acme.example/"
    fail(connection, 1, "Account", "DUPLICATE_VALUE")
    alerts_send_due()
    [digest] = mails_to(OWNER)
    assert "https://sync.acme.example/admin/synclog/synclog/?connection__id__exact=" in digest.body


def test_the_partner_digest_counts_what_could_not_be_written_into_their_org(connection):
    partner_owns_the_secondary_side(connection)
    fail(connection, 4, "Account", "DUPLICATE_VALUE")
    fail(connection, 7, "Contact", "REQUIRED_FIELD_MISSING", direction="s2p")
    alerts_send_due()
    alerts_send_due()
    [owner] = mails_to(OWNER)
    [partner] = mails_to(PARTNER)
    assert "11 records" in owner.subject
    assert (
        partner.subject
        == f"4 records from {connection.primary_org.org_name} could not be written into your org"
    )
    assert "  Account, DUPLICATE_VALUE: 4\n" in partner.body and "Contact" not in partner.body
    assert "/admin/" not in partner.body and SECRET_VALUE not in partner.body

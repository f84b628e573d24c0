"""Alert emails (Django's locmem outbox): failures over the threshold, automatic suspension,
queue size twice a day while suspended; none sent twice for one window."""

from datetime import timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from connections import services as connection_services
from connections.models import Connection, ConnectionEvent
from orgsync.roles import ADMINISTRATORS, OPERATORS
from synclog.alerts import alerts_send_due
from synclog.models import AlertSent
from tests.factories import ConnectionFactory, UserFactory
from tests.synclog.factories import RecordQueueItemFactory, SyncLogFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def recipients(db, settings):
    settings.ORGSYNC_ALERT_EMAILS = ["oncall@example.com"]
    UserFactory(groups=[ADMINISTRATORS], email="admin@example.com")
    UserFactory(groups=[ADMINISTRATORS], email="")
    UserFactory(groups=[OPERATORS], email="operator@example.com")


def active_connection() -> Connection:
    return ConnectionFactory(status=Connection.Status.ACTIVE)


def test_more_than_ten_failures_in_a_day_mail_admins_once():
    connection = active_connection()
    SyncLogFactory.create_batch(10, connection=connection)
    assert alerts_send_due() == [] and mail.outbox == [], "ten is not more than ten"
    SyncLogFactory(connection=connection)
    alerts_send_due()
    [message] = mail.outbox
    assert message.to == ["admin@example.com", "oncall@example.com"], "admins with an email + the list"
    assert "11 records" in message.subject and connection.name in message.subject
    SyncLogFactory.create_batch(5, connection=connection)
    alerts_send_due()
    assert len(mail.outbox) == 1, "one alert per window"
    AlertSent.objects.update(sent_at=timezone.now() - timedelta(hours=25))
    alerts_send_due()
    assert len(mail.outbox) == 2, "a new window, a new alert"


def test_threshold_and_window_are_settings(settings):
    settings.ORGSYNC_ALERT_FAILURE_THRESHOLD = 2
    settings.ORGSYNC_ALERT_FAILURE_WINDOW_HOURS = 1
    connection = active_connection()
    old = SyncLogFactory.create_batch(3, connection=connection)
    type(old[0]).objects.update(updated_at=timezone.now() - timedelta(hours=2))
    alerts_send_due()
    assert mail.outbox == []
    SyncLogFactory.create_batch(3, connection=connection)
    alerts_send_due()
    assert len(mail.outbox) == 1


def test_an_automatic_suspension_mails_once_an_admin_one_does_not():
    automatic, by_admin = active_connection(), active_connection()
    connection_services.connection_suspend(
        connection=automatic, actor=None, automatic=True, reason="REQUEST_LIMIT_EXCEEDED"
    )
    connection_services.connection_suspend(connection=by_admin, actor=None)
    alerts_send_due()
    [message] = mail.outbox
    assert "suspended automatically" in message.subject and automatic.name in message.subject
    assert "REQUEST_LIMIT_EXCEEDED" in message.body
    alerts_send_due()
    assert len(mail.outbox) == 1


def test_queue_size_twice_a_day_while_suspended():
    suspender = UserFactory(email="suspender@example.com")
    connection = active_connection()
    connection_services.connection_suspend(connection=connection, actor=suspender)
    RecordQueueItemFactory.create_batch(4, connection=connection)
    alerts_send_due()
    assert mail.outbox == [], "not in the first twelve hours"
    ConnectionEvent.objects.update(at=timezone.now() - timedelta(hours=13))
    alerts_send_due()
    [message] = mail.outbox
    assert "4 changes queued" in message.subject
    assert "suspender@example.com" in message.to
    alerts_send_due()
    assert len(mail.outbox) == 1
    AlertSent.objects.update(sent_at=timezone.now() - timedelta(hours=12, minutes=1))
    alerts_send_due()
    assert len(mail.outbox) == 2
    connection_services.connection_resume(connection=connection, actor=None)
    AlertSent.objects.update(sent_at=timezone.now() - timedelta(days=1))
    alerts_send_due()
    assert len(mail.outbox) == 2, "resumed: no more reports"


def test_command_sends_and_says_so(capsys):
    SyncLogFactory.create_batch(11, connection=active_connection())
    call_command("send_alerts")
    assert "1 alert(s) sent." in capsys.readouterr().out
    assert len(mail.outbox) == 1

"""Sync Now on the connection page: a flag on the connection's schedule that the next engine
tick runs at once (so a flushed broker cannot lose it), for managers only."""

from django.urls import reverse

from connections.models import Connection
from orgsync.roles import ADMINISTRATORS, OPERATORS
from replication.engine import scheduler
from replication.engine.context import EngineContext
from replication.models import EngineSchedule, RecordLink
from tests.factories import UserFactory


def sync_now(client, connection: Connection):
    return client.post(reverse("admin:replication_sync_now", args=[connection.pk]), follow=True)


def test_sync_now_runs_the_next_cycle_at_once(client, subscribed):
    connection = subscribed.connection
    ctx = EngineContext(worker="test")
    scheduler.run_due(ctx)  # the first cycle: the connection is now idle until its next poll
    assert scheduler.run_due(ctx) == 0, "not due before its poll interval"
    subscribed.primary.org.create("Account", {"Name": "Now"}, user_id=subscribed.primary.user_id)
    client.force_login(UserFactory(groups=[ADMINISTRATORS]))
    page = sync_now(client, connection)
    assert "starts within seconds" in page.content.decode()
    assert page.redirect_chain[-1][0] == reverse("admin:connections_connection_change", args=[connection.pk])
    assert EngineSchedule.objects.get(connection=connection).cycle_requested_at is not None
    assert scheduler.run_due(ctx) == 1, "due at once"
    assert RecordLink.objects.filter(connection=connection).count() == 1


def test_the_connection_page_shows_the_button_to_managers(client, subscribed):
    client.force_login(UserFactory(groups=[ADMINISTRATORS]))
    page = client.get(reverse("admin:connections_connection_change", args=[subscribed.connection.pk]))
    assert 'id="sync-now-button"' in page.content.decode()


def test_an_invited_connection_cannot_sync_now(client, subscribed):
    connection = subscribed.connection
    Connection.objects.filter(pk=connection.pk).update(status=Connection.Status.INVITED)
    client.force_login(UserFactory(groups=[ADMINISTRATORS]))
    assert (
        'id="sync-now-button"'
        not in client.get(
            reverse("admin:connections_connection_change", args=[connection.pk])
        ).content.decode()
    )
    page = sync_now(client, connection)
    assert "Accept or resume it first" in page.content.decode()
    assert not EngineSchedule.objects.filter(connection=connection, cycle_requested_at__isnull=False).exists()


def test_operators_cannot_sync_now_and_get_is_refused(client, subscribed):
    url = reverse("admin:replication_sync_now", args=[subscribed.connection.pk])
    client.force_login(UserFactory(groups=[OPERATORS]))
    assert client.post(url).status_code == 403
    client.force_login(UserFactory(groups=[ADMINISTRATORS]))
    assert client.get(url).status_code == 405

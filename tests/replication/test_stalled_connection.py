"""A connection whose cycles crash on every run is reported as stalled everywhere an operator
looks: the dashboard, /healthz, /metrics and one alert email per stall episode."""

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from orgsync.roles import ADMINISTRATORS
from replication.engine import scheduler
from replication.engine.context import EngineContext
from replication.models import EngineSchedule, RecordLink
from synclog.alerts import alerts_send_due
from synclog.catalog import CATALOG
from synclog.liveness import FAILED_CYCLES, stalled_connections
from tests.factories import UserFactory
from tests.replication.conftest import subscribe_accounts

TOKEN = "scrape-token"
RECORD_NAME = "Stuck Customer Ltd"  # a field value: never in an alert


class Broken(Exception):
    pass


def crash_at_capture(point: str) -> None:
    if point == "capture.read":
        raise Broken("the engine broke here")


@pytest.fixture
def subscribed(linked, settings):
    settings.ORGSYNC_ALERT_EMAILS = ["oncall@example.com"]
    settings.ORGSYNC_METRICS_TOKEN = TOKEN
    subscribe_accounts(linked)
    linked.primary.org.create("Account", {"Name": RECORD_NAME}, user_id=linked.primary.user_id)
    return linked


def run_cycles(n: int, ctx: EngineContext) -> None:
    """`n` cycles, each when due: one poll interval apart, as the tick runs them."""
    for _ in range(n):
        EngineSchedule.objects.update(next_cycle_at=timezone.now())
        assert scheduler.run_due(ctx) == 1


def test_a_crashing_connection_is_stalled_on_every_surface_and_alerted_once_per_episode(subscribed, client):
    name = subscribed.connection.name
    crashing = EngineContext(worker="w", on_checkpoint=crash_at_capture)
    run_cycles(FAILED_CYCLES - 1, crashing)
    assert stalled_connections() == [] and alerts_send_due() == [], "two failures are not a stall"
    run_cycles(1, crashing)
    assert stalled_connections() == [name]

    # /healthz: 503, which connection, the last error and the catalogue's explanation
    response = client.get("/healthz")
    assert response.status_code == 503
    [stall] = response.json()["engine"]["stalled_connections"]
    assert stall["connection"] == name and stall["kind"] == "failing_cycles"
    assert stall["reason"] == "its last 3 sync cycles failed"
    assert stall["last_error"].startswith("Broken at test_stalled_connection.py:")
    assert "the engine broke here" in stall["last_error"] and stall["since"]
    assert stall["explanation"]["code"] == "CYCLE_FAILED"
    assert stall["explanation"]["fix"] == CATALOG["CYCLE_FAILED"].fix

    # the dashboard: a panel at the top naming it, linked to its admin page
    client.force_login(UserFactory(groups=[ADMINISTRATORS]))
    page = client.get(reverse("admin:synclog_dashboard_changelist")).content.decode()
    panel = page.split('id="stalled-connections"')[1].split("</section>")[0]
    assert page.index('id="stalled-connections"') < page.index('id="overall-success"'), "at the top"
    assert reverse("admin:connections_connection_change", args=[subscribed.connection.pk]) in panel
    assert name in panel and "its last 3 sync cycles failed" in panel
    assert "Broken at test_stalled_connection.py:" in panel and "the engine broke here" in panel
    assert (
        escape(CATALOG["CYCLE_FAILED"].title) in panel
        and "every active connection is moving" not in page.lower()
    )

    # /metrics: stalled 1, why, and the failed cycles in a row
    lines = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).content.decode().splitlines()
    assert f'orgsync_connection_stalled{{connection="{name}"}} 1' in lines
    assert f'orgsync_connection_stall_info{{connection="{name}",reason="failing_cycles"}} 1' in lines
    assert f'orgsync_connection_failed_cycles{{connection="{name}"}} 3' in lines

    # the alert: one email naming the connection and the error, then none while it lasts
    assert len(alerts_send_due()) == 1
    [message] = mail.outbox
    assert name in message.subject and "stalled" in message.subject
    assert "the engine broke here" in message.body and "Broken at test_stalled_connection.py:" in message.body
    assert CATALOG["CYCLE_FAILED"].fix in message.body and CATALOG["CYCLE_FAILED"].title in message.body
    assert reverse("admin:synclog_dashboard_changelist") in message.body
    assert RECORD_NAME not in message.body and RECORD_NAME not in message.subject
    run_cycles(1, crashing)
    assert alerts_send_due() == [] and len(mail.outbox) == 1, "one alert per stall, not per check"

    # a cycle that finishes ends the episode; the next crash streak is a new one
    run_cycles(1, EngineContext(worker="w"))
    assert stalled_connections() == [] and RecordLink.objects.count() == 1
    metrics = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).content.decode()
    assert f'orgsync_connection_stalled{{connection="{name}"}} 0' in metrics.splitlines()
    assert "orgsync_connection_stall_info{" not in metrics
    assert alerts_send_due() == []
    run_cycles(FAILED_CYCLES, crashing)
    assert len(alerts_send_due()) == 1
    assert len(mail.outbox) == 2 and name in mail.outbox[1].subject
    assert alerts_send_due() == [] and len(mail.outbox) == 2

"""Stalled connections without an engine run: each reason with since when and the catalogue's
explanation, the /metrics families, the dashboard's panel and empty state, the alert's episodes."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone
from django.utils.html import escape

from connections.models import Connection
from orgsync.roles import OPERATORS
from replication.models import EngineSchedule, RecordQueueItem
from synclog.alerts import alerts_send_due
from synclog.catalog import CATALOG
from synclog.liveness import CYCLE_LOG, StallReason, error_code, stalls
from synclog.metrics import exposition
from synclog.models import AlertSent
from synclog.selectors import connection_stats, org_usage
from tests.factories import ConnectionFactory, UserFactory
from tests.synclog.factories import RecordQueueItemFactory, SyncLogFactory

pytestmark = pytest.mark.django_db
TOKEN = "scrape-token"
SAMPLE = re.compile(r'^[a-z_0-9]+(\{([a-z_]+="([^"\\]|\\.)*",?)+\})? -?[0-9.e+-]+$')
SESSION_ERROR = "AuthenticationError at client.py:88 in _send: INVALID_SESSION_ID: Session expired or invalid"


def scheduled(name: str, *, status=Connection.Status.ACTIVE, **fields) -> Connection:
    """A connection with its engine schedule; its last cycle finished just now unless told."""
    now = timezone.now()
    connection = ConnectionFactory(name=name, status=status, accepted_at=now)
    EngineSchedule.objects.create(
        connection=connection, next_cycle_at=now, **{"last_cycle_at": now, **fields}
    )
    return connection


def by_name() -> dict:
    return {stall.connection: stall for stall in stalls()}


def test_each_reason_says_since_when_with_the_catalogues_explanation():
    an_hour_ago = timezone.now() - timedelta(hours=1)
    scheduled("idle", last_cycle_at=an_hour_ago)
    failing = scheduled("failing", failed_cycles=3, last_error="Broken at x.py:1 in f: boom")
    entry = SyncLogFactory(
        connection=failing, direction=CYCLE_LOG[0], source_object=CYCLE_LOG[1], source_id=CYCLE_LOG[2],
        error_code="CYCLE_FAILED", run=None,
    )  # fmt: skip
    scheduled("refused", failed_cycles=4, last_error=SESSION_ERROR)
    waiting = scheduled("waiting")
    item = RecordQueueItemFactory(connection=waiting)
    RecordQueueItem.objects.filter(pk=item.pk).update(enqueued_at=an_hour_ago)
    scheduled("healthy", failed_cycles=2)
    scheduled("suspended", status=Connection.Status.SUSPENDED, failed_cycles=5)

    found = by_name()
    assert sorted(found) == ["failing", "idle", "refused", "waiting"]
    assert found["idle"].kind is StallReason.NO_CYCLE and found["idle"].since == an_hour_ago
    assert found["idle"].explanation == CATALOG["NO_SYNC_CYCLE"]
    assert found["failing"].kind is StallReason.FAILING_CYCLES and found["failing"].since == entry.created_at
    assert found["failing"].explanation == CATALOG["CYCLE_FAILED"]
    assert found["refused"].explanation == CATALOG["INVALID_SESSION_ID"], "the code the error starts with"
    assert found["refused"].since is None, "no open CYCLE_FAILED entry: start unknown"
    assert found["waiting"].kind is StallReason.RECORDS_WAITING and found["waiting"].since == an_hour_ago
    assert found["waiting"].explanation == CATALOG["QUEUE_STUCK"]
    assert found["idle"].as_dict()["explanation"]["fix"] == CATALOG["NO_SYNC_CYCLE"].fix


def test_error_code_is_read_from_the_start_of_the_error_or_of_its_message():
    assert error_code(SESSION_ERROR) == "INVALID_SESSION_ID"
    assert error_code("UNABLE_TO_LOCK_ROW: unable to obtain exclusive access") == "UNABLE_TO_LOCK_ROW"
    assert error_code("Broken at x.py:1 in f: boom") == ""
    assert error_code("RetryableError at c.py:2 in g: NOT_A_CODE_WE_KNOW: x") == ""
    assert error_code("") == ""


def test_a_stalls_last_error_carries_no_record_values():
    scheduled(
        "long",
        failed_cycles=3,
        last_error="PermanentError at a.py:1 in w: STRING_TOO_LONG: "
        "data value too large: Acme Secret (max length=5)",
    )
    [stall] = stalls()
    assert "Acme Secret" not in stall.last_error and "(max length=5)" in stall.last_error
    assert stall.explanation == CATALOG["STRING_TOO_LONG"]


def test_metrics_one_stalled_sample_per_active_connection_and_the_reason_apart(client, settings):
    settings.ORGSYNC_METRICS_TOKEN = TOKEN
    scheduled("EU to US", failed_cycles=3, last_error="Broken at x.py:1 in f: boom")
    scheduled("US to EU", failed_cycles=1)
    scheduled("Paused", status=Connection.Status.SUSPENDED, failed_cycles=2)
    text = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"}).content.decode()
    lines = text.splitlines()
    assert all(SAMPLE.match(line) for line in lines if not line.startswith("#")), text
    stalled = [line for line in lines if line.startswith("orgsync_connection_stalled{")]
    assert stalled == [
        'orgsync_connection_stalled{connection="EU to US"} 1',
        'orgsync_connection_stalled{connection="US to EU"} 0',
    ]
    info = [line for line in lines if line.startswith("orgsync_connection_stall_info{")]
    assert info == ['orgsync_connection_stall_info{connection="EU to US",reason="failing_cycles"} 1']
    assert 'orgsync_connection_failed_cycles{connection="EU to US"} 3' in lines
    assert 'orgsync_connection_failed_cycles{connection="US to EU"} 1' in lines
    assert 'orgsync_connection_failed_cycles{connection="Paused"} 2' in lines
    for name in (
        "orgsync_connection_stalled",
        "orgsync_connection_stall_info",
        "orgsync_connection_failed_cycles",
    ):
        assert lines.count(f"# TYPE {name} gauge") == 1 and any(
            line.startswith(f"# HELP {name} ") for line in lines
        )


def test_exposition_without_stalls_reports_every_active_connection_moving():
    scheduled("A")
    text = exposition(connection_stats(), org_usage(), stalls())
    assert 'orgsync_connection_stalled{connection="A"} 0' in text.splitlines()
    assert (
        "# TYPE orgsync_connection_stall_info gauge" in text and "orgsync_connection_stall_info{" not in text
    )


def test_dashboard_says_every_active_connection_is_moving_when_none_is_stalled(client):
    scheduled("Moving along")
    client.force_login(UserFactory(groups=[OPERATORS]))
    page = client.get(reverse("admin:synclog_dashboard_changelist")).content.decode()
    assert "Every active connection is moving" in page and 'id="stalled-connections"' not in page
    assert "Moving along" in page


def test_dashboard_panel_explains_a_connection_no_cycle_ran_for(client):
    connection = scheduled("Forgotten", last_cycle_at=timezone.now() - timedelta(hours=1))
    client.force_login(UserFactory(groups=[OPERATORS]))
    page = client.get(reverse("admin:synclog_dashboard_changelist")).content.decode()
    panel = page.split('id="stalled-connections"')[1].split("</section>")[0]
    assert "Forgotten" in panel and "no sync cycle finished since" in panel and "none recorded" in panel
    assert reverse("admin:connections_connection_change", args=[connection.pk]) in panel
    assert escape(CATALOG["NO_SYNC_CYCLE"].title) in panel and escape(CATALOG["NO_SYNC_CYCLE"].fix) in panel
    assert "Every active connection is moving" not in page


def test_a_stall_alerts_once_and_again_only_after_the_connection_moved(settings):
    settings.ORGSYNC_ALERT_EMAILS = ["oncall@example.com"]
    connection = scheduled("Quiet", last_cycle_at=timezone.now() - timedelta(hours=1))
    assert len(alerts_send_due()) == 1
    [message] = mail.outbox
    assert message.subject.startswith("[orgsync] Quiet is stalled: no sync cycle finished since")
    assert CATALOG["NO_SYNC_CYCLE"].fix in message.body and "Last error: none recorded" in message.body
    assert AlertSent.objects.get().kind == AlertSent.Kind.STALLED_CONNECTION
    assert alerts_send_due(now=timezone.now() + timedelta(hours=2)) == [], "the same stall, later"
    EngineSchedule.objects.filter(connection=connection).update(last_cycle_at=timezone.now())
    assert stalls() == [] and alerts_send_due() == []
    assert len(alerts_send_due(now=timezone.now() + timedelta(hours=1))) == 1, "stalled again: a new one"
    assert len(mail.outbox) == 2

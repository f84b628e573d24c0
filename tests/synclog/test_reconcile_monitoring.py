"""Reconcile in monitoring: the drift figure per connection on the dashboard and in /metrics
(the latest *completed* run's differences), and the alert of a scheduled run that found drift
(once per run; never for manual runs or below the schedule's threshold)."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from connections.models import Connection
from orgsync.roles import ADMINISTRATORS, OPERATORS
from replication.models import ReconcileRun, ReconcileSchedule
from synclog.alerts import alerts_send_due
from synclog.metrics import exposition
from synclog.models import AlertSent
from synclog.selectors import connection_stats, org_usage
from tests.factories import ConnectionFactory, UserFactory

pytestmark = pytest.mark.django_db
TOKEN = "s3cret-scrape-token"
COUNTS = {"Account": {"missing": 2, "drift": 3}, "Contact": {"drift": 1, "orphan": 1}}
SUBJECT = "scheduled reconcile found"


def completed(connection: Connection, *, ago: timedelta = timedelta(0), **fields) -> ReconcileRun:
    finished = timezone.now() - ago
    fields = {"counts": COUNTS, "differences": 7, **fields}
    return ReconcileRun.objects.create(
        connection=connection,
        status=ReconcileRun.Status.COMPLETED,
        started_at=finished - timedelta(minutes=3),
        finished_at=finished,
        **fields,
    )


@pytest.fixture
def drifting() -> tuple[Connection, ReconcileRun]:
    """A connection whose latest completed reconcile found 7 differences; an older completed one
    found 40, and a newer failed and a running one found others (neither counts)."""
    connection = ConnectionFactory(name="EU to US", status=Connection.Status.ACTIVE)
    completed(connection, ago=timedelta(days=2), differences=40, counts={"Account": {"missing": 40}})
    latest = completed(connection, ago=timedelta(hours=1))
    ReconcileRun.objects.create(connection=connection, status=ReconcileRun.Status.FAILED, differences=99)
    ReconcileRun.objects.create(connection=connection, status=ReconcileRun.Status.RUNNING, differences=55)
    return connection, latest


# --- dashboard ---------------------------------------------------------------------------------


def test_the_selector_sums_the_latest_completed_runs_classes_over_objects(drifting):
    connection, latest = drifting
    never = ConnectionFactory(name="Never reconciled")
    stats = {s.connection.pk: s for s in connection_stats()}
    drift = stats[connection.pk].drift
    assert (drift.run_id, drift.differences, drift.finished_at) == (latest.pk, 7, latest.finished_at)
    assert drift.by_class == {
        "missing": 2, "orphan": 1, "duplicate": 0, "drift": 4, "broken_lookup": 0, "broken_link": 0,
    }  # fmt: skip
    assert stats[never.pk].drift is None


def test_the_dashboard_shows_each_connections_drift_and_when(client, drifting):
    connection, latest = drifting
    ConnectionFactory(name="Never reconciled")
    client.force_login(UserFactory(groups=[OPERATORS]))
    page = client.get(reverse("admin:synclog_dashboard_changelist")).content.decode()
    box = page.split(f'id="connection-{connection.pk}"')[1].split("</section>")[0]
    cell = re.search(r'<td class="reconcile-drift">(.*?)</td>', box, re.S).group(1)
    run_page = reverse("admin:replication_reconcilerun_change", args=[latest.pk])
    assert re.search(rf'<a href="{run_page}"[^>]*>7</a>', cell), cell
    assert timezone.localtime(latest.finished_at).strftime("%Y-%m-%d %H:%M") in cell
    assert 'class="reconcile-drift">not reconciled</td>' in page
    assert client.get(run_page).status_code == 200, "operators may open the run the figure links to"


# --- /metrics ------------------------------------------------------------------------------------


def test_metrics_give_differences_by_class_and_the_last_run_time(client, settings, drifting):
    settings.ORGSYNC_METRICS_TOKEN = TOKEN
    _, latest = drifting
    ConnectionFactory(name="Quiet")
    answer = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    lines = answer.content.decode().splitlines()
    differences = [line for line in lines if line.startswith("orgsync_reconcile_differences{")]
    assert differences == [
        f'orgsync_reconcile_differences{{connection="EU to US",class="{kind}"}} {n}'
        for kind, n in [
            ("missing", 2), ("orphan", 1), ("duplicate", 0),
            ("drift", 4), ("broken_lookup", 0), ("broken_link", 0),
        ]
    ]  # fmt: skip
    stamp = latest.finished_at.timestamp()
    assert f'orgsync_reconcile_last_run_timestamp_seconds{{connection="EU to US"}} {stamp!r}' in lines
    assert any(line.startswith('orgsync_queue_depth{connection="Quiet"}') for line in lines)
    assert not any('"Quiet"' in line for line in lines if line.startswith("orgsync_reconcile"))
    assert "# TYPE orgsync_reconcile_differences gauge" in lines
    assert "# TYPE orgsync_reconcile_last_run_timestamp_seconds gauge" in lines
    assert any(line.startswith("# HELP orgsync_reconcile_differences ") for line in lines)


def test_reconcile_families_appear_once_without_any_run():
    ConnectionFactory()
    text = exposition(connection_stats(), org_usage())
    assert text.count("# HELP orgsync_reconcile_differences ") == 1
    assert "orgsync_reconcile_differences{" not in text


# --- the alert -------------------------------------------------------------------------------------


@pytest.fixture
def admin_email(db) -> str:
    UserFactory(groups=[ADMINISTRATORS], email="admin@example.com")
    return "admin@example.com"


def drift_mails() -> list:
    return [m for m in mail.outbox if SUBJECT in m.subject]


def scheduled(threshold: int = 3, **fields) -> ReconcileRun:
    connection = ConnectionFactory()
    ReconcileSchedule.objects.create(connection=connection, enabled=True, alert_threshold=threshold)
    return completed(connection, scheduled=True, **fields)


def test_a_scheduled_run_above_the_threshold_mails_the_admins_once(admin_email):
    run = scheduled(threshold=7)
    alerts_send_due()
    [message] = drift_mails()
    assert message.to == [admin_email]
    assert message.subject == f"[orgsync] {run.connection}: scheduled reconcile found 7 differences"
    assert "Missing in the target: 2\n" in message.body and "Field drift: 4\n" in message.body
    assert "Orphan copy: 1" in message.body and "Duplicate copy" not in message.body, "classes found only"
    assert "Account: 5\n" in message.body and "Contact: 2" in message.body
    assert reverse("admin:replication_reconcilerun_change", args=[run.pk]) in message.body
    assert "alert threshold: 7" in message.body
    assert AlertSent.objects.filter(kind=AlertSent.Kind.RECONCILE_DRIFT, key=str(run.pk)).exists()
    alerts_send_due()
    assert len(drift_mails()) == 1, "once per run"
    completed(run.connection, scheduled=True)
    alerts_send_due()
    assert len(drift_mails()) == 2, "the next scheduled run that drifts mails again"


def test_a_manual_run_never_mails(admin_email):
    run = scheduled(threshold=1)
    run.scheduled = False
    run.save()
    alerts_send_due()
    assert drift_mails() == []


def test_below_the_threshold_or_not_completed_no_mail(admin_email):
    scheduled(threshold=8)  # 7 differences
    failed = scheduled(threshold=1)
    failed.status = ReconcileRun.Status.FAILED
    failed.save()
    alerts_send_due()
    assert drift_mails() == []


def test_the_drift_figure_costs_one_query_whatever_the_connections(django_assert_max_num_queries, drifting):
    for _ in range(4):
        completed(ConnectionFactory())
    with django_assert_max_num_queries(8):
        stats = connection_stats()
    assert sum(1 for s in stats if s.drift is not None) == 5

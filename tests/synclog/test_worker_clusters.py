"""Nothing stalls silently, worker clusters: a stalled or lost `runworkers` cluster shows on the
dashboard, in /metrics, and is mailed once — also when the watchdog healed the stall before the
5-minute alert check saw it (the restart is what tells of it)."""

from datetime import UTC, timedelta

import pytest
from django.core import mail
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from orgsync import clusters
from orgsync.models import WorkerCluster
from orgsync.roles import ADMINISTRATORS, OPERATORS
from synclog.alerts import alerts_due, alerts_send_due
from synclog.metrics import exposition
from synclog.models import AlertSent
from synclog.selectors import connection_stats, org_usage
from tests.factories import ConnectionFactory, UserFactory, WorkerClusterFactory
from tests.synclog.factories import SyncLogFactory

pytestmark = pytest.mark.django_db
TOKEN = "cluster-scrape-token-not-in-any-mail"
STALL_RESTART = "stalled: work waiting and no task started or finished"
SENTINEL_RESTART = "its sentinel process died"
Kind = AlertSent.Kind


def stalled_cluster(**fields) -> WorkerCluster:
    """Work waiting, and nothing started or finished for longer than twice the task timeout."""
    quiet = timezone.now() - clusters.stall_after(WorkerCluster()) - timedelta(seconds=5)
    return WorkerClusterFactory(**{"queued": 3, "cluster_started_at": quiet, "progress_at": quiet, **fields})


def lost_cluster(**fields) -> WorkerCluster:
    """No heartbeat for two minutes and no clean stop."""
    return WorkerClusterFactory(**{"heartbeat_at": timezone.now() - timedelta(minutes=2), **fields})


def utc(moment) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


# --- the dashboard -------------------------------------------------------------------------


def dashboard(client) -> str:
    client.force_login(UserFactory(groups=[OPERATORS]))
    response = client.get(reverse("admin:synclog_dashboard_changelist"))
    assert response.status_code == 200
    return response.content.decode()


def cluster_panel(page: str) -> str:
    assert 'id="worker-clusters"' in page, "no red worker clusters panel"
    return page.split('id="worker-clusters"')[1].split("</section>")[0]


def test_dashboard_panel_lists_a_stalled_and_a_lost_cluster(client):
    WorkerClusterFactory(host="healthy", pid=100, workers=3)
    stalled = stalled_cluster(host="wedged", pid=4242, restarts=2)
    lost = lost_cluster(host="gone", pid=77, restarts=5)
    page = dashboard(client)
    panel = cluster_panel(page)
    assert page.index('id="worker-clusters"') < page.index('id="overall-success"'), "at the top"
    assert "2 stalled or lost" in panel
    assert "1 worker cluster live (3 workers)." in panel
    assert "No worker cluster is running" not in page
    rows = {row.split('class="cluster-name">')[1].split("<")[0]: row for row in panel.split("<tr")[2:]}
    assert set(rows) == {"wedged:4242", "gone:77"}, "the live cluster is not in the red list"
    wedged, gone = rows["wedged:4242"], rows["gone:77"]
    assert 'class="cluster-state">stalled<' in wedged and 'class="cluster-restarts">2<' in wedged
    assert "3 task(s) waiting and none started or finished since" in wedged
    assert f"{stalled.heartbeat_at.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC" in wedged
    assert 'class="cluster-state">lost<' in gone and 'class="cluster-restarts">5<' in gone
    assert f"no heartbeat since {lost.heartbeat_at.astimezone(UTC):%Y-%m-%d %H:%M:%S}" in gone
    assert "healthy:100" not in panel


def test_dashboard_says_plainly_when_no_cluster_runs(client):
    panel = cluster_panel(dashboard(client))
    assert "No worker cluster is running: start <code>manage.py runworkers</code>." in panel
    assert "<table" not in panel and "worker clusters live" not in panel


def test_dashboard_with_only_a_lost_cluster_says_none_runs_and_lists_it(client):
    lost_cluster(host="gone", pid=77)
    panel = cluster_panel(dashboard(client))
    assert "No worker cluster is running: start <code>manage.py runworkers</code>." in panel
    assert "gone:77" in panel and ">lost<" in panel


def test_dashboard_with_every_cluster_live_is_one_line(client):
    WorkerClusterFactory(workers=2)
    WorkerClusterFactory(workers=3)
    WorkerClusterFactory(stopped_at=timezone.now(), heartbeat_at=timezone.now() - timedelta(minutes=5))
    page = dashboard(client)
    assert 'id="worker-clusters"' not in page and "No worker cluster is running" not in page
    assert '<p id="worker-clusters-live">2 worker clusters live (5 workers).</p>' in page


# --- /metrics ------------------------------------------------------------------------------


def scrape(client, settings) -> list[str]:
    settings.ORGSYNC_METRICS_TOKEN = TOKEN
    response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
    assert response.status_code == 200
    return response.content.decode().splitlines()


def cluster_lines(lines: list[str]) -> list[str]:
    return [line for line in lines if line.startswith("orgsync_worker_cluster")]


def test_metrics_count_clusters_by_state_and_export_each(client, settings):
    WorkerClusterFactory(host="alive", pid=1, queued=4, restarts=1)
    stalled_cluster(host="wedged", pid=2, restarts=3)
    lost_cluster(host="gone", pid=3, queued=7)
    WorkerClusterFactory(host="stopped", pid=4, stopped_at=timezone.now())
    lines = scrape(client, settings)
    assert cluster_lines(lines) == [
        'orgsync_worker_clusters{state="live"} 1',
        'orgsync_worker_clusters{state="stalled"} 1',
        'orgsync_worker_clusters{state="lost"} 1',
        # newest first, as cluster_states lists them
        'orgsync_worker_cluster_up{cluster="gone:3"} 0',
        'orgsync_worker_cluster_up{cluster="wedged:2"} 0',
        'orgsync_worker_cluster_up{cluster="alive:1"} 1',
        'orgsync_worker_cluster_restarts{cluster="gone:3"} 0',
        'orgsync_worker_cluster_restarts{cluster="wedged:2"} 3',
        'orgsync_worker_cluster_restarts{cluster="alive:1"} 1',
        'orgsync_worker_cluster_queued{cluster="gone:3"} 7',
        'orgsync_worker_cluster_queued{cluster="wedged:2"} 3',
        'orgsync_worker_cluster_queued{cluster="alive:1"} 4',
    ]
    assert "# TYPE orgsync_worker_clusters gauge" in lines
    assert "# TYPE orgsync_worker_cluster_up gauge" in lines
    assert "# TYPE orgsync_worker_cluster_restarts counter" in lines
    assert "# TYPE orgsync_worker_cluster_queued gauge" in lines
    assert "stopped:4" not in "\n".join(lines)


def test_metrics_without_clusters_keep_every_state(client, settings):
    assert cluster_lines(scrape(client, settings)) == [
        'orgsync_worker_clusters{state="live"} 0',
        'orgsync_worker_clusters{state="stalled"} 0',
        'orgsync_worker_clusters{state="lost"} 0',
    ]


def test_metrics_one_series_per_cluster_name_the_newest(client, settings):
    """A container restarted in place comes back as the same host:pid; the old row is lost."""
    lost_cluster(host="container", pid=1, started_at=timezone.now() - timedelta(hours=1), restarts=4)
    WorkerClusterFactory(host="container", pid=1)
    lines = cluster_lines(scrape(client, settings))
    assert 'orgsync_worker_clusters{state="live"} 1' in lines
    assert 'orgsync_worker_clusters{state="lost"} 1' in lines
    assert [line for line in lines if "cluster=" in line] == [
        'orgsync_worker_cluster_up{cluster="container:1"} 1',
        'orgsync_worker_cluster_restarts{cluster="container:1"} 0',
        'orgsync_worker_cluster_queued{cluster="container:1"} 0',
    ]


def test_exposition_still_works_without_the_clusters_argument():
    ConnectionFactory()
    text = exposition(connection_stats(), org_usage())
    assert 'orgsync_worker_clusters{state="live"} 0' in text.splitlines()


# --- alerts --------------------------------------------------------------------------------


@pytest.fixture(autouse=True)
def recipients(db, settings):
    settings.ORGSYNC_ALERT_EMAILS = ["oncall@example.com"]
    settings.ORGSYNC_METRICS_TOKEN = TOKEN
    UserFactory(groups=[ADMINISTRATORS], email="admin@example.com")


def assert_no_secrets(message, settings) -> None:
    text = message.subject + message.body
    secrets = [settings.SECRET_KEY, TOKEN, settings.DATABASES["default"].get("PASSWORD")]
    secrets.append(getattr(settings, "EMAIL_HOST_PASSWORD", ""))
    assert not any(secret and secret in text for secret in secrets)
    assert "password" not in text.lower() and "token" not in text.lower()


def test_live_and_stopped_clusters_send_nothing():
    WorkerClusterFactory(queued=5)
    WorkerClusterFactory(stopped_at=timezone.now(), heartbeat_at=timezone.now() - timedelta(minutes=5))
    WorkerClusterFactory(restarts=0)
    assert alerts_due() == [] and alerts_send_due() == [] and mail.outbox == []


def test_a_stalled_cluster_mails_once_and_its_restart_does_not_mail_again(settings):
    long_ago = timezone.now() - timedelta(days=2)  # its first restart: old history, not mailed
    row = stalled_cluster(
        host="wedged", pid=4242, restarts=1, last_restart_reason=STALL_RESTART, cluster_started_at=long_ago
    )
    assert len(alerts_send_due()) == 1
    [message] = mail.outbox
    assert message.subject == "[orgsync] Worker cluster wedged:4242 is stalled"
    assert message.to == ["admin@example.com", "oncall@example.com"]
    assert "Worker cluster wedged:4242 is stalled: 3 task(s) waiting" in message.body
    assert "State: stalled." in message.body
    assert "restarts the cluster's processes by itself one heartbeat" in message.body
    assert "/healthz" in message.body and reverse("admin:synclog_dashboard_changelist") in message.body
    assert_no_secrets(message, settings)
    sent = AlertSent.objects.get()
    assert (sent.kind, sent.connection) == (Kind.STALLED_CLUSTER, None)
    assert sent.key.startswith(f"{row.pk}@") and len(sent.key) <= 40
    assert "Worker cluster stalled (cluster " in str(sent)

    assert alerts_send_due() == [], "the same stall, a second check"
    assert alerts_send_due(now=timezone.now() + timedelta(seconds=20)) == [], "still the same stall"
    clusters.restarted(row, STALL_RESTART)  # the watchdog heals it
    assert row.restarts == 2 and not clusters.is_stalled(row, timezone.now())
    assert alerts_send_due() == [], "the restart ends the episode already mailed"
    assert len(mail.outbox) == 1


def test_a_stall_healed_before_the_check_is_mailed_once_per_restart(settings):
    """The watchdog restarted the cluster seconds after the stall: the check only sees the row's
    restart count and reason. Each new count is a new episode."""
    restarted_at = timezone.now() - timedelta(minutes=3)
    row = WorkerClusterFactory(
        host="healed", pid=9, restarts=1, last_restart_reason=STALL_RESTART, cluster_started_at=restarted_at
    )
    [alert] = alerts_send_due()
    [message] = mail.outbox
    assert message.subject == "[orgsync] Worker cluster healed:9 stalled and was restarted"
    assert f"restarted at {utc(restarted_at)}" in message.body
    assert f"Reason: {STALL_RESTART}." in message.body and "now live." in message.body
    assert "restarted the cluster's processes by itself" in message.body and "/healthz" in message.body
    assert_no_secrets(message, settings)
    assert AlertSent.objects.get().key == f"{row.pk}:1"
    assert AlertSent.objects.get().kind == Kind.STALLED_CLUSTER
    assert alerts_send_due() == [], "the same restart"

    clusters.restarted(row, STALL_RESTART)
    [alert] = alerts_send_due()
    assert alert.key == f"{row.pk}:2" and f"restarted at {utc(row.cluster_started_at)}" in alert.body
    assert alerts_send_due() == [] and len(mail.outbox) == 2


def test_a_later_stall_whose_state_was_missed_still_mails_its_restart():
    row = stalled_cluster(host="again", pid=5)
    assert len(alerts_send_due()) == 1, "episode 1, seen while stalled"
    clusters.restarted(row, STALL_RESTART)
    assert alerts_send_due() == []
    # episode 2 starts at least twice the task timeout later, stalls and is restarted between checks
    AlertSent.objects.update(sent_at=timezone.now() - clusters.stall_after(row) - timedelta(minutes=1))
    clusters.restarted(row, STALL_RESTART)
    [alert] = alerts_send_due()
    assert alert.key == f"{row.pk}:2" and "again:5 stalled and was restarted" in alert.subject
    assert len(mail.outbox) == 2


def test_a_stall_that_healed_by_itself_and_came_back_is_a_new_episode():
    row = stalled_cluster()
    [first] = alerts_send_due()
    WorkerCluster.objects.filter(pk=row.pk).update(progress_at=timezone.now())  # a task started
    assert alerts_send_due() == []
    later = timezone.now() + clusters.stall_after(row) + timedelta(minutes=1)
    WorkerCluster.objects.filter(pk=row.pk).update(heartbeat_at=later)  # its heartbeat goes on
    [alert] = alerts_send_due(now=later)
    assert alert.kind == Kind.STALLED_CLUSTER and alert.key != first.key
    assert alerts_send_due(now=later) == [] and len(mail.outbox) == 2


def test_a_dead_sentinel_restart_mails_once(settings):
    row = WorkerClusterFactory(host="h", pid=3, restarts=1, last_restart_reason=SENTINEL_RESTART)
    [alert] = alerts_send_due()
    assert alert.kind == Kind.RESTARTED_CLUSTER and alert.key == f"{row.pk}:1"
    [message] = mail.outbox
    assert message.subject == "[orgsync] Worker cluster h:3 was restarted: its sentinel process died"
    assert f"restarted at {utc(row.cluster_started_at)}" in message.body
    assert_no_secrets(message, settings)
    assert alerts_send_due() == []


def test_other_or_old_restarts_do_not_mail():
    WorkerClusterFactory(restarts=1, last_restart_reason="")
    WorkerClusterFactory(restarts=2, last_restart_reason="asked to by an operator")
    WorkerClusterFactory(
        restarts=1, last_restart_reason=STALL_RESTART, cluster_started_at=timezone.now() - timedelta(days=2)
    )
    assert alerts_send_due() == [] and mail.outbox == []


def test_a_lost_cluster_mails_once(settings):
    WorkerClusterFactory(host="alive", pid=1)
    lost = lost_cluster(host="gone", pid=77)
    lost_cluster(host="long-gone", pid=78, heartbeat_at=timezone.now() - timedelta(hours=2))
    [alert] = alerts_send_due()
    [message] = mail.outbox
    assert alert.kind == Kind.LOST_CLUSTER and alert.connection is None
    assert message.subject == "[orgsync] Worker cluster gone:77 is lost"
    assert f"no heartbeat since {utc(lost.heartbeat_at)}" in message.body and "State: lost." in message.body
    assert "its supervisor must start" in message.body.lower()
    assert "systemd" in message.body and "docs/production.md" in message.body
    assert "/healthz" in message.body and reverse("admin:synclog_dashboard_changelist") in message.body
    assert_no_secrets(message, settings)
    assert alerts_send_due() == []
    later = alerts_due(now=timezone.now() + timedelta(minutes=30))  # "alive" is lost by then
    assert [alert.subject for alert in later] == ["[orgsync] Worker cluster alive:1 is lost"]
    assert len(mail.outbox) == 1


def test_cluster_and_connection_alerts_go_out_together_and_the_command_names_the_cluster(capsys):
    SyncLogFactory.create_batch(11, connection=ConnectionFactory())
    lost_cluster(host="gone", pid=77)
    call_command("send_alerts")
    out = capsys.readouterr().out
    assert "sent: [orgsync] Worker cluster gone:77 is lost" in out and "2 alert(s) sent." in out
    assert AlertSent.objects.filter(connection=None).count() == 1
    assert AlertSent.objects.exclude(connection=None).get().kind == Kind.FAILURES
    assert all(str(sent) for sent in AlertSent.objects.all())


def test_purge_removes_old_cluster_alerts():
    from synclog.services import sync_log_purge

    lost_cluster()
    alerts_send_due()
    AlertSent.objects.update(sent_at=timezone.now() - timedelta(days=400))
    sync_log_purge(older_than_days=90)
    assert not AlertSent.objects.exists()

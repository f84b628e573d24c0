"""The sync log counts the files and bytes Sync Feeds sends, per run: each direction's feeds and
files step is a run of its own (kind "Feeds and files") against two sfemu orgs; the dashboard
and the runs list show the figures."""

import base64
from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from connections.models import Connection
from orgsync.roles import OPERATORS
from replication.engine.cycle import sync_once
from replication.models import RecordLink
from synclog.models import SyncLog, SyncRun
from synclog.selectors import FilesSent, files_sent
from tests.factories import UserFactory
from tests.replication.conftest import linked_orgs, subscribe_accounts
from tests.replication.test_feeds_files import MB, create, snapshot, upload
from tests.synclog.factories import SyncRunFactory

FEEDS = SyncRun.Kind.FEEDS


@pytest.fixture
def feeds(db, sfemu_server):
    linked = subscribe_accounts(linked_orgs(sfemu_server))
    Connection.objects.filter(pk=linked.connection.pk).update(sync_feeds_and_audit_fields=True)
    linked.connection.refresh_from_db()
    for handle in (linked.primary, linked.secondary):
        handle.org.set_option("audit_fields_on_create", True)
    return linked


def test_each_cycle_records_the_files_and_bytes_its_feed_step_sent(feeds, settings):
    settings.ORGSYNC_FILE_SIZE_LIMIT_MB = 1
    account = create(feeds.primary, "Account", {"Name": "Acme"})
    sync_once(feeds.connection)
    upload(feeds.primary, account, 300_000, "plan.pdf")
    upload(feeds.primary, account, 2 * MB, "too-big.zip")
    body = b"call notes"
    encoded = base64.b64encode(body).decode()
    create(feeds.primary, "Attachment", {"ParentId": account, "Name": "n.txt", "Body": encoded})

    sync_once(feeds.connection)

    copy = RecordLink.objects.get(primary_id=account).secondary_id
    held = snapshot(feeds.secondary, copy)
    assert [f[0] for f in held["files"]] == ["plan"] and held["attachments"] == [("n.txt", str(len(body)))]
    run = SyncRun.objects.filter(connection=feeds.connection, kind=FEEDS).latest("started_at")
    assert (run.direction, run.outcome) == ("p2s", SyncRun.Outcome.FINISHED)
    assert (run.files, run.file_bytes) == (2, 300_000 + len(body))
    assert run.failed == 1, "the file over the limit: a Failed entry of this run"
    entry = SyncLog.objects.get(connection=feeds.connection, error_code="FILE_TOO_LARGE")
    assert entry.run_id == run.pk
    assert run.succeeded >= 3, "the file, its share on the record and the attachment"
    others = SyncRun.objects.filter(connection=feeds.connection).exclude(kind=FEEDS)
    assert set(others.values_list("files", "file_bytes")) == {(0, 0)}

    sync_once(feeds.connection)  # nothing new: nothing is sent again
    again = SyncRun.objects.filter(connection=feeds.connection, kind=FEEDS).latest("started_at")
    assert again.pk != run.pk and (again.files, again.file_bytes) == (0, 0)


def test_without_sync_feeds_no_feeds_run_is_recorded(feeds):
    Connection.objects.filter(pk=feeds.connection.pk).update(sync_feeds_and_audit_fields=False)
    create(feeds.primary, "Account", {"Name": "Acme"})
    sync_once(feeds.connection)
    assert not SyncRun.objects.filter(kind=FEEDS).exists()
    assert SyncRun.objects.filter(kind=SyncRun.Kind.APPLY).exists()


def runs_with_files():
    """Files of the last 24 hours (an engine feeds run and a bulk sync) and an older run's."""
    fed = SyncRunFactory(kind=FEEDS, files=3, file_bytes=3 * MB + 5)
    SyncRunFactory(connection=fed.connection, kind=SyncRun.Kind.BULK, files=2, file_bytes=10)
    SyncRunFactory(connection=fed.connection, kind=SyncRun.Kind.APPLY, succeeded=4)
    old = SyncRunFactory(connection=fed.connection, kind=FEEDS, files=100, file_bytes=100 * MB)
    SyncRun.objects.filter(pk=old.pk).update(started_at=timezone.now() - timedelta(days=2))
    return fed.connection


@pytest.mark.django_db
def test_files_sent_sums_the_last_24_hours_of_every_run_kind():
    connection = runs_with_files()
    quiet = SyncRunFactory(kind=SyncRun.Kind.APPLY).connection
    sent = files_sent([connection.pk, quiet.pk], now=timezone.now())
    assert sent == {connection.pk: FilesSent(5, 3 * MB + 15)}


@pytest.mark.django_db
def test_dashboard_shows_files_and_bytes_per_connection(client):
    connection = runs_with_files()
    quiet = SyncRunFactory(kind=SyncRun.Kind.APPLY).connection
    client.force_login(UserFactory(groups=[OPERATORS]))
    page = client.get(reverse("admin:synclog_dashboard_changelist")).content.decode()

    section = page.split(f'id="connection-{connection.pk}"')[1].split("</section>")[0]
    size = f'<span class="file-bytes" title="{3 * MB + 15} bytes">(3.0\xa0MB)</span>'
    assert f'<td class="files-sent">5 {size}</td>' in section
    other = page.split(f'id="connection-{quiet.pk}"')[1].split("</section>")[0]
    assert '<td class="files-sent">—</td>' in other


@pytest.mark.django_db
def test_runs_list_and_run_page_show_files_and_bytes(client):
    connection = runs_with_files()
    fed = SyncRun.objects.get(connection=connection, kind=FEEDS, files=3)
    client.force_login(UserFactory(groups=[OPERATORS]))
    listing = client.get(reverse("admin:synclog_syncrun_changelist")).content.decode()
    assert '<td class="field-files">3</td><td class="field-file_size">3.0\xa0MB</td>' in listing
    assert "Feeds and files" in listing
    page = client.get(reverse("admin:synclog_syncrun_change", args=[fed.pk])).content.decode()
    assert "3.0\xa0MB" in page and "File bytes" in page


@pytest.mark.django_db
def test_metrics_expose_files_and_bytes_per_connection(client, settings):
    settings.ORGSYNC_METRICS_TOKEN = "t0ken"
    connection = runs_with_files()
    quiet = SyncRunFactory(kind=SyncRun.Kind.APPLY).connection
    text = client.get("/metrics", HTTP_AUTHORIZATION="Bearer t0ken").content.decode()
    assert f'orgsync_files_sent_24h{{connection="{connection.name}"}} 5' in text
    assert f'orgsync_file_bytes_sent_24h{{connection="{connection.name}"}} {3 * MB + 15}' in text
    assert f'orgsync_files_sent_24h{{connection="{quiet.name}"}} 0' in text

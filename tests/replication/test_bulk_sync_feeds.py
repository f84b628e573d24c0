"""Bulk sync with Sync Feeds on: the posts, comments, files and attachments of the records it
copies follow them (through the engine's own feed step), with the run's cutoff date, against two
sfemu orgs over real HTTP. Each test compares what both orgs hold under each record pair, field
by field, and the files and bytes the object, the run, the progress page and the command show."""

import base64
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.urls import reverse
from django.utils import timezone

from connections.models import Connection
from orgsync.roles import ADMINISTRATORS
from replication.bulksync.runner import BulkSyncRunner
from replication.engine.context import EngineContext
from replication.models import BulkSync, RecordLink
from replication.services.bulk_sync import bulk_sync_start
from synclog.models import SyncLog, SyncRun
from tests.factories import UserFactory
from tests.replication.test_bulk_sync import objects, quick_sleep, run, subscribe
from tests.replication.test_feeds_files import MB, create, query, snapshot, upload

EMPTY = {"posts": [], "comments": [], "files": [], "attachments": []}


@pytest.fixture
def feeds(linked):
    """A one-way connection, Account and Contact published and subscribed, Sync Feeds and Audit
    Fields on (both orgs allow audit fields on create)."""
    Connection.objects.filter(pk=linked.connection.pk).update(sync_feeds_and_audit_fields=True)
    linked.connection.refresh_from_db()
    for handle in (linked.primary, linked.secondary):
        handle.org.set_option("audit_fields_on_create", True)
    subscribe(linked, "Account", "Contact")
    return linked


def attach(handle, parent: str, name: str, body: bytes, **extra) -> str:
    values = {"ParentId": parent, "Name": name, "Body": base64.b64encode(body).decode(), **extra}
    return create(handle, "Attachment", values)


def copy_of(linked, source_id: str) -> str:
    return RecordLink.objects.get(connection=linked.connection, primary_id=source_id).secondary_id


def stamp(moment) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def seed_with_feeds(linked) -> tuple[dict[str, str], int]:
    """Two Accounts and a Contact with posts, a comment, a link post, a file with its file post and
    attachments: their Ids by name, and the bytes of their files and attachments."""
    acme = create(linked.primary, "Account", {"Name": "Acme"})
    beta = create(linked.primary, "Account", {"Name": "Beta"})
    quiet = create(linked.primary, "Account", {"Name": "Quiet"})
    contact = create(linked.primary, "Contact", {"LastName": "Ann", "AccountId": acme})
    post = create(linked.primary, "FeedItem", {"ParentId": acme, "Body": "Renewal call done"})
    create(linked.primary, "FeedComment", {"FeedItemId": post, "CommentBody": "Thanks @Ann"})
    create(linked.primary, "FeedItem", {"ParentId": acme, "LinkUrl": "https://example.com/deck"})
    version = upload(linked.primary, acme, 3 * MB + 5, "deck.pdf")
    create(linked.primary, "FeedItem", {"ParentId": acme, "Body": "The deck", "RelatedRecordId": version})
    attach(linked.primary, acme, "notes.txt", b"hello")
    attach(linked.primary, beta, "prices.csv", b"sku,price\n1,2\n")
    create(linked.primary, "FeedItem", {"ParentId": contact, "Body": "Met at the fair"})
    ids = {"Acme": acme, "Beta": beta, "Quiet": quiet, "Ann": contact}
    return ids, 3 * MB + 5 + len(b"hello") + len(b"sku,price\n1,2\n")


@pytest.mark.parametrize("threshold", [1000, 1], ids=["rest", "bulk-api"])
def test_records_arrive_with_their_posts_comments_files_and_attachments(feeds, settings, threshold):
    settings.ORGSYNC_BULK_SYNC_THRESHOLD = threshold
    ids, sent_bytes = seed_with_feeds(feeds)

    bulk = run(feeds)

    assert bulk.status == BulkSync.Status.COMPLETED, bulk.error
    for source_id in ids.values():
        copy = copy_of(feeds, source_id)
        assert snapshot(feeds.secondary, copy) == snapshot(feeds.primary, source_id), source_id
    acme = snapshot(feeds.secondary, copy_of(feeds, ids["Acme"]))
    assert {p[0] for p in acme["posts"]} == {"TextPost", "LinkPost", "ContentPost"}
    assert [len(acme[k]) for k in ("posts", "comments", "files", "attachments")] == [3, 1, 1, 1]
    assert snapshot(feeds.secondary, copy_of(feeds, ids["Quiet"])) == EMPTY
    content_post = query(
        feeds.secondary,
        f"SELECT RelatedRecordId FROM FeedItem WHERE ParentId = '{copy_of(feeds, ids['Acme'])}' "
        "AND Type = 'ContentPost'",
    )
    latest = query(feeds.secondary, "SELECT Id FROM ContentVersion WHERE IsLatest = true")
    assert [p["RelatedRecordId"] for p in content_post] == [v["Id"] for v in latest], "the copy's own file"

    got = objects(bulk)
    assert (got["Account"].files, got["Account"].file_bytes) == (3, sent_bytes)
    assert (got["Contact"].files, got["Contact"].file_bytes) == (0, 0)
    run_row = SyncRun.objects.get(pk=bulk.run_id)
    assert (run_row.files, run_row.file_bytes, run_row.failed) == (3, sent_bytes, 0)

    again = run(feeds)  # nothing new: no record, post or file is sent twice
    assert [(o.inserted, o.skipped, o.files) for o in again.sync_objects.all()] == [(0, 3, 0), (0, 1, 0)]
    assert len(query(feeds.secondary, "SELECT Id FROM FeedItem")) == 4
    assert len(query(feeds.secondary, "SELECT Id FROM Attachment")) == 2


def test_a_file_body_costs_one_call_each_way_and_feeds_ride_on_composite_reads(feeds):
    """Ten Accounts with a post, a comment and an attachment each: one download per attachment in
    the source, one upload in the target; the posts and comments are read with composite queries
    and written with composite collections, not one call per record."""
    for n in range(10):
        account = create(feeds.primary, "Account", {"Name": f"Customer {n}"})
        post = create(feeds.primary, "FeedItem", {"ParentId": account, "Body": f"post {n}"})
        create(feeds.primary, "FeedComment", {"FeedItemId": post, "CommentBody": "ok"})
        attach(feeds.primary, account, f"a{n}.txt", b"x" * (n + 1))
    ctx = EngineContext(worker="test")

    started = bulk_sync_start(connection=feeds.connection, actor=None, run_in_worker=False)
    bulk = BulkSyncRunner(started, ctx=ctx, sleep=quick_sleep).run()

    assert bulk.status == BulkSync.Status.COMPLETED, bulk.error
    assert len(query(feeds.secondary, "SELECT Id FROM FeedComment")) == 10
    source = ctx.client(feeds.connection.primary_org).calls
    target = ctx.client(feeds.connection.secondary_org).calls
    assert (source["blob"], target["blob"]) == (10, 10), "one download and one upload per body"
    assert source["composite"] <= 2, source  # the records' count, then their children in one read
    assert target["collections"] <= 3, target  # the records, the posts, the comments
    run_row = SyncRun.objects.get(pk=bulk.run_id)
    assert (run_row.files, run_row.file_bytes) == (10, sum(range(1, 11)))


@pytest.mark.parametrize("scope", ["cutoff", "limit"])
def test_the_cutoff_date_applies_to_the_children_too(feeds, scope):
    """A cutoff ten days ago copies the posts, comments, files and attachments changed since; a
    run by number of entities has no cutoff and brings them all."""
    account = create(feeds.primary, "Account", {"Name": "Acme"})
    post = create(feeds.primary, "FeedItem", {"ParentId": account, "Body": "This week"})
    create(feeds.primary, "FeedComment", {"FeedItemId": post, "CommentBody": "noted"})
    attach(feeds.primary, account, "new.txt", b"new")
    upload(feeds.primary, account, 1000, "new.bin")
    recent = snapshot(feeds.primary, account)
    old = {"CreatedDate": stamp(timezone.now() - timedelta(days=30))}
    old["LastModifiedDate"] = old["CreatedDate"]
    create(feeds.primary, "FeedItem", {"ParentId": account, "Body": "Last month", **old})
    attach(feeds.primary, account, "old.txt", b"old", **old)
    everything = snapshot(feeds.primary, account)
    assert everything != recent

    options = {"since": timezone.now() - timedelta(days=10)} if scope == "cutoff" else {"limit": 5}
    bulk = run(feeds, **options)

    assert bulk.status == BulkSync.Status.COMPLETED, bulk.error
    held = snapshot(feeds.secondary, copy_of(feeds, account))
    assert held == (recent if scope == "cutoff" else everything)
    files = 2 if scope == "cutoff" else 3
    assert objects(bulk)["Account"].files == files
    assert not SyncLog.objects.filter(connection=feeds.connection).exists()


def test_a_file_over_the_limit_is_logged_in_the_bulk_run(feeds, settings):
    settings.ORGSYNC_FILE_SIZE_LIMIT_MB = 1
    account = create(feeds.primary, "Account", {"Name": "Acme"})
    upload(feeds.primary, account, 2 * MB, "big.zip")
    attach(feeds.primary, account, "small.txt", b"small")

    bulk = run(feeds)

    assert bulk.status == BulkSync.Status.COMPLETED, bulk.error  # the records all went
    held = snapshot(feeds.secondary, copy_of(feeds, account))
    assert held["files"] == [] and held["attachments"] == [("small.txt", "5")]
    entry = SyncLog.objects.get(connection=feeds.connection, error_code="FILE_TOO_LARGE")
    assert entry.run_id == bulk.run_id and entry.source_object == "ContentDocument"
    run_row = SyncRun.objects.get(pk=bulk.run_id)
    assert (run_row.files, run_row.file_bytes, run_row.failed) == (1, 5, 1)


def test_progress_page_and_command_show_files_and_bytes(feeds, client):
    _, sent_bytes = seed_with_feeds(feeds)
    out = StringIO()
    call_command("bulk_sync", feeds.connection.name, stdout=out, stderr=StringIO())
    output = out.getvalue()
    assert "Account: 3 / 3 processed;" in output
    assert "files 3 (3.0\xa0MB)" in output, output
    rows = {line.split()[0]: line.split() for line in output.splitlines() if line.split()[:1] == ["Account"]}
    assert f"{sent_bytes:,}" in rows["Account"] and "3" in rows["Account"]

    bulk = BulkSync.objects.get(connection=feeds.connection)
    client.force_login(UserFactory(groups=[ADMINISTRATORS]))
    page = client.get(reverse("admin:replication_bulksync_change", args=[bulk.pk])).content.decode()
    assert '<td id="bulk-files">3 files and attachments sent (3.0\xa0MB, ' in page
    assert f"{sent_bytes:,} bytes)" in page
    assert '<td class="num files">3</td>' in page
    assert f'<td class="num file-bytes" title="3.0\xa0MB">{sent_bytes}</td>' in page

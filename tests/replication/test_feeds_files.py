"""Sync Feeds: posts, comments, files and attachments of synced records travel with them, both
ways on a two-way connection, once each, against two sfemu orgs over real HTTP. Each test ends by
comparing what both orgs hold under the record pair."""

import os
import tempfile
import tracemalloc

import pytest

from connections.models import Connection
from replication.engine.cycle import sync_once
from replication.models import RecordLink
from synclog.models import SyncLog
from tests.replication.conftest import LinkedOrgs

MB = 1024 * 1024
OLD = "2026-03-15T10:00:00.000+0000"


@pytest.fixture
def feeds(both_ways: LinkedOrgs) -> LinkedOrgs:
    """A two-way Account connection with Sync Feeds and Audit Fields on (both orgs allow them)."""
    Connection.objects.filter(pk=both_ways.connection.pk).update(sync_feeds_and_audit_fields=True)
    for handle in (both_ways.primary, both_ways.secondary):
        handle.org.set_option("audit_fields_on_create", True)
    return both_ways


def create(handle, sobject: str, values: dict, **kwargs) -> str:
    return handle.org.create(sobject, values, user_id=handle.user_id, **kwargs)


def query(handle, soql: str) -> list[dict]:
    return handle.org.query(soql, api_version="62.0").records


def synced_account(linked: LinkedOrgs, name: str = "Acme") -> tuple[str, str]:
    """An Account made in the primary and synced: (its Id, its copy's Id)."""
    account = create(linked.primary, "Account", {"Name": name})
    sync_once(linked.connection)
    return account, RecordLink.objects.get(connection=linked.connection, primary_id=account).secondary_id


def upload(handle, parent: str, size: int, name: str = "data.bin", document: str | None = None) -> str:
    """A ContentVersion of `size` random bytes on `parent` (or a new version of `document`)."""
    values = {"PathOnClient": name}
    values.update({"ContentDocumentId": document} if document else {"FirstPublishLocationId": parent})
    with tempfile.TemporaryFile() as file:
        for start in range(0, size, MB):
            file.write(os.urandom(min(MB, size - start)))
        file.seek(0)
        return create(handle, "ContentVersion", values, files={"VersionData": file})


def snapshot(handle, parent: str) -> dict:
    """What a record holds under it, without Ids (so both orgs' sides compare equal)."""
    posts = query(
        handle, f"SELECT Id, Type, Body, LinkUrl, CreatedDate FROM FeedItem WHERE ParentId = '{parent}'"
    )
    comments = query(handle, f"SELECT CommentBody, CreatedDate FROM FeedComment WHERE ParentId = '{parent}'")
    shares = query(
        handle, f"SELECT ContentDocumentId FROM ContentDocumentLink WHERE LinkedEntityId = '{parent}'"
    )
    docs = ",".join(f"'{s['ContentDocumentId']}'" for s in shares) or "''"
    files = query(
        handle,
        "SELECT Title, Checksum, ContentSize FROM ContentVersion "
        f"WHERE IsLatest = true AND ContentDocumentId IN ({docs})",
    )
    attachments = query(handle, f"SELECT Name, BodyLength FROM Attachment WHERE ParentId = '{parent}'")

    def rows(records: list[dict], *names: str) -> list[tuple]:
        return sorted(tuple(str(r.get(n)) for n in names) for r in records)

    return {
        "posts": rows(posts, "Type", "Body", "LinkUrl", "CreatedDate"),
        "comments": rows(comments, "CommentBody", "CreatedDate"),
        "files": rows(files, "Title", "Checksum", "ContentSize"),
        "attachments": rows(attachments, "Name", "BodyLength"),
    }


def assert_same(linked: LinkedOrgs, account: str, copy: str) -> dict:
    primary, secondary = snapshot(linked.primary, account), snapshot(linked.secondary, copy)
    assert primary == secondary
    return primary


def test_posts_comments_links_and_file_posts_travel_both_ways_once(feeds):
    account, copy = synced_account(feeds)
    create(feeds.primary, "FeedItem", {"ParentId": account, "Body": "Renewal call done", "CreatedDate": OLD})
    sync_once(feeds.connection)
    post_copy = query(feeds.secondary, f"SELECT Id, CreatedDate FROM FeedItem WHERE ParentId = '{copy}'")
    assert len(post_copy) == 1 and post_copy[0]["CreatedDate"].startswith("2026-03-15T10:00:00")

    create(feeds.secondary, "FeedComment", {"FeedItemId": post_copy[0]["Id"], "CommentBody": "Thanks @Ann"})
    create(feeds.secondary, "FeedItem", {"ParentId": copy, "LinkUrl": "https://example.com/deck"})
    version = upload(feeds.secondary, copy, 3 * MB + 5, "deck.pdf")
    create(feeds.secondary, "FeedItem", {"ParentId": copy, "Body": "The deck", "RelatedRecordId": version})
    for _ in range(3):  # more cycles: nothing comes back, nothing goes twice
        sync_once(feeds.connection)

    held = assert_same(feeds, account, copy)
    assert [len(held[k]) for k in ("posts", "comments", "files")] == [3, 1, 1]
    assert {p[0] for p in held["posts"]} == {"TextPost", "LinkPost", "ContentPost"}
    content_post = query(
        feeds.primary,
        f"SELECT RelatedRecordId FROM FeedItem WHERE ParentId = '{account}' AND Type = 'ContentPost'",
    )
    assert content_post[0]["RelatedRecordId"].startswith("068")


def test_a_new_version_is_sent_and_an_attachment_travels_back(feeds):
    account, copy = synced_account(feeds)
    first = upload(feeds.primary, account, 1000, "plan.txt")
    sync_once(feeds.connection)
    document = query(feeds.primary, f"SELECT ContentDocumentId FROM ContentVersion WHERE Id = '{first}'")[0]
    upload(feeds.primary, account, 2000, "plan.txt", document=document["ContentDocumentId"])
    create(feeds.secondary, "Attachment", {"ParentId": copy, "Name": "notes.txt", "Body": "aGVsbG8="})
    for _ in range(3):
        sync_once(feeds.connection)

    held = assert_same(feeds, account, copy)
    assert [f[2] for f in held["files"]] == ["2000"] and held["attachments"] == [("notes.txt", "5")]
    copies = query(feeds.secondary, "SELECT VersionNumber FROM ContentVersion WHERE IsLatest = true")
    assert [c["VersionNumber"] for c in copies] == ["2"], "the copy gained a version, not a second file"


def test_a_20_mb_file_streams_without_holding_it(feeds):
    account, copy = synced_account(feeds)
    upload(feeds.primary, account, 20 * MB, "video.mp4")
    tracemalloc.start()
    try:
        sync_once(feeds.connection)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    held = assert_same(feeds, account, copy)
    assert held["files"][0][2] == str(20 * MB)
    assert peak < 10 * MB, f"peak {peak / MB:.1f} MB while moving 20 MB"


def test_a_file_over_the_limit_is_skipped_and_logged(feeds):
    account, copy = synced_account(feeds)
    version = upload(feeds.primary, account, 40 * MB, "huge.zip")
    create(feeds.primary, "FeedItem", {"ParentId": account, "Body": "too big", "RelatedRecordId": version})
    sync_once(feeds.connection)
    sync_once(feeds.connection)
    assert snapshot(feeds.secondary, copy) == {"posts": [], "comments": [], "files": [], "attachments": []}
    entry = SyncLog.objects.get(connection=feeds.connection, error_code="FILE_TOO_LARGE")
    assert entry.source_object == "ContentDocument" and "40.0 MB, over the 38 MB limit" in entry.message


def test_deleting_the_parent_takes_its_children_and_undelete_brings_them_back(feeds):
    account, copy = synced_account(feeds)
    create(feeds.primary, "FeedItem", {"ParentId": account, "Body": "hello"})
    create(feeds.primary, "Attachment", {"ParentId": account, "Name": "a.txt", "Body": "aGVsbG8="})
    upload(feeds.primary, account, 1000, "f.txt")
    sync_once(feeds.connection)
    before = assert_same(feeds, account, copy)

    feeds.primary.org.delete(account, user_id=feeds.primary.user_id)
    sync_once(feeds.connection)
    gone = {"posts": [], "comments": [], "files": [], "attachments": []}
    assert snapshot(feeds.secondary, copy) == gone

    feeds.primary.org.undelete(account, user_id=feeds.primary.user_id)
    for _ in range(2):
        sync_once(feeds.connection)
    assert assert_same(feeds, account, copy) == before


def test_a_comment_on_a_record_deleted_in_the_other_org_meanwhile_fails_nothing(feeds):
    """The copy is deleted in the secondary while a comment is made on the record's post in the
    primary, before a cycle: the comment's parent is gone in the secondary (ENTITY_IS_DELETED).
    The delete travels to the primary and takes the comment along: both orgs agree, and no
    Failed entry claims a comment that has nothing left to go to."""
    account, copy = synced_account(feeds)
    post = create(feeds.primary, "FeedItem", {"ParentId": account, "Body": "Renewal call done"})
    sync_once(feeds.connection)

    feeds.secondary.org.delete(copy, user_id=feeds.secondary.user_id)
    create(feeds.primary, "FeedComment", {"FeedItemId": post, "CommentBody": "Thanks"})
    for _ in range(3):
        sync_once(feeds.connection)

    gone = {"posts": [], "comments": [], "files": [], "attachments": []}
    assert query(feeds.primary, f"SELECT Id FROM Account WHERE Id = '{account}'") == []
    assert snapshot(feeds.secondary, copy) == snapshot(feeds.primary, account) == gone
    assert (
        not SyncLog.objects.exclude(status=SyncLog.Status.RESOLVED)
        .filter(connection=feeds.connection)
        .exists()
    ), list(SyncLog.objects.values_list("source_object", "error_code", "status"))


def test_without_sync_feeds_no_feed_or_file_travels(both_ways):
    account, copy = synced_account(both_ways)
    create(both_ways.primary, "FeedItem", {"ParentId": account, "Body": "hello"})
    create(both_ways.primary, "Attachment", {"ParentId": account, "Name": "a.txt", "Body": "aGVsbG8="})
    upload(both_ways.primary, account, 1000)
    create(both_ways.primary, "Account", {"Name": "Second"})
    sync_once(both_ways.connection)
    assert snapshot(both_ways.secondary, copy) == {
        "posts": [],
        "comments": [],
        "files": [],
        "attachments": [],
    }
    assert not RecordLink.objects.filter(
        primary_object__in=["FeedItem", "Attachment", "ContentDocument"]
    ).exists()


def test_feeds_cost_composite_calls_not_one_per_record(feeds):
    """50 accounts with a post and a comment each: the feed step reads them with composite
    queries and writes them with composite collections, whatever the number of records."""
    for i in range(50):
        account = create(feeds.primary, "Account", {"Name": f"Customer {i}"})
        post = create(feeds.primary, "FeedItem", {"ParentId": account, "Body": f"post {i}"})
        create(feeds.primary, "FeedComment", {"FeedItemId": post, "CommentBody": "ok"})
    baseline = sync_once(feeds.connection).api_calls  # records and their feeds
    assert len(query(feeds.secondary, "SELECT Id FROM FeedComment")) == 50
    idle = sync_once(feeds.connection).api_calls  # nothing changed: each direction looks once
    assert baseline - idle <= 8, (baseline, idle)


def test_retry_of_a_file_deleted_in_the_source_meanwhile_ends_resolved(feeds, settings, sfemu_server):
    """A feed child retried after it was deleted in its source has nothing left to copy: its
    entry ends Resolved on the next cycle (not Retrying for ever), nothing reaches the target,
    and later cycles stop looking for it."""
    from synclog.services import sync_log_retry

    settings.ORGSYNC_FILE_SIZE_LIMIT_MB = 1
    account, copy = synced_account(feeds)
    version = upload(feeds.primary, account, 2 * MB, "gone.zip")
    sync_once(feeds.connection)
    entries = SyncLog.objects.filter(connection=feeds.connection, error_code="FILE_TOO_LARGE")
    assert entries.get().status == SyncLog.Status.FAILED
    sfemu_server.clock.advance(seconds=60)
    sync_once(feeds.connection)
    document = query(feeds.primary, f"SELECT ContentDocumentId FROM ContentVersion WHERE Id = '{version}'")
    feeds.primary.org.delete(document[0]["ContentDocumentId"], user_id=feeds.primary.user_id)

    settings.ORGSYNC_FILE_SIZE_LIMIT_MB = 38
    assert sync_log_retry(entries=entries).retried == 1
    sync_once(feeds.connection)
    assert entries.get().status == SyncLog.Status.RESOLVED
    assert assert_same(feeds, account, copy)["files"] == []
    assert not SyncLog.objects.filter(
        connection=feeds.connection, status__in=[SyncLog.Status.RETRYING, SyncLog.Status.FAILED]
    ).exists()


def test_retry_of_a_skipped_file_sends_it_once_the_limit_allows(feeds, settings, sfemu_server):
    """An operator's Retry on a feed child's Failed entry queues no record: the next cycle's feed
    step looks at its record again. A file skipped as too large goes once the limit is raised,
    and its entry ends Resolved."""
    from replication.models import RecordQueueItem
    from synclog.services import sync_log_retry

    settings.ORGSYNC_FILE_SIZE_LIMIT_MB = 1
    account, copy = synced_account(feeds)
    upload(feeds.primary, account, 2 * MB, "plan.zip")
    sync_once(feeds.connection)
    entries = SyncLog.objects.filter(connection=feeds.connection, error_code="FILE_TOO_LARGE")
    assert entries.get().status == SyncLog.Status.FAILED
    assert snapshot(feeds.secondary, copy)["files"] == []
    sfemu_server.clock.advance(seconds=60)
    sync_once(feeds.connection)  # the feed step's window moves past the file

    settings.ORGSYNC_FILE_SIZE_LIMIT_MB = 38
    assert sync_log_retry(entries=entries).retried == 1
    assert entries.get().status == SyncLog.Status.RETRYING
    assert not RecordQueueItem.objects.filter(source_object="ContentDocument").exists()
    sync_once(feeds.connection)

    held = assert_same(feeds, account, copy)
    assert [f[0] for f in held["files"]] == ["plan"]
    assert entries.get().status == SyncLog.Status.RESOLVED

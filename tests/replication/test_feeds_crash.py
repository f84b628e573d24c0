"""Sync Feeds after a killed worker: a post, comment, file share, file or attachment a worker
copied and died before linking is found and linked, never written a second time, in either
direction, and never sent back as a child of the other org's own. Each test ends by comparing
what both orgs hold under the record pair (`test_feeds_files.snapshot`)."""

import pytest
from django.utils import timezone

from replication.engine.context import EngineContext
from replication.engine.cycle import sync_once
from replication.engine.feeds import FeedSync
from replication.models import Direction, PendingChildCopy, RecordLink
from replication.services.links import links_rebuild
from tests.replication.test_engine_integrity import InjectedCrash, expire_lease
from tests.replication.test_feeds_files import assert_same, create, feeds, query, synced_account, upload

__all__ = ["feeds"]  # the fixture, imported for this module's tests

# With one child of each kind, the "feeds.written" checkpoints come in this order: the file's
# upload, its share on the record, the post, the comment on it, the attachment's upload.
KINDS = ["file", "share", "post", "comment", "attachment"]


def crash_after_write(nth: int):
    """A worker killed right after its nth write of a feed child, before it is linked."""
    seen = {"n": 0}

    def hook(point: str) -> None:
        if point == "feeds.written":
            seen["n"] += 1
            if seen["n"] == nth:
                raise InjectedCrash(point)

    return hook


def files_in(handle) -> int:
    """Every file of the org (a file uploaded twice is two documents, shared or not)."""
    return len(query(handle, "SELECT Id FROM ContentDocument"))


def one_of_each(handle, parent: str) -> None:
    upload(handle, parent, 2000, "plan.txt")
    post = create(handle, "FeedItem", {"ParentId": parent, "Body": "Kick-off done"})
    create(handle, "FeedComment", {"FeedItemId": post, "CommentBody": "Notes attached"})
    create(handle, "Attachment", {"ParentId": parent, "Name": "notes.txt", "Body": "aGVsbG8="})


@pytest.mark.parametrize("nth", range(1, len(KINDS) + 1), ids=KINDS)
@pytest.mark.parametrize("origin", ["primary", "secondary"])
def test_a_child_copied_by_a_killed_worker_is_linked_not_written_again(feeds, origin, nth):
    account, copy = synced_account(feeds)
    source, parent = (feeds.primary, account) if origin == "primary" else (feeds.secondary, copy)
    one_of_each(source, parent)
    with pytest.raises(InjectedCrash):
        sync_once(feeds.connection, ctx=EngineContext(worker="killed", on_checkpoint=crash_after_write(nth)))
    assert PendingChildCopy.objects.exists(), "the killed worker left its child in flight"
    expire_lease()
    for _ in range(3):
        sync_once(feeds.connection)

    held = assert_same(feeds, account, copy)
    assert [len(held[k]) for k in ("posts", "comments", "files", "attachments")] == [1, 1, 1, 1]
    assert files_in(feeds.primary) == files_in(feeds.secondary) == 1
    assert not PendingChildCopy.objects.exists()
    assert RecordLink.objects.filter(connection=feeds.connection, primary_object="FeedItem").count() == 1


def test_a_child_announced_but_never_written_is_written_once(feeds):
    """Killed after announcing a post, before the write reached the org: no copy is found, so
    the post is written (once). A listed child that is gone from its source is forgotten."""
    account, copy = synced_account(feeds)
    post = create(feeds.primary, "FeedItem", {"ParentId": account, "Body": "Signed"})
    gone = create(feeds.primary, "FeedItem", {"ParentId": account, "Body": "Draft"})
    feeds.primary.org.delete(gone, user_id=feeds.primary.user_id)
    for source_id in (post, gone):
        PendingChildCopy.objects.create(
            connection=feeds.connection,
            direction=Direction.PRIMARY_TO_SECONDARY,
            source_object="FeedItem",
            source_id=source_id,
            parent_id=account,
        )
    sync_once(feeds.connection)

    held = assert_same(feeds, account, copy)
    assert [p[1] for p in held["posts"]] == ["Signed"]
    assert not PendingChildCopy.objects.exists()


def test_a_record_linked_outside_apply_brings_its_older_posts(feeds, sfemu_server):
    """A link saved by something other than the cycle's own apply (here `rebuild_links` after
    the ledger was lost; a killed cycle's link, or one the other direction made, is another)
    brings the record's posts, even ones older than the step's window."""
    account, copy = synced_account(feeds)
    create(feeds.primary, "FeedItem", {"ParentId": account, "Body": "Before the ledger was lost"})
    RecordLink.objects.filter(connection=feeds.connection).delete()
    sfemu_server.clock.advance(seconds=60)
    ctx = EngineContext(worker="w")
    step = FeedSync(ctx, feeds.connection, Direction.PRIMARY_TO_SECONDARY)
    step.run(since=timezone.now())  # no link: nothing to send the post to; the window moves on
    assert query(feeds.secondary, f"SELECT Id FROM FeedItem WHERE ParentId = '{copy}'") == []
    links_rebuild(connection=feeds.connection)
    # the next step, after an apply that wrote nothing (it began after the rebuild)
    FeedSync(ctx, feeds.connection, Direction.PRIMARY_TO_SECONDARY).run(since=timezone.now())

    held = assert_same(feeds, account, copy)
    assert [p[1] for p in held["posts"]] == ["Before the ledger was lost"]

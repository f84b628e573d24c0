"""Sync Feeds (issue 20) against sfemu: file transfer speed, API calls per 1,000 feed items, memory.

Sets up a throw-away console database (SQLite in a temp dir) and an in-process sfemu (file-backed
data dir, HTTPS) with two orgs linked both ways, Account published and subscribed in both
directions and the connection's *Sync Feeds and Audit Fields* on. Then it measures:

1. files: `--files` files of `--mb` MB each uploaded to a synced Account in the primary, then as
   many in the secondary; one `sync_once` each sends them (streamed through temporary files, one
   API call each way per body): MB/s per direction, API calls by kind, then the same for a new
   version of each primary file;
2. feeds: `--feed-items` feed items (40 % posts, 60 % comments) on 100 synced Accounts in the
   primary; one `sync_once` sends them: API calls of that cycle less an idle cycle's, per 1,000
   feed items, and the items per second;
3. peak RSS of the process (VmHWM; sfemu runs in this process and its HTTP server handles the
   bodies too), before and after the file transfers.

Prints figures; asserts nothing. `--files 2 --mb 4 --feed-items 200` makes a quicker run.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.engine import setup_django  # noqa: E402
from bench.worker_peak import peak_rss_kb  # noqa: E402

MB = 1024 * 1024


def linked_two_way(server):
    """Two orgs linked both ways, Account published and subscribed in both directions, Sync
    Feeds on, and both orgs letting the created date and author be set (as the tests do)."""
    from connections import services as connection_services
    from connections.models import Connection
    from replication import services
    from replication.models import Direction
    from tests.connections.emu import connect_by_password

    primary, secondary = server.create_org(), server.create_org()
    connection = connection_services.connection_accept(
        connection=connection_services.connection_create(
            actor=None,
            name=f"bench {primary.name}",
            primary_org=connect_by_password(server, primary),
            secondary_org=connect_by_password(server, secondary),
            owner_username=primary.username,
            owner_user_id=primary.user_id,
            direction=Connection.Direction.TWO_WAY,
        ),
        actor=None,
    )
    for direction in (Direction.PRIMARY_TO_SECONDARY, Direction.SECONDARY_TO_PRIMARY):
        publication = services.publication_publish(
            connection=connection, direction=direction, source_object="Account", actor=None
        )
        services.subscription_subscribe(publication=publication, actor=None)
    Connection.objects.filter(pk=connection.pk).update(sync_feeds_and_audit_fields=True)
    connection.refresh_from_db()
    for handle in (primary, secondary):
        handle.org.set_option("audit_fields_on_create", True)
    return connection, primary, secondary


def calls_by_kind(connection) -> Counter:
    """API calls the engine made to both orgs so far, by kind (`connections.client` counters)."""
    from connections.client import api_calls

    return api_calls(connection.primary_org) + api_calls(connection.secondary_org)


def upload(handle, values: dict, size: int) -> str:
    """A ContentVersion of `size` random bytes, sent to sfemu as a multipart body from a file."""
    with tempfile.TemporaryFile() as file:
        for start in range(0, size, MB):
            file.write(os.urandom(min(MB, size - start)))
        file.seek(0)
        return handle.org.create(
            "ContentVersion", values, user_id=handle.user_id, files={"VersionData": file}
        )


def timed_cycle(connection) -> tuple[float, int, Counter]:
    """One `sync_once`: (seconds, its API calls, calls by kind)."""
    from replication.engine.cycle import sync_once

    before = calls_by_kind(connection)
    started = time.perf_counter()
    report = sync_once(connection)
    elapsed = time.perf_counter() - started
    return elapsed, report.api_calls, calls_by_kind(connection) - before


def synced_accounts(connection, primary, count: int) -> list[str]:
    """`count` Accounts made in the primary and synced (and an idle cycle after, to settle)."""
    from replication.engine.cycle import sync_once

    accounts = [
        primary.org.create("Account", {"Name": f"Bench {n}"}, user_id=primary.user_id) for n in range(count)
    ]
    sync_once(connection)
    sync_once(connection)
    return accounts


def copy_of(connection, record_id: str) -> str:
    from replication.models import RecordLink

    return RecordLink.objects.get(connection=connection, primary_id=record_id).secondary_id


def kinds(counter: Counter) -> str:
    return ", ".join(f"{kind} {n}" for kind, n in sorted(counter.items()))


def bench_files(server, files: int, size_mb: int) -> None:
    connection, primary, secondary = linked_two_way(server)
    account = synced_accounts(connection, primary, 1)[0]
    copy = copy_of(connection, account)
    idle_seconds, idle_calls, _ = timed_cycle(connection)
    print(f"idle cycle: {idle_seconds:.2f} s, {idle_calls} API calls")
    size = size_mb * MB
    print(f"peak RSS before the files: {peak_rss_kb() / 1024:,.0f} MB")
    documents = []
    directions = (("primary → secondary", primary, account), ("secondary → primary", secondary, copy))
    for side, handle, parent in directions:
        versions = [
            upload(handle, {"PathOnClient": f"file{n}.bin", "FirstPublishLocationId": parent}, size)
            for n in range(files)
        ]
        if handle is primary:
            rows = primary.org.query(
                "SELECT ContentDocumentId FROM ContentVersion WHERE Id IN ({})".format(
                    ",".join(f"'{v}'" for v in versions)
                ),
                api_version="62.0",
            ).records
            documents = [r["ContentDocumentId"] for r in rows]
        elapsed, calls, by_kind = timed_cycle(connection)
        moved = files * size / MB
        print(
            f"files {side}: {files} x {size_mb} MB = {moved:,.0f} MB in a cycle of {elapsed:.2f} s = "
            f"{moved / elapsed:,.1f} MB/s ({moved / (elapsed - idle_seconds):,.1f} MB/s less an idle "
            f"cycle's time), {calls} API calls ({kinds(by_kind)})"
        )
    for document in documents:
        upload(primary, {"PathOnClient": "file.bin", "ContentDocumentId": document}, size)
    elapsed, calls, by_kind = timed_cycle(connection)
    moved = files * size / MB
    print(
        f"new versions primary → secondary: {files} x {size_mb} MB in a cycle of {elapsed:.2f} s = "
        f"{moved / elapsed:,.1f} MB/s ({moved / (elapsed - idle_seconds):,.1f} MB/s less an idle "
        f"cycle's time), {calls} API calls ({kinds(by_kind)})"
    )
    held = secondary.org.query(
        "SELECT COUNT(Id) n FROM ContentVersion WHERE IsLatest = true", api_version="62.0"
    ).records
    print(f"latest file versions in the secondary: {held[0].get('n', held[0])}")
    print(f"peak RSS after the files: {peak_rss_kb() / 1024:,.0f} MB")


def bench_feeds(server, feed_items: int, parents: int = 100) -> None:
    connection, primary, secondary = linked_two_way(server)
    accounts = synced_accounts(connection, primary, parents)
    _, idle, _ = timed_cycle(connection)
    posts_count = feed_items * 2 // 5
    comments_count = feed_items - posts_count
    posts = [
        primary.org.create(
            "FeedItem",
            {"ParentId": accounts[n % parents], "Body": f"Post {n} about the renewal"},
            user_id=primary.user_id,
        )
        for n in range(posts_count)
    ]
    for n in range(comments_count):
        primary.org.create(
            "FeedComment",
            {"FeedItemId": posts[n % posts_count], "CommentBody": f"Comment {n}"},
            user_id=primary.user_id,
        )
    elapsed, calls, by_kind = timed_cycle(connection)
    feed_calls = calls - idle
    arrived = {
        sobject: len(secondary.org.query(f"SELECT Id FROM {sobject}", api_version="62.0").records)
        for sobject in ("FeedItem", "FeedComment")
    }
    print(
        f"feeds: {posts_count:,} posts + {comments_count:,} comments on {parents} synced Accounts "
        f"in one cycle of {elapsed:.2f} s ({feed_items / elapsed:,.0f} feed items/s); "
        f"{calls} API calls ({kinds(by_kind)}) less {idle} of an idle cycle = {feed_calls} = "
        f"{feed_calls * 1000 / feed_items:.1f} API calls per 1,000 feed items"
    )
    print(f"arrived in the secondary: {arrived['FeedItem']:,} posts, {arrived['FeedComment']:,} comments")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--files", type=int, default=4)
    parser.add_argument("--mb", type=int, default=8, help="size of each file in MB")
    parser.add_argument("--feed-items", type=int, default=1000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        setup_django(Path(tmp))
        from sfemu.testing import start_server

        server = start_server(Path(tmp) / "data", tls_dir=Path(tmp) / "tls")
        try:
            bench_files(server, args.files, args.mb)
            bench_feeds(server, args.feed_items)
        finally:
            server.stop()
        print(f"peak RSS of the process (sfemu included): {peak_rss_kb() / 1024:,.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

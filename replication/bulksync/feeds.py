"""Sync Feeds in a bulk sync: the posts, comments, files and attachments of the records an object
of the run copied follow them, through the engine's own step (`replication.engine.feeds`).

The records are those linked by this run (inserted, or found in the target by their source Id
and linked): the links of the object made since the run started. They are read from the
database 200 at a time, by primary key, so nothing is held for the whole object and no cursor
stays open while the step writes links. The run's cutoff date applies to the children too
(`feeds.CUTOFF_FIELDS`); a run by number of entities has no cutoff and brings every child of its
records.

A resumed run simply runs the step again for the object: what went before is linked, and is
neither sent nor counted twice.
"""

from collections.abc import Callable, Iterator

from replication.engine.context import EngineContext
from replication.engine.feeds import ID_CHUNK, FeedReport, sync_feeds_of_copies
from replication.models import BulkSync, Direction, RecordLink


def copied_records(bulk: BulkSync, source_object: str) -> Iterator[tuple[str, str]]:
    """(source Id, copy Id) of the records of `source_object` this bulk sync linked."""
    forward = bulk.direction == Direction.PRIMARY_TO_SECONDARY
    side, other = ("primary", "secondary") if forward else ("secondary", "primary")
    links = RecordLink.objects.filter(
        connection_id=bulk.connection_id,
        is_deleted=False,
        created_at__gte=bulk.started_at,
        **{f"{side}_object": source_object},
    ).order_by("pk")
    last = 0
    while page := list(links.filter(pk__gt=last).values_list("pk", f"{side}_id", f"{other}_id")[:ID_CHUNK]):
        yield from ((source, copy) for _, source, copy in page)
        last = page[-1][0]


def bulk_sync_feeds(
    ctx: EngineContext,
    bulk: BulkSync,
    source_object: str,
    *,
    after_chunk: Callable[[FeedReport], None],
) -> FeedReport:
    """The feeds and files of the object's copied records, changed on or after the run's cutoff;
    failures are logged in the run's sync log."""
    return sync_feeds_of_copies(
        ctx,
        bulk.connection,
        bulk.direction,
        copied_records(bulk, source_object),
        cutoff=bulk.since,
        run=bulk.run,
        after_chunk=after_chunk,
    )

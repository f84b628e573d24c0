"""`sets.insert_rows` and `sets.update_rows`: the engine's many-row writes (record queue items,
links), checked on the database the lane runs (SQLite in `make test`, PostgreSQL in the
scaled-out lane): what lands in each column, defaults and auto_now fields, conflicts skipped or
raised, the batch boundaries, and how few statements it takes."""

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.db import connection as db
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from replication.engine import queue
from replication.engine.links import NEW_LINK_FIELDS, LinkIndex, LinkWrite
from replication.engine.sets import insert_rows, update_rows
from replication.models import Direction, QueueAction, QueueStatus, RecordLink, RecordQueueItem
from tests.factories import ConnectionFactory

P2S = Direction.PRIMARY_TO_SECONDARY
ROWS = 1234  # past one statement's batch (500 rows) on both databases


def ids(prefix: str, count: int) -> list[str]:
    return [f"{prefix}{n:015d}" for n in range(count)]


@pytest.mark.django_db
def test_rows_land_with_their_values_shared_values_and_defaults():
    connection = ConnectionFactory()
    before = timezone.now()
    rows = [(source_id, QueueAction.GENERIC_UPDATE) for source_id in ids("001", ROWS)]
    with CaptureQueriesContext(db) as statements:
        insert_rows(
            RecordQueueItem,
            ["source_id", "action"],
            rows,
            shared={"connection": connection.pk, "direction": P2S, "source_object": "Account"},
        )
    inserts = [q for q in statements.captured_queries if q["sql"].startswith("INSERT")]
    assert 1 <= len(inserts) <= 3, f"{len(inserts)} INSERT statements for {ROWS} rows"

    items = list(RecordQueueItem.objects.filter(connection=connection).order_by("source_id"))
    assert [(i.source_id, i.action) for i in items] == rows
    for item in items:
        assert (item.direction, item.source_object, item.status) == (P2S, "Account", QueueStatus.QUEUED)
        assert (item.version, item.attempts, item.accepted, item.claimed_by) == (1, 0, False, "")
        assert item.next_retry_at is None and item.claimed_at is None
        assert before <= item.enqueued_at <= timezone.now()
        assert item.updated_at == item.enqueued_at


@pytest.mark.django_db
def test_conflicts_are_skipped_when_asked_and_fail_the_statement_otherwise():
    connection = ConnectionFactory()
    shared = {"connection": connection.pk, "direction": P2S, "source_object": "Account"}
    queue.enqueue(connection, P2S, "Account", {"001000000000000001": QueueAction.GENERIC_INSERT})
    rows = [
        ("001000000000000001", QueueAction.REPLICATION_DELETE),
        ("001000000000000002", QueueAction.GENERIC_INSERT),
    ]

    insert_rows(RecordQueueItem, ["source_id", "action"], rows, shared=shared, ignore_conflicts=True)
    actions = dict(RecordQueueItem.objects.values_list("source_id", "action"))
    assert actions == {
        "001000000000000001": QueueAction.GENERIC_INSERT,  # the pending item is kept as it was
        "001000000000000002": QueueAction.GENERIC_INSERT,
    }

    with pytest.raises(IntegrityError), transaction.atomic():
        insert_rows(RecordQueueItem, ["source_id", "action"], [rows[0]], shared=shared)
    assert RecordQueueItem.objects.count() == 2


@pytest.mark.django_db
def test_nothing_to_insert_runs_no_statement():
    with CaptureQueriesContext(db) as statements:
        insert_rows(RecordQueueItem, ["source_id", "action"], [])
    assert not statements.captured_queries


@pytest.mark.django_db
def test_enqueue_inserts_new_items_and_collapses_pending_ones():
    connection = ConnectionFactory()
    first = dict.fromkeys(ids("001", ROWS), QueueAction.GENERIC_INSERT)
    assert queue.enqueue(connection, P2S, "Account", first) == ROWS
    again = dict.fromkeys(ids("001", 10), QueueAction.GENERIC_UPDATE) | {
        "001999999999999999": QueueAction.GENERIC_INSERT
    }
    assert queue.enqueue(connection, P2S, "Account", again) == 1
    items = RecordQueueItem.objects.filter(connection=connection)
    assert items.count() == ROWS + 1
    assert set(items.filter(version=2).values_list("source_id", "action")) == {
        (source_id, QueueAction.GENERIC_UPDATE) for source_id in ids("001", 10)
    }


@pytest.mark.django_db
def test_save_links_inserts_new_links_with_their_ids_and_updates_known_ones():
    connection = ConnectionFactory()
    links = LinkIndex(connection, P2S)
    writes = [
        LinkWrite("Account", source_id, "Account", target_id, target_hash=f"h{n}")
        for n, (source_id, target_id) in enumerate(zip(ids("001", ROWS), ids("00X", ROWS), strict=True))
    ]
    saved = links.save_links(writes)
    links.remember(saved)

    stored = {link.pk: link for link in RecordLink.objects.filter(connection=connection)}
    assert len(stored) == ROWS
    for link in saved:
        row = stored[link.pk]  # the in-memory link carries the id of its row
        assert [getattr(row, name) for name in NEW_LINK_FIELDS] == [
            getattr(link, name) for name in NEW_LINK_FIELDS
        ]
        assert not link._state.adding
    first = RecordLink.objects.get(connection=connection, primary_id=writes[0].source_id)
    assert (first.secondary_id, first.secondary_state_hash, first.p2s_sent_hash) == (
        writes[0].target_id,
        "h0",
        "h0",
    )
    assert (first.primary_object, first.is_deleted, first.synced_at is not None) == ("Account", False, True)

    # A second write of the same records updates those rows, found through their ids.
    links.remember(
        links.save_links([LinkWrite("Account", w.source_id, "Account", w.target_id, "new") for w in writes])
    )
    assert RecordLink.objects.filter(connection=connection).count() == ROWS
    assert set(RecordLink.objects.values_list("secondary_state_hash", flat=True)) == {"new"}


@pytest.mark.django_db
def test_update_rows_writes_each_rows_own_values_strings_booleans_and_datetimes():
    connection = ConnectionFactory()
    links = LinkIndex(connection, P2S)
    writes = [
        LinkWrite("Account", s, "Account", t, "h")
        for s, t in zip(ids("001", ROWS), ids("00X", ROWS), strict=True)
    ]
    saved = links.save_links(writes)
    untouched = RecordLink.objects.create(
        connection=connection,
        primary_object="Account",
        primary_id="001A",
        secondary_object="Account",
        secondary_id="00XA",
    )
    moment = timezone.now() - timedelta(days=3)
    for n, link in enumerate(saved):
        link.secondary_state_hash = f"hash {n}"
        link.is_deleted = n % 2 == 0
        link.synced_at = moment + timedelta(seconds=n)
    with CaptureQueriesContext(db) as statements:
        update_rows(RecordLink, saved, ["secondary_state_hash", "is_deleted", "synced_at"])
    assert len(statements.captured_queries) <= 3

    stored = {link.pk: link for link in RecordLink.objects.filter(connection=connection)}
    for n, link in enumerate(saved):
        row = stored[link.pk]
        assert (row.secondary_state_hash, row.is_deleted, row.synced_at) == (
            f"hash {n}",
            n % 2 == 0,
            moment + timedelta(seconds=n),
        )
        assert row.p2s_sent_hash == "h", "a field not named is left alone"
    assert stored[untouched.pk].secondary_state_hash == "" and not stored[untouched.pk].is_deleted


@pytest.mark.django_db
def test_in_ids_finds_exactly_what_in_finds_by_text_id_and_by_primary_key():
    connection = ConnectionFactory()
    source_ids = ids("001", ROWS)
    insert_rows(
        RecordQueueItem,
        ["source_id", "action"],
        [(source_id, QueueAction.GENERIC_UPDATE) for source_id in source_ids],
        shared={"connection": connection.pk, "direction": P2S, "source_object": "Account"},
    )
    items = RecordQueueItem.objects.filter(connection=connection)
    wanted = [*source_ids[::3], source_ids[0], "001nope"]  # a repeat and an id that is not there
    by_text = sorted(items.filter(source_id__in_ids=wanted).values_list("pk", flat=True))
    assert by_text == sorted(items.filter(source_id__in=wanted).values_list("pk", flat=True))
    assert len(by_text) == len(source_ids[::3])
    pks = by_text[::2]
    assert sorted(items.filter(pk__in_ids=pks).values_list("pk", flat=True)) == pks
    assert list(items.filter(pk__in_ids=[])) == []
    with pytest.raises(TypeError, match="in_ids takes ids"):
        items.filter(pk__in_ids=[1.0])

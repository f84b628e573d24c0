"""Issue 14's invariants, one by one, on a two-way Account connection between two sfemu orgs.

Each test ends by reading both orgs: the records, their values, their origin markers — never by
counting errors. Crashes are injected at the engine's checkpoints (`EngineContext.on_checkpoint`)
with an exception the engine does not catch, as a killed worker would stop.
"""

from datetime import timedelta

import pytest
from django.utils import timezone

from connections.models import Connection
from replication import services
from replication.engine import lease
from replication.engine.context import EngineContext
from replication.engine.cycle import sync_once
from replication.models import (
    EXTERNAL_ID_FIELD,
    Direction,
    EngineSchedule,
    QueueStatus,
    RecordLink,
    RecordQueueItem,
)
from synclog.catalog import GENERIC, explain
from synclog.models import SyncLog

P2S, S2P = Direction.PRIMARY_TO_SECONDARY, Direction.SECONDARY_TO_PRIMARY


class InjectedCrash(BaseException):
    """Stops a cycle the way SIGKILL does: nothing in the engine handles it."""


def crash_at(point: str, *, times: int = 1):
    remaining = {"n": times}

    def hook(reached: str) -> None:
        if reached == point and remaining["n"] > 0:
            remaining["n"] -= 1
            raise InjectedCrash(point)

    return hook


def accounts(handle) -> list[dict]:
    return handle.org.query(
        f"SELECT Id, Name, Phone, {EXTERNAL_ID_FIELD} FROM Account", include_deleted=False, api_version="62.0"
    ).records


def expire_lease() -> None:
    """What the passing of ORGSYNC_LEASE_SECONDS does for a killed cycle's lease."""
    EngineSchedule.objects.update(lease_until=timezone.now() - timedelta(seconds=1))


def settle(connection, cycles: int = 4) -> None:
    for _ in range(cycles):
        report = sync_once(connection)
        assert not report.coalesced and not report.lease_lost


def assert_agree(linked) -> None:
    """Every record has exactly one partner in the other org, with the same Name and Phone."""
    primary, secondary = accounts(linked.primary), accounts(linked.secondary)
    by_marker = {}
    for side, other in ((primary, secondary), (secondary, primary)):
        ids = {r["Id"] for r in side}
        for record in other:
            if record[EXTERNAL_ID_FIELD]:
                assert record[EXTERNAL_ID_FIELD] in ids, f"copy {record['Id']} of a record that is gone"
                assert record[EXTERNAL_ID_FIELD] not in by_marker, (
                    f"two copies of {record[EXTERNAL_ID_FIELD]}"
                )
                by_marker[record[EXTERNAL_ID_FIELD]] = record
    everything = {r["Id"]: r for r in primary + secondary}
    origins = [r for r in everything.values() if not r[EXTERNAL_ID_FIELD]]
    assert len(primary) == len(secondary) == len(origins), "each origin has one copy, nothing more"
    for origin in origins:
        copy = by_marker.get(origin["Id"])
        assert copy is not None, f"{origin['Id']} never reached the other org"
        assert (copy["Name"], copy["Phone"]) == (origin["Name"], origin["Phone"]), origin["Id"]


# --- one writer per connection ----------------------------------------------------------------
def test_the_lease_is_exclusive_and_fenced(both_ways):
    connection = both_ways.connection
    first = lease.acquire(connection, "worker-a")
    assert first is not None and lease.acquire(connection, "worker-b") is None
    first.renew()
    expire_lease()
    second = lease.acquire(connection, "worker-b")
    assert second is not None and second.token == first.token + 1
    with pytest.raises(lease.LeaseLost):
        first.renew()
    first.release()  # a lost lease releases nothing
    assert EngineSchedule.objects.get().lease_holder == second.holder
    second.release()
    assert EngineSchedule.objects.get().lease_holder == ""


def test_a_dead_cycles_claims_go_back_to_the_queue_when_its_lease_is_taken(both_ways):
    source_id = both_ways.primary.org.create(
        "Account", {"Name": "Claimed"}, user_id=both_ways.primary.user_id
    )
    with pytest.raises(InjectedCrash):
        sync_once(
            both_ways.connection, ctx=EngineContext(worker="dead", on_checkpoint=crash_at("apply.planned"))
        )
    item = RecordQueueItem.objects.get(source_id=source_id)
    assert item.status == QueueStatus.IN_PROGRESS, "the killed cycle left its claim"
    assert sync_once(both_ways.connection).coalesced, "its lease still holds the connection"
    expire_lease()
    settle(both_ways.connection, 2)
    assert not RecordQueueItem.objects.exists()
    assert_agree(both_ways)


def test_sync_now_while_a_cycle_runs_is_coalesced_into_the_next_cycle(both_ways):
    held = lease.acquire(both_ways.connection, "tick")
    both_ways.primary.org.create("Account", {"Name": "Later"}, user_id=both_ways.primary.user_id)
    report = sync_once(both_ways.connection)
    assert report.coalesced and report.written == 0
    assert accounts(both_ways.secondary) == [], "nothing ran beside the holder"
    schedule = EngineSchedule.objects.get()
    assert schedule.cycle_requested_at is not None and schedule.next_cycle_at <= timezone.now()
    held.release()
    settle(both_ways.connection, 2)
    assert_agree(both_ways)


def test_a_cycle_that_lost_its_lease_stops_before_its_next_write(both_ways):
    both_ways.primary.org.create("Account", {"Name": "Fenced"}, user_id=both_ways.primary.user_id)
    taken = {}

    def take_over(point: str) -> None:
        if point == "apply.planned" and not taken:
            expire_lease()
            taken["lease"] = lease.acquire(both_ways.connection, "another-cluster")

    report = sync_once(both_ways.connection, ctx=EngineContext(worker="slow", on_checkpoint=take_over))
    assert report.lease_lost
    assert accounts(both_ways.secondary) == [], "no write after the lease was lost"
    assert EngineSchedule.objects.get().lease_holder == taken["lease"].holder, "the new holder keeps it"
    taken["lease"].release()
    settle(both_ways.connection, 2)
    assert_agree(both_ways)


# --- identity from the orgs -------------------------------------------------------------------
def test_a_copy_whose_link_was_never_saved_is_linked_not_copied_back(both_ways):
    """A worker killed after the write and before the link: the reverse direction meets a
    record with no link that carries an origin Id, and links it instead of inserting it."""
    primary = both_ways.primary
    source_id = primary.org.create("Account", {"Name": "Origin", "Phone": "1"}, user_id=primary.user_id)
    with pytest.raises(InjectedCrash):
        sync_once(
            both_ways.connection, ctx=EngineContext(worker="w", on_checkpoint=crash_at("apply.written"))
        )
    assert not RecordLink.objects.exists() and len(accounts(both_ways.secondary)) == 1
    RecordQueueItem.objects.filter(source_id=source_id).delete()  # even the item is lost
    expire_lease()
    settle(both_ways.connection)
    assert len(accounts(primary)) == 1, "nothing was copied back into the primary"
    assert RecordLink.objects.get().primary_id == source_id
    primary.org.update("Account", source_id, {"Phone": "2"}, user_id=primary.user_id)
    settle(both_ways.connection, 3)
    assert_agree(both_ways)
    assert not SyncLog.objects.filter(status=SyncLog.Status.FAILED).exists()


def test_a_deleted_record_whose_copy_has_no_link_takes_its_copy_with_it(both_ways):
    primary = both_ways.primary
    source_id = primary.org.create("Account", {"Name": "Doomed"}, user_id=primary.user_id)
    with pytest.raises(InjectedCrash):
        sync_once(
            both_ways.connection, ctx=EngineContext(worker="w", on_checkpoint=crash_at("apply.written"))
        )
    primary.org.delete(source_id, user_id=primary.user_id)
    expire_lease()
    settle(both_ways.connection)
    assert accounts(primary) == [] and accounts(both_ways.secondary) == [], "the delete stayed a delete"


def test_a_copy_whose_origin_is_gone_is_reported_and_never_copied_back(both_ways):
    secondary = both_ways.secondary
    copy_id = secondary.org.create(
        "Account", {"Name": "Orphan", EXTERNAL_ID_FIELD: "001000000000404AAA"}, user_id=secondary.user_id
    )
    settle(both_ways.connection, 2)
    assert accounts(both_ways.primary) == []
    entry = SyncLog.objects.get(source_id=copy_id)
    assert (entry.status, entry.error_code) == (SyncLog.Status.FAILED, "ORIGIN_NOT_FOUND")
    assert "001000000000404AAA" in entry.message and EXTERNAL_ID_FIELD in entry.message
    assert explain(entry.error_code) is not GENERIC, "the log page explains it, with the fix"
    assert not RecordQueueItem.objects.exists(), "nothing stuck"


def test_a_record_created_in_the_secondary_comes_back_once_and_stays_single(both_ways):
    secondary = both_ways.secondary
    origin = secondary.org.create("Account", {"Name": "From B", "Phone": "9"}, user_id=secondary.user_id)
    settle(both_ways.connection)
    copies = [r for r in accounts(both_ways.primary) if r[EXTERNAL_ID_FIELD] == origin]
    assert len(copies) == 1
    RecordLink.objects.all().delete()  # the cache is lost: the markers in the orgs still tell
    secondary.org.update("Account", origin, {"Phone": "10"}, user_id=secondary.user_id)
    both_ways.primary.org.update(
        "Account", copies[0]["Id"], {"Name": "From B!"}, user_id=both_ways.primary.user_id
    )
    settle(both_ways.connection)
    assert_agree(both_ways)


# --- deletes stay deleted -----------------------------------------------------------------------
def test_a_record_deleted_in_one_org_and_edited_in_the_other_stays_deleted(both_ways):
    primary, secondary = both_ways.primary, both_ways.secondary
    source_id = primary.org.create("Account", {"Name": "Both"}, user_id=primary.user_id)
    settle(both_ways.connection, 2)
    target_id = RecordLink.objects.get(primary_id=source_id).secondary_id
    secondary.org.delete(target_id, user_id=secondary.user_id)
    primary.org.update("Account", source_id, {"Phone": "5"}, user_id=primary.user_id)
    settle(both_ways.connection)
    assert accounts(primary) == [] and accounts(secondary) == [], "the delete won; nothing re-created"


# --- no stale overwrite -----------------------------------------------------------------------
@pytest.mark.parametrize(
    ("policy", "winner"),
    [
        (Connection.ConflictPolicy.PRIMARY_WINS, "primary"),
        (Connection.ConflictPolicy.LATEST_WINS, "secondary"),
    ],
)
def test_a_target_changed_after_capture_is_a_conflict_not_an_overwrite(both_ways, policy, winner):
    primary, secondary = both_ways.primary, both_ways.secondary
    Connection.objects.filter(pk=both_ways.connection.pk).update(conflict_policy=policy)
    source_id = primary.org.create("Account", {"Name": "v0"}, user_id=primary.user_id)
    settle(both_ways.connection, 2)
    target_id = RecordLink.objects.get(primary_id=source_id).secondary_id
    primary.org.update("Account", source_id, {"Name": "primary edit"}, user_id=primary.user_id)
    edited = {}

    def edit_target_meanwhile(point: str) -> None:
        if point == "apply.planned" and not edited:  # P2S applies first: between its capture and write
            edited["done"] = True
            secondary.org.update("Account", target_id, {"Name": "secondary edit"}, user_id=secondary.user_id)

    sync_once(both_ways.connection, ctx=EngineContext(worker="w", on_checkpoint=edit_target_meanwhile))
    settle(both_ways.connection)
    expected = f"{winner} edit"
    assert primary.org.get("Account", source_id, ["Name"], api_version="62.0")["Name"] == expected
    assert secondary.org.get("Account", target_id, ["Name"], api_version="62.0")["Name"] == expected
    conflict = SyncLog.objects.get(error_code="SYNC_CONFLICT")
    assert f"the {winner} org's change won" in conflict.message
    assert explain(conflict.error_code) is not GENERIC


# --- one bad record never stops the rest --------------------------------------------------------
def test_a_link_conflict_fails_one_record_and_the_batch_goes_on(both_ways):
    primary, secondary = both_ways.primary, both_ways.secondary
    ids = [primary.org.create("Account", {"Name": f"R{n}"}, user_id=primary.user_id) for n in range(3)]

    def occupy_link(point: str) -> None:
        if (
            point == "apply.written"
            and not RecordLink.objects.filter(primary_id="001000000000999AAA").exists()
        ):
            copy = next(r for r in accounts(secondary) if r[EXTERNAL_ID_FIELD] == ids[1])
            RecordLink.objects.create(
                connection=both_ways.connection,
                primary_object="Account",
                primary_id="001000000000999AAA",
                secondary_object="Account",
                secondary_id=copy["Id"],
            )

    report = sync_once(both_ways.connection, ctx=EngineContext(worker="w", on_checkpoint=occupy_link))
    assert report.applied[P2S] == 3
    linked = set(
        RecordLink.objects.exclude(primary_id="001000000000999AAA").values_list("primary_id", flat=True)
    )
    assert linked == {ids[0], ids[2]}, "the other two went through"
    entry = SyncLog.objects.get(source_id=ids[1])
    assert (entry.status, entry.error_code) == (SyncLog.Status.FAILED, "LINK_CONFLICT")
    assert "rebuild_links" in entry.message and "rebuild_links" in explain(entry.error_code).fix
    assert not RecordQueueItem.objects.filter(status=QueueStatus.IN_PROGRESS).exists()
    assert len(accounts(primary)) == 3, "nothing was copied back"


def test_copies_are_never_sent_back_even_when_the_other_direction_is_gone(both_ways):
    """The other direction unpublished and every link lost: the secondary's copies still carry
    their origin, so they are linked, not inserted into the primary again."""
    primary = both_ways.primary
    for n in range(3):
        primary.org.create("Account", {"Name": f"Here {n}"}, user_id=primary.user_id)
    settle(both_ways.connection, 2)
    p2s = both_ways.connection.published_objects.get(direction=P2S)
    services.publication_unpublish(publication=p2s, actor=None)
    RecordLink.objects.all().delete()
    for record in accounts(both_ways.secondary):
        both_ways.secondary.org.update(
            "Account", record["Id"], {"Phone": "7"}, user_id=both_ways.secondary.user_id
        )
    settle(both_ways.connection)
    assert {r["Phone"] for r in accounts(primary)} == {"7"}, "the edits went through in that cycle"
    settle(both_ways.connection)
    assert len(accounts(primary)) == 3, "no copy came back as a new record"
    assert RecordLink.objects.count() == 3, "each copy is linked to its origin again"
    assert {r["Phone"] for r in accounts(primary)} == {"7"}, "the secondary's edits still travel back"

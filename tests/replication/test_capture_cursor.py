"""Capture's cursor against sfemu over HTTPS: the exact position `(SystemModstamp, Id)` of the last
record captured plus the org's time of the last query (the composite answer's `Date`). An idle
cycle re-reads nothing and costs one call, a record committed late inside the overlap before the
last query is still captured, and a record at the position's very SystemModstamp with a greater Id
is not skipped. A mass change is taken in slices of CAPTURE_BUDGET records a cycle, each applied
from memory, and a re-read of the overlap is never cut short."""

from datetime import datetime, timedelta

import pytest

from connections.client import SalesforceClient
from replication.engine import capture
from replication.engine.capture import OVERLAP
from replication.engine.context import EngineContext
from replication.engine.cycle import sync_once
from replication.models import EXTERNAL_ID_FIELD, ChangeCursor, Direction, EngineSchedule, RecordQueueItem
from sfemu.schema.dml import Writer
from sfemu.timeutil import format_datetime, parse_datetime
from tests.replication.conftest import LinkedOrgs
from tests.replication.oracle import compare_orgs

BURST = 3_000
P2S = Direction.PRIMARY_TO_SECONDARY


def write_accounts(handle, names: list[str], *, stamp: datetime | None = None) -> list[str]:
    """Insert Accounts in one sfemu transaction; `stamp` back-dates them (a late commit: a
    SystemModstamp taken before a query, the row visible only after it)."""
    org = handle.org
    stamps = [format_datetime(stamp)] * len(names) if stamp else None
    return Writer(org, system=True).insert_many(
        org.schema.require("Account"), [{"Name": n} for n in names], org.admin_user_id, stamps=stamps
    )


def cursor(linked: LinkedOrgs) -> ChangeCursor:
    return ChangeCursor.objects.get(connection=linked.connection, source_object="Account")


def target_origins(linked: LinkedOrgs) -> set[str]:
    rows = SalesforceClient(linked.connection.secondary_org).query_records(
        f"SELECT {EXTERNAL_ID_FIELD} FROM Account"
    )
    return {r[EXTERNAL_ID_FIELD] for r in rows}


def settle(linked: LinkedOrgs) -> None:
    for _ in range(5):
        sync_once(linked.connection)
        if not RecordQueueItem.objects.filter(connection=linked.connection).exists():
            return
    raise AssertionError("the queue did not drain")


def idle_cycle(linked: LinkedOrgs) -> int:
    linked.primary.reset_calls()
    report = sync_once(linked.connection)
    assert linked.primary.calls() == {"composite": 1}, "capture read more than one composite answer"
    assert report.captured.get(P2S, 0) == 0
    assert not RecordQueueItem.objects.filter(connection=linked.connection).exists()
    return report.api_calls


def test_the_cursor_keeps_the_position_and_the_orgs_time(subscribed):
    ids = write_accounts(subscribed.primary, ["A", "B", "C"])
    before = subscribed.primary.server.clock.now()
    sync_once(subscribed.connection)
    after = subscribed.primary.server.clock.now()
    last = subscribed.primary.org.get("Account", ids[-1], fields=["SystemModstamp"])
    at = cursor(subscribed)
    assert (at.modstamp, at.position_id) == (parse_datetime(last["SystemModstamp"]), ids[-1])
    # The Date header's second, less the round trip: never after the org answered.
    assert before - timedelta(seconds=2) < at.server_time <= after


def test_an_idle_cycle_after_a_burst_costs_one_call(subscribed, sfemu_server):
    ids = write_accounts(subscribed.primary, [f"Burst {n}" for n in range(BURST)])
    # The capture runs more than OVERLAP after the burst's newest record (org time).
    sfemu_server.clock.advance(seconds=OVERLAP.total_seconds() * 2)
    settle(subscribed)
    assert target_origins(subscribed) == set(ids)
    at = cursor(subscribed)
    assert at.server_time - OVERLAP > at.modstamp
    for _ in range(3):  # always, not once
        assert idle_cycle(subscribed) == 1
    # The overlap stays: one more change is read alone, in the same single call.
    (late,) = write_accounts(subscribed.primary, ["After the burst"])
    subscribed.primary.reset_calls()
    report = sync_once(subscribed.connection)
    assert subscribed.primary.calls() == {"composite": 1}
    assert report.captured == {P2S: 1}
    assert late in target_origins(subscribed)


def test_a_late_commit_inside_the_overlap_is_captured(subscribed):
    """A record stamped before the last query (and before the position, which an exact cursor
    alone would skip) that commits after it: the next window starts OVERLAP before the query."""
    write_accounts(subscribed.primary, [f"Early {n}" for n in range(20)])
    sync_once(subscribed.connection)
    at = cursor(subscribed)
    stamp = min(at.modstamp, at.server_time) - timedelta(seconds=1)
    assert at.server_time - OVERLAP < stamp < at.modstamp, "the test needs a stamp inside the overlap"
    (late,) = write_accounts(subscribed.primary, ["Late"], stamp=stamp)
    report = sync_once(subscribed.connection)
    assert report.captured.get(P2S, 0) >= 1
    assert late in target_origins(subscribed)


def test_a_record_at_the_positions_modstamp_with_a_greater_id_is_captured(subscribed, sfemu_server):
    write_accounts(subscribed.primary, ["First", "Second"])
    sfemu_server.clock.advance(seconds=OVERLAP.total_seconds() * 2)
    sync_once(subscribed.connection)
    idle_cycle(subscribed)  # the window is now the position itself
    at = cursor(subscribed)
    assert at.server_time - OVERLAP > at.modstamp
    (tied,) = write_accounts(subscribed.primary, ["Same stamp"], stamp=at.modstamp)
    assert tied > at.position_id
    report = sync_once(subscribed.connection)
    assert report.captured == {P2S: 1}, "only the tied record, not the position's own"
    assert tied in target_origins(subscribed)


@pytest.mark.parametrize("server_time", [None, "stale"])
def test_a_cursor_without_a_recent_server_time_rereads_the_overlap(subscribed, server_time):
    """A cursor from before the migration (no server time) or a missing `Date` behaves as before:
    the window starts OVERLAP before the position, never after it."""
    ids = write_accounts(subscribed.primary, ["Old 1", "Old 2"])
    sync_once(subscribed.connection)
    at = cursor(subscribed)
    value = None if server_time is None else at.modstamp - timedelta(hours=1)
    ChangeCursor.objects.filter(pk=at.pk).update(server_time=value, position_id="")
    report = sync_once(subscribed.connection)
    assert report.captured == {P2S: 2}  # the overlap re-read; echoes, nothing written
    assert report.written == 0
    assert target_origins(subscribed) == set(ids)


class CaptureCrash(BaseException):
    """Stops the cycle the way SIGKILL would: nothing in the engine handles it."""


def test_a_mass_change_is_queued_page_by_page_and_a_crash_rereads_one_page(subscribed):
    """Capture queues each 2,000-record page and moves the cursor past it before reading the
    next: a worker killed on the third page leaves two pages queued and the cursor after them;
    the next cycle reads from there, and every record arrives once."""
    ids = write_accounts(subscribed.primary, [f"Mass {n}" for n in range(4_100)])
    in_order = [
        r["Id"]
        for r in subscribed.primary.org.query(
            "SELECT Id FROM Account ORDER BY SystemModstamp, Id", api_version="62.0"
        ).records
    ]
    pages = []

    def crash_on_third_page(point: str) -> None:
        if point == "capture.read":
            pages.append(RecordQueueItem.objects.filter(connection=subscribed.connection).count())
            if len(pages) == 3:
                raise CaptureCrash

    with pytest.raises(CaptureCrash):
        sync_once(subscribed.connection, ctx=EngineContext(worker="w", on_checkpoint=crash_on_third_page))
    assert pages == [0, 2_000, 4_000], "each page was queued before the next was read"
    assert cursor(subscribed).position_id == in_order[3_999], "the cursor moved past two pages"

    EngineSchedule.objects.update(lease_until=None)  # the killed worker's lease lapses
    settle(subscribed)
    origins = SalesforceClient(subscribed.connection.secondary_org).query_records(
        f"SELECT {EXTERNAL_ID_FIELD} FROM Account"
    )
    copies = [r[EXTERNAL_ID_FIELD] for r in origins]
    assert sorted(copies) == sorted(ids), "every record arrived, none twice"


def agree(linked: LinkedOrgs) -> None:
    verdict = compare_orgs(linked, {"Account": ["Name"]})
    assert verdict.counts() == {"missing": 0, "duplicated": 0, "stale": 0, "stuck": 0}, verdict.report()


def test_a_mass_change_is_taken_in_slices_each_applied_from_memory(subscribed, sfemu_server, monkeypatch):
    """Past CAPTURE_BUDGET records a cycle stops reading the window: it queues and applies that
    slice with the records it read (apply reads none again by Id, though the whole change would
    not fit in FRESH_LIMIT), and the next cycle reads on from the slice's last record."""
    monkeypatch.setattr(capture, "CAPTURE_BUDGET", 2_000)  # one page
    monkeypatch.setattr(capture, "FRESH_LIMIT", 2_500)
    ids = write_accounts(subscribed.primary, [f"Mass {n}" for n in range(5_000)])
    # The cycles run more than OVERLAP after the change: each reads on from the exact position.
    sfemu_server.clock.advance(seconds=OVERLAP.total_seconds() * 2)
    slices = []
    for _ in range(3):
        subscribed.primary.reset_calls()
        report = sync_once(subscribed.connection)
        slices.append(report.captured.get(P2S, 0))
        # Capture's one composite call; apply read nothing again by Id (that is composite calls too).
        assert subscribed.primary.calls()["composite"] == 1
    assert slices == [2_000, 2_000, 1_000]
    assert not RecordQueueItem.objects.filter(connection=subscribed.connection).exists()
    assert target_origins(subscribed) == set(ids)
    agree(subscribed)
    idle_cycle(subscribed)


def test_a_reread_of_the_overlap_is_not_cut_short(subscribed, sfemu_server, monkeypatch):
    """A late commit stamped inside the overlap but behind more than CAPTURE_BUDGET records
    already captured: the re-read reaches it. (Cut short, the cursor could not move back to
    the cut, and the next window, past OVERLAP after the query, would start after the record.)"""
    write_accounts(subscribed.primary, [f"Early {n}" for n in range(3_000)])
    sfemu_server.clock.advance(seconds=3)
    write_accounts(subscribed.primary, [f"Later {n}" for n in range(3_000)])
    sync_once(subscribed.connection)
    at = cursor(subscribed)
    stamp = at.modstamp - timedelta(seconds=1)
    assert at.server_time - OVERLAP < stamp, "the test needs a stamp inside the overlap"
    (late,) = write_accounts(subscribed.primary, ["Late"], stamp=stamp)
    monkeypatch.setattr(capture, "CAPTURE_BUDGET", 2_000)
    sfemu_server.clock.advance(seconds=7)  # the query after this one starts past the late stamp
    report = sync_once(subscribed.connection)
    assert report.captured[P2S] == 6_001, "the whole overlap was read again"
    assert late in target_origins(subscribed)
    settle(subscribed)
    agree(subscribed)

"""`rebuild_links` against two sfemu orgs (real HTTP): RecordLink is a cache of what the orgs say
(`OrgSync_Source_Id__c` on every copy, both ways), so it can be rebuilt from them exactly."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from connections.client import SalesforceClient
from replication import services
from replication.engine import lease as connection_lease
from replication.engine.cycle import sync_once
from replication.models import EXTERNAL_ID_FIELD, Direction, RecordLink, SubscribedObject
from replication.services import links as links_service
from replication.services.links import ConnectionBusy, Duplicate, Orphan, links_rebuild
from synclog.models import SyncRun

P2S, S2P = Direction.PRIMARY_TO_SECONDARY, Direction.SECONDARY_TO_PRIMARY
COLUMNS = ("copies", "create", "kept", "repair", "orphans", "duplicates", "stale")
NOT_UNIQUE = {  # OrgSync_Source_Id__c as an admin may have made it by hand, without "Unique"
    "type": "Text",
    "label": "OrgSync Source Id",
    "length": 18,
    "externalId": True,
    "unique": False,
    "caseSensitive": True,
}


def subscribe_both_ways(linked) -> None:
    for direction in (P2S, S2P):
        publication = services.publication_publish(
            connection=linked.connection, direction=direction, source_object="Account", actor=None
        )
        services.subscription_subscribe(publication=publication, actor=None)


@pytest.fixture
def both_ways(linked_two_way):
    subscribe_both_ways(linked_two_way)
    return linked_two_way


@pytest.fixture
def synced(both_ways):
    """Three accounts made in the primary, two in the secondary, each copied to the other org."""
    primary, secondary = both_ways.primary, both_ways.secondary
    both_ways.made_in_primary = [
        primary.org.create("Account", {"Name": f"Primary {n}"}, user_id=primary.user_id) for n in range(3)
    ]
    both_ways.made_in_secondary = [
        secondary.org.create("Account", {"Name": f"Secondary {n}"}, user_id=secondary.user_id)
        for n in range(2)
    ]
    for _ in range(2):
        sync_once(both_ways.connection)
    links = link_pairs(both_ways)
    assert len(links) == 5
    assert {p for p, _ in links} >= set(both_ways.made_in_primary)
    assert {s for _, s in links} >= set(both_ways.made_in_secondary)
    return both_ways


def link_pairs(linked) -> set[tuple[str, str]]:
    return set(
        RecordLink.objects.filter(connection=linked.connection).values_list("primary_id", "secondary_id")
    )


def account_ids(org) -> set[str]:
    return {r["Id"] for r in SalesforceClient(org).query_records("SELECT Id FROM Account")}


def copy_of(linked, origin_id: str) -> str:
    """The secondary copy of a primary record, as the secondary org says."""
    records = (
        SalesforceClient(linked.connection.secondary_org)
        .query_page(f"SELECT Id FROM Account WHERE {EXTERNAL_ID_FIELD} = '{origin_id}'")
        .records
    )
    assert len(records) == 1
    return records[0]["Id"]


def row(report, direction: str):
    (found,) = [r for r in report.objects if r.direction == direction and r.target_object == "Account"]
    return found


def counts(object_report) -> tuple[int, ...]:
    r = object_report
    return (r.copies, r.created, r.kept, r.repaired, len(r.orphans), len(r.duplicates), r.stale_removed)


def rebuild_links(*args: str) -> tuple[str, CommandError | None]:
    out = StringIO()
    try:
        call_command("rebuild_links", *args, stdout=out, stderr=StringIO())
    except CommandError as exc:
        return out.getvalue(), exc
    return out.getvalue(), None


def table(output: str) -> dict[str, dict[str, str]]:
    """The summary table's rows by direction: {"p2s": {"copies": "3", "create": "3", ...}}."""
    rows = {}
    for line in output.splitlines():
        cells = line.split()
        if len(cells) == 2 + len(COLUMNS) and cells[0] == "Account" and cells[1] in (P2S, S2P):
            rows[cells[1]] = dict(zip(COLUMNS, cells[2:], strict=True))
    return rows


# --- the service ----------------------------------------------------------------------------------
def test_lost_links_come_back_exactly_and_the_next_sync_copies_nothing_back(synced):
    before = link_pairs(synced)
    ids_before = (account_ids(synced.connection.primary_org), account_ids(synced.connection.secondary_org))
    RecordLink.objects.all().delete()
    seen = []

    report = links_rebuild(connection=synced.connection, progress=seen.append)

    assert link_pairs(synced) == before
    assert counts(row(report, P2S)) == (3, 3, 0, 0, 0, 0, 0)
    assert counts(row(report, S2P)) == (2, 2, 0, 0, 0, 0, 0)
    assert not report.has_problems
    assert [(r.direction, r.target_object) for r in seen] == [(P2S, "Account"), (S2P, "Account")]
    link = RecordLink.objects.get(primary_id=synced.made_in_primary[0])
    assert (link.primary_object, link.secondary_object) == ("Account", "Account")

    SyncRun.objects.all().delete()
    for _ in range(2):
        sync_once(synced.connection)
    assert (
        account_ids(synced.connection.primary_org),
        account_ids(synced.connection.secondary_org),
    ) == ids_before, "no record was copied back into either org"
    written = SyncRun.objects.filter(kind=SyncRun.Kind.APPLY)
    assert written.exists() and sum(run.succeeded for run in written) == 0, "nothing is written either way"
    assert link_pairs(synced) == before


def test_a_second_rebuild_keeps_every_link(synced):
    before = link_pairs(synced)
    ids = set(RecordLink.objects.values_list("pk", flat=True))
    report = links_rebuild(connection=synced.connection)
    assert counts(row(report, P2S)) == (3, 0, 3, 0, 0, 0, 0)
    assert counts(row(report, S2P)) == (2, 0, 2, 0, 0, 0, 0)
    assert link_pairs(synced) == before
    assert set(RecordLink.objects.values_list("pk", flat=True)) == ids, "kept links are not rewritten"


def test_a_dry_run_writes_nothing_and_says_what_it_would_do(synced):
    primary, secondary = synced.primary, synced.secondary
    RecordLink.objects.all().delete()
    gone = (
        primary.org.create("Account", {"Name": "Gone"}, user_id=primary.user_id),
        secondary.org.create("Account", {"Name": "Gone too"}, user_id=secondary.user_id),
    )
    primary.org.delete(gone[0], user_id=primary.user_id, hard=True)
    secondary.org.delete(gone[1], user_id=secondary.user_id, hard=True)
    RecordLink.objects.create(
        connection=synced.connection,
        primary_object="Account",
        primary_id=gone[0],
        secondary_object="Account",
        secondary_id=gone[1],
    )
    ids_before = (account_ids(synced.connection.primary_org), account_ids(synced.connection.secondary_org))

    report = links_rebuild(connection=synced.connection, dry_run=True)

    assert report.dry_run
    assert counts(row(report, P2S)) == (3, 3, 0, 0, 0, 0, 1)
    assert counts(row(report, S2P)) == (2, 2, 0, 0, 0, 0, 0)
    assert link_pairs(synced) == {gone}, "no link written, the stale one not removed"
    assert (
        account_ids(synced.connection.primary_org),
        account_ids(synced.connection.secondary_org),
    ) == ids_before


def test_wrong_links_are_repaired(synced):
    primary, secondary = synced.primary, synced.secondary
    before = link_pairs(synced)
    stranger_s = secondary.org.create("Account", {"Name": "Unrelated"}, user_id=secondary.user_id)
    stranger_p = primary.org.create("Account", {"Name": "Unrelated"}, user_id=primary.user_id)
    # a p2s pair's link points at another secondary record, an s2p pair's at another primary one
    RecordLink.objects.filter(primary_id=synced.made_in_primary[0]).update(secondary_id=stranger_s)
    RecordLink.objects.filter(secondary_id=synced.made_in_secondary[0]).update(primary_id=stranger_p)

    report = links_rebuild(connection=synced.connection)

    assert counts(row(report, P2S)) == (3, 0, 2, 1, 0, 0, 0)
    assert counts(row(report, S2P)) == (2, 0, 1, 1, 0, 0, 0)
    assert link_pairs(synced) == before
    assert not RecordLink.objects.filter(primary_id=stranger_p).exists()
    assert not RecordLink.objects.filter(secondary_id=stranger_s).exists()


def test_links_of_records_gone_from_both_orgs_are_removed_but_not_those_in_the_recycle_bin(synced):
    primary, secondary = synced.primary, synced.secondary
    before = link_pairs(synced)

    def pair(name: str) -> tuple[str, str]:
        made = (
            primary.org.create("Account", {"Name": name}, user_id=primary.user_id),
            secondary.org.create("Account", {"Name": name}, user_id=secondary.user_id),
        )
        RecordLink.objects.create(
            connection=synced.connection,
            primary_object="Account",
            primary_id=made[0],
            secondary_object="Account",
            secondary_id=made[1],
            is_deleted=True,
        )
        return made

    purged, binned, half = pair("Purged"), pair("In the recycle bin"), pair("Half purged")
    for handle, record_id in zip((primary, secondary), purged, strict=True):
        handle.org.delete(record_id, user_id=handle.user_id, hard=True)
    for handle, record_id in zip((primary, secondary), binned, strict=True):
        handle.org.delete(record_id, user_id=handle.user_id)  # an undelete still needs this link
    primary.org.delete(half[0], user_id=primary.user_id, hard=True)
    secondary.org.delete(half[1], user_id=secondary.user_id)

    report = links_rebuild(connection=synced.connection)

    assert row(report, P2S).stale_removed == 1
    assert row(report, S2P).stale_removed == 0, "one object pair, counted once"
    assert link_pairs(synced) == before | {binned, half}


def test_an_orphan_copy_is_reported_and_left_in_the_org(synced):
    primary = synced.primary
    origin = synced.made_in_primary[0]
    orphan = copy_of(synced, origin)
    primary.org.delete(origin, user_id=primary.user_id)  # by hand in the primary; no sync since
    RecordLink.objects.all().delete()

    report = links_rebuild(connection=synced.connection)

    assert row(report, P2S).orphans == [Orphan(copy_id=orphan, origin_id=origin)]
    assert report.orphans == [Orphan(copy_id=orphan, origin_id=origin)]
    assert report.has_problems
    assert counts(row(report, P2S)) == (3, 2, 0, 0, 1, 0, 0)
    assert orphan in account_ids(synced.connection.secondary_org), "the orphan copy is not deleted"
    assert not RecordLink.objects.filter(secondary_id=orphan).exists()


def test_the_link_of_an_orphan_is_left_for_the_engine_to_send_the_deletion(synced):
    primary = synced.primary
    origin = synced.made_in_primary[0]
    orphan = copy_of(synced, origin)
    primary.org.delete(origin, user_id=primary.user_id)

    report = links_rebuild(connection=synced.connection)

    assert report.orphans == [Orphan(copy_id=orphan, origin_id=origin)]
    assert RecordLink.objects.filter(primary_id=origin, secondary_id=orphan).exists()


def test_a_copy_whose_origin_never_was_in_the_source_is_an_orphan(synced):
    secondary = synced.secondary
    stray = secondary.org.create(
        "Account", {"Name": "Stray", EXTERNAL_ID_FIELD: "not an id"}, user_id=secondary.user_id
    )
    report = links_rebuild(connection=synced.connection)
    assert row(report, P2S).orphans == [Orphan(copy_id=stray, origin_id="not an id")]
    assert counts(row(report, P2S))[:3] == (4, 0, 3)


@pytest.fixture
def duplicates_allowed(linked_two_way):
    """The secondary's OrgSync_Source_Id__c made by hand without "Unique", so a second copy of one
    origin can exist there."""
    SalesforceClient(linked_two_way.connection.secondary_org).create_custom_field(
        f"Account.{EXTERNAL_ID_FIELD}", NOT_UNIQUE
    )
    subscribe_both_ways(linked_two_way)
    return linked_two_way


def synced_with_a_second_copy(linked, sfemu_server) -> tuple[str, str, str]:
    """An Account synced to the secondary, then a second, newer copy of it made there by hand:
    (origin, first copy, second copy)."""
    primary, secondary = linked.primary, linked.secondary
    origin = primary.org.create("Account", {"Name": "Twice"}, user_id=primary.user_id)
    sync_once(linked.connection)
    first = copy_of(linked, origin)
    sfemu_server.clock.advance(seconds=2)
    second = secondary.org.create(
        "Account", {"Name": "Twice again", EXTERNAL_ID_FIELD: origin}, user_id=secondary.user_id
    )
    return origin, first, second


def test_a_duplicate_copy_is_reported_and_the_oldest_copy_linked(duplicates_allowed, sfemu_server):
    linked = duplicates_allowed
    origin, first, second = synced_with_a_second_copy(linked, sfemu_server)
    RecordLink.objects.filter(primary_id=origin).update(secondary_id=second)  # linked to the newer one

    report = links_rebuild(connection=linked.connection)

    assert report.duplicates == [Duplicate(copy_id=second, origin_id=origin, kept_id=first)]
    assert report.has_problems
    assert counts(row(report, P2S)) == (2, 0, 0, 1, 0, 1, 0)
    assert link_pairs(linked) == {(origin, first)}
    assert {first, second} <= account_ids(linked.connection.secondary_org), "no copy is deleted"


def test_an_object_whose_target_lacks_the_field_is_skipped(synced):
    publication = services.publication_publish(
        connection=synced.connection, direction=P2S, source_object="Contact", actor=None
    )
    SubscribedObject.objects.create(published_object=publication, target_object="Contact")

    report = links_rebuild(connection=synced.connection)

    (contact,) = [r for r in report.objects if r.target_object == "Contact"]
    assert EXTERNAL_ID_FIELD in contact.skipped
    assert counts(row(report, P2S)) == (3, 0, 3, 0, 0, 0, 0)


def test_pages_of_copies_and_chunks_of_origins(both_ways):
    """More copies than a query page (2,000) and more origins than five chunks of 300."""
    primary, secondary = both_ways.primary, both_ways.secondary
    with primary.org.transaction():
        origins = [
            primary.org.create("Account", {"Name": f"Many {n}"}, user_id=primary.user_id) for n in range(2050)
        ]
    with secondary.org.transaction():
        copies = [
            secondary.org.create(
                "Account", {"Name": f"Many {n}", EXTERNAL_ID_FIELD: origin}, user_id=secondary.user_id
            )
            for n, origin in enumerate(origins)
        ]
    gone = origins[-1]
    primary.org.delete(gone, user_id=primary.user_id)

    report = links_rebuild(connection=both_ways.connection)

    assert counts(row(report, P2S)) == (2050, 2049, 0, 0, 1, 0, 0)
    assert link_pairs(both_ways) == set(zip(origins[:-1], copies[:-1], strict=True))


def test_a_rebuild_holds_the_connection_lease_and_a_dry_run_does_not(synced):
    """One writer per connection: no sync cycle reads or moves links while they are rebuilt."""
    connection = synced.connection
    held = []

    def try_to_take_the_lease(_row) -> None:
        other = connection_lease.acquire(connection, "a cycle")
        held.append(other is None)
        if other is not None:
            other.release()

    links_rebuild(connection=connection, progress=try_to_take_the_lease)
    assert held == [True, True], "a cycle could not take the connection while links were rebuilt"
    held.clear()
    links_rebuild(connection=connection, dry_run=True, progress=try_to_take_the_lease)
    assert held == [False, False], "a dry run writes nothing and leaves the connection to the engine"
    after = connection_lease.acquire(connection, "a cycle")
    assert after is not None, "the rebuild let go of the lease"
    after.release()


def test_a_rebuild_waits_for_a_running_cycle_then_gives_up(synced, monkeypatch):
    monkeypatch.setattr(links_service, "LEASE_WAIT_SECONDS", 0)
    RecordLink.objects.all().delete()
    cycle = connection_lease.acquire(synced.connection, "a long cycle")
    assert cycle is not None
    try:
        with pytest.raises(ConnectionBusy):
            links_rebuild(connection=synced.connection)
        _, error = rebuild_links(synced.connection.name)
        assert error is not None and "being written by a sync cycle" in str(error)
        assert not RecordLink.objects.exists()
    finally:
        cycle.release()


# --- the command ----------------------------------------------------------------------------------
def test_command_prints_a_table_and_exits_0(synced):
    before = link_pairs(synced)
    RecordLink.objects.all().delete()

    output, error = rebuild_links(synced.connection.name)

    assert error is None
    assert table(output) == {
        P2S: dict(zip(COLUMNS, ("3", "3", "0", "0", "0", "0", "0"), strict=True)),
        S2P: dict(zip(COLUMNS, ("2", "2", "0", "0", "0", "0", "0"), strict=True)),
    }
    assert "links rebuilt" in output
    assert "Primary 0" not in output and "Secondary 0" not in output, "no field value is printed"
    assert link_pairs(synced) == before


def test_command_dry_run_writes_nothing(synced):
    RecordLink.objects.all().delete()

    output, error = rebuild_links(str(synced.connection.pk), "--dry-run")

    assert error is None
    assert output.startswith("Dry run: no link is written or removed.")
    assert "would create" in output and "(dry run)" in output
    assert table(output)[P2S]["copies"] == "3"
    assert not RecordLink.objects.exists()


def test_command_lists_orphans_and_duplicates_and_exits_1(duplicates_allowed, sfemu_server):
    linked = duplicates_allowed
    primary, secondary = linked.primary, linked.secondary
    origin, first, second = synced_with_a_second_copy(linked, sfemu_server)
    lost = [primary.org.create("Account", {"Name": f"Lost {n}"}, user_id=primary.user_id) for n in range(23)]
    orphans = [
        secondary.org.create("Account", {"Name": "Orphan", EXTERNAL_ID_FIELD: o}, user_id=secondary.user_id)
        for o in lost
    ]
    for record_id in lost:
        primary.org.delete(record_id, user_id=primary.user_id)

    output, error = rebuild_links(linked.connection.name)

    assert error is not None and error.returncode == 1
    assert "23 orphan copies and 1 duplicate copy found" in str(error)
    assert table(output)[P2S] == dict(zip(COLUMNS, ("25", "0", "1", "0", "23", "1", "0"), strict=True))
    listed = [line.split()[0] for line in output.split("Orphan copies")[1].splitlines()[1:21]]
    assert set(listed) <= set(orphans) and len(set(listed)) == 20
    assert "  … and 3 more" in output
    assert f"  {second} (origin {origin}, linked copy {first})" in output
    assert "Twice" not in output and "Orphan " not in output.replace("Orphan copies", "")


def test_command_names_an_unknown_connection(db):
    _, error = rebuild_links("no such connection")
    assert error is not None and "No connection named" in str(error)

"""Reconcile against two sfemu orgs (real HTTP): every class of difference seeded at once is found
with its class and no false positives; repair through the queue, then a second reconcile finds 0;
filters, lookups and owner strategies are respected. Every verdict is checked against the orgs."""

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from connections.client import SalesforceClient
from connections.models import ConnectionEvent, Org
from replication import services
from replication.engine.cycle import sync_once
from replication.models import (
    EXTERNAL_ID_FIELD,
    DifferenceKind,
    Direction,
    ReconcileRun,
    RecordLink,
    RecordQueueItem,
)
from replication.reconcile.runner import ReconcileRunner
from replication.services.reconcile import ReconcileError, reconcile_start
from tests.replication.oracle import compare_orgs

P2S, S2P = Direction.PRIMARY_TO_SECONDARY, Direction.SECONDARY_TO_PRIMARY
Kind = DifferenceKind
SKIP_FILTER = "\n".join(f"Name not_equals {name}" for name in ("Skip me", "Skip now", "Skip unsynced"))


@pytest.fixture(autouse=True)
def judge_everything(settings):
    """Tests seed differences and reconcile at once: nothing is "too recent" to judge."""
    settings.ORGSYNC_RECONCILE_SETTLE_SECONDS = 0


def reconcile(linked, **options) -> ReconcileRun:
    run = reconcile_start(connection=linked.connection, run_in_worker=False, **options)
    run = ReconcileRunner(run).run()
    assert run.status == ReconcileRun.Status.COMPLETED, run.error
    return run


def settle(linked, cycles: int = 6) -> None:
    for _ in range(cycles):
        sync_once(linked.connection)
        if not RecordQueueItem.objects.filter(connection=linked.connection).exists():
            return


def totals(run: ReconcileRun) -> dict[str, int]:
    found: dict[str, int] = {}
    for per_kind in run.counts.values():
        for kind, n in per_kind.items():
            found[kind] = found.get(kind, 0) + n
    return found


def found(run: ReconcileRun, kind: str) -> set[tuple[str, str]]:
    return {(d.source_id, d.target_id) for d in run.found.filter(kind=kind)}


def test_clean_orgs_agree(subscribed):
    primary = subscribed.primary
    for n in range(30):
        primary.org.create("Account", {"Name": f"Clean {n}", "Phone": f"555-{n:04}"}, user_id=primary.user_id)
    settle(subscribed)
    run = reconcile(subscribed)
    assert run.differences == 0, run.counts
    assert run.pairs_compared == 30
    assert run.records_read == 60
    assert run.api_calls > 0


def subscribe_contacts(linked, direction: str = P2S):
    publication = services.publication_publish(
        connection=linked.connection, direction=direction, source_object="Contact", actor=None
    )
    publication.sort_order = 10
    publication.save(update_fields=["sort_order"])
    services.subscription_subscribe(publication=publication, actor=None)
    return publication


def copy_of(linked, source_id: str) -> str:
    link = RecordLink.objects.get(connection=linked.connection, primary_id=source_id)
    return link.secondary_id


def seed(linked, clean: int = 40):
    """A one-way connection (Account, and Contact under it) with `clean` Accounts and half as many
    Contacts in sync, then one or two of every class of difference written straight into the orgs."""
    subscribe_contacts(linked)
    primary, secondary = linked.primary, linked.secondary
    accounts = [
        primary.org.create("Account", {"Name": f"Acct {n}", "Phone": f"555-{n:04}"}, user_id=primary.user_id)
        for n in range(clean)
    ]
    contacts = [
        primary.org.create(
            "Contact",
            {"LastName": f"Person {n}", "AccountId": accounts[10 + n % (clean - 10)]},
            user_id=primary.user_id,
        )
        for n in range(clean // 2)
    ]
    settle(linked)
    assert compare_orgs(linked, {"Account": ["Name", "Phone"], "Contact": ["LastName", "AccountId"]}).ok
    s = secondary
    linked.missing = [
        primary.org.create("Account", {"Name": f"New {n}"}, user_id=primary.user_id) for n in range(2)
    ]
    s.org.update("Account", copy_of(linked, accounts[0]), {"Phone": "999"}, user_id=s.user_id)
    primary.org.update("Account", accounts[1], {"Name": "Renamed"}, user_id=primary.user_id)
    linked.drift = {accounts[0]: "secondary", accounts[1]: "primary"}
    linked.lookup_broken = contacts[0]
    s.org.update(
        "Contact",
        copy_of(linked, contacts[0]),
        {"AccountId": copy_of(linked, accounts[5])},
        user_id=s.user_id,
    )
    linked.target_gone = accounts[2]
    s.org.delete(copy_of(linked, accounts[2]), user_id=s.user_id, hard=True)
    linked.source_gone = (accounts[3], copy_of(linked, accounts[3]))
    primary.org.delete(accounts[3], user_id=primary.user_id, hard=True)
    linked.orphan = copy_of(linked, accounts[4])
    RecordLink.objects.filter(connection=linked.connection, primary_id=accounts[4]).delete()
    primary.org.delete(accounts[4], user_id=primary.user_id, hard=True)
    linked.duplicate = s.org.create(
        "Account",
        {"Name": "Acct 6", "Phone": "555-0006", EXTERNAL_ID_FIELD: accounts[6][:15]},
        user_id=s.user_id,
    )
    linked.accounts, linked.contacts = accounts, contacts
    return linked


@pytest.fixture
def seeded(subscribed):
    return seed(subscribed)


def test_every_class_found_at_once_and_nothing_else(seeded):
    run = reconcile(seeded)

    assert totals(run) == {
        Kind.MISSING: 2,
        Kind.DRIFT: 2,
        Kind.BROKEN_LOOKUP: 1,
        Kind.BROKEN_LINK: 2,
        Kind.ORPHAN: 1,
        Kind.DUPLICATE: 1,
    }, run.counts
    assert run.counts["Contact"] == {Kind.BROKEN_LOOKUP: 1}
    assert {s for s, _ in found(run, Kind.MISSING)} == set(seeded.missing)
    drift = {d.source_id: d for d in run.found.filter(kind=Kind.DRIFT)}
    assert set(drift) == set(seeded.drift)
    for source_id, changed_last in seeded.drift.items():
        assert drift[source_id].changed_last == changed_last
    assert drift[seeded.accounts[0]].fields == "Phone"
    assert drift[seeded.accounts[1]].fields == "Name"
    lookup = run.found.get(kind=Kind.BROKEN_LOOKUP)
    assert (lookup.source_id, lookup.fields) == (seeded.lookup_broken, "AccountId")
    broken = {d.source_id: d for d in run.found.filter(kind=Kind.BROKEN_LINK)}
    assert set(broken) == {seeded.target_gone, seeded.source_gone[0]}
    assert broken[seeded.target_gone].detail.endswith("the target record is gone")
    assert broken[seeded.source_gone[0]].target_id == seeded.source_gone[1]
    assert {t for _, t in found(run, Kind.ORPHAN)} == {seeded.orphan}
    assert found(run, Kind.DUPLICATE) == {(seeded.accounts[6], seeded.duplicate)}
    assert run.pairs_compared == 40 - 3 + 20  # three Account pairs broken on purpose
    assert not run.repairs  # compare only


def test_no_false_positives_among_a_thousand_clean_records(subscribed):
    linked = seed(subscribed, clean=1000)
    run = reconcile(linked)
    assert run.differences == 9, run.counts
    assert run.pairs_compared == 1000 - 3 + 500
    # Accounts: 1,000 + 2 new - 2 deleted in the primary, 1,000 - 1 deleted + 1 duplicate in the
    # secondary; Contacts: 500 on each side.
    assert run.records_read == 1000 + 1000 + 2 * 500


def test_cross_object_mapping(linked):
    """Lead in the primary arrives as Contact in the secondary: copies are told apart by their
    origin's key prefix, native Contacts are none of reconcile's business."""
    publication = services.publication_publish(
        connection=linked.connection, direction=P2S, source_object="Lead", actor=None
    )
    services.subscription_subscribe(publication=publication, actor=None, target_object="Contact")
    primary, secondary = linked.primary, linked.secondary
    leads = [
        primary.org.create("Lead", {"LastName": f"Lead {n}", "Company": "Acme"}, user_id=primary.user_id)
        for n in range(5)
    ]
    settle(linked)
    secondary.org.create("Contact", {"LastName": "Native"}, user_id=secondary.user_id)
    assert reconcile(linked).differences == 0
    copy = copy_of(linked, leads[0])
    secondary.org.update("Contact", copy, {"LastName": "Edited"}, user_id=secondary.user_id)
    unsynced = primary.org.create("Lead", {"LastName": "New", "Company": "Acme"}, user_id=primary.user_id)

    run = reconcile(linked)

    assert run.counts == {"Lead": {Kind.DRIFT: 1, Kind.MISSING: 1}}
    assert run.found.get(kind=Kind.DRIFT).fields == "LastName"
    assert run.found.get(kind=Kind.MISSING).source_id == unsynced


def test_repair_then_reconcile_finds_nothing(seeded):
    dry = reconcile(seeded, repair=True, dry_run=True, delete_extra=True)
    assert dry.differences == 9
    assert not RecordQueueItem.objects.filter(
        connection=seeded.connection
    ).exists()  # a dry run queues nothing
    assert dry.found.get(source_id=seeded.missing[0]).repair == "queue an insert"

    run = reconcile(seeded, repair=True, delete_extra=True)
    assert run.differences == 9
    assert sum(run.repairs.values()) == 9, run.repairs
    history = seeded.connection.events.get(kind=ConnectionEvent.Kind.RECONCILE_REPAIRED)
    assert history.detail.startswith(f"Reconcile #{run.pk}: delete the copy: 2;")
    assert not seeded.connection.events.filter(detail__startswith=f"Reconcile #{dry.pk}").exists()
    settle(seeded)

    again = reconcile(seeded)
    assert again.differences == 0, again.counts
    verdict = compare_orgs(seeded, {"Account": ["Name", "Phone"], "Contact": ["LastName", "AccountId"]})
    assert verdict.ok, verdict.report()
    secondary = seeded.secondary.org
    copy = secondary.query(
        f"SELECT Phone FROM Account WHERE {EXTERNAL_ID_FIELD} = '{seeded.accounts[0]}'"
    ).records
    assert copy[0]["Phone"] == "555-0000"  # one-way: the source wins


def test_duplicates_and_orphans_are_reported_unless_deletion_is_chosen(seeded):
    run = reconcile(seeded, repair=True)
    settle(seeded)
    again = reconcile(seeded)
    assert totals(again) == {Kind.ORPHAN: 1, Kind.DUPLICATE: 1}, again.counts
    assert run.found.get(kind=Kind.DUPLICATE).repair.startswith("reported")
    assert seeded.secondary.org.query(f"SELECT Id FROM Account WHERE Id = '{seeded.duplicate}'").records


def test_bulk_api_path_finds_the_same(seeded, settings):
    """Above the bulk threshold both orgs are read with Bulk API 2.0 query jobs: one per object
    and org, and the same verdict as over REST."""
    settings.ORGSYNC_BULK_SYNC_THRESHOLD = 5
    jobs_before = {
        org: _query_jobs(handle) for org, handle in (("p", seeded.primary), ("s", seeded.secondary))
    }
    run = reconcile(seeded)
    assert totals(run) == {
        Kind.MISSING: 2,
        Kind.DRIFT: 2,
        Kind.BROKEN_LOOKUP: 1,
        Kind.BROKEN_LINK: 2,
        Kind.ORPHAN: 1,
        Kind.DUPLICATE: 1,
    }, run.counts
    for org, handle in (("p", seeded.primary), ("s", seeded.secondary)):
        assert _query_jobs(handle) - jobs_before[org] == 2  # Account and Contact, once each


def _query_jobs(handle) -> int:
    """Query jobs the org has seen (GET jobs/query lists them, as on Salesforce)."""
    client = SalesforceClient(Org.objects.get(org_id__startswith=handle.org_id[:15]))
    return len(client._bulk("GET", "jobs/query").json()["records"])


def test_filtered_out_records_are_not_missing(subscribed):
    linked = subscribed
    publication = linked.connection.published_objects.get(source_object="Account")
    services.publication_set_filter(
        publication=publication,
        text_or_conditions=SKIP_FILTER,
        actor=None,
    )
    primary = linked.primary
    kept = primary.org.create("Account", {"Name": "Keep"}, user_id=primary.user_id)
    primary.org.create("Account", {"Name": "Skip me"}, user_id=primary.user_id)
    settle(linked)
    later_skipped = primary.org.create("Account", {"Name": "Keep too"}, user_id=primary.user_id)
    settle(linked)
    # The filter stops matching a record that has a copy: its copy is not an orphan, nor drift.
    primary.org.update("Account", later_skipped, {"Name": "Skip now"}, user_id=primary.user_id)
    missing = primary.org.create("Account", {"Name": "Unsynced"}, user_id=primary.user_id)
    primary.org.create("Account", {"Name": "Skip unsynced"}, user_id=primary.user_id)

    run = reconcile(linked)

    assert totals(run) == {Kind.MISSING: 1}, run.counts
    assert found(run, Kind.MISSING) == {(missing, "")}
    assert run.pairs_compared == 2
    assert kept


def test_what_a_publication_does_not_sync_is_not_a_difference(seeded):
    publication = seeded.connection.published_objects.get(source_object="Account")
    publication.sync_created = publication.sync_updated = False
    publication.save(update_fields=["sync_created", "sync_updated"])
    run = reconcile(seeded)
    assert run.counts["Account"] == {Kind.BROKEN_LINK: 2, Kind.ORPHAN: 1, Kind.DUPLICATE: 1}


def test_owner_is_compared_as_the_strategy_assigns_it(subscribed):
    linked = subscribed
    primary, secondary = linked.primary, linked.secondary
    owner = primary.org.add_user(
        last_name="Owner", username=f"owner@{primary.org_id.lower()}.example.com"
    ).user_id
    match = secondary.org.add_user(
        last_name="Owner", username=f"owner@{primary.org_id.lower()}.example.com.dr"
    ).user_id
    other = secondary.org.add_user(
        last_name="Other", username=f"other@{secondary.org_id.lower()}.example.com"
    ).user_id
    record = primary.org.create("Account", {"Name": "Owned", "OwnerId": owner}, user_id=primary.user_id)
    settle(linked)
    copy = copy_of(linked, record)
    assert (
        secondary.org.query(f"SELECT OwnerId FROM Account WHERE Id = '{copy}'").records[0]["OwnerId"] == match
    )
    assert reconcile(linked).differences == 0

    secondary.org.update("Account", copy, {"OwnerId": other}, user_id=secondary.user_id)
    run = reconcile(linked)
    assert run.found.get(kind=Kind.DRIFT).fields == "OwnerId"

    publication = linked.connection.published_objects.get(source_object="Account")
    services.publication_set_owner_strategy(
        publication=publication, strategy="fixed", user_ids=[match], actor=None
    )
    assert reconcile(linked).differences == 0  # a fixed owner is set on insert only


def test_settle_window_and_queue_items_are_not_judged(seeded, settings):
    settings.ORGSYNC_RECONCILE_SETTLE_SECONDS = 3600
    out = StringIO()
    call_command("reconcile", seeded.connection.name, stdout=out)
    run = ReconcileRun.objects.get()
    assert run.differences == 0, run.counts
    assert run.in_flight > 0
    assert "the orgs agree" not in out.getvalue()
    assert f"{run.in_flight:,} were in flight" in out.getvalue()

    settings.ORGSYNC_RECONCILE_SETTLE_SECONDS = 0
    RecordQueueItem.objects.create(
        connection=seeded.connection,
        direction=P2S,
        source_object="Account",
        source_id=seeded.missing[0],
        action="generic_insert",
    )
    run = reconcile(seeded)
    assert run.counts["Account"][Kind.MISSING] == 1  # the other new record
    assert seeded.missing[0] not in {s for s, _ in found(run, Kind.MISSING)}


def test_the_settle_window_is_the_orgs_clock_not_ours(seeded, settings, sfemu_server):
    """Records count as just changed by the org's clock (the answers' Date), which stamps
    SystemModstamp: with the orgs' clock ahead of ours, the seeded differences are old enough."""
    settings.ORGSYNC_RECONCILE_SETTLE_SECONDS = 120
    assert reconcile(seeded).differences == 0  # just written, by any clock
    sfemu_server.clock.advance(seconds=150)
    run = reconcile(seeded)
    assert (run.differences, run.in_flight) == (9, 0), run.counts


# --- two-way -----------------------------------------------------------------------------------
@pytest.fixture
def two_way(both_ways):
    linked = both_ways
    primary, secondary = linked.primary, linked.secondary
    linked.from_primary = [
        primary.org.create("Account", {"Name": f"P {n}", "Phone": "1"}, user_id=primary.user_id)
        for n in range(6)
    ]
    linked.from_secondary = [
        secondary.org.create("Account", {"Name": f"S {n}", "Phone": "2"}, user_id=secondary.user_id)
        for n in range(4)
    ]
    settle(linked)
    assert compare_orgs(linked, {"Account": ["Name", "Phone"]}).ok
    return linked


def test_two_way_pairs_are_judged_once(two_way):
    linked = two_way
    primary, secondary = linked.primary, linked.secondary
    run = reconcile(linked)
    assert run.differences == 0
    assert run.pairs_compared == 20  # ten pairs, seen from both directions
    with override_settings(ORGSYNC_RECONCILE_SETTLE_SECONDS=3600):
        run = reconcile(linked)
    assert (run.differences, run.in_flight) == (0, 20)  # each record once, not once per direction
    copy = copy_of(linked, linked.from_primary[0])
    secondary.org.update("Account", copy, {"Phone": "changed"}, user_id=secondary.user_id)
    new_secondary = secondary.org.create("Account", {"Name": "S new"}, user_id=secondary.user_id)
    new_primary = primary.org.create("Account", {"Name": "P new"}, user_id=primary.user_id)

    run = reconcile(linked)

    assert totals(run) == {Kind.DRIFT: 1, Kind.MISSING: 2}, run.counts
    assert {(d.direction, d.source_id) for d in run.found.filter(kind=Kind.MISSING)} == {
        (P2S, new_primary),
        (S2P, new_secondary),
    }
    drift = run.found.get(kind=Kind.DRIFT)
    assert (drift.direction, drift.changed_last, drift.fields) == (P2S, "secondary", "Phone")


@pytest.mark.parametrize("policy, kept", [("primary_wins", "1"), ("latest_wins", "changed")])
def test_two_way_drift_is_repaired_by_the_conflict_policy(two_way, policy, kept):
    linked = two_way
    linked.connection.conflict_policy = policy
    linked.connection.save(update_fields=["conflict_policy"])
    copy = copy_of(linked, linked.from_primary[1])
    linked.secondary.org.update("Account", copy, {"Phone": "changed"}, user_id=linked.secondary.user_id)

    run = reconcile(linked, repair=True)
    assert run.differences == 1
    settle(linked)

    assert reconcile(linked).differences == 0
    verdict = compare_orgs(linked, {"Account": ["Name", "Phone"]})
    assert verdict.ok, verdict.report()
    phone = linked.primary.org.query(
        f"SELECT Phone FROM Account WHERE Id = '{linked.from_primary[1]}'"
    ).records
    assert phone[0]["Phone"] == kept


def test_two_way_hold_policy_leaves_drift_for_review(two_way):
    linked = two_way
    linked.connection.conflict_policy = "hold"
    linked.connection.save(update_fields=["conflict_policy"])
    copy = copy_of(linked, linked.from_primary[2])
    linked.secondary.org.update("Account", copy, {"Phone": "changed"}, user_id=linked.secondary.user_id)
    run = reconcile(linked, repair=True)
    assert run.found.get(kind=Kind.DRIFT).repair.startswith("left for review")
    assert not RecordQueueItem.objects.filter(connection=linked.connection).exists()


def test_two_way_broken_link_of_a_copy_deletes_it_and_of_an_origin_copies_it_again(two_way):
    linked = two_way
    primary, secondary = linked.primary, linked.secondary
    origin = linked.from_secondary[0]
    copy_in_primary = RecordLink.objects.get(connection=linked.connection, secondary_id=origin).primary_id
    secondary.org.delete(origin, user_id=secondary.user_id, hard=True)  # the origin is gone
    lost_copy = copy_of(linked, linked.from_primary[3])
    secondary.org.delete(lost_copy, user_id=secondary.user_id, hard=True)  # a copy is gone

    run = reconcile(linked, repair=True)
    assert totals(run) == {Kind.BROKEN_LINK: 2}, run.counts
    settle(linked)

    assert reconcile(linked).differences == 0
    assert not primary.org.query(f"SELECT Id FROM Account WHERE Id = '{copy_in_primary}'").records
    verdict = compare_orgs(linked, {"Account": ["Name", "Phone"]})
    assert verdict.ok, verdict.report()


# --- the command and the service -------------------------------------------------------------
def test_command_exit_status_and_json(seeded):
    name = seeded.connection.name
    out = StringIO()
    with pytest.raises(CommandError, match="9 difference"):
        call_command("reconcile", name, "--json", stdout=out)
    report = json.loads(out.getvalue())
    assert report["differences"] == 9
    assert {d["kind"] for d in report["sample"]} == {k.value for k in Kind}

    out = StringIO()
    call_command("reconcile", name, "--repair", "--delete-extra", stdout=out)
    assert "repair:" in out.getvalue()
    settle(seeded)
    out = StringIO()
    call_command("reconcile", name, "--object", "account", stdout=out)
    assert "the orgs agree" in out.getvalue()


@pytest.mark.parametrize(
    "options, message",
    [
        ({"source_object": "Opportunity"}, "Object “Opportunity” is not published"),
        ({"direction": S2P}, "needs a two-way connection"),
        ({"delete_extra": True}, "ask for repair"),
        ({"direction": "sideways"}, "Direction “sideways” is unknown"),
    ],
)
def test_bad_requests_name_the_fix(subscribed, options, message):
    with pytest.raises(ReconcileError, match=message):
        reconcile_start(connection=subscribed.connection, run_in_worker=False, **options)
    assert not ReconcileRun.objects.exists()


def test_one_run_at_a_time(subscribed):
    reconcile_start(connection=subscribed.connection, run_in_worker=False)
    with pytest.raises(ReconcileError, match="is running"):
        reconcile_start(connection=subscribed.connection, run_in_worker=False)

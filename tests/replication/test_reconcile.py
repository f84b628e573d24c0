"""Reconcile against two sfemu orgs (real HTTP): every class of difference seeded at once is found
with its class and no false positives; repair through the queue, then a second reconcile finds 0;
filters, lookups and owner strategies are respected. Every verdict is checked against the orgs."""

import pytest

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
from replication.services.reconcile import reconcile_start
from tests.replication.oracle import compare_orgs

P2S, S2P = Direction.PRIMARY_TO_SECONDARY, Direction.SECONDARY_TO_PRIMARY
Kind = DifferenceKind


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


@pytest.fixture
def seeded(subscribed):
    """A one-way connection (Account, and Contact under it) with 40 clean Accounts and 20 clean
    Contacts, then one or two of every class of difference written straight into the orgs."""
    linked = subscribed
    subscribe_contacts(linked)
    primary, secondary = linked.primary, linked.secondary
    accounts = [
        primary.org.create("Account", {"Name": f"Acct {n}", "Phone": f"555-{n:04}"}, user_id=primary.user_id)
        for n in range(40)
    ]
    contacts = [
        primary.org.create(
            "Contact", {"LastName": f"Person {n}", "AccountId": accounts[10 + n]}, user_id=primary.user_id
        )
        for n in range(20)
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

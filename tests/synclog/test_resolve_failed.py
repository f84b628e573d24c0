"""A Failed entry whose record later goes through by itself (its source was fixed and changed
again, and that write succeeded) turns Resolved; no run count moves (synclog.services doc)."""

import pytest

from connections.client import SalesforceClient
from replication.engine.cycle import sync_once
from synclog.models import SyncLog, SyncRun
from synclog.services import sync_log_retry
from tests.replication.conftest import LinkedOrgs, linked_orgs
from tests.synclog.conftest import subscribe

Status = SyncLog.Status


@pytest.fixture
def linked(db, sfemu_server) -> LinkedOrgs:
    return linked_orgs(sfemu_server)


def revenue_must_be_positive(linked) -> None:
    """A validation rule in the target: a negative AnnualRevenue fails for good there."""
    linked.secondary.org.add_validation_rule(
        "Account",
        "Revenue_Positive",
        field="AnnualRevenue",
        condition="lt",
        value=0,
        message="Revenue must be positive",
        error_field="AnnualRevenue",
    )


def create_with_revenue(linked, name: str, revenue: int) -> str:
    return linked.primary.org.create(
        "Account", {"Name": name, "AnnualRevenue": revenue}, user_id=linked.primary.user_id
    )


def set_revenue(linked, source_id: str, revenue: int) -> None:
    linked.primary.org.update(
        "Account", source_id, {"AnnualRevenue": revenue}, user_id=linked.primary.user_id
    )


def target_revenues(linked) -> dict[str, int]:
    rows = SalesforceClient(linked.connection.secondary_org).query_page(
        "SELECT Name, AnnualRevenue FROM Account"
    )
    return {r["Name"]: r["AnnualRevenue"] for r in rows.records}


def apply_runs() -> list[SyncRun]:
    return list(SyncRun.objects.filter(kind=SyncRun.Kind.APPLY).order_by("started_at", "pk"))


def test_a_failed_record_fixed_in_its_source_resolves_its_entry(linked):
    subscribe(linked, "Account")
    revenue_must_be_positive(linked)
    bad = create_with_revenue(linked, "Bad", -5)
    other = create_with_revenue(linked, "Other", -1)
    sync_once(linked.connection)
    entry = SyncLog.objects.get(source_id=bad)
    assert (entry.status, entry.error_code) == (Status.FAILED, "FIELD_CUSTOM_VALIDATION_EXCEPTION")
    [failing_run] = apply_runs()
    assert (failing_run.succeeded, failing_run.failed) == (0, 2)

    set_revenue(linked, bad, 100)  # fixed in the source: the next cycle writes it
    sync_once(linked.connection)
    assert target_revenues(linked) == {"Bad": 100}
    entry.refresh_from_db()
    assert entry.status == Status.RESOLVED
    # `other` may have been re-read by capture's overlap window and failed again: still Failed.
    others = set(SyncLog.objects.filter(source_id=other).values_list("status", flat=True))
    assert others == {Status.FAILED}, "only the record that went through"

    failing_run.refresh_from_db()
    # `bad` stays counted failed where it failed; `other`, if it failed again, counts in that run.
    assert failing_run.succeeded == 0 and failing_run.failed >= 1
    assert sum(run.failed for run in apply_runs()) == 2, "each failing record counted once"
    writing_run = apply_runs()[-1]
    assert writing_run.succeeded == 1


def test_a_record_failing_again_keeps_one_entry_then_resolves(linked):
    """Two failures (two changes, two runs) update one open entry, counted in the run that
    failed it last; then a fix resolves it."""
    subscribe(linked, "Account")
    revenue_must_be_positive(linked)
    bad = linked.primary.org.create(
        "Account", {"Name": "Bad", "AnnualRevenue": -5}, user_id=linked.primary.user_id
    )
    sync_once(linked.connection)
    set_revenue(linked, bad, -6)
    sync_once(linked.connection)
    entry = SyncLog.objects.get(source_id=bad)
    assert entry.status == Status.FAILED
    assert sum(run.failed for run in apply_runs()) == 1, "one failing record, counted once"
    assert entry.run == [run for run in apply_runs() if run.failed][-1]
    set_revenue(linked, bad, 7)
    sync_once(linked.connection)
    assert target_revenues(linked) == {"Bad": 7}
    assert set(SyncLog.objects.filter(source_id=bad).values_list("status", flat=True)) == {Status.RESOLVED}
    assert all(run.failed >= 0 and run.succeeded >= 0 for run in apply_runs())


def test_an_operator_retry_still_moves_the_count_in_place(linked):
    """The retry path is unchanged: the retried success moves failed → succeeded in its run."""
    subscribe(linked, "Account")
    revenue_must_be_positive(linked)
    bad = linked.primary.org.create(
        "Account", {"Name": "Bad", "AnnualRevenue": -5}, user_id=linked.primary.user_id
    )
    sync_once(linked.connection)
    [failing_run] = apply_runs()
    linked.secondary.org.add_validation_rule(  # the fix is in the target this time
        "Account", "Revenue_Positive", field="AnnualRevenue", condition="lt", value=-100, message="x"
    )
    sync_log_retry(entries=SyncLog.objects.filter(source_id=bad))
    sync_once(linked.connection)
    assert SyncLog.objects.get(source_id=bad).status == Status.RESOLVED
    failing_run.refresh_from_db()
    assert (failing_run.succeeded, failing_run.failed) == (1, 0)


@pytest.mark.parametrize("retried", [False, True])
def test_a_failed_record_deleted_in_its_source_resolves_its_entry(linked, retried):
    """A record that never reached the target and was then deleted in its source leaves nothing
    to sync: the orgs agree, so its entry ends Resolved (it stayed Failed, or Retrying for ever
    once an operator retried it)."""
    subscribe(linked, "Account")
    revenue_must_be_positive(linked)
    bad = create_with_revenue(linked, "Bad", -5)
    sync_once(linked.connection)
    entries = SyncLog.objects.filter(source_id=bad)
    assert entries.get().status == Status.FAILED
    linked.primary.org.delete(bad, user_id=linked.primary.user_id)
    if retried:
        assert sync_log_retry(entries=entries).retried == 1
    sync_once(linked.connection)
    assert entries.get().status == Status.RESOLVED
    assert target_revenues(linked) == {}
    assert not linked.connection.queue_items.exists()


def test_a_failed_update_undone_in_its_source_resolves_its_entry(linked):
    """A change that failed in the target and was then undone in the source: the target holds
    what the source holds again, so nothing is written and the entry ends Resolved."""
    subscribe(linked, "Account")
    good = create_with_revenue(linked, "Good", 100)
    sync_once(linked.connection)
    revenue_must_be_positive(linked)
    set_revenue(linked, good, -5)
    sync_once(linked.connection)
    entries = SyncLog.objects.filter(source_id=good)
    assert entries.get().status == Status.FAILED
    set_revenue(linked, good, 100)
    sync_once(linked.connection)
    assert entries.get().status == Status.RESOLVED
    assert target_revenues(linked) == {"Good": 100}

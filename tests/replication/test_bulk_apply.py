"""Big backlogs go Bulk (issue 21): past ORGSYNC_BULK_APPLY_THRESHOLD changed records of one object
and direction, apply writes through Bulk API 2.0 jobs, with the same per-record outcomes.

Each test ends by reading both orgs field by field, and counts the Bulk jobs sfemu ran.
"""

import pytest

from connections.models import Connection
from replication.engine import apply
from replication.engine.bulk_jobs import parse_bulk_error
from replication.engine.context import EngineContext
from replication.engine.cycle import sync_once
from replication.models import EXTERNAL_ID_FIELD, Direction, RecordLink, RecordQueueItem
from synclog.models import SyncLog
from tests.replication.test_bulk_sync_crash import ingest_jobs
from tests.replication.test_engine_integrity import (
    InjectedCrash,
    accounts,
    assert_agree,
    expire_lease,
    settle,
)

P2S = Direction.PRIMARY_TO_SECONDARY
THRESHOLD = 1200  # above the 1,000 writes one composite call carries
OLD = "2026-03-15T10:00:00.000+0000"
RECORDS = 1500


@pytest.fixture
def bulk_threshold(settings):
    settings.ORGSYNC_BULK_APPLY_THRESHOLD = THRESHOLD


def seed(handle, n: int, prefix: str = "Big") -> list[str]:
    return [
        handle.org.create(
            "Account", {"Name": f"{prefix} {i}", "Phone": f"555-{i:04d}"}, user_id=handle.user_id
        )
        for i in range(n)
    ]


@pytest.mark.django_db(transaction=True)
def test_a_big_backlog_of_inserts_then_updates_goes_through_bulk_jobs(
    both_ways, bulk_threshold, sfemu_server
):
    primary, secondary = both_ways.primary, both_ways.secondary
    ids = seed(primary, RECORDS)
    sync_once(both_ways.connection)
    assert_agree(both_ways)
    jobs = ingest_jobs(sfemu_server, secondary)
    assert [(j["operation"], j.get("externalIdFieldName")) for j in jobs] == [("upsert", EXTERNAL_ID_FIELD)]
    assert RecordLink.objects.count() == RECORDS

    # A mass update that clears a field: the Bulk CSV must say "null", not "leave it".
    for record_id in ids:
        primary.org.update(
            "Account", record_id, {"Phone": None, "Name": f"New {record_id}"}, user_id=primary.user_id
        )
    sync_once(both_ways.connection)
    assert_agree(both_ways)
    copies = accounts(secondary)
    assert {c["Name"] for c in copies} == {f"New {i}" for i in ids}
    assert {c["Phone"] for c in copies} == {None}, "cleared in the source, cleared in the copy"
    assert sorted(j["operation"] for j in ingest_jobs(sfemu_server, secondary)) == ["update", "upsert"]
    assert not RecordQueueItem.objects.exists()
    assert not SyncLog.objects.exclude(status=SyncLog.Status.RESOLVED).exists()


@pytest.mark.django_db(transaction=True)
def test_records_a_bulk_job_refuses_are_logged_one_by_one_and_the_rest_go_on(
    subscribed, bulk_threshold, sfemu_server
):
    primary, secondary = subscribed.primary, subscribed.secondary
    secondary.org.add_validation_rule(
        "Account",
        "No_Rejects",
        message="Rejected names are not allowed",
        field="Name",
        condition="eq",
        value="Reject",
    )
    good = seed(primary, RECORDS)
    bad = [primary.org.create("Account", {"Name": "Reject"}, user_id=primary.user_id) for _ in range(3)]
    sync_once(subscribed.connection)

    copies = {c[EXTERNAL_ID_FIELD]: c for c in accounts(secondary)}
    assert set(copies) == set(good), "every good record arrived, no rejected one"
    sources = primary.org.query("SELECT Id, Name, Phone FROM Account", api_version="62.0").records
    for source in sources:
        if source["Id"] in copies:
            assert (copies[source["Id"]]["Name"], copies[source["Id"]]["Phone"]) == (
                source["Name"],
                source["Phone"],
            )
    failed = SyncLog.objects.filter(status=SyncLog.Status.FAILED)
    assert sorted(failed.values_list("source_id", flat=True)) == sorted(bad)
    assert {e.error_code for e in failed} == {"FIELD_CUSTOM_VALIDATION_EXCEPTION"}
    assert "Rejected names are not allowed" in failed.first().message
    assert [j["operation"] for j in ingest_jobs(sfemu_server, secondary)] == ["upsert"]
    assert not RecordQueueItem.objects.exists(), "failures are in the log, not stuck in the queue"


@pytest.mark.django_db(transaction=True)
def test_below_the_threshold_collections_are_used(subscribed, bulk_threshold, sfemu_server):
    seed(subscribed.primary, THRESHOLD - 1)
    sync_once(subscribed.connection)
    assert len(accounts(subscribed.secondary)) == THRESHOLD - 1
    assert ingest_jobs(sfemu_server, subscribed.secondary) == []


@pytest.fixture
def small_batches(monkeypatch):
    """Batches of 2,000 (apply's own limit) instead of 10,000: a 5,000-record backlog takes
    two Bulk rounds and one collection round."""
    monkeypatch.setattr(apply, "BULK_APPLY_BATCH", 1000)


def crash_on(point: str, nth: int):
    """Kill the cycle the nth time it reaches `point`."""
    reached = {"n": 0}

    def hook(name: str) -> None:
        if name == point:
            reached["n"] += 1
            if reached["n"] == nth:
                raise InjectedCrash(point)

    return hook


def copies_by_origin(handle) -> dict[str, list[dict]]:
    found: dict[str, list[dict]] = {}
    for copy in accounts(handle):
        found.setdefault(copy[EXTERNAL_ID_FIELD], []).append(copy)
    return found


@pytest.mark.django_db(transaction=True)
def test_the_next_batch_is_submitted_before_the_previous_job_is_read_back(
    both_ways, bulk_threshold, small_batches, sfemu_server
):
    """Pipelining (issue 21 item 2): Salesforce works on a batch's job while the engine claims,
    reads and plans the next batch; every job is read back within the cycle."""
    primary, secondary = both_ways.primary, both_ways.secondary
    ids = seed(primary, 5000)
    points: list[str] = []
    sync_once(both_ways.connection, ctx=EngineContext(worker="w", on_checkpoint=points.append))

    bulk = [p for p in points if p in ("apply.submitted", "apply.written")]
    assert bulk[:3] == ["apply.submitted", "apply.submitted", "apply.written"], bulk
    assert len(ingest_jobs(sfemu_server, secondary)) == 2
    assert_agree(both_ways)
    assert set(copies_by_origin(secondary)) == set(ids)
    assert RecordLink.objects.count() == 5000
    assert not RecordQueueItem.objects.exists(), "every job was read back and its items completed"
    assert not SyncLog.objects.exclude(status=SyncLog.Status.RESOLVED).exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("submitted", [1, 2])
def test_a_worker_killed_with_jobs_in_flight_duplicates_and_loses_nothing(
    both_ways, bulk_threshold, small_batches, submitted
):
    """Killed right after the first job was submitted, or after the second (two in flight, none
    read back): the next holder applies the claimed items again, upserts find the copies, and
    the orgs agree with one copy per record."""
    primary, secondary = both_ways.primary, both_ways.secondary
    ids = seed(primary, 5000)
    with pytest.raises(InjectedCrash):
        sync_once(
            both_ways.connection,
            ctx=EngineContext(worker="w", on_checkpoint=crash_on("apply.submitted", submitted)),
        )
    expire_lease()
    settle(both_ways.connection)

    copies = copies_by_origin(secondary)
    assert set(copies) == set(ids), "nothing lost"
    assert all(len(found) == 1 for found in copies.values()), "nothing duplicated"
    assert_agree(both_ways)
    assert RecordLink.objects.count() == 5000
    assert not RecordQueueItem.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_a_bulk_upsert_replayed_after_a_crash_goes_through_with_audit_fields(subscribed, bulk_threshold):
    """With audit fields on, a job's creates carry CreatedDate (settable on create only). Killed
    after the job ran and before its outcomes were recorded, the next holder's job finds the
    copies and is refused for those fields; those records are sent again without them (the
    payloads in flight kept their values for that), and each record is copied once."""
    Connection.objects.filter(pk=subscribed.connection.pk).update(sync_feeds_and_audit_fields=True)
    for handle in (subscribed.primary, subscribed.secondary):
        handle.org.set_option("audit_fields_on_create", True)
    ids = [
        subscribed.primary.org.create(
            "Account", {"Name": f"Audited {i}", "CreatedDate": OLD}, user_id=subscribed.primary.user_id
        )
        for i in range(RECORDS)
    ]
    with pytest.raises(InjectedCrash):
        sync_once(
            subscribed.connection, ctx=EngineContext(worker="w", on_checkpoint=crash_on("apply.written", 1))
        )
    expire_lease()
    settle(subscribed.connection, 3)

    copies = subscribed.secondary.org.query(
        f"SELECT Name, CreatedDate, {EXTERNAL_ID_FIELD} FROM Account", api_version="62.0"
    ).records
    assert sorted(c[EXTERNAL_ID_FIELD] for c in copies) == sorted(ids), "each record once"
    assert all(c["CreatedDate"].startswith("2026-03-15T10:00:00") for c in copies)
    assert RecordLink.objects.filter(connection=subscribed.connection).count() == RECORDS
    assert not RecordQueueItem.objects.exists()
    assert not SyncLog.objects.filter(status=SyncLog.Status.FAILED).exists()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --",
            ("REQUIRED_FIELD_MISSING", "Required fields are missing: [Name]", ("Name",)),
        ),
        (
            "INVALID_FIELD_FOR_INSERT_UPDATE:Unable to create/update fields: CreatedDate, LastModifiedDate. "
            "Check it.:CreatedDate LastModifiedDate --",
            (
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                "Unable to create/update fields: CreatedDate, LastModifiedDate. Check it.",
                ("CreatedDate", "LastModifiedDate"),
            ),
        ),
        ("FIELD_X:two fields:A__c,B__c --", ("FIELD_X", "two fields", ("A__c", "B__c"))),
        (
            "UNABLE_TO_LOCK_ROW:unable to obtain exclusive access to this record:--",
            ("UNABLE_TO_LOCK_ROW", "unable to obtain exclusive access to this record", ()),
        ),
    ],
)
def test_a_bulk_error_names_its_code_message_and_every_field(text, expected):
    assert parse_bulk_error(text) == expected

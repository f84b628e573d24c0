"""Bulk sync against two sfemu orgs over HTTPS: both paths (REST collections at or under the
threshold, Bulk API 2.0 above it), cutoff and limit semantics, the failed-parent rule, dry-run
counts and what a second run costs."""

import time
from datetime import timedelta

import pytest
from django.utils import timezone

from replication import services
from replication.bulksync.runner import BulkSyncRunner
from replication.bulksync.scope import BulkSyncError
from replication.models import (
    EXTERNAL_ID_FIELD,
    BulkSync,
    BulkSyncObject,
    Direction,
    RecordLink,
    RecordQueueItem,
)
from replication.services.bulk_sync import bulk_sync_cancel, bulk_sync_start
from synclog.models import SyncLog, SyncRun

P2S = Direction.PRIMARY_TO_SECONDARY


def quick_sleep(seconds: float) -> None:
    time.sleep(min(seconds, 0.05))


def subscribe(linked, *objects: str) -> None:
    for name in objects:
        publication = services.publication_publish(
            connection=linked.connection, direction=P2S, source_object=name, actor=None
        )
        services.subscription_subscribe(publication=publication, actor=None)


def seed(linked, accounts: int, contacts_per_account: int = 0, **audit) -> tuple[list[str], list[str]]:
    org, user = linked.primary.org, linked.primary.user_id
    account_ids, contact_ids = [], []
    for n in range(accounts):
        account = org.create("Account", {"Name": f"Acct {n}", **audit}, user_id=user)
        account_ids.append(account)
        for m in range(contacts_per_account):
            contact_ids.append(
                org.create("Contact", {"LastName": f"C{n}-{m}", "AccountId": account, **audit}, user_id=user)
            )
    return account_ids, contact_ids


def run(linked, **options) -> BulkSync:
    bulk = bulk_sync_start(connection=linked.connection, actor=None, run_in_worker=False, **options)
    return BulkSyncRunner(bulk, sleep=quick_sleep).run()


def target_rows(linked, sobject: str, fields: str) -> list[dict]:
    return linked.secondary.org.query(f"SELECT {fields} FROM {sobject}", api_version="62.0").records


def objects(bulk: BulkSync) -> dict[str, BulkSyncObject]:
    return {o.source_object: o for o in bulk.sync_objects.all()}


@pytest.fixture
def accounts_and_contacts(linked):
    subscribe(linked, "Account", "Contact")
    return linked


def assert_copied(linked, account_ids, contact_ids) -> None:
    accounts = target_rows(linked, "Account", f"Id, {EXTERNAL_ID_FIELD}")
    assert sorted(r[EXTERNAL_ID_FIELD] for r in accounts) == sorted(account_ids)
    by_source = {r[EXTERNAL_ID_FIELD]: r["Id"] for r in accounts}
    contacts = target_rows(linked, "Contact", f"AccountId, {EXTERNAL_ID_FIELD}")
    assert sorted(r[EXTERNAL_ID_FIELD] for r in contacts) == sorted(contact_ids)
    parents = {
        link.primary_id: link.secondary_id for link in RecordLink.objects.filter(primary_object="Account")
    }
    assert parents == by_source
    assert {r["AccountId"] for r in contacts} <= set(by_source.values()), "lookups point at target parents"
    assert RecordLink.objects.count() == len(account_ids) + len(contact_ids)


def test_rest_path_copies_parents_then_children_and_a_second_run_copies_nothing(accounts_and_contacts):
    linked = accounts_and_contacts
    account_ids, contact_ids = seed(linked, 12, 2)
    bulk = run(linked)
    assert bulk.status == BulkSync.Status.COMPLETED, bulk.error
    assert_copied(linked, account_ids, contact_ids)
    got = objects(bulk)
    assert [(o.path, o.total, o.processed, o.inserted, o.skipped) for o in got.values()] == [
        ("rest", 12, 12, 12, 0),
        ("rest", 24, 24, 24, 0),
    ]
    assert got["Account"].api_calls <= 4, "a query page, the owners looked up in each org, one write"
    run_row = SyncRun.objects.get(pk=bulk.run_id)
    assert (run_row.kind, run_row.succeeded, run_row.failed) == (SyncRun.Kind.BULK, 36, 0)

    linked.secondary.reset_calls()
    again = run(linked)
    assert [(o.inserted, o.skipped) for o in again.sync_objects.all()] == [(0, 12), (0, 24)]
    assert "collections" not in linked.secondary.calls() and "bulk" not in linked.secondary.calls()


@pytest.mark.parametrize("page_records", [25, 1000])
def test_bulk_path_streams_pages_and_links_every_record(accounts_and_contacts, settings, page_records):
    settings.ORGSYNC_BULK_SYNC_THRESHOLD = 10
    settings.ORGSYNC_BULK_SYNC_PAGE_RECORDS = page_records
    linked = accounts_and_contacts
    account_ids, contact_ids = seed(linked, 40, 1)
    bulk = run(linked)
    assert bulk.status == BulkSync.Status.COMPLETED, bulk.error
    assert_copied(linked, account_ids, contact_ids)
    got = objects(bulk)
    assert {o.path for o in got.values()} == {"bulk"}
    assert (got["Account"].inserted, got["Contact"].inserted) == (40, 40)
    assert all(o.next_locator == "<end>" and not o.page_checkpoint for o in got.values())
    if page_records == 1000:
        assert got["Account"].api_calls <= 15, "the Bulk path's budget per object"
    # Links carry the keyed hash of what was written: the engine sees nothing to send again.
    link = RecordLink.objects.get(primary_id=account_ids[0])
    assert link.secondary_state_hash and link.p2s_sent_hash == link.secondary_state_hash


def ingest_jobs(sfemu_server, handle) -> list[dict]:
    """Full job info of every ingest job of the org (the list gives short info)."""
    session = sfemu_server.http_session()
    base = f"{handle.instance_url}/services/data/v62.0/jobs/ingest"
    headers = {"Authorization": f"Bearer {handle.new_access_token()}"}
    listing = session.get(base, headers=headers)
    listing.raise_for_status()
    return [session.get(f"{base}/{job['id']}", headers=headers).json() for job in listing.json()["records"]]


def test_a_page_goes_out_in_several_ingest_jobs_two_in_flight(accounts_and_contacts, settings, sfemu_server):
    settings.ORGSYNC_BULK_SYNC_THRESHOLD = 10
    settings.ORGSYNC_BULK_SYNC_PAGE_RECORDS = 1000
    settings.ORGSYNC_BULK_SYNC_JOB_RECORDS = 10
    linked = accounts_and_contacts
    account_ids, contact_ids = seed(linked, 45, 1)
    in_flight: list[int] = []
    contacts_queried_meanwhile: list[bool] = []

    def watch(obj: BulkSyncObject) -> None:
        in_flight.append(len(obj.page_checkpoint.get("jobs", [])))
        if obj.source_object == "Account" and obj.page_checkpoint.get("jobs"):
            contacts = BulkSyncObject.objects.get(bulk_sync=obj.bulk_sync, source_object="Contact")
            contacts_queried_meanwhile.append(bool(contacts.query_job_id))

    bulk = bulk_sync_start(connection=linked.connection, actor=None, run_in_worker=False)
    bulk = BulkSyncRunner(bulk, sleep=quick_sleep, progress=watch).run()
    assert bulk.status == BulkSync.Status.COMPLETED, bulk.error
    assert_copied(linked, account_ids, contact_ids)
    got = objects(bulk)
    assert (got["Account"].processed, got["Account"].inserted) == (45, 45)
    assert (got["Contact"].processed, got["Contact"].inserted) == (45, 45)
    assert max(in_flight) == 2, "a job is sent while the one before it still runs"
    assert all(contacts_queried_meanwhile), "the Contact query job runs while the Accounts go out"
    jobs = ingest_jobs(sfemu_server, linked.secondary)
    sizes = sorted(j["numberRecordsProcessed"] for j in jobs if j["object"] == "Account")
    assert sizes == [5, 10, 10, 10, 10], "a page of 45 records in jobs of at most 10"
    # Every job's records are linked with the keyed hash of what was written, the last job's too.
    for source_id in (account_ids[0], account_ids[-1], contact_ids[-1]):
        link = RecordLink.objects.get(primary_id=source_id)
        assert link.secondary_state_hash and link.p2s_sent_hash == link.secondary_state_hash


def test_a_job_never_uploaded_is_aborted_on_resume_and_its_records_sent_once(linked, settings, sfemu_server):
    """The target goes into maintenance between the creation of the second ingest job and its
    upload: the run stops with that job Open. The resumed run aborts it, reads the first job's
    outcomes back and sends the rest once."""
    settings.ORGSYNC_BULK_SYNC_THRESHOLD = 10
    settings.ORGSYNC_BULK_SYNC_PAGE_RECORDS = 1000
    settings.ORGSYNC_BULK_SYNC_JOB_RECORDS = 10
    subscribe(linked, "Account")
    account_ids, _ = seed(linked, 35)
    uploading: list[str] = []

    def maintenance_at_the_second_upload(obj: BulkSyncObject) -> None:
        job = obj.page_checkpoint.get("uploading")
        if job and job["id"] not in uploading:
            uploading.append(job["id"])
            if len(uploading) == 2:
                linked.secondary.set_faults(maintenance_seconds=60)

    bulk = bulk_sync_start(connection=linked.connection, actor=None, run_in_worker=False)
    stopped = BulkSyncRunner(bulk, sleep=quick_sleep, progress=maintenance_at_the_second_upload).run()
    assert stopped.status == BulkSync.Status.INTERRUPTED, stopped.error
    checkpoint = objects(stopped)["Account"].page_checkpoint
    assert checkpoint["uploading"]["id"] == uploading[1] and checkpoint["jobs"] == uploading
    linked.secondary.clear_faults()

    finished = BulkSyncRunner(stopped, sleep=quick_sleep).run()
    assert finished.status == BulkSync.Status.COMPLETED, finished.error
    written = [r[EXTERNAL_ID_FIELD] for r in target_rows(linked, "Account", EXTERNAL_ID_FIELD)]
    assert sorted(written) == sorted(account_ids), "every record once"
    jobs = {j["id"]: j for j in ingest_jobs(sfemu_server, linked.secondary)}
    assert jobs[uploading[1]]["state"] == "Aborted"
    assert sum(j["numberRecordsProcessed"] or 0 for j in jobs.values()) == 35, "none sent twice"
    got = objects(finished)["Account"]
    assert (got.processed, got.inserted, got.skipped, got.page_checkpoint) == (35, 35, 0, {})
    assert RecordLink.objects.filter(primary_object="Account").count() == 35


def test_records_already_in_the_target_are_linked_not_duplicated(accounts_and_contacts, settings):
    settings.ORGSYNC_BULK_SYNC_THRESHOLD = 5
    linked = accounts_and_contacts
    account_ids, _ = seed(linked, 8)
    # A previous, interrupted copy left two records in the target without links.
    for source_id in account_ids[:2]:
        linked.secondary.org.create(
            "Account", {"Name": "Earlier", EXTERNAL_ID_FIELD: source_id}, user_id=linked.secondary.user_id
        )
    bulk = run(linked, objects=["account"])
    got = objects(bulk)["Account"]
    assert (got.inserted, got.linked) == (6, 2)
    assert len(target_rows(linked, "Account", "Id")) == 8


def test_cutoff_date_and_number_of_entities(accounts_and_contacts):
    linked = accounts_and_contacts
    linked.primary.org.set_option("audit_fields_on_create", True)
    old_stamp = (timezone.now() - timedelta(days=200)).strftime("%Y-%m-%dT%H:%M:%S.000+0000")
    old, _ = seed(linked, 3, CreatedDate=old_stamp, LastModifiedDate=old_stamp)
    new, _ = seed(linked, 4)

    recent = run(linked, objects=["Account"], since=timezone.now() - timedelta(days=100))
    assert objects(recent)["Account"].total == 4
    assert sorted(r[EXTERNAL_ID_FIELD] for r in target_rows(linked, "Account", EXTERNAL_ID_FIELD)) == sorted(
        new
    )

    # Date groups cost nothing extra: the second, earlier cutoff copies only the older records.
    earlier = run(linked, objects=["Account"], since=timezone.now() - timedelta(days=300))
    got = objects(earlier)["Account"]
    assert (got.total, got.inserted, got.skipped) == (7, 3, 4)
    assert sorted(r[EXTERNAL_ID_FIELD] for r in target_rows(linked, "Account", EXTERNAL_ID_FIELD)) == sorted(
        old + new
    )

    RecordLink.objects.all().delete()
    linked.secondary.org.purge()
    for row in target_rows(linked, "Account", "Id"):
        linked.secondary.org.delete(row["Id"], user_id=linked.secondary.user_id, hard=True)
    newest = run(linked, objects=["Account"], limit=2)
    assert objects(newest)["Account"].total == 2
    assert len(target_rows(linked, "Account", "Id")) == 2


def test_the_request_is_checked_with_messages_that_name_the_fix(accounts_and_contacts):
    linked = accounts_and_contacts
    with pytest.raises(BulkSyncError) as too_old:
        bulk_sync_start(connection=linked.connection, actor=None, since=timezone.now() - timedelta(days=400))
    assert "more than a year ago" in str(too_old.value)
    with pytest.raises(BulkSyncError) as both:
        bulk_sync_start(connection=linked.connection, actor=None, since=timezone.now(), limit=5)
    assert "not both" in str(both.value)
    with pytest.raises(BulkSyncError) as unknown:
        bulk_sync_start(connection=linked.connection, actor=None, objects=["Lead"])
    assert "Lead" in str(unknown.value) and "Account, Contact" in str(unknown.value)
    with pytest.raises(BulkSyncError) as backwards:
        bulk_sync_start(connection=linked.connection, actor=None, direction=Direction.SECONDARY_TO_PRIMARY)
    assert "two-way" in str(backwards.value)
    first = bulk_sync_start(connection=linked.connection, actor=None, run_in_worker=False)
    with pytest.raises(BulkSyncError) as busy:
        bulk_sync_start(connection=linked.connection, actor=None, run_in_worker=False)
    assert f"#{first.pk}" in str(busy.value)
    cancelled = bulk_sync_cancel(bulk_sync=first, actor=None)
    assert cancelled.status == BulkSync.Status.CANCELLED
    assert BulkSyncRunner(cancelled).run().status == BulkSync.Status.CANCELLED, "a cancelled run never starts"


@pytest.mark.parametrize("threshold", [2000, 5])
def test_a_failed_parent_holds_back_its_children_and_unrelated_records_go_on(
    accounts_and_contacts, settings, threshold
):
    settings.ORGSYNC_BULK_SYNC_THRESHOLD = threshold
    linked = accounts_and_contacts
    linked.secondary.org.add_validation_rule(
        "Account",
        "No_Rejects",
        message="Rejected names are not allowed",
        field="Name",
        condition="eq",
        value="Reject",
    )
    org, user = linked.primary.org, linked.primary.user_id
    bad = org.create("Account", {"Name": "Reject"}, user_id=user)
    good_accounts, good_contacts = seed(linked, 6, 1)
    orphans = [org.create("Contact", {"LastName": f"O{n}", "AccountId": bad}, user_id=user) for n in range(2)]

    bulk = run(linked)
    assert bulk.status == BulkSync.Status.COMPLETED_WITH_FAILURES
    got = objects(bulk)
    assert (got["Account"].inserted, got["Account"].failed) == (6, 1)
    assert (got["Contact"].inserted, got["Contact"].held_back) == (6, 2)
    assert sorted(r[EXTERNAL_ID_FIELD] for r in target_rows(linked, "Contact", EXTERNAL_ID_FIELD)) == sorted(
        good_contacts
    )
    failed = SyncLog.objects.get(source_id=bad)
    assert (failed.status, failed.error_code) == (SyncLog.Status.FAILED, "FIELD_CUSTOM_VALIDATION_EXCEPTION")
    held = SyncLog.objects.filter(source_id__in=orphans)
    assert {(e.status, e.error_code) for e in held} == {(SyncLog.Status.FAILED, "PARENT_FAILED")}
    assert all(bad in e.message for e in held)
    assert len(good_accounts) == 6


def test_a_child_whose_parent_is_outside_the_sync_goes_to_the_record_queue(accounts_and_contacts):
    linked = accounts_and_contacts
    _, contacts = seed(linked, 2, 1)
    bulk = run(linked, objects=["Contact"])
    assert objects(bulk)["Contact"].queued == 2
    assert set(RecordQueueItem.objects.values_list("source_id", flat=True)) == set(contacts)


def test_dry_run_counts_children_of_parents_it_would_copy_as_copied(accounts_and_contacts):
    linked = accounts_and_contacts
    seed(linked, 3, 2)
    dry = run(linked, dry_run=True)
    assert [(o.inserted, o.queued) for o in dry.sync_objects.all()] == [(3, 0), (6, 0)]
    assert not RecordLink.objects.exists() and not RecordQueueItem.objects.exists()


@pytest.mark.parametrize("threshold", [2000, 5])
def test_dry_run_counts_what_would_happen_and_writes_nothing(accounts_and_contacts, settings, threshold):
    settings.ORGSYNC_BULK_SYNC_THRESHOLD = threshold
    linked = accounts_and_contacts
    account_ids, _ = seed(linked, 9)
    linked.secondary.org.create(
        "Account", {"Name": "Earlier", EXTERNAL_ID_FIELD: account_ids[0]}, user_id=linked.secondary.user_id
    )
    run(linked, objects=["Account"], limit=3)  # three linked for real
    linked.secondary.reset_calls()
    dry = run(linked, objects=["Account"], dry_run=True)
    got = objects(dry)["Account"]
    assert (got.total, got.inserted, got.linked, got.skipped) == (9, 5, 1, 3)
    assert len(target_rows(linked, "Account", "Id")) == 4, "nothing written"
    assert RecordLink.objects.count() == 3
    calls = linked.secondary.calls()
    assert "collections" not in calls and not any(k.startswith("bulk") for k in calls if calls[k])

"""Sync Feeds and Audit Fields: a record created in the target by the engine or a bulk sync
keeps its source's creation date and creator (by the .dr username rule); updates never touch
audit fields; without the option the target sets them itself."""

import uuid

import pytest

from connections.client import SalesforceClient
from connections.models import Connection
from replication.bulksync.runner import BulkSyncRunner
from replication.engine.cycle import sync_once
from replication.models import RecordLink
from replication.services.bulk_sync import bulk_sync_start
from tests.replication.test_engine_one_way import subscribe

OLD = "2026-03-15T10:00:00.000+0000"


@pytest.fixture
def audited(linked):
    Connection.objects.filter(pk=linked.connection.pk).update(sync_feeds_and_audit_fields=True)
    linked.connection.refresh_from_db()
    for handle in (linked.primary, linked.secondary):
        handle.org.set_option("audit_fields_on_create", True)  # "Set Audit Fields upon Record Creation"
    username = f"author.{uuid.uuid4().hex[:8]}@primary.example"  # unique across all orgs
    author = linked.primary.org.add_user(last_name="Author", username=username)
    twin = linked.secondary.org.add_user(last_name="Author", username=username + ".dr")
    subscribe(linked, "Account")
    linked.author, linked.twin = author.user_id, twin.user_id
    return linked


def create_old(linked, name: str, **extra) -> str:
    return linked.primary.org.create(
        "Account",
        {"Name": name, "CreatedDate": OLD, "LastModifiedDate": OLD, "CreatedById": linked.author, **extra},
        user_id=linked.primary.user_id,
    )


def target(linked, source_id: str) -> dict:
    target_id = RecordLink.objects.get(primary_id=source_id).secondary_id
    return (
        SalesforceClient(linked.connection.secondary_org)
        .query_page(f"SELECT Name, CreatedDate, CreatedById FROM Account WHERE Id = '{target_id}'")
        .records[0]
    )


def test_the_engine_copies_audit_fields_on_insert_only(audited):
    source_id = create_old(audited, "Old customer")
    sync_once(audited.connection)
    copy = target(audited, source_id)
    assert copy["CreatedDate"].startswith("2026-03-15T10:00:00")
    assert copy["CreatedById"] == audited.twin, "the creator's .dr user"

    audited.primary.org.update("Account", source_id, {"Name": "Renamed"}, user_id=audited.primary.user_id)
    sync_once(audited.connection)
    assert target(audited, source_id)["Name"] == "Renamed"
    assert target(audited, source_id)["CreatedDate"].startswith("2026-03-15T10:00:00")


def test_a_bulk_sync_copies_audit_fields(audited, settings):
    settings.ORGSYNC_BULK_SYNC_THRESHOLD = 1  # the Bulk API path
    ids = [create_old(audited, f"Old {n}") for n in range(3)]
    RecordLink.objects.all().delete()
    bulk = BulkSyncRunner(
        bulk_sync_start(connection=audited.connection, actor=None, run_in_worker=False)
    ).run()
    assert bulk.status == "completed", bulk.error
    for source_id in ids:
        copy = target(audited, source_id)
        assert copy["CreatedDate"].startswith("2026-03-15T10:00:00") and copy["CreatedById"] == audited.twin


def test_without_the_option_the_target_sets_its_own_audit_fields(audited):
    Connection.objects.filter(pk=audited.connection.pk).update(sync_feeds_and_audit_fields=False)
    audited.connection.refresh_from_db()
    source_id = create_old(audited, "Fresh copy")
    sync_once(audited.connection)
    copy = target(audited, source_id)
    assert not copy["CreatedDate"].startswith("2026-03-15") and copy["CreatedById"] != audited.twin

"""The engine, one way, against two sfemu orgs over HTTPS: insert, update, delete, undelete,
parents and children, echo skipping, the record queue and the sync log."""

import pytest

from connections.client import SalesforceClient
from replication import services
from replication.engine.cycle import sync_once
from replication.models import EXTERNAL_ID_FIELD, Direction, RecordLink, RecordQueueItem
from synclog.models import SyncLog, SyncRun

P2S = Direction.PRIMARY_TO_SECONDARY


def subscribe(linked, *objects: str) -> None:
    for name in objects:
        publication = services.publication_publish(
            connection=linked.connection, direction=P2S, source_object=name, actor=None
        )
        services.subscription_subscribe(publication=publication, actor=None)


def target_rows(linked, soql: str) -> list[dict]:
    return SalesforceClient(linked.connection.secondary_org).query_page(soql).records


@pytest.fixture
def accounts(linked):
    subscribe(linked, "Account", "Contact")
    return linked


def create(handle, sobject: str, **values) -> str:
    return handle.org.create(sobject, values, user_id=handle.user_id)


def test_insert_update_delete_undelete_travel(accounts):
    source_id = create(accounts.primary, "Account", Name="Acme", Industry="Banking")
    sync_once(accounts.connection)
    rows = target_rows(accounts, f"SELECT Id, Name, Industry, {EXTERNAL_ID_FIELD} FROM Account")
    assert [(r["Name"], r["Industry"], r[EXTERNAL_ID_FIELD]) for r in rows] == [
        ("Acme", "Banking", source_id)
    ]
    link = RecordLink.objects.get(primary_id=source_id)
    assert link.secondary_id == rows[0]["Id"]
    assert not RecordQueueItem.objects.exists()

    accounts.primary.org.update("Account", source_id, {"Name": "Acme Ltd"}, user_id=accounts.primary.user_id)
    sync_once(accounts.connection)
    assert target_rows(accounts, "SELECT Name FROM Account")[0]["Name"] == "Acme Ltd"

    accounts.primary.org.delete(source_id, user_id=accounts.primary.user_id)
    sync_once(accounts.connection)
    assert target_rows(accounts, "SELECT Id FROM Account") == []
    assert RecordLink.objects.get(primary_id=source_id).is_deleted

    accounts.primary.org.undelete(source_id, user_id=accounts.primary.user_id)
    sync_once(accounts.connection)
    assert [r["Id"] for r in target_rows(accounts, "SELECT Id FROM Account")] == [link.secondary_id]
    assert not RecordLink.objects.get(primary_id=source_id).is_deleted


def test_children_get_their_parent_translated(accounts):
    account = create(accounts.primary, "Account", Name="Parent")
    create(accounts.primary, "Contact", LastName="Child", AccountId=account)
    sync_once(accounts.connection)
    target_account = RecordLink.objects.get(primary_id=account).secondary_id
    contacts = target_rows(accounts, "SELECT LastName, AccountId FROM Contact")
    assert contacts == [
        {"attributes": contacts[0]["attributes"], "LastName": "Child", "AccountId": target_account}
    ]


def test_an_unchanged_record_is_not_written_again(accounts):
    source_id = create(accounts.primary, "Account", Name="Quiet")
    sync_once(accounts.connection)
    accounts.secondary.reset_calls()
    report = sync_once(accounts.connection)
    assert report.api_calls == 1, "an idle cycle costs one composite call per org"
    assert "collections" not in accounts.secondary.calls() and "composite" not in accounts.secondary.calls()
    assert RecordLink.objects.filter(primary_id=source_id).count() == 1


def test_a_thousand_changes_cost_two_calls(accounts):
    """One composite call reads them, one composite call of 5 x 200 writes them (describes and
    the owners' users are cached after the first cycle that writes)."""
    create(accounts.primary, "Account", Name="Warm-up")
    sync_once(accounts.connection)
    for n in range(1000):
        create(accounts.primary, "Account", Name=f"Bulk {n}")
    report = sync_once(accounts.connection)
    assert len(target_rows(accounts, "SELECT Id FROM Account LIMIT 2000")) == 1001
    assert report.api_calls == 2, report


def test_a_permanent_error_is_logged_failed_with_its_code(accounts):
    accounts.secondary.org.add_custom_field("Account", "Region__c", type="string", length=40, required=True)
    source_id = create(accounts.primary, "Account", Name="No region")
    sync_once(accounts.connection)
    entry = SyncLog.objects.get(source_id=source_id)
    assert (entry.status, entry.error_code) == (SyncLog.Status.FAILED, "REQUIRED_FIELD_MISSING")
    assert "No region" not in entry.message
    assert not RecordQueueItem.objects.exists()
    apply_run = SyncRun.objects.filter(kind=SyncRun.Kind.APPLY).latest("started_at")
    assert (apply_run.failed, apply_run.outcome) == (1, SyncRun.Outcome.FINISHED)


def test_lock_contention_retries_then_resolves(accounts):
    source_id = create(accounts.primary, "Account", Name="Locked")
    accounts.secondary.set_faults(lock_fraction=1.0, lock_seed=1)
    sync_once(accounts.connection)
    item = RecordQueueItem.objects.get(source_id=source_id)
    assert item.status == "retrying" and item.attempts == 1 and item.next_retry_at is not None
    assert SyncLog.objects.get(source_id=source_id).status == SyncLog.Status.RETRYING
    accounts.secondary.clear_faults()
    RecordQueueItem.objects.update(next_retry_at=item.enqueued_at)
    sync_once(accounts.connection)
    assert SyncLog.objects.get(source_id=source_id).status == SyncLog.Status.RESOLVED
    assert len(target_rows(accounts, "SELECT Id FROM Account")) == 1


def test_a_target_deleted_by_hand_is_recreated_on_the_next_change(accounts):
    source_id = create(accounts.primary, "Account", Name="Gone")
    sync_once(accounts.connection)
    old_target = RecordLink.objects.get(primary_id=source_id).secondary_id
    accounts.secondary.org.delete(old_target, user_id=accounts.secondary.user_id)
    accounts.primary.org.update("Account", source_id, {"Name": "Back"}, user_id=accounts.primary.user_id)
    sync_once(accounts.connection)
    sync_once(accounts.connection)
    rows = target_rows(accounts, "SELECT Id, Name FROM Account")
    assert [r["Name"] for r in rows] == ["Back"] and rows[0]["Id"] != old_target


def test_while_suspended_changes_queue_up_and_resume_drains_them(accounts):
    from connections import services as connection_services

    connection_services.connection_suspend(connection=accounts.connection, actor=None)
    ids = [create(accounts.primary, "Account", Name=f"Waiting {n}") for n in range(3)]
    sync_once(accounts.connection)
    records = RecordQueueItem.objects.filter(source_object="Account")  # besides the suspension marker
    assert set(records.values_list("source_id", flat=True)) == set(ids)
    assert target_rows(accounts, "SELECT Id FROM Account") == []
    connection_services.connection_resume(connection=accounts.connection, actor=None)
    sync_once(accounts.connection)
    assert len(target_rows(accounts, "SELECT Id FROM Account")) == 3


def test_owners_follow_the_publication_strategy(accounts):
    """Fixed owner: every new target record is owned by the chosen target user."""
    from replication.models import OwnerStrategy, PublishedObject

    chosen = accounts.secondary.create_user(profile="Standard User", last_name="Owner")
    PublishedObject.objects.filter(source_object="Account").update(
        owner_strategy=OwnerStrategy.FIXED, owner_user_ids=[chosen.user_id]
    )
    create(accounts.primary, "Account", Name="Owned")
    sync_once(accounts.connection)
    assert target_rows(accounts, "SELECT OwnerId FROM Account")[0]["OwnerId"] == chosen.user_id

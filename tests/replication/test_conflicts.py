"""Two-way conflicts under each policy: a record changed in both orgs between two cycles."""

import time

import pytest

from connections.models import Connection
from replication import services
from replication.engine.cycle import sync_once
from replication.models import Direction, QueueStatus, RecordLink, RecordQueueItem
from synclog.models import SyncLog

Policy = Connection.ConflictPolicy


@pytest.fixture
def synced(linked_two_way):
    linked = linked_two_way
    for direction in (Direction.PRIMARY_TO_SECONDARY, Direction.SECONDARY_TO_PRIMARY):
        publication = services.publication_publish(
            connection=linked.connection, direction=direction, source_object="Account", actor=None
        )
        services.subscription_subscribe(publication=publication, actor=None)
    source_id = linked.primary.org.create("Account", {"Name": "Original"}, user_id=linked.primary.user_id)
    sync_once(linked.connection)
    sync_once(linked.connection)
    target_id = RecordLink.objects.get(primary_id=source_id).secondary_id
    return linked, source_id, target_id


def edit_both(linked, source_id, target_id, *, secondary_last: bool = True):
    edits = [(linked.primary, source_id, "From primary"), (linked.secondary, target_id, "From secondary")]
    if not secondary_last:
        edits.reverse()
    for handle, record_id, name in edits:
        handle.org.update("Account", record_id, {"Name": name}, user_id=handle.user_id)
        time.sleep(0.05)  # SystemModstamps of two orgs, a clear moment apart


def names(linked, source_id, target_id) -> tuple[str, str]:
    p = linked.primary.org.get("Account", source_id, ["Name"], api_version="62.0")["Name"]
    s = linked.secondary.org.get("Account", target_id, ["Name"], api_version="62.0")["Name"]
    return p, s


def set_policy(linked, policy: str) -> None:
    Connection.objects.filter(pk=linked.connection.pk).update(conflict_policy=policy)


def test_primary_wins_by_default(synced):
    linked, source_id, target_id = synced
    edit_both(linked, source_id, target_id)
    report = sync_once(linked.connection)
    sync_once(linked.connection)
    assert report.conflicts == 1
    assert names(linked, source_id, target_id) == ("From primary", "From primary")
    entry = SyncLog.objects.get(error_code="SYNC_CONFLICT")
    assert entry.status == SyncLog.Status.RESOLVED and "primary org's change won" in entry.message


@pytest.mark.parametrize(("secondary_last", "expected"), [(True, "From secondary"), (False, "From primary")])
def test_latest_change_wins(synced, secondary_last, expected):
    linked, source_id, target_id = synced
    set_policy(linked, Policy.LATEST_WINS)
    edit_both(linked, source_id, target_id, secondary_last=secondary_last)
    sync_once(linked.connection)
    sync_once(linked.connection)
    assert names(linked, source_id, target_id) == (expected, expected)


def test_hold_for_review_keeps_both_sides_and_logs_it(synced):
    linked, source_id, target_id = synced
    set_policy(linked, Policy.HOLD)
    edit_both(linked, source_id, target_id)
    sync_once(linked.connection)
    sync_once(linked.connection)
    assert names(linked, source_id, target_id) == ("From primary", "From secondary")
    assert set(RecordQueueItem.objects.values_list("status", flat=True)) == {QueueStatus.CONFLICT}
    assert SyncLog.objects.get(error_code="SYNC_CONFLICT").status == SyncLog.Status.FAILED


def test_one_sided_changes_are_no_conflict(synced):
    linked, source_id, target_id = synced
    linked.secondary.org.update("Account", target_id, {"Name": "Only here"}, user_id=linked.secondary.user_id)
    report = sync_once(linked.connection)
    sync_once(linked.connection)
    assert report.conflicts == 0 and not SyncLog.objects.filter(error_code="SYNC_CONFLICT").exists()
    assert names(linked, source_id, target_id) == ("Only here", "Only here")

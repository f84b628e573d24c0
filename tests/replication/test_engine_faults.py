"""Faults from sfemu: lock contention, maintenance, an expired session — every record arrives once."""

import pytest
from django.utils import timezone

from connections.models import Connection, ConnectionEvent
from replication.engine.cycle import sync_once
from replication.models import EXTERNAL_ID_FIELD, RecordQueueItem
from synclog.models import SyncLog
from tests.replication.conftest import subscribe_accounts


@pytest.fixture
def accounts(linked):
    return subscribe_accounts(linked)


def drain(linked, cycles: int = 30) -> None:
    """Run cycles, making retries due at once, until the queue is empty."""
    for _ in range(cycles):
        sync_once(Connection.objects.get(pk=linked.connection.pk))
        if not RecordQueueItem.objects.exists():
            return
        RecordQueueItem.objects.update(next_retry_at=timezone.now())
    raise AssertionError(
        f"queue not drained: {list(RecordQueueItem.objects.values('status', 'last_error_code'))}"
    )


def target_source_ids(linked) -> list[str]:
    result = linked.secondary.org.query(
        f"SELECT {EXTERNAL_ID_FIELD} FROM Account", include_deleted=False, api_version="62.0"
    )
    return [r[EXTERNAL_ID_FIELD] for r in result.records]


def test_lock_contention_and_an_expired_session_lose_nothing_and_duplicate_nothing(accounts):
    ids = [
        accounts.primary.org.create("Account", {"Name": f"Acct {n}"}, user_id=accounts.primary.user_id)
        for n in range(60)
    ]
    accounts.secondary.set_faults(lock_fraction=0.3, lock_seed=7)
    sync_once(accounts.connection)
    assert SyncLog.objects.filter(status=SyncLog.Status.RETRYING, error_code="UNABLE_TO_LOCK_ROW").exists()
    accounts.secondary.expire_sessions()
    accounts.secondary.clear_faults()
    drain(accounts)
    assert sorted(target_source_ids(accounts)) == sorted(ids), "every record once, none twice"
    assert not SyncLog.objects.filter(status__in=[SyncLog.Status.RETRYING, SyncLog.Status.FAILED]).exists()
    assert SyncLog.objects.filter(status=SyncLog.Status.RESOLVED).count() >= 1


def test_a_maintenance_window_suspends_and_the_connection_resumes_by_itself(accounts):
    ids = [
        accounts.primary.org.create("Account", {"Name": f"M {n}"}, user_id=accounts.primary.user_id)
        for n in range(5)
    ]
    accounts.secondary.set_faults(maintenance_seconds=60)  # longer than the client's own 503 retries
    sync_once(accounts.connection)
    connection = Connection.objects.get(pk=accounts.connection.pk)
    assert (connection.status, connection.suspension) == (Connection.Status.SUSPENDED, "automatic")
    accounts.secondary.clear_faults()  # the maintenance ends
    drain(accounts)
    connection.refresh_from_db()
    assert connection.status == Connection.Status.ACTIVE
    kinds = list(connection.events.values_list("kind", flat=True)[:2])
    assert kinds == [ConnectionEvent.Kind.RESUMED, ConnectionEvent.Kind.SUSPENDED]
    assert sorted(target_source_ids(accounts)) == sorted(ids)

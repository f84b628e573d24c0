"""Two-way sync: a change travels once each way and never loops; outages suspend and resume."""

from connections.client import SalesforceClient
from connections.models import Connection, ConnectionEvent
from replication.engine.cycle import sync_once
from replication.models import Direction, RecordLink, RecordQueueItem
from synclog.models import SyncLog, SyncRun

P2S, S2P = Direction.PRIMARY_TO_SECONDARY, Direction.SECONDARY_TO_PRIMARY


def test_one_update_reaches_the_other_org_once_and_never_comes_back(both_ways):
    primary, secondary = both_ways.primary, both_ways.secondary
    source_id = primary.org.create("Account", {"Name": "Ping"}, user_id=primary.user_id)
    sync_once(both_ways.connection)
    sync_once(both_ways.connection)
    target_id = RecordLink.objects.get(primary_id=source_id).secondary_id

    primary.org.update("Account", source_id, {"Name": "Pong"}, user_id=primary.user_id)
    primary.reset_calls()
    secondary.reset_calls()
    for _ in range(3):
        sync_once(both_ways.connection)
    assert secondary.org.get("Account", target_id, ["Name"], api_version="62.0")["Name"] == "Pong"
    assert secondary.calls().get("composite", 0) >= 1, "the update was written to the secondary"
    primary_writes = primary.calls().get("collections", 0) + primary.calls().get("sobjects", 0)
    assert primary_writes == 0, "the echo never goes back to the primary"
    assert RecordLink.objects.count() == 1


def test_an_edit_right_after_a_sync_is_never_undone_by_the_stale_echo(both_ways):
    """The cycle after a write reads its echo in the other org; if the record changed again in
    the meantime, sending that stale copy back would undo the edit, even for one cycle."""
    primary, secondary = both_ways.primary, both_ways.secondary
    source_id = primary.org.create("Account", {"Name": "v0"}, user_id=primary.user_id)
    sync_once(both_ways.connection)  # v0 inserted into the secondary: its echo is due next cycle
    target_id = RecordLink.objects.get(primary_id=source_id).secondary_id
    primary.org.update("Account", source_id, {"Name": "v1"}, user_id=primary.user_id)
    for _ in range(3):
        sync_once(both_ways.connection)
        assert primary.org.get("Account", source_id, ["Name"], api_version="62.0")["Name"] == "v1"
    assert secondary.org.get("Account", target_id, ["Name"], api_version="62.0")["Name"] == "v1"
    written_back = SyncRun.objects.filter(kind=SyncRun.Kind.APPLY, direction=S2P)
    assert sum(run.succeeded for run in written_back) == 0, "nothing was written back into the primary"


def test_a_change_in_the_secondary_travels_back(both_ways):
    primary, secondary = both_ways.primary, both_ways.secondary
    source_id = primary.org.create("Account", {"Name": "Here"}, user_id=primary.user_id)
    sync_once(both_ways.connection)
    target_id = RecordLink.objects.get(primary_id=source_id).secondary_id
    secondary.org.update("Account", target_id, {"Industry": "Banking"}, user_id=secondary.user_id)
    sync_once(both_ways.connection)
    sync_once(both_ways.connection)
    assert primary.org.get("Account", source_id, ["Industry"], api_version="62.0")["Industry"] == "Banking"
    records = SalesforceClient(both_ways.connection.primary_org).query_page("SELECT Id FROM Account").records
    assert len(records) == 1, "no duplicate came back"


def test_request_limit_suspends_automatically_and_resumes_when_the_org_answers(both_ways):
    primary, secondary = both_ways.primary, both_ways.secondary
    source_id = primary.org.create("Account", {"Name": "Limited"}, user_id=primary.user_id)
    sync_once(both_ways.connection)
    secondary.set_faults(request_limit=1)
    primary.org.update("Account", source_id, {"Name": "Limited 2"}, user_id=primary.user_id)
    sync_once(both_ways.connection)
    connection = Connection.objects.get(pk=both_ways.connection.pk)
    assert (connection.status, connection.suspension) == (Connection.Status.SUSPENDED, "automatic")
    assert connection.events.filter(kind=ConnectionEvent.Kind.SUSPENDED).exists()
    pending = RecordQueueItem.objects.get(source_id=source_id)
    assert pending.action == "generic_update", "the change waits in the queue, nothing is lost"

    secondary.clear_faults()
    RecordQueueItem.objects.update(next_retry_at=None, status="queued")
    sync_once(connection)
    connection.refresh_from_db()
    assert connection.status == Connection.Status.ACTIVE
    assert connection.events.filter(kind=ConnectionEvent.Kind.RESUMED).exists()
    sync_once(connection)
    target_id = RecordLink.objects.get(primary_id=source_id).secondary_id
    assert secondary.org.get("Account", target_id, ["Name"], api_version="62.0")["Name"] == "Limited 2"
    assert not RecordQueueItem.objects.exists()
    assert not SyncLog.objects.filter(status=SyncLog.Status.FAILED).exists()

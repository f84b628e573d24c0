"""With Sync Feeds and Audit Fields on, a copy keeps its source's creation date and user. Those
fields can be set on create only: a write replayed after a worker died between writing the copy
and recording it (the upsert then finds the copy and updates it) must still go through, on a
one-way connection where nothing else would repair it. Both orgs are compared at the end."""

import pytest

from connections.models import Connection
from replication.engine.context import EngineContext
from replication.engine.cycle import sync_once
from replication.models import EXTERNAL_ID_FIELD, RecordLink, RecordQueueItem
from synclog.models import SyncLog
from tests.replication.test_engine_integrity import InjectedCrash, crash_at, expire_lease

OLD = "2026-03-15T10:00:00.000+0000"


def test_a_write_replayed_after_a_crash_goes_through_with_audit_fields(subscribed):
    Connection.objects.filter(pk=subscribed.connection.pk).update(sync_feeds_and_audit_fields=True)
    for handle in (subscribed.primary, subscribed.secondary):
        handle.org.set_option("audit_fields_on_create", True)
    names = [f"Audited {i}" for i in range(3)]
    for name in names:
        subscribed.primary.org.create(
            "Account", {"Name": name, "CreatedDate": OLD}, user_id=subscribed.primary.user_id
        )
    with pytest.raises(InjectedCrash):
        sync_once(
            subscribed.connection, ctx=EngineContext(worker="w", on_checkpoint=crash_at("apply.written"))
        )
    expire_lease()
    for _ in range(3):
        sync_once(subscribed.connection)

    copies = subscribed.secondary.org.query(
        f"SELECT Name, CreatedDate, {EXTERNAL_ID_FIELD} FROM Account", api_version="62.0"
    ).records
    assert sorted(c["Name"] for c in copies) == names, "each record once"
    assert all(c["CreatedDate"].startswith("2026-03-15T10:00:00") for c in copies)
    assert RecordLink.objects.filter(connection=subscribed.connection).count() == 3
    assert not RecordQueueItem.objects.filter(connection=subscribed.connection).exists()
    assert not SyncLog.objects.filter(status=SyncLog.Status.FAILED).exists()

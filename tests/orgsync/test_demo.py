"""`make run`'s demo: two sfemu orgs (the primary seeded), connected and linked, set up once."""

from urllib.parse import urlparse

import pytest

from connections.models import Org
from orgsync import demo
from sfemu.testing import start_server

pytestmark = pytest.mark.django_db


CALLBACKS = [
    "http://127.0.0.1:8000/admin/connections/org/oauth/callback/",
    "http://127.0.0.1:8000/partner/oauth/callback/",
]


@pytest.fixture
def emulator(tmp_path):
    data_dir = tmp_path / "sfemu"
    prepared = demo.prepare_emulator(
        demo.Emulator(data_dir, port=1),
        callback_urls=CALLBACKS,
    )
    server = start_server(data_dir, tls_dir=data_dir / "tls")
    try:
        yield demo.Emulator(data_dir, port=urlparse(server.url).port), prepared, server
    finally:
        server.stop()


def test_demo_orgs_are_seeded_and_connected_once(emulator):
    emu, prepared, server = emulator
    assert [o.name for o in prepared] == ["demo-primary", "demo-secondary"]
    assert oct(emu.state_file.stat().st_mode & 0o777) == "0o600"
    counts = server.instance.org(prepared[0].org_id).record_counts(["Account", "Contact", "Case"])
    assert counts["Account"] == demo.DEMO_ACCOUNTS and counts["Contact"] > 0 and counts["Case"] > 0
    assert server.instance.org(prepared[1].org_id).record_counts(["Account"]).get("Account", 0) == 0
    # the admin's and an invited partner's sign-in both come back to the console
    assert [server.state.auth.app(o.client_id).callback_urls for o in prepared] == [tuple(CALLBACKS)] * 2

    orgs = demo.connect_demo_orgs(emu, prepared)
    assert {o.org_id for o in orgs} == {o.org_id for o in prepared}
    assert all(Org.objects.get(pk=o.pk).is_connected for o in orgs)

    again = demo.connect_demo_orgs(emu, demo.prepare_emulator(emu, callback_urls=["ignored"]))
    assert [o.pk for o in again] == [o.pk for o in orgs]
    assert Org.objects.count() == 2

    connection = demo.ensure_demo_connection(orgs)
    assert connection.status == "user_sync" and connection.direction == "two_way"
    published = set(connection.published_objects.values_list("direction", "source_object"))
    assert published == {(d, o) for d in ("p2s", "s2p") for o in demo.DEMO_OBJECTS}
    assert demo.ensure_demo_connection(orgs).pk == connection.pk


def test_an_edit_in_one_demo_org_arrives_in_the_other_and_nothing_comes_back(emulator):
    """What the README promises: edit a record in one org, it shows up in the other; its owner
    maps to the owner's .dr user there, so nothing is written back into the primary."""
    from replication.engine.cycle import sync_once
    from replication.models import RecordLink
    from synclog.models import SyncRun

    emu, prepared, server = emulator
    connection = demo.ensure_demo_connection(demo.connect_demo_orgs(emu, prepared))
    sync_once(connection)  # the user sync step: users copied, then Active
    connection.refresh_from_db()
    assert connection.status == "active"
    primary = server.instance.org(prepared[0].org_id)
    account = primary.query(
        "SELECT Id, OwnerId, SystemModstamp FROM Account WHERE Owner.Username LIKE '%novak%' LIMIT 1",
        include_deleted=False,
        api_version="62.0",
    ).records[0]
    primary.update("Account", account["Id"], {"Name": "Edited in the primary"}, user_id=primary.admin_user_id)
    for _ in range(3):
        sync_once(connection)
    target = RecordLink.objects.get(primary_id=account["Id"]).secondary_id
    secondary = server.instance.org(prepared[1].org_id)
    copy = secondary.query(
        f"SELECT Name, Owner.Username FROM Account WHERE Id = '{target}'",
        include_deleted=False,
        api_version="62.0",
    ).records[0]
    assert copy["Name"] == "Edited in the primary"
    assert copy["Owner"]["Username"].endswith("@demo-primary.sfemu.org.dr")
    after = primary.get("Account", account["Id"], ["OwnerId"], api_version="62.0")
    assert after["OwnerId"] == account["OwnerId"], "the owner in the primary is kept"
    written_back = SyncRun.objects.filter(kind=SyncRun.Kind.APPLY, direction="s2p")
    assert sum(r.succeeded for r in written_back) == 0, "the echo is not written back"


def test_a_bulk_sync_of_the_demo_copies_the_primary_and_nothing_comes_back(emulator):
    """The README's next step: a bulk sync fills the empty secondary; the two-way engine then
    recognises every copied record as its own echo."""
    from replication.bulksync.runner import BulkSyncRunner
    from replication.engine.cycle import sync_once
    from replication.services.bulk_sync import bulk_sync_start
    from synclog.models import SyncRun

    emu, prepared, server = emulator
    connection = demo.ensure_demo_connection(demo.connect_demo_orgs(emu, prepared))
    sync_once(connection)  # users first
    bulk = BulkSyncRunner(bulk_sync_start(connection=connection, actor=None, run_in_worker=False)).run()
    assert bulk.status == "completed", bulk.error
    primary, secondary = (server.instance.org(o.org_id) for o in prepared)
    for sobject in demo.DEMO_OBJECTS:
        assert secondary.record_counts([sobject]) == primary.record_counts([sobject]), sobject
    for _ in range(2):
        sync_once(connection)
    written_back = SyncRun.objects.filter(kind=SyncRun.Kind.APPLY, direction="s2p")
    assert sum(r.succeeded for r in written_back) == 0, "the bulk-copied records are not written back"


def test_the_demo_orgs_allow_sync_feeds_and_a_post_travels(emulator):
    """The demo orgs let audit fields be set on create, so the admin can turn on the connection's
    Sync Feeds and Audit Fields (the form checks it) and watch a post follow its record."""
    from connections.directory import allows_audit_fields
    from connections.models import Connection
    from replication.engine.cycle import sync_once
    from replication.models import RecordLink

    emu, prepared, server = emulator
    connection = demo.ensure_demo_connection(demo.connect_demo_orgs(emu, prepared))
    assert allows_audit_fields(connection.primary_org) and allows_audit_fields(connection.secondary_org)
    sync_once(connection)  # the user sync step
    Connection.objects.filter(pk=connection.pk).update(sync_feeds_and_audit_fields=True)
    primary = server.instance.org(prepared[0].org_id)
    account = primary.create("Account", {"Name": "Feeds demo"}, user_id=primary.admin_user_id)
    primary.create(
        "FeedItem", {"ParentId": account, "Body": "Kick-off call done"}, user_id=primary.admin_user_id
    )
    for _ in range(2):
        sync_once(connection)
    copy = RecordLink.objects.get(primary_id=account).secondary_id
    posts = (
        server.instance.org(prepared[1].org_id)
        .query(
            f"SELECT Body FROM FeedItem WHERE ParentId = '{copy}'", include_deleted=False, api_version="62.0"
        )
        .records
    )
    assert [p["Body"] for p in posts] == ["Kick-off call done"]

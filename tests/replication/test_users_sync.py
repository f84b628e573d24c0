"""Sync Users: the initial copy with the `.dr` suffix, updates both ways, missing profiles."""

from dataclasses import dataclass

import pytest

from connections import services
from connections.client import SalesforceClient
from connections.models import Connection, ConnectionEvent
from replication.engine.context import EngineContext
from replication.engine.cycle import sync_once
from replication.engine.scheduler import run_due
from replication.engine.users import UserSync
from replication.models import Direction, RecordLink, RecordQueueItem
from sfemu.testing import OrgHandle
from synclog.models import SyncLog
from synclog.services import sync_log_retry
from tests.connections.emu import connect_by_password

USER_FIELDS = "Id, Username, FirstName, LastName, Email, IsActive, Profile.Name, UserRole.Name"


@dataclass
class UserOrgs:
    connection: Connection
    primary: OrgHandle
    secondary: OrgHandle
    users: dict[str, str]  # name → primary user id

    def secondary_users(self) -> dict[str, dict]:
        """Users of the secondary by username."""
        client = SalesforceClient(self.connection.secondary_org)
        return {u["Username"]: u for u in client.query_records(f"SELECT {USER_FIELDS} FROM User")}

    def primary_user(self, user_id: str) -> dict:
        client = SalesforceClient(self.connection.primary_org)
        return client.query_page(f"SELECT {USER_FIELDS} FROM User WHERE Id = '{user_id}'").records[0]


def add_profile(handle: OrgHandle, name: str, user_type: str = "Standard") -> str:
    return handle.org._system_insert(
        "Profile", {"Name": name, "PermissionsApiEnabled": True, "UserType": user_type}
    )


def add_role(handle: OrgHandle, name: str) -> str:
    return handle.org._system_insert("UserRole", {"Name": name, "DeveloperName": name.replace(" ", "_")})


@pytest.fixture
def user_orgs(db, sfemu_server) -> UserOrgs:
    """A primary with standard users (one inactive, one with a role) and a Chatter Free user,
    a secondary with the same profiles and roles, and a connection with Sync Users on, accepted."""
    primary, secondary = sfemu_server.create_org(), sfemu_server.create_org()
    for handle in (primary, secondary):
        add_role(handle, "Sales Rep")
        add_profile(handle, "Chatter Free User", "CsnOnly")
    org = primary.org
    users = {
        "ann": org.add_user(first_name="Ann", last_name="Able", role="Sales Rep").user_id,
        "ina": org.add_user(first_name="Ina", last_name="Idle", active=False, profile="Read Only").user_id,
        "chat": org.add_user(first_name="Cy", last_name="Chat", profile="Chatter Free User").user_id,
    }
    connection = services.connection_create(
        actor=None,
        name=f"{primary.name} to {secondary.name}",
        primary_org=connect_by_password(sfemu_server, primary),
        secondary_org=connect_by_password(sfemu_server, secondary),
        owner_username=primary.username,
        owner_user_id=primary.user_id,
        sync_users=True,
    )
    connection = services.connection_accept(connection=connection, actor=None)
    return UserOrgs(connection, primary, secondary, users)


def test_accepted_connection_passes_user_sync_and_ends_active(user_orgs):
    connection = user_orgs.connection
    assert connection.status == Connection.Status.USER_SYNC
    assert run_due(EngineContext(worker="test")) == 1, "the scheduler runs connections in User Sync"
    connection.refresh_from_db()
    assert connection.status == Connection.Status.ACTIVE
    assert connection.events.filter(
        kind=ConnectionEvent.Kind.STATUS_CHANGED, detail="status now Active"
    ).exists()
    assert len(RecordLink.objects.filter(connection=connection, primary_object="User")) == 3


def test_initial_copy_adds_dr_to_standard_users_only(user_orgs):
    sync_once(user_orgs.connection)
    primary, users = user_orgs.primary, user_orgs.users
    copied = user_orgs.secondary_users()
    ann = copied[user_orgs.primary_user(users["ann"])["Username"] + ".dr"]
    assert (ann["FirstName"], ann["LastName"], ann["IsActive"]) == ("Ann", "Able", True)
    assert (ann["Profile"]["Name"], ann["UserRole"]["Name"]) == ("Standard User", "Sales Rep")
    ina = copied[user_orgs.primary_user(users["ina"])["Username"] + ".dr"]
    assert (ina["IsActive"], ina["Profile"]["Name"], ina["UserRole"]) == (False, "Read Only", None)
    assert copied[primary.username + ".dr"]["Profile"]["Name"] == "System Administrator"
    assert user_orgs.primary_user(users["chat"])["Username"] + ".dr" not in copied, "Chatter Free: not copied"
    assert len(copied) == 4, "the secondary's admin and the three standard users"
    links = RecordLink.objects.filter(connection=user_orgs.connection, primary_object="User")
    assert {link.primary_id for link in links} == {users["ann"], users["ina"], primary.user_id}
    assert ann["Id"] == links.get(primary_id=users["ann"]).secondary_id
    assert not RecordQueueItem.objects.exists()
    assert not SyncLog.objects.exists()


def test_rerunning_the_copy_neither_duplicates_nor_writes(user_orgs):
    connection = user_orgs.connection
    sync_once(connection)
    before = user_orgs.secondary_users()
    user_orgs.secondary.reset_calls()
    assert UserSync(EngineContext(), connection).initial_copy().written == 0
    assert "collections" not in user_orgs.secondary.calls()

    RecordLink.objects.all().delete()  # lost links are rebuilt from the `.dr` usernames
    report = UserSync(EngineContext(), connection).initial_copy()
    assert (report.written, report.failed) == (3, 0)
    assert user_orgs.secondary_users().keys() == before.keys()
    assert RecordLink.objects.count() == 3
    assert not SyncLog.objects.exists()


def test_updates_travel_both_ways_and_never_loop(user_orgs):
    connection, primary, secondary = user_orgs.connection, user_orgs.primary, user_orgs.secondary
    sync_once(connection)
    ann = RecordLink.objects.get(primary_id=user_orgs.users["ann"])

    secondary.org.set_user_active(ann.secondary_id, False)
    sync_once(connection)
    assert user_orgs.primary_user(ann.primary_id)["IsActive"] is False, "deactivated in the secondary"

    primary.org.update(
        "User",
        ann.primary_id,
        {"UserRoleId": primary.org.role_id("CEO"), "ProfileId": primary.org.profile_id("Read Only")},
        user_id=primary.user_id,
    )
    sync_once(connection)
    copy = user_orgs.secondary_users()[user_orgs.primary_user(ann.primary_id)["Username"] + ".dr"]
    assert (copy["UserRole"]["Name"], copy["Profile"]["Name"], copy["IsActive"]) == (
        "CEO",
        "Read Only",
        False,
    )

    primary.reset_calls()
    secondary.reset_calls()
    for _ in range(3):
        sync_once(connection)
    for handle in (primary, secondary):
        assert handle.calls() == {"composite": 3}, "one read per org and cycle, no write comes back"
    assert not RecordQueueItem.objects.exists()


def test_between_user_polls_an_idle_cycle_reads_nothing(user_orgs, settings):
    """With the default interval, ongoing user sync reads users at most every five minutes."""
    settings.ORGSYNC_USER_SYNC_INTERVAL_SECONDS = 300
    connection, primary, secondary = user_orgs.connection, user_orgs.primary, user_orgs.secondary
    sync_once(connection)  # the initial copy
    primary.reset_calls()
    secondary.reset_calls()
    for _ in range(3):
        sync_once(connection)
    calls = [primary.calls().get("composite", 0), secondary.calls().get("composite", 0)]
    assert calls == [1, 1], "one user read per org in three cycles, the rest wait for the interval"


def test_a_profile_missing_in_the_secondary_is_a_failed_entry_naming_it(user_orgs):
    primary, secondary, connection = user_orgs.primary, user_orgs.secondary, user_orgs.connection
    add_profile(primary, "Field Sales")
    zoe = primary.org.add_user(first_name="Zoe", last_name="Zed", profile="Field Sales").user_id
    sync_once(connection)

    connection.refresh_from_db()
    assert connection.status == Connection.Status.ACTIVE, "the other users were copied"
    entry = SyncLog.objects.get(source_id=zoe)
    assert (entry.status, entry.error_code, entry.direction) == (
        SyncLog.Status.FAILED,
        "PROFILE_NOT_FOUND",
        Direction.PRIMARY_TO_SECONDARY,
    )
    assert "Field Sales" in entry.message and "Create a profile" in entry.message
    assert RecordLink.objects.count() == 3
    assert not [u for u in user_orgs.secondary_users() if "zoezed" in u]
    assert not RecordQueueItem.objects.exists()

    add_profile(secondary, "Field Sales")  # the fix the message names: then save the user again
    primary.org.update("User", zoe, {"Title": "Rep"}, user_id=primary.user_id)
    sync_once(connection)
    assert [u for u in user_orgs.secondary_users() if "zoezed" in u]
    entry.refresh_from_db()
    assert entry.status == SyncLog.Status.RESOLVED


def test_retrying_a_failed_user_sends_it_once_the_profile_exists(user_orgs):
    primary, connection = user_orgs.primary, user_orgs.connection
    add_profile(primary, "Field Sales")
    zoe = primary.org.add_user(first_name="Zoe", last_name="Zed", profile="Field Sales").user_id
    sync_once(connection)
    add_profile(user_orgs.secondary, "Field Sales")

    assert sync_log_retry(entries=SyncLog.objects.filter(source_id=zoe)).retried == 1
    sync_once(connection)
    copy = user_orgs.secondary_users()[user_orgs.primary_user(zoe)["Username"] + ".dr"]
    assert copy["Profile"]["Name"] == "Field Sales"
    assert SyncLog.objects.get(source_id=zoe).status == SyncLog.Status.RESOLVED
    assert RecordLink.objects.filter(primary_id=zoe).exists()
    assert not RecordQueueItem.objects.exists()

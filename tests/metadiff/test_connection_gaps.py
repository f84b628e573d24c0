"""Connections use metadiff: the metadata gaps that would break record sync, the metadata sync
step of accepting a connection with Sync Metadata, its daily repeat, the command and the panel
on the connection's admin page — against two sfemu orgs over HTTPS."""

import pytest
from django.core.management import call_command
from django.urls import reverse
from django_q.models import Schedule

from connections import services as connection_services
from connections.client import SalesforceClient
from connections.models import Connection, ConnectionEvent
from metadiff import tasks
from metadiff.gaps import GapKind, connection_metadata_gaps
from metadiff.models import ConnectionMetadataSync, Deployment, DiffRun
from orgsync.roles import ADMINISTRATORS
from replication import services as replication_services
from replication.models import EXTERNAL_ID_FIELD, Direction
from tests.connections.emu import connect_by_password
from tests.factories import UserFactory

P2S, S2P = Direction.PRIMARY_TO_SECONDARY, Direction.SECONDARY_TO_PRIMARY
SEEDED_GAPS = {
    ("Account", "Region__c", GapKind.MISSING_FIELD),
    ("Account", "Code__c", GapKind.NARROWER),
    ("Account", "Tier__c", GapKind.MISSING_PICKLIST_VALUES),
}


def seed(primary, secondary) -> None:
    """One difference of each kind on Account, and fields that are the same on both sides."""
    for handle in (primary, secondary):
        handle.org.add_custom_field("Account", "Same__c", "string", length=30)
        handle.org.add_custom_field("Account", "Score__c", "double", precision=10, scale=2)
    primary.org.add_custom_field("Account", "Region__c", "string", length=40)
    primary.org.add_custom_field("Account", "Code__c", "string", length=80)
    secondary.org.add_custom_field("Account", "Code__c", "string", length=40)
    primary.org.add_custom_field(
        "Account", "Tier__c", "picklist", values=["Gold", "Silver", "Bronze"], restricted=True
    )
    secondary.org.add_custom_field(
        "Account", "Tier__c", "picklist", values=["Gold", "Silver"], restricted=True
    )
    secondary.org.add_custom_field("Account", "Extra__c", "string", length=10)  # only in the target: fine


def new_connection(sfemu_server, *, two_way=False, **options) -> tuple[Connection, object, object]:
    """An Invited connection between two fresh, seeded orgs, with Account published (and
    subscribed) in every direction it has."""
    primary, secondary = sfemu_server.create_org(), sfemu_server.create_org()
    seed(primary, secondary)
    connection = connection_services.connection_create(
        actor=None,
        name=f"{primary.name} to {secondary.name}",
        primary_org=connect_by_password(sfemu_server, primary),
        secondary_org=connect_by_password(sfemu_server, secondary),
        owner_username=primary.username,
        owner_user_id=primary.user_id,
        direction=Connection.Direction.TWO_WAY if two_way else Connection.Direction.ONE_WAY,
        **options,
    )
    for direction in (P2S, S2P) if two_way else (P2S,):
        publication = replication_services.publication_publish(
            connection=connection, direction=direction, source_object="Account", actor=None
        )
        replication_services.subscription_subscribe(publication=publication, actor=None)
    return connection, primary, secondary


def accept(connection: Connection, capture) -> Connection:
    """Accept and run what waits for the commit (the metadata sync task, inline in tests)."""
    with capture(execute=True):
        connection_services.connection_accept(connection=connection, actor=None)
    connection.refresh_from_db()
    return connection


def custom_fields(org) -> dict[str, tuple]:
    """Account's custom fields as the org's REST describe reports them (our external id aside)."""
    fields = SalesforceClient(org).describe("Account")["fields"]
    return {
        f["name"]: (
            f["type"],
            f["length"],
            f["precision"],
            f["scale"],
            [p["value"] for p in f["picklistValues"]],
        )
        for f in fields
        if f["custom"] and f["name"] not in (EXTERNAL_ID_FIELD, "Extra__c")
    }


def kinds(gaps) -> set[tuple[str, str, str]]:
    return {(g.object, g.field, g.kind) for g in gaps}


# --- the gaps ------------------------------------------------------------------------------------


def test_gaps_are_exactly_the_seeded_differences(db, sfemu_server):
    connection, _, _ = new_connection(sfemu_server)
    gaps = connection_metadata_gaps(connection)
    assert kinds(gaps) == SEEDED_GAPS
    assert all(g.target_org == "secondary" and g.direction == P2S for g in gaps)
    by_field = {g.field: g for g in gaps}
    assert by_field["Region__c"].fix == "Add field Region__c (Text(40)) to Account in the secondary org."
    assert by_field["Code__c"].fix == "Widen Account.Code__c to 80 in the secondary org."
    assert "40 characters" in by_field["Code__c"].detail
    assert by_field["Tier__c"].fix == "Add 'Bronze' to Account.Tier__c in the secondary org."
    assert "restricted" in by_field["Tier__c"].detail


def test_two_way_gaps_cover_both_directions(db, sfemu_server):
    connection, _, _ = new_connection(sfemu_server, two_way=True)
    gaps = connection_metadata_gaps(connection)
    # secondary → primary: Code__c (40 into 80) and Tier__c (a subset) fit; Extra__c is missing
    assert kinds(gaps) == SEEDED_GAPS | {("Account", "Extra__c", GapKind.MISSING_FIELD)}
    extra = next(g for g in gaps if g.field == "Extra__c")
    assert (extra.direction, extra.target_org) == (S2P, "primary")
    assert extra.fix == "Add field Extra__c (Text(10)) to Account in the primary org."


def test_narrower_number_and_incompatible_type(db, sfemu_server):
    connection, primary, secondary = new_connection(sfemu_server)
    primary.org.add_custom_field("Account", "Amount__c", "double", precision=18, scale=2)
    secondary.org.add_custom_field("Account", "Amount__c", "double", precision=8, scale=0)
    primary.org.add_custom_field("Account", "Since__c", "date")
    secondary.org.add_custom_field("Account", "Since__c", "string", length=20)
    publication = connection.published_objects.get()
    replication_services.publication_publish(
        connection=connection, direction=P2S, source_object="Account", actor=None
    )
    assert (
        publication.fields.filter(source_field__in=["Amount__c", "Since__c"], is_published=True).count() == 2
    )
    gaps = {g.field: g for g in connection_metadata_gaps(connection)}
    assert gaps["Amount__c"].kind == GapKind.NARROWER
    assert gaps["Amount__c"].fix == "Set Account.Amount__c to precision 18, scale 2 in the secondary org."
    assert gaps["Since__c"].kind == GapKind.INCOMPATIBLE_TYPE
    assert gaps["Since__c"].fix.startswith("Change Account.Since__c to Date in the secondary org")


def test_command_prints_the_gaps_and_exits_1(db, sfemu_server, capsys):
    connection, _, _ = new_connection(sfemu_server)
    with pytest.raises(SystemExit) as exit_info:
        call_command("connection_metadata_gaps", str(connection.pk))
    out = capsys.readouterr().out
    assert exit_info.value.code == 1
    assert "Account.Region__c" in out and "Widen Account.Code__c to 80" in out and "'Bronze'" in out
    assert "Same__c" not in out and "Score__c" not in out


# --- accepting with Sync Metadata ------------------------------------------------------------------


def test_accept_with_sync_metadata_deploys_and_goes_active(
    db, sfemu_server, django_capture_on_commit_callbacks
):
    connection, _, secondary = new_connection(sfemu_server, sync_metadata=True)
    assert custom_fields(connection.secondary_org) != custom_fields(connection.primary_org)
    connection = accept(connection, django_capture_on_commit_callbacks)
    assert connection.status == Connection.Status.ACTIVE
    assert custom_fields(connection.secondary_org) == custom_fields(connection.primary_org)
    assert connection_metadata_gaps(connection) == []
    sync = ConnectionMetadataSync.objects.get(connection=connection)
    assert sync.status == ConnectionMetadataSync.Status.SUCCEEDED and sync.gaps == [] and sync.error == ""
    assert sorted(map(tuple, sync.deployed)) == [
        ("CustomField", "Account.Code__c"),
        ("CustomField", "Account.Region__c"),
        ("CustomField", "Account.Tier__c"),
    ]
    assert sync.last_run.trigger == DiffRun.Trigger.CONNECTION
    assert sync.last_deployment.status == Deployment.Status.SUCCEEDED
    assert secondary.org.schema.field("Account", "Extra__c") is not None  # never deleted
    events = list(connection.events.order_by("id").values_list("kind", flat=True))
    assert events[-2:] == [ConnectionEvent.Kind.METADATA_SYNC, ConnectionEvent.Kind.STATUS_CHANGED]


def test_accept_with_sync_users_moves_on_to_user_sync(db, sfemu_server, django_capture_on_commit_callbacks):
    connection, _, _ = new_connection(sfemu_server, sync_metadata=True, sync_users=True)
    connection = accept(connection, django_capture_on_commit_callbacks)
    assert connection.status == Connection.Status.USER_SYNC
    assert ConnectionMetadataSync.objects.get(connection=connection).gaps == []


def test_deploy_failure_stays_in_metadata_sync_until_run_again(
    db, sfemu_server, django_capture_on_commit_callbacks
):
    connection, primary, secondary = new_connection(sfemu_server, sync_metadata=True)
    # a lookup in the primary, a text field of the same name in the secondary: sfemu (like
    # Salesforce) refuses to turn one into the other
    primary.org.add_custom_field("Account", "Partner__c", "lookup", reference_to="Account")
    secondary.org.add_custom_field("Account", "Partner__c", "string", length=18)
    connection = accept(connection, django_capture_on_commit_callbacks)
    assert connection.status == Connection.Status.METADATA_SYNC
    sync = ConnectionMetadataSync.objects.get(connection=connection)
    assert sync.status == ConnectionMetadataSync.Status.FAILED
    assert "Metadata deploy failed" in sync.error and "Partner__c" in sync.error
    assert sync.last_deployment.status == Deployment.Status.FAILED
    assert secondary.org.schema.field("Account", "Region__c") is None  # rolled back
    assert ("Account", "Region__c", GapKind.MISSING_FIELD) in {
        (g["object"], g["field"], g["kind"]) for g in sync.gaps
    }
    assert connection.events.filter(
        kind=ConnectionEvent.Kind.METADATA_SYNC, detail__contains="failed"
    ).exists()

    tasks.connection_metadata_sync(connection.pk, "accept")  # a redelivered task: still failing
    connection.refresh_from_db()
    assert connection.status == Connection.Status.METADATA_SYNC

    secondary.org.delete_custom_field("Account", "Partner__c")
    client = _admin_client(sfemu_server)
    answer = client.post(
        reverse("admin:metadiff_connectionmetadatasync_changelist"),
        {"action": "run_now", "_selected_action": [sync.pk]},
    )
    assert answer.status_code == 302
    connection.refresh_from_db()
    sync.refresh_from_db()
    assert connection.status == Connection.Status.ACTIVE
    assert sync.status == ConnectionMetadataSync.Status.SUCCEEDED and sync.trigger == "manual"
    assert custom_fields(connection.secondary_org) == custom_fields(connection.primary_org)


def _admin_client(sfemu_server):
    from django.test import Client

    client = Client()
    client.force_login(UserFactory(groups=[ADMINISTRATORS]))
    return client


def test_connection_page_shows_the_gaps(db, sfemu_server, django_capture_on_commit_callbacks):
    connection, primary, secondary = new_connection(sfemu_server, sync_metadata=True)
    secondary.org.add_custom_field("Account", "Partner__c", "string", length=18)
    primary.org.add_custom_field("Account", "Partner__c", "lookup", reference_to="Account")
    connection = accept(connection, django_capture_on_commit_callbacks)
    page = _admin_client(sfemu_server).get(
        reverse("admin:connections_connection_change", args=[connection.pk])
    )
    text = page.content.decode()
    assert page.status_code == 200
    assert "Metadata sync" in text and "Metadata deploy failed" in text
    assert "Add field Region__c (Text(40)) to Account in the secondary org." in text
    assert "Widen Account.Code__c to 80 in the secondary org." in text


# --- the daily metadata sync -----------------------------------------------------------------------


def test_daily_schedule_syncs_a_new_primary_field(db, sfemu_server, django_capture_on_commit_callbacks):
    schedule = Schedule.objects.get(func="metadiff.tasks.daily_connection_metadata_sync")
    assert schedule.schedule_type == Schedule.DAILY and schedule.repeats == -1
    connection, primary, secondary = new_connection(sfemu_server, sync_metadata=True)
    connection = accept(connection, django_capture_on_commit_callbacks)
    other, _, _ = new_connection(sfemu_server)  # no Sync Metadata: left alone
    other = accept(other, django_capture_on_commit_callbacks)
    primary.org.add_custom_field("Account", "Fresh__c", "string", length=55)
    secondary.org.add_custom_field("Account", "Local__c", "string", length=5)
    assert secondary.org.schema.field("Account", "Fresh__c") is None

    assert tasks.daily_connection_metadata_sync() == 1  # what the schedule calls

    field = secondary.org.schema.field("Account", "Fresh__c")
    assert field is not None and field.length == 55
    assert secondary.org.schema.field("Account", "Local__c") is not None  # never deleted
    sync = ConnectionMetadataSync.objects.get(connection=connection)
    assert sync.trigger == "daily" and sync.deployed == [["CustomField", "Account.Fresh__c"]]
    assert not ConnectionMetadataSync.objects.filter(connection=other).exists()
    connection.refresh_from_db()
    assert connection.status == Connection.Status.ACTIVE

"""Connection lifecycle: Org Sync's statuses, illegal transitions refused, history kept."""

import pytest

from connections import services
from connections.errors import IllegalTransition, InvalidConnection
from connections.models import Connection, ConnectionEvent
from tests.factories import ConnectionFactory, OrgFactory, UserFactory

Status = Connection.Status
Kind = ConnectionEvent.Kind
pytestmark = pytest.mark.django_db


def answers(org) -> None:
    """Stands in for the live /limits check: every org answers."""


def kinds(connection: Connection) -> list[str]:
    return list(connection.events.values_list("kind", flat=True))


def create(actor=None, **options) -> Connection:
    return services.connection_create(
        actor=actor,
        name="Prod to DR",
        primary_org=OrgFactory(),
        secondary_org=OrgFactory(),
        **options,
    )


def test_create_starts_invited_and_is_recorded(operator):
    connection = create(actor=operator)
    assert connection.status == Status.INVITED
    event = connection.events.get()
    assert (event.kind, event.actor) == (Kind.CREATED, operator)


def test_orgs_must_differ_and_be_of_the_same_type():
    org = OrgFactory()
    with pytest.raises(InvalidConnection, match="two different orgs"):
        services.connection_create(actor=None, name="x", primary_org=org, secondary_org=org)
    with pytest.raises(InvalidConnection, match=r"is a production org but .* is a sandbox"):
        services.connection_create(
            actor=None,
            name="x",
            primary_org=OrgFactory(),
            secondary_org=OrgFactory(is_sandbox=True),
        )
    unconnected = OrgFactory(org_id="", access_token="")
    with pytest.raises(InvalidConnection, match="is not connected yet"):
        services.connection_create(actor=None, name="x", primary_org=OrgFactory(), secondary_org=unconnected)
    assert not Connection.objects.exists()


@pytest.mark.parametrize(
    ("options", "steps"),
    [
        ({}, [Status.ACTIVE]),
        ({"sync_users": True}, [Status.USER_SYNC, Status.ACTIVE]),
        ({"sync_metadata": True}, [Status.METADATA_SYNC, Status.ACTIVE]),
        (
            {"sync_metadata": True, "sync_users": True},
            [Status.METADATA_SYNC, Status.USER_SYNC, Status.ACTIVE],
        ),
    ],
)
def test_accept_walks_through_the_setup_steps_of_the_options(options, steps):
    connection = services.connection_accept(connection=create(**options), actor=None, check_org=answers)
    seen = [connection.status]
    while connection.status != Status.ACTIVE:
        connection = services.connection_advance_setup(connection=connection)
        seen.append(connection.status)
    assert seen == steps
    assert connection.accepted_at is not None


def test_suspend_and_resume_by_admin(operator):
    connection = services.connection_accept(connection=create(), actor=operator, check_org=answers)
    connection = services.connection_suspend(connection=connection, actor=operator)
    assert (connection.status, connection.suspension) == (Status.SUSPENDED, "admin")
    connection = services.connection_resume(connection=connection, actor=operator)
    assert (connection.status, connection.suspension) == (Status.ACTIVE, "")
    assert kinds(connection)[:2] == [Kind.ADMIN_RESUMED, Kind.ADMIN_SUSPENDED]


def test_automatic_resume_never_overrides_an_admin_suspension():
    connection = services.connection_accept(connection=create(), actor=None, check_org=answers)
    services.connection_suspend(connection=connection, actor=None)
    with pytest.raises(IllegalTransition, match="suspended by an admin"):
        services.connection_resume(connection=connection, actor=None, automatic=True)
    connection.refresh_from_db()
    assert connection.status == Status.SUSPENDED


def test_automatic_suspension_is_its_own_event():
    connection = services.connection_accept(connection=create(), actor=None, check_org=answers)
    connection = services.connection_suspend(connection=connection, actor=None, automatic=True, reason="503")
    assert connection.suspension == "automatic"
    assert connection.events.first().kind == Kind.SUSPENDED
    assert (
        services.connection_resume(connection=connection, actor=None, automatic=True).status == Status.ACTIVE
    )


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (Status.INVITED, "suspend"),
        (Status.INVITED, "resume"),
        (Status.ACTIVE, "accept"),
        (Status.ACTIVE, "resume"),
        (Status.SUSPENDED, "suspend"),
        (Status.DEACTIVATED, "accept"),
        (Status.DEACTIVATED, "deactivate"),
        (Status.METADATA_SYNC, "suspend"),
    ],
)
def test_illegal_transitions_are_refused_with_a_message(status, action):
    connection = ConnectionFactory(status=status)
    with pytest.raises(IllegalTransition, match=connection.name):
        extra = {"check_org": answers} if action == "accept" else {}
        getattr(services, f"connection_{action}")(connection=connection, actor=None, **extra)
    connection.refresh_from_db()
    assert connection.status == status
    assert not connection.events.exists()


def test_deactivate_is_final():
    connection = services.connection_deactivate(
        connection=ConnectionFactory(status=Status.ACTIVE), actor=None
    )
    assert connection.status == Status.DEACTIVATED
    with pytest.raises(IllegalTransition):
        services.connection_update(connection=connection, actor=None, sync_users=True)


def test_option_and_owner_changes_are_recorded_with_old_and_new(operator):
    connection = ConnectionFactory(status=Status.ACTIVE, owner_username="a@x.org")
    services.connection_update(
        connection=connection,
        actor=operator,
        sync_users=True,
        max_retry_attempts=5,
        owner_username="b@x.org",
    )
    details = dict(connection.events.values_list("kind", "detail"))
    assert details[Kind.OPTION_CHANGED] == "sync users: False → True"
    assert details[Kind.OWNER_CHANGED] == "connection owner: a@x.org → b@x.org"
    assert connection.events.count() == 2, "an unchanged value writes no history"


def test_a_new_console_owner_is_an_owner_change_in_the_history(operator):
    connection = ConnectionFactory(status=Status.ACTIVE, owner=operator)
    successor = UserFactory(username="successor")
    services.connection_update(connection=connection, actor=operator, owner=successor)
    event = connection.events.get()
    assert (event.kind, event.detail) == (Kind.OWNER_CHANGED, f"console owner: {operator} → successor")


def test_retry_attempts_are_bounded():
    connection = ConnectionFactory(status=Status.ACTIVE)
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError, match="max_retry_attempts"):
        services.connection_update(connection=connection, actor=None, max_retry_attempts=11)


def test_history_is_newest_first(operator):
    connection = services.connection_accept(
        connection=create(actor=operator), actor=operator, check_org=answers
    )
    services.connection_suspend(connection=connection, actor=operator)
    assert kinds(connection) == [Kind.ADMIN_SUSPENDED, Kind.ACCEPTED, Kind.CREATED]


def test_accept_refuses_when_an_org_does_not_answer():
    from connections.errors import ConnectionsError

    connection = create()

    def secondary_down(org):
        if org == connection.secondary_org:
            raise ConnectionsError("SERVER_UNAVAILABLE")

    with pytest.raises(InvalidConnection, match=f"{connection.secondary_org} does not answer"):
        services.connection_accept(connection=connection, actor=None, check_org=secondary_down)
    connection.refresh_from_db()
    assert connection.status == Status.INVITED

from dataclasses import dataclass

import pytest

from connections import services
from connections.models import Connection
from replication import services as replication_services
from replication.models import Direction
from sfemu.testing import OrgHandle
from tests.connections.emu import connect_by_password


@dataclass
class LinkedOrgs:
    connection: Connection
    primary: OrgHandle
    secondary: OrgHandle


def linked_orgs(sfemu_server, *, two_way: bool = False) -> LinkedOrgs:
    """Two fresh sfemu orgs, connected in the console and linked by an accepted connection."""
    primary, secondary = sfemu_server.create_org(), sfemu_server.create_org()
    connection = services.connection_create(
        actor=None,
        name=f"{primary.name} to {secondary.name}",
        primary_org=connect_by_password(sfemu_server, primary),
        secondary_org=connect_by_password(sfemu_server, secondary),
        owner_username=primary.username,
        owner_user_id=primary.user_id,
        direction=Connection.Direction.TWO_WAY if two_way else Connection.Direction.ONE_WAY,
    )
    connection = services.connection_accept(connection=connection, actor=None)
    return LinkedOrgs(connection, primary, secondary)


@pytest.fixture
def linked(db, sfemu_server) -> LinkedOrgs:
    return linked_orgs(sfemu_server)


@pytest.fixture
def linked_two_way(db, sfemu_server) -> LinkedOrgs:
    return linked_orgs(sfemu_server, two_way=True)


def subscribe_accounts(linked: LinkedOrgs, direction: str = Direction.PRIMARY_TO_SECONDARY) -> LinkedOrgs:
    """Account published and subscribed in `direction`: most engine tests' set-up."""
    publication = replication_services.publication_publish(
        connection=linked.connection, direction=direction, source_object="Account", actor=None
    )
    replication_services.subscription_subscribe(publication=publication, actor=None)
    return linked


@pytest.fixture
def subscribed(linked) -> LinkedOrgs:
    """A one-way connection with Account published and subscribed."""
    return subscribe_accounts(linked)


@pytest.fixture
def both_ways(linked_two_way) -> LinkedOrgs:
    """A two-way connection with Account published and subscribed in both directions."""
    for direction in (Direction.PRIMARY_TO_SECONDARY, Direction.SECONDARY_TO_PRIMARY):
        subscribe_accounts(linked_two_way, direction)
    return linked_two_way

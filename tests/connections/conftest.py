"""Admin clients signed in as an Org Sync administrator (manages connections) or an operator;
the inviting and the invited org of a partner invitation (issue 19)."""

import pytest

from orgsync.roles import ADMINISTRATORS, OPERATORS
from tests.connections.emu import PARTNER_CALLBACK, connect_by_password
from tests.factories import UserFactory


@pytest.fixture
def manager_client(client):
    client.force_login(UserFactory(groups=[ADMINISTRATORS]))
    return client


@pytest.fixture
def operator_client(client):
    client.force_login(UserFactory(groups=[OPERATORS]))
    return client


@pytest.fixture
def primary(sfemu_server):
    """The inviting company's org, connected; its connected app also signs the partner in."""
    handle = sfemu_server.create_org()
    return handle, connect_by_password(sfemu_server, handle, callback_urls=[PARTNER_CALLBACK])


@pytest.fixture
def partner_handle(sfemu_server):
    """The invited partner company's org (not connected: the partner signs in to it)."""
    return sfemu_server.create_org()

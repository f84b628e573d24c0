"""Admin clients signed in as an Org Sync administrator (manages connections) or an operator."""

import pytest

from orgsync.roles import ADMINISTRATORS, OPERATORS
from tests.factories import UserFactory


@pytest.fixture
def manager_client(client):
    client.force_login(UserFactory(groups=[ADMINISTRATORS]))
    return client


@pytest.fixture
def operator_client(client):
    client.force_login(UserFactory(groups=[OPERATORS]))
    return client

"""Small helpers over the sfemu fixtures (``sfemu_server``, ``sfemu_org``), which the root
conftest loads with ``pytest_plugins = ["sfemu.testing"]``."""

from __future__ import annotations

import pytest
import requests

from sfemu.testing import OrgHandle, SfemuServer


@pytest.fixture
def http(sfemu_server: SfemuServer) -> requests.Session:
    """A requests session trusting the sfemu CA."""
    return sfemu_server.http_session()


@pytest.fixture
def auth_headers(sfemu_org: OrgHandle) -> dict[str, str]:
    return {"Authorization": f"Bearer {sfemu_org.access_token}"}


@pytest.fixture
def data_url(sfemu_server: SfemuServer) -> str:
    return f"{sfemu_server.url}/services/data/v62.0"

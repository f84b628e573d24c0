"""Fixtures for the sfemu tests: the session server from sfemu.testing plus small helpers."""

from __future__ import annotations

import pytest
import requests

from sfemu.testing import OrgHandle, SfemuServer, sfemu_org, sfemu_server

__all__ = ["sfemu_org", "sfemu_server"]


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

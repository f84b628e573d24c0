"""pytest plugin: an sfemu server for the test session.

Use it with ``pytest_plugins = ["sfemu.testing"]`` in the rootdir conftest, or import the
fixtures into a package conftest (``from sfemu.testing import sfemu_server, sfemu_org``).

``sfemu_server`` (session scope) runs an in-memory sfemu over HTTPS on a free port in a background
thread and yields a :class:`SfemuServer`::

    org = sfemu_server.create_org()            # OrgHandle: org_id, username, password, ...
    sf = Salesforce(instance_url=org.instance_url, session_id=org.access_token,
                    session=sfemu_server.http_session())
    app = sfemu_server.create_app(org, callback_urls=["http://localhost/cb"])
"""

from __future__ import annotations

import datetime as dt
import itertools
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from sfemu.server.auth_store import ConnectedApp
from sfemu.server.runner import RunningServer, build_state, start_in_thread
from sfemu.server.state import ServerState
from sfemu.timeutil import Clock, utcnow
from sfemu.tls import ensure_tls

__all__ = [
    "AppHandle",
    "OrgHandle",
    "SfemuServer",
    "ShiftableClock",
    "UserHandle",
    "sfemu_org",
    "sfemu_server",
    "start_server",
]


class ShiftableClock(Clock):
    """The wall clock plus an offset tests can move forward (never back).

    Org time drives ``SystemModstamp`` and the getUpdated/getDeleted windows, which only cover
    whole past minutes; ``advance(minutes=1)`` saves a test from sleeping.
    """

    def __init__(self) -> None:
        self._offset = dt.timedelta()
        self._lock = threading.Lock()

    def now(self) -> dt.datetime:
        with self._lock:
            return utcnow() + self._offset

    def advance(self, **delta: float) -> dt.datetime:
        step = dt.timedelta(**delta)
        if step < dt.timedelta():
            raise ValueError("the clock only moves forward")
        with self._lock:
            self._offset += step
        return self.now()


@dataclass
class OrgHandle:
    """Credentials and a ready session for one emulated org."""

    server: SfemuServer = field(repr=False)
    org_id: str
    name: str
    username: str
    password: str = field(repr=False)
    security_token: str = field(repr=False)
    user_id: str
    access_token: str = field(repr=False)

    @property
    def instance_url(self) -> str:
        return self.server.url

    @property
    def org(self) -> Any:
        """The domain :class:`sfemu.org.Org` (for direct set-up without HTTP)."""
        return self.server.instance.org(self.org_id)

    @property
    def login_password(self) -> str:
        """Password + security token, as API logins send it."""
        return self.password + self.security_token

    def new_access_token(self) -> str:
        """Another access token for the admin user (a fresh session)."""
        return self.server.state.auth.issue_access_token(self.org_id, self.user_id, scope="api web full")

    def expire_sessions(self) -> None:
        """Time out every session of the org (next call gets INVALID_SESSION_ID)."""
        self.server.state.auth.expire_org_sessions(self.org_id)

    # --- faults and call counters (same controls as ``python -m sfemu fault`` / ``calls``) ---

    def set_faults(self, **changes: Any) -> dict[str, Any]:
        """Switch faults on: ``request_limit=N``, ``maintenance_seconds=S``, ``lock_fraction=F``
        (``lock_seed=N``), ``latency_ms=N``, ``expire_sessions=True``, ``clear=True``.
        Returns the org's fault status (faults, API usage, call counters)."""
        from sfemu.server.faults_api import apply_changes

        return apply_changes(self.server.state, self.org, changes)

    def clear_faults(self) -> dict[str, Any]:
        return self.set_faults(clear=True)

    def fault_status(self) -> dict[str, Any]:
        from sfemu.server.faults_api import status

        return status(self.server.state, self.org)

    def calls(self) -> dict[str, int]:
        """API calls by endpoint since the last reset, e.g. ``{"query": 3, "collections": 2}``."""
        return self.server.instance.faults.calls(self.org_id)

    def reset_calls(self) -> dict[str, int]:
        """Zero the call counters; returns what they held."""
        return self.server.instance.faults.reset_calls(self.org_id)

    def create_user(self, profile: str = "Standard User", last_name: str = "Tester") -> UserHandle:
        """Another user of the org (``Standard User`` lacks Customize Application / Modify All
        Data) with a ready access token."""
        creds = self.org.add_user(last_name=last_name, first_name=profile.split()[0], profile=profile)
        token = self.server.state.auth.issue_access_token(self.org_id, creds.user_id, scope="api web full")
        return UserHandle(creds.user_id, creds.username, creds.password, creds.security_token, token)


@dataclass(frozen=True)
class UserHandle:
    """A user created by :meth:`OrgHandle.create_user`."""

    user_id: str
    username: str
    password: str = field(repr=False)
    security_token: str = field(repr=False)
    access_token: str = field(repr=False)


@dataclass(frozen=True)
class AppHandle:
    """A connected app's consumer key/secret."""

    client_id: str
    client_secret: str = field(repr=False)
    callback_urls: tuple[str, ...]
    org_id: str

    @classmethod
    def of(cls, app: ConnectedApp) -> AppHandle:
        return cls(app.client_id, app.client_secret, app.callback_urls, app.org_id)


class SfemuServer:
    """A running sfemu: its URL, CA file and helpers to create orgs and connected apps."""

    def __init__(self, running: RunningServer) -> None:
        self._running = running
        self._names = itertools.count(1)
        self._lock = threading.Lock()

    @property
    def url(self) -> str:
        return self._running.url

    @property
    def ca_path(self) -> Path:
        return self._running.tls.ca_path

    @property
    def state(self) -> ServerState:
        return self._running.state

    @property
    def instance(self) -> Any:
        return self._running.state.instance

    @property
    def clock(self) -> Any:
        """The pod's clock (a :class:`ShiftableClock` for servers made by this module)."""
        return self._running.state.instance.clock

    def http_session(self) -> requests.Session:
        """A requests session that trusts the server's CA.

        ``trust_env`` is off because ``REQUESTS_CA_BUNDLE`` / ``CURL_CA_BUNDLE`` in the
        environment would otherwise override ``session.verify`` (a requests quirk).
        """
        session = requests.Session()
        session.verify = str(self.ca_path)
        session.trust_env = False
        return session

    def create_org(
        self, name: str | None = None, *, edition: str = "Developer Edition", sandbox: bool = False
    ) -> OrgHandle:
        with self._lock:
            name = name or f"org{next(self._names)}"
        creds = self.instance.create_org(name, edition=edition, sandbox=sandbox)
        token = self.state.auth.issue_access_token(creds.org_id, creds.admin_user_id, scope="api web full")
        return OrgHandle(
            server=self,
            org_id=creds.org_id,
            name=creds.name,
            username=creds.username,
            password=creds.password,
            security_token=creds.security_token,
            user_id=creds.admin_user_id,
            access_token=token,
        )

    def create_app(
        self,
        org: OrgHandle,
        name: str = "Test App",
        *,
        callback_urls: list[str] | tuple[str, ...] = ("http://localhost:1717/OauthRedirect",),
        cert_pem: str | None = None,
        run_as_user_id: str | None = None,
        require_secret: bool = True,
    ) -> AppHandle:
        app = self.state.auth.create_app(
            org.org_id,
            name,
            callback_urls,
            cert_pem=cert_pem,
            run_as_user_id=run_as_user_id or org.user_id,
            require_secret=require_secret,
        )
        return AppHandle.of(app)

    @property
    def control_token(self) -> str:
        """Token of the local control endpoint (``X-Sfemu-Control-Token``)."""
        return self.state.control_token

    def expire_token(self, access_token: str) -> None:
        """Time out one session (its next call gets INVALID_SESSION_ID)."""
        self.state.auth.expire(access_token)

    def stop(self) -> None:
        """Stop serving and close the stores (an in-memory pod is gone afterwards)."""
        self._running.stop()
        self.state.auth.close()
        close = getattr(self.instance, "close", None)
        if close is not None:
            close()


def start_server(
    data_dir: Path | None = None,
    *,
    tls_dir: Path | None = None,
    session_seconds: int | None = None,
    port: int = 0,
    clock: Clock | None = None,
) -> SfemuServer:
    """Start an sfemu in a background thread (``data_dir`` None = in memory)."""
    state = build_state(data_dir, session_seconds=session_seconds, clock=clock or ShiftableClock())
    tls = ensure_tls(tls_dir) if tls_dir is not None else None
    return SfemuServer(start_in_thread(state, port=port, tls=tls))


@pytest.fixture(scope="session")
def sfemu_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SfemuServer]:
    """An in-memory sfemu over HTTPS for the whole test session."""
    server = start_server(tls_dir=tmp_path_factory.mktemp("sfemu-tls"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def sfemu_org(sfemu_server: SfemuServer) -> OrgHandle:
    """A fresh org for one test."""
    return sfemu_server.create_org()

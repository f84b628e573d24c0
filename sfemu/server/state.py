"""Server-wide state and the per-request context handed to REST handlers."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from sfemu.server.auth_store import DEFAULT_SESSION_SECONDS, AuthStore, Session
from sfemu.server.cursors import CursorStore

if TYPE_CHECKING:
    from sfemu.instance import Instance
    from sfemu.org import Org


@dataclass(frozen=True)
class ServerConfig:
    """Knobs of one sfemu server."""

    data_dir: Path | None = None  # None = in-memory
    session_seconds: int = DEFAULT_SESSION_SECONDS
    login_host: str | None = None  # identity URL host; None = the host the request came to


@dataclass
class ServerState:
    """What every endpoint needs: the pod, OAuth state and server-side query cursors."""

    instance: Instance
    auth: AuthStore
    config: ServerConfig = field(default_factory=ServerConfig)
    cursors: CursorStore = field(default_factory=CursorStore)
    control_token: str = field(default_factory=lambda: secrets.token_urlsafe(32))  # /_sfemu/ API


@dataclass
class Ctx:
    """An authenticated REST call: org, user, API version and the instance URL it came to."""

    state: ServerState
    org: Org
    session: Session
    api_version: str
    base_url: str  # "https://127.0.0.1:8700"
    in_composite: bool = False

    @property
    def user_id(self) -> str:
        return self.session.user_id

    def data_path(self, rest: str = "") -> str:
        """Root-relative ``/services/data/vXX.X/<rest>``."""
        return f"/services/data/v{self.api_version}/{rest}".rstrip("/")

    def identity_url(self) -> str:
        return f"{self.base_url}/id/{self.org.org_id}/{self.session.user_id}"

"""Adapters over the domain for users: password check, user rows, session lookup."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from sfemu.instance import LoginResult
from sfemu.server.auth_store import Session

if TYPE_CHECKING:
    from sfemu.instance import Instance
    from sfemu.org import Org
    from sfemu.server.state import ServerState


def authenticate(instance: Instance, username: str, password: str, *, browser: bool = False) -> LoginResult:
    """Check credentials like the login endpoints do (``error`` None = success).

    API logins send password + security token (the bare password only where the org does not
    require a token); a browser login on the authorize page needs just the password, as
    Salesforce's login page does.
    """
    if not username or not password:
        return LoginResult(None, None, "INVALID_LOGIN")
    return instance.authenticate(username, password, require_token=False if browser else None)


def user_row(org: Org, user_id: str) -> dict[str, Any]:
    """The wire-format User row, or a minimal stand-in when the domain cannot say."""
    getter = getattr(org, "user", None)
    if getter is not None:
        try:
            row = getter(user_id)
        except Exception:  # the domain raises for unknown ids; identity falls back to defaults
            row = None
        if row:
            return dict(row)
    return {"Id": user_id}


def bearer_token(headers: Mapping[str, str]) -> str | None:
    """The token of ``Authorization: Bearer …`` (or the legacy ``OAuth …`` scheme)."""
    value = headers.get("authorization", "")
    scheme, _, token = value.strip().partition(" ")
    if scheme.lower() in {"bearer", "oauth"} and token.strip():
        return token.strip()
    return None


def live_session(state: ServerState, token: str | None) -> tuple[Session, Org] | None:
    """Session and org of a token when it is valid and its org still exists."""
    if not token:
        return None
    session = state.auth.session(token)
    if session is None:
        return None
    try:
        org = state.instance.org(session.org_id)
    except Exception:  # deleted / unknown org: the token is as good as revoked
        return None
    return session, org

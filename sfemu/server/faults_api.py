"""Fault controls shared by the CLI, the control endpoint and the pytest fixture, and the gate every
API call of an org passes (call counter, added latency, maintenance window).

The settings themselves live in :mod:`sfemu.faults`; expiring sessions is an OAuth-store action.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from sfemu.errors import SalesforceError

if TYPE_CHECKING:
    from sfemu.org import Org
    from sfemu.server.state import ServerState

# Accepted keys of a change request (control endpoint JSON body, CLI options, fixture kwargs).
CHANGE_KEYS = (
    "request_limit",
    "maintenance_seconds",
    "expire_sessions",
    "lock_fraction",
    "lock_seed",
    "latency_ms",
    "clear",
)


def find_org(state: ServerState, name_or_id: str) -> Org:
    """An org by name (case-insensitive) or 15/18-char id; KeyError when unknown."""
    try:
        return state.instance.org_by_name(name_or_id)
    except KeyError:
        return state.instance.org(name_or_id)


def _number(value: Any, kind: type, key: str) -> Any:
    if value is None:
        return None
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise ValueError(f"{key} must be a number") from None
    if number < 0:
        raise ValueError(f"{key} must not be negative")
    return number


def apply_changes(state: ServerState, org: Org, changes: dict[str, Any]) -> dict[str, Any]:
    """Apply a change request and return the org's fault status (see :func:`status`).

    Keys: ``clear`` (everything off first), ``request_limit`` (int; null = the edition's),
    ``maintenance_seconds`` (window from now; 0 ends it), ``expire_sessions`` (true),
    ``lock_fraction`` (0..1) with optional ``lock_seed``, ``latency_ms``. ValueError on bad input.
    """
    unknown = sorted(set(changes) - set(CHANGE_KEYS))
    if unknown:
        raise ValueError(f"unknown fault setting(s): {', '.join(unknown)}")
    faults = state.instance.faults
    if changes.get("clear"):
        faults.clear(org.org_id)
    update: dict[str, Any] = {}
    if "request_limit" in changes:
        update["request_limit"] = _number(changes["request_limit"], int, "request_limit")
    if changes.get("maintenance_seconds") is not None:
        update["maintenance_seconds"] = _number(changes["maintenance_seconds"], float, "maintenance_seconds")
    if changes.get("lock_fraction") is not None:
        update["lock_fraction"] = _number(changes["lock_fraction"], float, "lock_fraction")
    if changes.get("lock_seed") is not None:
        update["lock_seed"] = _number(changes["lock_seed"], int, "lock_seed")
    if changes.get("latency_ms") is not None:
        update["latency_ms"] = _number(changes["latency_ms"], int, "latency_ms")
    if update:
        faults.update(org.org_id, **update)
    if changes.get("expire_sessions"):
        state.auth.expire_org_sessions(org.org_id)
    return status(state, org)


def status(state: ServerState, org: Org) -> dict[str, Any]:
    """Fault settings, API usage and call counters of an org (JSON-ready)."""
    faults = state.instance.faults
    used, limit = org.api_usage()
    return {
        "org_id": org.org_id,
        "name": org.name,
        "faults": faults.get(org.org_id).as_json(org.now()),
        "api_usage": {"used": used, "limit": limit},
        "calls": faults.calls(org.org_id),
    }


def gate(org: Org, endpoint: str) -> SalesforceError | None:
    """What every authenticated API call of ``org`` goes through before it is served.

    Counts the call under ``endpoint`` (every call the client made, refused ones included, so a
    test can see retries), sleeps the added latency and answers SERVER_UNAVAILABLE during a
    maintenance window. Runs in a worker thread (blocking sleep is fine).
    """
    faults = org.instance.faults
    faults.count_call(org.org_id, endpoint)
    settings = faults.get(org.org_id)
    if settings.latency_ms:
        time.sleep(settings.latency_ms / 1000)
    return faults.unavailable(org.org_id)


def retry_after(err: SalesforceError) -> dict[str, str]:
    """``Retry-After`` for a maintenance answer (seconds left in the window)."""
    return {"Retry-After": str(getattr(err, "retry_after", 1))}

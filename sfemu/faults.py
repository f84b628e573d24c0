"""Fault injection and call metering per org, persisted in the instance database.

Faults make an org misbehave the way real Salesforce does under stress, so a client's error
handling can be tested: a small daily API allocation (``REQUEST_LIMIT_EXCEEDED``), a maintenance
window (``SERVER_UNAVAILABLE``), row-lock contention (``UNABLE_TO_LOCK_ROW`` on a deterministic
fraction of writes) and added latency. Session expiry lives with the OAuth store
(``sfemu.server.faults_api``).

Settings and call counters are rows of the pod's SQLite database, read on every call, so the CLI
(another process) can switch a fault on against a running server.
"""

from __future__ import annotations

import functools
import json
import random
import threading
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from sfemu.errors import SalesforceError
from sfemu.timeutil import format_datetime, parse_datetime

if TYPE_CHECKING:
    from sfemu.store import Store
    from sfemu.timeutil import Clock

_DDL = """
CREATE TABLE IF NOT EXISTS faults (org_id TEXT PRIMARY KEY, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS api_calls (
    org_id TEXT NOT NULL, endpoint TEXT NOT NULL, count INTEGER NOT NULL,
    PRIMARY KEY (org_id, endpoint)) WITHOUT ROWID;
"""
LOCK_MESSAGE = "unable to obtain exclusive access to this record or 1 records"
UNAVAILABLE_MESSAGE = "Server Unavailable"


@dataclass(frozen=True)
class FaultSettings:
    """What is switched on for one org (all off by default)."""

    request_limit: int | None = None  # daily API allocation; None = the edition's
    maintenance_until: str | None = None  # wire datetime (org clock) the window ends
    lock_fraction: float = 0.0  # share of writes failing with UNABLE_TO_LOCK_ROW
    lock_seed: int = 0
    latency_ms: int = 0
    version: int = 0  # bumped on every change; restarts the lock sequence

    def maintenance_left(self, now: datetime) -> float:
        """Seconds of maintenance left (0 when none)."""
        if not self.maintenance_until:
            return 0.0
        return max(0.0, (parse_datetime(self.maintenance_until) - now).total_seconds())

    def as_json(self, now: datetime) -> dict[str, Any]:
        body = asdict(self)
        body["maintenance_seconds_left"] = round(self.maintenance_left(now), 3)
        return body


@dataclass
class _LockSequence:
    version: int = -1
    count: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Faults:
    """Fault settings and per-endpoint call counters of every org of a pod."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.store = store
        self.clock = clock
        self.store.conn.executescript(_DDL)
        self._sequences: dict[str, _LockSequence] = {}
        self._guard = threading.Lock()

    # --- settings ------------------------------------------------------------------------

    def get(self, org_id: str) -> FaultSettings:
        row = self.store.conn.execute("SELECT data FROM faults WHERE org_id=?", (org_id,)).fetchone()
        if row is None:
            return FaultSettings()
        data = json.loads(row[0])
        known = FaultSettings.__dataclass_fields__
        return FaultSettings(**{k: v for k, v in data.items() if k in known})

    def update(self, org_id: str, **changes: Any) -> FaultSettings:
        """Change some settings (``maintenance_seconds`` sets the window from now)."""
        seconds = changes.pop("maintenance_seconds", None)
        if seconds is not None:
            until = self.clock.now() + timedelta(seconds=float(seconds))
            changes["maintenance_until"] = format_datetime(until) if float(seconds) > 0 else None
        if "lock_fraction" in changes and not 0.0 <= float(changes["lock_fraction"]) <= 1.0:
            raise ValueError("lock fraction must be between 0 and 1")
        with self.store.write() as conn:
            current = self.get(org_id)
            new = replace(current, **changes, version=current.version + 1)
            conn.execute("INSERT OR REPLACE INTO faults VALUES (?, ?)", (org_id, json.dumps(asdict(new))))
        return new

    def clear(self, org_id: str) -> FaultSettings:
        """Every fault off."""
        version = self.get(org_id).version
        cleared = FaultSettings(version=version + 1)
        with self.store.write() as conn:
            conn.execute("INSERT OR REPLACE INTO faults VALUES (?, ?)", (org_id, json.dumps(asdict(cleared))))
        return cleared

    # --- checks the server and the domain make ---------------------------------------------

    def unavailable(self, org_id: str) -> SalesforceError | None:
        """SERVER_UNAVAILABLE (503) while a maintenance window is open."""
        left = self.get(org_id).maintenance_left(self.clock.now())
        if left <= 0:
            return None
        err = SalesforceError("SERVER_UNAVAILABLE", UNAVAILABLE_MESSAGE, status=503)
        err.retry_after = max(1, int(left + 0.999))  # type: ignore[attr-defined]
        return err

    def before_write(self, org_id: str) -> None:
        """UNABLE_TO_LOCK_ROW for the chosen fraction of writes.

        The n-th write since the setting changed fails when ``Random(seed, n) < fraction``: the
        same seed and the same sequence of writes fail the same records on every run.
        """
        settings = self.get(org_id)
        if settings.lock_fraction <= 0:
            return
        with self._guard:
            seq = self._sequences.setdefault(org_id, _LockSequence())
        with seq.lock:
            if seq.version != settings.version:
                seq.version, seq.count = settings.version, 0
            n = seq.count
            seq.count += 1
        draw = random.Random(settings.lock_seed * 1_000_003 + n).random()
        if draw < settings.lock_fraction:
            raise SalesforceError("UNABLE_TO_LOCK_ROW", LOCK_MESSAGE, fields=[])

    # --- call counters -------------------------------------------------------------------

    def count_call(self, org_id: str, endpoint: str) -> None:
        with self.store.write() as conn:
            conn.execute(
                "INSERT INTO api_calls VALUES (?, ?, 1) ON CONFLICT (org_id, endpoint) "
                "DO UPDATE SET count = count + 1",
                (org_id, endpoint),
            )

    def calls(self, org_id: str) -> dict[str, int]:
        rows = self.store.conn.execute(
            "SELECT endpoint, count FROM api_calls WHERE org_id=? ORDER BY endpoint", (org_id,)
        )
        return {r[0]: int(r[1]) for r in rows}

    def reset_calls(self, org_id: str) -> dict[str, int]:
        """Zero the counters; returns what they held."""
        with self.store.write() as conn:
            before = self.calls(org_id)
            conn.execute("DELETE FROM api_calls WHERE org_id=?", (org_id,))
        return before


def endpoint_kind(segments: list[str]) -> str:
    """The counter a REST call below ``/services/data/vXX.X/`` is counted under."""
    if not segments:
        return "resources"
    head = segments[0]
    if head in ("query", "queryAll"):
        return "query"
    if head == "composite":
        return "collections" if len(segments) > 1 and segments[1] == "sobjects" else "composite"
    if head == "jobs":
        return "bulk"
    return head


F = TypeVar("F", bound=Callable[..., Any])
_depth = threading.local()


def faultable(method: F) -> F:
    """Decorate an Org DML method: the outermost call of a thread may hit a row-lock fault
    (an upsert that turns into a create counts once)."""

    @functools.wraps(method)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        depth = getattr(_depth, "n", 0)
        if depth == 0:
            faults = getattr(self.instance, "faults", None)
            if faults is not None:
                faults.before_write(self.org_id)
        _depth.n = depth + 1
        try:
            return method(self, *args, **kwargs)
        finally:
            _depth.n = depth

    return wrapper  # type: ignore[return-value]

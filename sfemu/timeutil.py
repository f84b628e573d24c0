"""Salesforce date/time wire formats and the per-org clock.

Output datetimes are UTC with milliseconds and ``+0000`` (``2024-01-31T12:00:00.000+0000``);
input accepts the ISO 8601 variants the REST API accepts (``Z``, ``+00:00``, ``+0000``,
with or without fractional seconds, date-only).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta

_DT_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?"
    r"\s*(Z|[+-]\d{2}(?::?\d{2})?)?)?$"
)
_DATE_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")


def utcnow() -> datetime:
    """Aware UTC now."""
    return datetime.now(UTC)


def format_datetime(dt: datetime) -> str:
    """``2024-01-31T12:00:00.000+0000``."""
    dt = to_utc(dt)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}+0000"


def format_date(d: date) -> str:
    """``2024-01-31``."""
    if isinstance(d, datetime):
        d = to_utc(d).date()
    return d.isoformat()


def to_utc(dt: datetime) -> datetime:
    """Aware UTC (naive datetimes are taken as UTC)."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def parse_datetime(text: str) -> datetime:
    """Parse an API dateTime; ValueError when it is not one."""
    m = _DT_RE.match(text.strip()) if isinstance(text, str) else None
    if not m:
        raise ValueError(f"invalid datetime: {text!r}")
    y, mo, d, hh, mm, ss, frac, tz = m.groups()
    micro = int((frac or "0")[:6].ljust(6, "0"))
    dt = datetime(int(y), int(mo), int(d), int(hh or 0), int(mm or 0), int(ss or 0), micro, tzinfo=UTC)
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        offset = timedelta(hours=int(digits[:2]), minutes=int(digits[2:4] or 0))
        dt = dt - sign * offset
    return dt


def parse_date(text: str) -> date:
    """Parse an API date (a dateTime is accepted and truncated); ValueError otherwise."""
    if not isinstance(text, str):
        raise ValueError(f"invalid date: {text!r}")
    m = _DATE_RE.match(text.strip())
    if m:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    return parse_datetime(text).date()


def normalize_datetime(text: str) -> str:
    """Any accepted dateTime input, as wire text (milliseconds truncated)."""
    dt = parse_datetime(text)
    return format_datetime(dt.replace(microsecond=dt.microsecond // 1000 * 1000))


def floor_minute(dt: datetime) -> datetime:
    """Drop seconds and below (getUpdated/getDeleted windows are minute-granular)."""
    return to_utc(dt).replace(second=0, microsecond=0)


def floor_ms(dt: datetime) -> datetime:
    """Drop sub-millisecond precision."""
    return dt.replace(microsecond=dt.microsecond // 1000 * 1000)


class Clock:
    """Wall clock, replaceable in tests (``Instance(clock=FrozenClock(...))``)."""

    def now(self) -> datetime:
        return utcnow()


class FrozenClock(Clock):
    """A clock that only moves when told to; handy for getUpdated tests."""

    def __init__(self, start: datetime) -> None:
        self._now = to_utc(start)
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def set(self, when: datetime) -> None:
        with self._lock:
            self._now = to_utc(when)

    def advance(self, **delta: float) -> datetime:
        with self._lock:
            self._now += timedelta(**delta)
            return self._now


class Stamper:
    """Hands out strictly increasing millisecond timestamps (one per org).

    Two writes in the same millisecond get distinct SystemModstamps, so a replication
    cursor on ``(SystemModstamp, Id)`` never sees ties between separate writes.
    """

    def __init__(self, clock: Clock, last: datetime | None = None) -> None:
        self._clock = clock
        self._last = last
        self._lock = threading.Lock()
        self._held = threading.local()  # this thread's stamp inside `shared()`

    def next(self) -> datetime:
        held = getattr(self._held, "stamp", None)
        if held is not None:
            return held
        with self._lock:
            now = floor_ms(self._clock.now())
            if self._last is not None and now <= self._last:
                now = self._last + timedelta(milliseconds=1)
            self._last = now
            return now

    @contextmanager
    def shared(self) -> Iterator[None]:
        """One stamp for every write inside, as Salesforce stamps the records of one transaction
        (a Bulk job's 200-record chunk, a multi-row insert). Without it a fast bulk load handed out
        one millisecond per record and ran its stamps ahead of the clock: 100,000 records stamped
        up to 100 s in the future, later than the `Date` of queries made right after."""
        if getattr(self._held, "stamp", None) is not None:
            yield  # already inside one: the outer transaction's stamp
            return
        self._held.stamp = self.next()
        try:
            yield
        finally:
            self._held.stamp = None

    def observe(self, when: datetime) -> None:
        """Never hand out a stamp at or before ``when`` (used after a restart)."""
        with self._lock:
            if self._last is None or when > self._last:
                self._last = when


ClockLike = Clock | Callable[[], datetime]

"""Date/datetime helpers: relative date literals and comparable keys for stored values.

Stored datetimes are canonical wire strings (``2024-01-31T12:00:00.000+0000``, always UTC),
so comparing them as strings is comparing instants; dates (``2024-01-31``) likewise. Keys are
therefore strings, and anything not already canonical is converted once and cached.

Relative literals are evaluated in UTC (the emulated user's time zone), weeks start on
Sunday (en_US locale) and the fiscal year is the calendar year (the org default).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

from sfemu.soql.ast import DateRangeLit

_CANON_LEN = len("2024-01-31T12:00:00.000+0000")


def format_datetime(value: datetime) -> str:
    """Canonical UTC wire string with milliseconds."""
    utc = value.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}+0000"


def datetime_key(value: object) -> str | None:
    """Comparable key of a stored datetime value (canonical string), None for null/garbage."""
    if value is None:
        return None
    if isinstance(value, str) and len(value) == _CANON_LEN and value.endswith("+0000"):
        return value
    return _slow_datetime_key(str(value))


@lru_cache(maxsize=65536)
def _slow_datetime_key(text: str) -> str | None:
    try:
        parsed = datetime.fromisoformat(text.replace("z", "Z"))
    except ValueError:
        return None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return format_datetime(parsed)


def date_key(value: object) -> str | None:
    """Comparable key of a stored date value (``YYYY-MM-DD``)."""
    if value is None:
        return None
    text = str(value)
    return text[:10] if len(text) >= 10 else None


def day_start(day: date) -> str:
    """Datetime key of 00:00:00 UTC on ``day``."""
    return f"{day.isoformat()}T00:00:00.000+0000"


# ------------------------------------------------------------------- relative literals


def _add_months(day: date, months: int) -> date:
    index = day.year * 12 + (day.month - 1) + months
    return date(index // 12, index % 12 + 1, 1)


def _week_start(day: date) -> date:
    return day - timedelta(days=(day.weekday() + 1) % 7)  # Sunday


def _quarter_start(day: date) -> date:
    return date(day.year, 3 * ((day.month - 1) // 3) + 1, 1)


def _days(today: date, name: str, n: int) -> tuple[date, date] | None:
    tomorrow = today + timedelta(days=1)
    table = {
        "YESTERDAY": (today - timedelta(days=1), today),
        "TODAY": (today, tomorrow),
        "TOMORROW": (tomorrow, tomorrow + timedelta(days=1)),
        "LAST_90_DAYS": (today - timedelta(days=90), tomorrow),
        "NEXT_90_DAYS": (tomorrow, tomorrow + timedelta(days=90)),
        "LAST_N_DAYS": (today - timedelta(days=n), tomorrow),
        "NEXT_N_DAYS": (tomorrow, tomorrow + timedelta(days=n)),
        "N_DAYS_AGO": (today - timedelta(days=n), today - timedelta(days=n - 1)),
    }
    return table.get(name)


def _period(start: date, step, name: str, n: int) -> tuple[date, date] | None:
    """Ranges built from a period start (week, month, quarter, year) and a step function."""
    kind = name.split("_")
    if name.startswith("THIS_"):
        return start, step(start, 1)
    if name.startswith("LAST_N_"):
        return step(start, -n), start
    if name.startswith("NEXT_N_"):
        return step(start, 1), step(start, 1 + n)
    if name.startswith("LAST_"):
        return step(start, -1), start
    if name.startswith("NEXT_"):
        return step(start, 1), step(start, 2)
    if kind[0] == "N" and name.endswith("_AGO"):
        return step(start, -n), step(start, -n + 1)
    return None


def _unit(name: str) -> str:
    for unit in ("WEEK", "MONTH", "QUARTER", "YEAR"):
        if unit in name:
            return unit
    return "DAY"


def literal_range(lit: DateRangeLit, today: date) -> tuple[date, date]:
    """[start, end) of a relative date literal, as UTC days."""
    name = lit.name.replace("_FISCAL", "")
    n = lit.n or 0
    unit = _unit(name)
    found: tuple[date, date] | None
    if unit == "DAY":
        found = _days(today, name, n)
    elif unit == "WEEK":
        found = _period(_week_start(today), lambda d, k: d + timedelta(weeks=k), name, n)
    elif unit == "MONTH":
        found = _period(today.replace(day=1), _add_months, name, n)
    elif unit == "QUARTER":
        found = _period(_quarter_start(today), lambda d, k: _add_months(d, 3 * k), name, n)
    else:
        found = _period(date(today.year, 1, 1), lambda d, k: _add_months(d, 12 * k), name, n)
    if found is None:  # pragma: no cover - the grammar only admits known names
        raise ValueError(f"unknown date literal {lit.name}")
    return found

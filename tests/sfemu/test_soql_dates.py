"""Relative date literals (UTC, Sunday weeks, calendar fiscal year) and stored-value keys."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta, timezone

import pytest

from sfemu.soql.ast import DateRangeLit
from sfemu.soql.dates import datetime_key, format_datetime, literal_range

TODAY = date(2024, 3, 15)  # a Friday


def d(text: str) -> date:
    return date.fromisoformat(text)


@pytest.mark.parametrize(
    ("name", "n", "start", "end"),
    [
        ("YESTERDAY", None, "2024-03-14", "2024-03-15"),
        ("TODAY", None, "2024-03-15", "2024-03-16"),
        ("TOMORROW", None, "2024-03-16", "2024-03-17"),
        ("LAST_WEEK", None, "2024-03-03", "2024-03-10"),
        ("THIS_WEEK", None, "2024-03-10", "2024-03-17"),
        ("NEXT_WEEK", None, "2024-03-17", "2024-03-24"),
        ("LAST_MONTH", None, "2024-02-01", "2024-03-01"),
        ("THIS_MONTH", None, "2024-03-01", "2024-04-01"),
        ("NEXT_MONTH", None, "2024-04-01", "2024-05-01"),
        ("LAST_90_DAYS", None, "2023-12-16", "2024-03-16"),
        ("NEXT_90_DAYS", None, "2024-03-16", "2024-06-14"),
        ("LAST_N_DAYS", 1, "2024-03-14", "2024-03-16"),
        ("LAST_N_DAYS", 30, "2024-02-14", "2024-03-16"),
        ("NEXT_N_DAYS", 3, "2024-03-16", "2024-03-19"),
        ("N_DAYS_AGO", 3, "2024-03-12", "2024-03-13"),
        ("LAST_N_WEEKS", 2, "2024-02-25", "2024-03-10"),
        ("NEXT_N_WEEKS", 1, "2024-03-17", "2024-03-24"),
        ("N_WEEKS_AGO", 1, "2024-03-03", "2024-03-10"),
        ("LAST_N_MONTHS", 2, "2024-01-01", "2024-03-01"),
        ("NEXT_N_MONTHS", 1, "2024-04-01", "2024-05-01"),
        ("N_MONTHS_AGO", 3, "2023-12-01", "2024-01-01"),
        ("THIS_QUARTER", None, "2024-01-01", "2024-04-01"),
        ("LAST_QUARTER", None, "2023-10-01", "2024-01-01"),
        ("NEXT_QUARTER", None, "2024-04-01", "2024-07-01"),
        ("LAST_N_QUARTERS", 2, "2023-07-01", "2024-01-01"),
        ("NEXT_N_QUARTERS", 1, "2024-04-01", "2024-07-01"),
        ("N_QUARTERS_AGO", 1, "2023-10-01", "2024-01-01"),
        ("THIS_YEAR", None, "2024-01-01", "2025-01-01"),
        ("LAST_YEAR", None, "2023-01-01", "2024-01-01"),
        ("NEXT_YEAR", None, "2025-01-01", "2026-01-01"),
        ("LAST_N_YEARS", 2, "2022-01-01", "2024-01-01"),
        ("NEXT_N_YEARS", 1, "2025-01-01", "2026-01-01"),
        ("N_YEARS_AGO", 1, "2023-01-01", "2024-01-01"),
        ("THIS_FISCAL_YEAR", None, "2024-01-01", "2025-01-01"),
        ("LAST_FISCAL_QUARTER", None, "2023-10-01", "2024-01-01"),
        ("NEXT_N_FISCAL_YEARS", 1, "2025-01-01", "2026-01-01"),
    ],
)
def test_literal_ranges(name, n, start, end):
    assert literal_range(DateRangeLit(name, n), TODAY) == (d(start), d(end))


def test_week_starting_on_sunday_contains_that_sunday():
    assert literal_range(DateRangeLit("THIS_WEEK"), date(2024, 3, 10)) == (
        d("2024-03-10"),
        d("2024-03-17"),
    )


def test_month_arithmetic_crosses_years():
    assert literal_range(DateRangeLit("NEXT_MONTH"), date(2024, 12, 31)) == (
        d("2025-01-01"),
        d("2025-02-01"),
    )
    assert literal_range(DateRangeLit("LAST_MONTH"), date(2024, 1, 5)) == (
        d("2023-12-01"),
        d("2024-01-01"),
    )


def test_datetime_keys_normalise_to_utc_wire_format():
    assert datetime_key("2024-01-31T12:00:00.000+0000") == "2024-01-31T12:00:00.000+0000"
    assert datetime_key("2024-01-31T12:00:00Z") == "2024-01-31T12:00:00.000+0000"
    assert datetime_key("2024-01-31T14:30:00+02:30") == "2024-01-31T12:00:00.000+0000"
    assert datetime_key(None) is None
    assert datetime_key("not a date") is None


def test_format_datetime_truncates_to_milliseconds_in_utc():
    moment = datetime(2024, 1, 31, 7, 0, 0, 123456, tzinfo=timezone(timedelta(hours=-5)))
    assert format_datetime(moment) == "2024-01-31T12:00:00.123+0000"
    assert format_datetime(datetime(2024, 1, 1, tzinfo=UTC)) == "2024-01-01T00:00:00.000+0000"

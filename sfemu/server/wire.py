"""Date/time parsing for request parameters and wire values."""

from __future__ import annotations

from datetime import UTC, datetime


def parse_wire_datetime(value: str) -> datetime:
    """``2024-01-31T12:00:00.000+0000`` (and other ISO 8601 forms) → aware UTC datetime."""
    parsed = datetime.fromisoformat(value.strip())
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def parse_param_datetime(value: str) -> datetime:
    """A dateTime from a query string.

    A ``+hh:mm`` offset sent without percent-encoding arrives as a space (form decoding turns
    ``+`` into a space), which Salesforce tolerates; so do we.
    """
    text = value.strip()
    if " " in text:
        head, _, tail = text.rpartition(" ")
        if tail[:2].isdigit() and "T" in head:
            text = f"{head}+{tail}"
    return parse_wire_datetime(text)


def format_wire_datetime(value: datetime) -> str:
    """Aware datetime → ``2024-01-31T12:00:00.000+0000``."""
    value = value.astimezone(UTC)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}+0000"

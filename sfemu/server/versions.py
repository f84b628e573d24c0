"""API versions sfemu serves and their release names.

Salesforce retired versions 21.0-30.0 in Summer '25; 31.0 is the oldest still answered. The
newest is 66.0 (Spring '26, the release of the reference's limits sheet).
"""

from __future__ import annotations

import re

MIN_VERSION = 31
MAX_VERSION = 66
DEFAULT_VERSION = "62.0"
_VERSION_RE = re.compile(r"^v(\d{2})\.0$")
_SEASONS = ("Winter", "Spring", "Summer")


def release_label(major: int) -> str:
    """``62`` → ``"Winter '25"`` (three releases a year, 62.0 = Winter '25)."""
    offset = major - 62
    season = _SEASONS[offset % 3]
    year = 25 + offset // 3
    return f"{season} '{year:02d}"


def versions() -> list[dict[str, str]]:
    """Body of ``GET /services/data/``: ascending list of {label, url, version}."""
    return [
        {"label": release_label(v), "url": f"/services/data/v{v}.0", "version": f"{v}.0"}
        for v in range(MIN_VERSION, MAX_VERSION + 1)
    ]


def parse_version(segment: str) -> str | None:
    """``"v62.0"`` → ``"62.0"``; None when not a served version."""
    match = _VERSION_RE.match(segment)
    if not match:
        return None
    major = int(match.group(1))
    return f"{major}.0" if MIN_VERSION <= major <= MAX_VERSION else None


def at_least(version: str, major: float) -> bool:
    return float(version) >= major

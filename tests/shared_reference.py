"""The team's shared reference material, ``../shared`` beside the project, for tests that read it.

A user's fresh clone has no ``../shared``: tests that need it call :func:`require_shared` and are
skipped with a plain message. Under ``CI=true`` the material is required, so the same call fails.
``ORGSYNC_SHARED_DIR`` points at another shared folder (or at a missing one, to try the skip).
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR_ENV = "ORGSYNC_SHARED_DIR"


def shared_dir() -> Path:
    """``$ORGSYNC_SHARED_DIR`` when set, else ``shared`` beside the project root."""
    override = os.environ.get(SHARED_DIR_ENV)
    return Path(override) if override else PROJECT_ROOT.parent / "shared"


def reference_path(*parts: str) -> Path:
    """A path under ``shared/reference``, e.g. ``reference_path("recorded")``; it may not exist."""
    return shared_dir().joinpath("reference", *parts)


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def missing_message(path: Path) -> str:
    if in_ci():
        return f"{path} not found: the team's shared reference data is required under CI=true"
    return f"{path} not found: the team's shared reference data is not in this clone; skipped"


def require_shared(path: Path) -> Path:
    """Return ``path`` when it exists; else skip the test, or fail it under ``CI=true``."""
    if path.exists():
        return path
    if in_ci():
        pytest.fail(missing_message(path), pytrace=False)
    pytest.skip(missing_message(path))

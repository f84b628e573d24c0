"""tests/shared_reference.py: without ``../shared`` a test skips with a plain message, under CI=true
it fails; ``ORGSYNC_SHARED_DIR`` moves the folder (here: to one that does not exist)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import shared_reference
from tests.shared_reference import PROJECT_ROOT, reference_path, require_shared, shared_dir

SKIP_TAIL = "not found: the team's shared reference data is not in this clone; skipped"
FAIL_TAIL = "not found: the team's shared reference data is required under CI=true"


@pytest.fixture
def missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Point the shared folder at a path that does not exist; CI unset."""
    absent = tmp_path / "no-such-shared"
    monkeypatch.setenv("ORGSYNC_SHARED_DIR", str(absent))
    monkeypatch.delenv("CI", raising=False)
    return absent


def test_default_is_shared_beside_the_project(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ORGSYNC_SHARED_DIR", raising=False)
    assert Path(__file__).resolve().parents[2] == PROJECT_ROOT
    assert (PROJECT_ROOT / "pyproject.toml").is_file()
    assert shared_dir() == PROJECT_ROOT.parent / "shared"
    assert reference_path("recorded") == PROJECT_ROOT.parent / "shared" / "reference" / "recorded"


def test_environment_variable_moves_the_folder(missing: Path) -> None:
    assert shared_dir() == missing
    assert reference_path("recorded", "x.json") == missing / "reference" / "recorded" / "x.json"


def test_present_path_is_returned(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "reference" / "recorded").mkdir(parents=True)
    monkeypatch.setenv("ORGSYNC_SHARED_DIR", str(tmp_path))
    for ci in ("true", ""):
        monkeypatch.setenv("CI", ci)
        path = reference_path("recorded")
        assert require_shared(path) == path


@pytest.mark.parametrize("ci", [None, "", "false", "1"])
def test_absent_skips_with_a_plain_message(missing: Path, monkeypatch: pytest.MonkeyPatch, ci) -> None:
    if ci is not None:
        monkeypatch.setenv("CI", ci)
    path = reference_path("recorded")
    with pytest.raises(pytest.skip.Exception) as info:
        require_shared(path)
    assert str(info.value) == f"{missing}/reference/recorded {SKIP_TAIL}"


@pytest.mark.parametrize("ci", ["true", "TRUE", "True"])
def test_absent_fails_under_ci(missing: Path, monkeypatch: pytest.MonkeyPatch, ci: str) -> None:
    monkeypatch.setenv("CI", ci)
    assert shared_reference.in_ci()
    with pytest.raises(pytest.fail.Exception) as info:
        require_shared(reference_path("recorded"))
    assert str(info.value) == f"{missing}/reference/recorded {FAIL_TAIL}"
    assert info.value.pytrace is False


def _run_pytest(node: str, env_overrides: dict[str, str]) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("CI", "PYTEST_ADDOPTS")}
    env.update(env_overrides)
    return subprocess.run(
        [sys.executable, "-m", "pytest", node, "-q", "-rsf", "-p", "no:cacheprovider"],
        cwd=PROJECT_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )


REPLAY = "tests/sfemu/test_recorded_replay.py"


def test_fresh_clone_run_skips_and_ci_run_fails(tmp_path: Path) -> None:
    """The recorded replay, end to end in a child pytest, with the shared folder absent."""
    absent = tmp_path / "no-such-shared"
    node = f"{REPLAY}::test_recordings_are_present"
    plain = _run_pytest(node, {"ORGSYNC_SHARED_DIR": str(absent)})
    assert plain.returncode == 0, plain.stdout + plain.stderr
    assert "1 skipped" in plain.stdout
    assert f"{absent}/reference/recorded {SKIP_TAIL}" in plain.stdout

    ci = _run_pytest(node, {"ORGSYNC_SHARED_DIR": str(absent), "CI": "true"})
    assert ci.returncode == 1, ci.stdout + ci.stderr
    assert "1 failed" in ci.stdout
    assert f"{absent}/reference/recorded {FAIL_TAIL}" in ci.stdout

"""Startup refuses to run without its secrets when DEBUG is off, naming the variable."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parents[2]
SECRETS = {"SECRET_KEY": "x" * 50, "ORGSYNC_ENCRYPTION_KEYS": "k1:" + "A" * 43 + "="}


def run_manage(env_overrides: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in SECRETS and k != "DEBUG"}
    env.update({"DJANGO_SETTINGS_MODULE": "orgsync.settings", "ORGSYNC_ENV_FILE": ""}, **env_overrides)
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize("missing", sorted(SECRETS))
def test_missing_secret_stops_startup(missing):
    """Without DEBUG, each missing secret is an error that names it; no traceback, exit ≠ 0."""
    present = {k: v for k, v in SECRETS.items() if k != missing}
    completed = run_manage({"DEBUG": "false", **present}, "check")
    assert completed.returncode != 0
    assert f"The environment variable {missing} is not set" in completed.stderr
    assert "Traceback" not in completed.stderr


def test_all_secrets_present_starts():
    completed = run_manage({"DEBUG": "false", **SECRETS}, "check")
    assert completed.returncode == 0, completed.stderr
    assert "System check identified no issues" in completed.stdout


def test_debug_without_secrets_says_so_on_stderr():
    """DEBUG may run without a .env, but never silently: it says the secret is ephemeral."""
    completed = run_manage({"DEBUG": "true"}, "check")
    assert completed.returncode == 0, completed.stderr
    assert "SECRET_KEY is not set; using a random value" in completed.stderr


def test_env_file_is_read_without_overriding_the_environment(tmp_path):
    env_file = tmp_path / ".env"
    env_file.write_text(
        "DEBUG=false\nSECRET_KEY=from-file-" + "y" * 40 + "\nORGSYNC_ENCRYPTION_KEYS=k1:abc\n"
    )
    completed = run_manage(
        {"ORGSYNC_ENV_FILE": str(env_file), "ALLOWED_HOSTS": "console.example"},
        "shell",
        "-c",
        "from django.conf import settings as s; print(s.SECRET_KEY[:10], s.ALLOWED_HOSTS)",
    )
    assert completed.returncode == 0, completed.stderr
    assert "from-file- ['console.example']" in completed.stdout


def test_dotenv_writer_makes_fresh_secrets_once(tmp_path):
    from orgsync import dotenv

    target = tmp_path / ".env"
    assert dotenv.main(["dotenv", str(target)]) == 0
    first = target.read_text()
    assert dotenv.main(["dotenv", str(target)]) == 0
    assert target.read_text() == first, "an existing .env must never be overwritten"
    assert oct(target.stat().st_mode & 0o777) == "0o600"
    assert dotenv.render() != dotenv.render()
    values = dict(line.split("=", 1) for line in first.splitlines() if line and not line.startswith("#"))
    assert len(values["SECRET_KEY"]) >= 50
    key_id, key = values["ORGSYNC_ENCRYPTION_KEYS"].split(":")
    import base64

    assert len(base64.b64decode(key)) == 32 and key_id

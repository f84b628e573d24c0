"""A real django-q2 cluster (`manage.py qcluster`) in a child process, on the test database."""

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

PROJECT_DIR = Path(__file__).resolve().parents[2]


def database_url() -> str:
    """The URL of the database this test runs on, for a child process."""
    db = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{db['NAME']}"
    auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
    return f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"


def child_environment() -> dict[str, str]:
    """Real settings module, no .env, the test run's secrets, database and queue name."""
    return {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "orgsync.settings",
        "ORGSYNC_ENV_FILE": "",
        "DEBUG": "false",
        "SECRET_KEY": settings.SECRET_KEY,
        "ORGSYNC_ENCRYPTION_KEYS": settings.ORGSYNC_ENCRYPTION_KEYS,
        "DATABASE_URL": database_url(),
        "ORGSYNC_Q_NAME": settings.Q_CLUSTER["name"],
        "ORGSYNC_Q_WORKERS": "1",
    }


@pytest.fixture
def qcluster(transactional_db, tmp_path) -> Iterator[subprocess.Popen]:
    """Start `manage.py qcluster`; stop it (SIGTERM, then SIGKILL) after the test."""
    log = (tmp_path / "qcluster.log").open("w")
    process = subprocess.Popen(
        [sys.executable, "manage.py", "runworkers"],
        cwd=PROJECT_DIR,
        env=child_environment(),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()
        if process.returncode not in (0, -15):
            sys.stderr.write((tmp_path / "qcluster.log").read_text())


def wait_for(predicate, *, timeout: float = 30.0, interval: float = 0.2):
    """Poll `predicate` until it returns something truthy; fail the test on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    pytest.fail(f"condition not met within {timeout}s: {predicate.__name__}")

"""Settings for the test suite: the real settings with test-only secrets and no `.env`.

The database and broker still come from DATABASE_URL / REDIS_URL, so the same suite runs on the
embedded default and on the scaled-out lane (PostgreSQL + Redis).
"""

import os

os.environ["ORGSYNC_ENV_FILE"] = ""
os.environ.setdefault("SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")
# key id "test": 32 bytes, base64; only ever used by tests.
os.environ.setdefault("ORGSYNC_ENCRYPTION_KEYS", "test:b3Jnc3luYy10ZXN0LWtleS1ub3QtZm9yLXByb2QtMzI=")

# Its own broker queue name, so a test run never takes (or leaves) work of a running console.
os.environ.setdefault("ORGSYNC_Q_NAME", f"orgsync-test-{os.getpid()}")

from orgsync.settings import *  # noqa: F403
from orgsync.settings import DATABASES, Q_CLUSTER, STATIC_ROOT, STORAGES, VAR_DIR

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# async_task runs inline in tests; tests that need a real cluster start `qcluster` themselves
# with the real settings module.
Q_CLUSTER = {**Q_CLUSTER, "sync": True}
ORGSYNC_USER_SYNC_INTERVAL_SECONDS = 0  # tests look for user changes every cycle
STORAGES = {
    **STORAGES,
    "staticfiles": {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"},
}

if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # A file, not pytest-django's in-memory default: tests that start a real `qcluster` or
    # server process need it to see the same test database.
    # One file per test process: parallel runs in one checkout must not share it.
    DATABASES["default"]["TEST"] = {"NAME": str(VAR_DIR / f"test-orgsync-{os.getpid()}.sqlite3")}

STATIC_ROOT.mkdir(parents=True, exist_ok=True)  # whitenoise warns about a missing one

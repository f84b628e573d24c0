"""Reading the environment: one place that knows where configuration comes from.

Settings are 12-factor: process environment first, then an optional `.env` file (written by
`make run` for the embedded default). Required secrets have no default outside DEBUG.
"""

import base64
import os
import secrets
import sys
from collections.abc import Callable
from pathlib import Path

import environ
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent

env = environ.Env()


def read_env_file() -> None:
    """Load `ORGSYNC_ENV_FILE` (default `<project>/.env`) without overriding the environment.

    Setting `ORGSYNC_ENV_FILE` to an empty string disables the file (tests do).
    """
    path = os.environ.get("ORGSYNC_ENV_FILE", str(BASE_DIR / ".env"))
    if path and Path(path).is_file():
        environ.Env.read_env(path, overwrite=False)


def required_secret(name: str, *, debug: bool, ephemeral: Callable[[], str] | None = None) -> str:
    """Return the secret `name`; outside DEBUG a missing one stops startup naming the variable.

    In DEBUG an ephemeral random value is used (and said so on stderr), so a developer can run
    the project without a `.env`; sessions and sealed credentials then do not survive a restart.
    """
    value = os.environ.get(name, "").strip()
    if value:
        return value
    if not debug:
        raise ImproperlyConfigured(
            f"The environment variable {name} is not set. orgsync refuses to start without it "
            f"when DEBUG is off: set {name} in the environment or in .env "
            "(`make run` writes a .env with fresh random values on first run)."
        )
    print(
        f"orgsync: {name} is not set; using a random value for this process (DEBUG).",
        file=sys.stderr,
    )
    return ephemeral() if ephemeral else secrets.token_urlsafe(50)


def random_encryption_key(key_id: str = "ephemeral") -> str:
    """One `ORGSYNC_ENCRYPTION_KEYS` entry: a key id and 32 random bytes in base64."""
    return f"{key_id}:{base64.b64encode(secrets.token_bytes(32)).decode()}"


FILE_MAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"


def email_settings(*, dev_mail: bool, mail_dir: Path) -> dict[str, object]:
    """Django's EMAIL_* settings. An explicit `EMAIL_URL` wins; without one, dev mail (DEBUG, or
    `make run` through ORGSYNC_DEV_MAIL) is written as files to `mail_dir`, anything else goes to
    smtp://localhost:25. An explicit `EMAIL_BACKEND` overrides the backend of either."""
    if os.environ.get("EMAIL_URL") or not dev_mail:
        config = env.email_url("EMAIL_URL", default="smtp://localhost:25")
    else:
        config = {"EMAIL_BACKEND": FILE_MAIL_BACKEND, "EMAIL_FILE_PATH": str(mail_dir)}
    if os.environ.get("EMAIL_BACKEND"):
        config["EMAIL_BACKEND"] = os.environ["EMAIL_BACKEND"]
    return config

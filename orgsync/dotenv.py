"""Write a `.env` for the embedded default with fresh random secrets (first `make run` only).

Usage: python -m orgsync.dotenv PATH — never overwrites an existing file.
"""

import secrets
import sys
from pathlib import Path

from orgsync.env import random_encryption_key

TEMPLATE = """\
# Written by `make run` on first run. Git-ignored: keep it private, it holds the secrets.
# Losing ORGSYNC_ENCRYPTION_KEYS means re-entering every org's credentials.
DEBUG=false
SECRET_KEY={secret_key}
ORGSYNC_ENCRYPTION_KEYS={encryption_key}
ALLOWED_HOSTS=127.0.0.1,localhost
# DATABASE_URL=postgres://postgres@127.0.0.1:5432/orgsync
# REDIS_URL=redis://127.0.0.1:6379/0
"""


def render() -> str:
    return TEMPLATE.format(
        secret_key=secrets.token_urlsafe(50),
        encryption_key=random_encryption_key(f"k{secrets.token_hex(3)}"),
    )


def main(argv: list[str]) -> int:
    path = Path(argv[1] if len(argv) > 1 else ".env")
    if path.exists():
        print(f"{path} exists; leaving it alone.")
        return 0
    path.write_text(render())
    path.chmod(0o600)
    print(f"Wrote {path} with a new SECRET_KEY and encryption key.")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))

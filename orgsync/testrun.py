"""`make test`: run the suite, with the browser lane when a Chromium is there.

Browser tests (marker `browser`) need Debian's chromium. Without one they are skipped and this
says so plainly; under CI=true a missing Chromium is an error, never a silent skip.
"""

import os
import shutil
import sys

import pytest

CHROMIUM_CANDIDATES = ("chromium", "chromium-browser")


def find_chromium() -> str | None:
    configured = os.environ.get("ORGSYNC_CHROMIUM")
    if configured:
        return configured if os.access(configured, os.X_OK) else None
    for name in CHROMIUM_CANDIDATES:
        path = shutil.which(name)
        if path:
            return path
    return None


def main(argv: list[str]) -> int:
    args = list(argv)
    chromium = find_chromium()
    in_ci = os.environ.get("CI", "").lower() == "true"
    if chromium:
        os.environ["ORGSYNC_CHROMIUM"] = chromium
        print(f"make test: browser tests use {chromium}")
    elif in_ci:
        print("make test: CI=true and no chromium found: apt-get install chromium chromium-driver")
        return 2
    else:
        print("make test: SKIPPING browser tests: no chromium (apt-get install chromium)")
        args = ["-m", "not browser", *args]
    return int(pytest.main(args))


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))

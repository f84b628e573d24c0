"""Run every benchmark in ``bench/`` (each ``*.py`` but this one) in turn and print its figures.

``make bench`` calls this. Benchmarks print what they measured and assert nothing about timings;
the exit status is non-zero only when a benchmark crashed.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent


def benchmarks() -> list[Path]:
    return sorted(
        p for p in HERE.glob("*.py") if p.name != Path(__file__).name and not p.name.startswith("_")
    )


def main(argv: list[str] | None = None) -> int:
    """Run all benchmarks, or only those whose file names are given (``sfemu_rest``…)."""
    wanted = set(argv if argv is not None else sys.argv[1:])
    failed = []
    for script in benchmarks():
        if wanted and script.stem not in wanted and script.name not in wanted:
            continue
        print(f"== {script.name}", flush=True)
        started = time.monotonic()
        code = subprocess.call([sys.executable, str(script)], cwd=HERE.parent)
        outcome = "ok" if code == 0 else f"exit {code}"
        print(f"-- {script.name}: {outcome} in {time.monotonic() - started:.1f} s\n")
        if code != 0:
            failed.append(script.name)
    if failed:
        print(f"failed: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())

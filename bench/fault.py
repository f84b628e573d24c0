"""The fault scenario of issue 14 at scale: two-way sync under edits, kills and a killed database
connection, then the two orgs compared field by field.

The same scenario as the fault lane (`tests/replication/fault_scenario.py`, driven by
`tests/replication/test_fault_lane.py`), bigger: ``--records`` (20,000) Accounts and Contacts
with lookups, 90 % of them in the primary; two `qcluster`s with 2 workers each on PostgreSQL and
the Redis broker, running the scheduled tick and a "Sync now" every 4 s; both orgs edited at once
for ``--seconds``; ``--kills`` (40) SIGKILLs of workers in the middle of a cycle, one of a whole
cluster (restarted), one `pg_terminate_backend` of the clusters' connections. Then it lets the
connection settle (at most ``--settle`` seconds with the clusters, then cycles in this process)
and prints the oracle's four figures — missing, duplicated, stale, stuck —, the time it took to
settle and up to 20 examples per class.

Scaled-out mode needs its services: a throw-away PostgreSQL database is created on
``BENCH_POSTGRES_URL`` (default ``postgres://postgres@127.0.0.1:5432``) and dropped afterwards;
the broker is ``REDIS_URL`` (default ``redis://127.0.0.1:6379/0``, a queue named after this
process). Without them it says so and exits 0. sfemu runs in this process, in memory.

Prints figures; asserts nothing. ``--records 3000 --kills 10 --seconds 60`` is a quick run;
``--seed`` (or ORGSYNC_FAULT_SEED) replays a run's random choices.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_POSTGRES = "postgres://postgres@127.0.0.1:5432"
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"


def services_missing(postgres_url: str, redis_url: str) -> str:
    """Why the scaled-out services cannot be used ("" when both answer)."""
    import psycopg
    import redis

    try:
        psycopg.connect(f"{postgres_url}/postgres", connect_timeout=3).close()
    except psycopg.Error as exc:
        return f"PostgreSQL at {postgres_url} does not answer ({exc.__class__.__name__})"
    try:
        redis.Redis.from_url(redis_url, socket_connect_timeout=3).ping()
    except redis.RedisError as exc:
        return f"Redis at {redis_url} does not answer ({exc.__class__.__name__})"
    return ""


def admin(postgres_url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(f"{postgres_url}/postgres", autocommit=True) as conn:
        conn.execute(statement)


def setup_django(tmp: Path, database_url: str, redis_url: str) -> None:
    """The test settings (as the other benches), on PostgreSQL and Redis: scaled-out mode."""
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "orgsync.settings_test",
            "DATABASE_URL": database_url,
            "REDIS_URL": redis_url,
            "ORGSYNC_VAR_DIR": str(tmp),
        }
    )
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def run(args: argparse.Namespace, tmp: Path) -> None:
    import logging

    from sfemu.testing import start_server
    from tests.replication.conftest import linked_orgs
    from tests.replication.fault_scenario import FaultConfig, FaultScenario, fault_seed

    logging.getLogger("replication").setLevel(logging.ERROR)  # owner fallbacks, dead-cycle notes
    seed = args.seed or fault_seed()
    config = FaultConfig.scaled(
        args.records,
        args.kills,
        seed,
        chaos_seconds=args.seconds,
        settle_seconds=args.settle,
        final_seconds=args.final,
    )
    print(f"seed {seed} (replay with --seed {seed})", flush=True)
    server = start_server(tls_dir=tmp / "tls")
    try:
        linked = linked_orgs(server, two_way=True)
        started = time.monotonic()
        result = FaultScenario(linked, config, tmp, log=lambda line: print(line, flush=True)).run()
        elapsed = time.monotonic() - started
    finally:
        server.stop()
    figures = result.figures()
    print()
    print(
        f"fault scenario, {args.records:,} records, {result.events['worker SIGKILL']} worker kills, "
        f"{result.events['cluster SIGKILL']} cluster kill(s), "
        f"{result.events['pg_terminate_backend']} pg_terminate_backend: "
        + ", ".join(f"{name} {count:,}" for name, count in figures.items())
    )
    settled = (
        f"{result.settled_after:.0f} s after the edits stopped"
        if result.settled_after is not None
        else f"not within {config.settle_seconds:.0f} s ({result.final_queue:,} item(s) left after "
        "the in-process cycles)"
    )
    print(f"time to settle: {settled}; whole run {elapsed:.0f} s")
    print("phases: " + ", ".join(f"{name} {seconds:.0f} s" for name, seconds in result.timings.items()))
    print(f"oracle: {result.verdict.summary()}")
    if not result.verdict.ok:
        print(result.verdict.report())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=20_000, help="Accounts and Contacts in all")
    parser.add_argument("--kills", type=int, default=40, help="SIGKILLs of single workers")
    parser.add_argument("--seconds", type=float, default=300, help="how long both orgs are edited")
    parser.add_argument("--settle", type=float, default=600, help="at most this long with the clusters")
    parser.add_argument("--final", type=float, default=120, help="then cycles in this process")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    postgres_url = os.environ.get("BENCH_POSTGRES_URL", DEFAULT_POSTGRES).rstrip("/")
    redis_url = os.environ.get("REDIS_URL") or DEFAULT_REDIS
    missing = services_missing(postgres_url, redis_url)
    if missing:
        print(f"skipped: the fault scenario runs in scaled-out mode and {missing}")
        return 0
    name = f"orgsync_bench_fault_{os.getpid()}"
    admin(postgres_url, f"CREATE DATABASE {name}")
    try:
        with tempfile.TemporaryDirectory(prefix="orgsync-bench-fault-") as tmp_name:
            setup_django(Path(tmp_name), f"{postgres_url}/{name}", redis_url)
            try:
                run(args, Path(tmp_name))
            finally:
                from django.db import connections

                connections.close_all()
    finally:
        admin(postgres_url, f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    print(f"(database {name} on {urlsplit(postgres_url).hostname} dropped)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

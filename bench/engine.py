"""The replication engine end to end against sfemu: throughput, API calls, idle cost, latency.

Sets up a throw-away console database and an in-process sfemu with two orgs linked one way
(Account published and subscribed). The database is SQLite in a temp dir, or with
`--database-url postgres://…` a temporary database on that PostgreSQL server (dropped after).
Then it measures:

0. sfemu's own ceiling in the same run: 200-record collection upserts straight over HTTP,
   measured right before and right after the backlog;
1. a backlog of N changed records synced by `sync_once` cycles: records/s end to end, its ratio
   to the mean of those two ceilings, SQL statements per record, and API calls per 1,000 changed records (the
   floor: one composite call reading them, one writing);
2. idle cycles right after that backlog and 6 s later: API calls per cycle;
3. a steady 50 changes/s for a while with a cycle every 10 s (the default poll interval): p50 and
   p95 of the time from a change in the source to the record being in the target.

Prints figures; asserts nothing. `--records` and `--seconds` make a quicker run.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from statistics import median, quantiles
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def setup_django(tmp: Path, database_url: str = "") -> None:
    os.environ.update(
        {
            "DJANGO_SETTINGS_MODULE": "orgsync.settings_test",
            "DATABASE_URL": database_url or f"sqlite:///{tmp / 'bench.sqlite3'}",
            "ORGSYNC_VAR_DIR": str(tmp),
        }
    )
    os.environ.pop("REDIS_URL", None)
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    call_command("createcachetable", verbosity=0)


def linked(server):
    from connections import services as connection_services
    from replication import services
    from replication.models import Direction
    from tests.connections.emu import connect_by_password

    source, target = server.create_org(), server.create_org()
    connection = connection_services.connection_accept(
        connection=connection_services.connection_create(
            actor=None,
            name=f"bench {source.name}",
            primary_org=connect_by_password(server, source),
            secondary_org=connect_by_password(server, target),
            owner_username=source.username,
            owner_user_id=source.user_id,
        ),
        actor=None,
    )
    publication = services.publication_publish(
        connection=connection, direction=Direction.PRIMARY_TO_SECONDARY, source_object="Account", actor=None
    )
    services.subscription_subscribe(publication=publication, actor=None)
    return connection, source, target


@contextmanager
def counting_statements():
    """Count the SQL statements the console database runs inside the block."""
    from django.db import connection

    counted = [0]

    def count(execute, sql, params, many, context):
        counted[0] += 1
        return execute(sql, params, many, context)

    with connection.execute_wrapper(count):
        yield counted


def ceiling(server, requests_count: int = 25) -> float:
    """sfemu's collection-upsert ceiling right now (records/s, the mean of insert and update), in
    an org of its own."""
    from bench.sfemu_rest import bench_upserts

    handle = server.create_org()
    handle.org.add_custom_field("Account", "Bench_Key__c", "text", length=40, external_id=True, unique=True)
    insert_rate, update_rate = bench_upserts(server, handle.access_token, requests_count)
    return (insert_rate + update_rate) / 2


def backlog(server, connection, source, target, records: int) -> None:
    """The backlog between two measures of the ceiling (their mean is the ratio's yardstick: on
    a shared 2-core machine one short measure swings by half)."""
    from replication.engine.cycle import sync_once

    before = ceiling(server)

    sync_once(connection)  # warm: describes and owners cached, as in a running engine
    org = source.org
    for n in range(records):
        org.create("Account", {"Name": f"Bench {n}"}, user_id=source.user_id)
    started, calls, cycles = time.perf_counter(), 0, 0
    with counting_statements() as statements:
        while target.org.record_counts(["Account"]).get("Account", 0) < records and cycles < 50:
            calls += sync_once(connection).api_calls
            cycles += 1
    elapsed = time.perf_counter() - started
    rate = records / elapsed
    after = ceiling(server)
    ceiling_rate = (before + after) / 2
    print(
        f"sfemu ceiling, 200-record collection upserts: {before:,.0f} records/s before the backlog, "
        f"{after:,.0f} after, {ceiling_rate:,.0f} their mean"
    )
    print(
        f"backlog of {records:,} changed records: {rate:,.0f} records/s end to end "
        f"({elapsed:.1f} s, {cycles} cycle(s)), {rate / ceiling_rate:.2f} of the sfemu ceiling"
    )
    print(f"SQL statements: {statements[0]:,} = {statements[0] / records:.2f} per record")
    print(f"API calls: {calls} = {calls * 1000 / records:.2f} per 1,000 changed records")
    # Idle right after the backlog, then past capture's 5 s late-commit overlap: capture used to
    # re-read the last 5 s before its newest record on every idle cycle (3 calls after a burst).
    right_after = [sync_once(connection).api_calls for _ in range(3)]
    time.sleep(6)
    later = [sync_once(connection).api_calls for _ in range(3)]
    print(
        f"idle cycles after the backlog: {', '.join(map(str, right_after))} API call(s) right after, "
        f"{', '.join(map(str, later))} 6 s later"
    )


def latency(connection, source, target, seconds: int, rate: int = 50, interval: float = 10.0) -> None:
    from replication.engine.cycle import sync_once
    from replication.models import EXTERNAL_ID_FIELD

    created: dict[str, float] = {}
    stop = time.monotonic() + seconds

    def producer() -> None:
        n = 0
        while time.monotonic() < stop:
            tick = time.monotonic()
            for _ in range(rate):
                record_id = source.org.create("Account", {"Name": f"Live {n}"}, user_id=source.user_id)
                created[record_id] = time.monotonic()
                n += 1
            time.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))

    thread = threading.Thread(target=producer, daemon=True)
    thread.start()
    arrived: dict[str, float] = {}
    while thread.is_alive() or len(arrived) < len(created):
        cycle_start = time.monotonic()
        sync_once(connection)
        now = time.monotonic()
        rows = target.org.query(
            f"SELECT {EXTERNAL_ID_FIELD} FROM Account", include_deleted=False, api_version="62.0"
        ).records
        for row in rows:
            arrived.setdefault(row[EXTERNAL_ID_FIELD], now)
        if not thread.is_alive() and len(arrived) >= len(created):
            break
        time.sleep(max(0.0, interval - (time.monotonic() - cycle_start)))
    delays = sorted(arrived[i] - created[i] for i in created if i in arrived)
    p95 = quantiles(delays, n=20)[-1] if len(delays) >= 20 else max(delays)
    print(
        f"steady {rate} changes/s for {seconds} s, a cycle every {interval:.0f} s: "
        f"{len(delays):,} records, change-to-target p50 {median(delays):.1f} s, p95 {p95:.1f} s"
    )


@contextmanager
def temporary_database(url: str):
    """A fresh database on the PostgreSQL server of `url`, dropped afterwards; '' stays ''."""
    if not url.startswith("postgres"):
        yield url
        return
    import psycopg

    parts = urlsplit(url)
    name = f"orgsync_bench_{os.getpid()}"
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as server:
        server.execute(f"CREATE DATABASE {name}")
    try:
        yield urlunsplit(parts._replace(path=f"/{name}"))
    finally:
        from django.db import connections

        connections.close_all()
        with psycopg.connect(admin, autocommit=True) as server:
            server.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument(
        "--database-url", default="", help="postgres://… for a temporary database there; SQLite if empty"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp, temporary_database(args.database_url) as database_url:
        setup_django(Path(tmp), database_url)
        from django.db import connection as db

        print(f"console database: {db.vendor}")
        from sfemu.testing import start_server

        server = start_server(tls_dir=Path(tmp) / "tls")
        try:
            connection, source, target = linked(server)
            backlog(server, connection, source, target, args.records)
            connection2, source2, target2 = linked(server)
            latency(connection2, source2, target2, args.seconds)
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())

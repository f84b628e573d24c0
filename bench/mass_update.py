"""A mass update in the source replicated by the engine: records/s end to end and worker memory.

Issue 21's goal: a mass update of 1,000,000 records of one object replicated end to end in at most
10 minutes with a peak RSS of at most 300 MB (capture streams its pages; the backlog goes through
Bulk API 2.0 jobs past ORGSYNC_BULK_APPLY_THRESHOLD).

Sets up a throw-away console database (SQLite in a temp dir, or PostgreSQL with
``--database-url``) and an in-process sfemu with two orgs linked one way (Account), seeds
``--records`` Accounts, copies them with a bulk sync and lets one engine cycle take the seed in,
then updates every source record with one Bulk API 2.0 update job and runs engine cycles in a
child process (the worker alone, so its peak RSS is orgsync's, not the emulator's) until the
queue is empty. Prints records/s end to end, API calls, cycles, the worker's peak RSS and how many
target records hold the new value.

Prints figures; asserts nothing. ``--records 1000000`` measures the million-record case.
"""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from bulk_sync import seed  # noqa: E402
from engine import linked, setup_django, temporary_database  # noqa: E402
from sfemu_bulk import run_ingest  # noqa: E402

WORKER = """
import json, os, sys, time
import django
django.setup()
from connections.models import Connection
from replication.engine.context import EngineContext
from replication.engine.cycle import sync_once
from replication.models import RecordQueueItem
connection = Connection.objects.get(pk=int(sys.argv[1]))
ctx = EngineContext(worker="bench")
started, cycles = time.perf_counter(), 0
def drain():
    global cycles
    while True:
        report = sync_once(connection, ctx=ctx)
        cycles += 1
        if not RecordQueueItem.objects.exists() and not any(report.applied.values()):
            return
if os.environ.get("BENCH_PROFILE"):  # a file name: the worker's cProfile stats go there
    import cProfile
    profile = cProfile.Profile()
    profile.runcall(drain)
    profile.dump_stats(os.environ["BENCH_PROFILE"])
else:
    drain()
from bench.worker_peak import peak_rss_kb
print(json.dumps({"seconds": time.perf_counter() - started, "api_calls": ctx.api_calls(), "cycles": cycles,
                  "peak_rss_kb": peak_rss_kb()}))
"""
NEW_PHONE = "555-0100"


def mass_update(server, handle) -> float:
    """Set every Account's Phone with one Bulk API 2.0 update job per 200,000; returns seconds."""
    ids = [r["Id"] for r in handle.org.query("SELECT Id FROM Account", api_version="62.0").records]
    http = server.http_session()
    http.headers["Authorization"] = f"Bearer {handle.new_access_token()}"
    base = f"{handle.instance_url}/services/data/v62.0"
    started = time.perf_counter()
    for first in range(0, len(ids), 200_000):
        out = io.StringIO()
        out.write("Id,Phone\n")
        out.writelines(f"{record_id},{NEW_PHONE}\n" for record_id in ids[first : first + 200_000])
        run_ingest(http, base, "update", out.getvalue().encode())
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--database-url", default="", help="postgres://… for a temporary database there")
    args = parser.parse_args()
    with (
        tempfile.TemporaryDirectory(prefix="orgsync-bench-mass-") as tmp_name,
        temporary_database(args.database_url) as database_url,
    ):
        tmp = Path(tmp_name)
        setup_django(tmp, database_url)
        from replication.bulksync.runner import BulkSyncRunner
        from replication.engine.cycle import sync_once
        from replication.services.bulk_sync import bulk_sync_start
        from sfemu.testing import start_server

        server = start_server(tmp / "sfemu")
        try:
            connection, source, target = linked(server)
            seed(server, source, args.records)
            BulkSyncRunner(bulk_sync_start(connection=connection, actor=None, run_in_worker=False)).run()
            sync_once(connection)  # the seed's changes, all in the target already
            seconds = mass_update(server, source)
            print(f"updated {args.records:,} Accounts in the source in {seconds:.0f} s (Bulk update jobs)")
            worker = subprocess.run(
                [sys.executable, "-c", WORKER, str(connection.pk)],
                capture_output=True,
                text=True,
                cwd=HERE.parent,
            )
            if worker.returncode != 0:
                print(worker.stderr[-3000:])
                raise SystemExit(worker.returncode)
            result = json.loads(worker.stdout.strip().splitlines()[-1])
            peak_mb = result["peak_rss_kb"] / 1024
            updated = target.org.query(
                f"SELECT COUNT() FROM Account WHERE Phone = '{NEW_PHONE}'", api_version="62.0"
            ).total_size
            print(
                f"mass update of {args.records:,} records replicated in {result['seconds']:.1f} s = "
                f"{args.records / result['seconds']:,.0f} records/s end to end, {result['cycles']} cycle(s)"
            )
            print(f"  API calls: {result['api_calls']}; worker peak RSS: {peak_mb:.0f} MB")
            print(f"  target records with the new value: {updated:,} of {args.records:,}")
        finally:
            server.stop()


if __name__ == "__main__":
    main()

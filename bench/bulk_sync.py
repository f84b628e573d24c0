"""Bulk sync end to end against sfemu: records/s, API calls and peak memory of the worker.

Sets up a throw-away console database (SQLite in a temp dir) and an in-process sfemu (data on
disk) with two orgs linked one way, Account published and subscribed; seeds ``--records``
Accounts in the primary through Bulk API 2.0, then runs the bulk sync in a child process — the
worker, alone, so its peak RSS is orgsync's and not the emulator's — and prints:

- records/s end to end (from the start of the run until every record is linked),
- total API calls of the run and per object (the Bulk path: the query job and its pages, then
  about five calls per ingest job of `ORGSYNC_BULK_SYNC_JOB_RECORDS` records),
- the worker's peak RSS,
- sfemu's Bulk ingest ceiling in the same run: one upsert job creating as many Accounts by
  `OrgSync_Source_Id__c` in a fresh org (upload to JobComplete), and the bulk sync's ratio to it.

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

from engine import linked, setup_django  # noqa: E402
from sfemu_bulk import run_ingest  # noqa: E402

WORKER = """
import json, sys, time
import django
django.setup()
from replication.bulksync.runner import BulkSyncRunner
from replication.models import BulkSync
import os
runner = BulkSyncRunner(BulkSync.objects.get(pk=int(sys.argv[1])))
started = time.perf_counter()
if os.environ.get("BENCH_PROFILE"):  # a file name: the worker's cProfile stats go there
    import cProfile
    profile = cProfile.Profile()
    bulk = profile.runcall(runner.run)
    profile.dump_stats(os.environ["BENCH_PROFILE"])
else:
    bulk = runner.run()
from bench.worker_peak import peak_rss_kb
print(json.dumps({"seconds": time.perf_counter() - started, "api_calls": runner.ctx.api_calls(),
                  "status": bulk.status, "error": bulk.error, "peak_rss_kb": peak_rss_kb()}))
"""


def seed(server, handle, records: int) -> float:
    """Insert `records` Accounts with one Bulk API 2.0 job per 200,000; returns seconds."""
    http = server.http_session()
    http.headers["Authorization"] = f"Bearer {handle.new_access_token()}"
    base = f"{handle.instance_url}/services/data/v62.0"
    started = time.perf_counter()
    for first in range(0, records, 200_000):
        out = io.StringIO()
        out.write("Name,Industry,NumberOfEmployees,Phone\n")
        for i in range(first, min(first + 200_000, records)):
            out.write(f"Bench {i},Technology,{i % 5000},555-{i % 10000:04d}\n")
        run_ingest(http, base, "insert", out.getvalue().encode())
    return time.perf_counter() - started


def ingest_ceiling(server, records: int) -> float:
    """Records/s of one upsert job creating `records` Accounts by the external id in a fresh
    org: what sfemu's Bulk ingest does at most with the work a bulk sync gives it."""
    from replication.models import EXTERNAL_ID_FIELD

    handle = server.create_org()
    handle.org.add_custom_field(
        "Account", EXTERNAL_ID_FIELD, "text", length=18, external_id=True, unique=True
    )
    http = server.http_session()
    http.headers["Authorization"] = f"Bearer {handle.new_access_token()}"
    out = io.StringIO()
    out.write(f"{EXTERNAL_ID_FIELD},Name,Industry,NumberOfEmployees,Phone\n")
    for i in range(records):
        out.write(f"001C{i:014d},Bench {i},Technology,{i % 5000},555-{i % 10000:04d}\n")
    upload, processing, info = run_ingest(
        http,
        f"{handle.instance_url}/services/data/v62.0",
        "upsert",
        out.getvalue().encode(),
        EXTERNAL_ID_FIELD,
    )
    assert info["numberRecordsProcessed"] == records and not info["numberRecordsFailed"], info
    return records / (upload + processing)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="orgsync-bench-bulk-") as tmp_name:
        tmp = Path(tmp_name)
        setup_django(tmp)
        from replication.models import BulkSync, RecordLink
        from replication.services.bulk_sync import bulk_sync_start
        from sfemu.testing import start_server

        server = start_server(tmp / "sfemu")
        try:
            connection, source, target = linked(server)
            seconds = seed(server, source, args.records)
            print(f"seeded {args.records:,} Accounts in the primary in {seconds:.0f} s")
            bulk = bulk_sync_start(connection=connection, actor=None, run_in_worker=False)
            worker = subprocess.run(
                [sys.executable, "-c", WORKER, str(bulk.pk)], capture_output=True, text=True, cwd=HERE.parent
            )
            if worker.returncode != 0:
                print(worker.stderr[-3000:])
                raise SystemExit(worker.returncode)
            result = json.loads(worker.stdout.strip().splitlines()[-1])
            peak_mb = result["peak_rss_kb"] / 1024
            bulk = BulkSync.objects.get(pk=bulk.pk)
            row = bulk.sync_objects.get()
            arrived = target.org.record_counts(["Account"]).get("Account", 0)
            print(
                f"bulk sync of {args.records:,} Accounts ({row.get_path_display()}): {result['status']}, "
                f"{result['seconds']:.1f} s = {args.records / result['seconds']:,.0f} records/s end to end"
            )
            print(
                f"  inserted {row.inserted:,}, failed {row.failed:,}; in the target {arrived:,}, "
                f"links {RecordLink.objects.count():,}"
            )
            print(f"  API calls: {result['api_calls']} in all, {row.api_calls} for the object")
            print(f"  worker peak RSS: {peak_mb:.0f} MB")
            rate, ceiling = args.records / result["seconds"], ingest_ceiling(server, args.records)
            print(
                f"sfemu Bulk ingest ceiling, one upsert job of {args.records:,} new Accounts: "
                f"{ceiling:,.0f} records/s; the bulk sync {rate / ceiling:.2f} of it"
            )
        finally:
            server.stop()


if __name__ == "__main__":
    main()

"""Reconcile (issue 16) against sfemu: records compared/s, API calls, query jobs, peak memory.

Sets up a throw-away console database (SQLite in a temp dir) and an in-process sfemu (data on
disk) with two orgs linked one way, Account published and subscribed, then:

1. seeds ``--records`` Accounts in the primary through Bulk API 2.0 ingest and carries them to
   the secondary with a bulk sync run in this process (`bulk_sync_start` + `BulkSyncRunner`):
   the copies and their record links are exactly what orgsync writes, nothing hand-made;
2. seeds known differences straight into the orgs (sfemu's org API): 10 Phone changes on copies
   in the secondary (drift), 5 new Accounts in the primary that were never synced (missing) and
   3 second copies in the secondary carrying a synced record's origin Id (duplicate);
3. runs the reconcile (`reconcile_start` + `ReconcileRunner`, compare only) in a child process —
   the worker, alone, so its peak RSS is orgsync's and not the emulator's — with
   ``ORGSYNC_RECONCILE_SETTLE_SECONDS=0`` so the freshly seeded records are judged. The object is
   above the bulk threshold, so both orgs are read with Bulk API 2.0 query jobs.

sfemu's clock is set back by an hour (plus a second per 500 records): sfemu hands out strictly
increasing SystemModstamps, one millisecond apart per org, so a Bulk ingest writing 7,000
records/s stamps them ever further in the future of the wall clock (100 s ahead after 100,000
records, some 1,000 s after a million). Set back, the data looks loaded an hour ago, as the data
of a real reconcile is (this matters with a settle window; the worker runs with none).

It prints records compared/s (records read in both orgs / seconds of the run), the seconds, API
calls in all (the worker's count, and sfemu's per org), Bulk query jobs per org, differences by
class next to what was seeded, and the worker's peak RSS. ``BENCH_PROFILE=file`` dumps the
worker's cProfile stats there.

Prints figures; asserts nothing. ``--records 1000000`` measures the million-record case (the
issue's targets: at least 20,000 records/s, at most 300 MB peak RSS).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from bulk_sync import seed  # noqa: E402
from engine import linked, setup_django  # noqa: E402

DRIFT, MISSING, DUPLICATE = 10, 5, 3


def backdated_clock(records: int):
    """sfemu's clock an hour (and a second per 500 records) behind the wall clock: see above."""
    from datetime import timedelta

    from sfemu.timeutil import Clock, utcnow

    class Backdated(Clock):
        offset = timedelta(seconds=3600 + records / 500)

        def now(self):
            return utcnow() - self.offset

    return Backdated()


WORKER = """
import json, os, sys, time
from bench.worker_peak import peak_rss_kb
import django
django.setup()
from replication.models import ReconcileRun
from replication.reconcile.runner import ReconcileRunner
waited = [0.0]
def sleep(seconds):  # time spent waiting for Salesforce to run the query jobs
    waited[0] += seconds
    time.sleep(seconds)
runner = ReconcileRunner(ReconcileRun.objects.get(pk=int(sys.argv[1])), sleep=sleep)
started = time.perf_counter()
if os.environ.get("BENCH_PROFILE"):  # a file name: the worker's cProfile stats go there
    import cProfile
    profile = cProfile.Profile()
    run = profile.runcall(runner.run)
    profile.dump_stats(os.environ["BENCH_PROFILE"])
else:
    run = runner.run()
print(json.dumps({"seconds": time.perf_counter() - started, "waited": waited[0],
                  "api_calls": runner.ctx.api_calls(), "status": run.status, "error": run.error,
                  "peak_rss_kb": peak_rss_kb()}))
"""


def carry(connection) -> float:
    """Bulk sync the primary's Accounts to the secondary, in this process; returns seconds."""
    from replication.bulksync.runner import BulkSyncRunner
    from replication.services.bulk_sync import bulk_sync_start

    started = time.perf_counter()
    bulk = BulkSyncRunner(bulk_sync_start(connection=connection, actor=None, run_in_worker=False)).run()
    if bulk.status != "completed":
        raise SystemExit(f"seeding bulk sync ended {bulk.status}: {bulk.error}")
    return time.perf_counter() - started


def seed_differences(connection, source, target) -> dict[str, int]:
    """Differences written straight into the orgs; returns what the reconcile should find."""
    from replication.models import EXTERNAL_ID_FIELD, RecordLink

    links = list(
        RecordLink.objects.filter(connection=connection, primary_object="Account")
        .order_by("pk")
        .values_list("primary_id", "secondary_id")[: DRIFT + DUPLICATE]
    )
    for n, (_, copy) in enumerate(links[:DRIFT]):
        target.org.update("Account", copy, {"Phone": f"555-DRIFT-{n}"}, user_id=target.user_id)
    for n, (origin, _) in enumerate(links[DRIFT:]):
        target.org.create(
            "Account", {"Name": f"Second copy {n}", EXTERNAL_ID_FIELD: origin[:15]}, user_id=target.user_id
        )
    for n in range(MISSING):
        source.org.create("Account", {"Name": f"Never synced {n}"}, user_id=source.user_id)
    return {"drift": DRIFT, "missing": MISSING, "duplicate": DUPLICATE}


def query_jobs(server, handle) -> int:
    """Bulk API 2.0 query jobs on Account the org has seen, listed like a client would."""
    http = server.http_session()
    http.headers["Authorization"] = f"Bearer {handle.new_access_token()}"
    url, jobs = f"{handle.instance_url}/services/data/v62.0/jobs/query", 0
    while url:
        body = http.get(url).json()
        jobs += sum(1 for job in body["records"] if job.get("object") == "Account")
        url = body.get("nextRecordsUrl") and f"{handle.instance_url}{body['nextRecordsUrl']}"
    return jobs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=100_000)
    args = parser.parse_args()
    os.environ["ORGSYNC_RECONCILE_SETTLE_SECONDS"] = "0"  # the worker inherits it
    with tempfile.TemporaryDirectory(prefix="orgsync-bench-reconcile-") as tmp_name:
        tmp = Path(tmp_name)
        setup_django(tmp)
        from replication.models import ReconcileRun, RecordLink
        from replication.services.reconcile import reconcile_start
        from sfemu.testing import start_server

        server = start_server(tmp / "sfemu", clock=backdated_clock(args.records))
        try:
            connection, source, target = linked(server)
            seconds = seed(server, source, args.records)
            print(f"seeded {args.records:,} Accounts in the primary in {seconds:.0f} s")
            seconds = carry(connection)
            print(
                f"bulk synced them to the secondary in {seconds:.0f} s ({RecordLink.objects.count():,} links)"
            )
            seeded = seed_differences(connection, source, target)
            orgs = {"primary": source, "secondary": target}
            jobs_before = {side: query_jobs(server, h) for side, h in orgs.items()}
            for handle in orgs.values():
                handle.reset_calls()
            run = reconcile_start(connection=connection, run_in_worker=False, repair=False)
            worker = subprocess.run(
                [sys.executable, "-c", WORKER, str(run.pk)], capture_output=True, text=True, cwd=HERE.parent
            )
            if worker.returncode != 0:
                print(worker.stderr[-3000:])
                raise SystemExit(worker.returncode)
            result = json.loads(worker.stdout.strip().splitlines()[-1])
            peak_mb = result["peak_rss_kb"] / 1024
            calls = {side: sum(h.calls().values()) for side, h in orgs.items()}
            jobs = {side: query_jobs(server, h) - jobs_before[side] for side, h in orgs.items()}
            run = ReconcileRun.objects.get(pk=run.pk)
            found: dict[str, int] = {}
            for by_kind in run.counts.values():
                for kind, n in by_kind.items():
                    found[kind] = found.get(kind, 0) + n
            print(
                f"reconcile of {args.records:,} Accounts: {result['status']}"
                f"{' (' + result['error'] + ')' if result['error'] else ''}, {result['seconds']:.1f} s = "
                f"{run.records_read / result['seconds']:,.0f} records/s compared "
                f"({run.records_read:,} records read in both orgs, {run.pairs_compared:,} pairs, "
                f"{run.in_flight:,} in flight)"
            )
            working = result["seconds"] - result["waited"]
            print(
                f"  of which {result['waited']:.1f} s waiting for the orgs to run the query jobs; the rest, "
                f"{working:.1f} s = {run.records_read / working:,.0f} records/s read and compared"
            )
            print(
                f"  API calls: {result['api_calls']} in all (the worker's count; sfemu counted "
                f"{calls['primary']} in the primary, {calls['secondary']} in the secondary)"
            )
            print(
                f"  Bulk query jobs: {jobs['primary']} in the primary, {jobs['secondary']} in the secondary"
            )
            print(f"  differences: {run.differences:,}, by class {dict(sorted(found.items()))}")
            print(f"  seeded:      {sum(seeded.values()):,}, by class {dict(sorted(seeded.items()))}")
            print(f"  worker peak RSS: {peak_mb:.0f} MB")
        finally:
            server.stop()


if __name__ == "__main__":
    main()

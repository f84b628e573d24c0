"""sfemu Bulk API 2.0 speed: ingest and query jobs over HTTPS, peak memory.

Runs an sfemu server (file-backed data dir in a temp dir, HTTPS, in a background thread) and
drives Bulk API 2.0 with plain HTTP like a client would:

1. insert job of ``--rows`` Accounts (one CSV upload): upload time, then records/s from
   UploadComplete to JobComplete (the background worker's processing rate);
2. upsert job of the same rows by an external id (all matches: updates): records/s;
3. query job over them: seconds until JobComplete and to download every page
   (``maxRecords`` 50,000 like simple-salesforce);
4. peak RSS of the process (server included: it runs in this process), with the RSS before the
   first job, so a flat memory profile shows as a small difference.

Prints figures; asserts nothing. ``--rows 20000`` makes a quicker run.
"""

from __future__ import annotations

import argparse
import io
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sfemu.testing import start_server

VERSION = "62.0"


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def rows_csv(rows: int, phase: str) -> bytes:
    out = io.StringIO()
    out.write("Bench_Key__c,Name,Industry,NumberOfEmployees,Phone\n")
    for i in range(rows):
        out.write(f"K{i:07d},Bench {i} {phase},Technology,{i % 5000},555-{i % 10000:04d}\n")
    return out.getvalue().encode()


def run_ingest(
    http, base: str, operation: str, data: bytes, ext: str | None = None
) -> tuple[float, float, dict]:
    """(upload seconds, processing seconds, final job info)."""
    body = {"object": "Account", "operation": operation, "contentType": "CSV", "lineEnding": "LF"}
    if ext:
        body["externalIdFieldName"] = ext
    job = http.post(f"{base}/jobs/ingest", json=body).json()
    t0 = time.perf_counter()
    resp = http.put(
        f"{base}/jobs/ingest/{job['id']}/batches", data=data, headers={"Content-Type": "text/csv"}
    )
    assert resp.status_code == 201, resp.text
    uploaded = time.perf_counter()
    http.patch(f"{base}/jobs/ingest/{job['id']}", json={"state": "UploadComplete"}).raise_for_status()
    while True:
        info = http.get(f"{base}/jobs/ingest/{job['id']}").json()
        if info["state"] in ("JobComplete", "Failed", "Aborted"):
            break
        time.sleep(0.05)
    return uploaded - t0, time.perf_counter() - uploaded, info


def run_query(http, base: str, soql: str) -> tuple[float, float, int]:
    t0 = time.perf_counter()
    job = http.post(f"{base}/jobs/query", json={"operation": "query", "query": soql}).json()
    while http.get(f"{base}/jobs/query/{job['id']}").json()["state"] not in ("JobComplete", "Failed"):
        time.sleep(0.05)
    done = time.perf_counter()
    locator, total = None, 0
    while locator != "null":
        params = {"maxRecords": 50000, **({"locator": locator} if locator else {})}
        resp = http.get(f"{base}/jobs/query/{job['id']}/results", params=params)
        total += int(resp.headers["Sforce-NumberOfRecords"])
        locator = resp.headers["Sforce-Locator"]
    return done - t0, time.perf_counter() - done, total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="sfemu-bench-") as tmp:
        server = start_server(Path(tmp) / "data")
        try:
            handle = server.create_org("bench")
            handle.org.add_custom_field(
                "Account", "Bench_Key__c", "text", length=40, external_id=True, unique=True
            )
            http = server.http_session()
            http.headers["Authorization"] = f"Bearer {handle.access_token}"
            base = f"{server.url}/services/data/v{VERSION}"
            data = rows_csv(args.rows, "insert")
            before = peak_rss_mb()
            print(
                f"rows: {args.rows:,}  CSV: {len(data) / 1e6:.1f} MB  peak RSS before jobs: {before:.0f} MB"
            )
            up, proc, info = run_ingest(http, base, "insert", data)
            print(
                f"insert: upload {up:.2f} s, processing {proc:.2f} s = {args.rows / proc:,.0f} records/s "
                f"(processed {info['numberRecordsProcessed']:,}, failed {info['numberRecordsFailed']:,})"
            )
            print(f"  peak RSS {peak_rss_mb():.0f} MB")
            data = rows_csv(args.rows, "update")
            up, proc, info = run_ingest(http, base, "upsert", data, "Bench_Key__c")
            print(
                f"upsert (all updates): upload {up:.2f} s, processing {proc:.2f} s = "
                f"{args.rows / proc:,.0f} records/s (failed {info['numberRecordsFailed']:,})"
            )
            print(f"  peak RSS {peak_rss_mb():.0f} MB")
            del data
            wait, fetch, total = run_query(
                http, base, "SELECT Id, Name, Bench_Key__c, Industry, Owner.Name FROM Account"
            )
            print(f"query: JobComplete after {wait:.2f} s, {total:,} rows downloaded in {fetch:.2f} s")
            print(f"peak RSS {peak_rss_mb():.0f} MB (before jobs {before:.0f} MB)")
        finally:
            server.stop()


if __name__ == "__main__":
    main()

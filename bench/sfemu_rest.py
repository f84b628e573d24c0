"""sfemu REST speed: collection upserts, SystemModstamp-window query pages, peak memory.

Runs an sfemu server (file-backed data dir in a temp dir, HTTPS, in a background thread) and
drives it over HTTP like a sync engine would:

1. ``PATCH /composite/sobjects/Account/Bench_Key__c`` with 200 records per request (new keys,
   then the same keys again as updates): records per second for each.
2. 100,000 Accounts loaded through the domain (back-dated, one SystemModstamp per second), then
   ``SELECT … FROM Account WHERE SystemModstamp >= A AND SystemModstamp < B ORDER BY SystemModstamp, Id``
   paged through ``nextRecordsUrl``: milliseconds for the first page and for follow-on pages.
3. Peak RSS of the process (server included: it runs in this process).

Prints figures; asserts nothing. ``--rows`` / ``--requests`` make a quicker run.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from statistics import median
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sfemu.schema.dml import Writer
from sfemu.testing import SfemuServer, start_server
from sfemu.timeutil import format_datetime

VERSION = "62.0"
BATCH = 200


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def bench_upserts(server: SfemuServer, token: str, requests_count: int) -> tuple[float, float]:
    """(records/s inserting, records/s updating) through 200-record collection upserts."""
    http = server.http_session()
    http.headers.update({"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    url = f"{server.url}/services/data/v{VERSION}/composite/sobjects/Account/Bench_Key__c"
    rates = []
    for phase in ("insert", "update"):
        started = time.perf_counter()
        for r in range(requests_count):
            records = [
                {
                    "attributes": {"type": "Account"},
                    "Bench_Key__c": f"K-{r:05d}-{i:03d}",
                    "Name": f"Bench {r}-{i} {phase}",
                    "Industry": "Technology",
                    "NumberOfEmployees": i,
                }
                for i in range(BATCH)
            ]
            resp = http.patch(url, json={"allOrNone": False, "records": records})
            resp.raise_for_status()
            failed = [x for x in resp.json() if not x["success"]]
            assert not failed, failed[:3]
        elapsed = time.perf_counter() - started
        rates.append(requests_count * BATCH / elapsed)
    return rates[0], rates[1]


def load_rows(server: SfemuServer, org_id: str, rows: int) -> tuple[str, str]:
    """``rows`` back-dated Accounts (one second apart); returns the stamps of row 25% and 75%."""
    org = server.instance.org(org_id)
    obj = org.schema.require("Account")
    admin = org.admin_user_id
    start = org.now() - timedelta(seconds=rows + 3600)
    writer = Writer(org, system=True)
    chunk = 5000
    for first in range(0, rows, chunk):
        n = min(chunk, rows - first)
        stamps = [format_datetime(start + timedelta(seconds=first + i)) for i in range(n)]
        values = [{"Name": f"Loaded {first + i}", "Industry": "Energy"} for i in range(n)]
        writer.insert_many(obj, values, admin, stamps=stamps, check_references=False)
    lo = format_datetime(start + timedelta(seconds=rows // 4))
    hi = format_datetime(start + timedelta(seconds=3 * rows // 4))
    return lo, hi


def bench_query(server: SfemuServer, token: str, lo: str, hi: str, pages: int) -> tuple[float, float, int]:
    """(ms first page, median ms of follow-on pages, total size) of a SystemModstamp window."""
    http = server.http_session()
    http.headers.update({"Authorization": f"Bearer {token}"})
    soql = (
        "SELECT Id, Name, Industry, SystemModstamp FROM Account "
        f"WHERE SystemModstamp >= {lo.replace('.000+0000', 'Z')} "
        f"AND SystemModstamp < {hi.replace('.000+0000', 'Z')} ORDER BY SystemModstamp, Id"
    )
    started = time.perf_counter()
    resp = http.get(f"{server.url}/services/data/v{VERSION}/query?q={quote(soql)}")
    first_ms = (time.perf_counter() - started) * 1000
    resp.raise_for_status()
    body = resp.json()
    total = body["totalSize"]
    assert len(body["records"]) == 2000, len(body["records"])
    times = []
    while not body["done"] and len(times) < pages:
        started = time.perf_counter()
        resp = http.get(server.url + body["nextRecordsUrl"])
        times.append((time.perf_counter() - started) * 1000)
        resp.raise_for_status()
        body = resp.json()
    return first_ms, median(times) if times else 0.0, total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=100_000, help="Accounts loaded for the query bench")
    parser.add_argument("--requests", type=int, default=25, help="200-record upsert requests per phase")
    parser.add_argument("--pages", type=int, default=5, help="follow-on query pages timed")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="sfemu-bench-") as tmp:
        server = start_server(Path(tmp) / "data", tls_dir=Path(tmp) / "tls")
        try:
            handle = server.create_org("bench")
            handle.org.add_custom_field(
                "Account", "Bench_Key__c", "text", length=40, external_id=True, unique=True
            )
            insert_rate, update_rate = bench_upserts(server, handle.access_token, args.requests)
            print(f"collection upsert, 200/request, insert: {insert_rate:8.0f} records/s")
            print(f"collection upsert, 200/request, update: {update_rate:8.0f} records/s")
            started = time.perf_counter()
            lo, hi = load_rows(server, handle.org_id, args.rows)
            print(f"loaded {args.rows} Accounts through the domain in {time.perf_counter() - started:.1f} s")
            first_ms, next_ms, total = bench_query(server, handle.access_token, lo, hi, args.pages)
            print(
                f"SystemModstamp window query over {args.rows} rows ({total} match): "
                f"first 2000-row page {first_ms:.0f} ms, next pages {next_ms:.0f} ms (median)"
            )
            print(f"peak RSS: {peak_rss_mb():.0f} MB")
        finally:
            server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

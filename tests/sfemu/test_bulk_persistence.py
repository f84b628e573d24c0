"""Bulk jobs survive a restart in file mode: an interrupted InProgress job resumes from its last
committed chunk (no record written twice), an Open job can still be closed over HTTP."""

from __future__ import annotations

import csv
import io
import time
from pathlib import Path

import pytest

from sfemu.bulk import ingest
from sfemu.bulk.service import BulkService, service_for
from sfemu.instance import Instance
from sfemu.testing import start_server

ROWS = 1_000


class Crash(BaseException):
    """Stands for the process dying in the middle of a chunk."""


def test_in_progress_job_resumes_after_a_crash(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data_dir = tmp_path / "data"
    instance = Instance(data_dir)
    creds = instance.create_org("resume")
    org = instance.org(creds.org_id)
    bulk = BulkService(instance, workers=0)  # nothing runs by itself: the test drives the worker
    job = bulk.create_ingest(org, creds.admin_user_id, "62.0", {"object": "Account", "operation": "insert"})
    spool = bulk.spool_path(job)
    spool.write_bytes(("Name\n" + "".join(f"Resume {i}\n" for i in range(ROWS))).encode())
    bulk.finish_upload(org, job.id, spool, spool.stat().st_size)
    bulk.set_state(org, "ingest", job.id, {"state": "UploadComplete"})

    calls = {"n": 0}
    real_one = ingest.IngestRun._one

    def crashing_one(self, row, op):
        calls["n"] += 1
        if calls["n"] == 450:  # in the third chunk of 200
            raise Crash
        real_one(self, row, op)

    monkeypatch.setattr(ingest.IngestRun, "_one", crashing_one)
    with pytest.raises(Crash):
        bulk._run(job.id)
    monkeypatch.setattr(ingest.IngestRun, "_one", real_one)
    interrupted = bulk.jobs.get(job.id)
    assert (interrupted.state, interrupted.processed) == ("InProgress", 400)
    assert org.record_counts(["Account"]) == {"Account": 400}
    instance.close()

    instance = Instance(data_dir)
    try:
        org = instance.org(creds.org_id)
        resumed = service_for(instance)
        assert resumed.wait_idle(timeout=60)
        info = resumed.job(org, "ingest", job.id).info()
        assert (info["state"], info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (
            "JobComplete",
            ROWS,
            0,
        )
        assert info["retries"] == 1
        assert org.record_counts(["Account"]) == {"Account": ROWS}
        body = b"".join(resumed.ingest_results(org, job.id, "successfulresults")).decode()
        results = list(csv.DictReader(io.StringIO(body)))
        assert len(results) == ROWS
        assert len({r["sf__Id"] for r in results}) == ROWS
        assert sorted(r["Name"] for r in results) == sorted(f"Resume {i}" for i in range(ROWS))
    finally:
        instance.close()


def test_open_job_survives_server_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    server = start_server(data_dir)
    try:
        handle = server.create_org("restart")
        http = server.http_session()
        http.headers["Authorization"] = f"Bearer {handle.access_token}"
        base = f"{server.url}/services/data/v62.0/jobs/ingest"
        job = http.post(base, json={"object": "Account", "operation": "insert"}).json()
        put = http.put(
            f"{base}/{job['id']}/batches", data=b"Name\nAfter restart\n", headers={"Content-Type": "text/csv"}
        )
        assert put.status_code == 201
    finally:
        server.stop()

    server = start_server(data_dir)
    try:
        token = server.state.auth.issue_access_token(handle.org_id, handle.user_id, scope="api")
        http = server.http_session()
        http.headers["Authorization"] = f"Bearer {token}"
        base = f"{server.url}/services/data/v62.0/jobs/ingest"
        assert http.get(f"{base}/{job['id']}").json()["state"] == "Open"
        assert http.patch(f"{base}/{job['id']}", json={"state": "UploadComplete"}).status_code == 200
        deadline = time.monotonic() + 30
        while (info := http.get(f"{base}/{job['id']}").json())["state"] != "JobComplete":
            assert time.monotonic() < deadline, info
            time.sleep(0.02)
        assert info["numberRecordsProcessed"] == 1
    finally:
        server.stop()

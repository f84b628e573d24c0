"""Bulk API 2.0 with unmodified jsforce (``conn.bulk2``) against sfemu: ``tests/sfemu/js/bulk2.mjs``
runs under node and writes each step's outcome as JSON. Needs ``npm ci --prefix tests/sfemu/js``."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from sfemu.testing import OrgHandle, SfemuServer

JS_DIR = Path(__file__).parent / "js"
COUNT = 500


@pytest.fixture(scope="module")
def js(sfemu_server: SfemuServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    node = shutil.which("node") or "/usr/bin/node"
    assert Path(node).exists(), "node is required for the jsforce acceptance tests"
    assert (JS_DIR / "node_modules" / "jsforce").is_dir(), "run `npm ci --prefix tests/sfemu/js`"
    org: OrgHandle = sfemu_server.create_org("jsforce-bulk2")
    out = tmp_path_factory.mktemp("jsforce-bulk2") / "bulk2.json"
    config = {"url": sfemu_server.url, "accessToken": org.access_token, "version": "62.0", "count": COUNT}
    env = {
        **os.environ,
        "NODE_EXTRA_CA_CERTS": str(sfemu_server.ca_path),
        "SFEMU_JS_CONFIG": json.dumps(config),
    }
    for proxy in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        env.pop(proxy, None)
    proc = subprocess.run(
        [node, str(JS_DIR / "bulk2.mjs"), str(out)],
        cwd=JS_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"node failed:\n{proc.stdout}\n{proc.stderr}"
    results = json.loads(out.read_text())
    assert "fatal" not in results, results["fatal"]
    return results


def ok(results: dict[str, Any], name: str) -> Any:
    outcome = results[name]
    assert outcome["ok"], outcome
    return outcome["value"]


def test_load_and_wait_for_results(js) -> None:
    value = ok(js, "insert")
    assert (value["successful"], value["failed"], value["unprocessed"]) == (COUNT, 1, 0)
    assert value["firstSuccess"]["sf__Created"] == "true"
    assert len(value["firstSuccess"]["sf__Id"]) == 18
    assert value["firstFailure"]["sf__Error"] == (
        "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --"
    )


def test_query_streams_every_record(js) -> None:
    value = ok(js, "query")
    assert value["count"] == COUNT
    assert set(value["first"]) == {"Id", "Name", "NumberOfEmployees"}


def test_job_check_after_completion(js) -> None:
    info = ok(js, "jobInfo")
    assert (info["state"], info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (
        "JobComplete",
        2,
        0,
    )
    assert info["jobType"] == "V2Ingest"


def test_abort_open_job(js) -> None:
    assert ok(js, "abortCompleted")["state"] == "Aborted"

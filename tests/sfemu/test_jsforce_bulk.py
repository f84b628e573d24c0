"""Bulk API 2.0 with unmodified jsforce (``conn.bulk2``) against sfemu: ``tests/sfemu/js/bulk2.mjs``
runs under node and writes each step's outcome as JSON. Needs ``npm ci --prefix tests/sfemu/js``."""

from __future__ import annotations

from typing import Any

import pytest

from sfemu.testing import OrgHandle, SfemuServer
from tests.sfemu.jsforce_runner import ok, run_script

COUNT = 500


@pytest.fixture(scope="module")
def js(sfemu_server: SfemuServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    org: OrgHandle = sfemu_server.create_org("jsforce-bulk2")
    out = tmp_path_factory.mktemp("jsforce-bulk2") / "bulk2.json"
    config = {"url": sfemu_server.url, "accessToken": org.access_token, "version": "62.0", "count": COUNT}
    return run_script(sfemu_server, "bulk2.mjs", config, out)


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

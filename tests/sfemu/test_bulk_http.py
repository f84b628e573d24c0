"""Bulk API 2.0 shapes, states and errors over raw HTTP, checked against the recorded lifecycle
(REC:mohan-chinnappan-cli-dx/bulk2_ingest_update_and_query_lifecycle.yaml and
rest_misc_real_responses.yaml)."""

from __future__ import annotations

import re
import time
from typing import Any

import pytest
import requests

from sfemu.bulk import ingest, service
from sfemu.testing import OrgHandle, SfemuServer
from sfemu.timeutil import parse_datetime

VERSION = "62.0"
SF_DATETIME = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000\+0000$")
CREATE_KEYS = [
    "id", "operation", "object", "createdById", "createdDate", "systemModstamp", "state",
    "concurrencyMode", "contentType", "apiVersion", "contentUrl", "lineEnding", "columnDelimiter",
]  # fmt: skip
OPEN_INFO_KEYS = [
    "id", "operation", "object", "createdById", "createdDate", "systemModstamp", "state",
    "concurrencyMode", "contentType", "apiVersion", "jobType", "contentUrl", "lineEnding",
    "columnDelimiter", "retries", "totalProcessingTime", "apiActiveProcessingTime", "apexProcessingTime",
]  # fmt: skip
DONE_INFO_KEYS = [
    "id", "operation", "object", "createdById", "createdDate", "systemModstamp", "state",
    "concurrencyMode", "contentType", "apiVersion", "jobType", "lineEnding", "columnDelimiter",
    "numberRecordsProcessed", "numberRecordsFailed", "retries", "totalProcessingTime",
    "apiActiveProcessingTime", "apexProcessingTime",
]  # fmt: skip
PATCH_KEYS = [
    "id", "operation", "object", "createdById", "createdDate", "systemModstamp", "state",
    "concurrencyMode", "contentType", "apiVersion",
]  # fmt: skip


@pytest.fixture(scope="module")
def org(sfemu_server: SfemuServer) -> OrgHandle:
    handle = sfemu_server.create_org("bulk2-http")
    handle.org.add_custom_field("Account", "Ext__c", "text", length=40, external_id=True, unique=True)
    return handle


@pytest.fixture(scope="module")
def api(sfemu_server: SfemuServer, org: OrgHandle) -> requests.Session:
    session = sfemu_server.http_session()
    session.headers["Authorization"] = f"Bearer {org.access_token}"
    return session


@pytest.fixture(scope="module")
def base(sfemu_server: SfemuServer) -> str:
    return f"{sfemu_server.url}/services/data/v{VERSION}/jobs"


def create(api: requests.Session, base: str, **body: Any) -> dict:
    resp = api.post(f"{base}/ingest", json={"object": "Account", "contentType": "CSV", **body})
    assert resp.status_code == 200, resp.text
    return resp.json()


def wait_done(api: requests.Session, url: str) -> dict:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        info = api.get(url).json()
        if info["state"] in ("JobComplete", "Failed", "Aborted"):
            return info
        time.sleep(0.02)
    raise AssertionError(f"job did not finish: {info}")


def run_ingest(api: requests.Session, base: str, data: str, **body: Any) -> dict:
    job = create(api, base, **body)
    url = f"{base}/ingest/{job['id']}"
    assert (
        api.put(f"{url}/batches", data=data.encode(), headers={"Content-Type": "text/csv"}).status_code == 201
    )
    assert api.patch(url, json={"state": "UploadComplete"}).status_code == 200
    return wait_done(api, url)


def accounts(org: OrgHandle, n: int, prefix: str) -> list[str]:
    return [org.org.create("Account", {"Name": f"{prefix} {i}"}, user_id=org.user_id) for i in range(n)]


def test_update_lifecycle_matches_recording(api, base, org) -> None:
    ids = accounts(org, 4, "Lifecycle")
    job = create(api, base, operation="update", lineEnding="LF")
    assert list(job) == CREATE_KEYS
    assert job["id"].startswith("750") and len(job["id"]) == 18
    assert job["state"] == "Open" and job["apiVersion"] == 62.0
    assert (job["concurrencyMode"], job["contentType"], job["columnDelimiter"]) == (
        "Parallel",
        "CSV",
        "COMMA",
    )
    assert job["contentUrl"] == f"services/data/v{VERSION}/jobs/ingest/{job['id']}/batches"
    assert job["createdById"] == org.user_id
    assert SF_DATETIME.match(job["createdDate"]) and SF_DATETIME.match(job["systemModstamp"])
    url = f"{base}/ingest/{job['id']}"

    info = api.get(url).json()
    assert list(info) == OPEN_INFO_KEYS and info["jobType"] == "V2Ingest"
    assert (info["retries"], info["totalProcessingTime"], info["apexProcessingTime"]) == (0, 0, 0)

    data = "Id,Phone\n" + "".join(f"{rid},88{i}-222-239{i}\n" for i, rid in enumerate(ids)) + "\n"
    content_url = f"{api_root(base)}/{job['contentUrl']}"
    resp = api.put(content_url, data=data, headers={"Content-Type": "text/csv"})
    assert (resp.status_code, resp.content) == (201, b"")
    info = api.get(url).json()
    assert info["state"] == "Open"
    assert (info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (0, 0)
    assert list(info).index("numberRecordsProcessed") == list(info).index("columnDelimiter") + 1

    closed = api.patch(url, json={"state": "UploadComplete"})
    assert closed.status_code == 200
    assert list(closed.json()) == PATCH_KEYS and closed.json()["state"] == "UploadComplete"

    done = wait_done(api, url)
    assert list(done) == DONE_INFO_KEYS
    assert (done["state"], done["numberRecordsProcessed"], done["numberRecordsFailed"]) == (
        "JobComplete",
        4,
        0,
    )
    failed = api.get(f"{url}/failedResults", headers={"Accept": "text/csv"})
    assert failed.status_code == 200 and failed.headers["Content-Type"].startswith("text/csv")
    assert failed.text == '"sf__Id","sf__Error",Id,Phone\n'
    assert api.get(f"{url}/unprocessedrecords/").text == "Id,Phone\n"
    ok = api.get(f"{url}/successfulResults/").text.splitlines()
    assert ok[0] == '"sf__Id","sf__Created",Id,Phone'
    assert ok[1] == f'"{ids[0]}","false","{ids[0]}","880-222-2390"'
    assert org.org.get("Account", ids[3])["Phone"] == "883-222-2393"

    aborted = api.patch(url, json={"state": "Aborted"})
    assert aborted.status_code == 400
    assert aborted.json() == [
        {"message": "Aborting already Completed Job not allowed", "errorCode": "INVALIDJOBSTATE"}
    ]


def api_root(base: str) -> str:
    return base.split("/services/data/")[0]


def test_list_jobs(api, base) -> None:
    job = create(api, base, operation="insert")
    body = api.get(f"{base}/ingest").json()
    assert list(body) == ["done", "records", "nextRecordsUrl"]
    assert body["done"] is True and body["nextRecordsUrl"] is None
    entry = next(r for r in body["records"] if r["id"] == job["id"])
    assert list(entry) == [
        "id", "operation", "object", "createdById", "createdDate", "systemModstamp", "state",
        "concurrencyMode", "contentType", "apiVersion", "jobType", "lineEnding", "columnDelimiter",
    ]  # fmt: skip
    assert all(r["jobType"] == "V2Ingest" for r in body["records"])


def test_upsert_job_info_has_external_id_field(api, base) -> None:
    job = create(api, base, operation="upsert", externalIdFieldName="ext__c")
    assert list(job)[7] == "externalIdFieldName" and job["externalIdFieldName"] == "Ext__c"
    bad = api.post(
        f"{base}/ingest", json={"object": "Account", "operation": "upsert", "externalIdFieldName": "Name"}
    )
    assert bad.status_code == 400 and bad.json()[0]["errorCode"] == "INVALIDJOB"
    missing = api.post(f"{base}/ingest", json={"object": "Account", "operation": "upsert"})
    assert missing.json()[0]["message"].startswith("InvalidJob : External ID was blank for Account")


def test_create_errors(api, base) -> None:
    resp = api.post(f"{base}/ingest", json={"object": "Nope__c", "operation": "insert"})
    assert resp.status_code == 400 and resp.json()[0]["errorCode"] == "INVALIDENTITY"
    resp = api.post(f"{base}/ingest", json={"object": "Account", "operation": "merge"})
    assert resp.status_code == 400 and resp.json()[0]["errorCode"] == "JSON_PARSER_ERROR"
    resp = api.post(
        f"{base}/ingest", json={"object": "Account", "operation": "insert", "columnDelimiter": "X"}
    )
    assert resp.status_code == 400
    resp = api.get(f"{base}/ingest/750000000000000AAA")
    assert resp.status_code == 404 and resp.json()[0]["errorCode"] == "NOT_FOUND"


def test_unknown_column_fails_the_job(api, base) -> None:
    info = run_ingest(api, base, "Name,Bogus__c\nA,1\nB,2\n", operation="insert")
    assert info["state"] == "Failed"
    assert info["errorMessage"] == "InvalidBatch : Field name not found : Bogus__c"
    assert list(info)[-1] == "errorMessage" and info["numberRecordsProcessed"] == 0
    url = f"{base}/ingest/{info['id']}"
    assert api.get(f"{url}/unprocessedrecords").text == "Name,Bogus__c\nA,1\nB,2\n"
    assert api.get(f"{url}/successfulResults").text == '"sf__Id","sf__Created",Name,Bogus__c\n'


def test_line_ending_mismatch_fails_the_job(api, base) -> None:
    info = run_ingest(api, base, "Name\r\nA\r\n", operation="insert", lineEnding="LF")
    assert info["state"] == "Failed"
    assert info["errorMessage"] == (
        "ClientInputError : LineEnding is invalid on user data. Current LineEnding setting is LF"
    )


def test_semicolon_delimiter_and_quoted_newlines(api, base, org) -> None:
    data = 'Name;Description\n"Multi;line";"one\ntwo"\n'
    info = run_ingest(api, base, data, operation="insert", columnDelimiter="SEMICOLON")
    assert (info["state"], info["numberRecordsProcessed"], info["numberRecordsFailed"]) == (
        "JobComplete",
        1,
        0,
    )
    ok = api.get(f"{base}/ingest/{info['id']}/successfulResults").text
    rid = ok.splitlines()[1].split(";")[0].strip('"')
    assert org.org.get("Account", rid)["Description"] == "one\ntwo"


def test_multiple_uploads_fail_the_close(api, base) -> None:
    job = create(api, base, operation="insert")
    url = f"{base}/ingest/{job['id']}"
    for _ in range(2):
        assert (
            api.put(f"{url}/batches", data=b"Name\nX\n", headers={"Content-Type": "text/csv"}).status_code
            == 201
        )
    resp = api.patch(url, json={"state": "UploadComplete"})
    assert resp.status_code == 400
    [err] = resp.json()
    assert err["errorCode"] == "INVALIDJOBSTATE"
    assert err["message"].startswith(f"Found multiple contents for job: <{job['id']}>")


def test_abort_open_job_then_upload_and_delete(api, base) -> None:
    job = create(api, base, operation="insert")
    url = f"{base}/ingest/{job['id']}"
    resp = api.patch(url, json={"state": "Aborted"})
    assert resp.status_code == 200 and resp.json()["state"] == "Aborted"
    upload = api.put(f"{url}/batches", data=b"Name\nX\n", headers={"Content-Type": "text/csv"})
    assert upload.status_code == 400 and upload.json()[0]["errorCode"] == "INVALIDJOBSTATE"
    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404


def test_delete_open_job_refused(api, base) -> None:
    job = create(api, base, operation="insert")
    resp = api.delete(f"{base}/ingest/{job['id']}")
    assert resp.status_code == 400 and resp.json()[0]["errorCode"] == "INVALIDJOBSTATE"


def test_upload_size_limit(api, base, monkeypatch) -> None:
    monkeypatch.setattr(service, "MAX_UPLOAD_BASE64", 64)
    job = create(api, base, operation="insert")
    resp = api.put(
        f"{base}/ingest/{job['id']}/batches",
        data=b"Name\n" + b"x" * 100 + b"\n",
        headers={"Content-Type": "text/csv"},
    )
    assert resp.status_code == 400
    assert resp.json()[0]["message"] == "Failed to read request. Exceeded max size limit of 64"


def test_query_job_lifecycle(api, base, org) -> None:
    for i in range(5):
        org.org.create(
            "Account", {"Name": f"QJob {i}", "Phone": "" if i == 0 else f"88{i}"}, user_id=org.user_id
        )
    resp = api.post(
        f"{base}/query",
        json={
            "operation": "query",
            "query": "SELECT Id,Name, Phone from Account WHERE Name LIKE 'QJob%' ORDER BY Name",
        },
        headers={"Accept": "text/csv"},
    )
    assert resp.status_code == 200
    job = resp.json()
    assert list(job) == [
        "id", "operation", "object", "createdById", "createdDate", "systemModstamp", "state",
        "concurrencyMode", "contentType", "apiVersion", "lineEnding", "columnDelimiter",
    ]  # fmt: skip
    assert (job["state"], job["object"], job["operation"]) == ("UploadComplete", "Account", "query")
    url = f"{base}/query/{job['id']}"
    done = wait_done(api, url)
    assert list(done) == [
        "id", "operation", "object", "createdById", "createdDate", "systemModstamp", "state",
        "concurrencyMode", "contentType", "apiVersion", "jobType", "lineEnding", "columnDelimiter",
        "numberRecordsProcessed", "retries", "totalProcessingTime",
    ]  # fmt: skip
    assert (done["jobType"], done["numberRecordsProcessed"]) == ("V2Query", 5)
    page = api.get(f"{url}/results", params={"maxRecords": 2})
    assert page.headers["Sforce-NumberOfRecords"] == "2"
    locator = page.headers["Sforce-Locator"]
    assert locator not in ("", "null")
    assert page.text.startswith('"Id","Name","Phone"\n"')
    assert page.text.splitlines()[1].endswith('"QJob 0",""')
    seen = page.text.splitlines()[1:]
    while locator != "null":
        page = api.get(f"{url}/results", params={"maxRecords": 2, "locator": locator})
        assert page.text.splitlines()[0] == '"Id","Name","Phone"'
        seen += page.text.splitlines()[1:]
        locator = page.headers["Sforce-Locator"]
    assert page.headers["Sforce-NumberOfRecords"] == "1"
    assert [line.split(",")[1] for line in seen] == [f'"QJob {i}"' for i in range(5)]
    whole = api.get(f"{url}/results")
    assert whole.headers["Sforce-Locator"] == "null" and whole.headers["Sforce-NumberOfRecords"] == "5"
    assert api.get(f"{base}/query").json()["records"][-1]["jobType"] == "V2Query"
    aborted = api.patch(url, json={"state": "Aborted"})
    assert aborted.status_code == 400 and aborted.json()[0]["errorCode"] == "INVALIDJOBSTATE"
    assert api.delete(url).status_code == 204
    assert api.get(url).status_code == 404


def test_query_job_errors(api, base) -> None:
    resp = api.post(f"{base}/query", json={"operation": "query", "query": "SELECT Bogus FROM Account"})
    assert resp.status_code == 400 and resp.json()[0]["errorCode"] == "INVALID_FIELD"
    resp = api.post(f"{base}/query", json={"operation": "query", "query": "SELECT COUNT() FROM Account"})
    assert resp.status_code == 400
    job = api.post(
        f"{base}/query", json={"operation": "query", "query": "SELECT BillingAddress FROM Account"}
    )
    info = wait_done(api, f"{base}/query/{job.json()['id']}")
    assert (info["state"], info["errorMessage"]) == (
        "Failed",
        "Selecting compound data not supported in Bulk Query",
    )


def test_auth_and_metering(sfemu_server, api, base, org) -> None:
    anonymous = sfemu_server.http_session().get(f"{base}/ingest")
    assert anonymous.status_code == 401 and anonymous.json()[0]["errorCode"] == "INVALID_SESSION_ID"
    first = api.get(f"{base}/ingest").headers["Sforce-Limit-Info"]
    second = api.get(f"{base}/ingest").headers["Sforce-Limit-Info"]
    used = [int(h.split("=")[1].split("/")[0]) for h in (first, second)]
    assert used[1] == used[0] + 1
    assert api.get(f"{sfemu_server.url}/services/data/v40.0/jobs/ingest").status_code == 404


def test_a_chunk_of_records_shares_one_stamp_never_ahead_of_the_clock(api, base, org) -> None:
    """Salesforce stamps the records of one transaction alike: a 1,000-record insert job has one
    SystemModstamp per 200-record chunk, none later than the org's clock. (A millisecond per
    record ran a fast bulk load's stamps ahead of the clock, past the `Date` of later queries.)"""
    info = run_ingest(
        api, base, "Name\n" + "".join(f"Stamped {n}\n" for n in range(1_000)), operation="insert"
    )
    assert info["numberRecordsProcessed"] == 1_000 and info["numberRecordsFailed"] == 0
    rows = org.org.query(
        "SELECT SystemModstamp, CreatedDate FROM Account WHERE Name LIKE 'Stamped %'", api_version=VERSION
    ).records
    stamps = {r["SystemModstamp"] for r in rows}
    assert len(rows) == 1_000 and len(stamps) == 1_000 // ingest.CHUNK  # one per chunk, each its own
    assert max(parse_datetime(s) for s in stamps) <= org.org.now()
    assert all(r["CreatedDate"] == r["SystemModstamp"] for r in rows)


def test_calls_are_answered_while_an_ingest_job_runs(api, base) -> None:
    """Salesforce answers a status poll or a new job while a job runs. The job's worker commits
    200-record chunks back to back; the API's own writes (call metering, the new job) wait for
    their turn between two chunks, not for the whole job."""
    job = create(api, base, operation="insert")
    url = f"{base}/ingest/{job['id']}"
    data = "Name\n" + "".join(f"Busy {n}\n" for n in range(4_000))
    uploaded = api.put(f"{url}/batches", data=data.encode(), headers={"Content-Type": "text/csv"})
    assert uploaded.status_code == 201
    assert api.patch(url, json={"state": "UploadComplete"}).status_code == 200
    while (info := api.get(url).json())["state"] == "UploadComplete":
        time.sleep(0.01)
    second = create(api, base, operation="insert")
    during = api.get(url).json()
    assert info["state"] == during["state"] == "InProgress", (info, during)
    assert during["numberRecordsProcessed"] < 4_000
    assert second["state"] == "Open"
    assert api.patch(f"{base}/ingest/{second['id']}", json={"state": "Aborted"}).status_code == 200
    assert wait_done(api, url)["numberRecordsProcessed"] == 4_000

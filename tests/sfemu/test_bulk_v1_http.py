"""Bulk API v1 over raw HTTP: the XML / JSON documents, errors, XML batches and the PK chunking header."""

from __future__ import annotations

import json
import time
from xml.etree import ElementTree

import pytest
import requests

from sfemu.bulk import ingest
from sfemu.testing import OrgHandle, SfemuServer
from sfemu.timeutil import parse_datetime

NS = "http://www.force.com/2009/06/asyncapi/dataload"
Q = f"{{{NS}}}"
JOB_ORDER = [
    "id",
    "operation",
    "object",
    "createdById",
    "createdDate",
    "systemModstamp",
    "state",
    "concurrencyMode",
    "contentType",
    "numberBatchesQueued",
    "numberBatchesInProgress",
    "numberBatchesCompleted",
    "numberBatchesFailed",
    "numberBatchesTotal",
    "numberRecordsProcessed",
    "numberRetries",
    "apiVersion",
    "numberRecordsFailed",
    "totalProcessingTime",
    "apiActiveProcessingTime",
    "apexProcessingTime",
]


@pytest.fixture(scope="module")
def org(sfemu_server: SfemuServer) -> OrgHandle:
    return sfemu_server.create_org("bulk-v1-http")


@pytest.fixture(scope="module")
def http(sfemu_server: SfemuServer) -> requests.Session:
    return sfemu_server.http_session()


@pytest.fixture(scope="module")
def base(org: OrgHandle) -> str:
    return f"{org.instance_url}/services/async/62.0/job"


def xml_headers(org: OrgHandle, **extra: str) -> dict[str, str]:
    return {"X-SFDC-Session": org.access_token, "Content-Type": "application/xml; charset=UTF-8", **extra}


def job_doc(**fields: str) -> str:
    body = "".join(f"<{k}>{v}</{k}>" for k, v in fields.items())
    return f'<?xml version="1.0" encoding="UTF-8"?><jobInfo xmlns="{NS}">{body}</jobInfo>'


def children(resp: requests.Response, root: str) -> dict[str, str]:
    tree = ElementTree.fromstring(resp.content)
    assert tree.tag == Q + root
    return {child.tag.removeprefix(Q): child.text or "" for child in tree}


def settle(http: requests.Session, url: str, headers: dict[str, str]) -> ElementTree.Element:
    deadline = time.monotonic() + 30
    while True:
        tree = ElementTree.fromstring(http.get(url, headers=headers).content)
        states = [b.findtext(Q + "state") for b in tree]
        if states and all(s in ("Completed", "Failed", "NotProcessed") for s in states):
            return tree
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_job_info_xml_shape_and_life_cycle(http: requests.Session, base: str, org: OrgHandle) -> None:
    resp = http.post(
        base, headers=xml_headers(org), data=job_doc(operation="insert", object="Account", contentType="XML")
    )
    assert resp.status_code == 201
    assert resp.headers["Content-Type"] == "application/xml"
    info = children(resp, "jobInfo")
    assert list(info) == JOB_ORDER
    assert info["id"].startswith("750") and len(info["id"]) == 18
    assert (info["state"], info["concurrencyMode"], info["apiVersion"]) == ("Open", "Parallel", "62.0")
    assert info["createdDate"].endswith(".000Z")
    job = info["id"]

    sobjects = (
        f'<sObjects xmlns="{NS}"><sObject><Name>XML One</Name><Phone>111</Phone></sObject>'
        "<sObject><Phone>no name</Phone></sObject></sObjects>"
    )
    resp = http.post(f"{base}/{job}/batch", headers=xml_headers(org), data=sobjects)
    assert resp.status_code == 201
    batch = children(resp, "batchInfo")
    assert list(batch)[:3] == ["id", "jobId", "state"] and batch["state"] == "Queued"
    assert batch["id"].startswith("751") and batch["jobId"] == job

    tree = settle(http, f"{base}/{job}/batch", xml_headers(org))
    assert tree.tag == Q + "batchInfoList"
    done = {c.tag.removeprefix(Q): c.text for c in tree[0]}
    assert (done["state"], done["numberRecordsProcessed"], done["numberRecordsFailed"]) == (
        "Completed",
        "2",
        "1",
    )

    resp = http.get(f"{base}/{job}/batch/{batch['id']}/result", headers=xml_headers(org))
    results = ElementTree.fromstring(resp.content)
    assert results.tag == Q + "results"
    first, second = results
    assert first.findtext(Q + "success") == "true" and first.findtext(Q + "created") == "true"
    created_id = first.findtext(Q + "id")
    assert second.findtext(Q + "success") == "false"
    assert second.findtext(f"{Q}errors/{Q}statusCode") == "REQUIRED_FIELD_MISSING"
    assert second.findtext(f"{Q}errors/{Q}fields") == "Name"
    rest = http.get(
        f"{org.instance_url}/services/data/v62.0/sobjects/Account/{created_id}",
        headers={"Authorization": f"Bearer {org.access_token}"},
    ).json()
    assert (rest["Name"], rest["Phone"]) == ("XML One", "111")

    request = http.get(f"{base}/{job}/batch/{batch['id']}/request", headers=xml_headers(org))
    assert request.text == sobjects

    closed = children(
        http.post(f"{base}/{job}", headers=xml_headers(org), data=job_doc(state="Closed")), "jobInfo"
    )
    assert closed["state"] == "Closed"
    assert (
        closed["numberBatchesCompleted"],
        closed["numberBatchesTotal"],
        closed["numberRecordsProcessed"],
    ) == (
        "1",
        "1",
        "2",
    )
    again = http.post(f"{base}/{job}/batch", headers=xml_headers(org), data=sobjects)
    assert again.status_code == 400
    assert children(again, "error")["exceptionCode"] == "InvalidJobState"


def test_errors_are_xml_or_json(http: requests.Session, base: str, org: OrgHandle) -> None:
    resp = http.post(
        base, headers={"X-SFDC-Session": "bogus", "Content-Type": "application/xml"}, data=job_doc()
    )
    assert resp.status_code == 400
    assert resp.headers["Content-Type"] == "application/xml"
    assert children(resp, "error") == {
        "exceptionCode": "InvalidSessionId",
        "exceptionMessage": "Invalid session id",
    }
    resp = http.get(f"{base}/750000000000000AAA", headers={"X-SFDC-Session": org.access_token + "x"})
    assert children(resp, "error")["exceptionCode"] == "InvalidSessionId"

    resp = http.post(base, headers={"X-SFDC-Session": "bogus", "Content-Type": "application/json"}, data="{}")
    assert resp.status_code == 400 and resp.headers["Content-Type"] == "application/json"
    assert resp.json() == {"exceptionCode": "InvalidSessionId", "exceptionMessage": "Invalid session id"}

    resp = http.post(
        base, headers=xml_headers(org), data=job_doc(operation="insert", object="NoSuchThing__c")
    )
    assert children(resp, "error") == {
        "exceptionCode": "InvalidJob",
        "exceptionMessage": "Unable to find object: NoSuchThing__c",
    }
    resp = http.get(f"{base}/750000000000000AAA", headers=xml_headers(org))
    assert resp.status_code == 400 and children(resp, "error")["exceptionCode"] == "InvalidJob"


def test_json_job_abort_marks_queued_batches_not_processed(
    http: requests.Session, base: str, org: OrgHandle, sfemu_server: SfemuServer
) -> None:
    headers = {"X-SFDC-Session": org.access_token, "Content-Type": "application/json"}
    body = {"operation": "insert", "object": "Account", "contentType": "JSON", "concurrencyMode": 0}
    resp = http.post(base, headers=headers, data=json.dumps(body))
    assert resp.status_code == 201 and resp.headers["Content-Type"] == "application/json"
    info = resp.json()
    assert list(info) == sorted(info)  # Salesforce's JSON documents list their keys alphabetically
    assert (info["state"], info["contentType"], info["concurrencyMode"], info["apiVersion"]) == (
        "Open",
        "JSON",
        "Parallel",
        62.0,
    )
    aborted = http.post(f"{base}/{info['id']}", headers=headers, data=json.dumps({"state": "Aborted"})).json()
    assert aborted["state"] == "Aborted"
    resp = http.post(f"{base}/{info['id']}", headers=headers, data=json.dumps({"state": "Closed"}))
    assert resp.status_code == 400 and resp.json()["exceptionCode"] == "InvalidJobState"


def test_pk_chunking_header(http: requests.Session, base: str, org: OrgHandle) -> None:
    rest = f"{org.instance_url}/services/data/v62.0/sobjects/Contact"
    for i in range(5):
        http.post(
            rest, headers={"Authorization": f"Bearer {org.access_token}"}, json={"LastName": f"Chunk {i}"}
        )
    resp = http.post(
        base,
        headers=xml_headers(org, **{"Sforce-Enable-PKChunking": "chunkSize=2"}),
        data=job_doc(operation="query", object="Contact", contentType="CSV"),
    )
    job = children(resp, "jobInfo")["id"]
    resp = http.post(
        f"{base}/{job}/batch",
        headers=xml_headers(org, **{"Content-Type": "text/csv"}),
        data="SELECT Id, LastName FROM Contact WHERE LastName LIKE 'Chunk %'",
    )
    original = children(resp, "batchInfo")["id"]
    tree = settle(http, f"{base}/{job}/batch", xml_headers(org))
    states = {b.findtext(Q + "id"): b.findtext(Q + "state") for b in tree}
    assert states.pop(original) == "NotProcessed"
    assert list(states.values()) == ["Completed"] * 3  # 5 Ids, 2 per chunk
    names = []
    for bid in states:
        ids = ElementTree.fromstring(
            http.get(f"{base}/{job}/batch/{bid}/result", headers=xml_headers(org)).content
        )
        assert ids.tag == Q + "result-list"
        [rid] = [r.text for r in ids]
        assert rid.startswith("752")
        csv_text = http.get(f"{base}/{job}/batch/{bid}/result/{rid}", headers=xml_headers(org))
        assert csv_text.headers["Content-Type"] == "text/csv"
        lines = csv_text.text.splitlines()
        assert lines[0] == '"Id","LastName"'
        names += [line.split(",")[1].strip('"') for line in lines[1:]]
    assert sorted(names) == [f"Chunk {i}" for i in range(5)]
    info = children(http.get(f"{base}/{job}", headers=xml_headers(org)), "jobInfo")
    assert (info["numberBatchesTotal"], info["numberBatchesCompleted"], info["numberRecordsProcessed"]) == (
        "4",
        "3",
        "5",
    )

    bad = http.post(
        base,
        headers=xml_headers(org, **{"Sforce-Enable-PKChunking": "chunkSize=999999"}),
        data=job_doc(operation="query", object="Contact", contentType="CSV"),
    )
    assert bad.status_code == 400 and children(bad, "error")["exceptionCode"] == "InvalidJob"


def test_batches_count_as_api_calls_and_bulk_batches(
    http: requests.Session, base: str, org: OrgHandle
) -> None:
    before = org.org.api_usage_by_kind()
    resp = http.post(
        base, headers=xml_headers(org), data=job_doc(operation="insert", object="Account", contentType="CSV")
    )
    job = children(resp, "jobInfo")["id"]
    http.post(
        f"{base}/{job}/batch",
        headers=xml_headers(org, **{"Content-Type": "text/csv"}),
        data="Name\nMetered\n",
    )
    after = org.org.api_usage_by_kind()
    assert after.get("bulk_batch", 0) == before.get("bulk_batch", 0) + 1
    assert sum(after.values()) == sum(before.values()) + 2


def test_csv_job_answers_xml_whatever_the_request_content_type(
    http: requests.Session, base: str, org: OrgHandle
) -> None:
    """As tap-salesforce drives a query job: JSON headers throughout, XML parsed for batches.

    Salesforce answers a CSV job's documents in XML; the request's Content-Type decides only where
    no job is known yet (creating one) or the job id is bad.
    """
    headers = {"X-SFDC-Session": org.access_token, "Content-Type": "application/json"}
    body = {"operation": "queryAll", "object": "Account", "contentType": "CSV"}
    created = http.post(base, headers=headers, data=json.dumps(body))
    assert created.status_code == 201 and created.headers["Content-Type"] == "application/json"
    job = created.json()["id"]
    batch = http.post(
        f"{base}/{job}/batch", headers={**headers, "Content-Type": "text/csv"}, data="SELECT Id FROM Account"
    )
    assert batch.status_code == 201 and batch.headers["Content-Type"] == "application/xml"
    batch_id = ElementTree.fromstring(batch.content).find(Q + "id").text
    closed = http.post(f"{base}/{job}", headers=headers, data=json.dumps({"state": "Closed"}))
    assert closed.status_code == 200 and closed.headers["Content-Type"] == "application/xml"
    assert ElementTree.fromstring(closed.content).find(Q + "state").text == "Closed"
    info = http.get(f"{base}/{job}/batch/{batch_id}", headers=headers)
    assert info.headers["Content-Type"] == "application/xml"
    assert ElementTree.fromstring(info.content).tag == Q + "batchInfo"
    listed = http.get(f"{base}/{job}/batch", headers=headers)
    assert ElementTree.fromstring(listed.content).tag == Q + "batchInfoList"
    job_info = http.get(f"{base}/{job}", headers=headers)
    assert ElementTree.fromstring(job_info.content).tag == Q + "jobInfo"
    missing = http.get(f"{base}/750000000000000AAA", headers=headers)
    assert missing.status_code == 400 and missing.json()["exceptionCode"] == "InvalidJob"


def test_a_batch_shares_one_stamp_per_200_records_and_fails_only_its_bad_rows(
    http: requests.Session, base: str, org: OrgHandle
) -> None:
    """As in Bulk 2.0, Salesforce runs a v1 batch 200 records per transaction: they share one
    SystemModstamp, none later than the org's clock, and a bad record fails only its own row."""
    resp = http.post(
        base, headers=xml_headers(org), data=job_doc(operation="insert", object="Account", contentType="CSV")
    )
    job = children(resp, "jobInfo")["id"]
    employees = ["many" if n == 500 else str(n) for n in range(1_000)]  # row 500: not a number
    batch = children(
        http.post(
            f"{base}/{job}/batch",
            headers=xml_headers(org, **{"Content-Type": "text/csv"}),
            data="Name,NumberOfEmployees\n"
            + "".join(f"V1 stamped {n},{e}\n" for n, e in enumerate(employees)),
        ),
        "batchInfo",
    )
    settle(http, f"{base}/{job}/batch", xml_headers(org))
    result = http.get(f"{base}/{job}/batch/{batch['id']}/result", headers=xml_headers(org)).text.splitlines()
    assert len(result) == 1 + 1_000
    assert result[1 + 500].split(",")[1:3] == ['"false"', '"false"'] and "many" in result[501]
    assert sum(1 for line in result[1:] if line.split(",")[1] == '"true"') == 999
    rows = org.org.query(
        "SELECT SystemModstamp FROM Account WHERE Name LIKE 'V1 stamped %'", api_version="62.0"
    ).records
    stamps = {r["SystemModstamp"] for r in rows}
    assert len(rows) == 999 and len(stamps) == 1_000 // ingest.CHUNK  # one per chunk, each its own
    assert max(parse_datetime(s) for s in stamps) <= org.org.now()

"""Bulk API v1 through the unmodified ``salesforce-bulk`` package (XML job documents, CSV batches)."""

from __future__ import annotations

import time

import pytest
import unicodecsv
from salesforce_bulk import CsvDictsAdapter, SalesforceBulk
from salesforce_bulk.salesforce_bulk import BulkApiError
from simple_salesforce import Salesforce

from sfemu.testing import OrgHandle, SfemuServer

VERSION = "62.0"


@pytest.fixture(scope="module")
def org(sfemu_server: SfemuServer) -> OrgHandle:
    return sfemu_server.create_org("bulk-v1-salesforce-bulk")


@pytest.fixture
def bulk(sfemu_server: SfemuServer, org: OrgHandle, monkeypatch: pytest.MonkeyPatch) -> SalesforceBulk:
    # salesforce-bulk calls requests.get/post directly: the CA comes from the environment
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(sfemu_server.ca_path))
    return SalesforceBulk(sessionId=org.access_token, host=org.instance_url, API_version=VERSION)


@pytest.fixture(scope="module")
def sf(sfemu_server: SfemuServer, org: OrgHandle) -> Salesforce:
    return Salesforce(
        instance_url=org.instance_url,
        session_id=org.access_token,
        session=sfemu_server.http_session(),
        version=VERSION,
    )


def wait_done(bulk: SalesforceBulk, job: str, batch: str) -> None:
    deadline = time.monotonic() + 30
    while not bulk.is_batch_done(batch, job):
        assert time.monotonic() < deadline, "batch never completed"
        time.sleep(0.05)


def test_csv_insert_job_end_to_end(bulk: SalesforceBulk, sf: Salesforce) -> None:
    job = bulk.create_insert_job("Account", contentType="CSV")
    assert job.startswith("750") and len(job) == 18
    records = [{"Name": f"SB Insert {i}", "Phone": f"555-{i:04d}"} for i in range(20)]
    records.append({"Name": "", "Phone": "no name"})
    batch = bulk.post_batch(job, CsvDictsAdapter(iter(records)))
    assert batch.startswith("751")
    wait_done(bulk, job, batch)
    bulk.close_job(job)
    status = bulk.job_status(job)
    assert status["state"] == "Closed"
    assert (status["numberBatchesCompleted"], status["numberBatchesTotal"]) == ("1", "1")
    assert (status["numberRecordsProcessed"], status["numberRecordsFailed"]) == ("21", "1")

    results = bulk.get_batch_results(batch, job)
    assert len(results) == 21
    assert all(r.success == "true" and r.created == "true" and r.error == "" for r in results[:20])
    assert results[20].success == "false" and results[20].id == ""
    assert results[20].error == "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --"
    stored = sf.query_all("SELECT Id, Name, Phone FROM Account WHERE Name LIKE 'SB Insert %'")["records"]
    assert {r["Id"]: (r["Name"], r["Phone"]) for r in stored} == {
        r.id: (rec["Name"], rec["Phone"]) for r, rec in zip(results[:20], records, strict=False)
    }


def test_csv_query_job_end_to_end(bulk: SalesforceBulk, sf: Salesforce) -> None:
    for i in range(7):
        sf.Account.create({"Name": f"SB Query {i}", "NumberOfEmployees": i})
    soql = "SELECT Id, Name, NumberOfEmployees FROM Account WHERE Name LIKE 'SB Query %'"
    job = bulk.create_query_job("Account", contentType="CSV")
    batch = bulk.query(job, soql)
    bulk.close_job(job)
    wait_done(bulk, job, batch)
    assert bulk.get_query_batch_request(batch, job) == soql
    rows = []
    for result in bulk.get_all_results_for_query_batch(batch, job):
        rows += list(unicodecsv.DictReader(result, encoding="utf-8"))
    rest = sf.query_all(soql)["records"]
    assert sorted((r["Id"], r["Name"], r["NumberOfEmployees"]) for r in rows) == sorted(
        (r["Id"], r["Name"], str(r["NumberOfEmployees"])) for r in rest
    )
    assert len(rows) == 7


def test_pk_chunked_query_splits_into_batches(bulk: SalesforceBulk, sf: Salesforce) -> None:
    for i in range(5):
        sf.Account.create({"Name": f"SB Chunk {i}"})
    total = sf.query("SELECT COUNT() FROM Account")["totalSize"]
    job = bulk.create_query_job("Account", contentType="CSV", pk_chunking=2)
    original = bulk.query(job, "SELECT Id, Name FROM Account")
    deadline = time.monotonic() + 30
    while True:
        batches = bulk.get_batch_list(job)
        if all(b["state"] in ("Completed", "NotProcessed", "Failed") for b in batches) and len(batches) > 1:
            break
        assert time.monotonic() < deadline
        time.sleep(0.05)
    bulk.close_job(job)
    states = {b["id"]: b["state"] for b in batches}
    assert states.pop(original) == "NotProcessed"
    assert set(states.values()) == {"Completed"}
    assert len(states) == (total + 1) // 2
    with pytest.raises(BulkApiError):  # salesforce-bulk treats NotProcessed as an error state
        bulk.is_batch_done(original, job)
    ids = []
    for chunk in states:
        request = bulk.get_query_batch_request(chunk, job)
        assert request.startswith("SELECT Id, Name FROM Account WHERE Id >= ")
        for result in bulk.get_all_results_for_query_batch(chunk, job):
            rows = list(unicodecsv.DictReader(result, encoding="utf-8"))
            assert 1 <= len(rows) <= 2
            ids += [r["Id"] for r in rows]
    rest = [r["Id"] for r in sf.query_all("SELECT Id FROM Account")["records"]]
    assert sorted(ids) == sorted(rest)


def test_bad_session_is_refused(
    sfemu_server: SfemuServer, org: OrgHandle, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(sfemu_server.ca_path))
    bad = SalesforceBulk(sessionId="00Dbogus!token", host=org.instance_url, API_version=VERSION)
    with pytest.raises(BulkApiError) as err:
        bad.create_insert_job("Account", contentType="CSV")
    assert err.value.status_code == 400
    assert "<exceptionCode>InvalidSessionId</exceptionCode>" in str(err.value)

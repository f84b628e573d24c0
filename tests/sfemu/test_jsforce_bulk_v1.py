"""Bulk API v1 with unmodified jsforce (``conn.bulk``: ``load`` and ``query``, CSV jobs) against
sfemu: ``tests/sfemu/js/bulk1.mjs`` runs under node and writes each step's outcome as JSON; the org
is then read back over REST. Needs ``npm ci --prefix tests/sfemu/js``."""

from __future__ import annotations

from typing import Any

import pytest

from sfemu.testing import OrgHandle, SfemuServer
from tests.sfemu.jsforce_runner import ok, run_script

COUNT = 6
VERSION = "62.0"
TRICKY = 'comma, "quote"\nnewline'


@pytest.fixture(scope="module")
def org(sfemu_server: SfemuServer) -> OrgHandle:
    handle = sfemu_server.create_org("jsforce-bulk1")
    handle.org.add_custom_field("Account", "External_Id__c", "text", length=40, external_id=True, unique=True)
    return handle


@pytest.fixture(scope="module")
def js(sfemu_server: SfemuServer, org: OrgHandle, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("jsforce-bulk1") / "bulk1.json"
    config = {"url": sfemu_server.url, "accessToken": org.access_token, "version": VERSION, "count": COUNT}
    return run_script(sfemu_server, "bulk1.mjs", config, out)


def rest_query(sfemu_server: SfemuServer, org: OrgHandle, soql: str, *, all_rows: bool = False) -> list[dict]:
    resource = "queryAll" if all_rows else "query"
    resp = sfemu_server.http_session().get(
        f"{org.instance_url}/services/data/v{VERSION}/{resource}",
        params={"q": soql},
        headers={"Authorization": f"Bearer {org.access_token}"},
    )
    assert resp.status_code == 200, resp.text
    return resp.json()["records"]


def inserted_ids(js: dict[str, Any]) -> list[str]:
    return [r["id"] for r in ok(js, "insert") if r["success"]]


def test_load_insert_reports_each_row(js) -> None:
    results = ok(js, "insert")
    assert len(results) == COUNT + 1
    assert all(r["success"] and r["created"] and r["errors"] == [] for r in results[:COUNT])
    assert all(len(r["id"]) == 18 and r["id"].startswith("001") for r in results[:COUNT])
    # jsforce sends null as #N/A, which Bulk v1 CSV reads as null: the required Name is missing.
    assert results[COUNT] == {
        "id": None,
        "success": False,
        "created": False,
        "errors": ["REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --"],
    }


def test_load_with_a_csv_string(js, sfemu_server: SfemuServer, org: OrgHandle) -> None:
    results = ok(js, "insertCsv")
    assert [r["success"] for r in results] == [True, True]
    rows = rest_query(sfemu_server, org, "SELECT Id, FirstName, LastName, Email FROM Contact ORDER BY Email")
    assert [(r["Id"], r["FirstName"], r["LastName"], r["Email"]) for r in rows] == [
        (results[0]["id"], "Ada", "Bulk1, Contact", "ada@example.com"),
        (results[1]["id"], None, "Bulk1 Second", "b@example.com"),
    ]


def test_update_upsert_delete_and_the_orgs_state(js, sfemu_server: SfemuServer, org: OrgHandle) -> None:
    ids = inserted_ids(js)
    update = ok(js, "update")
    assert [(r["id"], r["success"], r["created"]) for r in update[:3]] == [(i, True, False) for i in ids[:3]]
    assert update[3]["success"] is False and update[3]["errors"]
    upsert = ok(js, "upsert")
    assert (upsert[0]["id"], upsert[0]["created"], upsert[1]["created"]) == (ids[1], False, True)
    assert all(r["success"] for r in upsert)
    deleted = ok(js, "delete")
    assert [(r["id"], r["success"]) for r in deleted] == [(i, True) for i in ids[-2:]]

    soql = "SELECT Id, Name, NumberOfEmployees, Description, External_Id__c, IsDeleted FROM Account"
    rows = {r["Id"]: r for r in rest_query(sfemu_server, org, soql, all_rows=True)}
    assert {i for i in ids[-2:]} == {i for i, r in rows.items() if r["IsDeleted"]}
    assert rows[ids[0]]["NumberOfEmployees"] == 1000 and rows[ids[0]]["Description"] is None
    assert rows[ids[1]]["Name"] == "JSBulk1 upserted 1" and rows[ids[1]]["NumberOfEmployees"] == 1001
    assert rows[ids[3]]["Description"] == TRICKY and rows[ids[3]]["NumberOfEmployees"] == 3
    assert rows[upsert[1]["id"]]["External_Id__c"] == "jsb1-new"


def test_bulk_query_streams_the_live_records(js, sfemu_server: SfemuServer, org: OrgHandle) -> None:
    records = ok(js, "query")
    soql = (
        "SELECT Id, Name, NumberOfEmployees, Description, External_Id__c FROM Account "
        "WHERE Name LIKE 'JSBulk1 %' ORDER BY Name"
    )
    rows = rest_query(sfemu_server, org, soql)
    # CSV results: every value a string, null and empty both "".
    assert records == [
        {k: "" if v is None else str(v) for k, v in row.items() if k != "attributes"} for row in rows
    ]
    assert [r["Name"] for r in records][:3] == ["JSBulk1 000", "JSBulk1 002", "JSBulk1 003"]
    assert records[2]["Description"] == TRICKY
    assert ok(js, "queryNone") == []  # "Records not found for this query" parses to no record


def test_job_and_batch_documents(js) -> None:
    value = ok(js, "jobLifecycle")
    opened, info, closed = value["opened"], value["info"], value["closed"]
    assert opened["state"] == "Open" and opened["contentType"] == "CSV" and opened["id"].startswith("750")
    assert (info["numberBatchesCompleted"], info["numberRecordsProcessed"]) == ("1", "1")
    assert closed["state"] == "Closed" and closed["id"] == opened["id"]
    [batch] = value["batches"]
    assert (batch["jobId"], batch["state"]) == (opened["id"], "Completed")
    assert value["response"][0]["success"] is True


def test_job_on_unknown_object_is_invalid_job(js) -> None:
    outcome = js["badObject"]
    assert outcome["ok"] is False
    assert outcome["error"]["errorCode"] == "InvalidJob"
    assert outcome["error"]["message"] == "Unable to find object: NoSuchObject__c"

"""Bulk API 2.0 through unmodified simple-salesforce ``sf.bulk2`` against sfemu over HTTPS."""

from __future__ import annotations

import csv
import io

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.bulk2 import ColumnDelimiter, LineEnding

from sfemu.testing import OrgHandle, SfemuServer

VERSION = "62.0"
WAIT = 0.05


@pytest.fixture(scope="module")
def org(sfemu_server: SfemuServer) -> OrgHandle:
    handle = sfemu_server.create_org("bulk2-simple-salesforce")
    domain = handle.org
    domain.add_custom_field("Account", "External_Id__c", "text", length=40, external_id=True, unique=True)
    domain.add_custom_field("Account", "Tier__c", "picklist", values=["Gold", "Silver"], restricted=True)
    domain.add_validation_rule(
        "Account",
        "No_Negative_Staff",
        field="NumberOfEmployees",
        condition="lt",
        value=0,
        message="Employees cannot be negative",
        error_field="NumberOfEmployees",
    )
    return handle


@pytest.fixture(scope="module")
def sf(sfemu_server: SfemuServer, org: OrgHandle) -> Salesforce:
    return Salesforce(
        instance_url=org.instance_url,
        session_id=org.access_token,
        session=sfemu_server.http_session(),
        version=VERSION,
    )


def rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def query_rows(sf: Salesforce, soql: str, **kwargs) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    for page in sf.bulk2.Account.query(soql, wait=WAIT, **kwargs):
        out += rows(page)
    return out


def test_insert_records_and_results(sf: Salesforce) -> None:
    records = [{"Name": f"SS Insert {i}", "External_Id__c": f"ssi-{i}", "Tier__c": "Gold"} for i in range(30)]
    records += [
        {"Name": "", "External_Id__c": "ssi-noname", "Tier__c": "Gold"},
        {"Name": "Bad tier", "External_Id__c": "ssi-badtier", "Tier__c": "Bronze"},
    ]
    [result] = sf.bulk2.Account.insert(records=records, wait=WAIT)
    assert result["numberRecordsProcessed"] == 32
    assert result["numberRecordsFailed"] == 2
    assert result["numberRecordsTotal"] == 32
    job_id = result["job_id"]
    assert job_id.startswith("750") and len(job_id) == 18

    ok = sf.bulk2.Account.get_successful_records(job_id)
    header = ok.splitlines()[0]
    assert header.startswith('"sf__Id","sf__Created",')
    assert sorted(header.split(",")[2:]) == ["External_Id__c", "Name", "Tier__c"]
    ok_rows = rows(ok)
    assert len(ok_rows) == 30
    assert all(r["sf__Created"] == "true" and len(r["sf__Id"]) == 18 for r in ok_rows)
    assert {r["Name"] for r in ok_rows} == {f"SS Insert {i}" for i in range(30)}

    failed = rows(sf.bulk2.Account.get_failed_records(job_id))
    errors = {r["External_Id__c"]: r["sf__Error"] for r in failed}
    assert errors["ssi-noname"] == "REQUIRED_FIELD_MISSING:Required fields are missing: [Name]:Name --"
    assert errors["ssi-badtier"].startswith("INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST:")
    assert errors["ssi-badtier"].endswith(":Tier__c --")
    assert all(r["sf__Id"] == "" for r in failed)

    unprocessed = sf.bulk2.Account.get_unprocessed_records(job_id)
    assert unprocessed.count("\n") == 1 and "Name" in unprocessed


def test_upsert_distinguishes_created_and_updated(sf: Salesforce) -> None:
    sf.bulk2.Account.insert(records=[{"Name": "Upsert old", "External_Id__c": "ssu-1"}], wait=WAIT)
    [result] = sf.bulk2.Account.upsert(
        records=[
            {"External_Id__c": "ssu-1", "Name": "Upsert updated"},
            {"External_Id__c": "ssu-2", "Name": "Upsert new"},
            {"External_Id__c": "ssu-3", "Name": "Negative", "NumberOfEmployees": "-1"},
        ],
        external_id_field="External_Id__c",
        wait=WAIT,
    )
    assert (result["numberRecordsProcessed"], result["numberRecordsFailed"]) == (3, 1)
    ok = {r["External_Id__c"]: r for r in rows(sf.bulk2.Account.get_successful_records(result["job_id"]))}
    assert ok["ssu-1"]["sf__Created"] == "false"
    assert ok["ssu-2"]["sf__Created"] == "true"
    [bad] = rows(sf.bulk2.Account.get_failed_records(result["job_id"]))
    assert bad["sf__Error"] == (
        "FIELD_CUSTOM_VALIDATION_EXCEPTION:Employees cannot be negative:NumberOfEmployees --"
    )
    found = query_rows(sf, "SELECT Name FROM Account WHERE External_Id__c = 'ssu-1'")
    assert found == [{"Name": "Upsert updated"}]


def test_update_from_csv_file_with_null_marker(sf: Salesforce, tmp_path) -> None:
    [result] = sf.bulk2.Account.insert(
        records=[{"Name": "Upd A", "Phone": "111", "Industry": "Energy"}], wait=WAIT
    )
    [row] = rows(sf.bulk2.Account.get_successful_records(result["job_id"]))
    path = tmp_path / "update.csv"
    # empty Phone leaves it unchanged, #N/A clears Industry
    path.write_text(f"Id,Name,Phone,Industry\n{row['sf__Id']},Upd B,,#N/A\n")
    [updated] = sf.bulk2.Account.update(csv_file=str(path), wait=WAIT)
    assert (updated["numberRecordsProcessed"], updated["numberRecordsFailed"]) == (1, 0)
    record = sf.Account.get(row["sf__Id"])
    assert (record["Name"], record["Phone"], record["Industry"]) == ("Upd B", "111", None)
    [ok] = rows(sf.bulk2.Account.get_successful_records(updated["job_id"]))
    assert ok["sf__Created"] == "false" and ok["sf__Id"] == row["sf__Id"]


def test_update_unknown_and_missing_ids_fail_per_record(sf: Salesforce) -> None:
    [result] = sf.bulk2.Account.update(
        records=[{"Id": "001000000000000AAA", "Name": "x"}, {"Id": "", "Name": "y"}], wait=WAIT
    )
    assert result["numberRecordsFailed"] == 2
    errors = sorted(r["sf__Error"] for r in rows(sf.bulk2.Account.get_failed_records(result["job_id"])))
    assert errors == [
        "INVALID_CROSS_REFERENCE_KEY:invalid cross reference id:--",
        "MISSING_ARGUMENT:Id not specified in an update call:--",
    ]


def test_delete_and_hard_delete(sf: Salesforce) -> None:
    [result] = sf.bulk2.Account.insert(records=[{"Name": f"Del {i}"} for i in range(4)], wait=WAIT)
    created = [r["sf__Id"] for r in rows(sf.bulk2.Account.get_successful_records(result["job_id"]))]
    [soft] = sf.bulk2.Account.delete(records=[{"Id": i} for i in created[:2]], wait=WAIT)
    [hard] = sf.bulk2.Account.hard_delete(records=[{"Id": i} for i in created[2:]], wait=WAIT)
    assert soft["numberRecordsFailed"] == hard["numberRecordsFailed"] == 0
    left = query_rows(sf, "SELECT Id FROM Account WHERE Name LIKE 'Del %'")
    assert left == []
    recycled = []
    for page in sf.bulk2.Account.query_all(
        "SELECT Id, IsDeleted FROM Account WHERE Name LIKE 'Del %'", wait=WAIT
    ):
        recycled += rows(page)
    assert sorted(r["Id"] for r in recycled) == sorted(created[:2])
    assert {r["IsDeleted"] for r in recycled} == {"true"}
    [again] = sf.bulk2.Account.delete(records=[{"Id": created[0]}], wait=WAIT)
    [err] = rows(sf.bulk2.Account.get_failed_records(again["job_id"]))
    assert err["sf__Error"] == "ENTITY_IS_DELETED:entity is deleted:--"


def test_query_pages_and_csv_values(sf: Salesforce) -> None:
    sf.bulk2.Account.insert(
        records=[{"Name": f"QPage {i:02d}", "Phone": "" if i % 2 else "555"} for i in range(7)], wait=WAIT
    )
    pages = list(
        sf.bulk2.Account.query(
            "SELECT Id, Name, Phone, IsDeleted, Owner.Name FROM Account "
            "WHERE Name LIKE 'QPage %' ORDER BY Name",
            max_records=3,
            wait=WAIT,
        )
    )
    assert len(pages) == 3
    assert all(p.startswith('"Id","Name","Phone","IsDeleted","Owner.Name"\n') for p in pages)
    got = [r for p in pages for r in rows(p)]
    assert [r["Name"] for r in got] == [f"QPage {i:02d}" for i in range(7)]
    assert got[0]["Phone"] == "555" and got[1]["Phone"] == ""
    assert '"QPage 01",""' in pages[0]
    assert {r["IsDeleted"] for r in got} == {"false"}
    assert {r["Owner.Name"] for r in got} != {""}


def test_tab_delimiter_and_crlf(sf: Salesforce) -> None:
    [result] = sf.bulk2.Account.insert(
        records=[{"Name": "Tab, with comma", "Phone": "1"}, {"Name": 'Quote "q"', "Phone": "2"}],
        column_delimiter=ColumnDelimiter.TAB,
        line_ending=LineEnding.CRLF,
        wait=WAIT,
    )
    assert (result["numberRecordsProcessed"], result["numberRecordsFailed"]) == (2, 0)
    ok = sf.bulk2.Account.get_successful_records(result["job_id"])
    assert "\r\n" in ok and "\t" in ok
    names = query_rows(sf, "SELECT Name FROM Account WHERE Phone IN ('1', '2') ORDER BY Phone")
    assert [r["Name"] for r in names] == ["Tab, with comma", 'Quote "q"']
    pages = list(
        sf.bulk2.Account.query(
            "SELECT Name FROM Account WHERE Phone = '1'",
            column_delimiter=ColumnDelimiter.PIPE,
            line_ending=LineEnding.CRLF,
            wait=WAIT,
        )
    )
    assert pages == ['"Name"\r\n"Tab, with comma"\r\n']


def test_relationship_column_by_external_id(sf: Salesforce) -> None:
    sf.bulk2.Account.insert(records=[{"Name": "Parent Co", "External_Id__c": "parent-1"}], wait=WAIT)
    [result] = sf.bulk2.Contact.insert(
        records=[
            {"LastName": "Child", "Account.External_Id__c": "parent-1"},
            {"LastName": "Orphan", "Account.External_Id__c": "nope"},
        ],
        wait=WAIT,
    )
    assert result["numberRecordsFailed"] == 1
    [bad] = rows(sf.bulk2.Contact.get_failed_records(result["job_id"]))
    assert bad["sf__Error"].startswith("INVALID_FIELD:Foreign key external ID: nope not found")
    contacts = []
    for page in sf.bulk2.Contact.query(
        "SELECT LastName, Account.Name, Account.External_Id__c FROM Contact WHERE LastName = 'Child'",
        wait=WAIT,
    ):
        contacts += rows(page)
    assert contacts == [
        {"LastName": "Child", "Account.Name": "Parent Co", "Account.External_Id__c": "parent-1"}
    ]


def test_limits_reflect_bulk_use(sf: Salesforce) -> None:
    before = sf.limits()
    sf.bulk2.Account.insert(records=[{"Name": "Limits"}], wait=WAIT)
    list(sf.bulk2.Account.query("SELECT Id FROM Account LIMIT 1", wait=WAIT))
    after = sf.limits()
    assert after["DailyBulkApiBatches"]["Remaining"] == before["DailyBulkApiBatches"]["Remaining"] - 1
    assert after["DailyBulkV2QueryJobs"]["Remaining"] == before["DailyBulkV2QueryJobs"]["Remaining"] - 1
    assert after["DailyApiRequests"]["Remaining"] < before["DailyApiRequests"]["Remaining"] - 6

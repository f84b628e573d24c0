"""Bulk API v1 (``/services/async/…``) through unmodified simple-salesforce ``sf.bulk`` over HTTPS.

Every check reads the org back through REST, so a job that answered well but wrote nothing fails.
"""

from __future__ import annotations

import pytest
from simple_salesforce import Salesforce

from sfemu.testing import OrgHandle, SfemuServer

VERSION = "62.0"
WAIT = 0.05


@pytest.fixture(scope="module")
def org(sfemu_server: SfemuServer) -> OrgHandle:
    handle = sfemu_server.create_org("bulk-v1-simple-salesforce")
    domain = handle.org
    domain.add_custom_field("Account", "External_Id__c", "text", length=40, external_id=True, unique=True)
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


def rest_names(sf: Salesforce, where: str) -> dict[str, str]:
    records = sf.query_all(f"SELECT Id, Name FROM Account WHERE {where}")["records"]
    return {r["Id"]: r["Name"] for r in records}


def test_insert_creates_records_with_per_record_results(sf: Salesforce) -> None:
    data = [{"Name": f"V1 Insert {i}", "External_Id__c": f"v1i-{i}"} for i in range(5)]
    data.append({"Name": "", "External_Id__c": "v1i-noname"})  # Name is required
    results = sf.bulk.Account.insert(data, batch_size=4)
    assert len(results) == 6  # two batches, results in record order
    ok, [bad] = results[:5], results[5:]
    assert all(r["success"] and r["created"] and r["errors"] == [] for r in ok)
    assert all(len(r["id"]) == 18 and r["id"].startswith("001") for r in ok)
    assert bad["success"] is False and bad["created"] is False and bad["id"] is None
    assert bad["errors"] == [
        {
            "fields": ["Name"],
            "message": "Required fields are missing: [Name]",
            "statusCode": "REQUIRED_FIELD_MISSING",
        }
    ]
    stored = rest_names(sf, "External_Id__c LIKE 'v1i-%'")
    assert stored == {r["id"]: f"V1 Insert {i}" for i, r in enumerate(ok)}


def test_update_changes_records_and_reports_failures(sf: Salesforce) -> None:
    created = sf.bulk.Account.insert([{"Name": "V1 Upd A", "NumberOfEmployees": 3}, {"Name": "V1 Upd B"}])
    a, b = (r["id"] for r in created)
    results = sf.bulk.Account.update(
        [
            {"Id": a, "Name": "V1 Upd A2"},
            {"Id": b, "NumberOfEmployees": -5},
            {"Id": "001000000000000AAA", "Name": "ghost"},
        ]
    )
    assert [r["success"] for r in results] == [True, False, False]
    assert results[0] == {"success": True, "created": False, "id": a, "errors": []}
    assert results[1]["errors"][0]["statusCode"] == "FIELD_CUSTOM_VALIDATION_EXCEPTION"
    assert results[1]["errors"][0]["message"] == "Employees cannot be negative"
    assert results[2]["errors"][0]["statusCode"] == "INVALID_CROSS_REFERENCE_KEY"
    assert sf.Account.get(a)["Name"] == "V1 Upd A2"
    assert sf.Account.get(b)["NumberOfEmployees"] is None


def test_upsert_creates_and_updates_by_external_id(sf: Salesforce) -> None:
    [first] = sf.bulk.Account.insert([{"Name": "V1 Ups old", "External_Id__c": "v1u-1"}])
    results = sf.bulk.Account.upsert(
        [
            {"External_Id__c": "v1u-1", "Name": "V1 Ups updated"},
            {"External_Id__c": "v1u-2", "Name": "V1 Ups new"},
        ],
        "External_Id__c",
    )
    assert [(r["success"], r["created"]) for r in results] == [(True, False), (True, True)]
    assert results[0]["id"] == first["id"]
    assert rest_names(sf, "External_Id__c IN ('v1u-1', 'v1u-2')") == {
        first["id"]: "V1 Ups updated",
        results[1]["id"]: "V1 Ups new",
    }


def test_delete_removes_records_and_query_all_still_sees_them(sf: Salesforce) -> None:
    created = sf.bulk.Account.insert([{"Name": "V1 Del 1"}, {"Name": "V1 Del 2"}])
    ids = [r["id"] for r in created]
    results = sf.bulk.Account.delete([{"Id": i} for i in ids])
    assert [(r["success"], r["id"]) for r in results] == [(True, i) for i in ids]
    assert rest_names(sf, "Name LIKE 'V1 Del %'") == {}
    rows = sf.bulk.Account.query_all(
        "SELECT Id, Name, IsDeleted FROM Account WHERE Name LIKE 'V1 Del %'", wait=WAIT
    )
    assert sorted((r["Id"], r["IsDeleted"]) for r in rows) == sorted((i, True) for i in ids)
    assert sf.bulk.Account.query("SELECT Id FROM Account WHERE Name LIKE 'V1 Del %'", wait=WAIT) == []


def test_query_equals_rest_query(sf: Salesforce) -> None:
    sf.bulk.Account.insert([{"Name": f"V1 Q {i}", "NumberOfEmployees": i} for i in range(12)])
    soql = "SELECT Id, Name, NumberOfEmployees, CreatedDate FROM Account WHERE Name LIKE 'V1 Q %'"
    bulk = sf.bulk.Account.query(soql, wait=WAIT)
    rest = sf.query_all(soql)["records"]
    assert len(bulk) == len(rest) == 12
    by_id = {r["Id"]: r for r in rest}
    for row in bulk:
        assert row["attributes"]["type"] == "Account"
        want = by_id[row["Id"]]
        assert (row["Name"], row["NumberOfEmployees"]) == (want["Name"], want["NumberOfEmployees"])
        # Bulk v1 JSON carries dateTime values as epoch milliseconds
        assert isinstance(row["CreatedDate"], int) and row["CreatedDate"] > 1_000_000_000_000


def test_bad_query_fails_the_batch(sf: Salesforce) -> None:
    from simple_salesforce.exceptions import SalesforceGeneralError

    with pytest.raises(SalesforceGeneralError) as err:
        sf.bulk.Account.query("SELECT NoSuchField__c FROM Account", wait=WAIT)
    assert "NoSuchField__c" in str(err.value)

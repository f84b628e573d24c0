"""``composite/tree/{sObject}``, ``composite/batch`` and ``recent`` over HTTPS, driven with
unmodified simple-salesforce (``Salesforce.restful``) and plain requests.

Shapes follow the REST API guide ("sObject Tree" request/response bodies, "Composite Batch" and its
bodies, "Recently Viewed Items"); effects are checked by querying the org back.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from sfemu.testing import OrgHandle, SfemuServer
from tests.sfemu.replay.checks import valid_id18

VERSION = "62.0"


@pytest.fixture
def http(sfemu_server: SfemuServer) -> Iterator[requests.Session]:
    session = sfemu_server.http_session()
    yield session
    session.close()


@pytest.fixture
def sf(sfemu_org: OrgHandle, http: requests.Session) -> Salesforce:
    return Salesforce(
        instance_url=sfemu_org.instance_url, session_id=sfemu_org.access_token, session=http, version=VERSION
    )


def rec(sobject: str, ref: str, **fields: Any) -> dict[str, Any]:
    return {"attributes": {"type": sobject, "referenceId": ref}, **fields}


def count(sf: Salesforce, soql: str) -> int:
    return sf.query(soql)["totalSize"]


def usage(resp: requests.Response) -> int:
    return int(re.match(r"api-usage=(\d+)/", resp.headers["sforce-limit-info"]).group(1))


# --- sObject Tree --------------------------------------------------------------------------------


def test_tree_creates_parents_and_children_linked(sf: Salesforce) -> None:
    body = {
        "records": [
            rec(
                "Account",
                "ref1",
                Name="Tree One",
                Phone="555-0101",
                Contacts={
                    "records": [
                        rec(
                            "Contact",
                            "ref2",
                            LastName="Smith",
                            Email="smith@example.com",
                            Cases={"records": [rec("Case", "ref5", Subject="Broken")]},
                        ),
                        rec("Contact", "ref3", LastName="Evans"),
                    ]
                },
            ),
            rec("Account", "ref4", Name="Tree Two"),
        ]
    }
    answer = sf.restful("composite/tree/Account", method="POST", json=body)
    assert list(answer) == ["hasErrors", "results"]
    assert answer["hasErrors"] is False
    # created level by level: every root, then the second level, then the third
    assert [r["referenceId"] for r in answer["results"]] == ["ref1", "ref4", "ref2", "ref3", "ref5"]
    assert all(list(r) == ["referenceId", "id"] and valid_id18(r["id"]) for r in answer["results"])
    ids = {r["referenceId"]: r["id"] for r in answer["results"]}
    assert ids["ref1"].startswith("001") and ids["ref2"].startswith("003") and ids["ref5"].startswith("500")

    contacts = sf.query("SELECT Id, LastName, AccountId, Account.Name FROM Contact ORDER BY LastName")
    linked = {r["LastName"]: (r["Id"], r["AccountId"], r["Account"]["Name"]) for r in contacts["records"]}
    assert linked == {
        "Evans": (ids["ref3"], ids["ref1"], "Tree One"),
        "Smith": (ids["ref2"], ids["ref1"], "Tree One"),
    }
    case = sf.Case.get(ids["ref5"])
    assert case["ContactId"] == ids["ref2"] and case["Subject"] == "Broken"
    assert sf.Account.get(ids["ref1"])["Phone"] == "555-0101"
    assert count(sf, f"SELECT COUNT() FROM Contact WHERE AccountId = '{ids['ref4']}'") == 0


def test_tree_is_all_or_nothing(sf: Salesforce) -> None:
    body = {
        "records": [
            rec("Account", "okParent", Name="Rolled back", Contacts={"records": [rec("Contact", "noName")]}),
            rec("Account", "other", Name="Also rolled back"),
        ]
    }
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.restful("composite/tree/Account", method="POST", json=body)
    assert caught.value.status == 400
    assert caught.value.content == {
        "hasErrors": True,
        "results": [
            {
                "referenceId": "noName",
                "errors": [
                    {
                        "statusCode": "REQUIRED_FIELD_MISSING",
                        "message": "Required fields are missing: [LastName]",
                        "fields": ["LastName"],
                    }
                ],
            }
        ],
    }
    assert count(sf, "SELECT COUNT() FROM Account") == 0  # the roots created first are gone too
    assert count(sf, "SELECT COUNT() FROM Contact") == 0


def test_tree_unknown_field_is_a_rest_error(sf: Salesforce) -> None:
    body = {"records": [rec("Account", "a1", Name="X", Bogus__c="y")]}
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.restful("composite/tree/Account", method="POST", json=body)
    # the Salesforce CLI reads this errorCode/message pair (INVALID_FIELD "No such column 'F' … T")
    assert caught.value.content == [
        {"message": "No such column 'Bogus__c' on sobject of type Account", "errorCode": "INVALID_FIELD"}
    ]
    assert count(sf, "SELECT COUNT() FROM Account") == 0


def test_tree_duplicate_reference_ids_and_wrong_root_type(sf: Salesforce) -> None:
    dupes = {"records": [rec("Account", "same", Name="A"), rec("Account", "same", Name="B")]}
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.restful("composite/tree/Account", method="POST", json=dupes)
    content = caught.value.content
    assert content["hasErrors"] is True
    # "In the case of duplicate reference IDs, results contains one item for each instance"
    assert [r["referenceId"] for r in content["results"]] == ["same", "same"]
    assert all(r["errors"][0]["fields"] == [] for r in content["results"])
    wrong_root = {"records": [rec("Contact", "c1", LastName="Root")]}
    with pytest.raises(SalesforceMalformedRequest) as caught:
        sf.restful("composite/tree/Account", method="POST", json=wrong_root)
    [result] = caught.value.content["results"]
    assert result["referenceId"] == "c1" and result["errors"][0]["statusCode"] == "INVALID_TYPE"
    assert count(sf, "SELECT COUNT() FROM Account") == 0
    assert count(sf, "SELECT COUNT() FROM Contact") == 0


def test_tree_limits_and_unknown_object(sf: Salesforce) -> None:
    too_many = {"records": [rec("Account", f"r{i}", Name=f"N{i}") for i in range(201)]}
    with pytest.raises(SalesforceMalformedRequest):
        sf.restful("composite/tree/Account", method="POST", json=too_many)
    assert count(sf, "SELECT COUNT() FROM Account") == 0
    exactly = {"records": [rec("Account", f"r{i}", Name=f"N{i}") for i in range(200)]}
    answer = sf.restful("composite/tree/Account", method="POST", json=exactly)
    assert len(answer["results"]) == 200 and count(sf, "SELECT COUNT() FROM Account") == 200
    with pytest.raises(SalesforceResourceNotFound):
        sf.restful("composite/tree/Xyzzy__c", method="POST", json={"records": [rec("Xyzzy__c", "x")]})


def test_tree_status_and_one_api_call(http, sfemu_org: OrgHandle) -> None:
    url = f"{sfemu_org.instance_url}/services/data/v{VERSION}/composite/tree/Account"
    headers = {"Authorization": f"Bearer {sfemu_org.access_token}"}
    body = {"records": [rec("Account", f"r{i}", Name=f"N{i}") for i in range(3)]}
    first = http.post(url, json=body, headers=headers, timeout=10)
    assert first.status_code == 201, first.text
    assert first.headers["content-type"] == "application/json;charset=UTF-8"
    second = http.post(url, json=body, headers=headers, timeout=10)
    assert second.status_code == 201
    assert usage(second) == usage(first) + 1  # the whole tree is one API call


# --- Composite Batch -----------------------------------------------------------------------------


def test_batch_runs_independent_subrequests(sf: Salesforce, http, sfemu_org: OrgHandle) -> None:
    account_id = sf.Account.create({"Name": "Batch Me"})["id"]
    body = {
        "batchRequests": [
            {
                "method": "PATCH",
                "url": f"v{VERSION}/sobjects/account/{account_id}",
                "richInput": {"Name": "New"},
            },
            {
                "method": "GET",
                "url": f"v{VERSION}/sobjects/account/{account_id}?fields=Name,BillingPostalCode",
            },
            {
                "method": "POST",
                "url": f"/services/data/v{VERSION}/sobjects/Contact",
                "richInput": {"LastName": "B"},
            },
            {"method": "GET", "url": f"v{VERSION}/query?q=SELECT+COUNT()+FROM+Contact"},
            {"method": "GET", "url": f"v{VERSION}/limits"},
        ]
    }
    answer = sf.restful("composite/batch", method="POST", json=body)
    assert list(answer) == ["hasErrors", "results"] and answer["hasErrors"] is False
    results = answer["results"]
    assert all(list(r) == ["statusCode", "result"] for r in results)
    assert [r["statusCode"] for r in results] == [204, 200, 201, 200, 200]
    assert results[0]["result"] is None
    record = results[1]["result"]
    assert record["attributes"] == {
        "type": "Account",
        "url": f"/services/data/v{VERSION}/sobjects/Account/{account_id}",
    }
    assert record["Name"] == "New" and record["BillingPostalCode"] is None  # the PATCH was committed
    assert results[2]["result"]["success"] is True and valid_id18(results[2]["result"]["id"])
    assert results[3]["result"]["totalSize"] == 1  # sees the Contact created before it
    assert "DailyApiRequests" in results[4]["result"]


def test_batch_failures_do_not_roll_back_and_halt_on_error(sf: Salesforce) -> None:
    body = {
        "batchRequests": [
            {"method": "POST", "url": f"v{VERSION}/sobjects/Account", "richInput": {"Name": "Kept"}},
            {"method": "POST", "url": f"v{VERSION}/sobjects/Account", "richInput": {}},
            {"method": "POST", "url": f"v{VERSION}/sobjects/Account", "richInput": {"Name": "After"}},
        ]
    }
    answer = sf.restful("composite/batch", method="POST", json=body)
    assert answer["hasErrors"] is True
    assert [r["statusCode"] for r in answer["results"]] == [201, 400, 201]
    assert answer["results"][1]["result"] == [
        {
            "message": "Required fields are missing: [Name]",
            "errorCode": "REQUIRED_FIELD_MISSING",
            "fields": ["Name"],
        }
    ]
    assert count(sf, "SELECT COUNT() FROM Account") == 2  # no rollback of the first one

    halted = sf.restful("composite/batch", method="POST", json={**body, "haltOnError": True})
    assert halted["hasErrors"] is True
    assert [r["statusCode"] for r in halted["results"]] == [201, 400, 412]
    assert halted["results"][2]["result"][0]["errorCode"] == "BATCH_PROCESSING_HALTED"
    assert count(sf, "SELECT COUNT() FROM Account") == 3  # "After" was not run


def test_batch_counts_every_subrequest_and_refuses_malformed(http, sfemu_org: OrgHandle) -> None:
    url = f"{sfemu_org.instance_url}/services/data/v{VERSION}/composite/batch"
    headers = {"Authorization": f"Bearer {sfemu_org.access_token}"}
    four = {"batchRequests": [{"method": "GET", "url": f"v{VERSION}/limits"}] * 4}
    first = http.post(url, json=four, headers=headers, timeout=10)
    second = http.post(url, json=four, headers=headers, timeout=10)
    assert first.status_code == second.status_code == 200
    assert usage(second) == usage(first) + 4  # "Each subrequest counts against rate limits"
    too_many = {"batchRequests": [{"method": "GET", "url": f"v{VERSION}/limits"}] * 26}
    refused = http.post(url, json=too_many, headers=headers, timeout=10)
    assert refused.status_code == 400 and isinstance(refused.json(), list)
    no_url = http.post(url, json={"batchRequests": [{"method": "GET"}]}, headers=headers, timeout=10)
    assert no_url.status_code == 400


# --- recent --------------------------------------------------------------------------------------


def test_recent_is_an_empty_list(http, sfemu_org: OrgHandle, sf: Salesforce) -> None:
    sf.Account.create({"Name": "Viewed?"})
    base = f"{sfemu_org.instance_url}/services/data/v{VERSION}/recent"
    headers = {"Authorization": f"Bearer {sfemu_org.access_token}"}
    for params in ({}, {"limit": "5"}):
        resp = http.get(base, params=params, headers=headers, timeout=10)
        assert resp.status_code == 200, resp.text
        assert resp.headers["content-type"] == "application/json;charset=UTF-8"
        assert resp.json() == []
    assert http.get(base, timeout=10).status_code == 401

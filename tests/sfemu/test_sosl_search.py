"""SOSL ``search`` and ``parameterizedSearch`` over real HTTP, with simple-salesforce."""

from __future__ import annotations

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from sfemu.testing import OrgHandle, SfemuServer

VERSION = "62.0"


@pytest.fixture(scope="module")
def org(sfemu_server: SfemuServer) -> OrgHandle:
    return sfemu_server.create_org("sosl")


@pytest.fixture(scope="module")
def http(sfemu_server: SfemuServer) -> requests.Session:
    return sfemu_server.http_session()


@pytest.fixture(scope="module")
def sf(sfemu_server: SfemuServer, org: OrgHandle, http) -> Salesforce:
    return Salesforce(
        instance_url=sfemu_server.url, session_id=org.access_token, session=http, version=VERSION
    )


@pytest.fixture(scope="module")
def rows(sf: Salesforce) -> dict[str, str]:
    made = {
        "acme": sf.Account.create({"Name": "Acme Widgets", "Industry": "Energy", "Phone": "555-0100"})["id"],
        "acme_oil": sf.Account.create({"Name": "Acme Oil", "NumberOfEmployees": 50})["id"],
        "globex": sf.Account.create({"Name": "Globex Corporation", "Description": "big acme rival"})["id"],
        "other": sf.Account.create({"Name": "Initech"})["id"],
    }
    made["jane"] = sf.Contact.create(
        {"LastName": "Acmeson", "FirstName": "Jane", "Email": "jane@acme.example", "AccountId": made["acme"]}
    )["id"]
    made["bob"] = sf.Contact.create(
        {"LastName": "Builder", "FirstName": "Bob", "Email": "bob@build.example"}
    )["id"]
    return made


def _ids(result: dict) -> list[str]:
    return [r["Id"] for r in result["searchRecords"]]


def test_quick_search_returns_ids_of_every_matching_object(sf: Salesforce, rows) -> None:
    result = sf.quick_search("Acme")
    assert set(result) == {"searchRecords"}
    found = _ids(result)
    # Word match: "Acmeson" is not the word "acme", the email's host part is.
    assert set(found) == {rows["acme"], rows["acme_oil"], rows["globex"], rows["jane"]}
    first = result["searchRecords"][0]
    assert list(first) == ["attributes", "Id"]
    assert (
        first["attributes"]["url"]
        == f"/services/data/v{VERSION}/sobjects/{first['attributes']['type']}/{first['Id']}"
    )


def test_returning_fields_where_order_and_limit(sf: Salesforce, rows) -> None:
    result = sf.search(
        "FIND {Acme} IN ALL FIELDS "
        "RETURNING Account(Id, Name WHERE NumberOfEmployees = null ORDER BY Name DESC)"
    )
    records = result["searchRecords"]
    assert [r["Name"] for r in records] == ["Globex Corporation", "Acme Widgets"]
    assert list(records[0]) == ["attributes", "Id", "Name"]
    assert records[0]["attributes"]["type"] == "Account"
    limited = sf.search("FIND {Acme} RETURNING Account(Name ORDER BY Name LIMIT 1), Contact(Email)")
    assert [r.get("Name") or r.get("Email") for r in limited["searchRecords"]] == [
        "Acme Oil",
        "jane@acme.example",
    ]


def test_scopes_boolean_operators_phrases_wildcards(sf: Salesforce, rows) -> None:
    assert set(_ids(sf.search("FIND {Acme} IN NAME FIELDS RETURNING Account"))) == {
        rows["acme"],
        rows["acme_oil"],
    }
    assert _ids(sf.search("FIND {acme.example} IN EMAIL FIELDS RETURNING Contact")) == [rows["jane"]]
    assert _ids(sf.search("FIND {555*} IN PHONE FIELDS")) == [rows["acme"]]
    assert _ids(sf.search('FIND {"acme oil"} RETURNING Account')) == [rows["acme_oil"]]
    assert set(_ids(sf.search("FIND {Acme AND NOT Oil} RETURNING Account"))) == {rows["acme"], rows["globex"]}
    assert set(_ids(sf.search("FIND {Initech OR Globex} RETURNING Account"))) == {
        rows["other"],
        rows["globex"],
    }
    assert _ids(sf.search("FIND {Acme*} IN NAME FIELDS RETURNING Contact(Id)")) == [rows["jane"]]
    assert _ids(sf.search("FIND {Acme Widgets} RETURNING Account")) == [rows["acme"]]
    assert (
        _ids(sf.search("FIND {Acme} RETURNING Account LIMIT 1"))
        == _ids(sf.search("FIND {Acme} RETURNING Account"))[:1]
    )
    assert sf.search("FIND {zzzz} RETURNING Account") == {"searchRecords": []}


def test_deleted_rows_are_not_found(sf: Salesforce) -> None:
    gone = sf.Account.create({"Name": "Vanishing Zeppelin"})["id"]
    assert _ids(sf.quick_search("Zeppelin")) == [gone]
    sf.Account.delete(gone)
    assert _ids(sf.quick_search("Zeppelin")) == []


def _error(http, url: str, token: str, q: str) -> tuple[int, list]:
    resp = http.get(url, params={"q": q}, headers={"Authorization": f"Bearer {token}"}, timeout=10)
    return resp.status_code, resp.json()


def test_malformed_sosl_answers_salesforce_errors(sfemu_server, org, http) -> None:
    url = f"{sfemu_server.url}/services/data/v{VERSION}/search/"
    # Recorded real answers (restforce#688, force-rest-api#92): Column = 0-based index.
    status, body = _error(http, url, org.access_token, "FIND {John|jane_gray@uoa.edu} RETURNING Contact")
    assert status == 400
    assert body == [
        {
            "message": "\nFIND {John|jane_gray@uoa.edu} RETURNING Contact\n         ^\n"
            "ERROR at Row:1:Column:10\n"
            "line 1:10 mismatched character '|' expecting '}'",
            "errorCode": "MALFORMED_SEARCH",
        }
    ]
    status, body = _error(http, url, org.access_token, "FIND {name} IN ALL TYPE RETURNING Account(name)")
    assert status == 400
    assert body[0]["errorCode"] == "MALFORMED_SEARCH"
    assert body[0]["message"] == (
        "\nFIND {name} IN ALL TYPE RETURNING Account(name)\n                  ^\n"
        "ERROR at Row:1:Column:19\nMalformed search token: TYPE"
    )
    status, body = _error(http, url, org.access_token, "SELECT Id FROM Account")
    assert (status, body[0]["errorCode"]) == (400, "MALFORMED_SEARCH")
    status, body = _error(http, url, org.access_token, "FIND {Acme")
    assert (status, body[0]["errorCode"]) == (400, "MALFORMED_SEARCH")


def test_bad_object_or_field_in_returning(sfemu_server, org, http) -> None:
    url = f"{sfemu_server.url}/services/data/v{VERSION}/search/"
    status, body = _error(http, url, org.access_token, "FIND {Acme} RETURNING Nope__c")
    assert (status, body[0]["errorCode"]) == (400, "INVALID_TYPE")
    assert "sObject type 'Nope__c' is not supported" in body[0]["message"]
    status, body = _error(http, url, org.access_token, "FIND {Acme} RETURNING Account(Bogus__c)")
    assert (status, body[0]["errorCode"]) == (400, "INVALID_FIELD")
    assert "No such column 'Bogus__c' on entity 'Account'" in body[0]["message"]


def test_simple_salesforce_raises_on_malformed(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as err:
        sf.search("FIND {a-b}")
    assert err.value.content[0]["errorCode"] == "MALFORMED_SEARCH"


def test_parameterized_search_get(sf: Salesforce, rows) -> None:
    everything = sf.restful("parameterizedSearch/", params={"q": "Acme"})
    assert set(_ids(everything)) == {rows["acme"], rows["acme_oil"], rows["globex"], rows["jane"]}
    accounts = sf.restful(
        "parameterizedSearch/",
        params={
            "q": "Acme",
            "sobject": "Account",
            "Account.fields": "Id,Name",
            "Account.limit": "2",
            "in": "NAME",
        },
    )
    records = accounts["searchRecords"]
    assert [r["attributes"]["type"] for r in records] == ["Account", "Account"]
    assert {r["Id"] for r in records} == {rows["acme"], rows["acme_oil"]}
    assert list(records[0]) == ["attributes", "Id", "Name"]
    both = sf.restful(
        "parameterizedSearch/",
        params=[
            ("q", "Acme"),
            ("sobject", "Account"),
            ("sobject", "Contact"),
            ("fields", "Id"),
            ("overallLimit", "4"),
        ],
    )
    assert len(both["searchRecords"]) == 4
    assert both["searchRecords"][-1]["Id"] == rows["jane"]
    filtered = sf.restful(
        "parameterizedSearch/",
        params={
            "q": "Acme",
            "sobject": "Account",
            "Account.where": "NumberOfEmployees > 10",
            "Account.fields": "Name",
        },
    )
    assert [r["Name"] for r in filtered["searchRecords"]] == ["Acme Oil"]


def test_parameterized_search_post(sf: Salesforce, rows) -> None:
    body = {
        "q": "Acme",
        "fields": ["Id", "Name"],
        "sobjects": [
            {"name": "Account", "where": "Industry = 'Energy'"},
            {"name": "Contact", "fields": ["Id", "Email"]},
        ],
        "in": "ALL",
        "overallLimit": 100,
    }
    result = sf.restful("parameterizedSearch/", method="POST", json=body)
    assert [(r["attributes"]["type"], r["Id"]) for r in result["searchRecords"]] == [
        ("Account", rows["acme"]),
        ("Contact", rows["jane"]),
    ]
    assert result["searchRecords"][1]["Email"] == "jane@acme.example"


def test_parameterized_search_needs_q_and_v36(sfemu_server, org, http) -> None:
    headers = {"Authorization": f"Bearer {org.access_token}"}
    resp = http.get(
        f"{sfemu_server.url}/services/data/v{VERSION}/parameterizedSearch/", headers=headers, timeout=10
    )
    assert resp.status_code == 400
    resp = http.get(
        f"{sfemu_server.url}/services/data/v35.0/parameterizedSearch/",
        params={"q": "Acme"},
        headers=headers,
        timeout=10,
    )
    assert resp.status_code == 404
    assert resp.json() == [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]

"""A scripted session with unmodified simple-salesforce against sfemu over HTTPS.

The token comes from the OAuth password grant (posted with requests) and from SOAP login;
simple-salesforce itself is used in "direct" mode (``instance_url`` + ``session_id``).
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceMoreThanOneRecord,
    SalesforceResourceNotFound,
)
from simple_salesforce.login import soap_login

from sfemu.testing import AppHandle, OrgHandle, SfemuServer

VERSION = "62.0"
MANY = 5_100


@pytest.fixture(scope="module")
def org(sfemu_server: SfemuServer) -> OrgHandle:
    handle = sfemu_server.create_org("simple-salesforce")
    domain = handle.org
    domain.add_custom_field("Account", "External_Id__c", "text", length=40, external_id=True, unique=True)
    domain.add_custom_field("Account", "Legacy_Key__c", "text", length=40, external_id=True)
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
def app(sfemu_server: SfemuServer, org: OrgHandle) -> AppHandle:
    return sfemu_server.create_app(org, "simple-salesforce tests")


@pytest.fixture(scope="module")
def http(sfemu_server: SfemuServer) -> Iterator[requests.Session]:
    session = sfemu_server.http_session()
    yield session
    session.close()


@pytest.fixture(scope="module")
def oauth_token(sfemu_server: SfemuServer, org: OrgHandle, app: AppHandle, http) -> dict:
    resp = http.post(
        f"{sfemu_server.url}/services/oauth2/token",
        timeout=10,
        data={
            "grant_type": "password",
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "username": org.username,
            "password": org.login_password,
        },
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


@pytest.fixture(scope="module")
def sf(oauth_token: dict, http) -> Salesforce:
    return Salesforce(
        instance_url=oauth_token["instance_url"],
        session_id=oauth_token["access_token"],
        session=http,
        version=VERSION,
    )


def test_soap_login_session_works_too(sfemu_server, org, http) -> None:
    body = f"""<?xml version="1.0" encoding="utf-8" ?>
<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"
    xmlns:urn="urn:partner.soap.sforce.com"><env:Body>
<n1:login xmlns:n1="urn:partner.soap.sforce.com"><n1:username>{org.username}</n1:username>
<n1:password>{org.login_password}</n1:password></n1:login></env:Body></env:Envelope>"""
    session_id, instance = soap_login(
        f"{sfemu_server.url}/services/Soap/u/{VERSION}",
        body,
        {"content-type": "text/xml", "charset": "UTF-8", "SOAPAction": "login"},
        None,
        session=http,
    )
    soap_sf = Salesforce(instance=instance, session_id=session_id, session=http, version=VERSION)
    assert soap_sf.sf_instance == instance
    assert soap_sf.query("SELECT COUNT() FROM Account")["done"] is True
    assert soap_sf.api_usage["api-usage"].used >= 1


def test_describe(sf: Salesforce) -> None:
    names = {s["name"] for s in sf.describe()["sobjects"]}
    assert {"Account", "Contact", "Opportunity"} <= names
    describe = sf.Account.describe()
    fields = {f["name"]: f for f in describe["fields"]}
    assert fields["External_Id__c"]["externalId"] is True
    assert fields["Name"]["type"] == "string"
    assert sf.Account.metadata()["objectDescribe"]["name"] == "Account"


def test_create_get_update_upsert_delete(sf: Salesforce) -> None:
    created = sf.Account.create({"Name": "Acme", "External_Id__c": "ACME-1"})
    assert created["success"] is True and created["errors"] == []
    record_id = created["id"]
    record = sf.Account.get(record_id)
    assert record["attributes"]["type"] == "Account"
    assert record["Name"] == "Acme"
    assert sf.Account.update(record_id, {"Name": "Acme Corp"}) == 204
    assert sf.Account.get_by_custom_id("External_Id__c", "ACME-1")["Name"] == "Acme Corp"
    assert sf.Account.upsert("External_Id__c/ACME-2", {"Name": "Upserted"}) == 201
    assert sf.Account.upsert("External_Id__c/ACME-2", {"Name": "Upserted again"}) == 200
    second = sf.Account.get_by_custom_id("External_Id__c", "ACME-2")
    assert second["Name"] == "Upserted again"
    assert sf.Account.delete(record_id) == 204
    assert sf.Account.delete(second["Id"]) == 204


def test_upsert_with_several_matches(sf: Salesforce) -> None:
    sf.Account.create({"Name": "Twin 1", "Legacy_Key__c": "TWIN"})
    sf.Account.create({"Name": "Twin 2", "Legacy_Key__c": "TWIN"})
    with pytest.raises(SalesforceMoreThanOneRecord) as many:
        sf.Account.upsert("Legacy_Key__c/TWIN", {"Name": "Which?"})
    assert len(many.value.content) == 2
    assert all(u.startswith(f"/services/data/v{VERSION}/sobjects/Account/") for u in many.value.content)


def test_collection_with_partial_failure(sf: Salesforce) -> None:
    result = sf.restful(
        "composite/sobjects",
        method="POST",
        json={
            "allOrNone": False,
            "records": [
                {"attributes": {"type": "Account"}, "Name": "Batch ok"},
                {"attributes": {"type": "Account"}, "Tier__c": "Gold"},
            ],
        },
    )
    ok, failed = result
    assert ok["success"] is True and ok["id"].startswith("001")
    assert failed == {
        "success": False,
        "errors": [
            {
                "statusCode": "REQUIRED_FIELD_MISSING",
                "message": "Required fields are missing: [Name]",
                "fields": ["Name"],
            }
        ],
    }


def test_query_more_over_five_thousand_rows(sf: Salesforce) -> None:
    for start in range(0, MANY, 200):
        batch = [
            {"attributes": {"type": "Account"}, "Name": f"Bulk {i:05d}"}
            for i in range(start, min(MANY, start + 200))
        ]
        result = sf.restful("composite/sobjects", method="POST", json={"allOrNone": True, "records": batch})
        assert all(r["success"] for r in result)
    soql = "SELECT Id, Name FROM Account WHERE Name LIKE 'Bulk %'"
    first = sf.query(soql)
    assert first["totalSize"] == MANY
    assert first["done"] is False and len(first["records"]) == 2000
    second = sf.query_more(first["nextRecordsUrl"], identifier_is_url=True)
    assert len(second["records"]) == 2000
    locator = second["nextRecordsUrl"].rsplit("/", 1)[1]
    third = sf.query_more(locator)
    assert third["done"] is True and len(third["records"]) == MANY - 4000
    everything = sf.query_all(soql)
    assert everything["totalSize"] == MANY
    assert len({r["Id"] for r in everything["records"]}) == MANY


def test_updated_and_deleted(sf: Salesforce, sfemu_server) -> None:
    clock = sfemu_server.clock
    start = clock.advance(minutes=1)  # windows start at or after the org's creation minute
    kept = sf.Account.create({"Name": "Replicated"})["id"]
    gone = sf.Account.create({"Name": "Removed"})["id"]
    sf.Account.delete(gone)
    end = clock.advance(minutes=2)  # only whole past minutes are covered
    updated = sf.Account.updated(start, end)
    assert kept in updated["ids"]
    assert gone not in updated["ids"]
    assert updated["latestDateCovered"].endswith(":00.000+0000")
    deleted = sf.Account.deleted(start, end)
    assert gone in [d["id"] for d in deleted["deletedRecords"]]
    assert {"earliestDateAvailable", "latestDateCovered"} <= set(deleted)
    with pytest.raises(SalesforceMalformedRequest) as backwards:
        sf.Account.updated(end, start)
    assert _error(backwards)["errorCode"] == "INVALID_REPLICATION_DATE"


def _error(exc: pytest.ExceptionInfo) -> dict:
    content = exc.value.content
    assert isinstance(content, list) and len(content) == 1
    return content[0]


@pytest.mark.parametrize(
    ("values", "code", "fields"),
    [
        ({}, "REQUIRED_FIELD_MISSING", ["Name"]),
        ({"Name": "x" * 256}, "STRING_TOO_LONG", ["Name"]),
        ({"Name": "Picky", "Tier__c": "Bronze"}, "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST", ["Tier__c"]),
        (
            {"Name": "Negative", "NumberOfEmployees": -1},
            "FIELD_CUSTOM_VALIDATION_EXCEPTION",
            ["NumberOfEmployees"],
        ),
        (
            {"Name": "Clock", "CreatedDate": "2020-01-01T00:00:00Z"},
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            ["CreatedDate"],
        ),
    ],
)
def test_create_errors(sf: Salesforce, values: dict, code: str, fields: list[str]) -> None:
    with pytest.raises(SalesforceMalformedRequest) as failed:
        sf.Account.create(values)
    error = _error(failed)
    assert error["errorCode"] == code
    assert error["fields"] == fields
    assert failed.value.status == 400


def test_validation_rule_message(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as failed:
        sf.Account.create({"Name": "Negative", "NumberOfEmployees": -5})
    assert _error(failed)["message"] == "Employees cannot be negative"


def test_duplicate_value(sf: Salesforce) -> None:
    first = sf.Account.create({"Name": "Unique 1", "External_Id__c": "DUP-1"})["id"]
    with pytest.raises(SalesforceMalformedRequest) as failed:
        sf.Account.create({"Name": "Unique 2", "External_Id__c": "DUP-1"})
    error = _error(failed)
    assert error["errorCode"] == "DUPLICATE_VALUE"
    assert first in error["message"] or first[:15] in error["message"]


def test_invalid_cross_reference(sf: Salesforce) -> None:
    account = sf.Account.create({"Name": "Parent to be"})["id"]
    sf.Account.delete(account)
    with pytest.raises(SalesforceMalformedRequest) as failed:
        sf.Contact.create({"LastName": "Orphan", "AccountId": account})
    assert _error(failed)["errorCode"] in {"INVALID_CROSS_REFERENCE_KEY", "ENTITY_IS_DELETED"}
    with pytest.raises(SalesforceMalformedRequest) as bad_owner:
        sf.Account.create({"Name": "Owned", "OwnerId": "005000000000000AAA"})
    assert _error(bad_owner)["errorCode"] == "INVALID_CROSS_REFERENCE_KEY"


def test_read_only_field_on_update(sf: Salesforce) -> None:
    record_id = sf.Account.create({"Name": "Stamped"})["id"]
    with pytest.raises(SalesforceMalformedRequest) as failed:
        sf.Account.update(record_id, {"LastModifiedDate": "2020-01-01T00:00:00Z"})
    assert _error(failed)["errorCode"] == "INVALID_FIELD_FOR_INSERT_UPDATE"


def test_deleted_and_missing_records(sf: Salesforce) -> None:
    record_id = sf.Account.create({"Name": "Short lived"})["id"]
    sf.Account.delete(record_id)
    with pytest.raises(SalesforceResourceNotFound) as deleted:
        sf.Account.delete(record_id)
    assert _error(deleted) == {"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED", "fields": []}
    with pytest.raises(SalesforceResourceNotFound) as missing:
        sf.Account.get(record_id)
    assert _error(missing) == {"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}


def test_malformed_query(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as failed:
        sf.query("SELECT Id FROM Account WHERE")
    error = _error(failed)
    assert error["errorCode"] == "MALFORMED_QUERY"
    assert "ERROR at Row:1:Column:" in error["message"]


def test_invalid_session_after_expiry(sfemu_server, org: OrgHandle, http) -> None:
    token = org.new_access_token()
    short = Salesforce(instance_url=sfemu_server.url, session_id=token, session=http, version=VERSION)
    assert short.query("SELECT COUNT() FROM Account")["done"] is True
    sfemu_server.expire_token(token)
    with pytest.raises(SalesforceExpiredSession) as expired:
        short.query("SELECT COUNT() FROM Account")
    assert expired.value.status == 401
    assert _error(expired) == {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}

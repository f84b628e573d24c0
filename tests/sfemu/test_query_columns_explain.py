"""``query?q=…&columns=true`` (the Salesforce CLI's column lookup) and ``query?explain=…``.

The column shape is the one salesforcecli/plugin-data's ``retrieveColumns`` reads (its test
exemplars in test/test-files/queryFields.exemplars.ts); the calls go through unmodified
simple-salesforce (``restful``) and raw requests built exactly as the CLI builds them.
"""

from __future__ import annotations

from urllib.parse import quote

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from sfemu.testing import OrgHandle, SfemuServer

VERSION = "62.0"
COLUMN_KEYS = [
    "aggregate",
    "apexType",
    "booleanType",
    "columnName",
    "custom",
    "displayName",
    "foreignKeyName",
    "insertable",
    "joinColumns",
    "numberType",
    "textType",
    "updatable",
]


@pytest.fixture(scope="module")
def org(sfemu_server: SfemuServer) -> OrgHandle:
    handle = sfemu_server.create_org("columns")
    domain = handle.org
    account = domain.create("Account", {"Name": "Acme", "NumberOfEmployees": 5}, user_id=domain.admin_user_id)
    domain.create("Account", {"Name": "Globex"}, user_id=domain.admin_user_id)
    domain.create("Contact", {"LastName": "Smith", "AccountId": account}, user_id=domain.admin_user_id)
    return handle


@pytest.fixture(scope="module")
def sf(sfemu_server: SfemuServer, org: OrgHandle) -> Salesforce:
    return Salesforce(
        instance_url=org.instance_url,
        session_id=org.access_token,
        session=sfemu_server.http_session(),
        version=VERSION,
    )


def columns(sf: Salesforce, soql: str, path: str = "query") -> dict:
    return sf.restful(path, params={"q": soql, "columns": "true"})


def test_plain_fields(sf: Salesforce) -> None:
    body = columns(sf, "SELECT Id, Name, NumberOfEmployees, IsDeleted FROM Account")
    assert list(body) == ["columnMetadata", "entityName", "groupBy", "idSelected", "keyPrefix"]
    assert body["entityName"] == "Account" and body["keyPrefix"] == "001"
    assert body["groupBy"] is False and body["idSelected"] is True
    cols = body["columnMetadata"]
    assert [list(c) for c in cols] == [COLUMN_KEYS] * 4
    ident, name, staff, deleted = cols
    assert ident == {
        "aggregate": False,
        "apexType": "Id",
        "booleanType": False,
        "columnName": "Id",
        "custom": False,
        "displayName": "Id",
        "foreignKeyName": None,
        "insertable": False,
        "joinColumns": [],
        "numberType": False,
        "textType": False,
        "updatable": False,
    }
    assert name["apexType"] == "String" and name["textType"] and name["insertable"] and name["updatable"]
    assert staff["apexType"] == "Integer" and staff["numberType"] and not staff["textType"]
    assert deleted["apexType"] == "Boolean" and deleted["booleanType"] and not deleted["updatable"]
    assert columns(sf, "SELECT Name FROM Account")["idSelected"] is False


def test_relationship_fields_are_join_columns(sf: Salesforce) -> None:
    cols = columns(sf, "SELECT Name, Owner.Name, Account.Owner.Email FROM Contact")["columnMetadata"]
    assert [c["columnName"] for c in cols] == ["Name", "Owner", "Account"]
    owner = cols[1]
    assert owner["foreignKeyName"] == "OwnerId" and owner["apexType"] is None and not owner["aggregate"]
    assert [c["columnName"] for c in owner["joinColumns"]] == ["Name"]
    account = cols[2]
    assert account["foreignKeyName"] == "AccountId"
    nested = account["joinColumns"][0]
    assert nested["columnName"] == "Owner" and nested["foreignKeyName"] == "OwnerId"
    assert nested["joinColumns"][0]["columnName"] == "Email"


def test_subquery_is_an_aggregate_column(sf: Salesforce) -> None:
    cols = columns(sf, "SELECT Name, (SELECT LastName, Email FROM Contacts) FROM Account")["columnMetadata"]
    contacts = cols[1]
    assert contacts["columnName"] == "Contacts" and contacts["aggregate"] is True
    assert contacts["apexType"] is None and contacts["foreignKeyName"] is None
    assert [c["columnName"] for c in contacts["joinColumns"]] == ["LastName", "Email"]
    assert contacts["joinColumns"][0]["insertable"] is True


def test_aggregates_group_by_and_count(sf: Salesforce) -> None:
    body = columns(sf, "SELECT AccountId, count(Id), MAX(LastName) maxName FROM Contact GROUP BY AccountId")
    assert body["groupBy"] is True and body["idSelected"] is False
    group, count, last = body["columnMetadata"]
    assert group["columnName"] == "AccountId" and group["aggregate"] is False and group["apexType"] == "Id"
    assert count["columnName"] == "expr0" and count["displayName"] == "count(Id)"
    assert count["aggregate"] is True and count["numberType"] is True and count["apexType"] is None
    assert last["columnName"] == "maxName" and last["displayName"] == "MAX(LastName)" and last["textType"]
    body = columns(sf, "SELECT COUNT() FROM Account")
    assert body["columnMetadata"] == [] and body["entityName"] == "Account"


def test_the_cli_request_and_errors(http: requests.Session, org: OrgHandle, sf: Salesforce) -> None:
    # plugin-data: `${connection._baseUrl()}/query?q=${encodeURIComponent(query)}&columns=true`
    soql = "SELECT Id, Name FROM Account WHERE Name LIKE 'A%'"
    url = f"{org.instance_url}/services/data/v{VERSION}/query?q={quote(soql, safe='')}&columns=true"
    resp = http.get(url, headers={"Authorization": f"Bearer {org.access_token}"}, timeout=10)
    assert resp.status_code == 200
    assert [c["columnName"] for c in resp.json()["columnMetadata"]] == ["Id", "Name"]
    with pytest.raises(SalesforceMalformedRequest) as bad:
        columns(sf, "SELECT Nope__c FROM Account")
    assert bad.value.content[0]["errorCode"] == "INVALID_FIELD"
    # without columns=true the same URL still answers rows
    assert sf.restful("query", params={"q": soql, "columns": "false"})["totalSize"] == 1


def test_tooling_query_columns(sf: Salesforce) -> None:
    body = columns(sf, "SELECT QualifiedApiName, DataType FROM FieldDefinition", path="tooling/query")
    assert body["entityName"] == "FieldDefinition"
    assert [c["columnName"] for c in body["columnMetadata"]] == ["QualifiedApiName", "DataType"]


def test_explain(sf: Salesforce) -> None:
    body = sf.restful("query/", params={"explain": "SELECT Id FROM Account WHERE Name = 'Acme'"})
    (plan,) = body["plans"]
    assert list(plan) == [
        "cardinality",
        "fields",
        "leadingOperationType",
        "notes",
        "relativeCost",
        "sobjectCardinality",
        "sobjectType",
    ]
    assert plan["sobjectType"] == "Account" and plan["leadingOperationType"] == "TableScan"
    assert plan["sobjectCardinality"] == 2 and plan["cardinality"] == 1
    assert plan["fields"] == [] and plan["relativeCost"] > 0
    assert plan["notes"][0]["fields"] == ["IsDeleted"] and plan["notes"][0]["tableEnumOrId"] == "Account"
    with pytest.raises(SalesforceMalformedRequest) as bad:
        sf.restful("query", params={"explain": "SELEC Id FROM Account"})
    assert bad.value.content[0]["errorCode"] == "MALFORMED_QUERY"

"""Tooling API through simple-salesforce: create custom fields, see them in describe and records,
read them back, query FieldDefinition / EntityDefinition, permission and duplicate errors."""

from __future__ import annotations

import pytest
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest, SalesforceResourceNotFound

from sfemu.testing import OrgHandle, SfemuServer
from tests.sfemu.replay.checks import valid_id18

VERSION = "62.0"


def client(server: SfemuServer, org: OrgHandle, token: str | None = None) -> Salesforce:
    return Salesforce(
        instance_url=org.instance_url,
        session_id=token or org.access_token,
        session=server.http_session(),
        version=VERSION,
    )


def create_field(sf: Salesforce, full_name: str, metadata: dict) -> dict:
    return sf.toolingexecute(
        "sobjects/CustomField", method="POST", data={"FullName": full_name, "Metadata": metadata}
    )


@pytest.fixture
def sf(sfemu_server: SfemuServer, sfemu_org: OrgHandle) -> Salesforce:
    return client(sfemu_server, sfemu_org)


def test_text_external_id_field_appears_in_describe_and_takes_values(sf: Salesforce) -> None:
    result = create_field(
        sf,
        "Account.OrgSync_Source_Id__c",
        {
            "type": "Text",
            "length": 18,
            "externalId": True,
            "unique": True,
            "caseSensitive": True,
            "label": "OrgSync Source Id",
        },
    )
    assert result["success"] is True and result["errors"] == []
    assert result["id"].startswith("00N") and valid_id18(result["id"])
    described = {f["name"]: f for f in sf.Account.describe()["fields"]}
    field = described["OrgSync_Source_Id__c"]
    assert field["type"] == "string" and field["length"] == 18
    assert field["externalId"] is True and field["unique"] is True and field["caseSensitive"] is True
    assert field["label"] == "OrgSync Source Id" and field["custom"] is True
    # usable at once, including as the upsert key
    sf.Account.upsert("OrgSync_Source_Id__c/SRC-1", {"Name": "Upserted"})
    row = sf.Account.get_by_custom_id("OrgSync_Source_Id__c", "SRC-1")
    assert row["Name"] == "Upserted"


def test_number_checkbox_picklist_and_lookup_fields(sf: Salesforce) -> None:
    create_field(sf, "Account.Score__c", {"type": "Number", "precision": 10, "scale": 2, "label": "Score"})
    create_field(
        sf, "Account.Active_Flag__c", {"type": "Checkbox", "defaultValue": "true", "label": "Active"}
    )
    create_field(
        sf,
        "Account.Tier__c",
        {
            "type": "Picklist",
            "label": "Tier",
            "valueSet": {
                "restricted": True,
                "valueSetDefinition": {
                    "sorted": False,
                    "value": [
                        {"fullName": "Gold", "default": False, "label": "Gold"},
                        {"fullName": "Silver", "default": True, "label": "Silver"},
                    ],
                },
            },
        },
    )
    create_field(
        sf,
        "Contact.Source_Account__c",
        {
            "type": "Lookup",
            "label": "Source Account",
            "referenceTo": "Account",
            "relationshipName": "Sourced_Contacts",
            "deleteConstraint": "SetNull",
        },
    )
    fields = {f["name"]: f for f in sf.Account.describe()["fields"]}
    assert (fields["Score__c"]["type"], fields["Score__c"]["precision"], fields["Score__c"]["scale"]) == (
        "double",
        10,
        2,
    )
    assert fields["Active_Flag__c"]["type"] == "boolean" and fields["Active_Flag__c"]["defaultValue"] is True
    tier = fields["Tier__c"]
    assert tier["type"] == "picklist" and tier["restrictedPicklist"] is True
    assert [v["value"] for v in tier["picklistValues"]] == ["Gold", "Silver"]
    lookup = {f["name"]: f for f in sf.Contact.describe()["fields"]}["Source_Account__c"]
    assert lookup["referenceTo"] == ["Account"] and lookup["relationshipName"] == "Source_Account__r"

    account = sf.Account.create({"Name": "Acme", "Score__c": 12.5, "Tier__c": "Gold"})["id"]
    contact = sf.Contact.create({"LastName": "Doe", "Source_Account__c": account})["id"]
    got = sf.query(f"SELECT Score__c, Active_Flag__c, Tier__c FROM Account WHERE Id = '{account}'")[
        "records"
    ][0]
    assert (got["Score__c"], got["Active_Flag__c"], got["Tier__c"]) == (12.5, True, "Gold")
    joined = sf.query(f"SELECT Source_Account__r.Name FROM Contact WHERE Id = '{contact}'")["records"][0]
    assert joined["Source_Account__r"]["Name"] == "Acme"
    children = sf.query(f"SELECT (SELECT Id FROM Sourced_Contacts__r) FROM Account WHERE Id = '{account}'")
    assert children["records"][0]["Sourced_Contacts__r"]["totalSize"] == 1
    with pytest.raises(SalesforceMalformedRequest) as bad:
        sf.Account.create({"Name": "Bad", "Tier__c": "Bronze"})
    assert bad.value.content[0]["errorCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"


def test_custom_field_read_back(sf: Salesforce) -> None:
    metadata = {"type": "Text", "length": 40, "externalId": True, "label": "Legacy Key"}
    field_id = create_field(sf, "Account.Legacy_Key__c", metadata)["id"]
    record = sf.toolingexecute(f"sobjects/CustomField/{field_id}")
    assert record["attributes"] == {
        "type": "CustomField",
        "url": f"/services/data/v{VERSION}/tooling/sobjects/CustomField/{field_id}",
    }
    assert record["Id"] == field_id and record["DeveloperName"] == "Legacy_Key"
    assert record["TableEnumOrId"] == "Account" and record["FullName"] == "Account.Legacy_Key__c"
    assert record["Metadata"]["length"] == 40 and record["Metadata"]["externalId"] is True
    with pytest.raises(SalesforceResourceNotFound):
        sf.toolingexecute("sobjects/CustomField/00N000000000000AAA")


def test_field_definition_query(sf: Salesforce) -> None:
    create_field(
        sf,
        "Account.OrgSync_Source_Id__c",
        {
            "type": "Text",
            "length": 18,
            "externalId": True,
            "unique": True,
            "caseSensitive": True,
            "label": "Src",
        },
    )
    soql = (
        "SELECT QualifiedApiName, DataType, Length, IsIndexed, EntityDefinition.QualifiedApiName "
        "FROM FieldDefinition WHERE EntityDefinition.QualifiedApiName = 'Account' ORDER BY QualifiedApiName"
    )
    answer = sf.toolingexecute("query/?q=" + soql.replace(" ", "+"))
    assert answer["entityTypeName"] == "FieldDefinition" and answer["done"] is True
    assert answer["size"] == answer["totalSize"] == len(answer["records"]) > 20
    by_name = {r["QualifiedApiName"]: r for r in answer["records"]}
    src = by_name["OrgSync_Source_Id__c"]
    assert src["DataType"] == "Text(18) (External ID) (Unique Case Sensitive)"
    assert src["Length"] == 18 and src["IsIndexed"] is True
    assert src["EntityDefinition"]["QualifiedApiName"] == "Account"
    assert src["attributes"]["type"] == "FieldDefinition"
    assert src["attributes"]["url"].startswith(
        f"/services/data/v{VERSION}/tooling/sobjects/FieldDefinition/Account.00N"
    )
    assert by_name["Name"]["IsIndexed"] is True and by_name["Id"]["DataType"] == "Lookup()"
    # restful() reaches the same resource
    same = sf.restful(
        "tooling/query", params={"q": "SELECT Id FROM FieldDefinition WHERE EntityDefinitionId = 'Account'"}
    )
    assert same["totalSize"] == answer["totalSize"]


def test_entity_definition_query(sf: Salesforce) -> None:
    answer = sf.restful(
        "tooling/query",
        params={
            "q": "SELECT QualifiedApiName, KeyPrefix, IsQueryable FROM EntityDefinition "
            "WHERE QualifiedApiName = 'Contact'"
        },
    )
    assert answer["records"][0]["QualifiedApiName"] == "Contact"
    assert answer["records"][0]["KeyPrefix"] == "003" and answer["records"][0]["IsQueryable"] is True
    with pytest.raises(SalesforceMalformedRequest) as bad:
        sf.restful("tooling/query", params={"q": "SELECT Id FROM Account"})
    assert bad.value.content[0]["errorCode"] == "INVALID_TYPE"


def test_duplicate_field_name(sf: Salesforce) -> None:
    metadata = {"type": "Text", "length": 10, "label": "Dup"}
    create_field(sf, "Account.Dup__c", metadata)
    with pytest.raises(SalesforceMalformedRequest) as dup:
        create_field(sf, "Account.dup__c", metadata)
    error = dup.value.content[0]
    assert error["errorCode"] == "DUPLICATE_DEVELOPER_NAME"
    assert error["message"].startswith("There is already a field named Dup")


def test_bad_definitions(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as bad:
        create_field(sf, "Account.No_Length__c", {"type": "Text", "label": "x"})
    assert bad.value.content[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    with pytest.raises(SalesforceMalformedRequest) as bad:
        create_field(sf, "Nope__x.Foo__c", {"type": "Text", "length": 5, "label": "x"})
    assert bad.value.content[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"


def test_standard_user_lacks_customize_application(sfemu_server: SfemuServer, sfemu_org: OrgHandle) -> None:
    user = sfemu_org.create_user(profile="Standard User")
    sf = client(sfemu_server, sfemu_org, user.access_token)
    with pytest.raises(SalesforceMalformedRequest) as refused:
        create_field(sf, "Account.Not_Allowed__c", {"type": "Text", "length": 5, "label": "x"})
    assert refused.value.status == 400
    assert refused.value.content[0]["errorCode"] == "INSUFFICIENT_ACCESS"
    assert "Customize Application" in refused.value.content[0]["message"]
    names = {f["name"] for f in client(sfemu_server, sfemu_org).Account.describe()["fields"]}
    assert "Not_Allowed__c" not in names

"""Create/update/upsert/get semantics and the errors Salesforce reports for bad writes."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from sfemu.errors import MultipleMatchesError, SalesforceError
from sfemu.instance import Instance
from sfemu.org import Org


@pytest.fixture
def org() -> Iterator[Org]:
    inst = Instance()
    org = inst.org(inst.create_org("DML Org").org_id)
    yield org
    inst.close()


def admin(org: Org) -> str:
    return org.admin_user_id


def fail(fn, *args, **kwargs) -> SalesforceError:
    with pytest.raises(SalesforceError) as exc:
        fn(*args, **kwargs)
    return exc.value


def test_create_sets_server_fields(org: Org) -> None:
    rid = org.create("Account", {"Name": "Acme"}, user_id=admin(org))
    rec = org.get("Account", rid)
    assert list(rec)[:3] == ["attributes", "Id", "IsDeleted"]
    assert rec["attributes"] == {"type": "Account", "url": f"/services/data/v62.0/sobjects/Account/{rid}"}
    assert rid.startswith("001") and len(rid) == 18 and rid[3:5] == org.pod
    assert rec["IsDeleted"] is False
    assert rec["OwnerId"] == rec["CreatedById"] == rec["LastModifiedById"] == admin(org)
    assert rec["CreatedDate"] == rec["LastModifiedDate"] == rec["SystemModstamp"]
    assert rec["CreatedDate"].endswith("+0000") and rec["CreatedDate"][19] == "."
    assert rec["BillingAddress"] is None and rec["CleanStatus"] == "Pending"
    assert rec["PhotoUrl"] == f"/services/images/photo/{rid}"


def test_modstamps_strictly_increase(org: Org) -> None:
    stamps = []
    for i in range(30):
        rid = org.create("Account", {"Name": f"A{i}"}, user_id=admin(org))
        stamps.append(org.get("Account", rid, ["SystemModstamp"])["SystemModstamp"])
    assert stamps == sorted(stamps) and len(set(stamps)) == len(stamps)
    rid = org.create("Account", {"Name": "B"}, user_id=admin(org))
    before = org.get("Account", rid)
    org.update("Account", rid, {"Phone": "123"}, user_id=admin(org))
    after = org.get("Account", rid)
    assert after["SystemModstamp"] > before["SystemModstamp"]
    assert after["LastModifiedDate"] == after["SystemModstamp"]
    assert after["CreatedDate"] == before["CreatedDate"]


def test_get_with_fields(org: Org) -> None:
    rid = org.create("Contact", {"LastName": "Doe", "FirstName": "Jane"}, user_id=admin(org))
    rec = org.get("Contact", rid.lower(), ["name", "Email"])
    assert rec == {"attributes": rec["attributes"], "Name": "Jane Doe", "Email": None, "Id": rid}
    err = fail(org.get, "Contact", rid, ["Nope"])
    assert err.error_code == "INVALID_FIELD"
    assert err.message.startswith("No such column 'Nope' on entity 'Contact'.")


def test_required_field_missing(org: Org) -> None:
    err = fail(org.create, "Lead", {"FirstName": "X"}, user_id=admin(org))
    assert err.as_rest() == {
        "message": "Required fields are missing: [LastName, Company]",
        "errorCode": "REQUIRED_FIELD_MISSING",
        "fields": ["LastName", "Company"],
    }
    assert err.as_collection()["statusCode"] == "REQUIRED_FIELD_MISSING"
    rid = org.create("Account", {"Name": "A"}, user_id=admin(org))
    err = fail(org.update, "Account", rid, {"Name": None}, user_id=admin(org))
    assert err.fields == ["Name"]
    err = fail(org.create, "Account", {"Name": ""}, user_id=admin(org))
    assert err.error_code == "REQUIRED_FIELD_MISSING"


def test_string_too_long(org: Org) -> None:
    err = fail(org.create, "Account", {"Name": "x" * 256}, user_id=admin(org))
    assert err.error_code == "STRING_TOO_LONG"
    assert err.message == f"Account Name: data value too large: {'x' * 256} (max length=255)"
    assert err.fields == ["Name"]


def test_restricted_picklist(org: Org) -> None:
    err = fail(org.create, "Account", {"Name": "A", "CleanStatus": "Bogus"}, user_id=admin(org))
    assert (err.error_code, err.message, err.fields) == (
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        "Clean Status: bad value for restricted picklist field: Bogus",
        ["CleanStatus"],
    )
    rid = org.create("Account", {"Name": "A", "Type": "Anything goes"}, user_id=admin(org))
    assert org.get("Account", rid, ["Type"])["Type"] == "Anything goes"


def test_read_only_fields(org: Org) -> None:
    err = fail(org.create, "Contact", {"LastName": "D", "Name": "Full"}, user_id=admin(org))
    assert err.error_code == "INVALID_FIELD_FOR_INSERT_UPDATE"
    assert err.message == (
        "Unable to create/update fields: Name. Please check the security settings of this "
        "field and verify that it is read/write for your profile or permission set."
    )
    assert err.fields == ["Name"]
    err = fail(
        org.create,
        "Account",
        {"Name": "A", "CreatedDate": "2020-01-01T00:00:00Z", "SystemModstamp": "2020-01-01T00:00:00Z"},
        user_id=admin(org),
    )
    assert err.fields == ["CreatedDate", "SystemModstamp"]
    err = fail(org.create, "Account", {"Id": "001000000000000AAA", "Name": "A"}, user_id=admin(org))
    assert (err.error_code, err.message) == (
        "INVALID_FIELD_FOR_INSERT_UPDATE",
        "cannot specify Id in an insert call",
    )
    case = org.create("Case", {"Subject": "x"}, user_id=admin(org))
    assert fail(org.update, "Case", case, {"CaseNumber": "1"}, user_id=admin(org)).fields == ["CaseNumber"]


def test_audit_fields_allowed_when_org_option_set(org: Org) -> None:
    org.set_option("audit_fields_on_create", True)
    rid = org.create(
        "Account",
        {"Name": "Old", "CreatedDate": "2020-05-01T10:00:00Z", "CreatedById": admin(org)},
        user_id=admin(org),
    )
    rec = org.get("Account", rid)
    assert rec["CreatedDate"] == "2020-05-01T10:00:00.000+0000"
    assert rec["LastModifiedDate"] == "2020-05-01T10:00:00.000+0000"
    assert rec["SystemModstamp"] > "2024"
    err = fail(org.update, "Account", rid, {"CreatedDate": "2021-01-01T00:00:00Z"}, user_id=admin(org))
    assert err.error_code == "INVALID_FIELD_FOR_INSERT_UPDATE"


def test_unknown_field_and_object(org: Org) -> None:
    err = fail(org.create, "Account", {"Name": "A", "Foo__c": 1}, user_id=admin(org))
    assert err.as_rest() == {
        "message": "No such column 'Foo__c' on sobject of type Account",
        "errorCode": "INVALID_FIELD",
    }
    err = fail(org.create, "Nope__c", {}, user_id=admin(org))
    assert (err.error_code, err.status) == ("NOT_FOUND", 404)


def test_type_errors(org: Org) -> None:
    err = fail(org.create, "Account", {"Name": "A", "NumberOfEmployees": "many"}, user_id=admin(org))
    assert err.error_code == "JSON_PARSER_ERROR"
    assert err.message.startswith("Cannot deserialize instance of int from VALUE_STRING value many")
    err = fail(org.create, "Contact", {"LastName": "D", "Birthdate": "31/01/2024"}, user_id=admin(org))
    assert "instance of date" in err.message
    err = fail(
        org.create, "Account", {"Name": "A", "AnnualRevenue": "lots"}, user_id=admin(org), input_format="csv"
    )
    assert (err.error_code, err.message, err.fields) == (
        "INVALID_TYPE_ON_FIELD_IN_RECORD",
        "Annual Revenue: value not of required type: lots",
        ["AnnualRevenue"],
    )
    err = fail(org.create, "Contact", {"LastName": "D", "Email": "not-an-email"}, user_id=admin(org))
    assert err.as_rest() == {
        "message": "Email: invalid email address: not-an-email",
        "errorCode": "INVALID_EMAIL_ADDRESS",
        "fields": ["Email"],
    }
    org.add_custom_field("Account", "Score__c", "number", precision=5, scale=2)
    err = fail(org.create, "Account", {"Name": "A", "Score__c": 1234.5}, user_id=admin(org))
    assert err.error_code == "NUMBER_OUTSIDE_VALID_RANGE"
    rid = org.create(
        "Account",
        {"Name": "A", "Score__c": "12.345", "AnnualRevenue": 10, "Description": 42},
        user_id=admin(org),
    )
    rec = org.get("Account", rid)
    assert rec["Score__c"] == 12.35 and rec["AnnualRevenue"] == 10.0
    assert rec["Description"] == "42"


def test_lookups(org: Org) -> None:
    acc = org.create("Account", {"Name": "A"}, user_id=admin(org))
    con = org.create("Contact", {"LastName": "C", "AccountId": acc[:15]}, user_id=admin(org))
    assert org.get("Contact", con)["AccountId"] == acc
    err = fail(org.create, "Contact", {"LastName": "C", "AccountId": "garbage"}, user_id=admin(org))
    assert err.as_rest() == {
        "message": "Account ID: id value of incorrect type: garbage",
        "errorCode": "MALFORMED_ID",
        "fields": ["AccountId"],
    }
    err = fail(org.create, "Contact", {"LastName": "C", "AccountId": con}, user_id=admin(org))
    assert (err.error_code, err.fields) == ("FIELD_INTEGRITY_EXCEPTION", ["AccountId"])
    assert err.message == f"Account ID: id value of incorrect type: {con}"
    missing = acc[:5] + "0ZZZZZZZZZ"
    err = fail(org.create, "Contact", {"LastName": "C", "AccountId": missing}, user_id=admin(org))
    assert err.as_rest() == {
        "message": "invalid cross reference id",
        "errorCode": "INVALID_CROSS_REFERENCE_KEY",
        "fields": [],
    }
    gone = org.create("Account", {"Name": "Gone"}, user_id=admin(org))
    org.delete(gone, user_id=admin(org))
    err = fail(org.create, "Contact", {"LastName": "C", "AccountId": gone}, user_id=admin(org))
    assert err.error_code == "ENTITY_IS_DELETED"


def test_owner_must_be_active_user(org: Org) -> None:
    user = org.add_user(first_name="Ina", last_name="Active", active=False)
    err = fail(org.create, "Account", {"Name": "A", "OwnerId": user.user_id}, user_id=admin(org))
    assert err.as_rest() == {
        "message": "operation performed with inactive user",
        "errorCode": "INACTIVE_OWNER_OR_USER",
        "fields": [],
    }
    active = org.add_user(first_name="Al", last_name="Ive")
    rid = org.create("Account", {"Name": "A", "OwnerId": active.user_id}, user_id=admin(org))
    assert org.get("Account", rid)["OwnerId"] == active.user_id


def test_duplicate_values(org: Org) -> None:
    org.add_custom_field("Account", "Ext__c", "text", length=20, external_id=True, unique=True)
    first = org.create("Account", {"Name": "A", "Ext__c": "K-1"}, user_id=admin(org))
    err = fail(org.create, "Account", {"Name": "B", "Ext__c": "k-1"}, user_id=admin(org))
    assert err.as_rest() == {
        "message": f"duplicate value found: Ext__c duplicates value on record with id: {first[:15]}",
        "errorCode": "DUPLICATE_VALUE",
        "fields": [],
    }
    other = org.create("Account", {"Name": "B", "Ext__c": "K-2"}, user_id=admin(org))
    assert (
        fail(org.update, "Account", other, {"Ext__c": "K-1"}, user_id=admin(org)).error_code
        == "DUPLICATE_VALUE"
    )
    org.update("Account", first, {"Ext__c": "K-1"}, user_id=admin(org))  # same record: fine
    err = fail(org.add_user, last_name="X", username=org.user(admin(org))["Username"])
    assert err.error_code == "DUPLICATE_USERNAME"


def test_validation_rules(org: Org) -> None:
    org.add_validation_rule(
        "Account",
        "Revenue_Positive",
        field="AnnualRevenue",
        condition="lt",
        value=0,
        message="Revenue must be positive",
        error_field="AnnualRevenue",
    )
    org.add_validation_rule(
        "Contact",
        "Email_Or_Phone",
        formula="ISBLANK(Email) && ISBLANK(Phone)",
        message="Give an email or a phone",
    )
    err = fail(org.create, "Account", {"Name": "A", "AnnualRevenue": -5}, user_id=admin(org))
    assert err.as_rest() == {
        "message": "Revenue must be positive",
        "errorCode": "FIELD_CUSTOM_VALIDATION_EXCEPTION",
        "fields": ["AnnualRevenue"],
    }
    err = fail(org.create, "Contact", {"LastName": "A"}, user_id=admin(org))
    assert (err.error_code, err.fields) == ("FIELD_CUSTOM_VALIDATION_EXCEPTION", [])
    rid = org.create("Contact", {"LastName": "A", "Phone": "1"}, user_id=admin(org))
    assert (
        fail(org.update, "Contact", rid, {"Phone": None}, user_id=admin(org)).message
        == "Give an email or a phone"
    )


def test_update_and_delete_errors(org: Org) -> None:
    rid = org.create("Account", {"Name": "A"}, user_id=admin(org))
    err = fail(org.update, "Account", "001xx", {"Name": "B"}, user_id=admin(org))
    assert (err.error_code, err.message) == ("MALFORMED_ID", "Account ID: id value of incorrect type: 001xx")
    err = fail(org.update, "Contact", rid, {"LastName": "B"}, user_id=admin(org))
    assert (err.error_code, err.status) == ("NOT_FOUND", 404)
    org.delete(rid, user_id=admin(org))
    err = fail(org.update, "Account", rid, {"Name": "B"}, user_id=admin(org))
    assert err.as_rest() == {"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED", "fields": []}
    assert fail(org.get, "Account", rid).error_code == "NOT_FOUND"
    assert fail(org.delete, rid, user_id=admin(org)).error_code == "ENTITY_IS_DELETED"


def test_upsert_by_external_id(org: Org) -> None:
    org.add_custom_field("Account", "Ext__c", "text", length=20, external_id=True)
    rid, created = org.upsert("Account", "Ext__c", "E1", {"Name": "One"}, user_id=admin(org))
    assert created is True and org.get("Account", rid)["Ext__c"] == "E1"
    same, created = org.upsert("Account", "ext__c", "e1", {"Name": "Uno"}, user_id=admin(org))
    assert (same, created) == (rid, False)
    assert org.get("Account", rid)["Name"] == "Uno"
    org.create("Account", {"Name": "Dup", "Ext__c": "E1"}, user_id=admin(org))  # not unique
    with pytest.raises(MultipleMatchesError) as exc:
        org.upsert("Account", "Ext__c", "E1", {"Name": "x"}, user_id=admin(org))
    assert exc.value.status == 300 and len(exc.value.record_ids) == 2
    assert exc.value.record_urls("62.0")[0].startswith("/services/data/v62.0/sobjects/Account/")
    err = fail(org.upsert, "Account", "Nope__c", "1", {"Name": "x"}, user_id=admin(org))
    assert (err.status, err.as_rest()) == (
        404,
        {
            "errorCode": "NOT_FOUND",
            "message": "Provided external ID field does not exist or is not accessible: Nope__c",
        },
    )
    new, created = org.upsert("Account", "Id", None, {"Name": "ById"}, user_id=admin(org))
    assert created and org.upsert("Account", "Id", new, {"Name": "ById2"}, user_id=admin(org)) == (new, False)
    con, created = org.upsert("Contact", "Email", "a@b.co", {"LastName": "Mail"}, user_id=admin(org))
    assert created and org.upsert("Contact", "Email", "A@B.CO", {"LastName": "M2"}, user_id=admin(org)) == (
        con,
        False,
    )
    third, _ = org.upsert("Account", "Ext__c", "E3", {"Name": "Three"}, user_id=admin(org))
    rec = org.get_by_external_id("Account", "Ext__c", "e3", ["Name"], api_version="61.0")
    assert rec["Id"] == third and rec["Name"] == "Three"
    assert rec["attributes"]["url"] == f"/services/data/v61.0/sobjects/Account/{third}"
    with pytest.raises(MultipleMatchesError):
        org.get_by_external_id("Account", "Ext__c", "E1")
    assert fail(org.get_by_external_id, "Account", "Ext__c", "nope").error_code == "NOT_FOUND"


def test_foreign_key_by_external_id(org: Org) -> None:
    org.add_custom_field("Account", "Ext__c", "text", length=20, external_id=True, unique=True)
    acc = org.create("Account", {"Name": "Parent", "Ext__c": "P-1"}, user_id=admin(org))
    con = org.create("Contact", {"LastName": "Kid", "Account": {"Ext__c": "P-1"}}, user_id=admin(org))
    assert org.get("Contact", con)["AccountId"] == acc
    con2 = org.create(
        "Contact", {"LastName": "Kid", "Account.Ext__c": "p-1"}, user_id=admin(org), input_format="csv"
    )
    assert org.get("Contact", con2)["AccountId"] == acc
    err = fail(org.create, "Contact", {"LastName": "K", "Account": {"Ext__c": "none"}}, user_id=admin(org))
    assert err.message == ("Foreign key external ID: none not found for field Ext__c in entity Account")


def test_derived_fields(org: Org) -> None:
    acc = org.create("Account", {"Name": "A"}, user_id=admin(org))
    opp = org.create(
        "Opportunity",
        {"Name": "O", "StageName": "Closed Won", "CloseDate": "2024-05-10", "Amount": 1000, "AccountId": acc},
        user_id=admin(org),
    )
    rec = org.get("Opportunity", opp)
    assert (
        rec["IsClosed"],
        rec["IsWon"],
        rec["Probability"],
        rec["ForecastCategoryName"],
        rec["ExpectedRevenue"],
        rec["FiscalYear"],
        rec["FiscalQuarter"],
    ) == (True, True, 100.0, "Closed", 1000.0, 2024, 2)
    con = org.create("Contact", {"LastName": "C", "Email": "c@x.io", "AccountId": acc}, user_id=admin(org))
    case = org.create("Case", {"Subject": "S", "ContactId": con}, user_id=admin(org))
    rec = org.get("Case", case)
    assert rec["Status"] == "New" and rec["Priority"] == "Medium"
    assert rec["CaseNumber"] == "00000001" and rec["ContactEmail"] == "c@x.io"
    org.update("Case", case, {"Status": "Closed"}, user_id=admin(org))
    assert org.get("Case", case)["IsClosed"] is True
    task = org.create("Task", {"Subject": "Call", "WhatId": opp}, user_id=admin(org))
    assert org.get("Task", task)["AccountId"] == acc
    body = base64.b64encode(b"hello").decode()
    att = org.create("Attachment", {"ParentId": acc, "Name": "h.txt", "Body": body}, user_id=admin(org))
    rec = org.get("Attachment", att)
    assert rec["BodyLength"] == 5
    assert rec["Body"] == f"/services/data/v62.0/sobjects/Attachment/{att}/Body"
    assert org.get_blob("Attachment", att, "Body") == b"hello"


def test_custom_object_fields(org: Org) -> None:
    org.add_custom_object("Project__c", label="Project")
    org.add_custom_field(
        "Project__c", "Account__c", "lookup", reference_to="Account", child_relationship="Projects"
    )
    org.add_custom_field("Project__c", "Budget__c", "currency")
    org.add_custom_field(
        "Project__c", "Double__c", "formula", formula="Budget__c * 2", formula_type="currency", scale=2
    )
    org.add_custom_field("Project__c", "Label__c", "formula", formula="UPPER(Name) & '!'")
    org.add_custom_field("Project__c", "Seq__c", "autonumber", format="P-{0000}")
    org.add_custom_field("Project__c", "Done__c", "checkbox")
    acc = org.create("Account", {"Name": "A"}, user_id=admin(org))
    rid = org.create(
        "Project__c", {"Name": "apollo", "Account__c": acc, "Budget__c": 10.5}, user_id=admin(org)
    )
    rec = org.get("Project__c", rid)
    assert rid[:3] == org.schema.get("Project__c").key_prefix
    assert (rec["Double__c"], rec["Label__c"], rec["Seq__c"], rec["Done__c"]) == (
        21.0,
        "APOLLO!",
        "P-0001",
        False,
    )
    unnamed = org.create("Project__c", {}, user_id=admin(org))
    assert org.get("Project__c", unnamed)["Name"] == unnamed
    err = fail(org.create, "Project__c", {"Double__c": 1}, user_id=admin(org))
    assert err.fields == ["Double__c"]
    result = org.query("SELECT Name, Account__r.Name FROM Project__c WHERE Budget__c > 10")
    assert result.total_size == 1 and result.records[0]["Account__r"]["Name"] == "A"


def test_transaction_rolls_back(org: Org) -> None:
    with pytest.raises(SalesforceError), org.transaction():
        org.create("Account", {"Name": "kept?"}, user_id=admin(org))
        org.create("Account", {}, user_id=admin(org))
    assert org.query("SELECT COUNT() FROM Account").total_size == 0

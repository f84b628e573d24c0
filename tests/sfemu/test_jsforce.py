"""Unmodified jsforce (npm, pinned in tests/sfemu/js/package.json) scripted against sfemu.

``tests/sfemu/js/session.mjs`` runs the session under node with ``NODE_EXTRA_CA_CERTS`` set to the
sfemu CA and writes each step's outcome as JSON; the tests below assert on it. It runs in two
phases so the org clock can be moved between them: getUpdated/getDeleted only cover whole past
minutes. Needs ``npm ci --prefix tests/sfemu/js`` (``make test`` does it).
"""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from sfemu.testing import AppHandle, OrgHandle, SfemuServer
from tests.sfemu.jsforce_runner import JS_DIR, failed, ok, run_script
from tests.sfemu.replay.checks import SF_DATETIME, valid_id18

VERSION = "62.0"
BULK = 5_100


@pytest.fixture(scope="module")
def org(sfemu_server: SfemuServer) -> OrgHandle:
    handle = sfemu_server.create_org("jsforce")
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
    return sfemu_server.create_app(org, "jsforce tests")


@pytest.fixture(scope="module")
def config(sfemu_server: SfemuServer, org: OrgHandle, app: AppHandle) -> dict[str, Any]:
    return {
        "url": sfemu_server.url,
        "username": org.username,
        "password": org.login_password,
        "clientId": app.client_id,
        "clientSecret": app.client_secret,
        "version": VERSION,
        "bulkCount": BULK,
    }


@pytest.fixture(scope="module")
def sessions(sfemu_server: SfemuServer, config, tmp_path_factory) -> dict[str, dict[str, Any]]:
    tmp = tmp_path_factory.mktemp("jsforce")
    clock = sfemu_server.clock
    start = clock.advance(minutes=1)  # getUpdated windows start at whole minutes after org creation
    main = run_script(sfemu_server, "session.mjs", config, tmp / "jsforce-main.json", "main")
    end = clock.advance(minutes=2)  # only whole past minutes are covered
    setup = main.get("replicationSetup", {}).get("value") or {}
    replication = run_script(
        sfemu_server,
        "session.mjs",
        {**config, "start": start.isoformat(), "end": end.isoformat(), **setup},
        tmp / "jsforce-replication.json",
        "replication",
    )
    return {"main": main, "replication": replication}


@pytest.fixture(scope="module")
def js(sessions) -> dict[str, Any]:
    return sessions["main"]


def assert_id(value: Any, prefix: str | None = None) -> None:
    assert valid_id18(value), f"not an 18-char id with a valid checksum: {value!r}"
    if prefix:
        assert value.startswith(prefix), value


def assert_api_error(err: dict, code: str, message: str | re.Pattern) -> None:
    """jsforce names its HttpApiError after the errorCode of a one-element error array."""
    assert err["name"] == code, err
    assert err["errorCode"] == code, err
    if isinstance(message, re.Pattern):
        assert message.search(err["message"]), err["message"]
    else:
        assert err["message"] == message, err["message"]
    assert isinstance(err["data"], dict) and err["data"]["errorCode"] == code, err["data"]


# --- logins ------------------------------------------------------------------------------------


def test_jsforce_version(js) -> None:
    pinned = json.loads((JS_DIR / "package.json").read_text())["dependencies"]["jsforce"]
    assert ok(js, "jsforceVersion") == pinned


def test_oauth_password_login(js, org: OrgHandle, sfemu_server: SfemuServer) -> None:
    login = ok(js, "oauthLogin")
    assert login["userInfo"]["id"] == org.user_id
    assert login["userInfo"]["organizationId"] == org.org_id
    assert login["userInfo"]["url"].endswith(f"/id/{org.org_id}/{org.user_id}")
    assert login["instanceUrl"] == sfemu_server.url
    assert login["accessToken"].startswith(org.org_id[:15] + "!")
    assert login["refreshToken"] is None  # the password grant issues no refresh token


def test_oauth_login_with_a_wrong_password(js) -> None:
    err = failed(js, "oauthLoginBadPassword")
    assert err["name"] == "invalid_grant"
    assert err["message"].startswith("authentication failure")


def test_soap_login(js, org: OrgHandle, sfemu_server: SfemuServer) -> None:
    login = ok(js, "soapLogin")
    assert login["userInfo"]["id"] == org.user_id
    assert login["userInfo"]["organizationId"] == org.org_id
    assert login["userInfo"]["url"] == f"{sfemu_server.url}/id/{org.org_id}/{org.user_id}"
    assert login["instanceUrl"] == sfemu_server.url
    count = ok(js, "soapSessionQuery")
    assert count["done"] is True and count["records"] == [] and count["totalSize"] >= 0
    identity = ok(js, "soapIdentity")
    assert identity["user_id"] == org.user_id and identity["organization_id"] == org.org_id


def test_soap_login_fault(js) -> None:
    err = failed(js, "soapLoginBadPassword")
    # jsforce throws new Error(<faultstring>)
    assert err["message"] == "INVALID_LOGIN: Invalid username, password, security token; or user locked out."


def test_identity(js, org: OrgHandle) -> None:
    identity = ok(js, "identity")
    assert identity["user_id"] == org.user_id
    assert identity["organization_id"] == org.org_id
    assert identity["username"] == org.username
    assert identity["id"].endswith(f"/id/{org.org_id}/{org.user_id}")
    assert "{version}" in identity["urls"]["rest"]  # URL templates keep the literal {version}
    expected = {"id", "user_id", "organization_id", "username", "display_name", "email", "urls", "active"}
    assert expected <= set(identity)


# --- describe ----------------------------------------------------------------------------------


def test_describe_global(js) -> None:
    res = ok(js, "describeGlobal")
    assert res["keys"] == ["encoding", "maxBatchSize", "sobjects"]
    assert res["encoding"] == "UTF-8" and res["maxBatchSize"] == 200
    assert {"Account", "Contact", "Opportunity", "Lead", "Case", "User"} <= set(res["names"])
    account = res["account"]
    assert account["keyPrefix"] == "001"
    assert account["urls"]["sobject"] == f"/services/data/v{VERSION}/sobjects/Account"


def test_describe_account(js) -> None:
    res = ok(js, "describeAccount")
    assert res["name"] == "Account" and res["keyPrefix"] == "001"
    assert res["keys"] == sorted(res["keys"]), "describe keys are emitted alphabetically"
    fields = res["fields"]
    assert fields["Id"]["type"] == "id"
    assert fields["Name"]["type"] == "string" and fields["Name"]["length"] == 255
    assert fields["External_Id__c"]["externalId"] is True and fields["External_Id__c"]["unique"] is True
    assert fields["Tier__c"]["restrictedPicklist"] is True
    assert fields["Tier__c"]["picklistValues"] == ["Gold", "Silver"]
    assert fields["CreatedDate"]["createable"] is False


def test_describe_unknown_object(js) -> None:
    err = failed(js, "describeUnknown")
    assert_api_error(err, "NOT_FOUND", "The requested resource does not exist")


# --- CRUD --------------------------------------------------------------------------------------


def test_create_retrieve_update(js) -> None:
    created = ok(js, "create")
    assert list(created) == ["id", "success", "errors"]
    assert created["success"] is True and created["errors"] == []
    assert_id(created["id"], "001")
    record = ok(js, "retrieve")
    assert next(iter(record)) == "attributes"
    assert record["attributes"] == {
        "type": "Account",
        "url": f"/services/data/v{VERSION}/sobjects/Account/{created['id']}",
    }
    assert record["Id"] == created["id"]
    assert record["Name"] == "JS Acme" and record["Tier__c"] == "Gold"
    assert record["IsDeleted"] is False
    assert SF_DATETIME.match(record["CreatedDate"]), record["CreatedDate"]
    assert SF_DATETIME.match(record["SystemModstamp"]), record["SystemModstamp"]
    assert_id(record["OwnerId"], "005")
    partial = ok(js, "retrieveFields")
    assert next(iter(partial)) == "attributes"
    assert {"Name", "Tier__c"} <= set(partial) and "Phone" not in partial
    # jsforce turns the 204 of PATCH into {id, success, errors}
    assert ok(js, "update") == {"id": created["id"], "success": True, "errors": []}
    after = ok(js, "retrieveAfterUpdate")
    assert after["Name"] == "JS Acme Renamed" and after["NumberOfEmployees"] == 12
    assert after["LastModifiedDate"] >= record["LastModifiedDate"]


def test_upsert(js) -> None:
    created = ok(js, "create")
    existing = ok(js, "upsertExisting")
    assert existing == {"id": created["id"], "success": True, "errors": [], "created": False}
    new = ok(js, "upsertNew")
    assert list(new) == ["id", "success", "errors", "created"]
    assert new["created"] is True and new["success"] is True
    assert_id(new["id"], "001")
    # before API 46.0 an upsert that updates answers 204: jsforce fills in {success, errors}
    assert ok(js, "upsertExistingV45") == {"success": True, "errors": []}
    record = ok(js, "retrieveAfterUpsert")
    assert record["Name"] == "JS Acme Upserted" and record["Phone"] == "555-0100"
    many = ok(js, "upsertMany")
    assert [list(r) for r in many] == [["id", "success", "errors", "created"]] * 2
    assert [r["created"] for r in many] == [False, True]
    assert many[0]["id"] == created["id"]


def test_destroy_and_deleted_record(js) -> None:
    created = ok(js, "create")
    assert ok(js, "destroy") == {"id": created["id"], "success": True, "errors": []}
    assert_api_error(failed(js, "retrieveDeleted"), "NOT_FOUND", "The requested resource does not exist")
    assert_api_error(failed(js, "destroyAgain"), "ENTITY_IS_DELETED", "entity is deleted")
    assert_api_error(failed(js, "errUpdateDeleted"), "ENTITY_IS_DELETED", "entity is deleted")
    all_rows = ok(js, "queryAllDeleted")
    assert all_rows["totalSize"] == 1
    assert all_rows["records"][0]["IsDeleted"] is True
    assert ok(js, "queryDeleted")["totalSize"] == 0


# --- collections -------------------------------------------------------------------------------


def test_collection_create_with_partial_failure(js) -> None:
    results = ok(js, "createManyPartial")
    assert [r["success"] for r in results] == [True, False, False, True]
    for good in (results[0], results[3]):
        assert list(good) == ["id", "success", "errors"] and good["errors"] == []
        assert_id(good["id"], "001")
    missing, picklist = results[1], results[2]
    assert "id" not in missing and "id" not in picklist  # failed items carry no id at all
    assert missing["errors"] == [
        {
            "statusCode": "REQUIRED_FIELD_MISSING",
            "message": "Required fields are missing: [Name]",
            "fields": ["Name"],
        }
    ]
    [error] = picklist["errors"]
    assert list(error) == ["statusCode", "message", "fields"]
    assert error["statusCode"] == "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST"
    assert error["message"].endswith("bad value for restricted picklist field: Bronze")
    assert error["fields"] == ["Tier__c"]


def test_collection_all_or_none_rolls_back(js) -> None:
    res = ok(js, "createManyAllOrNone")
    first, second = res["results"]
    assert first["success"] is False and "id" not in first
    assert first["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert first["errors"][0]["message"] == (
        "Record rolled back because not all records were valid and the request was using AllOrNone header"
    )
    assert second["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert res["survivors"] == 0


def test_collection_retrieve_update_destroy(js) -> None:
    created = [r["id"] for r in ok(js, "createManyPartial") if r["success"]]
    records = ok(js, "retrieveMany")
    assert len(records) == 3
    assert records[-1] is None  # unknown id → null in place
    assert [r["Id"] for r in records[:2]] == created
    assert all(next(iter(r)) == "attributes" for r in records[:2])
    updated = ok(js, "updateMany")
    assert updated == [{"id": i, "success": True, "errors": []} for i in created]
    names = [r["Name"] for r in ok(js, "queryUpdatedMany")["records"]]
    assert names == ["JS Coll Updated 0", "JS Coll Updated 1"]
    assert ok(js, "destroyMany") == [{"id": i, "success": True, "errors": []} for i in created]


# --- semantic errors ---------------------------------------------------------------------------


def test_error_required_field(js) -> None:
    err = failed(js, "errRequired")
    assert_api_error(err, "REQUIRED_FIELD_MISSING", "Required fields are missing: [Name]")
    assert err["data"]["fields"] == ["Name"]


def test_error_string_too_long(js) -> None:
    err = failed(js, "errTooLong")
    assert_api_error(
        err, "STRING_TOO_LONG", re.compile(r"Name: data value too large: x{256} \(max length=255\)$")
    )
    assert err["data"]["fields"] == ["Name"]


def test_error_restricted_picklist(js) -> None:
    err = failed(js, "errPicklist")
    assert_api_error(
        err,
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
        re.compile(r": bad value for restricted picklist field: Bronze$"),
    )
    assert err["data"]["fields"] == ["Tier__c"]


def test_error_field_not_writable(js) -> None:
    for step, field in (("errNotWritable", "IsDeleted"), ("errNotWritableUpdate", "CreatedDate")):
        err = failed(js, step)
        assert_api_error(
            err,
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            f"Unable to create/update fields: {field}. Please check the security settings of this field "
            "and verify that it is read/write for your profile or permission set.",
        )
        assert err["data"]["fields"] == [field]


def test_error_cross_reference(js) -> None:
    assert_api_error(
        failed(js, "errCrossReference"), "INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id"
    )


def test_error_duplicate_value(js) -> None:
    err = failed(js, "errDuplicate")
    assert_api_error(
        err,
        "DUPLICATE_VALUE",
        re.compile(r"^duplicate value found: External_Id__c duplicates value on record with id: 001\w{12}$"),
    )


def test_error_validation_rule(js) -> None:
    err = failed(js, "errValidation")
    assert_api_error(err, "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Employees cannot be negative")
    assert err["data"]["fields"] == ["NumberOfEmployees"]


def test_error_not_found(js) -> None:
    err = failed(js, "errNotFound")
    assert_api_error(err, "NOT_FOUND", "The requested resource does not exist")
    assert list(err["data"]) == ["errorCode", "message"]


def test_error_soql(js) -> None:
    malformed = failed(js, "errMalformedQuery")
    assert_api_error(
        malformed, "MALFORMED_QUERY", re.compile(r"^\nSELEC Id FROM Account\n\^\nERROR at Row:1:Column:1\n")
    )
    invalid_field = failed(js, "errInvalidField")
    assert_api_error(
        invalid_field,
        "INVALID_FIELD",
        re.compile(
            r"ERROR at Row:1:Column:12\nNo such column 'Nonexistent__c' on entity 'Account'\. If you are "
            r"attempting to use a custom field, be sure to append the '__c' after the custom field name\."
        ),
    )
    invalid_type = failed(js, "errInvalidType")
    assert_api_error(
        invalid_type,
        "INVALID_TYPE",
        re.compile(
            r"^\nSELECT Id FROM Xyzzy\n {15}\^\nERROR at Row:1:Column:16\n"
            r"sObject type 'Xyzzy' is not supported\."
        ),
    )


def test_error_upsert_with_several_matches(js) -> None:
    err = failed(js, "errUpsertMultiple")
    assert err["name"] == "MULTIPLE_CHOICES" and err["message"] == "Multiple records found"
    assert isinstance(err["data"], list) and len(err["data"]) == 2
    assert all(re.match(rf"^/services/data/v{VERSION}/sobjects/Account/001\w{{15}}$", u) for u in err["data"])


def test_error_invalid_session(js) -> None:
    err = failed(js, "errExpiredSession")
    assert_api_error(err, "INVALID_SESSION_ID", "Session expired or invalid")


# --- query over 5,000 rows ---------------------------------------------------------------------


def test_bulk_create_through_collections(js) -> None:
    assert ok(js, "createBulk") == {"count": BULK, "failures": 0}


def test_query_and_query_more(js) -> None:
    first = ok(js, "queryFirstPage")
    assert set(first["keys"]) == {"totalSize", "done", "nextRecordsUrl", "records"}  # wire order: fidelity
    assert first["totalSize"] == BULK and first["done"] is False and first["count"] == 2000
    # jsforce rebuilds nextRecordsUrl as <instance>/services/data/vXX.X/query/<locator>
    assert re.search(rf"/services/data/v{VERSION}/query/01g\w{{15}}-2000$", first["nextRecordsUrl"])
    assert first["firstName"] == "JSBulk 00000"
    assert first["firstRecordKeys"] == ["attributes", "Id", "Name"]
    pages = ok(js, "queryMore")
    assert pages == [
        {"count": 2000, "done": False, "first": "JSBulk 02000"},
        {"count": BULK - 4000, "done": True, "first": "JSBulk 04000"},
    ]


def test_query_auto_fetch(js) -> None:
    fetched = ok(js, "autoFetch")
    assert fetched == {
        "totalSize": BULK,
        "done": True,
        "count": BULK,
        "unique": BULK,
        "first": "JSBulk 00000",
        "last": f"JSBulk {BULK - 1:05d}",
    }
    assert ok(js, "autoFetchEvents") == {"count": BULK}
    count = ok(js, "countQuery")
    assert count == {"totalSize": BULK, "done": True, "records": []}


# --- getUpdated / getDeleted -------------------------------------------------------------------


def test_updated_and_deleted(sessions) -> None:
    main, rep = sessions["main"], sessions["replication"]
    setup = ok(main, "replicationSetup")
    updated = ok(rep, "updated")
    assert list(updated) == ["ids", "latestDateCovered"]
    assert setup["kept"] in updated["ids"] and setup["gone"] not in updated["ids"]
    for rid in updated["ids"]:
        assert_id(rid, "001")
    assert SF_DATETIME.match(updated["latestDateCovered"])
    assert updated["latestDateCovered"].endswith(":00.000+0000")
    deleted = ok(rep, "deleted")
    assert list(deleted) == ["deletedRecords", "earliestDateAvailable", "latestDateCovered"]
    gone = [d for d in deleted["deletedRecords"] if d["id"] == setup["gone"]]
    assert len(gone) == 1 and list(gone[0]) == ["id", "deletedDate"]
    assert SF_DATETIME.match(gone[0]["deletedDate"])
    assert SF_DATETIME.match(deleted["earliestDateAvailable"])
    assert ok(rep, "updatedDateObjects") == updated
    err = failed(rep, "updatedBackwards")
    assert err["errorCode"] == "INVALID_REPLICATION_DATE"

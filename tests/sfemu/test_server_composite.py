"""``/composite`` and ``/composite/sobjects`` (sObject Collections)."""

from __future__ import annotations

import re

import pytest

ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was "
    "using AllOrNone header",
    "fields": [],
}
MISSING_NAME = {
    "statusCode": "REQUIRED_FIELD_MISSING",
    "message": "Required fields are missing: [Name]",
    "fields": ["Name"],
}


def usage(resp) -> int:
    return int(re.match(r"api-usage=(\d+)/", resp.headers["sforce-limit-info"]).group(1))


def count(http, data_url, headers) -> int:
    return http.get(
        data_url + "/query", params={"q": "SELECT COUNT() FROM Account"}, headers=headers, timeout=10
    ).json()["totalSize"]


def account(name: str | None) -> dict:
    record: dict = {"attributes": {"type": "Account"}}
    if name is not None:
        record["Name"] = name
    return record


def test_collection_create_partial_failure(http, data_url, auth_headers) -> None:
    resp = http.post(
        data_url + "/composite/sobjects",
        headers=auth_headers,
        timeout=10,
        json={"allOrNone": False, "records": [account("A"), account(None)]},
    )
    assert resp.status_code == 200
    ok, failed = resp.json()
    assert list(ok) == ["id", "success", "errors"] and ok["success"] is True
    assert failed == {"success": False, "errors": [MISSING_NAME]}
    assert count(http, data_url, auth_headers) == 1


def test_collection_create_all_or_none_rolls_back(http, data_url, auth_headers) -> None:
    resp = http.post(
        data_url + "/composite/sobjects",
        headers=auth_headers,
        timeout=10,
        json={"allOrNone": True, "records": [account("A"), account(None), account("C")]},
    )
    assert resp.status_code == 200
    assert resp.json() == [
        {"success": False, "errors": [ROLLED_BACK]},
        {"success": False, "errors": [MISSING_NAME]},
        {"success": False, "errors": [ROLLED_BACK]},
    ]
    assert count(http, data_url, auth_headers) == 0


def test_collection_update_upsert_retrieve_delete(http, data_url, auth_headers) -> None:
    created = http.post(
        data_url + "/composite/sobjects",
        headers=auth_headers,
        timeout=10,
        json={"records": [account("One"), account("Two")]},
    ).json()
    ids = [r["id"] for r in created]
    update = http.patch(
        data_url + "/composite/sobjects",
        headers=auth_headers,
        timeout=10,
        json={
            "records": [
                {"attributes": {"type": "Account"}, "id": ids[0], "Name": "One!"},
                {"attributes": {"type": "Account"}, "Name": "no id"},
            ]
        },
    ).json()
    assert update[0] == {"id": ids[0], "success": True, "errors": []}
    assert update[1]["success"] is False and "id" not in update[1]
    upsert = http.patch(
        data_url + "/composite/sobjects/Account/Id",
        headers=auth_headers,
        timeout=10,
        json={
            "records": [
                {"attributes": {"type": "Account"}, "Id": ids[1], "Name": "Two!"},
                {"attributes": {"type": "Account"}, "Id": None, "Name": "Three"},
            ]
        },
    )
    assert upsert.status_code == 200, upsert.text
    first, second = upsert.json()
    assert first == {"id": ids[1], "success": True, "errors": [], "created": False}
    assert list(second) == ["id", "success", "errors", "created"] and second["created"] is True
    got = http.get(
        data_url + "/composite/sobjects/Account",
        headers=auth_headers,
        timeout=10,
        params={"ids": f"{ids[0]},{ids[1]},001000000000000AAA", "fields": "Id,Name"},
    )
    records = got.json()
    assert [r["Name"] for r in records[:2]] == ["One!", "Two!"]
    assert records[2] is None
    posted = http.post(
        data_url + "/composite/sobjects/Account",
        headers=auth_headers,
        timeout=10,
        json={"ids": ids, "fields": ["Name"]},
    ).json()
    assert [r["Name"] for r in posted] == ["One!", "Two!"]
    deleted = http.delete(
        data_url + "/composite/sobjects",
        headers=auth_headers,
        timeout=10,
        params={"ids": ",".join(ids), "allOrNone": "true"},
    )
    assert deleted.json() == [{"id": i, "success": True, "errors": []} for i in ids]
    again = http.delete(
        data_url + "/composite/sobjects", headers=auth_headers, timeout=10, params={"ids": ids[0]}
    ).json()
    assert again[0]["success"] is False
    assert again[0]["errors"][0]["statusCode"] == "ENTITY_IS_DELETED"


def test_collection_malformed_requests(http, data_url, auth_headers) -> None:
    no_ids = http.delete(data_url + "/composite/sobjects", headers=auth_headers, timeout=10)
    assert no_ids.status_code == 400
    assert no_ids.json() == [{"message": "At least 1 Id is required.", "errorCode": "REQUIRED_FIELD_MISSING"}]
    too_many = http.post(
        data_url + "/composite/sobjects",
        headers=auth_headers,
        timeout=10,
        json={"records": [account(f"x{i}") for i in range(201)]},
    )
    assert too_many.status_code == 400
    assert too_many.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    not_json = http.post(
        data_url + "/composite/sobjects",
        headers=auth_headers,
        timeout=10,
        data="[",
    )
    assert not_json.status_code == 400


def test_composite_references_and_one_api_call(http, data_url, auth_headers) -> None:
    before = usage(http.get(data_url + "/limits", headers=auth_headers, timeout=10))
    resp = http.post(
        data_url + "/composite",
        headers=auth_headers,
        timeout=10,
        json={
            "allOrNone": False,
            "compositeRequest": [
                {
                    "method": "POST",
                    "url": "/services/data/v62.0/sobjects/Account",
                    "referenceId": "newAccount",
                    "body": {"Name": "Composite"},
                },
                {
                    "method": "GET",
                    "url": "/services/data/v62.0/sobjects/Account/@{newAccount.id}?fields=Name",
                    "referenceId": "readBack",
                },
                {
                    "method": "POST",
                    "url": "/services/data/v62.0/sobjects/Contact",
                    "referenceId": "newContact",
                    "body": {"LastName": "Ref", "AccountId": "@{newAccount.id}"},
                },
                {
                    "method": "GET",
                    "url": "/services/data/v62.0/query?q=SELECT+Id+FROM+Contact",
                    "referenceId": "contacts",
                },
                {
                    "method": "GET",
                    "url": "/services/data/v62.0/sobjects/Contact/@{contacts.records[0].Id}",
                    "referenceId": "firstContact",
                },
                {"method": "GET", "url": "/services/data/v62.0/sobjects/Nope__c/x", "referenceId": "missing"},
            ],
        },
    )
    assert resp.status_code == 200
    items = resp.json()["compositeResponse"]
    assert [list(i) for i in items] == [["body", "httpHeaders", "httpStatusCode", "referenceId"]] * 6
    created, read, contact, query, first, missing = items
    assert created["httpStatusCode"] == 201
    account_id = created["body"]["id"]
    assert created["httpHeaders"]["Location"] == f"/services/data/v62.0/sobjects/Account/{account_id}"
    assert read["body"]["Name"] == "Composite"
    assert contact["httpStatusCode"] == 201
    assert query["body"]["totalSize"] == 1
    assert first["body"]["AccountId"] == account_id
    assert missing["httpStatusCode"] == 404
    assert missing["body"] == [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]
    after = usage(resp)
    assert after == before + 1


def test_composite_all_or_none(http, data_url, auth_headers) -> None:
    resp = http.post(
        data_url + "/composite",
        headers=auth_headers,
        timeout=10,
        json={
            "allOrNone": True,
            "compositeRequest": [
                {
                    "method": "POST",
                    "url": "/services/data/v62.0/sobjects/Account",
                    "referenceId": "good",
                    "body": {"Name": "Kept?"},
                },
                {
                    "method": "POST",
                    "url": "/services/data/v62.0/sobjects/Account",
                    "referenceId": "bad",
                    "body": {},
                },
                {"method": "GET", "url": "/services/data/v62.0/limits", "referenceId": "after"},
            ],
        },
    )
    assert resp.status_code == 200
    good, bad, after = resp.json()["compositeResponse"]
    halted = [
        {
            "errorCode": "PROCESSING_HALTED",
            "message": "The transaction was rolled back "
            "since another operation in the same transaction failed.",
        }
    ]
    assert good == {"body": halted, "httpHeaders": {}, "httpStatusCode": 400, "referenceId": "good"}
    assert bad["httpStatusCode"] == 400
    assert bad["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert after["body"] == halted
    assert count(http, data_url, auth_headers) == 0


def test_composite_reference_to_a_failed_subrequest(http, data_url, auth_headers) -> None:
    resp = http.post(
        data_url + "/composite",
        headers=auth_headers,
        timeout=10,
        json={
            "compositeRequest": [
                {
                    "method": "POST",
                    "url": "/services/data/v62.0/sobjects/Account",
                    "referenceId": "bad",
                    "body": {},
                },
                {
                    "method": "GET",
                    "url": "/services/data/v62.0/sobjects/Account/@{bad.id}",
                    "referenceId": "dependent",
                },
            ]
        },
    )
    bad, dependent = resp.json()["compositeResponse"]
    assert bad["httpStatusCode"] == 400
    assert dependent["httpStatusCode"] == 400
    assert dependent["body"][0]["errorCode"] == "PROCESSING_HALTED"


@pytest.mark.parametrize(
    "requests_",
    [
        [{"method": "GET", "url": "/services/data/v62.0/limits", "referenceId": f"r{i}"} for i in range(26)],
        [
            {
                "method": "GET",
                "url": "/services/data/v62.0/query?q=SELECT+Id+FROM+Account",
                "referenceId": f"q{i}",
            }
            for i in range(6)
        ],
        [
            {"method": "GET", "url": "/services/data/v62.0/limits", "referenceId": "same"},
            {"method": "GET", "url": "/services/data/v62.0/limits", "referenceId": "same"},
        ],
        [{"method": "GET", "referenceId": "nourl"}],
    ],
)
def test_composite_limits(http, data_url, auth_headers, requests_) -> None:
    resp = http.post(
        data_url + "/composite", headers=auth_headers, timeout=10, json={"compositeRequest": requests_}
    )
    assert resp.status_code == 400
    assert resp.headers["content-type"] == "application/json;charset=UTF-8"
    assert resp.json()[0]["errorCode"]

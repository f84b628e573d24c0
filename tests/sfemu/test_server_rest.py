"""REST conventions: versions, resources, headers, auth failures, rows, query paging."""

from __future__ import annotations

import re

import requests

from sfemu.testing import OrgHandle, SfemuServer

JSON = "application/json;charset=UTF-8"
REAL_HEADERS = {
    "strict-transport-security": "max-age=31536000; includeSubDomains",
    "x-content-type-options": "nosniff",
    "x-xss-protection": "1; mode=block",
    "x-robots-tag": "none",
    "cache-control": "no-cache,must-revalidate,max-age=0,no-store,private",
}
NOT_FOUND = [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]


def usage(resp: requests.Response) -> tuple[int, int]:
    match = re.fullmatch(r"api-usage=(\d+)/(\d+)", resp.headers["sforce-limit-info"])
    assert match, resp.headers.get("sforce-limit-info")
    return int(match.group(1)), int(match.group(2))


def test_version_list_needs_no_auth_and_carries_no_limit_info(http, sfemu_server) -> None:
    for path in ("/services/data", "/services/data/"):
        resp = http.get(sfemu_server.url + path, timeout=10)
        assert resp.status_code == 200
        assert resp.headers["content-type"] == JSON
        assert "sforce-limit-info" not in resp.headers
        versions = resp.json()
        assert versions[-1] == {"label": "Spring '26", "url": "/services/data/v66.0", "version": "66.0"}
        assert {"label": "Winter '25", "url": "/services/data/v62.0", "version": "62.0"} in versions
        assert [float(v["version"]) for v in versions] == sorted(float(v["version"]) for v in versions)


def test_unknown_version_is_404(http, sfemu_server, auth_headers) -> None:
    for version in ("v99.0", "v20.0", "62.0", "vfoo"):
        resp = http.get(
            f"{sfemu_server.url}/services/data/{version}/limits", headers=auth_headers, timeout=10
        )
        assert resp.status_code == 404
        assert resp.json() == NOT_FOUND


def test_resources_by_version(http, data_url, auth_headers, sfemu_server, sfemu_org) -> None:
    resp = http.get(data_url + "/", headers=auth_headers, timeout=10)
    assert resp.status_code == 200
    body = resp.json()
    assert body["sobjects"] == "/services/data/v62.0/sobjects"
    assert body["query"] == "/services/data/v62.0/query"
    assert body["identity"] == f"{sfemu_server.url}/id/{sfemu_org.org_id}/{sfemu_org.user_id}"
    no_slash = http.get(data_url, headers=auth_headers, timeout=10)
    assert no_slash.json() == body


def test_real_headers_and_metering(http, data_url, auth_headers) -> None:
    first = http.get(data_url + "/limits/", headers=auth_headers, timeout=10)
    assert first.status_code == 200
    assert first.headers["content-type"] == JSON
    for name, value in REAL_HEADERS.items():
        assert first.headers[name] == value
    assert "server" not in first.headers
    used, limit = usage(first)
    assert limit == first.json()["DailyApiRequests"]["Max"]
    second = http.get(data_url + "/limits", headers=auth_headers, timeout=10)
    assert usage(second)[0] == used + 1


def test_missing_or_bad_token_is_401(http, data_url) -> None:
    expected = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
    for headers in ({}, {"Authorization": "Bearer 00Dxx!AQbogus"}, {"Authorization": "Basic x"}):
        resp = http.get(data_url + "/sobjects", headers=headers, timeout=10)
        assert resp.status_code == 401
        assert resp.headers["content-type"] == JSON
        assert resp.json() == expected


def test_unknown_resource_and_method(http, data_url, auth_headers) -> None:
    resp = http.get(data_url + "/nothing/here", headers=auth_headers, timeout=10)
    assert resp.status_code == 404
    assert resp.json() == NOT_FOUND
    put = http.put(
        data_url + "/sobjects/Account/001000000000000AAA", headers=auth_headers, json={}, timeout=10
    )
    assert put.status_code == 405
    assert put.json()[0]["errorCode"] == "METHOD_NOT_ALLOWED"


def test_describe_endpoints(http, data_url, auth_headers) -> None:
    glob = http.get(data_url + "/sobjects/", headers=auth_headers, timeout=10).json()
    assert glob["encoding"] == "UTF-8"
    assert glob["maxBatchSize"] == 200
    names = {s["name"] for s in glob["sobjects"]}
    assert {"Account", "Contact"} <= names
    basic = http.get(data_url + "/sobjects/account", headers=auth_headers, timeout=10).json()
    assert basic["objectDescribe"]["name"] == "Account"
    assert basic["recentItems"] == []
    full = http.get(data_url + "/sobjects/Account/describe", headers=auth_headers, timeout=10)
    assert full.status_code == 200
    assert full.json()["name"] == "Account"
    missing = http.get(data_url + "/sobjects/Nope__c/describe", headers=auth_headers, timeout=10)
    assert missing.status_code == 404
    assert missing.json() == NOT_FOUND


def test_row_lifecycle(http, data_url, auth_headers) -> None:
    created = http.post(
        data_url + "/sobjects/Account", headers=auth_headers, json={"Name": "Lifecycle"}, timeout=10
    )
    assert created.status_code == 201
    body = created.json()
    assert list(body) == ["id", "success", "errors"]
    record_id = body["id"]
    assert body["success"] is True and body["errors"] == []
    row_url = f"{data_url}/sobjects/Account/{record_id}"
    got = http.get(row_url, params={"fields": "Id,Name"}, headers=auth_headers, timeout=10)
    assert got.status_code == 200
    record = got.json()
    assert next(iter(record)) == "attributes"
    assert record["attributes"] == {
        "type": "Account",
        "url": f"/services/data/v62.0/sobjects/Account/{record_id}",
    }
    assert record["Name"] == "Lifecycle"
    patched = http.patch(row_url, headers=auth_headers, json={"Name": "Renamed"}, timeout=10)
    assert patched.status_code == 204
    assert patched.content == b""
    head = http.head(row_url, headers=auth_headers, timeout=10)
    assert head.status_code == 200
    assert http.delete(row_url, headers=auth_headers, timeout=10).status_code == 204
    gone = http.get(row_url, headers=auth_headers, timeout=10)
    assert gone.status_code == 404
    assert gone.json() == NOT_FOUND
    again = http.delete(row_url, headers=auth_headers, timeout=10)
    assert again.json() == [{"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED", "fields": []}]


def test_post_with_id_null_upsert_creates(http, data_url, auth_headers) -> None:
    resp = http.post(
        data_url + "/sobjects/Account/Id", headers=auth_headers, json={"Name": "Via Id"}, timeout=10
    )
    assert resp.status_code == 201
    assert resp.json()["created"] is True


def test_method_override_parameter(http, data_url, auth_headers) -> None:
    record_id = http.post(
        data_url + "/sobjects/Account", headers=auth_headers, json={"Name": "Override"}, timeout=10
    ).json()["id"]
    resp = http.post(
        f"{data_url}/sobjects/Account/{record_id}",
        params={"_HttpMethod": "PATCH"},
        headers=auth_headers,
        json={"Name": "Overridden"},
        timeout=10,
    )
    assert resp.status_code == 204


def test_bad_json_body(http, data_url, auth_headers) -> None:
    resp = http.post(
        data_url + "/sobjects/Account",
        headers=auth_headers | {"Content-Type": "application/json"},
        data="{not json",
        timeout=10,
    )
    assert resp.status_code == 400
    assert resp.json()[0]["errorCode"] == "JSON_PARSER_ERROR"


def _seed_accounts(http: requests.Session, data_url: str, headers: dict, count: int) -> None:
    for start in range(0, count, 200):
        batch = [
            {"attributes": {"type": "Account"}, "Name": f"Paged {i:05d}"}
            for i in range(start, min(count, start + 200))
        ]
        resp = http.post(
            data_url + "/composite/sobjects",
            headers=headers,
            json={"allOrNone": True, "records": batch},
            timeout=30,
        )
        assert resp.status_code == 200
        assert all(r["success"] for r in resp.json())


def test_query_paging_with_batch_size(http, data_url, auth_headers, sfemu_server) -> None:
    _seed_accounts(http, data_url, auth_headers, 450)
    headers = auth_headers | {"Sforce-Query-Options": "batchSize=200"}
    first = http.get(
        data_url + "/query/", params={"q": "SELECT Id, Name FROM Account"}, headers=headers, timeout=30
    ).json()
    assert list(first) == ["totalSize", "done", "nextRecordsUrl", "records"]
    assert first["totalSize"] == 450 and first["done"] is False
    assert len(first["records"]) == 200
    assert re.fullmatch(r"/services/data/v62\.0/query/01g[0-9A-Za-z]{15}-200", first["nextRecordsUrl"])
    second = http.get(sfemu_server.url + first["nextRecordsUrl"], headers=auth_headers, timeout=30).json()
    assert second["nextRecordsUrl"].endswith("-400")
    third = http.get(sfemu_server.url + second["nextRecordsUrl"], headers=auth_headers, timeout=30).json()
    assert third["done"] is True and "nextRecordsUrl" not in third
    ids = [r["Id"] for page in (first, second, third) for r in page["records"]]
    assert len(set(ids)) == 450
    bad = http.get(data_url + "/query/01g000000000000AAA-2000", headers=auth_headers, timeout=10)
    assert bad.status_code == 400
    assert bad.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_query_all_continuation_stays_query_all(http, data_url, auth_headers, sfemu_server):
    _seed_accounts(http, data_url, auth_headers, 210)
    ids = [
        r["Id"]
        for r in http.get(
            data_url + "/query", params={"q": "SELECT Id FROM Account"}, headers=auth_headers, timeout=30
        ).json()["records"]
    ]
    deleted = ids[:5]
    resp = http.delete(
        data_url + "/composite/sobjects", params={"ids": ",".join(deleted)}, headers=auth_headers, timeout=30
    )
    assert all(r["success"] for r in resp.json())
    headers = auth_headers | {"Sforce-Query-Options": "batchSize=200"}
    live = http.get(
        data_url + "/query", params={"q": "SELECT Id FROM Account"}, headers=headers, timeout=30
    ).json()
    assert live["totalSize"] == 205
    everything = http.get(
        data_url + "/queryAll", params={"q": "SELECT Id, IsDeleted FROM Account"}, headers=headers, timeout=30
    ).json()
    assert everything["totalSize"] == 210
    assert "/query/" in everything["nextRecordsUrl"]
    rest = http.get(sfemu_server.url + everything["nextRecordsUrl"], headers=auth_headers, timeout=30).json()
    rows = everything["records"] + rest["records"]
    assert {r["Id"] for r in rows if r["IsDeleted"]} == set(deleted)


def test_count_query(http, data_url, auth_headers) -> None:
    _seed_accounts(http, data_url, auth_headers, 3)
    resp = http.get(
        data_url + "/query", params={"q": "SELECT COUNT() FROM Account"}, headers=auth_headers, timeout=10
    ).json()
    assert resp == {"totalSize": 3, "done": True, "records": []}


def test_malformed_query(http, data_url, auth_headers) -> None:
    resp = http.get(
        data_url + "/query", params={"q": "SELEKT Id FROM Account"}, headers=auth_headers, timeout=10
    )
    assert resp.status_code == 400
    assert resp.json()[0]["errorCode"] == "MALFORMED_QUERY"
    empty = http.get(data_url + "/query", headers=auth_headers, timeout=10)
    assert empty.status_code == 400


def test_record_count(http, data_url, auth_headers) -> None:
    _seed_accounts(http, data_url, auth_headers, 2)
    resp = http.get(
        data_url + "/limits/recordCount",
        params={"sObjects": "Account,Contact"},
        headers=auth_headers,
        timeout=10,
    ).json()
    assert resp == {"sObjects": [{"count": 2, "name": "Account"}]}


def test_orgs_are_isolated(http, sfemu_server: SfemuServer, data_url) -> None:
    one: OrgHandle = sfemu_server.create_org()
    two: OrgHandle = sfemu_server.create_org()
    h1 = {"Authorization": f"Bearer {one.access_token}"}
    h2 = {"Authorization": f"Bearer {two.access_token}"}
    record_id = http.post(
        data_url + "/sobjects/Account", headers=h1, json={"Name": "Mine"}, timeout=10
    ).json()["id"]
    assert http.get(f"{data_url}/sobjects/Account/{record_id}", headers=h2, timeout=10).status_code == 404
    count = http.get(
        data_url + "/query", params={"q": "SELECT COUNT() FROM Account"}, headers=h2, timeout=10
    ).json()
    assert count["totalSize"] == 0


def test_describe_if_modified_since(http, data_url, auth_headers) -> None:
    first = http.get(data_url + "/sobjects/Account/describe", headers=auth_headers, timeout=10)
    stamp = first.headers["last-modified"]
    for path in ("/sobjects", "/sobjects/Account/describe"):
        cached = http.get(data_url + path, headers=auth_headers | {"If-Modified-Since": stamp}, timeout=10)
        assert cached.status_code == 304
        assert cached.content == b""
        old = http.get(
            data_url + path,
            timeout=10,
            headers=auth_headers | {"If-Modified-Since": "Mon, 01 Jan 2001 00:00:00 GMT"},
        )
        assert old.status_code == 200


def test_patch_on_null_id_creates_like_jsforce_upsert(http, data_url, auth_headers) -> None:
    resp = http.patch(
        data_url + "/sobjects/Account/Id/", headers=auth_headers, json={"Name": "Null id"}, timeout=10
    )
    assert resp.status_code == 201
    assert resp.json()["created"] is True


def test_request_limit_exceeded(http, data_url, sfemu_org) -> None:
    headers = {"Authorization": f"Bearer {sfemu_org.access_token}"}
    used, _ = usage(http.get(data_url + "/limits", headers=headers, timeout=10))
    sfemu_org.org.set_option("api_daily_limit", used + 1)
    assert http.get(data_url + "/limits", headers=headers, timeout=10).status_code == 200
    refused = http.get(data_url + "/limits", headers=headers, timeout=10)
    assert refused.status_code == 403
    assert refused.json() == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    assert refused.headers["sforce-limit-info"] == f"api-usage={used + 1}/{used + 1}"


def test_unknown_external_id_field(http, data_url, auth_headers) -> None:
    resp = http.get(data_url + "/sobjects/Account/Nope__c/123", headers=auth_headers, timeout=10)
    assert resp.status_code == 404
    assert resp.json() == [
        {
            "errorCode": "NOT_FOUND",
            "message": "Provided external ID field does not exist or is not accessible: Nope__c",
        }
    ]

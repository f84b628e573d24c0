"""sfemu's wire format against the reference's documented shapes (salesforce-api.md §2-§4, §8).

Raw HTTP (requests), so key order, exact header strings and status codes are visible. Every check
names the reference section it comes from.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from sfemu.testing import OrgHandle, SfemuServer
from tests.sfemu.replay.checks import (
    JSON_CONTENT_TYPE,
    LIMIT_INFO,
    SF_DATE,
    SF_DATETIME,
    datetime_values,
    id_fields,
    valid_id18,
)

V = "62.0"
NOT_FOUND = [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]


@pytest.fixture(scope="module")
def org(sfemu_server: SfemuServer) -> OrgHandle:
    handle = sfemu_server.create_org("fidelity")
    handle.org.add_custom_field("Account", "Ext__c", "text", length=40, external_id=True, unique=True)
    return handle


@pytest.fixture(scope="module")
def http(sfemu_server: SfemuServer) -> Iterator[requests.Session]:
    session = sfemu_server.http_session()
    yield session
    session.close()


class Api:
    """Thin REST helper that records every answer (for the id/datetime/header sweeps)."""

    def __init__(self, http: requests.Session, base: str, token: str) -> None:
        self.http, self.base, self.token = http, base, token
        self.seen: list[requests.Response] = []

    def __call__(self, method: str, path: str, *, version: str = V, **kw: Any) -> requests.Response:
        url = path if path.startswith("http") else f"{self.base}/services/data/v{version}/{path.lstrip('/')}"
        headers = {"Authorization": f"Bearer {self.token}", **kw.pop("headers", {})}
        resp = self.http.request(method, url, headers=headers, timeout=30, **kw)
        self.seen.append(resp)
        return resp


@pytest.fixture(scope="module")
def api(http, sfemu_server: SfemuServer, org: OrgHandle) -> Api:
    return Api(http, sfemu_server.url, org.access_token)


def create(api: Api, name: str, **fields: Any) -> str:
    resp = api("POST", "sobjects/Account", json={"Name": name, **fields})
    assert resp.status_code == 201, resp.text
    return resp.json()["id"]


# --- §2.1 general conventions ---------------------------------------------------------------------


def test_json_content_type_is_the_exact_string(api: Api) -> None:
    for resp in (
        api("GET", "sobjects"),
        api("GET", "sobjects/Nope__c/describe"),
        api("GET", "query?q=SELEC"),
    ):
        assert resp.headers["Content-Type"] == JSON_CONTENT_TYPE, resp.request.url


def test_limit_info_on_every_rest_answer(api: Api, http, sfemu_server) -> None:
    rid = create(api, "Limit Info")
    answers = [
        api("GET", ""),
        api("GET", "limits"),
        api("GET", "sobjects"),
        api("GET", "sobjects/Account/describe"),
        api("GET", f"sobjects/Account/{rid}"),
        api("PATCH", f"sobjects/Account/{rid}", json={"Phone": "1"}),
        api("GET", "query", params={"q": "SELECT Id FROM Account"}),
        api("GET", "sobjects/Account/000000000000000AAA"),
        api("GET", "query", params={"q": "SELECT Nope FROM Account"}),
        api("DELETE", f"sobjects/Account/{rid}"),
    ]
    for resp in answers:
        info = resp.headers.get("Sforce-Limit-Info")
        assert info and LIMIT_INFO.match(info), (resp.request.method, resp.request.url, info)
    used = [int(LIMIT_INFO.match(r.headers["Sforce-Limit-Info"]).group(1)) for r in answers]
    assert used == sorted(used) and used[-1] > used[0], f"api-usage must count calls: {used}"
    versions = http.get(f"{sfemu_server.url}/services/data/", timeout=10)
    assert "Sforce-Limit-Info" not in versions.headers


def test_401_is_a_json_array_with_invalid_session_id(http, sfemu_server) -> None:
    for headers in ({}, {"Authorization": "Bearer 00Dxx0000000000!AQnope"}):
        resp = http.get(f"{sfemu_server.url}/services/data/v{V}/sobjects", headers=headers, timeout=10)
        assert resp.status_code == 401
        assert resp.headers["Content-Type"] == JSON_CONTENT_TYPE
        assert resp.json() == [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]
        assert list(resp.json()[0]) == ["message", "errorCode"]


# --- §2.2 versions and resources ------------------------------------------------------------------


def test_version_list(http, sfemu_server) -> None:
    resp = http.get(f"{sfemu_server.url}/services/data/", timeout=10)
    assert resp.status_code == 200
    assert resp.headers["Content-Type"] == JSON_CONTENT_TYPE
    body = resp.json()
    assert isinstance(body, list) and body
    for entry in body:
        assert list(entry) == ["label", "url", "version"]
        assert entry["url"] == f"/services/data/v{entry['version']}"
    versions = [float(e["version"]) for e in body]
    assert versions == sorted(versions)
    by_version = {e["version"]: e["label"] for e in body}
    assert by_version["62.0"] == "Winter '25"
    assert by_version["59.0"] == "Winter '24"
    assert by_version["66.0"] == "Spring '26"


def test_resources_by_version(api: Api, org: OrgHandle, sfemu_server) -> None:
    resp = api("GET", "")
    assert resp.status_code == 200
    body = resp.json()
    for name in ("sobjects", "query", "queryAll", "composite", "limits"):
        assert body[name] == f"/services/data/v{V}/{name}", name
    identity = body["identity"]
    assert identity.startswith("https://"), "identity is an absolute URL (jsforce reads it)"
    assert identity.endswith(f"/id/{org.org_id}/{org.user_id}")


def test_resources_by_version_lists_what_sfemu_serves_in_salesforce_order(api: Api) -> None:
    """The served resources in the order of Salesforce's "List Available REST Resources" example
    (reference §2.2): ``recent``, ``search`` and ``parameterizedSearch`` included; the last only
    from 36.0 on, ``jobs`` (Bulk 2.0) from 41.0."""
    body = api("GET", "").json()
    assert list(body) == [
        "tooling",
        "queryAll",
        "search",
        "identity",
        "composite",
        "parameterizedSearch",
        "recent",
        "limits",
        "query",
        "jobs",
        "sobjects",
    ]
    for name, path in body.items():
        if name != "identity":
            assert path == f"/services/data/v{V}/{name}", name
    probes = {
        "tooling": {},
        "search": {"q": "FIND {Acme}"},
        "parameterizedSearch": {"q": "Acme"},
        "recent": {},
    }
    for name, params in probes.items():
        assert api("GET", name, params=params).status_code == 200, name
    old = api("GET", "", version="35.0").json()
    assert "parameterizedSearch" not in old and "jobs" not in old
    assert list(old)[:4] == ["tooling", "queryAll", "search", "identity"]


def test_unknown_version_is_404(api: Api) -> None:
    for version in ("99.0", "20.0"):
        resp = api("GET", "sobjects", version=version)
        assert resp.status_code in (404, 410) if version == "20.0" else resp.status_code == 404
        if resp.status_code == 404:
            assert resp.json() == NOT_FOUND
            assert list(resp.json()[0]) == ["errorCode", "message"]


# --- §2.5 rows ------------------------------------------------------------------------------------


def test_create_read_update_delete_shapes(api: Api) -> None:
    resp = api("POST", "sobjects/Account/", json={"Name": "Trailing Slash"})  # simple-salesforce form
    assert resp.status_code == 201
    body = resp.json()
    assert list(body) == ["id", "success", "errors"] and body["success"] is True and body["errors"] == []
    rid = body["id"]
    record = api("GET", f"sobjects/Account/{rid}").json()
    assert list(record)[:2] == ["attributes", "Id"]
    assert record["attributes"] == {"type": "Account", "url": f"/services/data/v{V}/sobjects/Account/{rid}"}
    update = api("PATCH", f"sobjects/Account/{rid}", json={"Phone": "555"})
    assert update.status_code == 204 and update.content == b""
    delete = api("DELETE", f"sobjects/Account/{rid}")
    assert delete.status_code == 204 and delete.content == b""
    again = api("DELETE", f"sobjects/Account/{rid}")
    assert again.status_code == 404
    assert again.json() == [{"message": "entity is deleted", "errorCode": "ENTITY_IS_DELETED", "fields": []}]
    assert list(again.json()[0]) == ["message", "errorCode", "fields"]
    gone = api("GET", f"sobjects/Account/{rid}")
    assert gone.status_code == 404 and gone.json() == NOT_FOUND
    assert list(gone.json()[0]) == ["errorCode", "message"]


def test_dml_error_shape(api: Api) -> None:
    resp = api("POST", "sobjects/Account", json={"Phone": "no name"})
    assert resp.status_code == 400
    assert resp.json() == [
        {
            "message": "Required fields are missing: [Name]",
            "errorCode": "REQUIRED_FIELD_MISSING",
            "fields": ["Name"],
        }
    ]
    assert list(resp.json()[0]) == ["message", "errorCode", "fields"]


@pytest.mark.parametrize(
    ("version", "status", "body_keys"),
    [("45.0", 204, None), ("46.0", 200, ["id", "success", "errors", "created"]), (V, 200, None)],
)
def test_upsert_status_by_version(api: Api, version: str, status: int, body_keys) -> None:
    key = f"UPS-{version}"
    first = api("PATCH", f"sobjects/Account/Ext__c/{key}", version=version, json={"Name": "Upserted"})
    assert first.status_code == 201, first.text
    if float(version) >= 46:
        assert list(first.json()) == ["id", "success", "errors", "created"]
        assert first.json()["created"] is True
    else:
        assert list(first.json()) == ["id", "success", "errors"], "created exists only from API 46.0"
    second = api("PATCH", f"sobjects/Account/Ext__c/{key}", version=version, json={"Phone": "1"})
    assert second.status_code == status, second.text
    if status == 204:
        assert second.content == b""
    else:
        body = second.json()
        assert list(body) == ["id", "success", "errors", "created"]
        assert body["created"] is False and body["id"] == first.json()["id"]


def test_unknown_external_id_field_is_404(api: Api) -> None:
    resp = api("PATCH", "sobjects/Account/Nope__c/x", json={"Name": "x"})
    assert resp.status_code == 404
    assert resp.json()[0]["errorCode"] == "NOT_FOUND"
    assert (
        resp.json()[0]["message"] == "Provided external ID field does not exist or is not accessible: Nope__c"
    )


# --- §2.7 query -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def paged(api: Api) -> int:
    count = 2_150
    for start in range(0, count, 200):
        records = [
            {"attributes": {"type": "Account"}, "Name": f"Paged {i:05d}"}
            for i in range(start, min(count, start + 200))
        ]
        resp = api("POST", "composite/sobjects", json={"allOrNone": True, "records": records})
        assert resp.status_code == 200 and all(r["success"] for r in resp.json())
    return count


def test_query_key_order_and_next_records_url(api: Api, paged: int) -> None:
    resp = api("GET", "query", params={"q": "SELECT Id, Name FROM Account WHERE Name LIKE 'Paged %'"})
    body = resp.json()
    assert list(body) == ["totalSize", "done", "nextRecordsUrl", "records"]
    assert body["totalSize"] == paged and body["done"] is False and len(body["records"]) == 2000
    assert re.fullmatch(rf"/services/data/v{V}/query/01g\w{{15}}-2000", body["nextRecordsUrl"])
    assert list(body["records"][0]) == ["attributes", "Id", "Name"]
    more = api("GET", api.base + body["nextRecordsUrl"]).json()
    assert list(more) == ["totalSize", "done", "records"] and more["done"] is True
    assert len(more["records"]) == paged - 2000
    done = api("GET", "query", params={"q": "SELECT Id FROM Account LIMIT 1"}).json()
    assert list(done) == ["totalSize", "done", "records"], "nextRecordsUrl only when done is false"


def test_query_all_continuation_says_query(api: Api, paged: int) -> None:
    body = api("GET", "queryAll", params={"q": "SELECT Id FROM Account WHERE Name LIKE 'Paged %'"}).json()
    assert re.fullmatch(rf"/services/data/v{V}/query/01g\w{{15}}-2000", body["nextRecordsUrl"])


def test_query_with_trailing_slash_and_plus_for_spaces(api: Api, http, org: OrgHandle) -> None:
    create(api, "Plus Space")
    url = f"{api.base}/services/data/v{V}/query/?q=SELECT+Id,Name+FROM+Account+WHERE+Name+=+'Plus+Space'"
    resp = http.get(url, headers={"Authorization": f"Bearer {org.access_token}"}, timeout=10)
    assert resp.status_code == 200, resp.text
    assert [r["Name"] for r in resp.json()["records"]] == ["Plus Space"]
    q = "SELECT%20Id%20FROM%20Account%20WHERE%20Name%20%3D%20%27Plus%20Space%27"
    encoded = f"{api.base}/services/data/v{V}/query/?q={q}"
    assert (
        http.get(encoded, headers={"Authorization": f"Bearer {org.access_token}"}, timeout=10).json()[
            "totalSize"
        ]
        == 1
    )


def test_count_query_shape(api: Api) -> None:
    create(api, "Counted")
    body = api("GET", "query", params={"q": "SELECT COUNT() FROM Account WHERE Name = 'Counted'"}).json()
    assert body == {"totalSize": 1, "done": True, "records": []}


def test_soql_error_shape(api: Api) -> None:
    resp = api("GET", "query", params={"q": "select count() from XYZZY"})
    assert resp.status_code == 400
    [error] = resp.json()
    assert list(error) == ["message", "errorCode"]
    assert error["errorCode"] == "INVALID_TYPE"
    assert error["message"] == (
        "\nselect count() from XYZZY\n                    ^\nERROR at Row:1:Column:21\nsObject type 'XYZZY' "
        "is not supported. If you are attempting to use a custom object, be sure to append the '__c' after "
        "the entity name. Please reference your WSDL or the describe call for the appropriate names."
    )


# --- §2.6 getUpdated / getDeleted ------------------------------------------------------------------


def test_updated_and_deleted_shapes(api: Api, sfemu_server: SfemuServer) -> None:
    clock = sfemu_server.clock
    start = clock.advance(minutes=1)
    kept = create(api, "Fidelity Kept")
    gone = create(api, "Fidelity Gone")
    assert api("DELETE", f"sobjects/Account/{gone}").status_code == 204
    end = clock.advance(minutes=2)
    fmt = "%Y-%m-%dT%H:%M:%S+00:00"
    params = {"start": start.strftime(fmt), "end": end.strftime(fmt)}
    updated = api("GET", "sobjects/Account/updated/", params=params)
    assert updated.status_code == 200
    body = updated.json()
    assert list(body) == ["ids", "latestDateCovered"]
    assert kept in body["ids"] and gone not in body["ids"]
    assert SF_DATETIME.match(body["latestDateCovered"]) and body["latestDateCovered"].endswith(":00.000+0000")
    deleted = api("GET", "sobjects/Account/deleted/", params=params).json()
    assert list(deleted) == ["deletedRecords", "earliestDateAvailable", "latestDateCovered"]
    assert [d["id"] for d in deleted["deletedRecords"]] == [gone]
    assert list(deleted["deletedRecords"][0]) == ["id", "deletedDate"]
    assert SF_DATETIME.match(deleted["deletedRecords"][0]["deletedDate"])
    # simple-salesforce's hand-encoded form: colons and + percent-encoded
    raw = (
        f"sobjects/Account/updated/?start={params['start'].replace(':', '%3A').replace('+', '%2B')}"
        f"&end={params['end'].replace(':', '%3A').replace('+', '%2B')}"
    )
    assert api("GET", raw).json() == body
    backwards = api(
        "GET", "sobjects/Account/updated/", params={"start": params["end"], "end": params["start"]}
    )
    assert backwards.status_code == 400
    assert backwards.json()[0]["errorCode"] == "INVALID_REPLICATION_DATE"


# --- §2.8 collections -------------------------------------------------------------------------------


def test_collections_shapes(api: Api) -> None:
    resp = api(
        "POST",
        "composite/sobjects",
        json={
            "allOrNone": False,
            "records": [
                {"attributes": {"type": "Account"}, "Name": "Coll"},
                {"attributes": {"type": "Account"}},
            ],
        },
    )
    assert resp.status_code == 200
    ok, bad = resp.json()
    assert list(ok) == ["id", "success", "errors"]
    assert list(bad) == ["success", "errors"]
    assert list(bad["errors"][0]) == ["statusCode", "message", "fields"]
    nothing = api("DELETE", "composite/sobjects")
    assert nothing.status_code == 400
    assert nothing.json() == [
        {"message": "At least 1 Id is required.", "errorCode": "REQUIRED_FIELD_MISSING"}
    ]


# --- §4 ids and datetimes across everything seen -----------------------------------------------------


def _json(resp: requests.Response) -> Any:
    if resp.headers.get("Content-Type", "").startswith("application/json") and resp.content:
        return resp.json()
    return None


def test_every_returned_id_has_a_valid_checksum(api: Api, paged: int) -> None:
    create(api, "Checksum", Ext__c="CHK-1")
    api("GET", "sobjects/Account/describe")
    api(
        "GET",
        "query",
        params={"q": "SELECT Id, OwnerId, CreatedById, LastModifiedById FROM Account LIMIT 50"},
    )
    api("GET", "sobjects/Organization/describe")
    checked = 0
    for resp in api.seen:
        doc = _json(resp)
        for path, value in id_fields(doc):
            if len(value) == 18:
                assert valid_id18(value), f"{resp.request.url} {path}: {value}"
                checked += 1
    assert checked > 100


def test_every_returned_datetime_has_millis_and_plus0000(api: Api) -> None:
    rid = create(api, "Dates")
    api("GET", f"sobjects/Account/{rid}")
    api("GET", "query", params={"q": "SELECT Id, CreatedDate, SystemModstamp FROM Account LIMIT 20"})
    checked = 0
    for resp in api.seen:
        for path, value in datetime_values(_json(resp)):
            assert SF_DATETIME.match(value), f"{resp.request.url} {path}: {value}"
            checked += 1
    assert checked > 10


def test_date_fields_are_plain_dates(api: Api, org: OrgHandle) -> None:
    opp = api(
        "POST",
        "sobjects/Opportunity",
        json={"Name": "Dated", "StageName": "Prospecting", "CloseDate": "2024-01-31"},
    )
    assert opp.status_code == 201, opp.text
    record = api("GET", f"sobjects/Opportunity/{opp.json()['id']}").json()
    assert record["CloseDate"] == "2024-01-31" and SF_DATE.match(record["CloseDate"])

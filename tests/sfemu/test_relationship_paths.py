"""``GET sobjects/{T}/{id}/{relationship}`` (friendly-URL relationship traversal) over HTTP."""

from __future__ import annotations

import base64

import pytest
import requests
from simple_salesforce import Salesforce

from sfemu.testing import OrgHandle, SfemuServer

VERSION = "62.0"
NOT_FOUND = [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]


@pytest.fixture(scope="module")
def org(sfemu_server: SfemuServer) -> OrgHandle:
    return sfemu_server.create_org("relpaths")


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
    acme = sf.Account.create({"Name": "Acme"})["id"]
    lonely = sf.Account.create({"Name": "Lonely"})["id"]
    c1 = sf.Contact.create({"LastName": "One", "AccountId": acme})["id"]
    c2 = sf.Contact.create({"LastName": "Two", "AccountId": acme})["id"]
    orphan = sf.Contact.create({"LastName": "Orphan"})["id"]
    return {"acme": acme, "lonely": lonely, "c1": c1, "c2": c2, "orphan": orphan}


def test_child_relationship_is_a_query_result(sf: Salesforce, rows) -> None:
    body = sf.restful(f"sobjects/Account/{rows['acme']}/Contacts")
    assert list(body) == ["totalSize", "done", "records"]
    assert body["totalSize"] == 2 and body["done"] is True
    assert [r["Id"] for r in body["records"]] == [rows["c1"], rows["c2"]]
    first = body["records"][0]
    assert first["attributes"] == {
        "type": "Contact",
        "url": f"/services/data/v{VERSION}/sobjects/Contact/{rows['c1']}",
    }
    assert first["LastName"] == "One" and first["AccountId"] == rows["acme"]
    # the same fields as GET sobjects/Contact/{id}
    assert first == sf.Contact.get(rows["c1"])
    narrow = sf.restful(f"sobjects/Account/{rows['acme']}/contacts", params={"fields": "LastName"})
    assert [list(r) for r in narrow["records"]] == [["attributes", "LastName", "Id"]] * 2
    empty = sf.restful(f"sobjects/Account/{rows['lonely']}/Contacts")
    assert empty == {"totalSize": 0, "done": True, "records": []}


def test_parent_lookup_is_the_record(sf: Salesforce, rows) -> None:
    parent = sf.restful(f"sobjects/Contact/{rows['c1']}/Account")
    assert parent == sf.Account.get(rows["acme"])
    narrow = sf.restful(f"sobjects/Contact/{rows['c1']}/Account", params={"fields": "Name"})
    assert narrow["Name"] == "Acme" and "Industry" not in narrow


def _get(http, sfemu_server, org, path: str) -> requests.Response:
    return http.get(
        f"{sfemu_server.url}/services/data/v{VERSION}/sobjects/{path}",
        headers={"Authorization": f"Bearer {org.access_token}"},
        timeout=10,
    )


def test_unknown_relationship_empty_lookup_and_unknown_record(http, sfemu_server, org, rows) -> None:
    for path in (
        f"Account/{rows['acme']}/Nope__r",
        f"Contact/{rows['orphan']}/Account",
        f"Account/{rows['acme'][:-3]}ZZZ/Contacts",
    ):
        resp = _get(http, sfemu_server, org, path)
        assert resp.status_code == 404, path
        assert resp.json() == NOT_FOUND or resp.json()[0]["errorCode"] == "NOT_FOUND"
    assert _get(http, sfemu_server, org, f"Account/{rows['acme']}/Nope__r").json() == NOT_FOUND


def test_blob_fields_still_answer_bytes(sf: Salesforce, http, sfemu_server, org, rows) -> None:
    body = base64.b64encode(b"hello").decode()
    att = sf.Attachment.create({"Name": "a.txt", "ParentId": rows["acme"], "Body": body})["id"]
    resp = _get(http, sfemu_server, org, f"Attachment/{att}/Body")
    assert resp.status_code == 200 and resp.content == b"hello"

"""``describe/layouts``, ``describe/compactLayouts`` and ``listviews`` over real HTTP."""

from __future__ import annotations

import pytest
import requests
from simple_salesforce import Salesforce

from sfemu.metadata.components import LAYOUTS
from sfemu.testing import OrgHandle, SfemuServer

VERSION = "62.0"
NOT_FOUND = [{"errorCode": "NOT_FOUND", "message": "The requested resource does not exist"}]
LAYOUT_KEYS = [
    "buttonLayoutSection",
    "detailLayoutSections",
    "editLayoutSections",
    "feedView",
    "highlightsPanelLayoutSection",
    "id",
    "multirowEditLayoutSections",
    "offlineLinks",
    "quickActionList",
    "relatedContent",
    "relatedLists",
    "saveOptions",
]


@pytest.fixture(scope="module")
def org(sfemu_server: SfemuServer) -> OrgHandle:
    return sfemu_server.create_org("layouts")


@pytest.fixture(scope="module")
def sf(sfemu_server: SfemuServer, org: OrgHandle) -> Salesforce:
    http: requests.Session = sfemu_server.http_session()
    return Salesforce(
        instance_url=sfemu_server.url, session_id=org.access_token, session=http, version=VERSION
    )


def _items(section: dict) -> list[dict]:
    return [item for row in section["layoutRows"] for item in row["layoutItems"]]


def test_account_layouts_follow_the_layout_metadata(sf: Salesforce, org: OrgHandle) -> None:
    body = sf.restful("sobjects/Account/describe/layouts")
    assert list(body) == ["layouts", "recordTypeMappings", "recordTypeSelectorRequired"]
    assert body["recordTypeSelectorRequired"] == [False]
    (layout,) = body["layouts"]
    assert list(layout) == LAYOUT_KEYS
    assert layout["id"].startswith("00h") and len(layout["id"]) == 18
    listed = {x.full_name: x.id for x in LAYOUTS.names(org.org)}  # what listMetadata reports
    assert listed["Account-Account Layout"][:15] == layout["id"][:15]
    (section,) = layout["detailLayoutSections"]
    assert section["heading"] == "Information" and section["columns"] == 2
    assert section["parentLayoutId"] == layout["id"]
    fields = {c["value"]: item for item in _items(section) for c in item["layoutComponents"]}
    assert fields["Name"]["required"] is True and fields["Name"]["label"] == "Account Name"
    assert fields["Name"]["layoutComponents"][0]["details"]["name"] == "Name"
    assert fields["Name"]["layoutComponents"][0]["type"] == "Field"
    assert fields["CreatedById"]["editableForUpdate"] is False
    (master,) = body["recordTypeMappings"]
    assert master["recordTypeId"] == "012000000000000AAA" and master["layoutId"] == layout["id"]
    picklists = {p["picklistName"] for p in master["picklistsForRecordType"]}
    assert {"Industry", "Type"} <= picklists
    one = sf.restful("sobjects/Account/describe/layouts/012000000000000AAA")
    assert list(one) == LAYOUT_KEYS and one["id"] == layout["id"]


def test_deployed_layout_changes_the_describe(sf: Salesforce, org: OrgHandle) -> None:
    body = {
        "layoutSections": [
            {
                "label": "Only Two",
                "style": "OneColumn",
                "detailHeading": True,
                "layoutColumns": [
                    {"layoutItems": [{"behavior": "Required", "field": "LastName"}, {"field": "Email"}]}
                ],
            }
        ]
    }
    LAYOUTS.apply(org.org, "Contact-Contact Layout", body, org.org.admin_user_id)
    layout = sf.restful("sobjects/Contact/describe/layouts")["layouts"][0]
    (section,) = layout["detailLayoutSections"]
    assert section["heading"] == "Only Two" and section["useHeading"] is True and section["columns"] == 1
    assert [i["layoutComponents"][0]["value"] for i in _items(section)] == ["LastName", "Email"]


def test_compact_layouts_system_default(sf: Salesforce) -> None:
    body = sf.restful("sobjects/Contact/describe/compactLayouts")
    assert list(body) == ["compactLayouts", "defaultCompactLayoutId", "recordTypeCompactLayoutMappings"]
    (compact,) = body["compactLayouts"]
    assert list(compact) == ["actions", "fieldItems", "id", "imageItems", "label", "name", "objectType"]
    assert (compact["name"], compact["label"], compact["id"], compact["objectType"]) == (
        "SYSTEM",
        "System Default",
        None,
        "Contact",
    )
    assert compact["fieldItems"][0]["layoutComponents"][0]["value"] == "Name"
    (mapping,) = body["recordTypeCompactLayoutMappings"]
    assert mapping["recordTypeId"] == "012000000000000AAA" and mapping["compactLayoutName"] == "SYSTEM"


def test_list_views_describe_and_results(sf: Salesforce, org: OrgHandle) -> None:
    mine = sf.Account.create({"Name": "Zeta Listed", "Phone": "1"})["id"]
    sf.Account.create({"Name": "Alpha Listed"})
    body = sf.restful("sobjects/Account/listviews")
    assert list(body) == ["done", "listviews", "nextRecordsUrl", "size", "sobjectType"]
    assert (
        body["done"] is True and body["sobjectType"] == "Account" and body["size"] == len(body["listviews"])
    )
    views = {v["developerName"]: v for v in body["listviews"]}
    assert {"AllAccounts", "MyAccounts", "NewThisWeek", "NewLastWeek"} <= set(views)
    every = views["AllAccounts"]
    assert list(every) == [
        "describeUrl",
        "developerName",
        "id",
        "label",
        "resultsUrl",
        "soqlCompatible",
        "url",
    ]
    assert every["id"].startswith("00B") and every["label"] == "All Accounts"
    assert (
        every["describeUrl"] == f"/services/data/v{VERSION}/sobjects/Account/listviews/{every['id']}/describe"
    )
    assert sf.restful("sobjects/Account/listviews") == body  # ids are stable
    describe = sf.restful(f"sobjects/Account/listviews/{every['id']}/describe")
    assert describe["sobjectType"] == "Account" and describe["id"] == every["id"]
    assert describe["query"].startswith("SELECT Name, ")
    assert describe["columns"][0]["fieldNameOrPath"] == "Name" and describe["columns"][0]["sortIndex"] == 0
    # The query is real SOQL that the org runs.
    assert sf.query(describe["query"])["totalSize"] == 2
    results = sf.restful(f"sobjects/Account/listviews/{every['id']}/results")
    assert results["size"] == 2 and results["done"] is True and results["developerName"] == "AllAccounts"
    names = [
        next(c["value"] for c in r["columns"] if c["fieldNameOrPath"] == "Name") for r in results["records"]
    ]
    assert names == ["Alpha Listed", "Zeta Listed"]
    ids = [next(c["value"] for c in r["columns"] if c["fieldNameOrPath"] == "Id") for r in results["records"]]
    assert ids[1] == mine
    paged = sf.restful(f"sobjects/Account/listviews/{every['id']}/results", params={"limit": 1})
    assert len(paged["records"]) == 1 and paged["done"] is False
    basic = sf.restful(f"sobjects/Account/listviews/{every['id']}")
    assert basic == every


def test_unknown_list_view_and_object(sfemu_server: SfemuServer, org: OrgHandle) -> None:
    http = sfemu_server.http_session()
    headers = {"Authorization": f"Bearer {org.access_token}"}
    base = f"{sfemu_server.url}/services/data/v{VERSION}/sobjects"
    for path in (
        "Account/listviews/00B000000000000AAA/describe",
        "Nope__c/describe/layouts",
        "Nope__c/listviews",
    ):
        resp = http.get(f"{base}/{path}", headers=headers, timeout=10)
        assert resp.status_code == 404, path
        assert resp.json() == NOT_FOUND
    resp = http.get(f"{base}/Account/describe/layouts/012000000000001AAA", headers=headers, timeout=10)
    assert resp.status_code == 404

"""Unmodified jsforce: ``conn.search``, ``sobject().layouts()``, ``.compactLayouts()``,
``.listviews()``, ``listview(id).describe()/results()`` and relationship reads against sfemu.

Runs ``tests/sfemu/js/search_layouts.mjs`` under node (``npm ci --prefix tests/sfemu/js``).
"""

from __future__ import annotations

from typing import Any

import pytest

from sfemu.testing import OrgHandle, SfemuServer
from tests.sfemu.jsforce_runner import run_script

VERSION = "62.0"


@pytest.fixture(scope="module")
def results(sfemu_server: SfemuServer, tmp_path_factory) -> tuple[dict[str, Any], dict[str, str]]:
    handle: OrgHandle = sfemu_server.create_org("jsforce-search")
    org = handle.org
    user = org.admin_user_id
    ids = {
        "acme": org.create("Account", {"Name": "Acme Corp"}, user_id=user),
        "acme_labs": org.create("Account", {"Name": "Acme Labs"}, user_id=user),
        "other": org.create("Account", {"Name": "Initech"}, user_id=user),
    }
    ids["contact"] = org.create("Contact", {"LastName": "Doe", "AccountId": ids["acme"]}, user_id=user)
    out = tmp_path_factory.mktemp("jsforce") / "search_layouts.json"
    config = {
        "url": sfemu_server.url,
        "accessToken": handle.access_token,
        "version": VERSION,
        "accountId": ids["acme"],
    }
    return run_script(sfemu_server, "search_layouts.mjs", config, out), ids


def test_search(results) -> None:
    res, ids = results
    assert res["search"]["ok"], res["search"]
    records = res["search"]["value"]["searchRecords"]
    assert [(r["Id"], r["Name"]) for r in records] == [
        (ids["acme"], "Acme Corp"),
        (ids["acme_labs"], "Acme Labs"),
    ]
    bad = res["searchMalformed"]
    assert not bad["ok"] and bad["error"]["errorCode"] == "MALFORMED_SEARCH"
    assert "mismatched character '|' expecting '}'" in bad["error"]["message"]


def test_layouts_and_compact_layouts(results) -> None:
    res, _ = results
    assert res["layouts"]["ok"], res["layouts"]
    layout = res["layouts"]["value"]["layouts"][0]
    assert layout["id"].startswith("00h")
    values = [
        c["value"]
        for s in layout["detailLayoutSections"]
        for r in s["layoutRows"]
        for i in r["layoutItems"]
        for c in i["layoutComponents"]
    ]
    assert "Name" in values
    assert res["compactLayouts"]["ok"], res["compactLayouts"]
    assert res["compactLayouts"]["value"]["compactLayouts"][0]["name"] == "SYSTEM"


def test_list_views(results) -> None:
    res, _ids = results
    assert res["listviews"]["ok"], res["listviews"]
    assert res["listviews"]["value"]["sobjectType"] == "Account"
    assert res["listviewDescribe"]["ok"], res["listviewDescribe"]
    assert res["listviewDescribe"]["value"]["query"].startswith("SELECT Name")
    assert res["listviewResults"]["ok"], res["listviewResults"]
    body = res["listviewResults"]["value"]
    assert body["size"] == 3
    names = [c["value"] for r in body["records"] for c in r["columns"] if c["fieldNameOrPath"] == "Name"]
    assert names == ["Acme Corp", "Acme Labs", "Initech"]


def test_relationships(results) -> None:
    res, ids = results
    assert res["contacts"]["ok"], res["contacts"]
    assert [r["Id"] for r in res["contacts"]["value"]["records"]] == [ids["contact"]]
    bad = res["badRelationship"]
    assert not bad["ok"] and bad["error"]["errorCode"] == "NOT_FOUND"

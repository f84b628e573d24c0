"""Unmodified jsforce: ``conn.search``, ``sobject().layouts()``, ``.compactLayouts()``,
``.listviews()``, ``listview(id).describe()/results()`` and relationship reads against sfemu.

Runs ``tests/sfemu/js/search_layouts.mjs`` under node (``npm ci --prefix tests/sfemu/js``).
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path
from typing import Any

import pytest

from sfemu.testing import OrgHandle, SfemuServer
from tests.sfemu.test_jsforce import JS_DIR, _node

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
    env = {
        **os.environ,
        "NODE_EXTRA_CA_CERTS": str(sfemu_server.ca_path),
        "SFEMU_JS_CONFIG": json.dumps(config),
    }
    for proxy in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
        env.pop(proxy, None)
    proc = subprocess.run(
        [_node(), str(JS_DIR / "search_layouts.mjs"), str(out)],
        cwd=JS_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, f"node failed:\n{proc.stdout}\n{proc.stderr}"
    return json.loads(Path(out).read_text()), ids


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

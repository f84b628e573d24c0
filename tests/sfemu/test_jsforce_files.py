"""jsforce's file and feed calls, unmodified, against sfemu: ``tests/sfemu/js/files.mjs`` uploads a
ContentVersion (base64 ``VersionData``), queries the ContentDocument/ContentDocumentLink rows,
adds a version, downloads ``VersionData`` and an Attachment ``Body`` with ``conn.request`` and
writes feed rows. Needs ``npm ci --prefix tests/sfemu/js``."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from sfemu.testing import OrgHandle, SfemuServer
from tests.sfemu.jsforce_runner import failed, ok, run_script

VERSION = "62.0"
PAYLOAD = "Minutes of the kick-off meeting\n" * 50


@pytest.fixture(scope="module")
def org(sfemu_server: SfemuServer) -> OrgHandle:
    return sfemu_server.create_org("jsforce-files")


@pytest.fixture(scope="module")
def js(sfemu_server: SfemuServer, org: OrgHandle, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("jsforce-files") / "files.json"
    config = {
        "url": sfemu_server.url,
        "accessToken": org.access_token,
        "version": VERSION,
        "payload": PAYLOAD,
    }
    return run_script(sfemu_server, "files.mjs", config, out)


def test_upload_creates_version_document_and_link(js) -> None:
    assert ok(js, "upload")["success"] is True
    version = ok(js, "version")
    assert (version["VersionNumber"], version["IsLatest"], version["FileType"]) == ("1", True, "TEXT")
    assert version["ContentSize"] == len(PAYLOAD.encode())
    assert version["Checksum"] == hashlib.md5(PAYLOAD.encode()).hexdigest()
    assert ok(js, "links") == [{"ContentDocumentId": version["ContentDocumentId"], "ShareType": "V"}]


def test_version_data_download(js) -> None:
    download = ok(js, "download")
    assert download["body"] == PAYLOAD
    assert download["md5"] == ok(js, "version")["Checksum"]


def test_next_version(js) -> None:
    first = ok(js, "version")["Id"]
    value = ok(js, "nextVersion")
    assert value["latest"] == value["id"]
    assert value["versions"] == [[first, "1", False], [value["id"], "2", True]]


def test_attachment_body(js) -> None:
    assert ok(js, "attachment") == {"bodyLength": len("attached text"), "body": "attached text"}


def test_feed_rows(js) -> None:
    assert ok(js, "feed") == [
        {"Type": "TextPost", "Body": "From jsforce", "comments": [["Reply", "TextComment"]]}
    ]


def test_unfiltered_link_query_refused(js) -> None:
    error = failed(js, "unfilteredLinks")
    assert error["errorCode"] == "MALFORMED_QUERY"
    assert "ContentDocumentLink requires a filter" in error["message"]

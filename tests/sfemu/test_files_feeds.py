"""Files, attachments and feeds through unmodified simple-salesforce: ContentVersion uploads as
base64 JSON and as multipart (``sf.session``), the ContentDocument/ContentDocumentLink rows
Salesforce creates, new versions, VersionData/Body downloads, FeedItem/FeedComment, cascade
delete and undelete, and the request-size limits."""

from __future__ import annotations

import base64
import hashlib
import json
import os
from collections.abc import Iterator

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceMalformedRequest

from sfemu.server import uploads
from sfemu.testing import OrgHandle, SfemuServer
from tests.sfemu.test_soap_calls import soap, undelete_body

VERSION = "62.0"


@pytest.fixture(scope="module")
def org(sfemu_server: SfemuServer) -> OrgHandle:
    return sfemu_server.create_org("files-feeds")


@pytest.fixture(scope="module")
def http(sfemu_server: SfemuServer) -> Iterator[requests.Session]:
    session = sfemu_server.http_session()
    yield session
    session.close()


@pytest.fixture(scope="module")
def sf(org: OrgHandle, http: requests.Session) -> Salesforce:
    return Salesforce(
        instance_url=org.instance_url, session_id=org.access_token, session=http, version=VERSION
    )


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode()


def download(sf: Salesforce, sobject: str, record_id: str, field: str) -> requests.Response:
    resp = sf.session.get(f"{sf.base_url}sobjects/{sobject}/{record_id}/{field}", headers=sf.headers)
    assert resp.status_code == 200, resp.text
    return resp


def upload_multipart(sf: Salesforce, entity: dict, data: bytes, filename: str) -> requests.Response:
    """Salesforce's documented multipart insert: an ``entity_content`` JSON part, then the file."""
    headers = {k: v for k, v in sf.headers.items() if k.lower() != "content-type"}
    files = {
        "entity_content": (None, json.dumps(entity), "application/json"),
        "VersionData": (filename, data, "application/octet-stream"),
    }
    return sf.session.post(f"{sf.base_url}sobjects/ContentVersion/", headers=headers, files=files)


def links_of(sf: Salesforce, entity_id: str) -> list[dict]:
    soql = (
        "SELECT ContentDocumentId, LinkedEntityId, ShareType, Visibility FROM ContentDocumentLink "
        f"WHERE LinkedEntityId = '{entity_id}'"
    )
    return sf.query(soql)["records"]


@pytest.fixture
def account(sf: Salesforce) -> str:
    return sf.Account.create({"Name": "Files Parent"})["id"]


def test_base64_content_version_creates_document_and_links(
    sf: Salesforce, org: OrgHandle, account: str
) -> None:
    data = b"quarterly numbers\n" * 100
    created = sf.ContentVersion.create(
        {
            "Title": "Q1",
            "PathOnClient": "q1/report.TXT",
            "VersionData": b64(data),
            "FirstPublishLocationId": account,
        }
    )
    assert created["success"] is True
    version = sf.ContentVersion.get(created["id"])
    assert version["VersionNumber"] == "1" and version["IsLatest"] is True
    assert version["ContentSize"] == len(data)
    assert version["Checksum"] == hashlib.md5(data).hexdigest()
    assert (version["FileExtension"], version["FileType"], version["Title"]) == ("txt", "TEXT", "Q1")
    assert (
        version["VersionData"]
        == f"/services/data/v{VERSION}/sobjects/ContentVersion/{created['id']}/VersionData"
    )
    doc = sf.ContentDocument.get(version["ContentDocumentId"])
    assert doc["LatestPublishedVersionId"] == created["id"]
    assert (doc["Title"], doc["FileType"], doc["ContentSize"]) == ("Q1", "TEXT", len(data))
    assert [(r["ContentDocumentId"], r["ShareType"], r["Visibility"]) for r in links_of(sf, account)] == [
        (doc["Id"], "V", "AllUsers")
    ]
    owner = sf.query(
        "SELECT LinkedEntityId, ShareType FROM ContentDocumentLink "
        f"WHERE ContentDocumentId IN ('{doc['Id']}')"
    )["records"]
    assert {(r["LinkedEntityId"], r["ShareType"]) for r in owner} == {
        (account, "V"),
        (version["OwnerId"], "I"),
    }
    assert download(sf, "ContentVersion", created["id"], "VersionData").content == data


def test_multipart_upload_streams_and_round_trips(sf: Salesforce, account: str) -> None:
    data = os.urandom(3 * 1024 * 1024 + 17)  # several stored chunks
    resp = upload_multipart(
        sf, {"PathOnClient": "scan.pdf", "FirstPublishLocationId": account}, data, "scan.pdf"
    )
    assert resp.status_code == 201, resp.text
    version_id = resp.json()["id"]
    rows = sf.query(
        "SELECT Title, ContentSize, Checksum, FileType, ContentDocumentId FROM ContentVersion "
        f"WHERE Id = '{version_id}'"
    )["records"]
    assert (rows[0]["Title"], rows[0]["ContentSize"], rows[0]["FileType"]) == ("scan", len(data), "PDF")
    assert rows[0]["Checksum"] == hashlib.md5(data).hexdigest()
    got = download(sf, "ContentVersion", version_id, "VersionData")
    assert got.headers["Content-Length"] == str(len(data))
    assert hashlib.md5(got.content).hexdigest() == rows[0]["Checksum"]
    assert [r["ContentDocumentId"] for r in links_of(sf, account)] == [rows[0]["ContentDocumentId"]]


def test_new_version_moves_latest(sf: Salesforce) -> None:
    first = sf.ContentVersion.create({"PathOnClient": "plan.docx", "VersionData": b64(b"v1")})["id"]
    doc_id = sf.ContentVersion.get(first)["ContentDocumentId"]
    second = upload_multipart(
        sf,
        {"ContentDocumentId": doc_id, "PathOnClient": "plan.docx", "ReasonForChange": "edits"},
        b"v2!",
        "plan.docx",
    ).json()["id"]
    versions = sf.query(
        "SELECT Id, VersionNumber, IsLatest FROM ContentVersion "
        f"WHERE ContentDocumentId = '{doc_id}' ORDER BY VersionNumber"
    )["records"]
    assert [(v["Id"], v["VersionNumber"], v["IsLatest"]) for v in versions] == [
        (first, "1", False),
        (second, "2", True),
    ]
    doc = sf.ContentDocument.get(doc_id)
    assert (doc["LatestPublishedVersionId"], doc["ContentSize"], doc["FileType"]) == (second, 3, "WORD_X")
    assert download(sf, "ContentVersion", first, "VersionData").content == b"v1"
    assert download(sf, "ContentVersion", second, "VersionData").content == b"v2!"


def test_content_document_link_needs_a_filter(sf: Salesforce) -> None:
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.query("SELECT Id FROM ContentDocumentLink")
    assert exc.value.content[0]["errorCode"] == "MALFORMED_QUERY"
    assert exc.value.content[0]["message"].startswith(
        "Implementation restriction: ContentDocumentLink requires a filter by a single Id on "
        "ContentDocumentId or LinkedEntityId"
    )


def test_deleting_the_document_deletes_versions_and_links(sf: Salesforce, account: str) -> None:
    version_id = sf.ContentVersion.create(
        {"PathOnClient": "gone.csv", "VersionData": b64(b"a,b\n"), "FirstPublishLocationId": account}
    )["id"]
    doc_id = sf.ContentVersion.get(version_id)["ContentDocumentId"]
    assert sf.ContentDocument.delete(doc_id) == 204
    assert sf.query(f"SELECT Id FROM ContentVersion WHERE ContentDocumentId = '{doc_id}'")["totalSize"] == 0
    assert links_of(sf, account) == []
    binned = sf.query_all(
        f"SELECT Id, IsDeleted FROM ContentVersion WHERE Id = '{version_id}'", include_deleted=True
    )
    assert [r["IsDeleted"] for r in binned["records"]] == [True]


def test_attachment_body_round_trip(sf: Salesforce, account: str) -> None:
    data = bytes(range(256)) * 4
    created = sf.Attachment.create(
        {
            "ParentId": account,
            "Name": "bytes.bin",
            "ContentType": "application/octet-stream",
            "Body": b64(data),
        }
    )
    row = sf.Attachment.get(created["id"])
    assert (row["BodyLength"], row["ContentType"], row["ParentId"], row["Name"]) == (
        len(data),
        "application/octet-stream",
        account,
        "bytes.bin",
    )
    assert download(sf, "Attachment", created["id"], "Body").content == data
    assert sf.Attachment.update(created["id"], {"Body": b64(b"replaced")}) == 204
    assert sf.Attachment.get(created["id"])["BodyLength"] == len(b"replaced")
    assert download(sf, "Attachment", created["id"], "Body").content == b"replaced"


def test_feed_items_and_comments(sf: Salesforce, account: str) -> None:
    text = sf.FeedItem.create({"ParentId": account, "Body": "Kick-off done"})["id"]
    link = sf.FeedItem.create({"ParentId": account, "LinkUrl": "https://example.com/spec", "Title": "Spec"})[
        "id"
    ]
    file_id = sf.ContentVersion.create({"PathOnClient": "deck.pptx", "VersionData": b64(b"slides")})["id"]
    post = sf.FeedItem.create({"ParentId": account, "Type": "ContentPost", "RelatedRecordId": file_id})["id"]
    comment = sf.FeedComment.create({"FeedItemId": text, "CommentBody": "Nice"})["id"]
    items = sf.query(
        "SELECT Id, Type, Body, LinkUrl, RelatedRecordId, HasContent, CreatedById, IsDeleted FROM FeedItem "
        f"WHERE ParentId = '{account}' ORDER BY Id"
    )["records"]
    assert [(i["Id"], i["Type"]) for i in items] == [
        (text, "TextPost"),
        (link, "LinkPost"),
        (post, "ContentPost"),
    ]
    assert items[2]["RelatedRecordId"] == file_id and items[2]["HasContent"] is True
    assert items[0]["Body"] == "Kick-off done" and items[0]["IsDeleted"] is False
    row = sf.FeedComment.get(comment)
    assert (row["FeedItemId"], row["ParentId"], row["CommentType"], row["CommentBody"]) == (
        text,
        account,
        "TextComment",
        "Nice",
    )
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.FeedItem.create({"ParentId": account, "Type": "LinkPost"})
    assert exc.value.content[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    assert sf.FeedItem.delete(link) == 204
    assert sf.query(f"SELECT COUNT() FROM FeedItem WHERE Id = '{link}'")["totalSize"] == 0


def test_parent_delete_cascades_and_undelete_restores(
    sf: Salesforce, org: OrgHandle, http: requests.Session, account: str
) -> None:
    attachment = sf.Attachment.create({"ParentId": account, "Name": "a.txt", "Body": b64(b"attached")})["id"]
    item = sf.FeedItem.create({"ParentId": account, "Body": "post"})["id"]
    comment = sf.FeedComment.create({"FeedItemId": item, "CommentBody": "reply"})["id"]
    version = sf.ContentVersion.create(
        {"PathOnClient": "kept.txt", "VersionData": b64(b"kept"), "FirstPublishLocationId": account}
    )["id"]
    doc_id = sf.ContentVersion.get(version)["ContentDocumentId"]

    assert sf.Account.delete(account) == 204
    for sobject, record_id in (("Attachment", attachment), ("FeedItem", item), ("FeedComment", comment)):
        assert sf.query(f"SELECT COUNT() FROM {sobject} WHERE Id = '{record_id}'")["totalSize"] == 0, sobject
        deleted = sf.query_all(
            f"SELECT IsDeleted FROM {sobject} WHERE Id = '{record_id}'", include_deleted=True
        )
        assert [r["IsDeleted"] for r in deleted["records"]] == [True], sobject
    assert links_of(sf, account) == []
    assert sf.ContentDocument.get(doc_id)["Id"] == doc_id  # the file lives on with its owner

    resp = soap(http, org, undelete_body([account]))
    assert resp.status_code == 200 and "<success>true</success>" in resp.text, resp.text
    assert download(sf, "Attachment", attachment, "Body").content == b"attached"
    assert sf.FeedItem.get(item)["Body"] == "post"
    assert sf.FeedComment.get(comment)["ParentId"] == account
    assert [r["ContentDocumentId"] for r in links_of(sf, account)] == [doc_id]


def test_json_body_over_the_request_limit_is_refused(sf: Salesforce) -> None:
    before = sf.query("SELECT COUNT() FROM ContentVersion")["totalSize"]
    too_big = "A" * (uploads.JSON_LIMIT + 4)  # valid base64, 50 MB + 4 bytes of JSON text
    with pytest.raises(SalesforceMalformedRequest) as exc:
        sf.ContentVersion.create({"PathOnClient": "huge.bin", "VersionData": too_big})
    assert exc.value.content == [
        {
            "message": "; nested exception is: \n\tcommon.exception.ApiException: Maximum size of request "
            "reached. Maximum size of request is 52428800 bytes.",
            "errorCode": "JSON_PARSER_ERROR",
        }
    ]
    assert sf.query("SELECT COUNT() FROM ContentVersion")["totalSize"] == before


def test_multipart_over_the_content_version_limit_is_refused(
    sf: Salesforce, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(uploads, "CONTENT_VERSION_LIMIT", 64 * 1024)  # 2 GB in Salesforce
    resp = upload_multipart(sf, {"PathOnClient": "big.bin"}, b"x" * (65 * 1024), "big.bin")
    assert resp.status_code == 400
    assert resp.json()[0]["errorCode"] == "JSON_PARSER_ERROR"
    assert resp.json()[0]["message"].endswith("Maximum size of request is 65536 bytes.")
    ok = upload_multipart(sf, {"PathOnClient": "small.bin"}, b"x" * 1024, "small.bin")
    assert ok.status_code == 201, ok.text


def test_describe_serves_file_and_feed_objects(sf: Salesforce) -> None:
    names = {s["name"] for s in sf.describe()["sobjects"]}
    assert {"ContentVersion", "ContentDocument", "ContentDocumentLink", "FeedItem", "FeedComment"} <= names
    version = {f["name"]: f for f in sf.ContentVersion.describe()["fields"]}
    assert version["VersionData"]["type"] == "base64" and version["Checksum"]["createable"] is False
    link = {f["name"]: f for f in sf.ContentDocumentLink.describe()["fields"]}
    assert {"Account", "User"} <= set(link["LinkedEntityId"]["referenceTo"])
    children = {(c["childSObject"], c["field"]): c for c in sf.Account.describe()["childRelationships"]}
    assert children[("ContentDocumentLink", "LinkedEntityId")]["relationshipName"] == "ContentDocumentLinks"
    assert children[("ContentDocumentLink", "LinkedEntityId")]["cascadeDelete"] is True
    assert children[("FeedItem", "ParentId")]["cascadeDelete"] is True
    assert children[("ContentVersion", "FirstPublishLocationId")]["cascadeDelete"] is False

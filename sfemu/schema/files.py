"""What Salesforce does around files and feeds on insert.

* ContentVersion: ``Title``/``FileExtension``/``FileType`` from ``PathOnClient``. Without a
  ``ContentDocumentId`` the insert creates the ContentDocument (version 1) with a link to the
  owner (``ShareType`` I) and, with ``FirstPublishLocationId``, one to that record (V); with one
  it is the document's next version (``VersionNumber`` + 1, ``IsLatest`` moves, the document's
  ``LatestPublishedVersionId``, title, size and type follow).
* FeedItem: ``Type`` from what the post carries, each type's required field; FeedComment takes
  its ``ParentId`` from the feed item.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sfemu.errors import SalesforceError
from sfemu.soql import ast
from sfemu.soql.errors import SoqlError
from sfemu.timeutil import format_datetime

if TYPE_CHECKING:
    from sfemu.schema.dml import Writer

ParentLookup = Callable[[str | None], dict[str, Any] | None]

# File extension → ContentVersion.FileType, as Salesforce names them.
FILE_TYPES = {
    "pdf": "PDF",
    "txt": "TEXT",
    "csv": "CSV",
    "png": "PNG",
    "jpg": "JPG",
    "jpeg": "JPG",
    "gif": "GIF",
    "doc": "WORD",
    "docx": "WORD_X",
    "xls": "EXCEL",
    "xlsx": "EXCEL_X",
    "ppt": "POWER_POINT",
    "pptx": "POWER_POINT_X",
    "zip": "ZIP",
    "html": "HTML",
    "htm": "HTML",
    "xml": "XML",
    "rtf": "RTF",
    "mp4": "MP4",
}
# Fields a ContentDocument copies from its latest version.
_DOCUMENT_COPIES = (
    "Title",
    "ContentSize",
    "FileType",
    "FileExtension",
    "SharingOption",
    "SharingPrivacy",
    "ContentModifiedDate",
    "PublishStatus",
)
_FEED_REQUIRED = {"TextPost": "Body", "LinkPost": "LinkUrl", "ContentPost": "RelatedRecordId"}
_LINK_RESTRICTION = (
    "Implementation restriction: ContentDocumentLink requires a filter by a single Id on "
    "ContentDocumentId or LinkedEntityId using the equals operator or multiple Id's using the IN operator."
)


def _required(name: str) -> SalesforceError:
    return SalesforceError("REQUIRED_FIELD_MISSING", f"Required fields are missing: [{name}]", fields=[name])


# --- derived fields ------------------------------------------------------------------------


def _content_version(row: dict, old: dict | None, stamp: str, parent: ParentLookup) -> None:
    if old is not None:
        return
    path = row.get("PathOnClient") or ""
    name = path.replace("\\", "/").rsplit("/", 1)[-1]
    stem, dot, ext = name.rpartition(".")
    ext = ext.lower() if dot else ""
    row["FileExtension"] = ext or None
    row["FileType"] = FILE_TYPES.get(ext, "UNKNOWN")
    if not row.get("Title") and name:
        row["Title"] = stem if dot and stem else name
    row["ContentModifiedDate"] = stamp
    row["PublishStatus"] = "P" if row.get("FirstPublishLocationId") else "R"


def _feed_item(row: dict, old: dict | None, stamp: str, parent: ParentLookup) -> None:
    if old is not None:
        return
    if row.get("Type") is None:
        row["Type"] = (
            "ContentPost" if row.get("RelatedRecordId") else "LinkPost" if row.get("LinkUrl") else "TextPost"
        )
    needed = _FEED_REQUIRED[row["Type"]]
    if not row.get(needed):
        raise _required(needed)
    row.update(Revision=1, CommentCount=0, LikeCount=0, Status="Published")
    row["InsertedById"] = row.get("CreatedById")
    row["HasContent"] = bool(row.get("RelatedRecordId"))
    row["HasLink"] = bool(row.get("LinkUrl"))


def _feed_comment(row: dict, old: dict | None, stamp: str, parent: ParentLookup) -> None:
    if old is not None:
        return
    row["ParentId"] = (parent(row.get("FeedItemId")) or {}).get("ParentId")
    row["CommentType"] = "ContentComment" if row.get("RelatedRecordId") else "TextComment"
    if row["CommentType"] == "TextComment" and not row.get("CommentBody"):
        raise _required("CommentBody")
    row.update(Revision=1, Status="Published")
    row["InsertedById"] = row.get("CreatedById")


DERIVED = {"ContentVersion": _content_version, "FeedItem": _feed_item, "FeedComment": _feed_comment}


# --- ContentVersion → ContentDocument and links ----------------------------------------------


def _on_version(writer: Writer, row: dict, user_id: str) -> None:
    row["ContentModifiedById"] = user_id
    row["IsLatest"] = True
    if row.get("ContentDocumentId"):
        _next_version(writer, row, user_id)
    else:
        _first_version(writer, row, user_id)


def _first_version(writer: Writer, row: dict, user_id: str) -> None:
    schema = writer.schema
    values = {name: row.get(name) for name in _DOCUMENT_COPIES}
    values.update(
        OwnerId=row["OwnerId"], LatestPublishedVersionId=row["Id"], Description=row.get("Description")
    )
    doc_id = writer.add_platform_row(schema.require("ContentDocument"), values, user_id)
    row["ContentDocumentId"], row["VersionNumber"] = doc_id, "1"
    link = schema.require("ContentDocumentLink")
    owner_link = {"ContentDocumentId": doc_id, "LinkedEntityId": row["OwnerId"], "ShareType": "I"}
    writer.add_platform_row(link, owner_link, user_id)
    first = row.get("FirstPublishLocationId")
    if first and first != row["OwnerId"]:
        writer.add_platform_row(link, {**owner_link, "LinkedEntityId": first, "ShareType": "V"}, user_id)


def _next_version(writer: Writer, row: dict, user_id: str) -> None:
    doc_id = row["ContentDocumentId"]
    doc = writer.parent(doc_id) or {}
    latest_id = doc.get("LatestPublishedVersionId")
    latest = writer.parent(latest_id) or {}
    row["VersionNumber"] = str(int(latest.get("VersionNumber") or 0) + 1)
    row["PublishStatus"] = doc.get("PublishStatus")
    if latest_id:
        _touch(writer, "ContentVersion", latest_id, latest, {"IsLatest": False}, user_id)
    changes = {name: row.get(name) for name in _DOCUMENT_COPIES}
    changes["LatestPublishedVersionId"] = row["Id"]
    _touch(writer, "ContentDocument", doc_id, doc, changes, user_id)


def _touch(writer: Writer, sobject: str, record_id: str, old: dict, changes: dict, user_id: str) -> None:
    """Rewrite a row the platform changes as a side effect (new stamp, lookups re-indexed)."""
    stamp = format_datetime(writer.org.stamper.next())
    data = {**old, **changes, "SystemModstamp": stamp}
    if "LastModifiedDate" in data:
        data["LastModifiedDate"], data["LastModifiedById"] = stamp, user_id
    writer.store.replace_record(record_id, False, stamp, data)
    writer.store.set_refs(record_id, writer.refs_of(writer.schema.require(sobject), data))


BEFORE_INSERT: dict[str, Callable[[Writer, dict, str], None]] = {"ContentVersion": _on_version}


# --- queries -------------------------------------------------------------------------------


def check_query(query: ast.Query) -> None:
    """ContentDocumentLink must be filtered on a document or linked record (MALFORMED_QUERY)."""
    if query.sobject.lower() != "contentdocumentlink":
        return
    for item in query.top_level_predicates():
        name = item.field.path[0].lower()
        if name not in ("contentdocumentid", "linkedentityid"):
            continue
        if isinstance(item, ast.InList) and not item.negated:
            return
        if isinstance(item, ast.Comparison) and item.op == "=":
            return
    raise SoqlError("MALFORMED_QUERY", _LINK_RESTRICTION)

"""Files and attachments of linked records (the Sync Feeds step, `feeds.py`).

A file is a `ContentDocument` pair, linked as such; its link keeps, per side, `<latest version
Id>:<checksum>` as the state hash. A document with no link is sent as a new file; a linked one is
sent again as a new version of the copy only when the source's latest version is not the one
recorded and its checksum differs (a new version with the same bytes is only recorded). Each
`ContentDocumentLink` of a document to a linked record is shared on the copy (linked by its Id),
and each legacy `Attachment` is copied once. A body moves in one call each way, streamed through a
temporary file (`SalesforceClient.download_blob`, `upload_blob`), never held whole in memory;
each body sent counts in `FeedReport.files` and its size in `.bytes`.
Bodies over `ORGSYNC_FILE_SIZE_LIMIT_MB` are skipped with a Failed sync log entry FILE_TOO_LARGE.
"""

from __future__ import annotations

import tempfile
from typing import TYPE_CHECKING

from django.conf import settings

from connections.client_errors import PermanentError
from replication.engine import child_copies
from replication.engine.links import LinkWrite

if TYPE_CHECKING:
    from replication.engine.feeds import Chunk, FeedSync

MB = 1024 * 1024
VERSION_FIELDS = (
    "Id, ContentDocumentId, Title, PathOnClient, Description, Checksum, ContentSize, CreatedById, CreatedDate"
)
LATEST_VERSIONS = (
    "SELECT {fields} FROM ContentVersion WHERE IsLatest = true{since} AND ContentDocumentId IN ({{}})"
)
POST_VERSIONS = "SELECT Id, ContentDocumentId FROM ContentVersion WHERE Id IN ({})"


def read_versions(step: FeedSync, chunk: Chunk) -> None:
    """The latest version of each document shared on the chunk's parents (a bulk sync's: if it
    changed on or after the cutoff), and the document of each version a post or comment carries."""
    docs = {link["ContentDocumentId"] for link in chunk.doc_links}
    posted = {r["RelatedRecordId"] for r in (*chunk.items, *chunk.comments) if r.get("RelatedRecordId")}
    latest = LATEST_VERSIONS.format(fields=VERSION_FIELDS, since=step.since("ContentVersion"))
    chunk.versions = {v["ContentDocumentId"]: v for v in step.query_in(step.source, latest, docs)}
    chunk.related = {
        v["Id"]: v["ContentDocumentId"] for v in step.query_in(step.source, POST_VERSIONS, posted)
    }


def sync_documents(step: FeedSync, chunk: Chunk) -> None:
    """New files, then new versions, then the shares of files on the chunk's parents."""
    _send_new(step, chunk, [v for doc, v in chunk.versions.items() if step.links.get(doc) is None])
    for doc, version in chunk.versions.items():
        link = step.links.get(doc)
        if link is not None:  # a file sent just now has its version recorded: nothing to do
            _send_version(step, version, link)
    _share(step, chunk)


def _send_new(step: FeedSync, chunk: Chunk, versions: list[dict]) -> None:
    """Upload each file (one call each way), then read the copies' documents in one call. A
    file a dead worker uploaded and did not link is found by its checksum instead
    (`child_copies.py`)."""
    uploaded = {copy["Id"]: version for copy, version in _recovered(step, versions)}
    recovered = {version["ContentDocumentId"] for version in uploaded.values()}
    shared_on = {share["ContentDocumentId"]: share["LinkedEntityId"] for share in chunk.doc_links}
    child_copies.announce(
        step,
        "ContentDocument",
        [(v["ContentDocumentId"], shared_on.get(v["ContentDocumentId"], "")) for v in versions],
    )
    for version in versions:
        if version["ContentDocumentId"] in recovered:
            continue
        values = {
            "Title": version.get("Title"),
            "PathOnClient": version["PathOnClient"],
            "Description": version.get("Description"),
            **step.audit("ContentVersion", version),
        }
        copy = _transfer(step, version, "ContentVersion", "VersionData", values)
        if copy:
            uploaded[copy] = version
    copies = step.query_in(step.target, POST_VERSIONS, uploaded)
    step.save(
        [_document_write(uploaded[c["Id"]], c["ContentDocumentId"], c["Id"]) for c in copies],
        settled=[v["ContentDocumentId"] for v in versions],
    )


def _recovered(step: FeedSync, versions: list[dict]) -> list[tuple[dict, dict]]:
    """(copy version, source version) of the files a dead worker uploaded and did not link."""
    pending = child_copies.in_flight(step, [v["ContentDocumentId"] for v in versions])
    wanted = {v["ContentDocumentId"]: v for v in versions if v["ContentDocumentId"] in pending}
    if not wanted:
        return []
    found = child_copies.find_copies(step, "ContentVersion", wanted)
    return [(copy, wanted[doc]) for doc, copy in found.items()]


def _send_version(step: FeedSync, version: dict, link) -> None:
    """The source's latest version went up since the last sync: send it as the copy's next
    version, unless only the version moved and the bytes are the same (then just record it)."""
    recorded_version, _, recorded_checksum = getattr(link, step.links.source_hash_field()).partition(":")
    if recorded_version == version["Id"]:
        return
    target_doc = step.links.target_id(link)
    if recorded_checksum == version.get("Checksum"):
        copy = step.links.target_hash(link).partition(":")[0]
    else:
        values = {
            "ContentDocumentId": target_doc,
            "PathOnClient": version["PathOnClient"],
            "Title": version.get("Title"),
            "Description": version.get("Description"),
        }
        copy = _transfer(step, version, "ContentVersion", "VersionData", values)
        if not copy:
            return
    step.save([_document_write(version, target_doc, copy)])


def _document_write(version: dict, target_doc: str, target_version: str) -> LinkWrite:
    checksum = version.get("Checksum") or ""
    return LinkWrite(
        "ContentDocument",
        version["ContentDocumentId"],
        "ContentDocument",
        target_doc,
        f"{target_version}:{checksum}",
        f"{version['Id']}:{checksum}",
    )


def _share(step: FeedSync, chunk: Chunk) -> None:
    """A document shared on a linked record is shared on its copy (a file the target lacks —
    over the limit, or failed — is not)."""
    rows = []
    for share in chunk.doc_links:
        doc_copy = step.links.target_of(share["ContentDocumentId"])
        if step.links.get(share["Id"]) or not doc_copy:
            continue
        values = {
            "ContentDocumentId": doc_copy,
            "LinkedEntityId": chunk.parents[share["LinkedEntityId"]],
            "ShareType": share.get("ShareType"),
            "Visibility": share.get("Visibility"),
        }
        rows.append((share, values))
    step.create("ContentDocumentLink", rows)


def sync_attachments(step: FeedSync, chunk: Chunk) -> None:
    """Each attachment the copy lacks, body and all (one call each way); one a dead worker
    copied and did not link is linked instead (`child_copies.py`)."""
    rows = []
    for attachment in chunk.attachments:
        if step.links.get(attachment["Id"]):
            continue
        values = {
            "ParentId": chunk.parents[attachment["ParentId"]],
            "Name": attachment["Name"],
            "ContentType": attachment.get("ContentType"),
            "Description": attachment.get("Description"),
            "IsPrivate": attachment.get("IsPrivate"),
            **step.audit("Attachment", attachment),
        }
        rows.append((attachment, values))
    fingerprints = [(a, {**v, "BodyLength": a.get("BodyLength")}) for a, v in rows]
    left = {a["Id"] for a, _ in step.recover("Attachment", fingerprints)}
    for attachment, values in rows:
        if attachment["Id"] not in left:
            continue
        child_copies.announce(step, "Attachment", [(attachment["Id"], attachment["ParentId"])])
        copy = _transfer(step, attachment, "Attachment", "Body", values)
        written = [LinkWrite("Attachment", attachment["Id"], "Attachment", copy, "")] if copy else []
        step.save(written, settled=[attachment["Id"]])


def _transfer(step: FeedSync, source: dict, sobject: str, field: str, values: dict) -> str | None:
    """Stream one body from the source into a new record of the target through a temporary
    file: the Id of the copy, or None when the body is over the limit or the target refused it."""
    size = source.get("ContentSize") if sobject == "ContentVersion" else source.get("BodyLength")
    logged_as = (
        ("ContentDocument", source["ContentDocumentId"])
        if sobject == "ContentVersion"
        else (sobject, source["Id"])
    )
    if _over_limit(step, *logged_as, size or 0):
        return None
    filename = values.get("PathOnClient") or values.get("Name") or source["Id"]
    with tempfile.TemporaryFile() as spool:
        step.ctx.fence()
        sent = step.source.download_blob(sobject, source["Id"], field, spool)
        step.ctx.fence()
        try:
            copy = step.target.upload_blob(sobject, present(values), field, filename, spool)
            step.ctx.checkpoint("feeds.written")
        except PermanentError as exc:
            step.failed(*logged_as, exc.error_code, str(exc))
            return None
    step.report.files += 1
    step.report.bytes += sent
    return copy


def _over_limit(step: FeedSync, sobject: str, source_id: str, size: int) -> bool:
    limit = settings.ORGSYNC_FILE_SIZE_LIMIT_MB
    if size <= limit * MB:
        return False
    step.report.skipped += 1
    step.log(
        sobject,
        source_id,
        "FILE_TOO_LARGE",
        f"Not synced: the file is {size / MB:.1f} MB, over the {limit} MB limit "
        "(ORGSYNC_FILE_SIZE_LIMIT_MB).",
    )
    return True


def present(values: dict) -> dict:
    """The values to write: a field with no value is left out (the org's default)."""
    return {name: value for name, value in values.items() if value is not None}

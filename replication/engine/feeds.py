"""Sync Feeds: the feed posts, comments, files and attachments of linked records follow them.

With the connection's *Sync Feeds and Audit Fields* on, each direction runs this step after its
records are applied (`FeedSync.run`, in a "Feeds and files" SyncRun of its own). The parents it
looks at are the linked records the direction just wrote, and the parents of the feed items,
comments, file versions and attachments changed in the source since the step's cursor
(`ChangeCursor` "FeedItem" of the direction, the org's time of its last look less 5 s). For those
parents, in chunks, one composite call reads
their posts, comments, file links and attachments, another their files' latest versions; then
files (`files.py`), posts, comments and attachments the target lacks are written.

Bulk sync runs the same step for the records it copied (`sync_feeds_of_copies`), with its
cutoff date applied to the children too: posts, attachments and files last modified, and comments
created, on or after the cutoff travel; older ones stay behind (a file post whose file stayed
behind stays behind with it). The step counts the bodies it sent and their bytes (`FeedReport`),
which the run's `SyncRun` (and a bulk sync's progress) shows.

Identity: each pair (origin, copy) is a `RecordLink` under the child's object name. A child with
a link in either role — an origin already sent, or a copy orgsync wrote — is never written again,
so nothing travels twice and no copy comes back. Posts and comments travel once (later edits,
likes, topics are not synced); a file travels again when its latest version changed (`files.py`).
Deletes need nothing here: a deleted parent's delete travels as a record, and the target org
deletes (and an undelete restores) its children itself.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice

from django.db import transaction
from django.utils import timezone

from connections.client import (
    MAX_COMPOSITE_COLLECTIONS,
    MAX_COMPOSITE_QUERIES,
    CollectionWrite,
    SalesforceClient,
)
from connections.client_errors import RecordError, RecordResult
from connections.models import Connection
from replication.engine import child_copies, files
from replication.engine.capture import INITIAL_LOOKBACK, soql_datetime
from replication.engine.context import EngineContext
from replication.engine.links import LinkIndex, LinkWrite, chunks
from replication.engine.plans import AUDIT_FIELDS, AUDIT_USER_FIELDS, opposite
from replication.models import ChangeCursor, Direction, OwnerStrategy, QueueAction, RecordLink
from replication.owners import OwnerResolver, soql_string
from synclog.models import SyncLog, SyncRun
from synclog.services import log_attempt_failed, log_resolved

logger = logging.getLogger(__name__)
CURSOR_OBJECT = "FeedItem"  # ChangeCursor.source_object of this step's cursor
OVERLAP = timedelta(seconds=5)  # late commits: the window starts this much before the last look
ID_CHUNK = 200  # ids per IN list
COLLECTION = 200
CHILD_OBJECTS = ("FeedItem", "FeedComment", "ContentDocument", "ContentDocumentLink", "Attachment")
NOT_PARENTS = (*CHILD_OBJECTS, "User")
# Where a child of each kind hangs (a file's entry is logged under its document), and the
# column of the answer that holds the child's own Id.
PARENT_OF_CHILD = {
    "FeedItem": ("SELECT Id, ParentId FROM FeedItem WHERE Id IN ({})", "Id"),
    "FeedComment": ("SELECT Id, ParentId FROM FeedComment WHERE Id IN ({})", "Id"),
    "Attachment": ("SELECT Id, ParentId FROM Attachment WHERE Id IN ({})", "Id"),
    "ContentDocumentLink": ("SELECT Id, LinkedEntityId FROM ContentDocumentLink WHERE Id IN ({})", "Id"),
    "ContentDocument": (
        "SELECT ContentDocumentId, LinkedEntityId FROM ContentDocumentLink WHERE ContentDocumentId IN ({})",
        "ContentDocumentId",
    ),
}
FEED_ITEM_FIELDS = "Id, ParentId, Type, Title, Body, LinkUrl, IsRichText, RelatedRecordId, Visibility"
COMMENT_FIELDS = "Id, FeedItemId, ParentId, CommentBody, IsRichText, RelatedRecordId"
DOC_LINK_FIELDS = "Id, ContentDocumentId, LinkedEntityId, ShareType, Visibility"
ATTACHMENT_FIELDS = "Id, ParentId, Name, ContentType, Description, IsPrivate, BodyLength"
AUTHORED = ", CreatedById, CreatedDate"
DOCUMENT_PARENTS = "SELECT LinkedEntityId FROM ContentDocumentLink WHERE ContentDocumentId IN ({})"
# A bulk sync's cutoff, per child: Salesforce keeps no LastModifiedDate on FeedComment.
CUTOFF_FIELDS = {
    "FeedItem": "LastModifiedDate",
    "FeedComment": "CreatedDate",
    "Attachment": "LastModifiedDate",
    "ContentVersion": "LastModifiedDate",
}


@dataclass
class FeedReport:
    written: int = 0
    skipped: int = 0  # over the file size limit
    failed: int = 0
    files: int = 0  # file and attachment bodies sent
    bytes: int = 0  # their size


@dataclass
class Chunk:
    """What the source holds under one chunk of linked parents."""

    parents: dict[str, str]  # source parent Id → its copy's Id
    items: list[dict] = field(default_factory=list)
    comments: list[dict] = field(default_factory=list)
    doc_links: list[dict] = field(default_factory=list)
    attachments: list[dict] = field(default_factory=list)
    versions: dict[str, dict] = field(default_factory=dict)  # document Id → its latest version
    related: dict[str, str] = field(default_factory=dict)  # a post's version Id → its document Id


def sync_feeds_of_copies(
    ctx: EngineContext,
    connection: Connection,
    direction: str,
    parents: Iterable[tuple[str, str]],
    *,
    cutoff: datetime | None,
    run: SyncRun | None = None,
    after_chunk: Callable[[FeedReport], None] | None = None,
) -> FeedReport:
    """Bulk sync's step: the feeds and files of `parents` ((source Id, copy Id) pairs, read
    lazily, 200 at a time) changed on or after `cutoff` (None: all of them). `after_chunk` is
    called with the running totals after each chunk; failures are logged in `run`."""
    return FeedSync(ctx, connection, direction, cutoff=cutoff, run=run).sync_parents(
        parents, after_chunk=after_chunk
    )


class FeedSync:
    """One direction's step: reads in the source, writes in the target, links in between."""

    def __init__(
        self,
        ctx: EngineContext,
        connection: Connection,
        direction: str,
        *,
        cutoff: datetime | None = None,
        run: SyncRun | None = None,
    ) -> None:
        forward = direction == Direction.PRIMARY_TO_SECONDARY
        source_org, target_org = (
            (connection.primary_org, connection.secondary_org)
            if forward
            else (connection.secondary_org, connection.primary_org)
        )
        self.ctx, self.connection, self.direction = ctx, connection, direction
        self.cutoff, self.run_row = cutoff, run
        self.source, self.target = ctx.client(source_org), ctx.client(target_org)
        self.links = LinkIndex(connection, direction)
        self.report = FeedReport()
        self.authors: dict[str, str] = {}
        self._resolver = OwnerResolver(
            strategy=OwnerStrategy.MATCH_USERNAME,
            user_ids=[],
            direction=direction,
            connection_owner_id=connection.owner_user_id,
            source=self.source,
            target=self.target,
        )

    def run(self, since: datetime) -> FeedReport:
        self._recover_other_direction()
        cursor, _ = ChangeCursor.objects.get_or_create(
            connection=self.connection, direction=self.direction, source_object=CURSOR_OBJECT
        )
        started = timezone.now()
        start = (cursor.server_time or started - INITIAL_LOOKBACK) - OVERLAP
        touched = self._touched(start)
        looked_at = self.source.last_server_time or cursor.server_time
        touched |= self._retried_parents()
        # Records linked since the last step that finished began, not only by this cycle's
        # apply: a link a killed cycle saved, or one capture made, brings its older children too.
        parents = self._linked_parents(touched, min(since, cursor.updated_at))
        self.sync_parents(sorted(parents.items()))
        # `updated_at`: when the run this cursor records began (this database's clock).
        ChangeCursor.objects.filter(pk=cursor.pk).update(server_time=looked_at, updated_at=started)
        return self.report

    def _recover_other_direction(self) -> None:
        """A worker that died while the other direction copied children into this direction's
        source may have left copies it did not link. That direction's step runs first for
        their parents, so they are linked (or written) before this direction could take one
        for a child of its own and send it back."""
        other = opposite(self.direction)
        parents = child_copies.parents_in_flight(self.connection.pk, other)
        if not parents:
            return
        step = FeedSync(self.ctx, self.connection, other, run=self.run_row)
        step.links.load(parents)
        step.sync_parents([(p, step.links.target_of(p)) for p in sorted(parents) if step.links.target_of(p)])
        child_copies.forget_parents(self.connection.pk, other, parents)
        for name in ("written", "failed", "skipped", "files", "bytes"):
            setattr(self.report, name, getattr(self.report, name) + getattr(step.report, name))

    def sync_parents(
        self,
        parents: Iterable[tuple[str, str]],
        after_chunk: Callable[[FeedReport], None] | None = None,
    ) -> FeedReport:
        """The children of (source Id, copy Id) pairs, a chunk of 200 parents at a time (the
        links of one chunk's children are let go before the next: memory stays flat)."""
        pairs = iter(parents)
        while part := dict(islice(pairs, ID_CHUNK)):
            self.links = LinkIndex(self.connection, self.direction)
            chunk = self._read(Chunk(part))
            files.sync_documents(self, chunk)
            self._sync_items(chunk)
            self._sync_comments(chunk)
            files.sync_attachments(self, chunk)
            if after_chunk is not None:
                after_chunk(self.report)
        return self.report

    def since(self, sobject: str) -> str:
        """The cutoff as a SOQL condition on `sobject` (empty without a cutoff)."""
        if self.cutoff is None:
            return ""
        return f" AND {CUTOFF_FIELDS[sobject]} >= {soql_datetime(self.cutoff)}"

    # --- what to look at -------------------------------------------------------------------
    def _touched(self, start: datetime) -> set[str]:
        """Parents of the source's feed items, comments, attachments and file versions changed
        since `start`: one composite call (plus one per 1,000 changed files for their links)."""
        stamp = soql_datetime(start)
        items, comments, attachments, versions = self.query(
            [
                f"SELECT ParentId FROM FeedItem WHERE SystemModstamp > {stamp}",
                f"SELECT ParentId FROM FeedComment WHERE SystemModstamp > {stamp}",
                f"SELECT ParentId FROM Attachment WHERE SystemModstamp > {stamp}",
                f"SELECT ContentDocumentId FROM ContentVersion WHERE SystemModstamp > {stamp}",
            ]
        )
        docs = {v["ContentDocumentId"] for v in versions}
        links = self.query_in(self.source, DOCUMENT_PARENTS, docs)
        return {r["ParentId"] for r in (*items, *comments, *attachments)} | {
            r["LinkedEntityId"] for r in links
        }

    def _retried_parents(self) -> set[str]:
        """Parents of the children whose Failed entries an operator retried (Retrying entries):
        the step tries those children again. One composite call, only when there are any.
        A retried child no longer in its source has nothing left to copy: its entry is
        resolved here, or it would stay Retrying (and be looked for) on every cycle."""
        retried: dict[str, list[str]] = {}
        entries = SyncLog.objects.filter(
            connection=self.connection,
            direction=self.direction,
            status=SyncLog.Status.RETRYING,
            source_object__in=CHILD_OBJECTS,
        )
        for sobject, source_id in entries.values_list("source_object", "source_id"):
            retried.setdefault(sobject, []).append(source_id)
        asked = [(sobject, ids[:ID_CHUNK]) for sobject, ids in sorted(retried.items())]
        queries = [
            PARENT_OF_CHILD[sobject][0].format(",".join(soql_string(i) for i in ids))
            for sobject, ids in asked
        ]
        found = self.query(queries) if queries else []
        gone = [
            child
            for (sobject, ids), rows in zip(asked, found, strict=True)
            for child in set(ids) - {r[PARENT_OF_CHILD[sobject][1]] for r in rows}
        ]
        log_resolved(connection=self.connection, direction=self.direction, source_ids=gone)
        return {r.get("ParentId") or r.get("LinkedEntityId") for rows in found for r in rows} - {None}

    def _linked_parents(self, touched: set[str], since: datetime) -> dict[str, str]:
        """Source Id → copy Id of the live linked records among `touched` and those this
        direction wrote since `since` (users and feed children are no parents here)."""
        written = RecordLink.objects.filter(
            connection=self.connection, synced_at__gte=since, is_deleted=False
        ).exclude(primary_object__in=NOT_PARENTS)
        self.links.load([*touched, *written.values_list(self.links.source_field, flat=True)])
        return {
            source_id: self.links.target_id(link)
            for source_id, link in self.links.by_source.items()
            if not link.is_deleted and link.primary_object not in NOT_PARENTS
        }

    # --- reading ---------------------------------------------------------------------------
    def _read(self, chunk: Chunk) -> Chunk:
        ids = ",".join(soql_string(i) for i in chunk.parents)
        item, comment, attachment = (self.since(o) for o in ("FeedItem", "FeedComment", "Attachment"))
        chunk.items, chunk.comments, chunk.doc_links, chunk.attachments = self.query(
            [
                f"SELECT {FEED_ITEM_FIELDS}{AUTHORED} FROM FeedItem WHERE ParentId IN ({ids}){item}",
                f"SELECT {COMMENT_FIELDS}{AUTHORED} FROM FeedComment WHERE ParentId IN ({ids}){comment}",
                f"SELECT {DOC_LINK_FIELDS} FROM ContentDocumentLink WHERE LinkedEntityId IN ({ids})",
                f"SELECT {ATTACHMENT_FIELDS}{AUTHORED} FROM Attachment WHERE ParentId IN ({ids}){attachment}",
            ]
        )
        files.read_versions(self, chunk)
        self.links.load(
            [r["Id"] for r in (*chunk.items, *chunk.comments, *chunk.doc_links, *chunk.attachments)]
            + [*chunk.versions, *chunk.related.values()]
        )
        self._load_authors([*chunk.items, *chunk.comments, *chunk.attachments, *chunk.versions.values()])
        return chunk

    def query(self, soqls: list[str], client: SalesforceClient | None = None) -> list[list[dict]]:
        """Every record of each query, five queries per composite call, in input order."""
        client = client or self.source
        found: list[list[dict]] = []
        for group in chunks(soqls, MAX_COMPOSITE_QUERIES):
            self.ctx.fence()
            for soql, answer in zip(group, client.composite_queries(group), strict=True):
                what = soql.split(" FROM ", 1)[1].split(" ", 1)[0]
                found.append(client.answer_records(answer, what=what, before_page=self.ctx.fence))
        return found

    def query_in(self, client: SalesforceClient, template: str, ids: Iterable[str]) -> list[dict]:
        """`template` (with `{}` for an IN list) over `ids`, 200 ids per query."""
        soqls = [
            template.format(",".join(soql_string(i) for i in part))
            for part in chunks(sorted(set(ids)), ID_CHUNK)
        ]
        return [record for records in self.query(soqls, client) for record in records]

    # --- authors and dates -----------------------------------------------------------------
    def _load_authors(self, records: list[dict]) -> None:
        """Target users (the `.dr` username rule) of the creators not seen yet in this step."""
        wanted = {r["CreatedById"] for r in records if r.get("CreatedById")} - set(self.authors)
        if wanted:
            matched = self._resolver.matching_users(wanted)
            self.authors.update({i: matched.get(i, "") for i in wanted})

    def audit(self, sobject: str, record: dict) -> dict[str, object]:
        """Created date and author for the copy, where the target lets us set them (its "Set
        Audit Fields upon Record Creation"); an author with no user there is left to the org."""
        createable = {
            f["name"] for f in self.ctx.describe(self.target.org, sobject)["fields"] if f.get("createable")
        }
        values = {}
        for name in AUDIT_FIELDS:
            value = record.get(name)
            if name in AUDIT_USER_FIELDS:
                value = self.authors.get(value or "")
            if value and name in createable:
                values[name] = value
        return values

    # --- posts and comments ----------------------------------------------------------------
    def _sync_items(self, chunk: Chunk) -> None:
        rows = []
        for item in chunk.items:
            if self.links.get(item["Id"]):
                continue
            related = self._version_copy(chunk, item.get("RelatedRecordId"))
            if item.get("RelatedRecordId") and not related:
                continue  # its file did not go (over the limit, or failed): nor does the post
            values = {
                "ParentId": chunk.parents[item["ParentId"]],
                "Type": item["Type"],
                "Title": item.get("Title"),
                "Body": item.get("Body"),
                "LinkUrl": item.get("LinkUrl"),
                "IsRichText": item.get("IsRichText"),
                "RelatedRecordId": related,
                "Visibility": item.get("Visibility"),
            }
            rows.append((item, {**values, **self.audit("FeedItem", item)}))
        self.create("FeedItem", rows)

    def _sync_comments(self, chunk: Chunk) -> None:
        rows = []
        for comment in chunk.comments:
            item_copy = self.links.target_of(comment["FeedItemId"])
            if self.links.get(comment["Id"]) or not item_copy:
                continue
            related = self._version_copy(chunk, comment.get("RelatedRecordId"))
            if comment.get("RelatedRecordId") and not related:
                continue
            values = {
                "FeedItemId": item_copy,
                "CommentBody": comment.get("CommentBody"),
                "IsRichText": comment.get("IsRichText"),
                "RelatedRecordId": related,
            }
            rows.append((comment, {**values, **self.audit("FeedComment", comment)}))
        self.create("FeedComment", rows)

    def _version_copy(self, chunk: Chunk, version_id: str | None) -> str | None:
        """The copy's latest version of the file a post or comment carries (None: not copied)."""
        link = self.links.get(chunk.related.get(version_id or "", ""))
        if link is None:
            return None
        return self.links.target_hash(link).split(":", 1)[0] or None

    # --- writing ---------------------------------------------------------------------------
    def create(self, sobject: str, rows: list[tuple[dict, dict]]) -> None:
        """Insert the copies (1,000 per composite call) and link each written one to its origin
        (a copy a dead worker wrote and did not link is linked instead: `child_copies.py`)."""
        rows = self.recover(sobject, rows)
        for group in chunks(rows, COLLECTION * MAX_COMPOSITE_COLLECTIONS):
            child_copies.announce(self, sobject, [(s["Id"], child_copies.parent_of(s)) for s, _ in group])
            writes = [
                CollectionWrite(
                    "POST",
                    "composite/sobjects",
                    [{"attributes": {"type": sobject}, **files.present(v)} for _, v in part],
                )
                for part in chunks(group, COLLECTION)
            ]
            self.ctx.fence()
            results = [r for answer in self.target.composite_collections(writes) for r in answer]
            self.ctx.checkpoint("feeds.written")
            self._record(
                sobject, [(source, result) for (source, _), result in zip(group, results, strict=True)]
            )

    def recover(self, sobject: str, rows: list[tuple[dict, dict]]) -> list[tuple[dict, dict]]:
        """The rows still to write: those a dead worker copied already are linked to the copy."""
        pending = child_copies.in_flight(self, [source["Id"] for source, _ in rows])
        if not pending:
            return rows
        wanted = {s["Id"]: v for s, v in rows if s["Id"] in pending}
        found = child_copies.find_copies(self, sobject, wanted)
        self.save(
            [LinkWrite(sobject, i, sobject, copy["Id"], "") for i, copy in found.items()], settled=pending
        )
        return [(source, values) for source, values in rows if source["Id"] not in found]

    def _record(self, sobject: str, outcomes: list[tuple[dict, RecordResult]]) -> None:
        """Link what was written; log what failed. A child refused with ENTITY_IS_DELETED hangs
        on something deleted in the target since it was read (its record, mostly, deleted in
        the other org of a two-way connection): that delete travels back and takes the child
        along, and a copy made again later (an undelete) brings it then. It stays unlinked and
        no Failed entry claims it."""
        written = [LinkWrite(sobject, s["Id"], sobject, r.id, "") for s, r in outcomes if r.success]
        self.save(written, settled=[source["Id"] for source, _ in outcomes])
        for source, result in outcomes:
            if not result.success:
                error = result.errors[0] if result.errors else RecordError("", "")
                if error.status_code != "ENTITY_IS_DELETED":
                    self.failed(sobject, source["Id"], error.status_code, error.message)

    def save(self, writes: list[LinkWrite], settled: Iterable[str] = ()) -> None:
        """Link the copies written and resolve their open log entries (a failure before, or an
        operator's retry); the children `settled` (written or refused) are no longer in flight;
        all in one transaction — fenced, so a step that stalled past its lease
        (another worker may have linked the same copies meanwhile) records nothing."""
        with transaction.atomic():
            self.ctx.fence()
            saved = self.links.save_links(writes)
            child_copies.settle(self, [*settled, *(w.source_id for w in writes)])
            written = [w.source_id for w in writes]
            log_resolved(connection=self.connection, direction=self.direction, source_ids=written)
        self.links.remember(saved)
        self.report.written += len(writes)

    def failed(self, sobject: str, source_id: str, code: str, message: str) -> None:
        """A child that could not be written: a Failed sync log entry."""
        self.report.failed += 1
        self.log(sobject, source_id, code, message)

    def log(self, sobject: str, source_id: str, code: str, message: str) -> None:
        """A Failed sync log entry for a child (its open one is updated, never a second one)."""
        log_attempt_failed(
            connection=self.connection,
            direction=self.direction,
            source_object=sobject,
            source_id=source_id,
            action=QueueAction.GENERIC_INSERT,
            code=code or "ORGSYNC_ERROR",
            message=message,
            attempt=1,
            final=True,
            run=self.run_row,
        )

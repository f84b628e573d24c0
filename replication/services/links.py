"""Rebuilding a connection's `RecordLink`s from the orgs (`manage.py rebuild_links`).

Identity lives in the orgs: every record orgsync writes into a target carries its origin's Id in
`OrgSync_Source_Id__c`, so (origin, copy) pairs can be read back from the two orgs. This reads
every copy of every subscribed object, each direction, checks that its origin still exists in
the source org, and links the pair through `replication.engine.identity.link_pair` — the one
place that writes a pair from what the orgs say. It never writes to an org, and it never deletes
a record: copies whose origin is gone (orphans) and second copies of one origin (duplicates) are
only reported, by Id. Values are never read beyond Ids and CreatedDate, nor logged.

A rebuild that writes holds the connection's lease (`replication.engine.lease`) for its whole
run, as a sync cycle or a bulk sync does: no cycle reads or moves a link while it is rebuilt.
"""

import logging
import os
import re
import socket
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field

from connections.client import MAX_COMPOSITE_QUERIES, SalesforceClient
from connections.models import Connection, Org
from replication.engine.identity import Pair, PairOutcome, link_pair
from replication.engine.lease import ConnectionLease, acquire_waiting
from replication.engine.plans import publications
from replication.models import EXTERNAL_ID_FIELD, Direction, PublishedObject, RecordLink
from replication.owners import soql_string

logger = logging.getLogger(__name__)

ID_CHUNK = 300  # Ids per `Id IN (...)` query: keeps the GET under Salesforce's 16 KB URI limit
LEASE_WAIT_SECONDS = 60  # how long a rebuild waits for a running cycle (or bulk sync) to let go
RENEW_EVERY = 500  # links written between two renewals of the lease


class ConnectionBusy(Exception):
    """Another writer (a sync cycle, a bulk sync) held the connection's lease for too long."""


_SALESFORCE_ID = re.compile(r"^[A-Za-z0-9]{15}([A-Za-z0-9]{3})?$")


@dataclass(frozen=True)
class Orphan:
    """A copy in the target whose origin no longer exists in the source org."""

    copy_id: str
    origin_id: str


@dataclass(frozen=True)
class Duplicate:
    """A second (or later) copy of one origin; `kept_id` is the oldest copy, which is linked."""

    copy_id: str
    origin_id: str
    kept_id: str


@dataclass
class ObjectReport:
    """What the rebuild found and did for one subscribed object in one direction."""

    direction: str
    source_object: str
    target_object: str
    copies: int = 0  # target records carrying an origin Id
    created: int = 0  # links that did not exist
    kept: int = 0  # links that were already right
    repaired: int = 0  # links of one of the two records that pointed elsewhere, moved
    stale_removed: int = 0  # links of this object pair whose two records no longer exist
    orphans: list[Orphan] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)
    raced: int = 0  # pairs another process linked otherwise while this ran: run again
    skipped: str = ""  # why the object was not read (e.g. the target lacks the field)


@dataclass
class RebuildReport:
    connection: Connection
    dry_run: bool
    objects: list[ObjectReport] = field(default_factory=list)

    @property
    def orphans(self) -> list[Orphan]:
        return [o for report in self.objects for o in report.orphans]

    @property
    def duplicates(self) -> list[Duplicate]:
        return [d for report in self.objects for d in report.duplicates]

    @property
    def has_problems(self) -> bool:
        """Orphan or duplicate copies were found (the command exits 1)."""
        return any(report.orphans or report.duplicates for report in self.objects)


@dataclass
class _Link:
    """A link as the rebuild sees it (the database's, or one a dry run would write)."""

    pk: int | None
    primary_object: str
    primary_id: str
    secondary_object: str
    secondary_id: str
    confirmed: bool = False  # a copy in the orgs confirmed it during this rebuild


def links_rebuild(
    *,
    connection: Connection,
    dry_run: bool = False,
    progress: Callable[[ObjectReport], None] | None = None,
) -> RebuildReport:
    """Rebuild the `RecordLink`s of `connection` from what the two orgs say.

    For every published and subscribed object, each direction: read the target records whose
    `OrgSync_Source_Id__c` is set (an object whose target lacks the field is skipped), check that
    each origin still exists in the source org, and link origin and copy with
    `link_pair(replace=True)`. An origin with several copies keeps the oldest (CreatedDate, then
    Id); the others are reported as duplicates. Copies whose origin is gone (deleted, or never in
    the source) are reported as orphans and stay in the org; an existing link of theirs is left
    alone (the engine still has a deletion to send through it). Then links of the same object
    pairs that no copy confirmed, and whose two records exist in neither org any more — not even
    in the recycle bin, since a link of deleted records is what replays an undelete — are removed.

    Unless `dry_run`, the connection's lease is held throughout (waiting up to
    `LEASE_WAIT_SECONDS` for a running cycle; then `ConnectionBusy`). With `dry_run` nothing is
    written and no lease is taken: the counts say what would happen. `progress` is called with
    each object's report when that object is done. Raises `SalesforceApiError` when an org cannot
    be read, `LeaseLost` when another writer took the lease over (whatever was linked before
    stays linked: running it again is safe).
    """
    if dry_run:
        return _run(connection, None, progress)
    lease = _acquire(connection)
    try:
        return _run(connection, lease, progress)
    finally:
        lease.release()


def _acquire(connection: Connection) -> ConnectionLease:
    worker = f"rebuild_links@{socket.gethostname()}:{os.getpid()}"
    lease = acquire_waiting(connection, worker, wait=LEASE_WAIT_SECONDS)
    if lease is None:
        raise ConnectionBusy(
            f"“{connection}” is being written by a sync cycle or a bulk sync: try again when it ends."
        )
    return lease


def _run(
    connection: Connection,
    lease: ConnectionLease | None,
    progress: Callable[[ObjectReport], None] | None,
) -> RebuildReport:
    dry_run = lease is None
    rebuild = _Rebuild(connection, lease)
    report = RebuildReport(connection=connection, dry_run=dry_run)
    checks: dict[tuple[str, str], ObjectReport] = {}  # object pair → the row its stale links count in
    for direction in (Direction.PRIMARY_TO_SECONDARY, Direction.SECONDARY_TO_PRIMARY):
        for publication in publications(connection, direction):
            row = rebuild.relink(publication)
            report.objects.append(row)
            if not row.skipped:
                checks.setdefault(_object_pair(publication), row)
            if progress is not None:
                progress(row)
    for (primary_object, secondary_object), row in checks.items():
        row.stale_removed = rebuild.remove_stale(primary_object, secondary_object)
    logger.info(
        "rebuild_links %s%s: %s",
        connection.pk,
        " (dry run)" if dry_run else "",
        "; ".join(
            f"{r.target_object} {r.direction}: {r.copies} copies, {r.created} created, {r.kept} kept, "
            f"{r.repaired} repaired, {len(r.orphans)} orphans, {len(r.duplicates)} duplicates, "
            f"{r.stale_removed} stale removed"
            for r in report.objects
        )
        or "nothing subscribed",
    )
    return report


class _Rebuild:
    """One rebuild: the connection's links in memory, kept up to date as pairs are linked (or as
    a dry run would link them)."""

    def __init__(self, connection: Connection, lease: ConnectionLease | None) -> None:
        self.connection = connection
        self.lease = lease
        self.dry_run = lease is None
        self.written = 0
        self.clients: dict[int, SalesforceClient] = {}
        self.by_primary: dict[str, _Link] = {}
        self.by_secondary: dict[str, _Link] = {}
        fields = ("pk", "primary_object", "primary_id", "secondary_object", "secondary_id")
        for values in RecordLink.objects.filter(connection=connection).values_list(*fields).iterator():
            self._remember(_Link(*values))

    # --- linking ----------------------------------------------------------------------------
    def relink(self, publication: PublishedObject) -> ObjectReport:
        target_object = publication.subscription.target_object
        row = ObjectReport(publication.direction, publication.source_object, target_object)
        self._renew()
        target = self._client(publication.target_org)
        if EXTERNAL_ID_FIELD not in {f["name"] for f in target.describe(target_object)["fields"]}:
            row.skipped = f"{target_object} in {publication.target_org} has no {EXTERNAL_ID_FIELD}"
            return row
        copies: dict[str, list[dict]] = {}
        soql = (
            f"SELECT Id, {EXTERNAL_ID_FIELD}, CreatedDate FROM {target_object} "
            f"WHERE {EXTERNAL_ID_FIELD} != null"
        )
        page = target.query_page(soql)
        while True:
            for record in page.records:
                copies.setdefault(record[EXTERNAL_ID_FIELD], []).append(record)
                row.copies += 1
            if page.done or not page.next_records_url:
                break
            self._renew()
            page = target.query_more(page.next_records_url)
        alive = self._existing(
            publication.source_org,
            publication.source_object,
            [origin for origin in copies if _SALESFORCE_ID.match(origin)],
        )
        for origin in sorted(copies):
            found = sorted(copies[origin], key=lambda r: (r.get("CreatedDate") or "", r["Id"][:15]))
            origin_id = alive.get(origin[:15])
            if origin_id is None:
                row.orphans.extend(Orphan(r["Id"], origin) for r in found)
                continue
            kept, *others = found
            row.duplicates.extend(Duplicate(r["Id"], origin_id, kept["Id"]) for r in others)
            self._link(row, _pair(publication, target_object, origin_id, kept["Id"]))
        return row

    def _link(self, row: ObjectReport, pair: Pair) -> None:
        by_primary = self.by_primary.get(pair.primary_id)
        by_secondary = self.by_secondary.get(pair.secondary_id)
        if by_primary is not None and by_primary is by_secondary:
            row.kept += 1
            by_primary.confirmed = True
            return
        if self.dry_run:
            outcome, link = (
                PairOutcome.REPAIRED if by_primary or by_secondary else PairOutcome.CREATED,
                _Link(None, pair.primary_object, pair.primary_id, pair.secondary_object, pair.secondary_id),
            )
        else:
            if self.written % RENEW_EVERY == 0:
                self._renew()  # stop before writing if another writer took the connection over
            self.written += 1
            outcome, record = link_pair(self.connection, pair, replace=True)
            link = _Link(
                record.pk if record else None,
                record.primary_object if record else pair.primary_object,
                record.primary_id if record else pair.primary_id,
                record.secondary_object if record else pair.secondary_object,
                record.secondary_id if record else pair.secondary_id,
            )
        if outcome == PairOutcome.DUPLICATE:  # another process linked one of them otherwise meanwhile
            row.raced += 1
            logger.warning(
                "rebuild_links %s: %s %s ⇄ %s was linked otherwise meanwhile; run the rebuild again",
                self.connection.pk,
                pair.primary_object,
                pair.primary_id,
                pair.secondary_id,
            )
            return
        for old in (by_primary, by_secondary):
            if old is not None:
                self._forget(old)
        link.confirmed = True
        self._remember(link)
        if outcome == PairOutcome.KEPT:
            row.kept += 1
        elif outcome == PairOutcome.REPAIRED:
            row.repaired += 1
        else:
            row.created += 1

    # --- stale links --------------------------------------------------------------------------
    def remove_stale(self, primary_object: str, secondary_object: str) -> int:
        """Remove (or, in a dry run, count) the links of this object pair that no copy confirmed
        and whose two records exist in neither org, not even in the recycle bin."""
        candidates = [
            link
            for link in self.by_primary.values()
            if not link.confirmed
            and link.primary_object == primary_object
            and link.secondary_object == secondary_object
        ]
        if not candidates:
            return 0
        connection = self.connection
        in_primary = self._existing(
            connection.primary_org,
            primary_object,
            [link.primary_id for link in candidates],
            include_deleted=True,
        )
        in_secondary = self._existing(
            connection.secondary_org,
            secondary_object,
            [link.secondary_id for link in candidates],
            include_deleted=True,
        )
        stale = [
            link
            for link in candidates
            if link.primary_id[:15] not in in_primary and link.secondary_id[:15] not in in_secondary
        ]
        removed = 0
        self._renew()
        for link in stale:
            if not self.dry_run:  # only if no one moved the link meanwhile
                deleted, _ = RecordLink.objects.filter(
                    pk=link.pk, primary_id=link.primary_id, secondary_id=link.secondary_id
                ).delete()
                if not deleted:
                    continue
            self._forget(link)
            removed += 1
        return removed

    # --- reading the orgs ---------------------------------------------------------------------
    def _existing(
        self, org: Org, sobject: str, record_ids: Iterable[str], *, include_deleted: bool = False
    ) -> dict[str, str]:
        """The records of `record_ids` that exist in `org` (with `include_deleted`, the recycle bin
        counts), by their 15-character Id → 18-character Id. Malformed Ids exist nowhere."""
        wanted = sorted({i for i in record_ids if _SALESFORCE_ID.match(i)})
        soqls = [
            f"SELECT Id FROM {sobject} WHERE Id IN ({', '.join(soql_string(i) for i in chunk)})"
            for chunk in _chunks(wanted, ID_CHUNK)
        ]
        client = self._client(org)
        found: dict[str, str] = {}
        for group in _chunks(soqls, MAX_COMPOSITE_QUERIES):
            self._renew()
            for answer in client.composite_queries(group, include_deleted=include_deleted):
                records = client.answer_records(answer, what=f"{org}: reading {sobject} by Id")
                found.update({r["Id"][:15]: r["Id"] for r in records})
        return found

    def _renew(self) -> None:
        """Heartbeat and fencing check: raises `LeaseLost` if another writer holds it now."""
        if self.lease is not None:
            self.lease.renew()

    def _client(self, org: Org) -> SalesforceClient:
        if org.pk not in self.clients:
            self.clients[org.pk] = SalesforceClient(org)
        return self.clients[org.pk]

    # --- the links in memory ----------------------------------------------------------------
    def _remember(self, link: _Link) -> None:
        self.by_primary[link.primary_id] = link
        self.by_secondary[link.secondary_id] = link

    def _forget(self, link: _Link) -> None:
        if self.by_primary.get(link.primary_id) is link:
            del self.by_primary[link.primary_id]
        if self.by_secondary.get(link.secondary_id) is link:
            del self.by_secondary[link.secondary_id]


def _pair(publication: PublishedObject, target_object: str, origin_id: str, copy_id: str) -> Pair:
    """(origin, copy) in primary/secondary terms: the origin is primary for p2s, secondary for s2p."""
    if publication.direction == Direction.PRIMARY_TO_SECONDARY:
        return Pair(publication.source_object, origin_id, target_object, copy_id)
    return Pair(target_object, copy_id, publication.source_object, origin_id)


def _object_pair(publication: PublishedObject) -> tuple[str, str]:
    """(primary_object, secondary_object) of the links of a publication."""
    pair = _pair(publication, publication.subscription.target_object, "", "")
    return pair.primary_object, pair.secondary_object


def _chunks(items: list, size: int) -> Iterator[list]:
    for start in range(0, len(items), size):
        yield items[start : start + size]

"""Capture: read what changed in the source org since the cursor and queue it.

One composite call carries up to five objects' queries (`queryAll`, so deletions come along with
IsDeleted); further pages cost one call each, each page queued before the next is read. Up to
FRESH_LIMIT records stay in memory for this cycle's apply (it reads the others by Id); only the
queue items (ids and actions) are stored.

A mass change is taken in slices: once a cycle has queued CAPTURE_BUDGET records of an object
and the last page read lies past the cursor's position, the cycle stops reading that object's
pages. The cursor is then at that page's last record and at the query's time `S`, so the next
window starts at `min(that record, S - OVERLAP)`: nothing unread is skipped, and apply finds
every record of the slice in memory instead of reading it again by Id. A re-read of the overlap
(records at or before the old position) is never cut short: the position would not move, and the
next window would start after what was left unread.

The window. The cursor keeps the position `(SystemModstamp, Id)` of the last record captured and
the org's time `S` of the last query (the composite answer's `Date`, see
`SalesforceClient.last_server_time`). A record can commit after our query with a SystemModstamp
before it (a late commit), so the next query starts at `min(position, S - OVERLAP)`:

- `S - OVERLAP` is earlier: `SystemModstamp > S - OVERLAP`, the last seconds before the query
  again (right after a burst, once);
- the position is earlier (the last query ran more than OVERLAP after the newest record):
  `SystemModstamp > t OR (SystemModstamp = t AND Id > id)`, so an idle cycle reads nothing again
  and costs one call.

The bound is never later than the position, so a wrong or missing server time can only make the
window wider (no `Date`, or a cursor from before this: `modstamp - OVERLAP`, as before).
"""

from datetime import UTC, datetime, timedelta

from django.db.models import Q
from django.utils.dateparse import parse_datetime

from connections.client_errors import error_from_body
from replication.engine import queue
from replication.engine.context import EngineContext
from replication.engine.links import LinkIndex
from replication.engine.payloads import source_digest
from replication.engine.plans import ObjectPlan
from replication.engine.runs import RunCounter
from replication.engine.sets import update_rows
from replication.filters import matches
from replication.models import ChangeCursor, QueueAction, RecordLink, RejectedRecord

OVERLAP = timedelta(seconds=5)
INITIAL_LOOKBACK = timedelta(minutes=5)
QUERIES_PER_COMPOSITE = 5
# Records of one object a cycle captures once past the cursor's position (whole pages): the rest
# of a mass change waits for the next cycle, so apply finds all of them in `fresh`.
CAPTURE_BUDGET = 20_000
FRESH_LIMIT = 25_000  # records kept for this cycle's apply; apply reads the rest again by Id


def soql_datetime(moment: datetime) -> str:
    """A SOQL dateTime literal, rounded down to the second."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def soql_datetime_exact(moment: datetime) -> str:
    """A SOQL dateTime literal of a SystemModstamp as the org returned it: milliseconds only when
    there are any (Salesforce's stamps are whole seconds; sfemu's carry milliseconds)."""
    moment = moment.astimezone(UTC)
    if moment.microsecond // 1000 == 0:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def window(cursor: ChangeCursor) -> str:
    """The WHERE condition of the next capture query (module docstring)."""
    position = cursor.modstamp
    last_query = cursor.server_time if cursor.server_time is not None else position
    if last_query - OVERLAP < position:
        return f"SystemModstamp > {soql_datetime(last_query - OVERLAP)}"
    stamp = soql_datetime_exact(position)
    if not cursor.position_id.isalnum():  # none yet (or not an Id: never put into SOQL)
        return f"SystemModstamp >= {stamp}"
    # Equivalent to `> t OR (= t AND Id > id)`, with the range on top so it stays an index range.
    return f"SystemModstamp >= {stamp} AND (SystemModstamp > {stamp} OR Id > '{cursor.position_id}')"


def _modstamp(record: dict) -> datetime:
    return parse_datetime(record["SystemModstamp"].replace("+0000", "+00:00"))


def _beyond(record: dict, cursor: ChangeCursor) -> bool:
    """Whether `record` (a page's last, in window order) lies past the position `cursor` had when
    the query was made: it is then the position from which the next query reads on."""
    return (_modstamp(record), record["Id"]) > (cursor.modstamp, cursor.position_id)


class Capturer:
    def __init__(
        self, ctx: EngineContext, connection, direction: str, plans: list[ObjectPlan], counter: RunCounter
    ):
        self.ctx, self.connection, self.direction = ctx, connection, direction
        self.plans, self.counter = plans, counter
        self.fresh: dict[str, dict] = {}
        # Linked records whose change is not our own echo (two-way only): conflict candidates.
        self.changed_here: set[str] = set()

    def run(self) -> dict[str, dict]:
        """Queue every change; return this cycle's records by source id."""
        for start in range(0, len(self.plans), QUERIES_PER_COMPOSITE):
            self._capture_group(self.plans[start : start + QUERIES_PER_COMPOSITE])
        return self.fresh

    def _capture_group(self, plans: list[ObjectPlan]) -> None:
        org = plans[0].publication.source_org
        client = self.ctx.client(org)
        cursors = [self._cursor(plan) for plan in plans]
        soqls = [self._soql(plan, cursor) for plan, cursor in zip(plans, cursors, strict=True)]
        self.ctx.fence()
        answers = client.composite_queries(soqls, include_deleted=True)
        server_time = client.last_server_time
        for plan, cursor, answer in zip(plans, cursors, answers, strict=True):
            what = f"capture of {plan.source_object}"
            # Page by page: each page is queued and the cursor moved past it before the next is
            # read, so a mass change never sits in memory whole and a crash re-reads one page.
            taken = 0
            for records in client.answer_pages(answer, what=what, before_page=self.ctx.fence):
                self.ctx.checkpoint("capture.read")
                self._process(plan, cursor, records)
                self._advance(cursor, records, None)
                self.ctx.checkpoint("capture.queued")
                taken += len(records)
                if taken >= CAPTURE_BUDGET and _beyond(records[-1], cursor):
                    break  # the rest of the window is the next cycle's (module docstring)
            self._advance(cursor, [], server_time)

    def _cursor(self, plan: ObjectPlan) -> ChangeCursor:
        cursor, _ = ChangeCursor.objects.get_or_create(
            connection=self.connection,
            direction=self.direction,
            source_object=plan.source_object,
            defaults={"modstamp": plan.publication.subscription.created_at - INITIAL_LOOKBACK},
        )
        return cursor

    @staticmethod
    def _soql(plan: ObjectPlan, cursor: ChangeCursor) -> str:
        fields = ", ".join(plan.capture_fields())
        where = f"WHERE {window(cursor)} ORDER BY SystemModstamp, Id"
        return f"SELECT {fields} FROM {plan.source_object} {where}"

    @staticmethod
    def _advance(cursor: ChangeCursor, records: list[dict], server_time: datetime | None) -> None:
        """Move the cursor once the query's records are queued (a crash before re-reads them):
        to the last record's position and the query's server time, each forward only."""
        if records:
            last = max(records, key=lambda r: (_modstamp(r), r["Id"]))
            stamp, record_id = _modstamp(last), last["Id"]
            ahead = Q(modstamp__lt=stamp) | Q(modstamp=stamp, position_id__lt=record_id)
            ChangeCursor.objects.filter(ahead, pk=cursor.pk).update(modstamp=stamp, position_id=record_id)
        if server_time is not None:
            later = Q(server_time__isnull=True) | Q(server_time__lt=server_time)
            ChangeCursor.objects.filter(later, pk=cursor.pk).update(server_time=server_time)

    def _process(self, plan: ObjectPlan, cursor: ChangeCursor, records: list[dict]) -> None:
        links = LinkIndex(self.connection, self.direction).load(r["Id"] for r in records)
        rejected = set(
            RejectedRecord.objects.filter(
                connection=self.connection,
                direction=self.direction,
                source_id__in_ids=[r["Id"] for r in records],
            ).values_list("source_id", flat=True)
        )
        changes: dict[str, str] = {}
        for record in records:
            if record["Id"] in rejected:
                continue
            action = self._action(plan, record, links.get(record["Id"]))
            if action:
                changes[record["Id"]] = action
                if len(self.fresh) < FRESH_LIMIT:
                    record.pop("attributes", None)  # its type and URL: a fifth of a record's memory
                    self.fresh[record["Id"]] = record
        self._remember_source_state(plan, records, links)
        queue.enqueue(self.connection, self.direction, plan.source_object, changes)
        self.counter.processed += len(records)

    def _action(self, plan: ObjectPlan, record: dict, link: RecordLink | None) -> str | None:
        publication = plan.publication
        if record.get("IsDeleted"):
            if not publication.sync_deleted or (link and link.is_deleted):
                return None
            # Unlinked too: a copy may exist whose link was never saved (apply looks it up by
            # OrgSync_Source_Id__c), and a delete must never leave it behind.
            return QueueAction.REPLICATION_DELETE
        if plan.conditions and not matches(
            plan.conditions, record, self.ctx.describe(publication.source_org, plan.source_object)
        ):
            self.counter.filtered_out += 1
            return None
        if link is None:
            return QueueAction.GENERIC_INSERT if publication.sync_created else None
        if link.is_deleted:
            return QueueAction.REPLICATION_UNDELETE if publication.sync_deleted else None
        return QueueAction.GENERIC_UPDATE if publication.sync_updated else None

    def _remember_source_state(self, plan: ObjectPlan, records: list[dict], links: LinkIndex) -> None:
        """Two-way: what this side now holds in the fields the other direction writes here, so
        that direction recognises the echo of this change and does not send it back."""
        if not plan.reverse_fields:
            return
        field_name = links.source_hash_field()
        moved: list[RecordLink] = []
        for record in records:
            link = links.get(record["Id"])
            if link is None or record.get("IsDeleted"):
                continue
            digest = source_digest(plan, record)
            if getattr(link, field_name) != digest:
                if getattr(link, field_name):
                    self.changed_here.add(record["Id"])
                setattr(link, field_name, digest)
                moved.append(link)
        update_rows(RecordLink, moved, [field_name])


def raise_capture_error(plan: ObjectPlan, answer: dict) -> None:
    raise error_from_body(
        answer["httpStatusCode"],
        answer.get("body"),
        fallback="query failed",
        prefix=f"capture of {plan.source_object}: ",
    )

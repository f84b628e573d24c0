"""Capture: read what changed in the source org since the cursor and queue it.

One composite call carries up to five objects' queries (`queryAll`, so deletions come along with
IsDeleted); further pages cost one call each. The records stay in memory for this cycle's apply;
only the queue items (ids and actions) are stored.
"""

from datetime import UTC, datetime, timedelta

from django.utils.dateparse import parse_datetime

from connections.client_errors import error_from_body
from replication.engine import queue
from replication.engine.context import EngineContext
from replication.engine.links import LinkIndex
from replication.engine.payloads import source_digest
from replication.engine.plans import ObjectPlan
from replication.engine.runs import RunCounter
from replication.filters import matches
from replication.models import ChangeCursor, QueueAction, RecordLink, RejectedRecord

OVERLAP = timedelta(seconds=5)
INITIAL_LOOKBACK = timedelta(minutes=5)
QUERIES_PER_COMPOSITE = 5


def soql_datetime(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


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
        for plan, cursor, answer in zip(plans, cursors, answers, strict=True):
            what = f"capture of {plan.source_object}"
            records = client.answer_records(answer, what=what, before_page=self.ctx.fence)
            self.ctx.checkpoint("capture.read")
            self._process(plan, cursor, records)
            self.ctx.checkpoint("capture.queued")

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
        since = soql_datetime(cursor.modstamp - OVERLAP)
        fields = ", ".join(plan.capture_fields())
        where = f"WHERE SystemModstamp > {since} ORDER BY SystemModstamp, Id"
        return f"SELECT {fields} FROM {plan.source_object} {where}"

    def _process(self, plan: ObjectPlan, cursor: ChangeCursor, records: list[dict]) -> None:
        links = LinkIndex(self.connection, self.direction).load(r["Id"] for r in records)
        rejected = set(
            RejectedRecord.objects.filter(
                connection=self.connection, direction=self.direction, source_id__in=[r["Id"] for r in records]
            ).values_list("source_id", flat=True)
        )
        changes: dict[str, str] = {}
        for record in records:
            if record["Id"] in rejected:
                continue
            action = self._action(plan, record, links.get(record["Id"]))
            if action:
                changes[record["Id"]] = action
                self.fresh[record["Id"]] = record
        self._remember_source_state(plan, records, links)
        queue.enqueue(self.connection, self.direction, plan.source_object, changes)
        self.counter.processed += len(records)
        if records:
            newest = max(parse_datetime(r["SystemModstamp"].replace("+0000", "+00:00")) for r in records)
            if newest > cursor.modstamp:  # forward only, even if another capture moved it meanwhile
                ChangeCursor.objects.filter(pk=cursor.pk, modstamp__lt=newest).update(modstamp=newest)

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
        for record in records:
            link = links.get(record["Id"])
            if link is None or record.get("IsDeleted"):
                continue
            digest = source_digest(plan, record)
            if getattr(link, field_name) and getattr(link, field_name) != digest:
                self.changed_here.add(record["Id"])
            if getattr(link, field_name) != digest:
                RecordLink.objects.filter(pk=link.pk).update(**{field_name: digest})


def raise_capture_error(plan: ObjectPlan, answer: dict) -> None:
    raise error_from_body(
        answer["httpStatusCode"],
        answer.get("body"),
        fallback="query failed",
        prefix=f"capture of {plan.source_object}: ",
    )

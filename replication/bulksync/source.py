"""Reading the records of one object in scope, page by page, never all at once.

Bulk API 2.0 pages are streamed off the wire (CSV rows typed by the describe, so they hash like
the REST answers the engine reads); a page's locator is the checkpoint. REST pages (objects at
or under the threshold) are at most a few thousand records and are read again on resume.
"""

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from connections.client import MAX_COMPOSITE_QUERIES
from replication.bulksync.scope import Scope
from replication.engine.bulk_jobs import wait_for_job
from replication.engine.capture import raise_capture_error, soql_datetime
from replication.engine.context import EngineContext
from replication.engine.plans import ObjectPlan
from replication.filters import compile_where

NUMBER_TYPES = {"double", "currency", "percent"}
QUERY_RECORDS_PER_SECOND_GUESS = 40_000  # first poll of a query job: about when it should be done


@dataclass
class Page:
    rows: Iterator[dict]
    next_locator: str | None  # where the next page starts (Bulk); None after the last page


def object_soql(plan: ObjectPlan, scope: Scope, describe: dict, *, select: str | None = None) -> str:
    """The records of `plan` in scope: the cutoff date or the newest `limit`, within its filter."""
    fields = select or ", ".join(f for f in plan.capture_fields() if f != "IsDeleted")
    where = [f"LastModifiedDate >= {soql_datetime(scope.since)}"] if scope.since else []
    if plan.conditions:
        where.append(f"({compile_where(plan.conditions, describe)})")
    soql = f"SELECT {fields} FROM {plan.source_object}"
    if where:
        soql += " WHERE " + " AND ".join(where)
    if scope.limit and select is None:
        soql += f" ORDER BY LastModifiedDate DESC, Id DESC LIMIT {scope.limit}"
    return soql


def count_in_scope(ctx: EngineContext, plans: list[ObjectPlan], scope: Scope) -> dict[str, int]:
    """Records in scope per source object: one composite call for up to five objects."""
    counts: dict[str, int] = {}
    for start in range(0, len(plans), MAX_COMPOSITE_QUERIES):
        group = plans[start : start + MAX_COMPOSITE_QUERIES]
        org = group[0].publication.source_org
        soqls = [
            object_soql(plan, scope, ctx.describe(org, plan.source_object), select="COUNT()")
            for plan in group
        ]
        for plan, answer in zip(group, ctx.client(org).composite_queries(soqls), strict=True):
            if answer["httpStatusCode"] >= 400:
                raise_capture_error(plan, answer)
            total = answer["body"]["totalSize"]
            counts[plan.source_object] = min(total, scope.limit) if scope.limit else total
    return counts


def typed_row(converters: dict[str, Callable[[str], object]]) -> Callable[[dict[str, str]], dict]:
    """A Bulk CSV row as the REST API would answer it: '' is null, booleans and numbers typed."""

    def convert(row: dict[str, str]) -> dict:
        return {
            name: (None if value == "" else converters.get(name, str)(value)) for name, value in row.items()
        }

    return convert


def converters_for(describe: dict) -> dict[str, Callable[[str], object]]:
    table: dict[str, Callable[[str], object]] = {}
    for f in describe["fields"]:
        if f["type"] == "boolean":
            table[f["name"]] = lambda v: v.lower() == "true"
        elif f["type"] == "int":
            table[f["name"]] = lambda v: int(float(v))
        elif f["type"] in NUMBER_TYPES:
            table[f["name"]] = float
    return table


class RestSource:
    """Query and queryMore pages (2,000 records each)."""

    def __init__(self, ctx: EngineContext, plan: ObjectPlan, scope: Scope) -> None:
        self.ctx, self.plan, self.scope = ctx, plan, scope

    def pages(self, locator: str = "") -> Iterator[Page]:
        org = self.plan.publication.source_org
        client = self.ctx.client(org)
        page = client.query_page(
            object_soql(self.plan, self.scope, self.ctx.describe(org, self.plan.source_object))
        )
        while True:
            yield Page(iter(page.records), None)
            if not page.next_records_url:
                return
            page = client.query_more(page.next_records_url)


class BulkSource:
    """One Bulk API 2.0 query job; its result pages streamed from the checkpointed locator."""

    def __init__(
        self, ctx: EngineContext, plan: ObjectPlan, scope: Scope, *, page_records: int, sleep=None
    ) -> None:
        self.ctx, self.plan, self.scope = ctx, plan, scope
        self.page_records = page_records
        self.sleep = sleep or time.sleep
        org = plan.publication.source_org
        self.client = ctx.client(org)
        self.describe = ctx.describe(org, plan.source_object)

    def start_job(self) -> str:
        job = self.client.bulk_query_create(object_soql(self.plan, self.scope, self.describe))
        return job["id"]

    def wait(self, job_id: str, expected: int) -> dict:
        first = max(0.3, expected / QUERY_RECORDS_PER_SECOND_GUESS)
        return wait_for_job(
            self.client, job_id, query=True, sleep=self.sleep, first_wait=first, expected=expected
        )

    def pages(self, job_id: str, locator: str = "") -> Iterator[Page]:
        current: str | None = locator or None
        while True:
            with self._page(job_id, current) as page:
                yield page
            if page.next_locator is None:
                return
            current = page.next_locator

    @contextmanager
    def _page(self, job_id: str, locator: str | None) -> Iterator[Page]:
        convert = typed_row(converters_for(self.describe))
        with self.client.bulk_query_stream(job_id, locator=locator, max_records=self.page_records) as stream:
            yield Page((convert(row) for row in stream.rows), stream.locator)

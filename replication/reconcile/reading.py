"""Streaming an object's live records from an org, the cheap way for its size.

Objects above the bulk threshold are read with one Bulk API 2.0 query job per object and org,
result pages streamed off the wire (CSV rows typed by the describe). Smaller ones are read with
REST queries, up to five in one composite call, then `queryMore` pages. Both orgs of one object
pair are read the same way, so values arrive in the same spelling on both sides.
"""

import time
from collections.abc import Callable, Iterator

from connections.client import MAX_COMPOSITE_QUERIES, SalesforceClient
from connections.client_errors import error_from_body
from replication.bulksync.source import QUERY_RECORDS_PER_SECOND_GUESS, converters_for, typed_row
from replication.engine.bulk_jobs import wait_for_job

PAGE_RECORDS = 100_000
CHUNK = 5000
MAX_FIRST_WAIT = 1.0  # the second job often finished while the first one's results were read


class ReconcileReadError(Exception):
    """A query job that did not complete."""


def count_records(client: SalesforceClient, objects: list[str]) -> dict[str, int]:
    """Live records per object: one composite call for up to five objects."""
    counts: dict[str, int] = {}
    for start in range(0, len(objects), MAX_COMPOSITE_QUERIES):
        group = objects[start : start + MAX_COMPOSITE_QUERIES]
        answers = client.composite_queries([f"SELECT COUNT() FROM {name}" for name in group])
        for name, answer in zip(group, answers, strict=True):
            if answer["httpStatusCode"] >= 400:
                raise error_from_body(
                    answer["httpStatusCode"], answer.get("body"), fallback="count failed", prefix=f"{name}: "
                )
            counts[name] = answer["body"]["totalSize"]
    return counts


def rest_records(
    client: SalesforceClient, soqls: list[str], *, before_page: Callable[[], None]
) -> list[list[dict]]:
    """The records of up to five small queries: one composite call, then their further pages."""
    before_page()
    answers = client.composite_queries(soqls)
    return [client.answer_records(answer, what="reconcile", before_page=before_page) for answer in answers]


def start_query(client: SalesforceClient, soql: str) -> str:
    """Create a Bulk API 2.0 query job (Salesforce runs it meanwhile); returns its Id."""
    return client.bulk_query_create(soql)["id"]


def bulk_pages(
    client: SalesforceClient,
    job_id: str,
    describe: dict,
    *,
    expected: int,
    before_page: Callable[[], None],
    sleep=time.sleep,
) -> Iterator[list[dict]]:
    """A query job's result pages, streamed in chunks of CHUNK typed rows, once it completes.
    `expected` (the records counted) times the polls by the job's progress."""
    first = min(max(0.3, expected / QUERY_RECORDS_PER_SECOND_GUESS), MAX_FIRST_WAIT)
    info = wait_for_job(client, job_id, query=True, sleep=sleep, first_wait=first, expected=expected)
    if info["state"] != "JobComplete":
        message = info.get("errorMessage") or f"ended {info['state']}"
        raise ReconcileReadError(f"Bulk API query job {job_id}: {message}")
    convert = typed_row(converters_for(describe))
    locator: str | None = None
    while True:
        before_page()
        with client.bulk_query_stream(job_id, locator=locator, max_records=PAGE_RECORDS) as page:
            chunk: list[dict] = []
            for row in page.rows:
                chunk.append(convert(row))
                if len(chunk) == CHUNK:
                    yield chunk
                    chunk = []
            if chunk:
                yield chunk
            locator = page.locator
        if locator is None:
            return

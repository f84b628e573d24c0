"""Writing a big backlog through one Bulk API 2.0 ingest job instead of composite collections.

Above `ORGSYNC_BULK_APPLY_THRESHOLD` changed records of one object and direction (Heroku
Connect's choice: 10,000), apply sends its inserts as one upsert job on OrgSync_Source_Id__c
and its updates as one update job by Id, per batch of the backlog. A job is submitted (`submit`)
and its results read later (`results`): meanwhile apply plans and submits the next batch, so
Salesforce works on one batch while the engine prepares the next (`apply.py`). Each record's
outcome is read back from the job's successful and failed results and goes through the same
bookkeeping as a collection answer; a record the job left unprocessed gets no result and goes
back to the queue.

The CSV says what the collection write's JSON says: a field left out is not touched (an empty
cell), a field set to nothing is cleared (`#N/A`, Bulk API 2.0's null).
"""

import csv
import io
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO

from connections.client import SalesforceClient
from connections.client_errors import RecordError, RecordResult, SalesforceApiError
from replication.engine.bulk_jobs import csv_value, parse_bulk_error, wait_for_job

NULL = "#N/A"
SPOOL_BYTES = 8 * 1024 * 1024  # the CSV stays in memory up to 8 MB, then goes to a temp file
RECORDS_PER_SECOND_GUESS = 8000  # first poll of an ingest job: about when it should be done


@dataclass(frozen=True)
class IngestJob:
    """A job submitted and closed: Salesforce processes it while the engine goes on."""

    id: str
    key: str
    rows: int


def submit(
    client: SalesforceClient,
    sobject: str,
    operation: str,
    key: str,
    rows: list[tuple[str, dict[str, object]]],
) -> IngestJob:
    """Upload `rows` (the key's value, the field values) as one `operation` job ("upsert" on
    `key`, or "update" with `key` "Id") and close it, without waiting for it (`results`)."""
    columns = [key, *dict.fromkeys(name for _, values in rows for name in values)]
    job = client.bulk_ingest_create(
        sobject, operation, external_id_field=key if operation == "upsert" else ""
    )
    with _spooled_csv(columns, rows) as data:
        client.bulk_ingest_upload(job["id"], data)
    client.bulk_ingest_close(job["id"])
    return IngestJob(job["id"], key, len(rows))


def results(
    client: SalesforceClient, job: IngestJob, *, sleep: Callable[[float], None] = time.sleep
) -> dict[str, RecordResult]:
    """Wait for `job` to end; the result of each record by its key's value."""
    first = max(0.3, job.rows / RECORDS_PER_SECOND_GUESS)
    info = wait_for_job(client, job.id, query=False, sleep=sleep, first_wait=first, expected=job.rows)
    if info["state"] == "Failed" and not info.get("numberRecordsProcessed"):
        raise SalesforceApiError(
            f"Bulk job {job.id} failed: {info.get('errorMessage') or 'no reason given'}",
            error_code="BULK_JOB_FAILED",
        )
    answers: dict[str, RecordResult] = {}
    with client.bulk_ingest_results_stream(job.id, "successfulResults") as stream:
        for row in stream.rows:
            answers[row[job.key]] = RecordResult(
                row["sf__Id"], True, created=row.get("sf__Created") == "true"
            )
    if info.get("numberRecordsFailed"):
        with client.bulk_ingest_results_stream(job.id, "failedResults") as stream:
            for row in stream.rows:
                code, message, fields = parse_bulk_error(row.get("sf__Error") or "")
                answers[row[job.key]] = RecordResult(
                    row.get("sf__Id") or None, False, (RecordError(code, message, fields),)
                )
    return answers


@contextmanager
def _spooled_csv(columns: list[str], rows: list[tuple[str, dict[str, object]]]) -> Iterator[IO[bytes]]:
    """The job's CSV, in memory up to SPOOL_BYTES and on disk past it, rewound for the upload."""
    with tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES) as file:
        text = io.TextIOWrapper(file, encoding="utf-8", newline="")
        writer = csv.writer(text, lineterminator="\n")
        writer.writerow(columns)
        for key_value, values in rows:
            writer.writerow([key_value, *(_cell(values, name) for name in columns[1:])])
        text.detach()  # flushes; the file stays open
        file.seek(0)
        yield file


def _cell(values: dict[str, object], name: str) -> str:
    if name not in values:
        return ""  # not sent: the target keeps its value
    value = values[name]
    return NULL if value is None or value == "" else csv_value(value)

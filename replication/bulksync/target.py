"""Writing a page of records into the target org, as upserts on OrgSync_Source_Id__c.

Every writer turns what it sends into one `Outcome` per source record; the runner maps outcomes
to record links and sync log entries. Upserts make a replayed page harmless: a record that made
it into the target before a crash is matched by its source Id, never duplicated.
"""

import csv
import io
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

from connections.client import (
    COLLECTION_SIZE,
    MAX_COMPOSITE_COLLECTIONS,
    MAX_COMPOSITE_QUERIES,
    CollectionWrite,
)
from connections.client_errors import SalesforceApiError
from replication.engine.bulk_jobs import csv_value, parse_bulk_error
from replication.engine.context import EngineContext
from replication.engine.plans import ObjectPlan
from replication.models import EXTERNAL_ID_FIELD
from replication.owners import soql_string

SPOOL_BYTES = 8 * 1024 * 1024  # a page's CSV stays in memory up to 8 MB, then goes to a temp file
RECORDS_PER_SECOND_GUESS = 8000  # first poll of an ingest job: about when it should be done
EXISTING_CHUNK = 300  # external ids per dry-run lookup query (URI length)


@dataclass
class Entry:
    """A record to write: its mapped values and the keyed hashes that go into its link."""

    source_id: str
    values: dict[str, object]
    digest: str
    source_digest: str = ""


@dataclass
class Outcome:
    source_id: str
    target_id: str = ""
    created: bool = True
    code: str = ""
    message: str = ""
    fields: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.code


class RestTarget:
    """sObject collections of 200, five to a composite call: 1,000 records per API call."""

    def __init__(self, ctx: EngineContext, plan: ObjectPlan) -> None:
        self.ctx, self.plan = ctx, plan
        self.pending: list[Entry] = []

    def add(self, entries: list[Entry]) -> list[Outcome]:
        self.pending += entries
        outcomes: list[Outcome] = []
        per_call = COLLECTION_SIZE * MAX_COMPOSITE_COLLECTIONS
        while len(self.pending) >= per_call:
            outcomes += self._send(self.pending[:per_call])
            self.pending = self.pending[per_call:]
        return outcomes

    def finish(self) -> Iterator[Outcome]:
        if self.pending:
            yield from self._send(self.pending)
        self.pending = []

    def _send(self, entries: list[Entry]) -> list[Outcome]:
        target = self.plan.target_object
        chunks = [entries[s : s + COLLECTION_SIZE] for s in range(0, len(entries), COLLECTION_SIZE)]
        writes = [
            CollectionWrite(
                "PATCH",
                f"composite/sobjects/{target}/{EXTERNAL_ID_FIELD}",
                [{"attributes": {"type": target}, EXTERNAL_ID_FIELD: e.source_id, **e.values} for e in chunk],
            )
            for chunk in chunks
        ]
        answers = self.ctx.client(self.plan.publication.target_org).composite_collections(writes)
        outcomes = []
        for chunk, results in zip(chunks, answers, strict=True):
            for entry, result in zip(chunk, results, strict=True):
                if result.success:
                    outcomes.append(Outcome(entry.source_id, result.id or "", bool(result.created)))
                else:
                    error = result.errors[0] if result.errors else None
                    outcomes.append(
                        Outcome(
                            entry.source_id,
                            code=error.status_code if error else "UNKNOWN_ERROR",
                            message=error.message if error else "no error detail",
                            fields=error.fields if error else (),
                        )
                    )
        return outcomes


class BulkTarget:
    """One Bulk API 2.0 upsert job: its CSV is spooled (to disk past 8 MB) as entries are added,
    then uploaded once; `harvest` reads the job's results back as a stream."""

    def __init__(self, ctx: EngineContext, plan: ObjectPlan) -> None:
        self.plan = plan
        self.client = ctx.client(plan.publication.target_org)
        targets = [*(m.target for m in plan.fields), *plan.audit_fields]
        self.columns = [EXTERNAL_ID_FIELD, *dict.fromkeys(targets)]
        self.file = tempfile.SpooledTemporaryFile(max_size=SPOOL_BYTES)  # noqa: SIM115 - closed in submit
        self.text = io.TextIOWrapper(self.file, encoding="utf-8", newline="")
        self.writer = csv.writer(self.text, lineterminator="\n")
        self.writer.writerow(self.columns)
        self.rows = 0

    def add(self, entries: list[Entry]) -> None:
        for entry in entries:
            values = {EXTERNAL_ID_FIELD: entry.source_id, **entry.values}
            self.writer.writerow([csv_value(values.get(c)) for c in self.columns])
        self.rows += len(entries)

    def submit(self, on_job_created: Callable[[str], None]) -> str | None:
        """Create the job, upload the CSV and close the job (Salesforce then runs it); the job's
        id, or None when nothing was added. `on_job_created` checkpoints the id before anything
        is sent, so a stop in between leaves an Open job that a resumed run aborts."""
        try:
            self.text.flush()
            if not self.rows:
                return None
            job = self.client.bulk_ingest_create(
                self.plan.target_object, "upsert", external_id_field=EXTERNAL_ID_FIELD
            )
            on_job_created(job["id"])
            self.file.seek(0)
            self.client.bulk_ingest_upload(job["id"], self.file)
        finally:
            self.text.close()
        self.client.bulk_ingest_close(job["id"])
        return job["id"]


def expected_seconds(rows: int) -> float:
    """About how long Salesforce takes to run an ingest job of `rows` records."""
    return rows / RECORDS_PER_SECOND_GUESS


def harvest(client, job_id: str, info: dict) -> Iterator[Outcome]:
    """The outcomes of an ingest job that ended (`info`: its last status), read as streams."""
    if info["state"] == "Failed" and not info.get("numberRecordsProcessed"):
        raise SalesforceApiError(
            f"Bulk job {job_id} failed: {info.get('errorMessage') or 'no reason given'}",
            error_code="BULK_JOB_FAILED",
        )
    with client.bulk_ingest_results_stream(job_id, "successfulResults") as stream:
        for row in stream.rows:
            yield Outcome(row[EXTERNAL_ID_FIELD], row["sf__Id"], row.get("sf__Created") == "true")
    if info.get("numberRecordsFailed"):
        with client.bulk_ingest_results_stream(job_id, "failedResults") as stream:
            for row in stream.rows:
                code, message, fields = parse_bulk_error(row.get("sf__Error") or "")
                yield Outcome(row[EXTERNAL_ID_FIELD], code=code, message=message, fields=fields)


class DryRunTarget:
    """Writes nothing: an entry whose source Id the target already holds would be linked, any
    other inserted (one composite call looks up 1,500 source Ids)."""

    def __init__(self, ctx: EngineContext, plan: ObjectPlan) -> None:
        self.ctx, self.plan = ctx, plan

    def add(self, entries: list[Entry]) -> list[Outcome]:
        existing = self._existing([e.source_id for e in entries])
        return [
            Outcome(e.source_id, existing.get(e.source_id, ""), e.source_id not in existing) for e in entries
        ]

    def finish(self) -> Iterator[Outcome]:
        return iter(())

    def _existing(self, source_ids: list[str]) -> dict[str, str]:
        client = self.ctx.client(self.plan.publication.target_org)
        chunks = [source_ids[s : s + EXISTING_CHUNK] for s in range(0, len(source_ids), EXISTING_CHUNK)]
        soqls = [
            f"SELECT Id, {EXTERNAL_ID_FIELD} FROM {self.plan.target_object} "
            f"WHERE {EXTERNAL_ID_FIELD} IN ({', '.join(soql_string(i) for i in chunk)})"
            for chunk in chunks
        ]
        found: dict[str, str] = {}
        for start in range(0, len(soqls), MAX_COMPOSITE_QUERIES):
            for answer in client.composite_queries(soqls[start : start + MAX_COMPOSITE_QUERIES]):
                if answer["httpStatusCode"] < 400:
                    found.update({r[EXTERNAL_ID_FIELD]: r["Id"] for r in answer["body"]["records"]})
        return found

"""Bulk API (v1, ``/services/async/{version}/job``): jobs, batches, and their processing.

A job holds batches; each batch is its own request body (CSV, XML ``sObjects`` or a JSON array
for DML; the SOQL text for query jobs), processed by a small worker pool through the same domain
``Org`` calls as Bulk API 2.0 (:mod:`sfemu.bulk.ingest` reads the CSV header, :mod:`sfemu.bulk.query`
plans and runs the SOQL). Jobs and batches live in ``bulk_v1_jobs`` / ``bulk_v1_batches`` of the
instance's store; request and result bodies in ``<data_dir>/bulk_v1/<jobId>/``. No HTTP here:
:mod:`sfemu.server.routes_bulk_v1` maps the resources and renders the XML / JSON shapes.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import threading
import time
import weakref
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree

from sfemu import ids
from sfemu.bulk import csvio, ingest, query
from sfemu.bulk.workers import WorkerPool
from sfemu.errors import SalesforceError
from sfemu.soql import execute
from sfemu.soql_source import OrgDataSource
from sfemu.timeutil import format_datetime

if TYPE_CHECKING:
    from sfemu.instance import Instance
    from sfemu.org import Org

log = logging.getLogger("sfemu.bulk")

NS = "http://www.force.com/2009/06/asyncapi/dataload"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete", "query", "queryAll")
QUERY_OPS = ("query", "queryAll")
CONTENT_TYPES = ("CSV", "XML", "JSON")
CONCURRENCY = ("Parallel", "Serial")
PK_DEFAULT, PK_MAX = 100_000, 250_000
WORKERS = 2

OPEN, CLOSED, ABORTED, FAILED = "Open", "Closed", "Aborted", "Failed"
QUEUED, IN_PROGRESS, COMPLETED, NOT_PROCESSED = "Queued", "InProgress", "Completed", "NotProcessed"

DDL = """
CREATE TABLE IF NOT EXISTS bulk_v1_jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, org_id TEXT NOT NULL, data TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS bulk_v1_batches (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, job_id TEXT NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS bulk_v1_batches_by_job ON bulk_v1_batches (job_id, seq);
"""


class BulkV1Error(Exception):
    """A refusal in the Bulk v1 shape: ``<error><exceptionCode>…`` (HTTP 400 unless said)."""

    def __init__(self, code: str, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.code, self.message, self.status = code, message, status


@dataclass
class V1Job:
    id: str
    org_id: str
    operation: str
    object: str
    created_by: str
    created_date: str
    system_modstamp: str
    state: str
    content_type: str
    api_version: str
    concurrency_mode: str = "Parallel"
    external_id_field: str | None = None
    assignment_rule_id: str | None = None
    pk_chunk_size: int | None = None  # Sforce-Enable-PKChunking on a query job
    pk_start_row: str | None = None

    @property
    def is_query(self) -> bool:
        return self.operation in QUERY_OPS


@dataclass
class V1Batch:
    id: str
    job_id: str
    state: str
    created_date: str
    system_modstamp: str
    processed: int = 0
    failed: int = 0
    total_ms: int = 0
    api_ms: int = 0
    state_message: str | None = None
    result_ids: list[str] = field(default_factory=list)
    id_range: list[str | None] | None = None  # a PK chunk: [from Id (inclusive), to Id (exclusive)]
    chunked_soql: str | None = None  # a PK chunk: the original batch's query (run within id_range)


def _load(cls: Any, text: str) -> Any:
    return cls(**json.loads(text))


def _dump(obj: Any) -> str:
    return json.dumps(asdict(obj), separators=(",", ":"))


def parse_pk_chunking(value: str | None) -> tuple[int | None, str | None]:
    """``Sforce-Enable-PKChunking``: ``TRUE`` / ``FALSE`` / ``chunkSize=N; startRow=Id``."""
    if value is None or not value.strip():
        return None, None
    text = value.strip()
    if text.lower() == "false":
        return None, None
    if text.lower() == "true":
        return PK_DEFAULT, None
    size, start = PK_DEFAULT, None
    for part in text.split(";"):
        key, eq, raw = part.strip().partition("=")
        if not key:
            continue
        if not eq:
            raise BulkV1Error("InvalidJob", f"Invalid PK chunking header: {value}")
        if key.strip().lower() == "chunksize":
            try:
                size = int(raw.strip())
            except ValueError:
                raise BulkV1Error("InvalidJob", f"Invalid chunkSize: {raw.strip()}") from None
            if not 1 <= size <= PK_MAX:
                raise BulkV1Error(
                    "InvalidJob", f"Chunk size {size} is invalid: it must be between 1 and {PK_MAX}"
                )
        elif key.strip().lower() == "startrow":
            start = raw.strip() or None
        elif key.strip().lower() != "parent":
            raise BulkV1Error("InvalidJob", f"Invalid PK chunking header: {value}")
    return size, start


class JobStoreV1:
    def __init__(self, instance: Instance) -> None:
        self.store = instance.store
        self.base = self.store.path.parent / "bulk_v1"
        self.base.mkdir(parents=True, exist_ok=True)
        with self.store.write() as conn:
            for statement in DDL.strip().split(";"):
                if statement.strip():
                    conn.execute(statement)

    def dir(self, job_id: str) -> Path:
        path = self.base / job_id
        path.mkdir(parents=True, exist_ok=True)
        return path

    def insert_job(self, job: V1Job) -> None:
        with self.store.write() as conn:
            conn.execute(
                "INSERT INTO bulk_v1_jobs (id, org_id, data) VALUES (?, ?, ?)",
                (job.id, job.org_id, _dump(job)),
            )

    def save_job(self, job: V1Job) -> None:
        with self.store.write() as conn:
            conn.execute("UPDATE bulk_v1_jobs SET data=? WHERE id=?", (_dump(job), job.id))

    def job(self, job_id: str) -> V1Job | None:
        row = self.store.conn.execute("SELECT data FROM bulk_v1_jobs WHERE id=?", (job_id,)).fetchone()
        return _load(V1Job, row[0]) if row else None

    def insert_batch(self, batch: V1Batch) -> None:
        with self.store.write() as conn:
            conn.execute(
                "INSERT INTO bulk_v1_batches (id, job_id, data) VALUES (?, ?, ?)",
                (batch.id, batch.job_id, _dump(batch)),
            )

    def save_batch(self, batch: V1Batch) -> None:
        with self.store.write() as conn:
            conn.execute("UPDATE bulk_v1_batches SET data=? WHERE id=?", (_dump(batch), batch.id))

    def batch(self, batch_id: str) -> V1Batch | None:
        row = self.store.conn.execute("SELECT data FROM bulk_v1_batches WHERE id=?", (batch_id,)).fetchone()
        return _load(V1Batch, row[0]) if row else None

    def batches(self, job_id: str) -> list[V1Batch]:
        rows = self.store.conn.execute(
            "SELECT data FROM bulk_v1_batches WHERE job_id=? ORDER BY seq", (job_id,)
        ).fetchall()
        return [_load(V1Batch, r[0]) for r in rows]

    def queued(self) -> list[V1Batch]:
        rows = self.store.conn.execute("SELECT data FROM bulk_v1_batches ORDER BY seq").fetchall()
        return [b for b in (_load(V1Batch, r[0]) for r in rows) if b.state in (QUEUED, IN_PROGRESS)]


class BulkV1Service:
    """Bulk v1 jobs of every org of one instance, and the workers that run their batches."""

    def __init__(self, instance: Instance, workers: int = WORKERS) -> None:
        self.instance = instance
        self.store = JobStoreV1(instance)
        self._pool = WorkerPool(
            self._run,
            workers=workers,
            name="sfemu-bulkv1",
            closed=lambda: bool(getattr(instance.store, "_closed", False)),
        )
        for batch in self.store.queued():
            self._enqueue(batch.id)

    # --- ids and clock -------------------------------------------------------------------

    def _new_id(self, org: Org, prefix: str) -> str:
        first = self.instance.store.allocate_sequence(
            org.pod, prefix, 1, ids.sequence_start(self.instance.rng)
        )
        return ids.make_id(prefix, org.pod, first)

    def _now(self, org: Org) -> str:
        return format_datetime(org.now().replace(microsecond=0))

    # --- jobs ----------------------------------------------------------------------------

    def job(self, org: Org, job_id: str) -> V1Job:
        canonical = ids.normalize(job_id)
        job = self.store.job(canonical) if canonical else None
        if job is None or job.org_id != org.org_id:
            raise BulkV1Error("InvalidJob", f"Invalid job id: {job_id}")
        return job

    def create_job(
        self, org: Org, user_id: str, version: str, body: dict[str, Any], pk_header: str | None
    ) -> V1Job:
        operation = body.get("operation")
        if operation not in OPERATIONS:
            raise BulkV1Error(
                "InvalidJob", f"Invalid operation: {operation}" if operation else "No operation"
            )
        name = body.get("object")
        if not name or not isinstance(name, str):
            raise BulkV1Error("InvalidJob", "No object specified")
        obj = org.schema.get(name)
        if obj is None:
            raise BulkV1Error("InvalidJob", f"Unable to find object: {name}")
        content_type = body.get("contentType") or "XML"
        if content_type not in CONTENT_TYPES:
            raise BulkV1Error("InvalidJob", f"Invalid content type: {content_type}")
        mode = body.get("concurrencyMode")
        if mode in (None, ""):
            mode = "Parallel"
        elif isinstance(mode, int) and not isinstance(mode, bool) and 0 <= mode < len(CONCURRENCY):
            mode = CONCURRENCY[mode]  # simple-salesforce sends the enum's ordinal (0 / 1)
        elif mode not in CONCURRENCY:
            raise BulkV1Error("InvalidJob", f"Invalid concurrency mode: {mode}")
        ext = body.get("externalIdFieldName") or None
        if operation == "upsert":
            if not ext:
                raise BulkV1Error(
                    "InvalidJob",
                    f"External ID was blank for {obj.name}. An External ID must be specified for upsert.",
                )
            spec = org.schema.field(obj.name, str(ext))
            if spec is None or not (spec.external_id or spec.id_lookup):
                raise BulkV1Error(
                    "InvalidJob",
                    f"Field name provided, {ext} does not match an External ID, Salesforce Id, "
                    f"or indexed field for {obj.name}",
                )
            ext = spec.name
        else:
            ext = None
        chunk, start = parse_pk_chunking(pk_header) if operation in QUERY_OPS else (None, None)
        now = self._now(org)
        job = V1Job(
            id=self._new_id(org, "750"),
            org_id=org.org_id,
            operation=operation,
            object=obj.name,
            created_by=user_id,
            created_date=now,
            system_modstamp=now,
            state=OPEN,
            content_type=content_type,
            api_version=version,
            concurrency_mode=mode,
            external_id_field=ext,
            assignment_rule_id=body.get("assignmentRuleId") or None,
            pk_chunk_size=chunk,
            pk_start_row=start,
        )
        self.store.insert_job(job)
        return job

    def set_state(self, org: Org, job_id: str, state: Any) -> V1Job:
        if state not in (CLOSED, ABORTED):
            raise BulkV1Error("InvalidJobState", f"Invalid job state: {state}")
        with self.instance.store.write():
            job = self.job(org, job_id)
            if state == CLOSED and job.state != OPEN:
                raise BulkV1Error("InvalidJobState", f"Job not open: current state is {job.state}")
            if state == ABORTED and job.state in (ABORTED, FAILED):
                raise BulkV1Error("InvalidJobState", f"Job already {job.state}")
            job.state = state
            job.system_modstamp = self._now(org)
            self.store.save_job(job)
            if state == ABORTED:
                for batch in self.store.batches(job.id):
                    if batch.state == QUEUED:
                        batch.state = NOT_PROCESSED
                        batch.system_modstamp = job.system_modstamp
                        self.store.save_batch(batch)
        return job

    def counters(self, job: V1Job) -> dict[str, int]:
        batches = self.store.batches(job.id)
        count = {s: 0 for s in (QUEUED, IN_PROGRESS, COMPLETED, FAILED, NOT_PROCESSED)}
        for b in batches:
            count[b.state] = count.get(b.state, 0) + 1
        return {
            "numberBatchesQueued": count[QUEUED],
            "numberBatchesInProgress": count[IN_PROGRESS],
            "numberBatchesCompleted": count[COMPLETED],
            "numberBatchesFailed": count[FAILED],
            "numberBatchesTotal": len(batches),
            "numberRecordsProcessed": sum(b.processed for b in batches),
            "numberRecordsFailed": sum(b.failed for b in batches),
            "totalProcessingTime": sum(b.total_ms for b in batches),
            "apiActiveProcessingTime": sum(b.api_ms for b in batches),
        }

    # --- batches -------------------------------------------------------------------------

    def add_batch(self, org: Org, job_id: str, body: bytes) -> V1Batch:
        with self.instance.store.write():
            job = self.job(org, job_id)
            if job.state != OPEN:
                raise BulkV1Error("InvalidJobState", "Job not open")
            now = self._now(org)
            batch = V1Batch(
                id=self._new_id(org, "751"),
                job_id=job.id,
                state=QUEUED,
                created_date=now,
                system_modstamp=now,
            )
            (self.store.dir(job.id) / f"{batch.id}.request").write_bytes(body)
            self.store.insert_batch(batch)
        self._enqueue(batch.id)
        return batch

    def batch(self, org: Org, job_id: str, batch_id: str) -> tuple[V1Job, V1Batch]:
        job = self.job(org, job_id)
        canonical = ids.normalize(batch_id)
        batch = self.store.batch(canonical) if canonical else None
        if batch is None or batch.job_id != job.id:
            raise BulkV1Error("InvalidBatch", f"Invalid batch id: {batch_id}")
        return job, batch

    def batches(self, org: Org, job_id: str) -> list[V1Batch]:
        return self.store.batches(self.job(org, job_id).id)

    def request_body(self, org: Org, job_id: str, batch_id: str) -> tuple[V1Job, bytes]:
        job, batch = self.batch(org, job_id, batch_id)
        return job, (self.store.dir(job.id) / f"{batch.id}.request").read_bytes()

    def result(self, org: Org, job_id: str, batch_id: str) -> tuple[V1Job, V1Batch, bytes | None]:
        """DML: the per-record result body; query: None (the batch's ``result_ids`` list)."""
        job, batch = self.batch(org, job_id, batch_id)
        if batch.state != COMPLETED:
            if batch.state == FAILED or batch.state == NOT_PROCESSED:
                raise BulkV1Error("InvalidBatch", f"Batch {batch.state}: {batch.state_message or ''}".strip())
            raise BulkV1Error("InvalidBatch", "Batch not completed")
        if job.is_query:
            return job, batch, None
        return job, batch, (self.store.dir(job.id) / f"{batch.id}.result").read_bytes()

    def query_result(self, org: Org, job_id: str, batch_id: str, result_id: str) -> tuple[V1Job, bytes]:
        job, batch, _ = self.result(org, job_id, batch_id)
        if not job.is_query or result_id not in batch.result_ids:
            raise BulkV1Error("InvalidBatch", f"Invalid result id: {result_id}")
        return job, (self.store.dir(job.id) / f"{batch.id}-{result_id}.result").read_bytes()

    # --- workers -------------------------------------------------------------------------

    def _enqueue(self, batch_id: str) -> None:
        self._pool.submit(batch_id)

    def wait_batch(self, batch_id: str, timeout: float) -> bool:
        """Block until the batch has been processed (at most ``timeout`` seconds)."""
        return self._pool.wait(batch_id, timeout)

    def wait_idle(self, timeout: float | None = None) -> bool:
        return self._pool.wait_idle(timeout)

    def _run(self, batch_id: str) -> None:
        with self.instance.store.write():
            batch = self.store.batch(batch_id)
            if batch is None or batch.state not in (QUEUED, IN_PROGRESS):
                return
            job = self.store.job(batch.job_id)
            if job is None:
                return
            org = self.instance.org(job.org_id)
            batch.state = IN_PROGRESS
            batch.system_modstamp = self._now(org)
            self.store.save_batch(batch)
        started = time.monotonic()
        folder = self.store.dir(job.id)
        body = (folder / f"{batch.id}.request").read_bytes()
        state, message = COMPLETED, None
        try:
            if job.is_query:
                if job.pk_chunk_size and batch.id_range is None:
                    self._chunk(org, job, batch, body)
                    return
                self._query(org, job, batch, body, folder)
            else:
                self._dml(org, job, batch, body, folder)
        except BulkV1Error as exc:
            state, message = FAILED, f"{exc.code} : {exc.message}"
        except SalesforceError as exc:
            log.debug("bulk v1 batch %s failed", batch.id, exc_info=True)
            state, message = FAILED, f"InvalidBatch : {exc.message}"
        batch.state, batch.state_message = state, message
        batch.total_ms = int((time.monotonic() - started) * 1000)
        batch.system_modstamp = self._now(org)
        self.store.save_batch(batch)

    # --- DML -----------------------------------------------------------------------------

    def _dml(self, org: Org, job: V1Job, batch: V1Batch, body: bytes, folder: Path) -> None:
        records, fmt = parse_records(org, job, body)
        started = time.monotonic()
        results: list[dict[str, Any]] = []
        # As in Bulk 2.0 (`ingest.py`): 200 records per transaction, which share one
        # SystemModstamp; each record is a savepoint of its own, so one failure fails one row.
        for first in range(0, len(records), ingest.CHUNK):
            with org.transaction(), org.stamper.shared():
                results += [
                    self._dml_row(org, job, batch, r, fmt) for r in records[first : first + ingest.CHUNK]
                ]
        batch.processed = len(results)
        batch.failed = sum(1 for r in results if not r["success"])
        batch.api_ms = int((time.monotonic() - started) * 1000)
        (folder / f"{batch.id}.result").write_bytes(render_dml_results(job.content_type, results))

    @staticmethod
    def _dml_row(org: Org, job: V1Job, batch: V1Batch, record: dict[str, Any], fmt: str) -> dict[str, Any]:
        """One record of a DML batch, in a savepoint of its own: its result row."""
        try:
            with org.transaction():
                rid, created = dml_one(org, job, record, fmt)
        except SalesforceError as exc:
            return {"id": None, "success": False, "created": False, "error": ingest.bulk_error(exc)}
        except Exception:
            log.exception("bulk v1 row failed unexpectedly (batch %s)", batch.id)
            err = SalesforceError("UNKNOWN_EXCEPTION", "An unexpected error occurred.", fields=[])
            return {"id": None, "success": False, "created": False, "error": err}
        return {"id": rid, "success": True, "created": created, "error": None}

    # --- query ---------------------------------------------------------------------------

    def _query(self, org: Org, job: V1Job, batch: V1Batch, body: bytes, folder: Path) -> None:
        soql = batch.chunked_soql or body.decode("utf-8", errors="replace").strip()
        parsed, columns = query.plan(org, soql, job.api_version)
        if any(kind in query.COMPOUND for _, _, kind in columns):
            raise BulkV1Error("InvalidBatch", "Selecting compound data not supported in Bulk Query")
        if parsed.sobject.lower() != job.object.lower():
            raise BulkV1Error(
                "InvalidBatch", f"The query's object {parsed.sobject} is not the job's {job.object}"
            )
        include_deleted = job.operation == "queryAll" or parsed.all_rows
        source = OrgDataSource(org, job.api_version)
        started = time.monotonic()
        if batch.id_range is not None:
            lo, hi = batch.id_range
            rows = [
                r
                for r in source.rows(parsed.sobject, include_deleted=include_deleted)
                if (lo is None or r["Id"][:15] >= lo) and (hi is None or r["Id"][:15] < hi)
            ]
            records = execute(
                parsed, source, include_deleted=include_deleted, api_version=job.api_version, root_rows=rows
            ).records
        else:
            records = [r for chunk in query.record_batches(org, parsed, _QueryJob(job)) for r in chunk]
        batch.processed = len(records)
        batch.api_ms = int((time.monotonic() - started) * 1000)
        result_id = self._new_id(org, "752")[:15]
        (folder / f"{batch.id}-{result_id}.result").write_bytes(render_query_results(job, columns, records))
        batch.result_ids = [result_id]

    def _chunk(self, org: Org, job: V1Job, batch: V1Batch, body: bytes) -> None:
        """PK chunking: one batch per ``chunkSize`` Ids of the object, the original NotProcessed."""
        soql = body.decode("utf-8", errors="replace").strip()
        try:
            parsed, _ = query.plan(org, soql, job.api_version)
        except SalesforceError as exc:
            batch.state, batch.state_message = FAILED, f"InvalidBatch : {exc.message}"
            batch.system_modstamp = self._now(org)
            self.store.save_batch(batch)
            return
        source = OrgDataSource(org, job.api_version)
        all_ids = sorted(r["Id"][:15] for r in source.rows(parsed.sobject, include_deleted=True))
        if job.pk_start_row:
            start = job.pk_start_row[:15]
            all_ids = [i for i in all_ids if i >= start]
        size = job.pk_chunk_size or PK_DEFAULT
        bounds = all_ids[::size] or [None]
        ranges = [(lo, bounds[i + 1] if i + 1 < len(bounds) else None) for i, lo in enumerate(bounds)]
        folder = self.store.dir(job.id)
        created: list[str] = []
        with self.instance.store.write():
            now = self._now(org)
            for lo, hi in ranges:
                chunk = V1Batch(
                    id=self._new_id(org, "751"),
                    job_id=job.id,
                    state=QUEUED,
                    created_date=now,
                    system_modstamp=now,
                    id_range=[lo, hi],
                    chunked_soql=soql,
                )
                (folder / f"{chunk.id}.request").write_text(
                    _chunk_soql(soql, parsed.where is not None, lo, hi)
                )
                self.store.insert_batch(chunk)
                created.append(chunk.id)
            batch.state = NOT_PROCESSED
            batch.system_modstamp = now
            self.store.save_batch(batch)
        with contextlib.suppress(SalesforceError):
            org.count_api_call("bulk_batch", len(created))
        for chunk_id in created:
            self._enqueue(chunk_id)


class _QueryJob:
    """The attributes :func:`sfemu.bulk.query.record_batches` reads from a job."""

    def __init__(self, job: V1Job) -> None:
        self.operation = job.operation
        self.api_version = job.api_version


def _chunk_soql(soql: str, has_where: bool, lo: str | None, hi: str | None) -> str:
    bounds = []
    if lo is not None:
        bounds.append(f"Id >= {lo}")
    if hi is not None:
        bounds.append(f"Id < {hi}")
    if not bounds:
        return soql
    return f"{soql} {'AND' if has_where else 'WHERE'} {' AND '.join(bounds)}"


# --- request bodies ------------------------------------------------------------------------


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _xml_value(element: ElementTree.Element, prefix: str, out: dict[str, Any]) -> None:
    name = prefix + _local(element.tag)
    if element.get(f"{{{XSI}}}nil") == "true":
        out[name] = None
    elif len(element):
        for child in element:
            if _local(child.tag) != "type":
                _xml_value(child, name + ".", out)
    else:
        out[name] = element.text or ""


def parse_records(org: Org, job: V1Job, body: bytes) -> tuple[list[dict[str, Any]], str]:
    """The batch's records as field maps, and the input format for the domain's coercion."""
    if job.content_type == "CSV":
        stream = io.BytesIO(body)
        try:
            rows = [row for row, _ in csvio.rows_with_offsets(stream, "COMMA")]
        except csvio.CsvFormatError as exc:
            raise BulkV1Error("InvalidBatch", str(exc).removeprefix("InvalidBatch : ")) from None
        if not rows or not any(rows[0]):
            raise BulkV1Error("InvalidBatch", "Records not found")
        try:
            cols = ingest.Columns(org, job, rows[0])  # type: ignore[arg-type]
        except csvio.CsvFormatError as exc:
            raise BulkV1Error("InvalidBatch", str(exc).removeprefix("InvalidBatch : ")) from None
        return [cols.values(row) for row in rows[1:] if row and row != [""]], "csv"
    if job.content_type == "XML":
        try:
            root = ElementTree.fromstring(body)
        except ElementTree.ParseError as exc:
            raise BulkV1Error("InvalidBatch", f"Failed to parse XML. {exc}") from None
        if _local(root.tag) != "sObjects":
            raise BulkV1Error(
                "InvalidBatch", f"Unable to parse XML: expected sObjects, found {_local(root.tag)}"
            )
        records = []
        for item in root:
            values: dict[str, Any] = {}
            for child in item:
                if _local(child.tag) != "type":
                    _xml_value(child, "", values)
            records.append(values)
        return records, "csv"
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BulkV1Error("InvalidBatch", f"Failed to parse JSON. {exc}") from None
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise BulkV1Error("InvalidBatch", "Failed to parse JSON: expected an array of records")
    return [{k: v for k, v in r.items() if k != "attributes"} for r in data], "json"


def _pop(values: dict[str, Any], name: str) -> Any:
    for key in list(values):
        if key.lower() == name.lower():
            return values.pop(key)
    return None


def dml_one(org: Org, job: V1Job, record: dict[str, Any], fmt: str) -> tuple[str, bool]:
    values = dict(record)
    user, sobject = job.created_by, job.object
    if job.operation == "insert":
        return org.create(sobject, values, user_id=user, input_format=fmt), True
    if job.operation == "upsert":
        ext = job.external_id_field or "Id"
        key = _pop(values, ext)
        return org.upsert(sobject, ext, key or None, values, user_id=user, input_format=fmt)
    rid = _pop(values, "Id")
    if not rid:
        what = "an update" if job.operation == "update" else "a delete"
        raise SalesforceError("MISSING_ARGUMENT", f"Id not specified in {what} call", fields=[])
    rid = str(rid)
    if job.operation == "update":
        org.update(sobject, rid, values, user_id=user, input_format=fmt)
    else:
        org.delete(rid, user_id=user, sobject=sobject, hard=job.operation == "hardDelete")
    return ids.normalize(rid) or rid, False


# --- result bodies -------------------------------------------------------------------------


def _esc(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def render_dml_results(content_type: str, results: list[dict[str, Any]]) -> bytes:
    if content_type == "CSV":
        rows = [["Id", "Success", "Created", "Error"]]
        for r in results:
            err = r["error"]
            rows.append(
                [
                    r["id"] or "",
                    "true" if r["success"] else "false",
                    "true" if r["created"] else "false",
                    ingest.error_text(err) if err else "",
                ]
            )
        return csvio.encode_rows(rows, "COMMA", "LF").encode()
    if content_type == "JSON":
        out = []
        for r in results:
            err = r["error"]
            errors = (
                [{"fields": list(err.fields or []), "message": err.message, "statusCode": err.error_code}]
                if err
                else []
            )
            out.append({"success": r["success"], "created": r["created"], "id": r["id"], "errors": errors})
        return json.dumps(out).encode()
    parts = [f'<?xml version="1.0" encoding="UTF-8"?><results xmlns="{NS}">']
    for r in results:
        parts.append("<result>")
        err = r["error"]
        if err:
            parts.append("<errors>")
            parts.extend(f"<fields>{_esc(f)}</fields>" for f in err.fields or [])
            parts.append(f"<message>{_esc(err.message)}</message><statusCode>{err.error_code}</statusCode>")
            parts.append("</errors>")
        else:
            parts.append(f"<id>{r['id']}</id>")
        parts.append(
            f"<success>{str(r['success']).lower()}</success><created>{str(r['created']).lower()}</created>"
        )
        parts.append("</result>")
    parts.append("</results>")
    return "".join(parts).encode()


def _epoch_ms(value: Any, kind: str) -> Any:
    """Bulk v1 JSON query results carry date and dateTime values as epoch milliseconds."""
    if not isinstance(value, str) or not value:
        return value
    try:
        if kind == "date":
            d = date.fromisoformat(value[:10])
            moment = datetime(d.year, d.month, d.day, tzinfo=UTC)
        else:
            moment = datetime.strptime(value[:23], "%Y-%m-%dT%H:%M:%S.%f").replace(tzinfo=UTC)
    except ValueError:
        return value
    return int(moment.timestamp() * 1000)


def _json_record(record: dict[str, Any], columns: list[tuple[str, tuple[str, ...], str]]) -> dict[str, Any]:
    out = json.loads(json.dumps(record))
    for _, path, kind in columns:
        if kind not in ("date", "datetime"):
            continue
        node = out
        for key in path[:-1]:
            node = node.get(key) if isinstance(node, dict) else None
        if isinstance(node, dict) and path[-1] in node:
            node[path[-1]] = _epoch_ms(node[path[-1]], kind)
    return out


def _xml_record(tag: str, record: dict[str, Any], sobject: str, parts: list[str]) -> None:
    attrs = record.get("attributes") or {}
    parts.append(f'<{tag} xsi:type="sObject">')
    parts.append(f"<type>{_esc(str(attrs.get('type') or sobject))}</type>")
    for key, value in record.items():
        if key == "attributes":
            continue
        if value is None:
            parts.append(f'<{key} xsi:nil="true"/>')
        elif isinstance(value, dict):
            _xml_record(key, value, key, parts)
        else:
            parts.append(f"<{key}>{_esc(csvio.format_value(value))}</{key}>")
    parts.append(f"</{tag}>")


def render_query_results(
    job: V1Job, columns: list[tuple[str, tuple[str, ...], str]], records: list[dict[str, Any]]
) -> bytes:
    if job.content_type == "CSV":
        if not records:
            return b"Records not found for this query"
        rows = [[name for name, _, _ in columns]]
        rows += [[query.cell(r, path) for _, path, _ in columns] for r in records]
        return csvio.encode_rows(rows, "COMMA", "LF").encode()
    if job.content_type == "JSON":
        return json.dumps([_json_record(r, columns) for r in records]).encode()
    parts = [f'<?xml version="1.0" encoding="UTF-8"?><queryResult xmlns="{NS}" xmlns:xsi="{XSI}">']
    for record in records:
        _xml_record("records", record, job.object, parts)
    parts.append("</queryResult>")
    return "".join(parts).encode()


_services: weakref.WeakKeyDictionary[Any, BulkV1Service] = weakref.WeakKeyDictionary()
_services_lock = threading.Lock()


def v1_service_for(instance: Instance) -> BulkV1Service:
    """The instance's Bulk v1 service (created, and its queued batches resumed, on first use)."""
    with _services_lock:
        service = _services.get(instance)
        if service is None:
            service = _services[instance] = BulkV1Service(instance)
        return service

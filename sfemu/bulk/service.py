"""The Bulk API 2.0 service of an instance: job life cycle and a background worker pool.

``service_for(instance)`` gives the one service of an :class:`~sfemu.instance.Instance`; creating
it resumes the jobs a previous process left UploadComplete or InProgress (``retries`` counts the
restart, as Salesforce counts its internal retries). Workers are daemon threads, so a stopped
server never waits for them; a job interrupted that way resumes from its last checkpoint.
"""

from __future__ import annotations

import itertools
import os
import secrets
import threading
import weakref
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sfemu import ids
from sfemu.bulk import csvio, ingest, query
from sfemu.bulk.jobs import (
    ABORTED,
    IN_PROGRESS,
    INGEST_OPERATIONS,
    JOB_COMPLETE,
    OPEN,
    QUERY_OPERATIONS,
    TERMINAL,
    UPLOAD_COMPLETE,
    Job,
    JobStore,
)
from sfemu.bulk.workers import WorkerPool
from sfemu.errors import SalesforceError, not_found
from sfemu.timeutil import format_datetime

if TYPE_CHECKING:
    from sfemu.instance import Instance
    from sfemu.org import Org


MAX_UPLOAD_BASE64 = 150 * 1024 * 1024  # Salesforce's limit applies to the base64 size
LIST_PAGE = 1000
DEFAULT_MAX_RECORDS = 100_000
WORKERS = 2
_STATE_LABEL = {JOB_COMPLETE: "Completed"}


def invalid_state(message: str) -> SalesforceError:
    return SalesforceError("INVALIDJOBSTATE", message)


def invalid_job(message: str) -> SalesforceError:
    return SalesforceError("INVALIDJOB", f"InvalidJob : {message}")


def enum_error(enum: str, value: Any) -> SalesforceError:
    return SalesforceError(
        "JSON_PARSER_ERROR",
        f"Cannot deserialize instance of {enum} from VALUE_STRING value {value} "
        "or request may be missing a required field",
    )


def base64_size(n: int) -> int:
    return (n + 2) // 3 * 4


class BulkService:
    """Jobs of every org of one instance."""

    def __init__(self, instance: Instance, workers: int = WORKERS) -> None:
        self.instance = instance
        self.jobs = JobStore(instance.store)
        self._pool = WorkerPool(
            self._run, workers=workers, name="sfemu-bulk", closed=lambda: _closed(instance)
        )
        for job in self.jobs.unfinished():
            self._enqueue(job.id)

    # --- helpers -----------------------------------------------------------------------

    def _new_job_id(self, org: Org) -> str:
        first = self.instance.store.allocate_sequence(
            org.pod, "750", 1, ids.sequence_start(self.instance.rng)
        )
        return ids.make_id("750", org.pod, first)

    def _now(self, org: Org) -> str:
        return format_datetime(org.now().replace(microsecond=0))

    def job(self, org: Org, kind: str, job_id: str) -> Job:
        """The org's job of that kind; 404 NOT_FOUND otherwise (bad ids too)."""
        canonical = ids.normalize(job_id)
        job = self.jobs.get(canonical) if canonical else None
        if job is None or job.org_id != org.org_id or job.kind != kind:
            raise not_found()
        return job

    # --- creation ----------------------------------------------------------------------

    def _format(self, body: dict[str, Any]) -> tuple[str, str]:
        delimiter = body.get("columnDelimiter") or "COMMA"
        if delimiter not in csvio.DELIMITERS:
            raise enum_error("ColumnDelimiterEnum", delimiter)
        line_ending = body.get("lineEnding") or "LF"
        if line_ending not in csvio.LINE_ENDINGS:
            raise enum_error("LineEndingEnum", line_ending)
        content_type = body.get("contentType") or "CSV"
        if content_type != "CSV":
            raise enum_error("ContentType", content_type)
        return delimiter, line_ending

    def create_ingest(self, org: Org, user_id: str, api_version: str, body: dict[str, Any]) -> Job:
        operation = body.get("operation")
        if operation not in INGEST_OPERATIONS:
            raise enum_error("OperationEnum", operation)
        delimiter, line_ending = self._format(body)
        name = body.get("object")
        if not name or not isinstance(name, str):
            raise invalid_job("Object is required")
        obj = org.schema.get(name)
        if obj is None:
            raise SalesforceError("INVALIDENTITY", f"sObject type '{name}' is not supported.")
        ext = body.get("externalIdFieldName") or None
        if operation == "upsert":
            if not ext:
                raise invalid_job(
                    f"External ID was blank for {obj.name}. An External ID must be specified for upsert."
                )
            spec = org.schema.field(obj.name, str(ext))
            if spec is None or not (spec.external_id or spec.id_lookup):
                raise invalid_job(
                    f"Field name provided, {ext} does not match an External ID, Salesforce Id, "
                    f"or indexed field for {obj.name}"
                )
            ext = spec.name
        elif ext:
            raise invalid_job("External ID field name is only valid for upsert operations")
        now = self._now(org)
        job = Job(
            id=self._new_job_id(org),
            org_id=org.org_id,
            kind="ingest",
            operation=operation,
            object=obj.name,
            created_by=user_id,
            created_date=now,
            system_modstamp=now,
            state=OPEN,
            api_version=api_version,
            line_ending=line_ending,
            column_delimiter=delimiter,
            external_id_field=ext,
        )
        self.jobs.insert(job)
        return job

    def create_query(self, org: Org, user_id: str, api_version: str, body: dict[str, Any]) -> Job:
        operation = body.get("operation") or "query"
        if operation not in QUERY_OPERATIONS:
            raise enum_error("OperationEnum", operation)
        delimiter, line_ending = self._format(body)
        soql = body.get("query")
        if not soql or not isinstance(soql, str):
            raise invalid_job("Query is required")
        parsed, _ = query.plan(org, soql, api_version)
        obj = org.schema.require(parsed.sobject)
        now = self._now(org)
        job = Job(
            id=self._new_job_id(org),
            org_id=org.org_id,
            kind="query",
            operation=operation,
            object=obj.name,
            created_by=user_id,
            created_date=now,
            system_modstamp=now,
            state=UPLOAD_COMPLETE,
            api_version=api_version,
            line_ending=line_ending,
            column_delimiter=delimiter,
            query=soql,
        )
        self.jobs.insert(job)
        self._enqueue(job.id)
        return job

    # --- upload ------------------------------------------------------------------------

    def check_open(self, org: Org, job_id: str) -> Job:
        job = self.job(org, "ingest", job_id)
        if job.state != OPEN:
            raise invalid_state(f"Job {job.id} is not in Open state and cannot receive data")
        return job

    def spool_path(self, job: Job) -> Path:
        return self.jobs.dir(job.id) / f"upload-{secrets.token_hex(6)}.part"

    def too_big(self, nbytes: int) -> bool:
        return base64_size(nbytes) > MAX_UPLOAD_BASE64

    def too_big_error(self) -> SalesforceError:
        return SalesforceError(
            "CLIENTINPUTERROR", f"Failed to read request. Exceeded max size limit of {MAX_UPLOAD_BASE64}"
        )

    def finish_upload(self, org: Org, job_id: str, spooled: Path, nbytes: int) -> None:
        """Keep the first upload of an Open job (later ones only count: closing then fails)."""
        with self.instance.store.write():
            job = self.check_open(org, job_id)
            job.uploads += 1
            if job.uploads == 1:
                target = self.jobs.dir(job.id) / ingest.UPLOAD
                os.replace(spooled, target)
                job.upload_bytes = nbytes
                job.header, job.data_offset = _read_header(target, job.column_delimiter)
            else:
                spooled.unlink(missing_ok=True)
            job.system_modstamp = self._now(org)
            self.jobs.save(job)

    # --- state changes -----------------------------------------------------------------

    def set_state(self, org: Org, kind: str, job_id: str, body: Any) -> Job:
        state = body.get("state") if isinstance(body, dict) else None
        if state not in (OPEN, UPLOAD_COMPLETE, IN_PROGRESS, ABORTED, JOB_COMPLETE, "Failed"):
            raise enum_error("JobStateEnum", state)
        with self.instance.store.write():
            job = self.job(org, kind, job_id)
            label = _STATE_LABEL.get(job.state, job.state)
            if state == ABORTED:
                if job.is_terminal:
                    raise invalid_state(f"Aborting already {label} Job not allowed")
            elif state == UPLOAD_COMPLETE and kind == "ingest":
                if job.state != OPEN:
                    raise invalid_state(f"Closing already {label} Job not allowed")
                if job.uploads > 1:
                    raise invalid_state(
                        f"Found multiple contents for job: <{job.id}>, please 'Close' / 'Abort' / 'Delete' "
                        "the current Job then create a new Job and make sure you only do 'PUT' once on a "
                        "given Job."
                    )
            else:
                raise invalid_state(f"Invalid state change from {job.state} to {state}")
            job.state = state
            job.system_modstamp = self._now(org)
            self.jobs.save(job)
        if state == UPLOAD_COMPLETE:
            self._enqueue(job.id)
        return job

    def delete(self, org: Org, kind: str, job_id: str) -> None:
        with self.instance.store.write():
            job = self.job(org, kind, job_id)
            if job.state in (OPEN, IN_PROGRESS):
                raise invalid_state(f"Deleting a job in state {job.state} is not allowed")
            self.jobs.delete(job.id)

    def list(self, org: Org, kind: str, locator: str | None) -> tuple[list[Job], str | None]:
        after = 0
        if locator:
            try:
                after = int(locator.rsplit("-", 1)[-1])
            except ValueError:
                raise SalesforceError("INVALID_QUERY_LOCATOR", "invalid query locator") from None
        rows = self.jobs.list(org.org_id, kind, after, LIST_PAGE + 1)
        more = len(rows) > LIST_PAGE
        rows = rows[:LIST_PAGE]
        next_locator = f"{_list_locator_id()}-{rows[-1][0]}" if more and rows else None
        return [job for _, job in rows], next_locator

    # --- results -----------------------------------------------------------------------

    def ingest_results(self, org: Org, job_id: str, which: str) -> Iterator[bytes]:
        """``successfulResults`` / ``failedResults`` / ``unprocessedrecords`` as CSV bytes."""
        job = self.job(org, "ingest", job_id)
        folder = self.jobs.dir(job.id)
        eol = csvio.LINE_ENDINGS[job.line_ending].encode()
        header = (job.header or "").encode()
        if which == "unprocessedrecords":
            return _unprocessed(job, folder, header, eol)
        key, name, prefix = {
            "successfulresults": ("success", ingest.SUCCESS, ("sf__Id", "sf__Created")),
            "failedresults": ("failed", ingest.FAILURES, ("sf__Id", "sf__Error")),
        }[which]
        size = job.checkpoint.get(key)
        if not size:
            text = csvio.result_header(prefix, job.header or "", job.column_delimiter, job.line_ending)
            return iter([text.encode()])
        return _file_range(folder / name, 0, size)

    def query_page(self, org: Org, job_id: str, locator: str | None, max_records: int | None) -> query.Page:
        job = self.job(org, "query", job_id)
        if job.state != JOB_COMPLETE:
            raise invalid_state(f"Query job {job.id} is not in JobComplete state; its state is {job.state}")
        offset = 0
        if locator:
            decoded = query.decode_locator(locator)
            if decoded is None or decoded > job.processed:
                raise SalesforceError("INVALID_LOCATOR", f"Invalid locator: {locator}")
            offset = decoded
        size = max_records if max_records and max_records > 0 else DEFAULT_MAX_RECORDS
        return query.Page(self.jobs.dir(job.id), job.processed, offset, size)

    # --- the worker pool ---------------------------------------------------------------

    def _enqueue(self, job_id: str) -> None:
        self._pool.submit(job_id)

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no job is queued or running (tests, benchmarks)."""
        return self._pool.wait_idle(timeout)

    def _run(self, job_id: str) -> None:
        with self.instance.store.write():
            job = self.jobs.get(job_id)
            if job is None or job.state not in (UPLOAD_COMPLETE, IN_PROGRESS):
                return
            if job.state == IN_PROGRESS:
                job.retries += 1  # resumed after a restart
            job.state = IN_PROGRESS
            org = self.instance.org(job.org_id)
            job.system_modstamp = self._now(org)
            self.jobs.save(job)
        if job.kind == "query":
            query.run(org, self.jobs, job)
        else:
            ingest.IngestRun(org, self.jobs, job).run()


def _read_header(path: Path, delimiter: str) -> tuple[str, int]:
    """The raw header line (terminator stripped) and the offset of the first data row."""
    with open(path, "rb") as f:
        try:
            first = next(csvio.rows_with_offsets(f, delimiter), None)
        except csvio.CsvFormatError:
            first = None
        end = first[1] if first else 0
        f.seek(0)
        raw = f.read(end)
    return raw.rstrip(b"\r\n").decode("utf-8", errors="replace"), end


def _file_range(path: Path, start: int, stop: int | None, chunk: int = 1 << 16) -> Iterator[bytes]:
    with open(path, "rb") as f:
        f.seek(start)
        remaining = None if stop is None else stop - start
        while remaining is None or remaining > 0:
            piece = f.read(chunk if remaining is None else min(chunk, remaining))
            if not piece:
                return
            if remaining is not None:
                remaining -= len(piece)
            yield piece


def _unprocessed(job: Job, folder: Path, header: bytes, eol: bytes) -> Iterator[bytes]:
    if job.header is None:
        return iter([b""])
    head = [header + eol]
    if job.state == JOB_COMPLETE:
        return iter(head)
    offset = job.checkpoint.get("offset", job.data_offset)
    return itertools.chain(head, _file_range(folder / ingest.UPLOAD, offset, None))


def _list_locator_id() -> str:
    id15 = "01g" + "".join(secrets.choice(ids.BASE62) for _ in range(12))
    return id15 + ids.checksum(id15)


_services: weakref.WeakKeyDictionary[Any, BulkService] = weakref.WeakKeyDictionary()
_services_lock = threading.Lock()


def _closed(instance: Instance) -> bool:
    return bool(getattr(instance.store, "_closed", False))


def service_for(instance: Instance) -> BulkService:
    """The instance's Bulk service (created, and its unfinished jobs resumed, on first use)."""
    with _services_lock:
        service = _services.get(instance)
        if service is None:
            service = _services[instance] = BulkService(instance)
        return service


__all__ = ["TERMINAL", "BulkService", "service_for"]

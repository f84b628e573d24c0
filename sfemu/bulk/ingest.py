"""Processing of an ingest job: the uploaded CSV, row by row, through the domain ``Org`` API.

Rows are read lazily from the upload file and written in transactions of 200 records (the
chunk Salesforce runs triggers on); every record runs in its own savepoint, so a failing record
fails alone. After each chunk the result rows are appended to ``success.csv`` / ``failed.csv``
and the job's checkpoint (upload offset, result file sizes, counters) is saved in the same
transaction as the chunk's records.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sfemu import ids
from sfemu.bulk import csvio
from sfemu.bulk.jobs import ABORTED, FAILED, JOB_COMPLETE, Job, JobStore
from sfemu.errors import SalesforceError
from sfemu.timeutil import format_datetime

if TYPE_CHECKING:
    from sfemu.org import Org

log = logging.getLogger("sfemu.bulk")

CHUNK = 200  # records per transaction
UPLOAD = "upload.csv"
SUCCESS = "success.csv"
FAILURES = "failed.csv"


def error_text(exc: SalesforceError) -> str:
    """``sf__Error``: ``CODE:message:fields --`` (``CODE:message:--`` without fields)."""
    fields = " ".join(exc.fields or [])
    return f"{exc.error_code}:{exc.message}:{fields + ' ' if fields else ''}--"


def bulk_error(exc: SalesforceError) -> SalesforceError:
    """REST-flavoured domain errors reworded as the SOAP/Bulk DML result says them."""
    if exc.error_code == "NOT_FOUND":
        return SalesforceError("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", fields=[])
    return exc


class Columns:
    """The uploaded header resolved against the object."""

    def __init__(self, org: Org, job: Job, names: list[str]) -> None:
        schema = org.schema
        obj = schema.require(job.object)
        fields = schema.fields_by_lower(obj.name)
        self.names = names
        self.id_index: int | None = None
        self.ext_index: int | None = None
        seen: set[str] = set()
        for i, name in enumerate(names):
            key = name.strip().lower()
            if key in seen:
                raise csvio.CsvFormatError(f"InvalidBatch : Duplicate field name: {name}")
            seen.add(key)
            spec = fields.get(key)
            if spec is None:
                rel, dot, _ = name.strip().partition(".")
                if not dot or schema.relationship_field(obj, rel) is None:
                    raise csvio.CsvFormatError(f"InvalidBatch : Field name not found : {name}")
            elif spec.name == "Id":
                self.id_index = i
            if job.external_id_field and key == job.external_id_field.lower():
                self.ext_index = i
        if job.operation in ("delete", "hardDelete") and self.id_index is None:
            raise csvio.CsvFormatError("InvalidBatch : Field name not found : Id")

    def values(self, row: list[str], skip: int | None = None) -> dict[str, Any]:
        """Field map of a row: empty cells are left out, ``#N/A`` is null."""
        out: dict[str, Any] = {}
        for i, (name, value) in enumerate(zip(self.names, row, strict=False)):
            if value == "" or i == skip:
                continue
            out[name.strip()] = None if value == csvio.NULL_MARKER else value
        return out


def operation(org: Org, job: Job, cols: Columns) -> Callable[[list[str]], tuple[str, bool]]:
    """The per-row DML of the job's operation: row → (record id, created)."""
    user = job.created_by
    sobject = job.object

    def row_id(row: list[str], what: str) -> str:
        value = row[cols.id_index] if cols.id_index is not None and cols.id_index < len(row) else ""
        if value == "":
            raise SalesforceError("MISSING_ARGUMENT", f"Id not specified in {what} call", fields=[])
        return value

    def insert(row: list[str]) -> tuple[str, bool]:
        return org.create(sobject, cols.values(row), user_id=user, input_format="csv"), True

    def update(row: list[str]) -> tuple[str, bool]:
        rid = row_id(row, "an update")
        org.update(sobject, rid, cols.values(row, cols.id_index), user_id=user, input_format="csv")
        return ids.normalize(rid) or rid, False

    def upsert(row: list[str]) -> tuple[str, bool]:
        ext = job.external_id_field or "Id"
        value = row[cols.ext_index] if cols.ext_index is not None and cols.ext_index < len(row) else None
        values = cols.values(row, cols.ext_index)
        return org.upsert(sobject, ext, value or None, values, user_id=user, input_format="csv")

    def delete(row: list[str]) -> tuple[str, bool]:
        rid = row_id(row, "a delete")
        org.delete(rid, user_id=user, sobject=sobject, hard=job.operation == "hardDelete")
        return ids.normalize(rid) or rid, False

    table = {"insert": insert, "update": update, "upsert": upsert, "delete": delete, "hardDelete": delete}
    return table[job.operation]


class IngestRun:
    """Runs (or resumes) one ingest job in a worker thread."""

    def __init__(self, org: Org, jobs: JobStore, job: Job) -> None:
        self.org = org
        self.jobs = jobs
        self.job = job
        self.dir: Path = jobs.dir(job.id)
        self.started = time.monotonic()
        self.base_total = job.total_ms
        self.base_api = job.api_ms
        self.api_seconds = 0.0

    def run(self) -> None:
        job = self.job
        try:
            cols = Columns(self.org, job, self._header())
        except csvio.CsvFormatError as exc:
            self._finish(FAILED, str(exc))
            return
        except SalesforceError as exc:
            self._finish(FAILED, f"InvalidBatch : {exc.message}")
            return
        op = operation(self.org, job, cols)
        cp = job.checkpoint
        paths = {"success": self.dir / SUCCESS, "failed": self.dir / FAILURES}
        for key, path in paths.items():
            with open(path, "a+b") as f:
                f.truncate(cp.get(key, 0))  # drop rows of a chunk that never committed
        sep, eol = job.column_delimiter, job.line_ending
        with (
            open(self.dir / UPLOAD, "rb") as upload,
            open(paths["success"], "a", encoding="utf-8", newline="") as ok_file,
            open(paths["failed"], "a", encoding="utf-8", newline="") as bad_file,
        ):
            if ok_file.tell() == 0:
                ok_file.write(csvio.result_header(("sf__Id", "sf__Created"), job.header or "", sep, eol))
            if bad_file.tell() == 0:
                bad_file.write(csvio.result_header(("sf__Id", "sf__Error"), job.header or "", sep, eol))
            self.ok_file, self.bad_file = ok_file, bad_file
            self.ok = csvio.ResultWriter(ok_file, sep, eol)
            self.bad = csvio.ResultWriter(bad_file, sep, eol)
            upload.seek(cp.get("offset", job.data_offset))
            rows = csvio.rows_with_offsets(upload, job.column_delimiter)
            try:
                while not self._chunk(rows, op):
                    pass
            except csvio.CsvFormatError as exc:
                self._finish(FAILED, str(exc))
                return
        if self.job.state != ABORTED:
            self._finish(JOB_COMPLETE, None)

    def _header(self) -> list[str]:
        with open(self.dir / UPLOAD, "rb") as upload:
            csvio.header_line(upload.read(1 << 16), self.job.line_ending)
            upload.seek(0)
            first = next(csvio.rows_with_offsets(upload, self.job.column_delimiter), None)
        if first is None or not any(first[0]):
            raise csvio.CsvFormatError("InvalidBatch : Records not found")
        return first[0]

    def _chunk(
        self, rows: Iterator[tuple[list[str], int]], op: Callable[[list[str]], tuple[str, bool]]
    ) -> bool:
        """Up to CHUNK rows in one transaction; True when the job has nothing more to do."""
        job, org = self.job, self.org
        with org.transaction(), org.stamper.shared():
            current = self.jobs.get(job.id)
            if current is None or current.state == ABORTED:
                job.state = ABORTED
                return True
            t0 = time.monotonic()
            offset, count, exhausted = None, 0, True
            for row, end in rows:
                offset = end
                if not row or row == [""]:
                    continue
                self._one(row, op)
                count += 1
                if count >= CHUNK:
                    exhausted = False
                    break
            self.api_seconds += time.monotonic() - t0
            self.ok_file.flush()
            self.bad_file.flush()
            if offset is not None:
                job.checkpoint = {
                    "offset": offset,
                    "success": self.ok_file.tell(),
                    "failed": self.bad_file.tell(),
                }
            job.total_ms = self.base_total + int((time.monotonic() - self.started) * 1000)
            job.api_ms = self.base_api + int(self.api_seconds * 1000)
            job.system_modstamp = format_datetime(org.now())
            self.jobs.save(job)
        return exhausted

    def _one(self, row: list[str], op: Callable[[list[str]], tuple[str, bool]]) -> None:
        job, org = self.job, self.org
        job.processed += 1
        try:
            with org.transaction():
                rid, created = op(row)
        except SalesforceError as exc:
            self.bad.row(["", error_text(bulk_error(exc)), *row])
            job.failed += 1
        except Exception:  # a domain bug fails the record, not the job
            log.exception("bulk row failed unexpectedly (job %s)", job.id)
            self.bad.row(["", "UNKNOWN_EXCEPTION:An unexpected error occurred.:--", *row])
            job.failed += 1
        else:
            self.ok.row([rid, "true" if created else "false", *row])

    def _finish(self, state: str, message: str | None) -> None:
        with self.org.store.write():
            current = self.jobs.get(self.job.id)
            if current is None or current.state == ABORTED:
                return
            job = self.job
            job.state = state
            job.error_message = message
            job.total_ms = self.base_total + int((time.monotonic() - self.started) * 1000)
            job.system_modstamp = format_datetime(self.org.now())
            self.jobs.save(job)

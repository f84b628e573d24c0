"""Bulk API 2.0 jobs: their persisted state, where their files live, and their JSON shapes.

Job metadata lives in a ``bulk_jobs`` table of the instance's SQLite store, so the runner can
record its progress (``checkpoint``) in the same transaction as the records it wrote: a job
interrupted by a restart resumes exactly where its last committed chunk ended. Uploaded CSV and
result files live next to the store (``<data_dir>/bulk/<jobId>/``; the store's temporary dir
for an in-memory instance).
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from sfemu.store import Store

DDL = """
CREATE TABLE IF NOT EXISTS bulk_jobs (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, org_id TEXT NOT NULL,
    kind TEXT NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS bulk_jobs_by_org ON bulk_jobs (org_id, kind, seq);
"""

OPEN = "Open"
UPLOAD_COMPLETE = "UploadComplete"
IN_PROGRESS = "InProgress"
JOB_COMPLETE = "JobComplete"
FAILED = "Failed"
ABORTED = "Aborted"
TERMINAL = frozenset({JOB_COMPLETE, FAILED, ABORTED})
INGEST_OPERATIONS = ("insert", "update", "upsert", "delete", "hardDelete")
QUERY_OPERATIONS = ("query", "queryAll")


@dataclass
class Job:
    """One ingest or query job (``kind`` "ingest" / "query")."""

    id: str
    org_id: str
    kind: str
    operation: str
    object: str
    created_by: str
    created_date: str
    system_modstamp: str
    state: str
    api_version: str  # "62.0"
    line_ending: str = "LF"
    column_delimiter: str = "COMMA"
    external_id_field: str | None = None
    query: str | None = None
    processed: int = 0
    failed: int = 0
    retries: int = 0
    total_ms: int = 0
    api_ms: int = 0
    error_message: str | None = None
    uploads: int = 0  # PUTs received (only one is allowed before closing)
    upload_bytes: int = 0
    header: str | None = None  # the uploaded header line, exactly as sent
    data_offset: int = 0  # byte offset of the first data row in upload.csv
    checkpoint: dict[str, int] = field(default_factory=dict)  # offset, success, failed (bytes)

    @property
    def is_terminal(self) -> bool:
        return self.state in TERMINAL

    def to_json(self) -> str:
        return json.dumps(asdict(self), separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Job:
        return cls(**json.loads(text))

    # --- JSON shapes (key order as real Salesforce sends them) ------------------------------

    def _head(self) -> dict[str, Any]:
        body: dict[str, Any] = {
            "id": self.id,
            "operation": self.operation,
            "object": self.object,
            "createdById": self.created_by,
            "createdDate": self.created_date,
            "systemModstamp": self.system_modstamp,
            "state": self.state,
        }
        if self.external_id_field:
            body["externalIdFieldName"] = self.external_id_field
        body["concurrencyMode"] = "Parallel"
        body["contentType"] = "CSV"
        body["apiVersion"] = float(self.api_version)
        return body

    def content_url(self) -> str:
        return f"services/data/v{self.api_version}/jobs/ingest/{self.id}/batches"

    def created_info(self) -> dict[str, Any]:
        """Answer of ``POST /jobs/ingest`` and ``POST /jobs/query`` (no jobType)."""
        body = self._head()
        if self.kind == "ingest":
            body["contentUrl"] = self.content_url()
        body["lineEnding"] = self.line_ending
        body["columnDelimiter"] = self.column_delimiter
        return body

    def patched_info(self) -> dict[str, Any]:
        """Answer of ``PATCH`` (close/abort): the short form."""
        return self._head()

    def list_entry(self) -> dict[str, Any]:
        body = self._head()
        body["jobType"] = self.job_type
        body["lineEnding"] = self.line_ending
        body["columnDelimiter"] = self.column_delimiter
        return body

    @property
    def job_type(self) -> str:
        return "V2Ingest" if self.kind == "ingest" else "V2Query"

    def info(self) -> dict[str, Any]:
        """``GET /jobs/ingest/{id}`` / ``GET /jobs/query/{id}``."""
        body = self._head()
        body["jobType"] = self.job_type
        if self.kind == "ingest" and self.state == OPEN:
            body["contentUrl"] = self.content_url()
        body["lineEnding"] = self.line_ending
        body["columnDelimiter"] = self.column_delimiter
        if self.kind == "query":
            body["numberRecordsProcessed"] = self.processed
            body["retries"] = self.retries
            body["totalProcessingTime"] = self.total_ms
        else:
            if self.uploads or self.state != OPEN:
                body["numberRecordsProcessed"] = self.processed
                body["numberRecordsFailed"] = self.failed
            body["retries"] = self.retries
            body["totalProcessingTime"] = self.total_ms
            body["apiActiveProcessingTime"] = self.api_ms
            body["apexProcessingTime"] = 0
        if self.error_message is not None:
            body["errorMessage"] = self.error_message
        return body


class JobStore:
    """``bulk_jobs`` rows and per-job directories."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.base = store.path.parent / "bulk"
        self.base.mkdir(parents=True, exist_ok=True)
        with store.write() as conn:
            for statement in DDL.strip().split(";"):
                if statement.strip():
                    conn.execute(statement)

    def dir(self, job_id: str) -> Path:
        return self.base / job_id

    def insert(self, job: Job) -> None:
        self.dir(job.id).mkdir(parents=True, exist_ok=True)
        with self.store.write() as conn:
            conn.execute(
                "INSERT INTO bulk_jobs (id, org_id, kind, data) VALUES (?, ?, ?, ?)",
                (job.id, job.org_id, job.kind, job.to_json()),
            )

    def save(self, job: Job) -> None:
        """Write ``job`` (inside the caller's transaction when there is one)."""
        with self.store.write() as conn:
            conn.execute("UPDATE bulk_jobs SET data=? WHERE id=?", (job.to_json(), job.id))

    def get(self, job_id: str) -> Job | None:
        row = self.store.conn.execute("SELECT data FROM bulk_jobs WHERE id=?", (job_id,)).fetchone()
        return Job.from_json(row[0]) if row else None

    def list(self, org_id: str, kind: str, after_seq: int, limit: int) -> list[tuple[int, Job]]:
        rows = self.store.conn.execute(
            "SELECT seq, data FROM bulk_jobs WHERE org_id=? AND kind=? AND seq>? ORDER BY seq LIMIT ?",
            (org_id, kind, after_seq, limit),
        ).fetchall()
        return [(seq, Job.from_json(data)) for seq, data in rows]

    def unfinished(self) -> list[Job]:
        rows = self.store.conn.execute("SELECT data FROM bulk_jobs ORDER BY seq").fetchall()
        jobs = [Job.from_json(r[0]) for r in rows]
        return [j for j in jobs if j.state in (UPLOAD_COMPLETE, IN_PROGRESS)]

    def delete(self, job_id: str) -> None:
        with self.store.write() as conn:
            conn.execute("DELETE FROM bulk_jobs WHERE id=?", (job_id,))
        shutil.rmtree(self.dir(job_id), ignore_errors=True)

"""Query jobs: SOQL validated at creation, run by a worker, results paged by locator.

The result CSV is written once (header + rows, every value quoted, relationship columns
flattened as ``Account.Name``) with a side index of row byte offsets, so any page
(``locator`` = base64 of the row offset, as Salesforce's ``MTAwMDA``) is a seek and a read.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import struct
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sfemu.bulk import csvio
from sfemu.bulk.jobs import ABORTED, FAILED, JOB_COMPLETE, Job, JobStore
from sfemu.errors import SalesforceError
from sfemu.soql import ast, execute, parse
from sfemu.soql.resolve import Context
from sfemu.soql_source import OrgDataSource
from sfemu.timeutil import format_datetime

if TYPE_CHECKING:
    from sfemu.org import Org

RESULTS = "results.csv"
SLICE = 2000  # rows run through the executor at a time
INDEX = "results.idx"
COMPOUND = frozenset({"address", "location"})
_OFFSET = struct.Struct("<q")


def api_error(message: str) -> SalesforceError:
    return SalesforceError("API_ERROR", message)


def plan(org: Org, soql: str, api_version: str) -> tuple[ast.Query, list[tuple[str, tuple[str, ...], str]]]:
    """Validate a Bulk query; (parsed query, [(column header, record path, field type)])."""
    query = parse(soql)
    if query.is_count or query.is_aggregate:
        raise api_error("Aggregate queries are not supported by Bulk API 2.0")
    source = OrgDataSource(org, api_version)
    execute(query, source, api_version=api_version, root_rows=[])  # names, WHERE, ORDER BY
    ctx = Context(source, query.text, include_deleted=False, api_version=api_version)
    obj = ctx.object_info(query.sobject, query.sobject_pos)
    columns: list[tuple[str, tuple[str, ...], str]] = []
    for item in query.select:
        if isinstance(item, ast.SubQuery):
            raise api_error("Bulk API 2.0 doesn't support nested (parent-to-child) queries")
        refs = [item] if isinstance(item, ast.FieldRef) else []
        if isinstance(item, ast.FieldsMacro):
            refs = [
                ast.FieldRef((info.name,), pos=item.pos)
                for info in obj.fields.values()
                if item.kind == "ALL" or info.name.endswith("__c") == (item.kind == "CUSTOM")
            ]
        for ref in refs:
            resolved = ctx.resolve(obj, ref)
            path = resolved.out_path
            columns.append((".".join(path), path, resolved.leaf.type))
    return query, columns


def cell(record: dict[str, Any], path: tuple[str, ...]) -> str:
    value: Any = record
    for key in path:
        if not isinstance(value, dict):
            return ""
        value = value.get(key)
    return csvio.format_value(value)


def record_batches(org: Org, parsed: ast.Query, job: Job) -> Iterator[list[dict]]:
    """The query's records, a bounded batch at a time when the query allows it.

    Without ORDER BY / LIMIT / OFFSET the result is the filter applied row by row, so the object's
    rows are streamed from the store and run through the executor in slices of ``SLICE``
    (memory stays flat however many rows match); otherwise the query runs whole.
    """
    include_deleted = job.operation == "queryAll" or parsed.all_rows
    version = job.api_version
    source = OrgDataSource(org, version)
    if parsed.order_by or parsed.limit is not None or parsed.offset is not None:
        yield execute(parsed, source, include_deleted=include_deleted, api_version=version).records
        return
    rows = source.rows(parsed.sobject, include_deleted=include_deleted)
    while True:
        chunk = list(itertools.islice(rows, SLICE))
        if not chunk:
            return
        yield execute(
            parsed, source, include_deleted=include_deleted, api_version=version, root_rows=chunk
        ).records


def run(org: Org, jobs: JobStore, job: Job) -> None:
    """Execute the query and write the result file (or fail the job)."""
    started = time.monotonic()
    folder = jobs.dir(job.id)
    sep, eol = csvio.DELIMITERS[job.column_delimiter], csvio.LINE_ENDINGS[job.line_ending]
    quote = csvio.quote
    total = 0
    try:
        parsed, columns = plan(org, job.query or "", job.api_version)
        if any(kind in COMPOUND for _, _, kind in columns):
            raise api_error("Selecting compound data not supported in Bulk Query")
        paths = [path for _, path, _ in columns]
        with open(folder / RESULTS, "wb") as out, open(folder / INDEX, "wb") as index:
            position = out.write((sep.join(quote(name) for name, _, _ in columns) + eol).encode())
            for records in record_batches(org, parsed, job):
                for record in records:
                    index.write(_OFFSET.pack(position))
                    position += out.write((sep.join([quote(cell(record, p)) for p in paths]) + eol).encode())
                total += len(records)
    except SalesforceError as exc:
        _finish(org, jobs, job, FAILED, exc.message, 0, started)
        return
    _finish(org, jobs, job, JOB_COMPLETE, None, total, started)


def _finish(
    org: Org, jobs: JobStore, job: Job, state: str, message: str | None, n: int, started: float
) -> None:
    with org.store.write():
        current = jobs.get(job.id)
        if current is None or current.state == ABORTED:
            return
        job.state = state
        job.error_message = message
        job.processed = n
        job.total_ms = int((time.monotonic() - started) * 1000)
        job.system_modstamp = format_datetime(org.now())
        jobs.save(job)


def encode_locator(offset: int) -> str:
    return base64.b64encode(str(offset).encode()).decode().rstrip("=")


def decode_locator(locator: str) -> int | None:
    try:
        text = base64.b64decode(locator + "=" * (-len(locator) % 4), validate=True).decode()
        return int(text) if text.isdigit() else None
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None


class Page:
    """One page of query results: count, next locator, and a byte stream of the CSV."""

    def __init__(self, folder: Path, total: int, offset: int, max_records: int) -> None:
        self.folder = folder
        self.offset = min(offset, total)
        self.end = min(total, self.offset + max_records)
        self.count = self.end - self.offset
        self.locator = encode_locator(self.end) if self.end < total else "null"
        self.total = total

    def _row_start(self, index: Any, row: int) -> int | None:
        if row >= self.total:
            return None
        index.seek(row * _OFFSET.size)
        return _OFFSET.unpack(index.read(_OFFSET.size))[0]

    def stream(self, chunk: int = 1 << 16) -> Iterator[bytes]:
        with open(self.folder / INDEX, "rb") as index, open(self.folder / RESULTS, "rb") as data:
            first = self._row_start(index, 0)
            header = data.read(first) if first is not None else data.read()
            yield header
            if self.count == 0:
                return
            start = self._row_start(index, self.offset)
            stop = self._row_start(index, self.end)
            data.seek(start or 0)
            remaining = None if stop is None else stop - (start or 0)
            while remaining is None or remaining > 0:
                piece = data.read(chunk if remaining is None else min(chunk, remaining))
                if not piece:
                    return
                if remaining is not None:
                    remaining -= len(piece)
                yield piece

"""Bulk API 2.0 calls of SalesforceClient: one method per HTTP call, each metered as one call.

Kept apart from client.py for size; `BulkMixin` methods run through the client's `_call`, so
token refresh, usage recording and error mapping are the same as for every other call.
"""

import csv
import io
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import IO, Any

from simple_salesforce.exceptions import SalesforceExpiredSession

from connections.client_errors import error_from_body

TERMINAL_STATES = {"JobComplete", "Failed", "Aborted"}


@dataclass(frozen=True)
class QueryResultsPage:
    csv: str
    locator: str | None  # None on the last page
    records: int


class BulkMixin:
    """Bulk API 2.0 ingest and query jobs (needs `_call`, `_session`, `org`, `_sf` of the client)."""

    def bulk_ingest_create(self, sobject: str, operation: str, *, external_id_field: str = "") -> dict:
        body = {"object": sobject, "operation": operation, "contentType": "CSV", "lineEnding": "LF"}
        if external_id_field:
            body["externalIdFieldName"] = external_id_field
        return self._bulk("POST", "jobs/ingest", json=body).json()

    def bulk_ingest_upload(self, job_id: str, csv_data: bytes | IO[bytes]) -> None:
        self._bulk(
            "PUT", f"jobs/ingest/{job_id}/batches", data=csv_data, headers={"Content-Type": "text/csv"}
        )

    def bulk_ingest_close(self, job_id: str) -> dict:
        return self._bulk("PATCH", f"jobs/ingest/{job_id}", json={"state": "UploadComplete"}).json()

    def bulk_job(self, job_id: str, *, query: bool = False) -> dict:
        return self._bulk("GET", f"jobs/{'query' if query else 'ingest'}/{job_id}").json()

    def bulk_abort(self, job_id: str, *, query: bool = False) -> dict:
        path = f"jobs/{'query' if query else 'ingest'}/{job_id}"
        return self._bulk("PATCH", path, json={"state": "Aborted"}).json()

    def bulk_ingest_results(self, job_id: str, which: str) -> str:
        """CSV of `successfulResults`, `failedResults` or `unprocessedrecords`."""
        if which not in ("successfulResults", "failedResults", "unprocessedrecords"):
            raise ValueError(f"unknown result set {which!r}")
        return self._bulk("GET", f"jobs/ingest/{job_id}/{which}/").text

    def bulk_query_create(self, soql: str, *, include_deleted: bool = False) -> dict:
        body = {"operation": "queryAll" if include_deleted else "query", "query": soql, "contentType": "CSV"}
        return self._bulk("POST", "jobs/query", json=body).json()

    def bulk_query_results(
        self, job_id: str, *, locator: str | None = None, max_records: int = 50_000
    ) -> QueryResultsPage:
        params: dict[str, Any] = {"maxRecords": max_records}
        if locator:
            params["locator"] = locator
        response = self._bulk("GET", f"jobs/query/{job_id}/results", params=params)
        next_locator = response.headers.get("Sforce-Locator")
        return QueryResultsPage(
            csv=response.text,
            locator=None if next_locator in (None, "", "null") else next_locator,
            records=int(response.headers.get("Sforce-NumberOfRecords", "0")),
        )

    @contextmanager
    def bulk_query_stream(
        self, job_id: str, *, locator: str | None = None, max_records: int = 50_000
    ) -> Iterator["CsvStream"]:
        """One page of a query job's results as rows read off the wire (never the whole page in
        memory); `locator` of the stream is the next page's, None on the last."""
        params: dict[str, Any] = {"maxRecords": max_records}
        if locator:
            params["locator"] = locator
        response = self._bulk("GET", f"jobs/query/{job_id}/results", params=params, stream=True)
        next_locator = response.headers.get("Sforce-Locator")
        with _csv_stream(response) as rows:
            yield CsvStream(rows, None if next_locator in (None, "", "null") else next_locator)

    @contextmanager
    def bulk_ingest_results_stream(self, job_id: str, which: str) -> Iterator["CsvStream"]:
        """`successfulResults` or `failedResults` of an ingest job, row by row."""
        if which not in ("successfulResults", "failedResults", "unprocessedrecords"):
            raise ValueError(f"unknown result set {which!r}")
        response = self._bulk("GET", f"jobs/ingest/{job_id}/{which}/", stream=True)
        with _csv_stream(response) as rows:
            yield CsvStream(rows, None)

    def _bulk(self, method: str, path: str, **kwargs):
        return self._call("bulk", lambda sf: self._bulk_request(sf, method, path, **kwargs))

    def _bulk_request(self, sf, method: str, path: str, headers: dict | None = None, **kwargs):
        url = f"{self.org.instance_url}/services/data/v{self.org.api_version}/{path}"
        all_headers = {"Authorization": f"Bearer {sf.session_id}", **(headers or {})}
        if hasattr(kwargs.get("data"), "seek"):
            kwargs["data"].seek(0)  # a file upload sent again after a token refresh starts over
        response = self._session.request(method, url, headers=all_headers, **kwargs)
        if response.status_code == 401:
            raise SalesforceExpiredSession(url, 401, path, [])
        if response.status_code >= 400:
            raise _bulk_error(response)
        return response


@dataclass
class CsvStream:
    rows: Iterator[dict[str, str]]
    locator: str | None


@contextmanager
def _csv_stream(response) -> Iterator[Iterator[dict[str, str]]]:
    try:
        response.raw.decode_content = True
        text: IO[str] = io.TextIOWrapper(response.raw, encoding="utf-8", newline="")
        yield csv.DictReader(text)
    finally:
        response.close()


def _bulk_error(response):
    try:
        body = response.json()
    except ValueError:
        body = []
    return error_from_body(
        response.status_code, body, fallback=f"Bulk API answered HTTP {response.status_code}"
    )

"""SalesforceClient: the only door to an org.

Built from an Org, it talks through simple-salesforce over the session of connections.http
(TLS trust, timeouts, bounded HTTP retries). On an expired session it gets a new token once by
the org's own method, seals it, and repeats the call. It records the org's API usage from
`Sforce-Limit-Info`, counts its calls (tests and benchmarks read `calls`), and turns every
failure into one of the exceptions in connections.client_errors.
"""

import io
import json
import logging
import os
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import IO, Any, TypeVar
from urllib.parse import quote_plus
from xml.sax.saxutils import escape

import requests
from django.utils import timezone
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import SalesforceError, SalesforceExpiredSession

from connections import oauth
from connections.bulk import BulkMixin
from connections.client_errors import (
    AuthenticationError,
    RecordResult,
    RetryableError,
    SalesforceApiError,
    error_for,
    error_from_body,
)
from connections.errors import CredentialsUnreadable
from connections.http import build_session
from connections.metadata_api import MetadataMixin
from connections.models import Org
from connections.soap import parse_undelete_response

logger = logging.getLogger(__name__)
T = TypeVar("T")
COLLECTION_SIZE = 200
MAX_COMPOSITE_COLLECTIONS = 5
MAX_COMPOSITE_QUERIES = 5  # Salesforce allows five queries in one composite request
USAGE_SAVE_INTERVAL_SECONDS = 10.0
BLOB_CHUNK_BYTES = 256 * 1024  # file bodies move in chunks of this size, never whole

_calls_lock = threading.Lock()
_calls_by_org: dict[str, Counter] = {}


def api_calls(org: Org) -> Counter:
    """API calls made to `org` by this process, by kind (a copy)."""
    with _calls_lock:
        return Counter(_calls_by_org.get(str(org.pk), Counter()))


def reset_api_calls(org: Org | None = None) -> None:
    with _calls_lock:
        if org is None:
            _calls_by_org.clear()
        else:
            _calls_by_org.pop(str(org.pk), None)


@dataclass(frozen=True)
class CollectionWrite:
    """One collection call inside a composite request."""

    method: str  # POST create, PATCH update/upsert, DELETE delete
    path: str  # e.g. "composite/sobjects" or "composite/sobjects/Account/OrgSync_Source_Id__c"
    records: list[dict]

    def body(self) -> dict | None:
        return {"allOrNone": False, "records": self.records} if self.method != "DELETE" else None


class MultipartBody(io.RawIOBase):
    """A `multipart/form-data` insert body read straight from a file: the `entity_content` JSON
    part, then the file part. requests sends it by `read()` with a Content-Length (`__len__`),
    and urllib3 rewinds it (`seek`) when it retries, so the file is never held in memory."""

    def __init__(self, entity: dict, field: str, filename: str, file: IO[bytes]) -> None:
        super().__init__()
        self.boundary = uuid.uuid4().hex
        head = (
            f"--{self.boundary}\r\n"
            'Content-Disposition: form-data; name="entity_content"\r\n'
            "Content-Type: application/json\r\n\r\n"
            f"{json.dumps(entity)}\r\n--{self.boundary}\r\n"
            f'Content-Disposition: form-data; name="{field}"; filename="{quote_plus(filename)}"\r\n'
            "Content-Type: application/octet-stream\r\n\r\n"
        ).encode()
        tail = f"\r\n--{self.boundary}--\r\n".encode()
        file.seek(0)
        self._parts: list[IO[bytes]] = [io.BytesIO(head), file, io.BytesIO(tail)]
        self._sizes = [len(head), os.fstat(file.fileno()).st_size, len(tail)]
        self._position = 0

    @property
    def content_type(self) -> str:
        return f"multipart/form-data; boundary={self.boundary}"

    def __len__(self) -> int:
        return sum(self._sizes)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._position

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        """Only rewinds and end-of-body seeks are needed (urllib3, requests' length probe)."""
        self._position = len(self) if whence == io.SEEK_END else offset
        start = 0
        for part, size in zip(self._parts, self._sizes, strict=True):
            part.seek(min(max(self._position - start, 0), size))
            start += size
        return self._position

    def read(self, size: int = -1) -> bytes:
        wanted = len(self) - self._position if size is None or size < 0 else size
        chunks, start = [], 0
        for part, length in zip(self._parts, self._sizes, strict=True):
            if wanted and self._position < start + length:
                chunk = part.read(min(wanted, start + length - self._position))
                chunks.append(chunk)
                self._position += len(chunk)
                wanted -= len(chunk)
            start += length
        return b"".join(chunks)


@dataclass(frozen=True)
class QueryPage:
    records: list[dict]
    total_size: int
    done: bool
    next_records_url: str | None


class SalesforceClient(BulkMixin, MetadataMixin):
    """One org, one client. Not thread-safe: give each worker thread its own."""

    def __init__(self, org: Org) -> None:
        if not org.access_token_sealed or not org.instance_url:
            raise AuthenticationError(f"Org “{org.label}” is not connected: connect it first.")
        self.org = org
        self.calls: Counter = Counter()
        # The org's clock when it began answering the last composite call (see composite()).
        self.last_server_time: datetime | None = None
        self._session = build_session(ca_bundle=org.ca_bundle)
        self._sf = self._simple_salesforce()
        self._usage_saved_at = 0.0

    def __repr__(self) -> str:
        return f"<SalesforceClient {self.org.label!r}>"

    # --- reads -----------------------------------------------------------------------------
    def identity(self) -> dict:
        return self._call("identity", lambda sf: self._get_json(self._identity_url()))

    def limits(self) -> dict:
        return self._call("limits", lambda sf: sf.limits())

    def describe_global(self) -> dict:
        return self._call("describe", lambda sf: sf.describe())

    def describe(self, sobject: str) -> dict:
        return self._call("describe", lambda sf: getattr(sf, sobject).describe())

    def query_page(self, soql: str, *, include_deleted: bool = False) -> QueryPage:
        answer = self._call("query", lambda sf: sf.query(soql, include_deleted=include_deleted))
        return self._page(answer)

    def query_more(self, next_records_url: str) -> QueryPage:
        answer = self._call("query", lambda sf: sf.query_more(next_records_url, identifier_is_url=True))
        return self._page(answer)

    def answer_records(
        self, answer: dict, *, what: str, before_page: Callable[[], None] | None = None
    ) -> list[dict]:
        """Every record of one `composite_queries` answer (`answer_pages`, in one list)."""
        return [
            record
            for page in self.answer_pages(answer, what=what, before_page=before_page)
            for record in page
        ]

    def answer_pages(
        self, answer: dict, *, what: str, before_page: Callable[[], None] | None = None
    ) -> Iterator[list[dict]]:
        """The records of one `composite_queries` answer page by page, following its further
        pages (one API call each; `before_page` runs before each, e.g. a writer's lease renewal).
        An error answer raises the mapped exception, its message prefixed with `what`."""
        if answer["httpStatusCode"] >= 400:
            raise error_from_body(
                answer["httpStatusCode"], answer.get("body"), fallback="query failed", prefix=f"{what}: "
            )
        yield list(answer["body"]["records"])
        next_url = answer["body"].get("nextRecordsUrl")
        while next_url:
            if before_page is not None:
                before_page()
            page = self.query_more(next_url)
            yield page.records
            next_url = page.next_records_url

    def query_records(self, soql: str, *, include_deleted: bool = False) -> Iterator[dict]:
        """Every record of a query, page by page (one API call per page)."""
        page = self.query_page(soql, include_deleted=include_deleted)
        yield from page.records
        while not page.done and page.next_records_url:
            page = self.query_more(page.next_records_url)
            yield from page.records

    def get(self, sobject: str, record_id: str) -> dict:
        return self._call("rows", lambda sf: getattr(sf, sobject).get(record_id))

    def get_updated(self, sobject: str, start: datetime, end: datetime) -> dict:
        return self._call("replication", lambda sf: getattr(sf, sobject).updated(start, end))

    def get_deleted(self, sobject: str, start: datetime, end: datetime) -> dict:
        return self._call("replication", lambda sf: getattr(sf, sobject).deleted(start, end))

    # --- writes ----------------------------------------------------------------------------
    def create(self, records: list[dict], *, all_or_none: bool = False) -> list[RecordResult]:
        """Insert up to 200 records (each with attributes.type) in one call."""
        return self._collection("POST", "composite/sobjects", records, all_or_none)

    def update(self, records: list[dict], *, all_or_none: bool = False) -> list[RecordResult]:
        """Update up to 200 records (each with attributes.type and Id) in one call."""
        return self._collection("PATCH", "composite/sobjects", records, all_or_none)

    def upsert(
        self, sobject: str, external_id_field: str, records: list[dict], *, all_or_none: bool = False
    ) -> list[RecordResult]:
        """Upsert up to 200 records of one object on an external-ID field in one call."""
        return self._collection(
            "PATCH", f"composite/sobjects/{sobject}/{external_id_field}", records, all_or_none
        )

    def delete(self, ids: list[str], *, all_or_none: bool = False) -> list[RecordResult]:
        """Delete up to 200 records by Id in one call."""
        self._check_size(ids)
        query = f"ids={','.join(ids)}&allOrNone={str(all_or_none).lower()}"
        answer = self._call(
            "collections", lambda sf: sf.restful(f"composite/sobjects?{query}", method="DELETE")
        )
        return [RecordResult.from_json(item) for item in answer]

    def composite(self, subrequests: list[dict], *, all_or_none: bool = False) -> list[dict]:
        """Up to 25 subrequests (at most 5 queries) as one API call; returns compositeResponse.

        Sets `last_server_time` from the answer's HTTP `Date` header, free with the call: capture
        uses it as the org's time of its query (the org's clock, not ours, so skew does not count)."""
        body = {"allOrNone": all_or_none, "compositeRequest": subrequests}
        self.last_server_time = None
        answer = self._call(
            "composite",
            lambda sf: sf.restful(
                "composite", method="POST", json=body, hooks={"response": self._note_server_time}
            ),
        )
        return answer["compositeResponse"]

    def composite_queries(self, soqls: list[str], *, include_deleted: bool = False) -> list[dict]:
        """Up to five SOQL queries as one API call. Answers in input order, each with its
        `httpStatusCode` and `body` (records, nextRecordsUrl; or the error list)."""
        if not 1 <= len(soqls) <= MAX_COMPOSITE_QUERIES:
            raise ValueError(f"a composite call takes 1 to {MAX_COMPOSITE_QUERIES} queries")
        resource = "queryAll" if include_deleted else "query"
        base = f"/services/data/v{self.org.api_version}/{resource}/?q="
        return self.composite(
            [
                {"method": "GET", "url": base + quote_plus(q), "referenceId": f"q{i}"}
                for i, q in enumerate(soqls)
            ]
        )

    def composite_collections(self, writes: list[CollectionWrite]) -> list[list[RecordResult]]:
        """Up to 5 collection writes (≤200 records each) in one composite call: one API call
        writes up to 1,000 records. Results come back per write, in input order."""
        if not 1 <= len(writes) <= MAX_COMPOSITE_COLLECTIONS:
            raise ValueError(f"a composite call takes 1 to {MAX_COMPOSITE_COLLECTIONS} collection writes")
        base = f"/services/data/v{self.org.api_version}/"
        subrequests = [
            {"method": w.method, "url": base + w.path, "referenceId": f"w{i}", "body": w.body()}
            for i, w in enumerate(writes)
        ]
        answers = self.composite(subrequests)
        return [self._collection_answer(answer) for answer in answers]

    @staticmethod
    def _collection_answer(answer: dict) -> list[RecordResult]:
        body = answer.get("body")
        if answer.get("httpStatusCode", 500) >= 400 or not isinstance(body, list):
            raise error_from_body(answer.get("httpStatusCode"), body, fallback="composite subrequest failed")
        return [RecordResult.from_json(item) for item in body]

    def undelete(self, ids: list[str]) -> list[RecordResult]:
        """Restore records (and their cascade-deleted children) from the recycle bin (SOAP)."""
        self._check_size(ids)
        return self._call("soap", lambda sf: self._soap_undelete(sf, ids))

    def _soap_undelete(self, sf: Salesforce, ids: list[str]) -> list[RecordResult]:
        body = "".join(f"<urn:ids>{escape(i)}</urn:ids>" for i in ids)
        envelope = (
            '<?xml version="1.0" encoding="UTF-8"?>'
            '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
            'xmlns:urn="urn:partner.soap.sforce.com">'
            f"<soapenv:Header><urn:SessionHeader><urn:sessionId>{escape(sf.session_id)}</urn:sessionId>"
            f"</urn:SessionHeader></soapenv:Header><soapenv:Body><urn:undelete>{body}</urn:undelete>"
            "</soapenv:Body></soapenv:Envelope>"
        )
        url = f"{self.org.instance_url}/services/Soap/u/{self.org.api_version}"
        response = self._session.post(
            url,
            data=envelope.encode(),
            headers={"Content-Type": "text/xml; charset=UTF-8", "SOAPAction": "undelete"},
        )
        try:
            return parse_undelete_response(response)
        except AuthenticationError:
            # Same path as REST: one token refresh, then the call again (see _call).
            raise SalesforceExpiredSession(url, response.status_code, "undelete", []) from None

    # --- file bodies (base64 fields) --------------------------------------------------------
    def download_blob(self, sobject: str, record_id: str, field: str, sink: IO[bytes]) -> int:
        """Stream a base64 field (`ContentVersion.VersionData`, `Attachment.Body`) into `sink`
        chunk by chunk: one API call, never the whole body in memory. Returns the bytes written."""
        path = f"sobjects/{sobject}/{record_id}/{field}"
        return self._call("blob", lambda sf: self._stream_to(sf, sf.base_url + path, sink))

    def upload_blob(self, sobject: str, values: dict, field: str, filename: str, file: IO[bytes]) -> str:
        """Insert a record with its file body as a multipart request (the REST blob insert; up to
        2 GB for ContentVersion) streamed from `file` (a real file: its size is the part's
        length). One API call; returns the new record's Id."""
        return self._call("blob", lambda sf: self._post_multipart(sf, sobject, values, field, filename, file))

    def _stream_to(self, sf: Salesforce, url: str, sink: IO[bytes]) -> int:
        sink.seek(0)
        sink.truncate()
        with self._session.get(url, headers=self._bearer(sf), stream=True) as response:
            self._check_blob_answer(response, url)
            written = 0
            for chunk in response.iter_content(BLOB_CHUNK_BYTES):
                sink.write(chunk)
                written += len(chunk)
        return written

    def _post_multipart(
        self, sf: Salesforce, sobject: str, values: dict, field: str, filename: str, file: IO[bytes]
    ) -> str:
        url = f"{sf.base_url}sobjects/{sobject}/"
        body = MultipartBody(values, field, filename, file)
        headers = {**self._bearer(sf), "Content-Type": body.content_type}
        with self._session.post(url, data=body, headers=headers) as response:
            self._check_blob_answer(response, url)
            return response.json()["id"]

    @staticmethod
    def _bearer(sf: Salesforce) -> dict[str, str]:
        return {"Authorization": f"Bearer {sf.session_id}"}

    @staticmethod
    def _check_blob_answer(response: requests.Response, url: str) -> None:
        """An expired session goes back to `_call` (one token refresh); other errors are mapped."""
        if response.status_code == 401:
            raise SalesforceExpiredSession(url, 401, "blob", [])
        if response.status_code >= 400:
            try:
                body = response.json()
            except ValueError:
                body = None
            raise error_from_body(response.status_code, body, fallback=f"HTTP {response.status_code}")

    # --- tooling -------------------------------------------------------------------------
    def tooling_query(self, soql: str) -> list[dict]:
        answer = self._call("tooling", lambda sf: sf.toolingexecute(f"query/?q={quote_plus(soql)}"))
        return answer["records"]

    def create_custom_field(self, full_name: str, metadata: dict) -> str:
        """Create a custom field (e.g. "Account.OrgSync_Source_Id__c") through the Tooling API."""
        body = {"FullName": full_name, "Metadata": metadata}
        answer = self._call(
            "tooling", lambda sf: sf.toolingexecute("sobjects/CustomField/", method="POST", data=body)
        )
        return answer["id"]

    # --- plumbing --------------------------------------------------------------------------
    def _collection(
        self, method: str, path: str, records: list[dict], all_or_none: bool
    ) -> list[RecordResult]:
        self._check_size(records)
        body = {"allOrNone": all_or_none, "records": records}
        answer = self._call("collections", lambda sf: sf.restful(path, method=method, json=body))
        return [RecordResult.from_json(item) for item in answer]

    @staticmethod
    def _check_size(items: list) -> None:
        if not 1 <= len(items) <= COLLECTION_SIZE:
            raise ValueError(f"a collection call takes 1 to {COLLECTION_SIZE} records, not {len(items)}")

    def _call(self, kind: str, operation: Callable[[Salesforce], T]) -> T:
        try:
            return self._attempt(kind, operation)
        except SalesforceExpiredSession:
            self._refresh_token()
            try:
                return self._attempt(kind, operation)
            except SalesforceExpiredSession as exc:
                raise self._mapped(exc, AuthenticationError) from None

    def _attempt(self, kind: str, operation: Callable[[Salesforce], T]) -> T:
        self._count(kind)
        try:
            return operation(self._sf)
        except SalesforceExpiredSession:
            raise
        except SalesforceError as exc:
            raise self._mapped(exc) from None
        except requests.Timeout:
            raise RetryableError(f"{self.org.label} did not answer in time", error_code="TIMEOUT") from None
        except requests.ConnectionError as exc:
            raise RetryableError(
                f"{self.org.label} is unreachable ({exc.__class__.__name__})", error_code="UNREACHABLE"
            ) from None
        finally:
            self._record_usage()

    def _mapped(
        self, exc: SalesforceError, cls: type[SalesforceApiError] | None = None
    ) -> SalesforceApiError:
        first = exc.content[0] if isinstance(exc.content, list) and exc.content else {}
        if not isinstance(first, dict):
            first = {}
        code = first.get("errorCode", "")
        message = first.get("message") or exc.__class__.__name__
        if cls is not None:
            return cls(message, error_code=code, status=exc.status, fields=tuple(first.get("fields") or ()))
        return error_for(
            status=exc.status, error_code=code, message=message, fields=first.get("fields") or ()
        )

    def _refresh_token(self) -> None:
        """One new token by the org's method, sealed and stored; a refusal is AuthenticationError."""
        logger.info("access token of org %s expired; getting a new one", self.org.label)
        try:
            grant = oauth.new_token(self.org)
        except oauth.OAuthError as exc:
            raise AuthenticationError(str(exc), error_code=exc.error) from None
        except CredentialsUnreadable as exc:
            raise AuthenticationError(str(exc)) from None
        self.org.access_token = grant.access_token
        fields = ["access_token_sealed", "updated_at"]
        if grant.refresh_token:
            self.org.refresh_token = grant.refresh_token
            fields.append("refresh_token_sealed")
        if grant.instance_url and grant.instance_url != self.org.instance_url:
            self.org.instance_url = grant.instance_url
            fields.append("instance_url")
        self.org.save(update_fields=fields)
        self._sf = self._simple_salesforce()

    def _simple_salesforce(self) -> Salesforce:
        """A session on the org's instance, once the instance URL passed the edge check (the
        token goes nowhere else) and the stored token opened."""
        try:
            oauth.check_org_url(self.org, self.org.instance_url, what="stored instance URL")
            token = self.org.access_token
        except oauth.UnsafeOrgUrl as exc:
            raise AuthenticationError(str(exc), error_code=exc.error) from None
        except CredentialsUnreadable as exc:
            raise AuthenticationError(str(exc)) from None
        return Salesforce(
            instance_url=self.org.instance_url,
            session_id=token,
            session=self._session,
            version=self.org.api_version,
        )

    def _note_server_time(self, response: requests.Response, *args: Any, **kwargs: Any) -> None:
        """`Date` (whole seconds, rounded down) less the round trip: no later than when the org
        received the request, so no later than its queries ran. None when missing or unreadable."""
        try:
            answered = parsedate_to_datetime(response.headers["Date"])
        except (KeyError, TypeError, ValueError):
            self.last_server_time = None
            return
        if answered.tzinfo is None:
            answered = answered.replace(tzinfo=UTC)
        self.last_server_time = answered - response.elapsed

    def _count(self, kind: str) -> None:
        self.calls[kind] += 1
        with _calls_lock:
            _calls_by_org.setdefault(str(self.org.pk), Counter())[kind] += 1

    def _record_usage(self) -> None:
        usage = (self._sf.api_usage or {}).get("api-usage")
        now = timezone.now()
        if usage is None or now.timestamp() - self._usage_saved_at < USAGE_SAVE_INTERVAL_SECONDS:
            return
        self._usage_saved_at = now.timestamp()
        self.org.api_requests_used, self.org.api_requests_max = usage.used, usage.total
        Org.objects.filter(pk=self.org.pk).update(
            api_requests_used=usage.used, api_requests_max=usage.total, api_usage_at=now
        )

    def _identity_url(self) -> str:
        return f"{self.org.instance_url}/services/oauth2/userinfo"

    def _get_json(self, url: str) -> Any:
        response = self._session.get(url, headers={"Authorization": f"Bearer {self._sf.session_id}"})
        if response.status_code == 401:
            raise SalesforceExpiredSession(url, 401, "identity", response.json() if response.content else [])
        if response.status_code >= 400:
            raise error_for(
                status=response.status_code,
                error_code="",
                message=f"{url} answered HTTP {response.status_code}",
            )
        return response.json()

    @staticmethod
    def _page(answer: dict) -> QueryPage:
        return QueryPage(
            records=answer["records"],
            total_size=answer["totalSize"],
            done=answer["done"],
            next_records_url=answer.get("nextRecordsUrl"),
        )

"""Bulk API (v1) over HTTP: ``/services/async/{version}/job…``.

Authenticated by the ``X-SFDC-Session`` header (the session id / access token), as Salesforce
does. Job and batch documents are XML (``jobInfo`` / ``batchInfo`` in the
``http://www.force.com/2009/06/asyncapi/dataload`` namespace) or JSON, as Salesforce picks them:
by the job's ``contentType`` (JSON for a JSON job, XML for an XML or CSV job) whatever the request's
``Content-Type``, which decides only where no job is known (creating a job, errors). Errors are
``<error><exceptionCode>…</exceptionCode><exceptionMessage>…`` (or ``{"exceptionCode", …}``),
HTTP 400. Every request is counted under ``bulk_v1`` in the call counters (with the added latency
of a fault) and counts as an API call; adding a batch also as a Bulk batch
(``DailyBulkApiBatches``, shared with Bulk API 2.0).
"""

from __future__ import annotations

import json
import logging
import secrets
from typing import Any
from xml.etree import ElementTree

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from sfemu.bulk import v1
from sfemu.bulk.v1 import NS, BulkV1Error, V1Batch, V1Job
from sfemu.errors import SalesforceError
from sfemu.server import faults_api
from sfemu.server.http import STANDARD_HEADERS
from sfemu.server.rest_endpoint import limit_header
from sfemu.server.users import live_session
from sfemu.server.versions import MAX_VERSION, MIN_VERSION

log = logging.getLogger("sfemu.server")

MEDIA = {"XML": "application/xml", "JSON": "application/json", "CSV": "text/csv"}
JOB_XML_ORDER = (
    "id",
    "operation",
    "object",
    "createdById",
    "createdDate",
    "systemModstamp",
    "state",
    "externalIdFieldName",
    "concurrencyMode",
    "contentType",
    "numberBatchesQueued",
    "numberBatchesInProgress",
    "numberBatchesCompleted",
    "numberBatchesFailed",
    "numberBatchesTotal",
    "numberRecordsProcessed",
    "numberRetries",
    "apiVersion",
    "assignmentRuleId",
    "numberRecordsFailed",
    "totalProcessingTime",
    "apiActiveProcessingTime",
    "apexProcessingTime",
)
BATCH_XML_ORDER = (
    "id",
    "jobId",
    "state",
    "stateMessage",
    "createdDate",
    "systemModstamp",
    "numberRecordsProcessed",
    "numberRecordsFailed",
    "totalProcessingTime",
    "apiActiveProcessingTime",
    "apexProcessingTime",
)


def _version(segment: str) -> str | None:
    major, dot, minor = segment.partition(".")
    if not (major.isdigit() and dot and minor == "0"):
        return None
    return f"{int(major)}.0" if MIN_VERSION <= int(major) <= MAX_VERSION else None


def _wants_json(request: Request) -> bool | None:
    kind = request.headers.get("content-type", "").lower()
    if "json" in kind:
        return True
    if "xml" in kind:
        return False
    return None


def _xml_doc(root: str, fields: dict[str, Any], order: tuple[str, ...]) -> str:
    parts = [f'<?xml version="1.0" encoding="UTF-8"?><{root} xmlns="{NS}">', _xml_fields(fields, order)]
    parts.append(f"</{root}>")
    return "".join(parts)


def _xml_fields(fields: dict[str, Any], order: tuple[str, ...]) -> str:
    out = []
    for key in order:
        value = fields.get(key)
        if value is None:
            continue
        out.append(f"<{key}>{v1._esc(str(value))}</{key}>")
    return "".join(out)


def _xml_time(stamp: str) -> str:
    """``2024-01-31T12:00:00.000+0000`` → ``2024-01-31T12:00:00.000Z`` (the XML documents' form)."""
    return stamp[:-5] + "Z" if stamp.endswith("+0000") else stamp


def _job_fields(job: V1Job, counters: dict[str, int]) -> dict[str, Any]:
    return {
        "id": job.id,
        "operation": job.operation,
        "object": job.object,
        "createdById": job.created_by,
        "createdDate": job.created_date,
        "systemModstamp": job.system_modstamp,
        "state": job.state,
        "externalIdFieldName": job.external_id_field,
        "concurrencyMode": job.concurrency_mode,
        "contentType": job.content_type,
        **counters,
        "numberRetries": 0,
        "apiVersion": job.api_version,
        "assignmentRuleId": job.assignment_rule_id,
        "apexProcessingTime": 0,
    }


def _batch_fields(batch: V1Batch) -> dict[str, Any]:
    return {
        "id": batch.id,
        "jobId": batch.job_id,
        "state": batch.state,
        "stateMessage": batch.state_message,
        "createdDate": batch.created_date,
        "systemModstamp": batch.system_modstamp,
        "numberRecordsProcessed": batch.processed,
        "numberRecordsFailed": batch.failed,
        "totalProcessingTime": batch.total_ms,
        "apiActiveProcessingTime": batch.api_ms,
        "apexProcessingTime": 0,
    }


def _json_fields(fields: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in sorted(fields.items()) if v is not None}
    if "apiVersion" in out:
        out["apiVersion"] = float(out["apiVersion"])
    return out


def _xml_fields_of(fields: dict[str, Any]) -> dict[str, Any]:
    out = dict(fields)
    for key in ("createdDate", "systemModstamp"):
        if out.get(key):
            out[key] = _xml_time(out[key])
    return out


class _Call:
    def __init__(self, request: Request, org: Any, session: Any, version: str) -> None:
        self.request = request
        self.org = org
        self.session = session
        self.version = version
        self.service = v1.v1_service_for(org.instance)

    def run(self, kind: str, fn: Any, *args: Any) -> Any:
        self.org.check_api_limit()
        self.org.count_api_call(kind)
        return fn(*args)

    def json_for(self, job: V1Job | None) -> bool:
        """JSON documents for a JSON job, XML for an XML or CSV job, whatever the request's
        ``Content-Type`` (tap-salesforce sends ``application/json`` to a CSV job and parses XML);
        the header decides only where no job's ``contentType`` is known (creating one, errors)."""
        if job is not None:
            return job.content_type == "JSON"
        return bool(_wants_json(self.request))

    def headers(self) -> dict[str, str]:
        return {**STANDARD_HEADERS, **limit_header(self.org)}


def _raw(status: int, body: bytes | str, media: str, headers: dict[str, str] | None = None) -> Response:
    data = body.encode() if isinstance(body, str) else body
    return Response(
        data, status_code=status, headers={**(headers or STANDARD_HEADERS), "Content-Type": media}
    )


def error_response(exc: BulkV1Error, as_json: bool, headers: dict[str, str] | None = None) -> Response:
    if as_json:
        body = json.dumps({"exceptionCode": exc.code, "exceptionMessage": exc.message})
        return _raw(exc.status, body, MEDIA["JSON"], headers)
    xml = (
        f'<?xml version="1.0" encoding="UTF-8"?><error xmlns="{NS}">'
        f"<exceptionCode>{exc.code}</exceptionCode>"
        f"<exceptionMessage>{v1._esc(exc.message)}</exceptionMessage></error>"
    )
    return _raw(exc.status, xml, MEDIA["XML"], headers)


def _segments(request: Request) -> tuple[str, list[str]]:
    path = request.url.path
    rest = path.split("/services/async/", 1)[1]
    version, _, tail = rest.partition("/")
    parts = [p for p in tail.split("/") if p]
    return version, parts


async def bulk_v1_endpoint(request: Request) -> Response:
    """Every ``/services/async/{version}/…`` request."""
    state = request.app.state.sfemu
    segment, parts = _segments(request)
    as_json = bool(_wants_json(request))
    version = _version(segment)
    if version is None:
        return error_response(BulkV1Error("InvalidVersion", "Invalid api version specified on URL"), as_json)
    token = request.headers.get("x-sfdc-session", "").strip()
    found = await run_in_threadpool(live_session, state, token or None)
    if found is None or found[0].password_expired:
        return error_response(BulkV1Error("InvalidSessionId", "Invalid session id"), as_json)
    session, org = found
    # Counted under ``bulk_v1`` with the added latency; a maintenance window is not applied here
    # (Salesforce's Bulk v1 answer to one is not documented, so sfemu does not make one up).
    await run_in_threadpool(faults_api.gate, org, "bulk_v1")
    call = _Call(request, org, session, version)
    try:
        return await _dispatch(call, parts)
    except BulkV1Error as exc:
        return error_response(exc, as_json, call.headers())
    except SalesforceError as exc:
        code = "ExceededQuota" if exc.error_code == "REQUEST_LIMIT_EXCEEDED" else "InvalidJob"
        return error_response(BulkV1Error(code, exc.message, 400), as_json, call.headers())
    except Exception:
        error_id = str(secrets.randbelow(10**10))
        log.exception("unexpected bulk v1 error %s", error_id)
        err = BulkV1Error("ClientInputError", f"An unexpected error occurred: {error_id}", 500)
        return error_response(err, as_json, call.headers())


def _method(request: Request, allowed: tuple[str, ...]) -> None:
    if request.method.upper() not in allowed:
        raise BulkV1Error(
            "InvalidUrl", f"HTTP Method '{request.method}' not allowed. Allowed are {','.join(allowed)}"
        )


async def _dispatch(call: _Call, parts: list[str]) -> Response:
    request = call.request
    if not parts or parts[0] != "job":
        raise BulkV1Error("InvalidUrl", "unknown url", 404)
    if len(parts) == 1:
        _method(request, ("POST",))
        return await _create_job(call)
    job_id = parts[1]
    if len(parts) == 2:
        _method(request, ("GET", "POST"))
        if request.method.upper() == "GET":
            job = await run_in_threadpool(call.run, "rest", call.service.job, call.org, job_id)
            return await _job_doc(call, job, 200)
        body = _parse_doc(await request.body(), _wants_json(request))
        job = await run_in_threadpool(
            call.run, "rest", call.service.set_state, call.org, job_id, body.get("state")
        )
        return await _job_doc(call, job, 200)
    if parts[2] != "batch" or len(parts) > 6:
        raise BulkV1Error("InvalidUrl", "unknown url", 404)
    if len(parts) == 3:
        _method(request, ("GET", "POST"))
        if request.method.upper() == "POST":
            body = await request.body()
            batch = await run_in_threadpool(
                call.run, "bulk_batch", call.service.add_batch, call.org, job_id, body
            )
            job = await run_in_threadpool(call.service.job, call.org, job_id)
            return _batch_doc(call, job, [batch], 201, single=True)
        batches = await run_in_threadpool(call.run, "rest", call.service.batches, call.org, job_id)
        job = await run_in_threadpool(call.service.job, call.org, job_id)
        return _batch_doc(call, job, batches, 200, single=False)
    _method(request, ("GET",))
    batch_id = parts[3]
    if len(parts) == 4:
        job, batch = await run_in_threadpool(call.run, "rest", call.service.batch, call.org, job_id, batch_id)
        return _batch_doc(call, job, [batch], 200, single=True)
    if parts[4] == "request" and len(parts) == 5:
        job, body = await run_in_threadpool(
            call.run, "rest", call.service.request_body, call.org, job_id, batch_id
        )
        return _raw(200, body, MEDIA[job.content_type], call.headers())
    if parts[4] != "result":
        raise BulkV1Error("InvalidUrl", "unknown url", 404)
    if len(parts) == 5:
        job, batch, body = await run_in_threadpool(
            call.run, "rest", call.service.result, call.org, job_id, batch_id
        )
        if body is not None:
            return _raw(200, body, MEDIA[job.content_type], call.headers())
        if job.content_type == "JSON":
            return _raw(200, json.dumps(batch.result_ids), MEDIA["JSON"], call.headers())
        items = "".join(f"<result>{rid}</result>" for rid in batch.result_ids)
        xml = f'<?xml version="1.0" encoding="UTF-8"?><result-list xmlns="{NS}">{items}</result-list>'
        return _raw(200, xml, MEDIA["XML"], call.headers())
    job, body = await run_in_threadpool(
        call.run, "rest", call.service.query_result, call.org, job_id, batch_id, parts[5]
    )
    return _raw(200, body, MEDIA[job.content_type], call.headers())


def _parse_doc(raw: bytes, as_json: bool | None) -> dict[str, Any]:
    """A ``jobInfo`` request body (XML or JSON) as a dict."""
    text = raw.strip()
    if not text:
        raise BulkV1Error("InvalidJob", "No content in request body")
    if as_json or (as_json is None and text[:1] in (b"{", b"[")):
        try:
            body = json.loads(text)
        except (ValueError, UnicodeDecodeError) as exc:
            raise BulkV1Error("InvalidJob", f"Unable to parse Job: {exc}") from None
        if not isinstance(body, dict):
            raise BulkV1Error("InvalidJob", "Unable to parse Job: not a JSON object")
        return body
    try:
        root = ElementTree.fromstring(text)
    except ElementTree.ParseError as exc:
        raise BulkV1Error("InvalidXML", f"Unable to parse XML: {exc}") from None
    if v1._local(root.tag) != "jobInfo" or (root.tag.startswith("{") and root.tag[1:].split("}")[0] != NS):
        raise BulkV1Error("InvalidXML", f"Expected jobInfo in namespace {NS}")
    return {v1._local(child.tag): (child.text or "").strip() for child in root}


async def _create_job(call: _Call) -> Response:
    body = _parse_doc(await call.request.body(), _wants_json(call.request))
    pk = call.request.headers.get("sforce-enable-pkchunking")
    job = await run_in_threadpool(
        call.run, "rest", call.service.create_job, call.org, call.session.user_id, call.version, body, pk
    )
    return await _job_doc(call, job, 201, created=True)


async def _job_doc(call: _Call, job: V1Job, status: int, *, created: bool = False) -> Response:
    counters = await run_in_threadpool(call.service.counters, job)
    fields = _job_fields(job, counters)
    if call.json_for(None if created else job):
        return _raw(status, json.dumps(_json_fields(fields)), MEDIA["JSON"], call.headers())
    return _raw(
        status, _xml_doc("jobInfo", _xml_fields_of(fields), JOB_XML_ORDER), MEDIA["XML"], call.headers()
    )


def _batch_doc(call: _Call, job: V1Job, batches: list[V1Batch], status: int, *, single: bool) -> Response:
    if call.json_for(job):
        docs = [_json_fields(_batch_fields(b)) for b in batches]
        body: Any = docs[0] if single else {"batchInfo": docs}
        return _raw(status, json.dumps(body), MEDIA["JSON"], call.headers())
    if single:
        xml = _xml_doc("batchInfo", _xml_fields_of(_batch_fields(batches[0])), BATCH_XML_ORDER)
    else:
        items = "".join(
            f"<batchInfo>{_xml_fields(_xml_fields_of(_batch_fields(b)), BATCH_XML_ORDER)}</batchInfo>"
            for b in batches
        )
        xml = f'<?xml version="1.0" encoding="UTF-8"?><batchInfoList xmlns="{NS}">{items}</batchInfoList>'
    return _raw(status, xml, MEDIA["XML"], call.headers())


__all__ = ["bulk_v1_endpoint", "error_response"]

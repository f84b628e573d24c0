"""Bulk API 2.0 over HTTP: ``/services/data/vXX.X/jobs/ingest`` and ``/jobs/query``.

A Starlette endpoint of its own (mounted before the generic REST route) because uploads are
streamed to disk instead of being read into memory, and results are streamed back from the
job's files. Auth, metering, faults and headers are those of the REST endpoint: every request
passes the fault gate (counted under ``bulk``, added latency, maintenance ``503``) and counts as
one API call; an upload counts as a Bulk batch (``DailyBulkApiBatches``) and creating a query
job as a Bulk query job (``DailyBulkV2QueryJobs``).
"""

from __future__ import annotations

import json
import logging
import secrets
from collections.abc import Iterator
from typing import Any

from starlette.concurrency import iterate_in_threadpool, run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from sfemu.bulk import service_for
from sfemu.bulk.service import BulkService
from sfemu.errors import SalesforceError
from sfemu.server import faults_api
from sfemu.server.http import STANDARD_HEADERS, error_entry, json_response, method_not_allowed, not_found
from sfemu.server.rest_endpoint import EXPIRED_PASSWORD, INVALID_SESSION, limit_header, unauthorized
from sfemu.server.users import bearer_token, live_session
from sfemu.server.versions import parse_version

log = logging.getLogger("sfemu.server")

CSV_TYPE = "text/csv"
MIN_VERSION = {"ingest": 41, "query": 47}
_RESULTS = {"successfulresults", "failedresults", "unprocessedrecords"}


class _Call:
    """An authenticated Bulk request."""

    def __init__(self, request: Request, org: Any, session: Any, version: str, kind: str, parts: list[str]):
        self.request = request
        self.org = org
        self.session = session
        self.version = version
        self.kind = kind
        self.parts = parts
        self.service: BulkService = service_for(org.instance)

    @property
    def headers(self) -> dict[str, str]:
        return limit_header(self.org)


def _error(exc: SalesforceError, headers: dict[str, str] | None = None) -> Response:
    return json_response(exc.status, [error_entry(exc)], headers)


def _segments(request: Request) -> tuple[str, list[str]]:
    raw = request.scope.get("raw_path") or request.url.path.encode()
    path = raw.decode("latin-1").split("?", 1)[0]
    rest = path.split("/services/data/", 1)[1]
    version, _, tail = rest.partition("/")
    parts = tail.split("/")[1:]  # drop "jobs"
    while parts and parts[-1] == "":
        parts.pop()
    return version, parts


async def bulk_endpoint(request: Request) -> Response:
    """Every ``/services/data/vXX.X/jobs/…`` request."""
    state = request.app.state.sfemu
    version_segment, parts = _segments(request)
    version = parse_version(version_segment)
    kind = parts[0] if parts else ""
    if version is None or kind not in MIN_VERSION or float(version) < MIN_VERSION[kind] or len(parts) > 3:
        return _error(not_found())
    found = await run_in_threadpool(
        live_session, state, bearer_token({k.lower(): v for k, v in request.headers.items()})
    )
    if found is None:
        return unauthorized(INVALID_SESSION)
    session, org = found
    if session.password_expired:
        return unauthorized(EXPIRED_PASSWORD)
    unavailable = await run_in_threadpool(faults_api.gate, org, "bulk")
    if unavailable is not None:
        return _error(unavailable, faults_api.retry_after(unavailable))
    call = _Call(request, org, session, version, kind, parts[1:])
    try:
        return await _dispatch(call)
    except SalesforceError as exc:
        return _error(exc, call.headers)
    except Exception:
        error_id = str(secrets.randbelow(10**10))
        log.exception("unexpected bulk error %s", error_id)
        err = SalesforceError(
            "UNKNOWN_EXCEPTION",
            "An unexpected error occurred. Please include this ErrorId if you contact "
            f"support: {error_id}-0 ({error_id})",
            status=500,
        )
        return _error(err, call.headers)


async def _dispatch(call: _Call) -> Response:
    method = call.request.method.upper()
    parts = call.parts
    if not parts:
        if method == "POST":
            return await _create(call)
        if method in ("GET", "HEAD"):
            return await _list(call)
        raise method_not_allowed(method, ["HEAD", "GET", "POST"])
    job_id = parts[0]
    if len(parts) == 1:
        if method in ("GET", "HEAD"):
            job = await run_in_threadpool(
                _metered, call, "rest", call.service.job, call.org, call.kind, job_id
            )
            return _json(call, 200, job.info())
        if method == "PATCH":
            body = _json_body(await call.request.body())
            job = await run_in_threadpool(
                _metered, call, "rest", call.service.set_state, call.org, call.kind, job_id, body
            )
            return _json(call, 200, job.patched_info())
        if method == "DELETE":
            await run_in_threadpool(_metered, call, "rest", call.service.delete, call.org, call.kind, job_id)
            return _json(call, 204, None)
        raise method_not_allowed(method, ["HEAD", "GET", "PATCH", "DELETE"])
    resource = parts[1].lower()
    if call.kind == "ingest" and resource == "batches" and len(parts) == 2:
        if method != "PUT":
            raise method_not_allowed(method, ["PUT"])
        return await _upload(call, job_id)
    if call.kind == "ingest" and resource in _RESULTS and len(parts) == 2:
        if method not in ("GET", "HEAD"):
            raise method_not_allowed(method, ["HEAD", "GET"])
        chunks = await run_in_threadpool(
            _metered, call, "rest", call.service.ingest_results, call.org, job_id, resource
        )
        return _csv(call, chunks)
    if call.kind == "query" and resource == "results" and len(parts) == 2:
        if method not in ("GET", "HEAD"):
            raise method_not_allowed(method, ["HEAD", "GET"])
        params = call.request.query_params
        max_records = _int(params.get("maxRecords"))
        page = await run_in_threadpool(
            _metered,
            call,
            "rest",
            call.service.query_page,
            call.org,
            job_id,
            params.get("locator"),
            max_records,
        )
        extra = {"Sforce-Locator": page.locator, "Sforce-NumberOfRecords": str(page.count)}
        return _csv(call, page.stream(), extra)
    raise not_found()


def _metered(call: _Call, kind: str, fn: Any, *args: Any) -> Any:
    """Check the daily limit, count the call, then run ``fn`` (all in the threadpool)."""
    call.org.check_api_limit()
    call.org.count_api_call(kind)
    return fn(*args)


async def _create(call: _Call) -> Response:
    body = _json_body(await call.request.body())
    if not isinstance(body, dict):
        raise SalesforceError(
            "JSON_PARSER_ERROR", "Cannot deserialize instance of JobInfo from a non-object value"
        )
    user = call.session.user_id
    if call.kind == "ingest":
        job = await run_in_threadpool(
            _metered, call, "rest", call.service.create_ingest, call.org, user, call.version, body
        )
    else:
        job = await run_in_threadpool(
            _metered, call, "bulk_query_job", call.service.create_query, call.org, user, call.version, body
        )
    return _json(call, 200, job.created_info())


async def _list(call: _Call) -> Response:
    locator = call.request.query_params.get("queryLocator")
    jobs, next_locator = await run_in_threadpool(
        _metered, call, "rest", call.service.list, call.org, call.kind, locator
    )
    next_url = None
    if next_locator:
        next_url = f"/services/data/v{call.version}/jobs/{call.kind}?queryLocator={next_locator}"
    body = {"done": next_url is None, "records": [j.list_entry() for j in jobs], "nextRecordsUrl": next_url}
    return _json(call, 200, body)


async def _upload(call: _Call, job_id: str) -> Response:
    service = call.service
    job = await run_in_threadpool(_metered, call, "bulk_batch", service.check_open, call.org, job_id)
    spool = service.spool_path(job)
    size = 0
    try:
        with open(spool, "wb") as out:
            async for chunk in call.request.stream():
                size += len(chunk)
                if service.too_big(size):
                    raise service.too_big_error()
                out.write(chunk)
        await run_in_threadpool(service.finish_upload, call.org, job_id, spool, size)
    finally:
        spool.unlink(missing_ok=True)
    return Response(status_code=201, headers={**STANDARD_HEADERS, **call.headers})


def _json(call: _Call, status: int, body: Any) -> Response:
    return json_response(status, body, call.headers)


def _csv(call: _Call, chunks: Iterator[bytes], extra: dict[str, str] | None = None) -> Response:
    headers = {**STANDARD_HEADERS, **call.headers, **(extra or {})}
    if call.request.method == "HEAD":
        return Response(status_code=200, headers=headers, media_type=CSV_TYPE)
    return StreamingResponse(iterate_in_threadpool(chunks), 200, headers, media_type=CSV_TYPE)


def _json_body(raw: bytes) -> Any:
    if not raw.strip():
        return None
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise SalesforceError("JSON_PARSER_ERROR", f"Unexpected character: {exc}") from None


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None

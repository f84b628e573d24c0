"""Transport-neutral request/response objects and Salesforce's wire conventions.

REST handlers take an :class:`ApiRequest` and return an :class:`ApiResponse`, so the same handler
serves a real HTTP request and a ``/composite`` subrequest.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.responses import Response, StreamingResponse

from sfemu.errors import SalesforceError

JSON_TYPE = "application/json;charset=UTF-8"
XML_TYPE = "text/xml; charset=utf-8"

# Headers every real Salesforce REST answer carries (recordings under grouparoo/).
STANDARD_HEADERS: dict[str, str] = {
    "Strict-Transport-Security": "max-age=31536000; includeSubDomains",
    "X-Content-Type-Options": "nosniff",
    "X-XSS-Protection": "1; mode=block",
    "X-Robots-Tag": "none",
    "Cache-Control": "no-cache,must-revalidate,max-age=0,no-store,private",
}

# Error codes whose REST body Salesforce writes errorCode-first (recorded NOT_FOUND answers).
_CODE_FIRST = {"NOT_FOUND", "METHOD_NOT_ALLOWED", "PROCESSING_HALTED"}


@dataclass
class ApiRequest:
    """A REST call below ``/services/data/vXX.X``; ``segments`` are the decoded path parts."""

    method: str
    segments: list[str]
    query: Mapping[str, str] = field(default_factory=dict)
    headers: Mapping[str, str] = field(default_factory=dict)  # lower-case names
    body: bytes = b""
    parsed: Any = None  # pre-parsed JSON body (composite subrequests)
    query_lists: Mapping[str, list[str]] = field(default_factory=dict)  # repeated parameters
    form: Mapping[str, Any] | None = None  # multipart parts: name → text or uploaded file

    def json(self) -> Any:
        """The JSON body; Salesforce's JSON_PARSER_ERROR when it is not JSON."""
        if self.parsed is not None:
            return self.parsed
        if not self.body.strip():
            return None
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise SalesforceError("JSON_PARSER_ERROR", f"Unexpected character: {exc}", status=400) from None

    def json_object(self) -> dict[str, Any]:
        """The JSON body, which must be an object (record field map)."""
        data = self.json()
        if not isinstance(data, dict):
            raise SalesforceError(
                "JSON_PARSER_ERROR",
                "Cannot deserialize instance of object from "
                f"{'VALUE_NULL' if data is None else type(data).__name__.upper()} value",
                status=400,
            )
        return data


@dataclass
class ApiResponse:
    """A handler's answer; ``body`` None means no content."""

    status: int
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    stream: Iterator[bytes] | None = None  # non-JSON payload (blob fields), sent in chunks
    media_type: str | None = None


def error_entry(err: SalesforceError) -> dict[str, Any]:
    """A REST error array entry with Salesforce's key order for that code."""
    entry = err.as_rest()
    if err.error_code in _CODE_FIRST and err.fields is None and not err.message_first:
        return {"errorCode": err.error_code, "message": err.message}
    return entry


def error_response(err: SalesforceError) -> ApiResponse:
    body: Any = getattr(err, "body", None)
    if body is None:
        body = [error_entry(err)]
    return ApiResponse(err.status, body)


def not_found() -> SalesforceError:
    return SalesforceError("NOT_FOUND", "The requested resource does not exist", status=404)


def method_not_allowed(method: str, allowed: list[str]) -> SalesforceError:
    return SalesforceError(
        "METHOD_NOT_ALLOWED",
        f"HTTP Method '{method}' not allowed. Allowed are {','.join(allowed)}",
        status=405,
    )


def dumps(body: Any) -> bytes:
    return json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()


def json_response(
    status: int, body: Any, headers: Mapping[str, str] | None = None, *, standard: bool = True
) -> Response:
    """A Starlette response with Salesforce's exact JSON content type and headers."""
    all_headers = dict(STANDARD_HEADERS) if standard else {}
    all_headers.update(headers or {})
    if body is None:
        return Response(status_code=status, headers=all_headers)
    if status < 300:
        all_headers["Vary"] = "Accept-Encoding"
    return Response(dumps(body), status_code=status, headers=all_headers, media_type=JSON_TYPE)


def to_starlette(resp: ApiResponse, extra: Mapping[str, str]) -> Response:
    headers = dict(extra)
    headers.update(resp.headers)
    if resp.stream is not None:
        all_headers = {**STANDARD_HEADERS, **headers}
        return StreamingResponse(resp.stream, resp.status, all_headers, media_type=resp.media_type)
    return json_response(resp.status, resp.body, headers)

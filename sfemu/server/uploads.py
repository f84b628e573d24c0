"""REST request body limits and multipart (file) uploads.

Salesforce refuses a non-multipart REST request over 52,428,800 bytes — 50 MB of JSON, so at most
37.5 MB of file as base64 — with ``400 JSON_PARSER_ERROR`` "…Maximum size of request reached.
Maximum size of request is 52428800 bytes." (forcedotcom/SalesforceMobileSDK-iOS#3575). Files go
up as ``multipart/form-data``: one ``entity_…`` JSON part with the fields and one binary part named
after the base64 field (``VersionData``, ``Body``), up to 2 GB for ContentVersion and 500 MB for
other objects ("Insert or Update Blob Data", REST API guide). Oversized bodies are read to the end
and dropped (never kept), so the client gets the error instead of a reset connection.
"""

from __future__ import annotations

import io
from collections.abc import AsyncIterator, Mapping
from typing import IO, Any

from starlette.datastructures import UploadFile
from starlette.requests import Request

from sfemu.errors import SalesforceError

JSON_LIMIT = 52_428_800
MULTIPART_LIMIT = 500 * 1024 * 1024
CONTENT_VERSION_LIMIT = 2 * 1024 * 1024 * 1024


def too_large(limit: int) -> SalesforceError:
    return SalesforceError(
        "JSON_PARSER_ERROR",
        "; nested exception is: \n\tcommon.exception.ApiException: Maximum size of request reached. "
        f"Maximum size of request is {limit} bytes.",
        status=400,
    )


def is_multipart(request: Request) -> bool:
    return request.headers.get("content-type", "").lower().startswith("multipart/form-data")


def multipart_limit(segments: list[str]) -> int:
    """2 GB for ``sobjects/ContentVersion``, 500 MB for other objects' blob fields."""
    target = segments[2].lower() if len(segments) > 2 and segments[1] == "sobjects" else ""
    return CONTENT_VERSION_LIMIT if target == "contentversion" else MULTIPART_LIMIT


async def check_declared_length(request: Request, limit: int) -> None:
    """Refuse (after draining) a body whose ``Content-Length`` is over ``limit``."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        await _drain(request.stream())
        raise too_large(limit)


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refused once it passes ``limit`` (chunked bodies included)."""
    await check_declared_length(request, limit)
    parts: list[bytes] = []
    size = 0
    stream = request.stream()
    async for chunk in stream:
        size += len(chunk)
        if size > limit:
            await _drain(stream)
            raise too_large(limit)
        parts.append(chunk)
    return b"".join(parts)


async def _drain(stream: AsyncIterator[bytes]) -> None:
    async for _ in stream:
        pass


def multipart_parts(form: Mapping[str, Any]) -> tuple[bytes, dict[str, IO[bytes]]]:
    """(the ``entity_…`` part's JSON, the other parts as files by field name)."""
    entity = b""
    files: dict[str, IO[bytes]] = {}
    for name, value in form.items():
        if name.lower().startswith("entity_"):
            entity = value.file.read() if isinstance(value, UploadFile) else value.encode()
        elif isinstance(value, UploadFile):
            files[name] = value.file
        else:
            files[name] = io.BytesIO(value.encode())
    return entity, files

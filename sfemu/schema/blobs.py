"""Base64 (blob) field contents: stored in chunks beside the row, never inside it.

A row keeps :data:`STORED` in the field (so REST and SOQL answer the field's URL) and the
bytes live in the store's ``blobs`` table. Saving streams the source once, counting the size
and the MD5 that Salesforce reports (``Attachment.BodyLength``, ``ContentVersion.ContentSize``
and ``Checksum``).
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterable, Iterator
from typing import IO, TYPE_CHECKING

if TYPE_CHECKING:
    from sfemu.store import Store

CHUNK = 1024 * 1024
STORED = "@blob"
# (object, blob field) → (size field, MD5 hex field) Salesforce fills from the content.
STATS: dict[tuple[str, str], tuple[str, str | None]] = {
    ("Attachment", "Body"): ("BodyLength", None),
    ("ContentVersion", "VersionData"): ("ContentSize", "Checksum"),
}


def base64_chunks(text: str) -> Iterator[bytes]:
    """Decoded bytes of validated base64 ``text``, a chunk at a time (no full decoded copy)."""
    step = CHUNK // 3 * 4
    for start in range(0, len(text), step):
        yield base64.b64decode(text[start : start + step])


def file_chunks(source: IO[bytes]) -> Iterator[bytes]:
    while block := source.read(CHUNK):
        yield block


def save(store: Store, record_id: str, field: str, chunks: Iterable[bytes]) -> tuple[int, str]:
    """Store ``chunks`` as the field's bytes; (size, MD5 hex) of what was stored."""
    digest = hashlib.md5(usedforsecurity=False)
    size = 0

    def counted() -> Iterator[bytes]:
        nonlocal size
        for chunk in chunks:
            if chunk:
                digest.update(chunk)
                size += len(chunk)
                yield chunk

    store.put_blob(record_id, field, counted())
    return size, digest.hexdigest()


def fill_stats(sobject: str, field: str, row: dict, size: int, md5: str) -> None:
    """Set the size/checksum fields Salesforce derives from ``field``'s content."""
    size_field, md5_field = STATS.get((sobject, field), (None, None))
    if size_field:
        row[size_field] = size
    if md5_field:
        row[md5_field] = md5


def size_of(sobject: str, field: str, row: dict) -> int | None:
    size_field = STATS.get((sobject, field), (None, None))[0]
    return row.get(size_field) if size_field else None


def read(store: Store, record_id: str, field: str, value: str | None) -> Iterator[bytes]:
    """The field's bytes; rows written before blobs were chunked keep base64 inline."""
    if value is None:
        return iter(())
    if value != STORED:
        return base64_chunks(value)
    return store.iter_blob(record_id, field)

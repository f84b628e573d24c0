"""Server-side query cursors behind ``nextRecordsUrl`` (``/query/01g…-2000``).

A cursor keeps a query's :class:`~sfemu.query_pages.PagedResult` (the ordered ids of the matches
when SQL could run the whole query, else its materialised records); pages are read from it by the
locator's offset as Salesforce does (``01gXXXXXXXXXXXXXXX-4000``). Cursors live two days, and the
oldest are dropped when too many are open.
"""

from __future__ import annotations

import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

from sfemu.ids import BASE62, checksum
from sfemu.query_pages import PagedResult

CURSOR_SECONDS = 2 * 24 * 3600
MAX_CURSORS = 1000


def new_locator_id() -> str:
    """An 18-char ``01g`` (QueryLocator) id."""
    id15 = "01g" + "".join(secrets.choice(BASE62) for _ in range(12))
    return id15 + checksum(id15)


@dataclass
class Cursor:
    org_id: str
    result: PagedResult  # ordered ids (exact SQL) or the materialised records
    total_size: int
    batch_size: int
    include_deleted: bool
    api_version: str
    created: float


class CursorStore:
    """Thread-safe in-memory cursor table."""

    def __init__(self, max_cursors: int = MAX_CURSORS) -> None:
        self._lock = threading.Lock()
        self._cursors: OrderedDict[str, Cursor] = OrderedDict()
        self._max = max_cursors

    def open(self, cursor: Cursor) -> str:
        locator = new_locator_id()
        with self._lock:
            self._cursors[locator] = cursor
            self._evict()
        return locator

    def get(self, locator_id: str, org_id: str) -> Cursor | None:
        with self._lock:
            cursor = self._cursors.get(locator_id)
            if cursor is None or cursor.org_id != org_id:
                return None
            if time.time() - cursor.created > CURSOR_SECONDS:
                del self._cursors[locator_id]
                return None
            self._cursors.move_to_end(locator_id)
            return cursor

    def _evict(self) -> None:
        while len(self._cursors) > self._max:
            self._cursors.popitem(last=False)

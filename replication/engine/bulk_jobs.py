"""Bulk API 2.0 jobs as the engine, bulk sync and reconcile use them: polling a job to its end,
CSV cells and the per-record errors of an ingest job's results."""

import re
import time

from connections.bulk import TERMINAL_STATES

MAX_POLL_SECONDS = 10.0


def wait_for_job(
    client,
    job_id: str,
    *,
    query: bool,
    sleep,
    first_wait: float,
    expected: int = 0,
    sent_at: float | None = None,
) -> dict:
    """Poll a Bulk job until it ends. Each poll is an API call, so the next one is timed by the
    job's own progress (records processed so far against `expected`, since `sent_at` when
    known, else since the wait began) when it reports some, and otherwise comes 1.6 times later
    than the last (at most 10 s apart)."""
    started, wait = time.monotonic() if sent_at is None else sent_at, first_wait
    while True:
        sleep(wait)
        info = client.bulk_job(job_id, query=query)
        if info["state"] in TERMINAL_STATES:
            return info
        done, elapsed = info.get("numberRecordsProcessed") or 0, time.monotonic() - started
        if expected and 0 < done < expected:
            wait = (expected - done) * elapsed / done * 1.1 + 0.2
        else:
            wait *= 1.6
        wait = min(max(wait, 0.2), MAX_POLL_SECONDS)


def parse_bulk_error(text: str) -> tuple[str, str, tuple[str, ...]]:
    """`sf__Error` is `CODE:message:Field1 Field2 --` (`CODE:message:--` without fields); the
    field names are read whether spaces or commas separate them."""
    code, _, rest = text.partition(":")
    fields: tuple[str, ...] = ()
    if rest.endswith("--"):
        rest, _, names = rest[:-2].rpartition(":")
        fields = tuple(n for n in re.split(r"[\s,]+", names) if n)
    return code or "UNKNOWN_ERROR", rest or "no error detail", fields


def csv_value(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)

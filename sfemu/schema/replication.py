"""getUpdated / getDeleted answers (reference §2.6)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from sfemu.errors import SalesforceError
from sfemu.timeutil import floor_minute, format_datetime, to_utc

if TYPE_CHECKING:
    from sfemu.org import Org

MAX_IDS = 600_000
UPDATED_DAYS = 30
DELETED_DAYS = 15


def _window(org: Org, start: datetime, end: datetime, days: int) -> tuple[datetime, datetime]:
    s, e = floor_minute(to_utc(start)), floor_minute(to_utc(end))
    if s >= e:
        raise SalesforceError("INVALID_REPLICATION_DATE", "startDate must chronologically precede endDate")
    now = org.now()
    # Real orgs also refuse a start before the org existed; emulated orgs are minutes old,
    # so only the documented 30/15-day window is enforced.
    if s < floor_minute(now - timedelta(days=days)):
        raise SalesforceError("INVALID_REPLICATION_DATE", "startDate before org replication enabled date")
    return s, min(e, floor_minute(now))


def _too_many() -> SalesforceError:
    return SalesforceError(
        "EXCEEDED_ID_LIMIT",
        "record limit reached. cannot submit more than 600000 records "
        "in a single call. Please narrow your date range",
    )


def get_updated(org: Org, sobject: str, start: datetime, end: datetime) -> dict[str, Any]:
    obj = org.schema.require(sobject)
    s, latest = _window(org, start, end, UPDATED_DAYS)
    rows = org.store.modified_between(
        org.org_id, obj.name, format_datetime(s), format_datetime(latest), MAX_IDS + 1
    )
    ids = [i for i, deleted in rows if not deleted]
    if len(rows) > MAX_IDS:
        raise _too_many()
    return {"ids": ids, "latestDateCovered": format_datetime(latest)}


def get_deleted(org: Org, sobject: str, start: datetime, end: datetime) -> dict[str, Any]:
    obj = org.schema.require(sobject)
    org.purge()
    s, latest = _window(org, start, end, DELETED_DAYS)
    rows = org.store.deleted_between(
        org.org_id, obj.name, format_datetime(s), format_datetime(latest), MAX_IDS + 1
    )
    if len(rows) > MAX_IDS:
        raise _too_many()
    return {
        "deletedRecords": [{"id": i, "deletedDate": d} for i, d in rows],
        "earliestDateAvailable": format_datetime(floor_minute(org.earliest_deleted_available)),
        "latestDateCovered": format_datetime(latest),
    }

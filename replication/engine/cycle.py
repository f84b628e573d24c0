"""One sync cycle of a connection: capture each direction, then apply what is queued."""

import logging
import os
import socket
from dataclasses import dataclass, field
from datetime import datetime

from django.utils import timezone

from connections import services as connection_services
from connections.client_errors import SalesforceApiError
from connections.models import Connection
from replication.engine.apply import SUSPENDING_CODES, ConnectionUnavailable, apply_queue
from replication.engine.capture import Capturer
from replication.engine.conflicts import resolve_conflicts
from replication.engine.context import EngineContext
from replication.engine.feeds import FeedReport, FeedSync
from replication.engine.health import cycle_failed, cycle_succeeded
from replication.engine.lease import LeaseLost, connection_lease, request_cycle
from replication.engine.plans import build_plans, opposite
from replication.engine.runs import RunCounter, recorded_run
from replication.engine.users import sync_users
from replication.models import Direction, RecordLink
from synclog.models import SyncRun
from synclog.redact import safe_message

logger = logging.getLogger(__name__)
MAX_COALESCED_CYCLES = 5  # cycles one lease holder runs for requests that arrive meanwhile
CAPTURING = {Connection.Status.ACTIVE, Connection.Status.SUSPENDED}
SCHEDULED = CAPTURING | {Connection.Status.USER_SYNC}  # statuses the engine runs cycles for


@dataclass
class CycleReport:
    captured: dict[str, int] = field(default_factory=dict)
    applied: dict[str, int] = field(default_factory=dict)
    written: int = 0  # records written or failed: what tells a busy connection from an idle one
    conflicts: int = 0
    api_calls: int = 0
    resumed: bool = False
    suspended: bool = False
    # Another writer held the connection: this request was coalesced into its next cycle.
    coalesced: bool = False
    lease_lost: bool = False  # the lease was taken over mid-cycle: stopped before writing again


def default_worker() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def directions(connection: Connection) -> list[str]:
    if connection.direction == Connection.Direction.TWO_WAY:
        return [Direction.PRIMARY_TO_SECONDARY, Direction.SECONDARY_TO_PRIMARY]
    return [Direction.PRIMARY_TO_SECONDARY]


def sync_once(connection: Connection, *, ctx: EngineContext | None = None) -> CycleReport:
    """Capture changes in every direction and, unless the connection is suspended, apply the
    queue — holding the connection's lease (`lease.py`), so one cycle of a connection runs at a
    time. A request while another cycle holds the lease is coalesced: it is recorded, and the
    holder runs one more cycle before it lets go (or, if it let go meanwhile, this one runs)."""
    ctx = ctx or EngineContext(worker=default_worker())
    for attempt in range(2):
        with connection_lease(connection, ctx.worker) as lease:
            if lease is not None:
                return _cycles(connection, ctx, lease)
        if attempt == 0:
            request_cycle(connection)  # then look again: the holder may have let go meanwhile
    return CycleReport(coalesced=True)


def _cycles(connection: Connection, ctx: EngineContext, lease) -> CycleReport:
    """Cycles while holding the lease: one, plus one more for each request that arrived while
    the previous one ran (the lease is let go only when none is pending: `release_if_idle`)."""
    for _ in range(MAX_COALESCED_CYCLES):
        started = timezone.now()
        report = _guarded_cycle(connection, ctx, lease)
        if report.lease_lost or lease.release_if_idle(since=started):
            return report
    return report


def _guarded_cycle(connection: Connection, ctx: EngineContext, lease) -> CycleReport:
    ctx.lease = lease
    try:
        report = _cycle(connection, ctx)
    except LeaseLost as exc:
        logger.warning("cycle of connection %s stopped: %s", connection.pk, exc)
        return CycleReport(lease_lost=True)
    except Exception as exc:
        cycle_failed(connection, exc)
        raise
    finally:
        ctx.lease = None
    cycle_succeeded(connection)
    return report


def _cycle(connection: Connection, ctx: EngineContext) -> CycleReport:
    report = CycleReport()
    connection.refresh_from_db()
    if connection.status == Connection.Status.USER_SYNC:
        return _sync_users(ctx, connection, report)
    if connection.status not in CAPTURING:
        return report
    if connection.suspension == Connection.Suspension.AUTOMATIC:
        report.resumed = _resume_if_orgs_answer(connection, ctx)
    start_calls = ctx.api_calls()
    captured: dict[str, tuple[list, dict, set]] = {}
    for direction in directions(connection):
        plans = build_plans(connection, direction, ctx.describe)
        if not plans:
            continue
        try:
            fresh, processed, changed = _capture(ctx, connection, direction, plans)
        except SalesforceApiError as exc:
            logger.warning("capture %s of connection %s failed: %s", direction, connection.pk, exc)
            if _suspend_if_unavailable(connection, exc):
                report.suspended = True
                break
            continue
        report.captured[direction] = processed
        captured[direction] = (plans, fresh, changed)
    if len(captured) == 2:
        every_fresh = {
            **captured[Direction.PRIMARY_TO_SECONDARY][1],
            **captured[Direction.SECONDARY_TO_PRIMARY][1],
        }
        report.conflicts = resolve_conflicts(connection, {d: c[2] for d, c in captured.items()}, every_fresh)
    connection.refresh_from_db()
    if connection.sync_users and connection.status == Connection.Status.ACTIVE:
        _sync_users(ctx, connection, report)  # before apply: user items are settled by users.py
    for direction in directions(connection):
        connection.refresh_from_db()
        if connection.status != Connection.Status.ACTIVE:
            break
        # A direction whose capture failed still applies what is queued (forwarded records, retries).
        plans, fresh, _ = captured.get(direction) or (build_plans(connection, direction, ctx.describe), {}, 0)
        if not plans:
            continue
        started = timezone.now()
        report.applied[direction], written = _apply(ctx, connection, direction, plans, fresh)
        report.written += written
        _forget_rewritten(connection, direction, started, captured)
        if connection.sync_feeds_and_audit_fields:
            _sync_feeds(ctx, connection, direction, started, report)
    connection.refresh_from_db()
    report.suspended = report.suspended or connection.status == Connection.Status.SUSPENDED
    report.api_calls = ctx.api_calls() - start_calls
    return report


def _forget_rewritten(connection: Connection, direction: str, since, captured: dict) -> None:
    """Records this direction just wrote were captured by the other direction before the write:
    their copies there are stale. Apply must read them again, or it would send the stale copy
    back over the change (a record edited right after its previous sync)."""
    other = opposite(direction)
    if other not in captured:
        return
    side = "secondary_id" if direction == Direction.PRIMARY_TO_SECONDARY else "primary_id"
    rewritten = RecordLink.objects.filter(connection=connection, synced_at__gte=since).values_list(
        side, flat=True
    )
    fresh = captured[other][1]
    for record_id in rewritten.iterator():
        fresh.pop(record_id, None)


def _capture(ctx: EngineContext, connection: Connection, direction: str, plans) -> tuple[dict, int, set]:
    with recorded_run(connection, SyncRun.Kind.CAPTURE, direction) as counter:
        before = ctx.api_calls()
        capturer = Capturer(ctx, connection, direction, plans, counter)
        try:
            fresh = capturer.run()
        finally:
            counter.api_calls = ctx.api_calls() - before
    return fresh, counter.processed, capturer.changed_here


def _sync_users(ctx: EngineContext, connection: Connection, report: CycleReport) -> CycleReport:
    """User sync (`users.py`): the initial copy in User Sync in Progress, then each cycle."""
    start_calls = ctx.api_calls()
    try:
        users = sync_users(ctx, connection)
    except SalesforceApiError as exc:
        logger.warning("user sync of connection %s failed: %s", connection.pk, safe_message(str(exc)))
        report.suspended = _suspend_if_unavailable(connection, exc) or report.suspended
    else:
        report.written += users.written + users.failed
    report.api_calls += ctx.api_calls() - start_calls
    return report


def _sync_feeds(
    ctx: EngineContext, connection: Connection, direction: str, since: datetime, report: CycleReport
) -> None:
    """Feeds, files and attachments of the linked records (`feeds.py`), after the records, in a
    run of their own that counts what was written and the files and bytes sent. A failed call
    leaves the step's cursor where it was: the next cycle looks at the same window."""
    connection.refresh_from_db()
    if connection.status != Connection.Status.ACTIVE:
        return
    try:
        with recorded_run(connection, SyncRun.Kind.FEEDS, direction) as counter:
            step = FeedSync(ctx, connection, direction, run=counter.run)
            before = ctx.api_calls()
            try:
                step.run(since)
            finally:
                _count_feeds(counter, step.report, ctx.api_calls() - before)
                report.written += step.report.written
    except SalesforceApiError as exc:
        logger.warning(
            "feed sync %s of connection %s failed: %s", direction, connection.pk, safe_message(str(exc))
        )
        report.suspended = _suspend_if_unavailable(connection, exc) or report.suspended


def _count_feeds(counter: RunCounter, feeds: FeedReport, api_calls: int) -> None:
    """A files-over-the-limit skip is a Failed log entry of the run: it counts as failed."""
    counter.succeeded, counter.failed = feeds.written, feeds.failed + feeds.skipped
    counter.files, counter.file_bytes, counter.api_calls = feeds.files, feeds.bytes, api_calls


def _suspend_if_unavailable(connection: Connection, exc: SalesforceApiError) -> bool:
    """An org that is down or out of API requests suspends the connection automatically."""
    if exc.error_code not in SUSPENDING_CODES and exc.status != 503:
        return False
    connection.refresh_from_db()
    if connection.status == Connection.Status.ACTIVE:
        connection_services.connection_suspend(
            connection=connection, actor=None, automatic=True, reason=exc.error_code or str(exc.status)
        )
    connection.refresh_from_db()
    return True


def _apply(ctx: EngineContext, connection: Connection, direction: str, plans, fresh: dict) -> tuple[int, int]:
    taken = written = 0
    try:
        with recorded_run(connection, SyncRun.Kind.APPLY, direction) as counter:
            before = ctx.api_calls()
            try:
                taken = apply_queue(ctx, connection, direction, plans, counter, fresh)
            finally:
                counter.api_calls = ctx.api_calls() - before
                written = counter.succeeded + counter.failed
    except ConnectionUnavailable as exc:
        logger.warning("connection %s suspended automatically: %s", connection.pk, exc)
    return taken, written


def _resume_if_orgs_answer(connection: Connection, ctx: EngineContext) -> bool:
    """An automatically suspended connection resumes by itself once both orgs answer."""
    try:
        for org in (connection.primary_org, connection.secondary_org):
            ctx.client(org).limits()
    except SalesforceApiError:
        return False
    connection_services.connection_resume(connection=connection, actor=None, automatic=True)
    connection.refresh_from_db()
    return True

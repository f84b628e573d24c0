"""Alert emails: too many failures, an automatic suspension, a stalled connection, a stalled,
restarted or lost worker cluster, a scheduled reconcile that found drift, and — while a connection
stays suspended — its queue size twice a day. Each alert is remembered (AlertSent) so one window,
one suspension, one stall, one restart, one reconcile run, one half-day never mails twice.

Recipients: the Org Sync Administrators with an email address, ORGSYNC_ALERT_EMAILS, and for the
queue report the console user who suspended the connection.

The connection's owners are told too, each in a mail of their own (never with the
administrators' addresses): its console owner (`Connection.owner`, with an email) and, for their
side, the partner contact who accepted its invitation. They get the invitation's outcome, each
suspension and resumption, and a digest of the records that failed permanently — at most one an
hour per connection and owner, with counts by object and error code, never field values.
"""

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from email.utils import formataddr

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone

from connections.invitations import invitations_expire_due
from connections.models import Connection, ConnectionEvent, PartnerInvitation
from orgsync import clusters
from orgsync.models import WorkerCluster
from orgsync.roles import ADMINISTRATORS
from replication.models import Direction, ReconcileRun, ReconcileSchedule
from replication.reconcile_summary import KIND_LABELS, count_rows, totals_by_kind
from synclog.conf import app_settings
from synclog.liveness import Stall, stalls
from synclog.models import AlertSent, SyncLog
from synclog.selectors import failures_since

logger = logging.getLogger(__name__)
Kind = AlertSent.Kind
RECENT = timedelta(days=1)  # older cluster restarts are history, not news (and rows go after a day)
EventKind = ConnectionEvent.Kind


@dataclass(frozen=True)
class Alert:
    connection: Connection | None  # None: about a worker cluster (its row's pk starts `key`)
    kind: str
    key: str
    subject: str
    body: str
    extra_recipients: tuple[str, ...] = ()
    to_admins: bool = True  # False: only `extra_recipients` (a connection's owner)
    from_email: str = ""  # "": DEFAULT_FROM_EMAIL


def alert_recipients(extra: tuple[str, ...] = (), *, admins: bool = True) -> list[str]:
    if not admins:
        return sorted(set(extra))
    admins = (
        get_user_model()
        .objects.filter(groups__name=ADMINISTRATORS, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    return sorted({*admins, *app_settings.ALERT_EMAILS, *extra})


def _sent_since(connection: Connection, kind: str, since: datetime) -> bool:
    return AlertSent.objects.filter(connection=connection, kind=kind, sent_at__gte=since).exists()


def _failure_alerts(now: datetime) -> list[Alert]:
    window = timedelta(hours=app_settings.ALERT_FAILURE_WINDOW_HOURS)
    threshold = app_settings.ALERT_FAILURE_THRESHOLD
    counts = failures_since(since=now - window)
    alerts = []
    for connection in Connection.objects.filter(pk__in=[c for c, n in counts.items() if n > threshold]):
        if _sent_since(connection, Kind.FAILURES, now - window):
            continue  # one alert per window
        n = counts[connection.pk]
        alerts.append(
            Alert(
                connection,
                Kind.FAILURES,
                "",
                f"[orgsync] {connection}: {n} records failed in {window.total_seconds() / 3600:g} h",
                f"{n} records of connection “{connection}” failed to sync in the last "
                f"{window.total_seconds() / 3600:g} hours (alert threshold: more than {threshold}).\n\n"
                "Open the sync log, filter by this connection and status Failed: each entry explains "
                "its error and how to fix it; Retry sends the record again.",
            )
        )
    return alerts


def _suspension_alerts(now: datetime) -> list[Alert]:
    """One alert per automatic suspension event (of the last day: older ones are history)."""
    events = ConnectionEvent.objects.filter(
        kind=ConnectionEvent.Kind.SUSPENDED, at__gte=now - timedelta(days=1)
    ).select_related("connection")
    sent = set(
        AlertSent.objects.filter(kind=Kind.SUSPENDED, key__in=[str(e.pk) for e in events]).values_list(
            "key", flat=True
        )
    )
    return [
        Alert(
            e.connection,
            Kind.SUSPENDED,
            str(e.pk),
            f"[orgsync] {e.connection} was suspended automatically",
            f"Connection “{e.connection}” was suspended automatically at {e.at:%Y-%m-%d %H:%M} UTC "
            f"because an org was unavailable ({e.detail or 'no detail'}).\n\n"
            "Changes keep queueing; orgsync resumes the connection by itself once both orgs answer.",
        )
        for e in events
        if str(e.pk) not in sent
    ]


def _stall_alerts(now: datetime) -> list[Alert]:
    """One alert per stall episode: a stall whose trouble began (`Stall.since`) after the
    connection's last stalled-connection alert is a new one; while it lasts, no other. (Without
    a known start, at most one a day.)"""
    found = stalls(now=now)
    connections = Connection.objects.in_bulk([s.connection_id for s in found])
    alerts = []
    for stall in found:
        connection = connections.get(stall.connection_id)
        if connection is None:
            continue
        if _sent_since(connection, Kind.STALLED_CONNECTION, stall.since or now - timedelta(days=1)):
            continue
        alerts.append(
            Alert(
                connection,
                Kind.STALLED_CONNECTION,
                str(stall.kind or ""),
                f"[orgsync] {connection} is stalled: {stall.reason}",
                _stall_body(connection, stall),
            )
        )
    return alerts


def _stall_body(connection: Connection, stall: Stall) -> str:
    """Reason, last error (a summary: exception, file:line, message; never record values),
    the catalogue's explanation and fix, and where to look."""
    explanation = stall.explanation
    since = f" (since {stall.since:%Y-%m-%d %H:%M} UTC)" if stall.since else ""
    log = reverse("admin:synclog_synclog_changelist")
    return (
        f"Connection “{connection}” is stalled: {stall.reason}{since}.\n\n"
        f"Last error: {stall.last_error or 'none recorded'}\n\n"
        f"{explanation.code or 'Explanation'}: {explanation.title}.\n{explanation.meaning}\n\n"
        f"What to do: {explanation.fix}\n\n"
        f"Where to look: the dashboard ({reverse('admin:synclog_dashboard_changelist')}) shows the "
        f"stall; the sync log ({log}?connection__id__exact={connection.pk}) has the connection's "
        f"failed entries (a failing cycle is the entry with code CYCLE_FAILED); /healthz lists "
        "every stalled connection.\n\n"
        "This alert goes out once per stall; another one only if the connection stalls again "
        "after it moved."
    )


def _reconcile_alerts(now: datetime) -> list[Alert]:
    """One alert per scheduled reconcile that completed (in the last day) with at least its
    schedule's alert threshold of differences. Manual runs never mail: whoever ran one sees it."""
    runs = ReconcileRun.objects.filter(
        scheduled=True, status=ReconcileRun.Status.COMPLETED, differences__gt=0, finished_at__gte=now - RECENT
    ).select_related("connection")
    sent = set(
        AlertSent.objects.filter(kind=Kind.RECONCILE_DRIFT, key__in=[str(r.pk) for r in runs]).values_list(
            "key", flat=True
        )
    )
    thresholds = dict(
        ReconcileSchedule.objects.filter(connection__in={r.connection_id for r in runs}).values_list(
            "connection_id", "alert_threshold"
        )
    )
    alerts = []
    for run in runs:
        threshold = max(thresholds.get(run.connection_id, 1), 1)  # 0 differences is never drift
        if str(run.pk) not in sent and run.differences >= threshold:
            alerts.append(_drift_alert(run, threshold))
    return alerts


def _drift_alert(run: ReconcileRun, threshold: int) -> Alert:
    """Counts by class and by object, and where the run's page is: Ids and counts only."""
    connection = run.connection
    by_class = "\n".join(
        f"  {KIND_LABELS.get(kind, kind)}: {n}" for kind, n in totals_by_kind(run.counts).items() if n
    )
    by_object = "\n".join(
        f"  {row.source_object}: {row.total}" for row in count_rows(run.counts) if row.total
    )
    page = reverse("admin:replication_reconcilerun_change", args=[run.pk])
    repaired = (
        "The schedule repairs: what differs was handed to the record queue (the run's page says what)."
        if run.repair and not run.dry_run
        else "The schedule does not repair: run Reconcile with repair from the connection's page, or "
        "fix the records by hand."
    )
    return Alert(
        connection,
        Kind.RECONCILE_DRIFT,
        str(run.pk),
        f"[orgsync] {connection}: scheduled reconcile found {run.differences} differences",
        f"The scheduled reconcile #{run.pk} of connection “{connection}” finished at "
        f"{_when(run.finished_at)} and found {run.differences} differences between the two orgs "
        f"(alert threshold: {threshold}).\n\nBy class:\n{by_class or '  (not counted by class)'}\n\n"
        f"By object:\n{by_object or '  (not counted by object)'}\n\n{repaired}\n\n"
        f"Where to look: the run's page ({page}) lists a sample of the differences with links to the "
        "records in both orgs, and their CSV. docs/reconcile.md explains each class.\n\n"
        "This alert goes out once per run.",
    )


def _queue_reports(now: datetime) -> list[Alert]:
    period = timedelta(hours=app_settings.ALERT_QUEUE_REPORT_HOURS)
    alerts = []
    for connection in Connection.objects.filter(status=Connection.Status.SUSPENDED):
        suspension = (
            ConnectionEvent.objects.filter(
                connection=connection,
                kind__in=[ConnectionEvent.Kind.SUSPENDED, ConnectionEvent.Kind.ADMIN_SUSPENDED],
            )
            .select_related("actor")
            .first()
        )
        since = suspension.at if suspension else connection.updated_at
        if now - since < period or _sent_since(connection, Kind.QUEUE_WHILE_SUSPENDED, now - period):
            continue
        depth = connection.queue_items.count()
        actor = suspension.actor if suspension else None
        alerts.append(
            Alert(
                connection,
                Kind.QUEUE_WHILE_SUSPENDED,
                "",
                f"[orgsync] {connection} is suspended: {depth} changes queued",
                f"Connection “{connection}” has been suspended since {since:%Y-%m-%d %H:%M} UTC "
                f"({connection.get_suspension_display()}). {depth} changes wait in its record queue "
                "and are sent when it resumes. The longer it stays suspended, the longer the two orgs "
                "take to get back in step.",
                (actor.email,) if actor and actor.email else (),
            )
        )
    return alerts


def _when(moment: datetime) -> str:
    return f"{moment.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC"


def _cluster_alerts(now: datetime) -> list[Alert]:
    """Worker clusters (`orgsync.clusters`): one alert per stall episode, per restart after a
    stall or a dead sentinel, and per lost episode.

    The watchdog restarts a stalled cluster one heartbeat (5 s) after it marked it stalled, so
    this check (every 5 minutes) mostly finds the stall already healed: the restart, remembered
    on the row (`restarts`, `last_restart_reason`), is what tells of it. A stall this check did
    see mails at once (key "pk@quiet since"); the restart that ends it then does not mail again.
    """
    due = [
        alert
        for row in WorkerCluster.objects.filter(heartbeat_at__gte=now - RECENT)
        for alert in (_stalled_alert(row, now), _restart_alert(row, now), _lost_alert(row, now))
        if alert is not None
    ]
    sent = set(
        AlertSent.objects.filter(
            connection=None,
            kind__in={alert.kind for alert in due},
            key__in={alert.key for alert in due},
        ).values_list("kind", "key")
    )
    return [alert for alert in due if (alert.kind, alert.key) not in sent]


def _where_to_look() -> str:
    return (
        f"Where to look: /healthz (its `workers` part), the dashboard "
        f"({reverse('admin:synclog_dashboard_changelist')}, the Worker clusters panel) and the "
        "worker log of the cluster's host. docs/monitoring.md (Health states → Worker clusters) "
        "explains each state."
    )


def _stalled_alert(row: WorkerCluster, now: datetime) -> Alert | None:
    if not clusters.is_stalled(row, now):
        return None
    quiet = clusters.quiet_since(row)
    reason = f"{row.queued} task(s) waiting and none started or finished since {_when(quiet)}"
    return Alert(
        None,
        Kind.STALLED_CLUSTER,
        f"{row.pk}@{quiet:%Y%m%dT%H%M%S}",
        f"[orgsync] Worker cluster {row} is stalled",
        f"Worker cluster {row} is stalled: {reason}.\n\n"
        "State: stalled. The cluster is up (its heartbeat is fresh) but its workers pick nothing "
        "up; a worker killed while it held the task queue's lock wedges the others (django-q2 "
        "issue #23).\n\n"
        "What orgsync does: the cluster's watchdog (`manage.py runworkers`) restarts the cluster's "
        "processes by itself one heartbeat (5 s) after it marked it stalled; no second alert is "
        f"sent for that restart. Restarts of this cluster so far: {row.restarts}. If it stalls "
        "again and again, look in the worker log for a task that hangs. If it stays stalled, "
        "restart `manage.py runworkers` through its supervisor (docs/production.md).\n\n"
        f"{_where_to_look()}\n\nThis alert goes out once per stall.",
    )


def _restart_alert(row: WorkerCluster, now: datetime) -> Alert | None:
    reason = row.last_restart_reason
    stalled = reason.startswith("stalled")
    restarted_at = row.cluster_started_at
    if not row.restarts or not (stalled or reason.startswith("its sentinel")) or now - restarted_at > RECENT:
        return None
    if stalled and _stall_mailed_before(row, restarted_at):
        return None  # this check saw the stall and mailed it: the restart is part of that episode
    kind = Kind.STALLED_CLUSTER if stalled else Kind.RESTARTED_CLUSTER
    what = "stalled and was restarted" if stalled else "was restarted: its sentinel process died"
    return Alert(
        None,
        kind,
        f"{row.pk}:{row.restarts}",
        f"[orgsync] Worker cluster {row} {what}",
        f"Worker cluster {row} {what}; restarted at {_when(restarted_at)} "
        f"(restart {row.restarts} of this `runworkers` process). Reason: {reason}.\n\n"
        f"State: {'stalled, then restarted' if stalled else 'restarted'}; now "
        f"{clusters.state_of(row, now)}.\n\n"
        "What orgsync does: the cluster's watchdog (`manage.py runworkers`) restarted the "
        "cluster's processes by itself; tasks the old processes held are gone and the engine "
        "derives its work again from the database, so nothing is lost. Nothing to do unless it "
        "happens again and again: then look in the worker log for a task that hangs or a worker "
        "that is killed (out of memory?).\n\n"
        f"{_where_to_look()}\n\nThis alert goes out once per restart.",
    )


def _stall_mailed_before(row: WorkerCluster, restarted_at: datetime) -> bool:
    """Was the stall that ended in this restart mailed while it lasted? That mail went out after
    the stall began, less than `stall_after` before the restart (the watchdog restarts within a
    heartbeat or two); the previous episode's went out before this episode's quiet time began,
    at least `stall_after` before the restart."""
    window = clusters.stall_after(row)
    return AlertSent.objects.filter(
        kind=Kind.STALLED_CLUSTER,
        connection=None,
        key__startswith=f"{row.pk}@",
        sent_at__gt=restarted_at - window,
        sent_at__lt=restarted_at + window,
    ).exists()


def _lost_alert(row: WorkerCluster, now: datetime) -> Alert | None:
    if not clusters.is_lost(row, now) or now - row.heartbeat_at > clusters.SHOW_LOST_FOR:
        return None
    return Alert(
        None,
        Kind.LOST_CLUSTER,
        f"{row.pk}@{row.heartbeat_at:%Y%m%dT%H%M%S}",
        f"[orgsync] Worker cluster {row} is lost",
        f"Worker cluster {row} is lost: no heartbeat since {_when(row.heartbeat_at)} and no clean "
        "stop.\n\n"
        "State: lost. The whole `manage.py runworkers` process was killed, or its host is gone. "
        "The connections it was writing are free again within 30 s and their claimed records go "
        "back in the queue; other live clusters carry on.\n\n"
        "What orgsync does: nothing by itself — a lost cluster cannot restart itself. Its "
        "supervisor must start `manage.py runworkers` again: `make run`, systemd, the container "
        "platform (see docs/production.md). Check that the supervisor restarts it, and why it "
        "died (its log, the host's kernel log for an out-of-memory kill).\n\n"
        f"{_where_to_look()}\n\nThis alert goes out once per lost cluster.",
    )


# --- The connection's owners -------------------------------------------------------------------

OWNER, PARTNER = "owner", "partner"
OWNER_DIGEST_EVERY = timedelta(hours=1)
INVITATION_OUTCOMES = (
    EventKind.INVITATION_ACCEPTED,
    EventKind.INVITATION_DECLINED,
    EventKind.INVITATION_EXPIRED,
)
SUSPENSIONS = (EventKind.SUSPENDED, EventKind.ADMIN_SUSPENDED, EventKind.RESUMED, EventKind.ADMIN_RESUMED)
NO_VALUES = "It names connections, objects and error codes only, never record values."
DIGEST_TIME = "%Y%m%dT%H%M%S.%f"  # in an owner digest's key: the check's time


@dataclass(frozen=True)
class Owner:
    """Who owns one side of a connection: its console owner, or the partner contact (their side)."""

    role: str  # OWNER or PARTNER
    email: str


def _owners(connection: Connection, *, partner: bool) -> list[Owner]:
    """The console owner (active, with an email) and, if `partner`, the invited partner contact."""
    user = connection.owner
    owners = [Owner(OWNER, user.email)] if user and user.is_active and user.email else []
    invitation = _invitation(connection)
    if partner and invitation is not None:
        owners.append(Owner(PARTNER, invitation.contact_email))
    return owners


def _invitation(connection: Connection) -> PartnerInvitation | None:
    return getattr(connection, "invitation", None)


def _partner_side(connection: Connection) -> bool:
    """Does a partner contact own the secondary org's side (they accepted its invitation)?"""
    invitation = _invitation(connection)
    return invitation is not None and invitation.status == PartnerInvitation.Status.ACCEPTED


def _inviting_org(connection: Connection) -> str:
    return connection.primary_org.org_name or connection.primary_org.label


def _owner_alert(owner: Owner, connection: Connection, kind: str, key: str, subject: str, body: str) -> Alert:
    """A mail to one owner alone; a partner's comes from the invitation's From address."""
    sender = formataddr((settings.ORGSYNC_INVITATION_FROM_NAME, settings.ORGSYNC_INVITATION_FROM_EMAIL))
    return Alert(
        connection,
        kind,
        key,
        subject,
        body,
        (owner.email,),
        to_admins=False,
        from_email=sender if owner.role == PARTNER else "",
    )


def _owner_notices(now: datetime) -> list[Alert]:
    """One mail per owner for each invitation outcome, suspension and resumption of the last day."""
    events = ConnectionEvent.objects.filter(
        kind__in=(*INVITATION_OUTCOMES, *SUSPENSIONS), at__gte=now - RECENT
    ).select_related(
        "actor",
        "connection__owner",
        "connection__invitation",
        "connection__primary_org",
        "connection__secondary_org",
    )
    due = {
        f"{event.pk}:{owner.role}": (event, owner)
        for event in events
        for owner in _owners(
            event.connection,
            partner=event.kind in INVITATION_OUTCOMES or _partner_side(event.connection),
        )
    }
    sent = set(
        AlertSent.objects.filter(kind=Kind.OWNER_NOTICE, key__in=list(due)).values_list("key", flat=True)
    )
    return [_notice(key, event, owner) for key, (event, owner) in due.items() if key not in sent]


def _notice(key: str, event: ConnectionEvent, owner: Owner) -> Alert:
    if event.kind in INVITATION_OUTCOMES:
        subject, body = (_partner_outcome if owner.role == PARTNER else _owner_outcome)(event)
    else:
        subject, body = _suspension_notice(event, partner=owner.role == PARTNER)
    return _owner_alert(owner, event.connection, Kind.OWNER_NOTICE, key, subject, body)


def _connection_page(connection: Connection) -> str:
    return _console_url(reverse("admin:connections_connection_change", args=[connection.pk]))


def _console_url(path: str) -> str:
    return f"{app_settings.CONSOLE_URL.rstrip('/')}{path}"


def _owner_outcome(event: ConnectionEvent) -> tuple[str, str]:
    connection = event.connection
    partner = connection.invitation.contact_name
    subject, next_step = {
        EventKind.INVITATION_ACCEPTED: (
            f"{partner} accepted the invitation",
            f"The connection is now {connection.get_status_display()}.",
        ),
        EventKind.INVITATION_DECLINED: (
            f"{partner} declined the invitation",
            "The connection is deactivated: nothing is synced over it.",
        ),
        EventKind.INVITATION_EXPIRED: (
            f"the invitation of {partner} expired unanswered",
            "Resend it from the connection's page for a new link, or revoke it.",
        ),
    }[event.kind]
    return (
        f"[orgsync] {connection}: {subject}",
        f"Connection “{connection}”: {event.detail} ({_when(event.at)}).\n\n{next_step}\n\n"
        f"The connection's page: {_connection_page(connection)}\n\n"
        "You get this mail as the connection's owner.",
    )


def _partner_outcome(event: ConnectionEvent) -> tuple[str, str]:
    """What the partner contact is told: nothing of the console but their own connection."""
    connection = event.connection
    org = _inviting_org(connection)
    return {
        EventKind.INVITATION_ACCEPTED: (
            f"You connected your Salesforce org with {org}",
            f"You accepted the invitation of {org} ({_when(event.at)}): your org "
            f"{connection.secondary_org.org_name} is connected (connection “{connection}”).\n\n"
            f"From now on the records {org} shares with you are synced into your org. As the owner "
            "of your side you are mailed when the connection is suspended or resumed and, at most "
            "once an hour, when records could not be written into your org.",
        ),
        EventKind.INVITATION_DECLINED: (
            f"You declined the invitation of {org}",
            f"You declined the invitation of {org} to connect your Salesforce org "
            f"({_when(event.at)}). Nothing is synced; the invitation link no longer works.",
        ),
        EventKind.INVITATION_EXPIRED: (
            f"The invitation of {org} expired",
            f"The invitation of {org} to connect your Salesforce org expired unanswered "
            f"({_when(event.at)}). If you still want to connect, ask {org} to send a new one.",
        ),
    }[event.kind]


def _suspension_notice(event: ConnectionEvent, *, partner: bool) -> tuple[str, str]:
    connection = event.connection
    resumed = event.kind in (EventKind.RESUMED, EventKind.ADMIN_RESUMED)
    automatic = event.kind in (EventKind.SUSPENDED, EventKind.RESUMED)
    what = f"{'resumed' if resumed else 'suspended'} {'automatically' if automatic else 'by an admin'}"
    effect = (
        "Queued changes are being sent again."
        if resumed
        else "Nothing is synced until it resumes; changes keep queueing and are sent then."
    )
    if partner:
        return (
            f"Your connection with {_inviting_org(connection)} was {what}",
            f"The connection “{connection}” between {_inviting_org(connection)} and your Salesforce "
            f"org was {what} ({_when(event.at)}). {effect}\n\n"
            "You get this mail as the owner of your side of the connection.",
        )
    why = f" Reason: {event.detail}." if event.detail else ""
    by = "" if automatic else f" ({event.actor_display})"
    return (
        f"[orgsync] {connection} was {what}",
        f"Connection “{connection}” was {what}{by} at {_when(event.at)}.{why} {effect}\n\n"
        f"The connection's page: {_connection_page(connection)}\n\n"
        "You get this mail as the connection's owner.",
    )


def _owner_failure_digests(now: datetime) -> list[Alert]:
    """Per connection and owner, at most one mail an hour counting the records that failed
    permanently since the last one (the partner: those that could not be written into their org)."""
    failing = SyncLog.objects.filter(status=SyncLog.Status.FAILED, updated_at__gt=now - RECENT)
    connections = Connection.objects.filter(pk__in=failing.values("connection_id").distinct()).select_related(
        "owner", "invitation", "primary_org"
    )
    digests = (
        _failure_digest(connection, owner, now)
        for connection in connections
        for owner in _owners(connection, partner=_partner_side(connection))
    )
    return [digest for digest in digests if digest is not None]


def _failure_digest(connection: Connection, owner: Owner, now: datetime) -> Alert | None:
    """The key keeps the check's time: the next digest counts what failed after it."""
    last = _last_digest_at(connection, owner)
    if last is not None and now - last < OWNER_DIGEST_EVERY:
        return None
    counts = _failed_counts(connection, owner, since=last or now - RECENT, until=now)
    if not counts:
        return None
    total = sum(n for _, _, n in counts)
    lines = "\n".join(f"  {obj}, {code or 'no error code'}: {n}" for obj, code, n in counts)
    period = f"since the last such mail ({_when(last)})" if last else "in the last 24 hours"
    digest = _partner_digest if owner.role == PARTNER else _owner_digest
    subject, body = digest(connection, f"{total} records", lines, period)
    key = f"{owner.role}@{now.astimezone(UTC):{DIGEST_TIME}}"
    return _owner_alert(owner, connection, Kind.OWNER_FAILURES, key, subject, body)


def _last_digest_at(connection: Connection, owner: Owner) -> datetime | None:
    key = (
        AlertSent.objects.filter(
            connection=connection, kind=Kind.OWNER_FAILURES, key__startswith=f"{owner.role}@"
        )
        .values_list("key", flat=True)
        .first()
    )
    return datetime.strptime(key.split("@")[1], DIGEST_TIME).replace(tzinfo=UTC) if key else None


def _failed_counts(
    connection: Connection, owner: Owner, *, since: datetime, until: datetime
) -> list[tuple[str, str, int]]:
    """(object, error code, records) of the Failed entries changed in (since, until]; the
    partner's: those that could not be written into their org (the secondary)."""
    failed = SyncLog.objects.filter(
        connection=connection, status=SyncLog.Status.FAILED, updated_at__gt=since, updated_at__lte=until
    )
    if owner.role == PARTNER:
        failed = failed.filter(direction=Direction.PRIMARY_TO_SECONDARY)
    return list(
        failed.values_list("source_object", "error_code")
        .annotate(n=Count("id"))
        .order_by("source_object", "error_code")
    )


def _owner_digest(connection: Connection, records: str, lines: str, period: str) -> tuple[str, str]:
    query = f"?connection__id__exact={connection.pk}&status__exact={SyncLog.Status.FAILED}"
    log = _console_url(f"{reverse('admin:synclog_synclog_changelist')}{query}")
    return (
        f"[orgsync] {connection}: {records} failed",
        f"{records} of connection “{connection}” failed permanently (no retries left) {period}."
        f"\n\nBy object and error code:\n{lines}\n\n"
        f"The sync log explains each error and how to fix it; Retry sends a record again: {log}\n\n"
        f"You get this mail as the connection's owner, at most once an hour. {NO_VALUES}",
    )


def _partner_digest(connection: Connection, records: str, lines: str, period: str) -> tuple[str, str]:
    org = _inviting_org(connection)
    return (
        f"{records} from {org} could not be written into your org",
        f"{records} that {org} shares with you over the connection “{connection}” could not be "
        f"written into your Salesforce org {period}.\n\nBy object and error code:\n"
        f"{lines}\n\nMost such errors come from your org: a validation rule, a required field, or "
        f"the signed-in user's permissions. {org} sees each record in its sync log and can send it "
        f"again once fixed.\n\nYou get this mail as the owner of your side of the connection, at "
        f"most once an hour. {NO_VALUES}",
    )


def alerts_due(*, now: datetime | None = None) -> list[Alert]:
    now = now or timezone.now()
    return [
        *_failure_alerts(now),
        *_suspension_alerts(now),
        *_stall_alerts(now),
        *_cluster_alerts(now),
        *_reconcile_alerts(now),
        *_queue_reports(now),
        *_owner_notices(now),
        *_owner_failure_digests(now),
    ]


def alerts_send_due(*, now: datetime | None = None) -> list[Alert]:
    """Mark expired invitations (their owners are told), then mail every alert that is due and
    remember it. Returns the alerts sent."""
    invitations_expire_due()
    sent = []
    for alert in alerts_due(now=now):
        recipients = alert_recipients(alert.extra_recipients, admins=alert.to_admins)
        if not recipients:
            logger.warning("alert %r has no recipients: add an email to an administrator", alert.subject)
            continue
        send_mail(alert.subject, alert.body, alert.from_email or settings.DEFAULT_FROM_EMAIL, recipients)
        AlertSent.objects.create(
            connection=alert.connection, kind=alert.kind, key=alert.key, recipients=len(recipients)
        )
        sent.append(alert)
    return sent

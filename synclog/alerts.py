"""Alert emails: too many failures, an automatic suspension, a stalled connection, and — while a
connection stays suspended — its queue size twice a day. Each alert is remembered (AlertSent) so
one window, one suspension, one stall, one half-day never mails twice.

Recipients: the Org Sync Administrators with an email address, ORGSYNC_ALERT_EMAILS, and for the
queue report the console user who suspended the connection. (The connection's owner is a
Salesforce user, not a console user: orgsync has no address for them.)
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.urls import reverse
from django.utils import timezone

from connections.models import Connection
from orgsync.roles import ADMINISTRATORS
from synclog.conf import app_settings
from synclog.liveness import Stall, stalls
from synclog.models import AlertSent, ConnectionEvent
from synclog.selectors import failures_since

logger = logging.getLogger(__name__)
Kind = AlertSent.Kind


@dataclass(frozen=True)
class Alert:
    connection: Connection
    kind: str
    key: str
    subject: str
    body: str
    extra_recipients: tuple[str, ...] = ()


def alert_recipients(extra: tuple[str, ...] = ()) -> list[str]:
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


def alerts_due(*, now: datetime | None = None) -> list[Alert]:
    now = now or timezone.now()
    return [*_failure_alerts(now), *_suspension_alerts(now), *_stall_alerts(now), *_queue_reports(now)]


def alerts_send_due(*, now: datetime | None = None) -> list[Alert]:
    """Mail every alert that is due and remember it. Returns the alerts sent."""
    sent = []
    for alert in alerts_due(now=now):
        recipients = alert_recipients(alert.extra_recipients)
        if not recipients:
            logger.warning("alert %r has no recipients: add an email to an administrator", alert.subject)
            continue
        send_mail(alert.subject, alert.body, settings.DEFAULT_FROM_EMAIL, recipients)
        AlertSent.objects.create(
            connection=alert.connection, kind=alert.kind, key=alert.key, recipients=len(recipients)
        )
        sent.append(alert)
    return sent

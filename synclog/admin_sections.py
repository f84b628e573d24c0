"""Synclog's part of the connection page (connections.admin_sections): the last runs and the
open sync log entries. Registered from SynclogConfig.ready()."""

from __future__ import annotations

from django.db.models import Count
from django.http import HttpRequest

from connections.admin_sections import TEMPLATES, Section, change_url, changelist_url, register_section
from connections.models import Connection
from synclog.labels import action_label, direction_label
from synclog.models import SyncLog, SyncRun

LAST_RUNS = 5
LAST_ENTRIES = 10
OPEN = (SyncLog.Status.FAILED, SyncLog.Status.RETRYING)


def runs_section(request: HttpRequest, connection: Connection) -> Section:
    """The connection's last runs (capture, apply, bulk) with their counts."""
    runs = [
        {"run": run, "url": change_url(request, run), "direction": direction_label(run.direction)}
        for run in SyncRun.objects.filter(connection=connection)[:LAST_RUNS]
    ]
    return Section(
        f"{TEMPLATES}/runs.html",
        {"runs": runs},
        title=f"Last {LAST_RUNS} runs",
        slug="runs",
        list_url=changelist_url(request, SyncRun, connection__id__exact=connection.pk),
        list_label="All runs",
    )


def log_section(request: HttpRequest, connection: Connection) -> Section:
    """The newest open sync log entries (Failed, Retrying) with their error code, and how many
    of each there are."""
    open_entries = SyncLog.objects.filter(connection=connection, status__in=OPEN)
    counts = dict(open_entries.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    totals = [
        {
            "status": status,
            "label": status.label,
            "count": counts.get(status, 0),
            "url": changelist_url(request, SyncLog, connection__id__exact=connection.pk, status__exact=status)
            if counts.get(status)
            else "",
        }
        for status in OPEN
    ]
    entries = [
        {"entry": entry, "url": change_url(request, entry), "action": action_label(entry.action)}
        for entry in open_entries.order_by("-updated_at", "-id")[:LAST_ENTRIES]
    ]
    return Section(
        f"{TEMPLATES}/log.html",
        {
            "entries": entries,
            "totals": totals,
            "last": LAST_ENTRIES,
            "open_total": sum(counts.values()),
            "more": sum(counts.values()) > LAST_ENTRIES,
        },
        title="Open sync log entries",
        slug="log",
        list_url=changelist_url(request, SyncLog, connection__id__exact=connection.pk),
        list_label="Whole sync log",
    )


def register() -> None:
    register_section(30, runs_section)
    register_section(40, log_section)

"""Metadiff's part of the connection page (connections.admin_sections): the metadata gaps that
would break record sync. Registered from MetadiffConfig.ready().

The page never asks the orgs for them: it shows the last known result — of the last metadata
sync, or of a check run from this box (kept in the shared cache) — whichever is newer, and a
*Check now* button (managers) that compares the published fields once and keeps the answer.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib import messages
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.urls import reverse
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from connections.admin_sections import (
    TEMPLATES,
    Section,
    can_manage,
    change_url,
    changelist_url,
    register_action,
    register_section,
)
from connections.errors import ConnectionsError
from connections.models import Connection
from metadiff.errors import MetadiffError
from metadiff.gaps import GAP_LABELS, GapKind, connection_metadata_gaps
from metadiff.models import ConnectionMetadataSync
from replication.errors import ReplicationError

ACTION = "metadata-gaps"
CHECK_KEEP_SECONDS = 7 * 24 * 3600
SHOWN = 5


def _key(connection: Connection) -> str:
    return f"connection-hub:metadata-gaps:{connection.pk}"


@dataclass(frozen=True)
class KnownGaps:
    """The newest stored answer: when, from what, and the gaps (MetadataGap.as_dict())."""

    at: datetime
    source: str
    gaps: list[dict]


def known_gaps(connection: Connection) -> KnownGaps | None:
    found = []
    sync = ConnectionMetadataSync.objects.filter(connection=connection, finished_at__isnull=False).first()
    if sync is not None:
        found.append(
            KnownGaps(sync.finished_at, f"metadata sync ({sync.get_trigger_display().lower()})", sync.gaps)
        )
    checked = cache.get(_key(connection))
    if checked and parse_datetime(checked["at"]):
        found.append(KnownGaps(parse_datetime(checked["at"]), "check from this page", checked["gaps"]))
    return max(found, key=lambda k: k.at, default=None)


def gaps_section(request: HttpRequest, connection: Connection) -> Section:
    known = known_gaps(connection)
    sync = ConnectionMetadataSync.objects.filter(connection=connection).first()
    gaps = [
        {
            "where": f"{g['object']}.{g['field']}" if g["field"] else g["object"],
            "org": f"{g['target_org']} org",
            "kind": GAP_LABELS[GapKind(g["kind"])],
            "fix": g["fix"],
        }
        for g in (known.gaps if known else [])
    ]
    return Section(
        f"{TEMPLATES}/gaps.html",
        {
            "known": known,
            "gaps": gaps[:SHOWN],
            "more": max(0, len(gaps) - SHOWN),
            "count": len(gaps),
            "check_url": (
                reverse("admin:connections_connection_hub_action", args=[connection.pk, ACTION])
                if can_manage(request)
                else ""
            ),
            "sync_url": change_url(request, sync) if sync else "",
        },
        title="Metadata gaps",
        slug="gaps",
        list_url=(
            changelist_url(request, ConnectionMetadataSync, connection__id__exact=connection.pk)
            if sync
            else ""
        ),
        list_label="Metadata sync",
    )


def check_gaps(request: HttpRequest, connection: Connection) -> HttpResponse:
    """POST: compare the published fields with their targets now (describes of both orgs), keep
    the answer for the connection page. Managers only: it spends API calls of both orgs."""
    if request.method != "POST":
        return HttpResponseNotAllowed(["POST"])
    if not can_manage(request):
        raise PermissionDenied("Checking metadata gaps needs the “Manage Connections” permission.")
    back = reverse("admin:connections_connection_change", args=[connection.pk]) + "#hub-gaps"
    try:
        gaps = connection_metadata_gaps(connection)
    except (ConnectionsError, MetadiffError, ReplicationError) as exc:
        messages.error(request, f"Could not check the metadata gaps: {' '.join(str(exc).split())}")
        return HttpResponseRedirect(back)
    cache.set(
        _key(connection),
        {"at": timezone.now().isoformat(), "gaps": [gap.as_dict() for gap in gaps]},
        CHECK_KEEP_SECONDS,
    )
    if gaps:
        messages.warning(request, f"{len(gaps)} metadata gap(s) would break record sync.")
    else:
        messages.success(request, "No metadata gaps: the published fields match.")
    return HttpResponseRedirect(back)


def register() -> None:
    register_section(50, gaps_section)
    register_action(ACTION, check_gaps)

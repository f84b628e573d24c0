"""Replication's part of the connection page (connections.admin_sections): the Sync Now, Bulk
Sync and Reconcile buttons, the published and subscribed objects with their mapping health, the
record queue by status, and the connection's reconciles with their schedule. Registered from
ReplicationConfig.ready()."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Q
from django.http import HttpRequest
from django.urls import reverse

from connections.admin_sections import (
    TEMPLATES,
    TOOLS,
    Section,
    can_manage,
    change_url,
    changelist_url,
    per_request,
    register_section,
)
from connections.client import SalesforceClient
from connections.errors import ConnectionsError
from connections.models import Connection
from replication.mapping.analyzer import analyze
from replication.mapping.rules import ERROR, WARNING
from replication.models import (
    Direction,
    PublishedObject,
    QueueStatus,
    ReconcileRun,
    RecordQueueItem,
    SubscribedObject,
)
from replication.reconcile_summary import latest_completed, run_mode
from replication.services.reconcile_schedule import reconcile_schedule_of
from replication.services.subscription import mapped_objects

UNREACHABLE = "unknown (org unreachable)"
LAST_RECONCILES = 5


def sync_buttons(request: HttpRequest, connection: Connection) -> Section | None:
    """Sync Now and Bulk Sync in the button bar, for those who manage connections."""
    if not can_manage(request):
        return None
    from replication.admin_bulk import connection_button

    return Section(
        "admin/replication/bulksync/connection_button.html", {"bulk_sync": connection_button(connection)}
    )


@dataclass(frozen=True)
class Health:
    """The mapping analyzer's verdict on one subscription, as a badge."""

    level: str  # "ok", "warning", "error" or "unknown"
    label: str
    url: str = ""  # the full analysis, for those who may open it


@dataclass(frozen=True)
class ObjectRow:
    publication: PublishedObject
    subscription: SubscribedObject | None
    published_fields: int
    mapped_fields: int
    health: Health | None
    url: str


def objects_section(request: HttpRequest, connection: Connection) -> Section:
    """Per direction: each published object, what it is subscribed as, its published and mapped
    field counts and its mapping health (the analyzer, on both orgs' live describes)."""
    publications = (
        PublishedObject.objects.filter(connection=connection)
        .select_related("connection__primary_org", "connection__secondary_org", "subscription")
        .annotate(
            published_count=Count("fields", filter=Q(fields__is_published=True), distinct=True),
            mapped_count=Count(
                "subscription__fields", filter=~Q(subscription__fields__target_field=""), distinct=True
            ),
        )
        .order_by("direction", "sort_order", "source_object")
    )
    directions = [Direction.PRIMARY_TO_SECONDARY]
    if connection.direction == Connection.Direction.TWO_WAY:
        directions.append(Direction.SECONDARY_TO_PRIMARY)
    directions += [p.direction for p in publications if p.direction not in directions]
    groups = []
    for direction in directions:
        source, target = _orgs(connection, direction)
        rows = [_row(request, p) for p in publications if p.direction == direction]
        groups.append({"label": f"{source} → {target}", "direction": direction, "rows": rows})
    can_publish = can_manage(request)
    return Section(
        f"{TEMPLATES}/objects.html",
        {
            "groups": groups,
            "publish_url": (
                reverse("admin:replication_publishedobject_add") + f"?connection={connection.pk}"
                if can_publish
                else ""
            ),
        },
        title="Published and subscribed objects",
        slug="objects",
        list_url=changelist_url(request, PublishedObject, connection__id__exact=connection.pk),
        list_label="All published objects",
    )


def _orgs(connection: Connection, direction: str):
    if direction == Direction.PRIMARY_TO_SECONDARY:
        return connection.primary_org, connection.secondary_org
    return connection.secondary_org, connection.primary_org


def _row(request: HttpRequest, publication: PublishedObject) -> ObjectRow:
    subscription = getattr(publication, "subscription", None)
    return ObjectRow(
        publication=publication,
        subscription=subscription,
        published_fields=publication.published_count,
        mapped_fields=publication.mapped_count if subscription else 0,
        health=mapping_health(request, subscription) if subscription and publication.is_published else None,
        url=change_url(request, publication),
    )


def mapping_health(request: HttpRequest, subscription: SubscribedObject) -> Health:
    """OK, N warnings or N errors, as the subscription's *Analyze* page finds them (the same
    analyzer and inputs), from describes read once per request. An org that does not answer
    makes the verdict unknown, never the page fail."""
    publication = subscription.published_object
    connection = publication.connection
    source = _describe(request, publication.source_org, publication.source_object)
    target = _describe(request, publication.target_org, subscription.target_object)
    analyze_url = (
        reverse("admin:replication_subscription_analyze", args=[subscription.pk])
        if change_url(request, subscription)
        else ""
    )
    if source is None or target is None:
        return Health("unknown", UNREACHABLE, analyze_url)
    published = per_request(
        request,
        ("published objects", connection.pk, publication.direction),
        lambda: set(
            connection.published_objects.filter(
                direction=publication.direction, is_published=True
            ).values_list("source_object", flat=True)
        ),
    )
    mapping = dict(subscription.fields.values_list("source_field", "target_field"))
    findings = analyze(
        source,
        target,
        {s: t or None for s, t in mapping.items()},
        target_object_mapped=per_request(
            request, ("mapped objects", connection.pk), lambda: mapped_objects(connection)
        ),
        published_objects=published,
        published_fields=publication.fields.filter(is_published=True).values_list("source_field", flat=True),
    )
    errors = sum(1 for f in findings if f.level == ERROR)
    warnings = sum(1 for f in findings if f.level == WARNING)
    if errors:
        return Health("error", f"{errors} error{'s' if errors != 1 else ''}", analyze_url)
    if warnings:
        return Health("warning", f"{warnings} warning{'s' if warnings != 1 else ''}", analyze_url)
    return Health("ok", "OK", analyze_url)


def _describe(request: HttpRequest, org, sobject: str) -> dict | None:
    """The object's describe, once per request; None once the org failed to answer (it is not
    asked again in this request)."""
    down = per_request(request, "unreachable orgs", set)
    if org.pk in down:
        return None

    def read() -> dict | None:
        try:
            client = per_request(request, ("client", org.pk), lambda: SalesforceClient(org))
            return client.describe(sobject)
        except ConnectionsError:  # unreachable, refused credentials, no such object…
            down.add(org.pk)
            return None

    return per_request(request, ("describe", org.pk, sobject), read)


def queue_section(request: HttpRequest, connection: Connection) -> Section:
    """The record queue of this connection by status, each count a link to those items."""
    counts = dict(
        RecordQueueItem.objects.filter(connection=connection)
        .values_list("status")
        .annotate(n=Count("id"))
        .values_list("status", "n")
    )
    can_view = bool(changelist_url(request, RecordQueueItem))
    rows = [
        {
            "status": value,
            "label": label,
            "count": counts.get(value, 0),
            "url": (
                changelist_url(
                    request, RecordQueueItem, connection__id__exact=connection.pk, status__exact=value
                )
                if can_view and counts.get(value)
                else ""
            ),
        }
        for value, label in QueueStatus.choices
    ]
    return Section(
        f"{TEMPLATES}/queue.html",
        {"rows": rows, "total": sum(counts.values())},
        title="Record queue",
        slug="queue",
        list_url=changelist_url(request, RecordQueueItem, connection__id__exact=connection.pk),
        list_label="All queued records",
    )


def reconcile_button(request: HttpRequest, connection: Connection) -> Section | None:
    """Reconcile in the button bar, after Sync Now and Bulk Sync, for those who manage
    connections; disabled (with the reason as its tooltip) while one runs or the connection is
    not Active."""
    if not can_manage(request):
        return None
    active = connection.reconcile_runs.filter(status__in=ReconcileRun.ACTIVE).first()
    reason = ""
    if active is not None:
        reason = f"Reconcile #{active.pk} is {active.get_status_display().lower()}: wait for it to finish."
    elif connection.status != Connection.Status.ACTIVE:
        reason = f"The connection is {connection.get_status_display()}: reconcile needs an Active connection."
    context = {
        "url": reverse("admin:replication_reconcilerun_start", args=[connection.pk]),
        "disabled_reason": reason,
        "active": active,
        "active_url": change_url(request, active) if active else "",
    }
    return Section("admin/replication/reconcilerun/connection_button.html", {"reconcile": context})


def reconcile_section(request: HttpRequest, connection: Connection) -> Section:
    """The connection's last reconciles, the latest completed one's difference count, and its
    schedule (on/off, next run), with links to start one and to edit the schedule."""
    runs = [
        {"run": run, "url": change_url(request, run), "mode": run_mode(run)}
        for run in ReconcileRun.objects.filter(connection=connection)[:LAST_RECONCILES]
    ]
    latest = latest_completed([connection.pk]).get(connection.pk)
    manage = can_manage(request)
    return Section(
        f"{TEMPLATES}/reconcile.html",
        {
            "runs": runs,
            "latest": latest,
            "latest_url": change_url(request, latest) if latest else "",
            "schedule": reconcile_schedule_of(connection),
            "start_url": reverse("admin:replication_reconcilerun_start", args=[connection.pk])
            if manage
            else "",
            "schedule_url": (
                reverse("admin:replication_reconcilerun_schedule", args=[connection.pk]) if manage else ""
            ),
        },
        title="Reconcile",
        slug="reconcile",
        list_url=changelist_url(request, ReconcileRun, connection__id__exact=connection.pk),
        list_label="All reconcile runs",
    )


def register() -> None:
    register_section(10, sync_buttons, slot=TOOLS)
    register_section(15, reconcile_button, slot=TOOLS)
    register_section(10, objects_section)
    register_section(20, queue_section)
    register_section(25, reconcile_section)

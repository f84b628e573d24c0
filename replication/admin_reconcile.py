"""Reconcile in the admin: the list of runs; a run's page (its progress while it runs, then the
counts by object and class, the repairs and a sample of the differences with links to the record
in both orgs, and their CSV); the connection's *Reconcile* form and its reconcile schedule.

Starting and scheduling need “Manage Connections” (as bulk sync does); runs are written by the
runner only (`replication.reconcile`), so the admin never adds or changes one. Only Ids and field
names are shown, never field values."""

from dataclasses import dataclass

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import QuerySet
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone

from connections.admin import MANAGE
from connections.models import Connection, Org
from replication.admin_queue import short_time
from replication.models import (
    Direction,
    PublishedObject,
    ReconcileDifference,
    ReconcileRun,
    ReconcileSchedule,
)
from replication.reconcile_summary import (
    KIND_LABELS,
    KINDS,
    count_rows,
    duration,
    progress_percent,
    repair_rows,
    run_mode,
    short_duration,
)
from replication.services.reconcile import ReconcileError, reconcile_start
from replication.services.reconcile_schedule import reconcile_schedule_of, reconcile_schedule_save
from synclog.export import direction_orgs, reconcile_csv, record_url

TEMPLATES = "admin/replication/reconcilerun"
POLL_SECONDS = 2
SAMPLE_PER_PAGE = 50
INT_MAX = 2_147_483_647  # the largest PositiveIntegerField every database stores


def published_names(connection: Connection) -> list[str]:
    """The objects published and subscribed in either direction, in apply order, once each."""
    names = PublishedObject.objects.filter(
        connection=connection, is_published=True, subscription__isnull=False
    ).order_by("sort_order", "source_object")
    return list(dict.fromkeys(names.values_list("source_object", flat=True)))


class ReconcileStartForm(forms.Form):
    """The Reconcile button's choices; `reconcile_start` checks the request as a whole."""

    direction = forms.ChoiceField(required=False)
    source_object = forms.ChoiceField(label="Object", required=False)
    repair = forms.BooleanField(
        required=False, help_text="Hand what differs to the record queue (conflict policy and retries apply)."
    )
    dry_run = forms.BooleanField(required=False, help_text="Say what repair would do; change nothing.")
    delete_extra = forms.BooleanField(
        label="Delete duplicates and orphans",
        required=False,
        help_text="With repair: delete duplicate and orphan copies (otherwise they are only reported).",
    )

    # Where each of reconcile_start's messages belongs (its first word), else above the form.
    FIELD_OF_MESSAGE = {"Direction": "direction", "Object": "source_object", "Deleting": "delete_extra"}

    def __init__(self, *args, connection: Connection, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.connection = connection
        directions = [
            ("", "Both directions" if connection.is_two_way else Direction.PRIMARY_TO_SECONDARY.label)
        ]
        if connection.is_two_way:
            directions += Direction.choices
        self.fields["direction"].choices = directions
        self.fields["direction"].error_messages["invalid_choice"] = (
            "Choose a direction: both, primary → secondary or secondary → primary (two-way connections)."
        )
        names = published_names(connection)
        self.fields["source_object"].choices = [("", "All published objects"), *((n, n) for n in names)]
        self.fields["source_object"].error_messages["invalid_choice"] = (
            f"Choose one of the published objects ({', '.join(names)}), or all of them."
            if names
            else "Nothing is published and subscribed: publish and subscribe objects first."
        )

    def start(self, actor) -> ReconcileRun:
        """Start the run; a refused request becomes errors on the fields they concern."""
        data = self.cleaned_data
        try:
            return reconcile_start(
                connection=self.connection,
                actor=actor,
                direction=data["direction"],
                source_object=data["source_object"],
                repair=data["repair"],
                dry_run=data["dry_run"],
                delete_extra=data["delete_extra"],
            )
        except ReconcileError as exc:
            for message in exc.messages:
                field = next((f for p, f in self.FIELD_OF_MESSAGE.items() if message.startswith(p)), None)
                self.add_error(field, message)
            raise


class ReconcileScheduleForm(forms.ModelForm):
    """The connection's scheduled reconcile (off until an admin turns it on)."""

    every_hours = forms.IntegerField(
        min_value=1, max_value=24 * 30, help_text="Hours between two reconciles (24: nightly)."
    )
    hour = forms.IntegerField(
        label="Hour (UTC)",
        min_value=0,
        max_value=23,
        help_text="Hour of the day (UTC, 0 to 23) of the first run, and of every run when nightly.",
    )
    alert_threshold = forms.IntegerField(
        min_value=1,
        max_value=INT_MAX,
        help_text="Email the administrators when a scheduled reconcile finds at least this many differences.",
    )

    class Meta:
        model = ReconcileSchedule
        fields = ("enabled", "every_hours", "hour", "repair", "alert_threshold")
        labels = {"enabled": "Run on a schedule", "repair": "Repair what differs (deletes nothing)"}


@dataclass(frozen=True)
class DifferenceRow:
    """One difference of the sample, with where its records are."""

    difference: ReconcileDifference
    source_org: Org
    target_org: Org
    source_url: str
    target_url: str
    changed_last: str


def difference_row(difference: ReconcileDifference, connection: Connection) -> DifferenceRow:
    source_org, target_org = direction_orgs(connection, difference.direction)
    side = difference.changed_last
    org = {"primary": connection.primary_org, "secondary": connection.secondary_org}.get(side)
    return DifferenceRow(
        difference,
        source_org,
        target_org,
        record_url(source_org, difference.source_id),
        record_url(target_org, difference.target_id),
        f"{side} ({org})" if org else side,
    )


@admin.register(ReconcileRun)
class ReconcileRunAdmin(admin.ModelAdmin):
    """Runs come from the Reconcile button, the command or the schedule; read-only here."""

    list_display = (
        "id",
        "connection",
        "status",
        "started",
        "finished",
        "differences",
        "api_calls",
        "scheduled",
        "mode",
    )
    list_filter = ("status", "connection", "scheduled", "repair", "dry_run")
    list_select_related = ("connection",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        """Managers may remove finished runs (a running one is the runner's)."""
        return request.user.has_perm(MANAGE) and not (obj is not None and obj.is_active)

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[ReconcileRun]) -> None:
        queryset.exclude(status__in=ReconcileRun.ACTIVE).delete()

    @admin.display(description="started", ordering="started_at")
    def started(self, run: ReconcileRun) -> str:
        return short_time(run.started_at)

    @admin.display(description="finished", ordering="finished_at")
    def finished(self, run: ReconcileRun) -> str:
        return short_time(run.finished_at)

    @admin.display(description="mode")
    def mode(self, run: ReconcileRun) -> str:
        return run_mode(run)

    # --- own pages ----------------------------------------------------------------------------
    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("start/<int:connection_pk>/", view(self.start_view), name="replication_reconcilerun_start"),
            path(
                "schedule/<int:connection_pk>/",
                view(self.schedule_view),
                name="replication_reconcilerun_schedule",
            ),
            path("<int:pk>/status.json", view(self.status_view), name="replication_reconcilerun_status"),
            path("<int:pk>/differences.csv", view(self.csv_view), name="replication_reconcilerun_csv"),
            *super().get_urls(),
        ]

    def _require_manage(self, request: HttpRequest) -> None:
        if not request.user.has_perm(MANAGE):
            raise PermissionDenied("Reconcile needs the “Manage Connections” permission.")

    def _run(self, request: HttpRequest, pk) -> ReconcileRun:
        run = self.get_object(request, str(pk))
        if run is None:
            raise Http404("No such reconcile run.")
        if not self.has_view_permission(request, run):
            raise PermissionDenied
        return run

    def get_queryset(self, request: HttpRequest) -> QuerySet[ReconcileRun]:
        return (
            super()
            .get_queryset(request)
            .select_related("connection__primary_org", "connection__secondary_org", "requested_by")
        )

    def start_view(self, request: HttpRequest, connection_pk: int) -> HttpResponse:
        """The connection's Reconcile form; a refused start shows its reasons on the form (200)."""
        self._require_manage(request)
        connection = get_object_or_404(Connection, pk=connection_pk)
        form = ReconcileStartForm(request.POST if request.method == "POST" else None, connection=connection)
        if request.method == "POST" and form.is_valid():
            try:
                run = form.start(request.user)
            except ReconcileError:
                pass  # the form carries the messages
            else:
                self.message_user(request, f"Reconcile #{run.pk} of “{connection}” started.")
                return HttpResponseRedirect(reverse("admin:replication_reconcilerun_change", args=[run.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Reconcile: {connection}",
            "connection": connection,
            "form": form,
            "active": connection.reconcile_runs.filter(status__in=ReconcileRun.ACTIVE).first(),
        }
        return TemplateResponse(request, f"{TEMPLATES}/start.html", context)

    def schedule_view(self, request: HttpRequest, connection_pk: int) -> HttpResponse:
        """The connection's reconcile schedule: on/off, how often, repair, alert threshold."""
        self._require_manage(request)
        connection = get_object_or_404(Connection, pk=connection_pk)
        schedule = reconcile_schedule_of(connection)
        form = ReconcileScheduleForm(request.POST if request.method == "POST" else None, instance=schedule)
        if request.method == "POST" and form.is_valid():
            schedule = reconcile_schedule_save(schedule=form.save(commit=False))
            when = f"next at {schedule.next_run_at:%Y-%m-%d %H:%M} UTC" if schedule.next_run_at else "off"
            self.message_user(request, f"Reconcile schedule of “{connection}” saved: {when}.")
            page = reverse("admin:connections_connection_change", args=[connection.pk])
            return HttpResponseRedirect(f"{page}#hub-reconcile")
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Reconcile schedule: {connection}",
            "connection": connection,
            "form": form,
            "schedule": schedule,
        }
        return TemplateResponse(request, f"{TEMPLATES}/schedule.html", context)

    def change_view(self, request: HttpRequest, object_id: str, form_url="", extra_context=None):
        """The run's page: progress while it runs, then its results."""
        run = self._run(request, object_id)
        now = timezone.now()
        kind = request.GET.get("kind", "")
        kind = kind if kind in KINDS else ""
        page, rows = _sample(run, kind, request.GET.get("page"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": str(run),
            "run": run,
            "mode": run_mode(run),
            "percent": progress_percent(run),
            "duration": short_duration(duration(run, now)),
            "kinds": [(k, KIND_LABELS[k]) for k in KINDS],
            "count_rows": count_rows(run.counts),
            "kind_totals": _kind_totals(run),
            "repairs": repair_rows(run.repairs),
            "kind": kind,
            "page_obj": page,
            "rows": rows,
            "sample_total": run.found.count(),
            "poll_seconds": POLL_SECONDS,
            "can_delete": self.has_delete_permission(request, run),
            **(extra_context or {}),
        }
        return TemplateResponse(request, f"{TEMPLATES}/run.html", context)

    def status_view(self, request: HttpRequest, pk: int) -> JsonResponse:
        """Polled by the run's page while it runs (static/orgsync/reconcile.js)."""
        run = self._run(request, pk)
        return JsonResponse(
            {
                "status": run.status,
                "active": run.is_active,
                "phase": run.phase,
                "records_read": run.records_read,
                "records_total": run.records_total,
                "percent": progress_percent(run),
                "differences": run.differences,
            }
        )

    def csv_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The run's sample of differences as CSV: Ids, links and field names, never values."""
        return reconcile_csv(self._run(request, pk))


def _kind_totals(run: ReconcileRun) -> list[int]:
    rows = count_rows(run.counts)
    return [sum(row.cells[i] for row in rows) for i in range(len(KINDS))]


def _sample(run: ReconcileRun, kind: str, page: str | None) -> tuple[Page, list[DifferenceRow]]:
    """One page of the run's sample of differences (of one class, or all)."""
    differences = run.found.order_by("id")
    if kind:
        differences = differences.filter(kind=kind)
    current = Paginator(differences, SAMPLE_PER_PAGE).get_page(page)
    return current, [difference_row(d, run.connection) for d in current.object_list]

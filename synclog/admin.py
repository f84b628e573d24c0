"""The sync log, run summaries and the dashboard in the admin: append-only and read-only (like
django-q2's task admin); the only doors are Retry (one entry, a run, or a filtered set) and the
CSV export. Each calls one service."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.defaultfilters import filesizeformat
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_POST

from orgsync.clusters import cluster_states
from replication.admin_queue import short_time
from replication.models import Direction, QueueStatus, RecordQueueItem
from synclog import services
from synclog.catalog import explain
from synclog.charts import throughput_svg
from synclog.export import direction_orgs, record_url, sync_log_csv
from synclog.labels import action_label, direction_label
from synclog.liveness import stalls
from synclog.models import Dashboard, SyncLog, SyncRun
from synclog.selectors import connection_stats, org_usage, overall_success

RETRY = "synclog.retry_failed"
DASHBOARD_REFRESH_SECONDS = 30


class DirectionFilter(admin.SimpleListFilter):
    """The direction filter with the queue's labels (the log stores "p2s" / "s2p")."""

    title = "direction"
    parameter_name = "direction"

    def lookups(self, request, model_admin):

        return Direction.choices

    def queryset(self, request, queryset):
        return queryset.filter(direction=self.value()) if self.value() else queryset


class ReadOnlyAdmin(admin.ModelAdmin):
    """Rows are written by the engine and removed by retention, never by hand."""

    def has_add_permission(self, request: HttpRequest, *args) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


def retry_message(request: HttpRequest, modeladmin: admin.ModelAdmin, result: services.RetryResult) -> None:
    if result.retried:
        modeladmin.message_user(
            request,
            f"{result.retried} record(s) sent back to the record queue; the next sync cycle sends them.",
        )
    if result.already_retrying:
        modeladmin.message_user(request, f"{result.already_retrying} record(s) were being retried already.")
    if not result.retried and not result.already_retrying:
        modeladmin.message_user(
            request, "Nothing to retry: only Failed entries can be retried.", messages.WARNING
        )


def _back(request: HttpRequest, fallback: str) -> HttpResponseRedirect:
    target = request.POST.get("next", "")
    safe = url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure())
    return HttpResponseRedirect(target if safe and target else fallback)


def retry_button(entry: SyncLog) -> str:
    """A Retry button for a Failed entry, inside the page's own form (changelist or change form,
    both carry the CSRF token), posting to that entry's retry view."""
    if entry.status != SyncLog.Status.FAILED:
        return ""
    return format_html(
        '<button type="submit" class="button retry-one" formaction="{}" name="retry" value="{}">'
        "Retry</button>",
        reverse("admin:synclog_synclog_retry", args=[entry.pk]),
        entry.pk,
    )


@admin.register(SyncLog)
class SyncLogAdmin(ReadOnlyAdmin):
    list_display = (
        "updated_at",
        "connection",
        "source_object",
        "record",
        "action_label",
        "status",
        "next_retry",
        "error_code",
        "short_message",
        "attempt",
        "run_link",
    )
    list_filter = (
        "status",
        "connection",
        ("source_object", admin.AllValuesFieldListFilter),
        ("error_code", admin.AllValuesFieldListFilter),
        DirectionFilter,
        "updated_at",
    )
    search_fields = ("source_id", "target_id", "error_code")
    list_select_related = ("connection__primary_org", "connection__secondary_org")
    date_hierarchy = "updated_at"
    actions = ("retry_failed",)
    fieldsets = (
        (
            None,
            {
                "fields": (
                    "connection",
                    "direction_display",
                    "source_object",
                    "record",
                    "target_record",
                    "action_label",
                )
            },
        ),
        (
            "Outcome",
            {"fields": ("status", "next_retry", "error_code", "message", "fields", "attempt", "run_link")},
        ),
        ("What it means and how to fix it", {"fields": ("explanation",)}),
        ("Times", {"fields": ("created_at", "updated_at", "retried_at", "retried_by")}),
    )

    @admin.display(description="record", ordering="source_id")
    def record(self, entry: SyncLog) -> str:
        source_org, _ = direction_orgs(entry.connection, entry.direction)
        url = record_url(source_org, entry.source_id)
        return (
            format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, entry.source_id)
            if url
            else entry.source_id
        )

    @admin.display(description="target record")
    def target_record(self, entry: SyncLog) -> str:
        _, target_org = direction_orgs(entry.connection, entry.direction)
        url = record_url(target_org, entry.target_id)
        return (
            format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, entry.target_id)
            if url
            else "—"
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet[SyncLog]:
        """Each entry with its record's queue item, if any: when a Retrying entry is tried again."""

        item = RecordQueueItem.objects.filter(
            connection=OuterRef("connection"),
            direction=OuterRef("direction"),
            source_id=OuterRef("source_id"),
        )
        return (
            super()
            .get_queryset(request)
            .annotate(
                queue_status=Subquery(item.values("status")[:1]),
                queue_next_retry_at=Subquery(item.values("next_retry_at")[:1]),
            )
        )

    @admin.display(description="direction", ordering="direction")
    def direction_display(self, entry: SyncLog) -> str:
        return direction_label(entry.direction)

    @admin.display(description="action", ordering="action")
    def action_label(self, entry: SyncLog) -> str:
        return action_label(entry.action)

    @admin.display(description="Next Retry Date", ordering="queue_next_retry_at")
    def next_retry(self, entry: SyncLog) -> str:
        """A Retrying entry's record waits in the queue until its Next Retry Date (or is due at
        the next sync cycle, after an operator's Retry); other statuses are not retried."""

        status = getattr(entry, "queue_status", None)
        if entry.status != SyncLog.Status.RETRYING or status is None:
            return "—"
        if status == QueueStatus.RETRYING and entry.queue_next_retry_at:
            return short_time(entry.queue_next_retry_at)
        if status == QueueStatus.IN_PROGRESS:
            return "being sent now"
        if status == QueueStatus.QUEUED:
            return "next sync cycle"
        return dict(QueueStatus.choices).get(status, status)

    @admin.display(description="message")
    def short_message(self, entry: SyncLog) -> str:
        return entry.message if len(entry.message) <= 90 else entry.message[:89] + "…"

    @admin.display(description="run", ordering="run")
    def run_link(self, entry: SyncLog) -> str:
        if entry.run_id is None:
            return "—"
        return format_html(
            '<a href="{}">#{}</a>', reverse("admin:synclog_syncrun_change", args=[entry.run_id]), entry.run_id
        )

    @admin.display(description="explanation")
    def explanation(self, entry: SyncLog) -> str:
        e = explain(entry.error_code)
        auto = mark_safe(
            "<p><em>orgsync retries this error by itself.</em></p>" if e.retried_automatically else ""
        )
        return format_html(
            '<div class="explanation"><p><strong>{}</strong></p><p>{}</p>'
            "<p><strong>Fix:</strong> {}</p>{}</div>",
            e.title,
            e.meaning,
            e.fix,
            auto,
        )

    @admin.display(description="")
    def retry_button(self, entry: SyncLog) -> str:
        return retry_button(entry)

    def get_list_display(self, request: HttpRequest):
        base = super().get_list_display(request)
        return (*base, "retry_button") if request.user.has_perm(RETRY) else base

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(RETRY)

    @admin.action(permissions=["retry"], description="Retry selected Failed entries (Retry All)")
    def retry_failed(self, request: HttpRequest, queryset: QuerySet[SyncLog]) -> None:
        retry_message(request, self, services.sync_log_retry(entries=queryset, actor=request.user))

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("export/", wrap(self.export_view), name="synclog_synclog_export"),
            path("<int:pk>/retry/", wrap(self.retry_view), name="synclog_synclog_retry"),
            *super().get_urls(),
        ]

    def export_view(self, request: HttpRequest) -> HttpResponse:
        """The changelist's rows (its filters, search and order) as CSV."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        return sync_log_csv(self.get_changelist_instance(request).queryset)

    @method_decorator(require_POST)
    def retry_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        if not self.has_retry_permission(request):
            raise PermissionDenied("Retrying needs the “Retry failed items” permission.")
        get_object_or_404(SyncLog, pk=pk)
        retry_message(
            request, self, services.sync_log_retry(entries=SyncLog.objects.filter(pk=pk), actor=request.user)
        )
        return _back(
            request, request.META.get("HTTP_REFERER") or reverse("admin:synclog_synclog_change", args=[pk])
        )

    def change_view(self, request, object_id, form_url="", extra_context=None):
        entry = self.get_object(request, object_id)
        can_retry = bool(
            entry and entry.status == SyncLog.Status.FAILED and self.has_retry_permission(request)
        )
        return super().change_view(
            request, object_id, form_url, {**(extra_context or {}), "can_retry": can_retry}
        )


class SyncLogInline(admin.TabularInline):
    model = SyncLog
    verbose_name_plural = "Record entries of this run"
    fields = ("source_object", "source_id", "action_label", "status", "error_code", "message", "attempt")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    ordering = ("status", "-updated_at")

    def get_fields(self, request, obj=None):
        return (*self.fields, "retry_button") if request.user.has_perm(RETRY) else self.fields

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj)

    @admin.display(description="")
    def retry_button(self, entry: SyncLog) -> str:
        return retry_button(entry)

    @admin.display(description="action")
    def action_label(self, entry: SyncLog) -> str:
        return action_label(entry.action)

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SyncRun)
class SyncRunAdmin(ReadOnlyAdmin):
    list_display = (
        "started_at",
        "connection",
        "kind",
        "direction_display",
        "duration",
        "processed",
        "succeeded",
        "failed",
        "filtered_out",
        "skipped",
        "files",
        "file_size",
        "api_calls",
        "outcome",
        "failed_entries",
    )
    list_filter = ("outcome", "kind", "connection", DirectionFilter, "started_at")
    list_select_related = ("connection",)
    date_hierarchy = "started_at"
    inlines = (SyncLogInline,)
    fields = (
        "connection",
        "kind",
        "direction_display",
        "started_at",
        "finished_at",
        "duration",
        ("processed", "succeeded", "failed", "filtered_out", "skipped"),
        ("files", "file_size"),
        "api_calls",
        "outcome",
        "error",
    )

    @admin.display(description="direction", ordering="direction")
    def direction_display(self, run: SyncRun) -> str:
        return direction_label(run.direction)

    @admin.display(description="file bytes", ordering="file_bytes")
    def file_size(self, run: SyncRun) -> str:
        return filesizeformat(run.file_bytes) if run.files else "—"

    @admin.display(description="duration")
    def duration(self, run: SyncRun) -> str:
        seconds = run.duration_seconds
        if seconds is None:
            return "running" if run.outcome == SyncRun.Outcome.RUNNING else "—"
        return f"{seconds:.1f} s" if seconds < 120 else f"{seconds / 60:.1f} min"

    @admin.display(description="log")
    def failed_entries(self, run: SyncRun) -> str:
        if not run.failed:
            return "—"
        url = reverse("admin:synclog_synclog_changelist")
        return format_html(
            '<a href="{}?run__id__exact={}&status__exact=failed">{} failed</a>', url, run.pk, run.failed
        )

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("<int:pk>/retry/", wrap(self.retry_view), name="synclog_syncrun_retry"),
            *super().get_urls(),
        ]

    @method_decorator(require_POST)
    def retry_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Retry All of one run: every Failed entry it counts."""
        if not request.user.has_perm(RETRY):
            raise PermissionDenied("Retrying needs the “Retry failed items” permission.")
        run = get_object_or_404(SyncRun, pk=pk)
        retry_message(request, self, services.sync_log_retry(entries=run.logs.all(), actor=request.user))
        return HttpResponseRedirect(reverse("admin:synclog_syncrun_change", args=[pk]))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        run = self.get_object(request, object_id)
        can_retry = bool(
            run and request.user.has_perm(RETRY) and run.logs.filter(status=SyncLog.Status.FAILED).exists()
        )
        return super().change_view(
            request, object_id, form_url, {**(extra_context or {}), "can_retry": can_retry}
        )


def _worker_clusters(now) -> dict:
    """The dashboard's Worker clusters panel: stalled and lost clusters (`orgsync.clusters`),
    how many are live, and whether any runs at all (a stalled one runs, as /healthz counts)."""
    states = cluster_states(now=now)
    live = [s for s in states if s.state == "live"]
    return {
        "troubled_clusters": [s for s in states if s.state != "live"],
        "live_clusters": len(live),
        "live_workers": sum(s.workers for s in live),
        "clusters_running": any(s.state != "lost" for s in states),
    }


@admin.register(Dashboard)
class DashboardAdmin(ReadOnlyAdmin):
    """/admin/synclog/dashboard/: stalled connections first (reason, last error, the catalogue's
    explanation), then worker clusters (stalled or lost ones, or none running, in red); per
    connection status, queue, lag, 24 h chart, success rate; per org API usage. Reloads itself
    every 30 seconds (a meta refresh: no script)."""

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.has_perm("synclog.view_syncrun")

    def get_urls(self):
        return [
            path("", self.admin_site.admin_view(self.changelist_view), name="synclog_dashboard_changelist")
        ]

    def changelist_view(self, request: HttpRequest, extra_context=None) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        now = timezone.now()
        stats = connection_stats(now=now)
        rows = [
            (s, throughput_svg(s.hours, label=f"{s.connection}: records per hour, last 24 hours"))
            for s in stats
        ]
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Sync dashboard",
            "now": now,
            "stalls": stalls(now=now),
            **_worker_clusters(now),
            "rows": rows,
            "overall": overall_success(stats),
            "orgs": org_usage(),
            "refresh_seconds": DASHBOARD_REFRESH_SECONDS,
            **(extra_context or {}),
        }
        return TemplateResponse(request, "admin/synclog/dashboard.html", context)

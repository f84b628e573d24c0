"""Admin doors: Org Differences, the Org Synchronization History (with its result page, Synchronize
Orgs, log, schedule and reports), the Deployment History, and the metadata sync of connections
(its own list, with *Run metadata sync now*, and a panel on the connection's page). Each view
calls one service."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.views.decorators.http import require_POST

from connections.forms import connected_orgs
from connections.models import Connection
from metadiff import connection_sync, services
from metadiff.compare import STATE_LABELS, State
from metadiff.errors import MetadiffError
from metadiff.forms import ScheduleForm, SynchronizeForm
from metadiff.gaps import GAP_LABELS, GapKind
from metadiff.models import ConnectionMetadataSync, Deployment, DiffRun, OrgDifference
from metadiff.reports import diff_run_csv, diff_run_pdf


def _context(model_admin: admin.ModelAdmin, request: HttpRequest, title: str, **extra) -> dict:
    return {
        **model_admin.admin_site.each_context(request),
        "opts": model_admin.model._meta,
        "title": title,
        **extra,
    }


@admin.register(OrgDifference)
class OrgDifferenceAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "source_org",
        "destination_org",
        "exclude_managed",
        "member_differences",
        "scheduled",
    )
    list_select_related = ("source_org", "destination_org", "schedule")
    fields = (
        "name",
        "source_org",
        "destination_org",
        "exclude_managed",
        "member_differences",
        "profile_batch_size",
        "batch_size",
    )
    actions = ("get_differences",)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        """Only connected orgs: a failed browser sign-in leaves an org without an org id behind."""
        if db_field.name in ("source_org", "destination_org"):
            kwargs["queryset"] = connected_orgs()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description="schedule")
    def scheduled(self, difference: OrgDifference) -> str:
        schedule = difference.schedule
        return (
            f"{schedule.get_schedule_type_display()}, next {schedule.next_run:%Y-%m-%d %H:%M}"
            if schedule
            else "—"
        )

    def save_model(self, request, obj, form, change) -> None:
        if not change:
            obj.created_by = request.user
        super().save_model(request, obj, form, change)

    def response_add(self, request, obj, post_url_continue=None):
        if "_getdiff" in request.POST:
            return self._start(request, obj)
        return super().response_add(request, obj, post_url_continue)

    def response_change(self, request, obj):
        if "_getdiff" in request.POST:
            return self._start(request, obj)
        return super().response_change(request, obj)

    def _start(self, request: HttpRequest, difference: OrgDifference) -> HttpResponse:
        if not request.user.has_perm("metadiff.add_diffrun"):
            raise PermissionDenied
        run = services.diff_run_start(difference=difference, actor=request.user)
        return HttpResponseRedirect(reverse("admin:metadiff_diffrun_change", args=[run.pk]))

    @admin.action(description="Get differences", permissions=["run"])
    def get_differences(self, request: HttpRequest, queryset) -> None:
        runs = [services.diff_run_start(difference=d, actor=request.user) for d in queryset]
        self.message_user(
            request, f"Started {len(runs)} run{'s' if len(runs) != 1 else ''} of Get Differences."
        )

    def has_run_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("metadiff.add_diffrun")

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/schedule/", view(self.schedule_view), name="metadiff_orgdifference_schedule"),
            *super().get_urls(),
        ]

    def schedule_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        difference = get_object_or_404(OrgDifference, pk=pk)
        if not self.has_change_permission(request, difference):
            raise PermissionDenied
        schedule = difference.schedule
        initial = {}
        if schedule:
            initial = {
                "repeat": "weekly" if schedule.schedule_type == "W" else "daily",
                "at": schedule.next_run.time() if schedule.next_run else None,
                "weekday": schedule.next_run.weekday() if schedule.next_run else 0,
            }
        form = ScheduleForm(request.POST or None, initial=initial)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            services.org_difference_schedule(
                difference=difference,
                repeat=data["repeat"] or None,
                at=data["at"],
                weekday=data["weekday"] or 0,
            )
            self.message_user(request, "Schedule saved." if data["repeat"] else "Schedule removed.")
            return HttpResponseRedirect(reverse("admin:metadiff_diffrun_changelist"))
        context = _context(self, request, f"Schedule {difference}", difference=difference, form=form)
        return TemplateResponse(request, "admin/metadiff/orgdifference/schedule.html", context)


@admin.register(DiffRun)
class DiffRunAdmin(admin.ModelAdmin):
    """The Org Synchronization History: one row per run, with its actions."""

    list_display = (
        "name",
        "source",
        "destination",
        "created_at",
        "started_by",
        "status_column",
        "actions_column",
    )
    list_filter = ("status", "trigger", "difference")
    list_select_related = ("difference__source_org", "difference__destination_org", "started_by")
    readonly_fields = (
        "difference",
        "status",
        "trigger",
        "started_by",
        "progress_column",
        "summary",
        "exclude_managed",
        "member_differences",
        "created_at",
        "started_at",
        "finished_at",
        "error",
        "deployments_column",
    )
    fields = readonly_fields

    @admin.display(description="name", ordering="difference__name")
    def name(self, run: DiffRun) -> str:
        return run.difference.name

    @admin.display(description="source org")
    def source(self, run: DiffRun) -> str:
        return str(run.difference.source_org)

    @admin.display(description="destination org")
    def destination(self, run: DiffRun) -> str:
        return str(run.difference.destination_org)

    @admin.display(description="status", ordering="status")
    def status_column(self, run: DiffRun):
        log = reverse("admin:metadiff_diffrun_log", args=[run.pk])
        return format_html('{} <a href="{}" class="run-log">Log</a>', run.get_status_display(), log)

    @admin.display(description="actions")
    def actions_column(self, run: DiffRun):
        links = [
            ("Info", reverse("admin:metadiff_diffrun_change", args=[run.pk])),
            ("Delete", reverse("admin:metadiff_diffrun_delete", args=[run.pk])),
            ("Schedule", reverse("admin:metadiff_orgdifference_schedule", args=[run.difference_id])),
            ("Run", reverse("admin:metadiff_diffrun_rerun", args=[run.pk])),
        ]
        if run.status == DiffRun.Status.SUCCEEDED:
            links += [
                ("Report", reverse("admin:metadiff_diffrun_result", args=[run.pk])),
                ("CSV", reverse("admin:metadiff_diffrun_csv", args=[run.pk])),
                ("PDF", reverse("admin:metadiff_diffrun_pdf", args=[run.pk])),
            ]
        return format_html_join(
            " | ", '<a href="{}" class="run-{}">{}</a>', ((u, n.lower(), n) for n, u in links)
        )

    @admin.display(description="progress")
    def progress_column(self, run: DiffRun) -> str:
        return f"{run.progress}% — {run.progress_message}"

    @admin.display(description="components")
    def summary(self, run: DiffRun) -> str:
        return ", ".join(f"{STATE_LABELS[State(k)]}: {v}" for k, v in run.counts.items()) or "—"

    @admin.display(description="deployments")
    def deployments_column(self, run: DiffRun):
        rows = run.deployments.all()
        return (
            format_html_join(
                ", ",
                '<a href="{}">{}</a> ({})',
                (
                    (reverse("admin:metadiff_deployment_change", args=[d.pk]), d, d.get_status_display())
                    for d in rows
                ),
            )
            or "—"
        )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # runs come from Get Differences

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # a run is a record: read it, rerun it or delete it

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("<int:pk>/result/", view(self.result_view), name="metadiff_diffrun_result"),
            path("<int:pk>/synchronize/", view(self.synchronize_view), name="metadiff_diffrun_synchronize"),
            path("<int:pk>/log/", view(self.log_view), name="metadiff_diffrun_log"),
            path("<int:pk>/rerun/", view(require_POST(self.rerun_view)), name="metadiff_diffrun_rerun"),
            path("<int:pk>/report.csv", view(self.csv_view), name="metadiff_diffrun_csv"),
            path("<int:pk>/report.pdf", view(self.pdf_view), name="metadiff_diffrun_pdf"),
            *super().get_urls(),
        ]

    def _run(self, request: HttpRequest, pk: int) -> DiffRun:
        run = get_object_or_404(DiffRun.objects.select_related("difference"), pk=pk)
        if not self.has_view_permission(request, run):
            raise PermissionDenied
        return run

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), "show_refresh": True}
        return super().change_view(request, object_id, form_url, extra_context)

    def result_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        run = self._run(request, pk)
        state = request.GET.get("state", "")
        rows = run.components.all()
        if state in State.__members__.values() or state in {s.value for s in State}:
            rows = rows.filter(state=state)
        else:
            rows = rows.exclude(state=State.IDENTICAL)
            state = ""
        by_type: dict[str, list] = {}
        for row in rows:
            by_type.setdefault(row.type, []).append(row)
        context = _context(
            self,
            request,
            f"Differences: {run.difference.name}",
            run=run,
            by_type=sorted(by_type.items()),
            state=state,
            states=[(s.value, label, run.counts.get(s.value, 0)) for s, label in STATE_LABELS.items()],
            can_deploy=request.user.has_perm("metadiff.add_deployment"),
        )
        return TemplateResponse(request, "admin/metadiff/diffrun/result.html", context)

    def synchronize_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        run = self._run(request, pk)
        if request.method != "POST" or not request.user.has_perm("metadiff.add_deployment"):
            raise PermissionDenied
        additions = [tuple(v.split("|", 1)) for v in request.POST.getlist("add") if "|" in v]
        deletions = [tuple(v.split("|", 1)) for v in request.POST.getlist("delete") if "|" in v]
        form = SynchronizeForm(request.POST if "deploy" in request.POST else None)
        if form.is_bound and form.is_valid():
            try:
                deployment = services.deployment_start(
                    run=run,
                    additions=additions,
                    deletions=deletions,
                    validate_only=form.cleaned_data["validate_only"],
                    test_level=form.cleaned_data["test_level"],
                    run_tests=form.test_names(),
                    actor=request.user,
                )
            except MetadiffError as exc:
                self.message_user(request, str(exc), messages.ERROR)
                return HttpResponseRedirect(reverse("admin:metadiff_diffrun_result", args=[run.pk]))
            return HttpResponseRedirect(reverse("admin:metadiff_deployment_change", args=[deployment.pk]))
        if not additions and not deletions:
            self.message_user(request, "Select at least one component to synchronize.", messages.WARNING)
            return HttpResponseRedirect(reverse("admin:metadiff_diffrun_result", args=[run.pk]))
        context = _context(
            self,
            request,
            "Synchronize orgs",
            run=run,
            form=form,
            additions=additions,
            deletions=deletions,
        )
        return TemplateResponse(request, "admin/metadiff/diffrun/synchronize.html", context)

    def log_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        run = self._run(request, pk)
        context = _context(self, request, f"Log of {run}", run=run)
        return TemplateResponse(request, "admin/metadiff/diffrun/log.html", context)

    def rerun_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        run = self._run(request, pk)
        if not request.user.has_perm("metadiff.add_diffrun"):
            raise PermissionDenied
        new = services.diff_run_rerun(run=run, actor=request.user)
        self.message_user(request, f"Started {new}.")
        return HttpResponseRedirect(reverse("admin:metadiff_diffrun_change", args=[new.pk]))

    def csv_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        run = self._run(request, pk)
        response = HttpResponse(diff_run_csv(run=run), content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = f'attachment; filename="org-differences-{run.pk}.csv"'
        return response

    def pdf_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        run = self._run(request, pk)
        response = HttpResponse(diff_run_pdf(run=run), content_type="application/pdf")
        response["Content-Disposition"] = f'attachment; filename="org-differences-{run.pk}.pdf"'
        return response


@admin.register(Deployment)
class DeploymentAdmin(admin.ModelAdmin):
    """The Deployment History: read-only."""

    list_display = (
        "__str__",
        "destination",
        "validate_only",
        "test_level",
        "status",
        "created_at",
        "started_by",
    )
    list_filter = ("status", "validate_only", "test_level")
    list_select_related = ("run__difference__destination_org", "started_by")
    readonly_fields = (
        "run",
        "status",
        "validate_only",
        "test_level",
        "run_tests",
        "async_id",
        "components_total",
        "components_outcome",
        "tests_total",
        "errors_column",
        "failures_column",
        "coverage_warnings",
        "error",
        "log_column",
        "started_by",
        "created_at",
        "finished_at",
    )
    fields = readonly_fields

    @admin.display(description="destination org")
    def destination(self, deployment: Deployment) -> str:
        return str(deployment.run.difference.destination_org)

    @admin.display(description="components")
    def components_outcome(self, deployment: Deployment) -> str:
        """What Salesforce counted, in words that do not claim a deployment that did not happen:
        a validation deploys nothing (its count is of components that validated), and a failed
        deployment is rolled back (orgsync deploys with rollbackOnError)."""
        passed, total = deployment.components_deployed, deployment.components_total
        if deployment.status in (Deployment.Status.QUEUED, Deployment.Status.IN_PROGRESS):
            return "— (not finished)"
        if deployment.validate_only:
            return f"0 deployed (validation only) · {passed} of {total} passed validation"
        if deployment.status == Deployment.Status.FAILED:
            return f"0 deployed (failed, rolled back) · {passed} of {total} passed before it failed"
        return f"{passed} of {total} deployed"

    @admin.display(description="component errors")
    def errors_column(self, deployment: Deployment):
        return (
            format_html_join(
                "",
                '<div class="component-error">{} {}: {}</div>',
                ((e["type"], e["name"], e["problem"]) for e in deployment.component_errors),
            )
            or "—"
        )

    @admin.display(description="test failures")
    def failures_column(self, deployment: Deployment):
        return (
            format_html_join(
                "",
                '<div class="test-failure">{}.{}: {}</div>',
                ((f["class"], f["method"], f["message"]) for f in deployment.test_failures),
            )
            or "—"
        )

    @admin.display(description="log")
    def log_column(self, deployment: Deployment):
        return format_html('<pre class="deployment-log">{}</pre>', deployment.log)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


# --- metadata sync of connections --------------------------------------------------------------


def _gaps_table(sync: ConnectionMetadataSync):
    if not sync.gaps:
        return "None: the published fields match." if sync.finished_at else "—"
    rows = format_html_join(
        "",
        "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
        (
            (
                f"{g['object']}.{g['field']}" if g["field"] else g["object"],
                f"{g['target_org']} org",
                GAP_LABELS[GapKind(g["kind"])],
                g["detail"],
                g["fix"],
            )
            for g in sync.gaps
        ),
    )
    return format_html(
        '<table class="metadata-gaps"><thead><tr><th>field</th><th>to fix in</th><th>gap</th>'
        "<th>detail</th><th>fix</th></tr></thead><tbody>{}</tbody></table>",
        rows,
    )


class _MetadataSyncDisplay:
    """Read-only columns shared by the list and the panel on the connection's page."""

    @admin.display(description="metadata gaps (differences that would break record sync)")
    def gaps_table(self, sync: ConnectionMetadataSync):
        return _gaps_table(sync)

    @admin.display(description="deployed")
    def deployed_list(self, sync: ConnectionMetadataSync) -> str:
        return ", ".join(f"{t} {n}" for t, n in sync.deployed) or "nothing"

    @admin.display(description="history")
    def history_links(self, sync: ConnectionMetadataSync):
        links = [
            ("Metadata sync log", reverse("admin:metadiff_connectionmetadatasync_change", args=[sync.pk]))
        ]
        if sync.last_run_id:
            links.append(("Differences", reverse("admin:metadiff_diffrun_result", args=[sync.last_run_id])))
        if sync.last_deployment_id:
            links.append(
                ("Deployment", reverse("admin:metadiff_deployment_change", args=[sync.last_deployment_id]))
            )
        links.append(
            (
                "Run again",
                reverse("admin:metadiff_connectionmetadatasync_changelist")
                + f"?connection__id__exact={sync.connection_id}",
            )
        )
        return format_html_join(" | ", '<a href="{}">{}</a>', ((u, n) for n, u in links))


@admin.register(ConnectionMetadataSync)
class ConnectionMetadataSyncAdmin(_MetadataSyncDisplay, admin.ModelAdmin):
    """Each connection's metadata sync: its last outcome and gaps; select and *Run metadata sync
    now* to retry a failed one (a connection in Metadata Sync in Progress moves on when it
    succeeds)."""

    list_display = ("connection", "status", "trigger", "finished_at", "gap_count", "error")
    list_filter = ("status", "connection")
    list_select_related = ("connection",)
    readonly_fields = (
        "connection",
        "status",
        "trigger",
        "started_at",
        "finished_at",
        "deployed_list",
        "gaps_table",
        "error",
        "log",
        "history_links",
    )
    fields = readonly_fields
    actions = ("run_now",)

    @admin.display(description="gaps")
    def gap_count(self, sync: ConnectionMetadataSync) -> int:
        return len(sync.gaps)

    @admin.action(description="Run metadata sync now", permissions=["run"])
    def run_now(self, request: HttpRequest, queryset) -> None:
        for sync in queryset.select_related("connection"):
            connection_sync.connection_metadata_sync_start(connection=sync.connection)
        self.message_user(request, f"Metadata sync queued for {len(queryset)} connection(s).")

    def has_run_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("metadiff.change_connectionmetadatasync")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a connection's first metadata sync creates it

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False


class ConnectionMetadataSyncInline(_MetadataSyncDisplay, admin.StackedInline):
    model = ConnectionMetadataSync
    verbose_name = verbose_name_plural = "Metadata sync"
    fields = ("status", "trigger", "finished_at", "deployed_list", "gaps_table", "error", "history_links")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False


# The panel joins the connection's page without the connections app knowing about metadiff.
_connection_admin = admin.site.get_model_admin(Connection)
_connection_admin.inlines = (*_connection_admin.inlines, ConnectionMetadataSyncInline)

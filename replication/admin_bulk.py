"""Bulk sync in the admin (Manage Connections only): the list of runs, the *Bulk Sync* page of a
connection (start), a run's progress page (auto-refreshing, with Cancel)."""

from datetime import datetime, time

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet, Sum
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_POST

from connections.admin import MANAGE
from connections.models import Connection
from replication.bulksync.progress import files_sent, object_progress
from replication.bulksync.scope import BulkSyncError, default_cutoff
from replication.engine.cycle import CAPTURING
from replication.errors import ReplicationError
from replication.models import BulkSync, Direction, PublishedObject
from replication.services.bulk_sync import bulk_sync_cancel, bulk_sync_start
from replication.services.sync_now import connection_sync_now

TEMPLATES = "admin/replication/bulksync"
POLL_SECONDS = 2


class BulkSyncStartForm(forms.Form):
    """Org Sync's Bulk Sync choices: objects, a cutoff date or a number of entities, dry run."""

    LIMIT_MAX = 2_147_483_647  # the largest PositiveIntegerField every database stores

    direction = forms.ChoiceField(choices=Direction.choices)
    objects = forms.MultipleChoiceField(widget=forms.CheckboxSelectMultiple, required=True)
    scope = forms.ChoiceField(
        choices=[
            ("since", "Records created or modified since the cutoff date"),
            ("limit", "Number of entities"),
        ],
        widget=forms.RadioSelect,
        initial="since",
    )
    since = forms.DateField(
        label="Cutoff date",
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text="Within the past year, as in Organization Sync.",
    )
    limit = forms.IntegerField(
        label="Number of entities",
        required=False,
        min_value=1,
        max_value=LIMIT_MAX,  # BulkSync.limit is a PositiveIntegerField; beyond it the save overflowed
        error_messages={"max_value": f"Number of entities can be at most {LIMIT_MAX:,}."},
        help_text="The most recently modified N records of each object.",
    )
    dry_run = forms.BooleanField(
        required=False, help_text="Count what would be inserted, linked or skipped; write nothing."
    )

    # Where each of resolve_scope's messages belongs (its first words), else above the form.
    FIELD_OF_MESSAGE = {
        "Cutoff date": "since",
        "Number of entities": "limit",
        "Direction": "direction",
        "Not published": "objects",
    }

    def __init__(self, *args, connection: Connection, direction: str, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.connection = connection
        if not connection.is_two_way:
            self.fields["direction"].choices = [
                (Direction.PRIMARY_TO_SECONDARY, Direction.PRIMARY_TO_SECONDARY.label)
            ]
        published = PublishedObject.objects.filter(
            connection=connection, direction=direction, is_published=True, subscription__isnull=False
        ).order_by("sort_order", "source_object")
        names = list(published.values_list("source_object", flat=True))
        self.fields["objects"].choices = [(n, n) for n in names]
        self.fields["objects"].initial = names
        self.fields["direction"].initial = direction
        self.fields["since"].initial = default_cutoff().date()

    def clean(self) -> dict:
        data = super().clean()
        if data.get("scope") == "limit" and not data.get("limit"):
            self.add_error("limit", "Give the number of entities, or choose a cutoff date.")
        return data

    def start(self, actor) -> BulkSync:
        """Start the run; a refused request becomes errors on the fields they concern."""
        data = self.cleaned_data
        by_limit = data["scope"] == "limit"
        since = (
            None
            if by_limit or not data["since"]
            else timezone.make_aware(datetime.combine(data["since"], time.min))
        )
        try:
            return bulk_sync_start(
                connection=self.connection,
                actor=actor,
                direction=data["direction"],
                objects=data["objects"],
                since=since,
                limit=data["limit"] if by_limit else None,
                dry_run=data["dry_run"],
                run_in_worker=True,
            )
        except BulkSyncError as exc:
            for message in exc.messages:
                field = next((f for p, f in self.FIELD_OF_MESSAGE.items() if message.startswith(p)), None)
                self.add_error(field, message)
            raise


@admin.register(BulkSync)
class BulkSyncAdmin(admin.ModelAdmin):
    """Runs are started from a connection's Bulk Sync page and written by the runner only."""

    list_display = (
        "id",
        "connection",
        "direction",
        "kind",
        "status",
        "progress",
        "started_at",
        "finished_at",
        "requested_by",
    )
    list_filter = ("status", "connection", "dry_run")
    list_select_related = ("connection", "requested_by")

    def has_view_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.has_perm(MANAGE)

    def has_module_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(MANAGE)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[BulkSync]:
        return (
            super()
            .get_queryset(request)
            .annotate(total_sum=Sum("sync_objects__total"), processed_sum=Sum("sync_objects__processed"))
        )

    @admin.display(description="kind", ordering="dry_run")
    def kind(self, bulk: BulkSync) -> str:
        return "Dry run" if bulk.dry_run else "Bulk sync"

    @admin.display(description="progress")
    def progress(self, bulk: BulkSync) -> str:
        if bulk.status in (BulkSync.Status.COMPLETED, BulkSync.Status.COMPLETED_WITH_FAILURES):
            return "100 %"
        if not bulk.total_sum:
            return "—"
        return f"{min(100, (bulk.processed_sum or 0) * 100 // bulk.total_sum)} %"

    # --- own pages ----------------------------------------------------------------------------
    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("start/<int:connection_pk>/", view(self.start_view), name="replication_bulksync_start"),
            path("<int:pk>/status.json", view(self.status_view), name="replication_bulksync_status"),
            path("<int:pk>/cancel/", view(self.cancel_view), name="replication_bulksync_cancel"),
            path("sync-now/<int:connection_pk>/", view(self.sync_now_view), name="replication_sync_now"),
            *super().get_urls(),
        ]

    def _require_manage(self, request: HttpRequest) -> None:
        if not request.user.has_perm(MANAGE):
            raise PermissionDenied("Bulk sync needs the “Manage Connections” permission.")

    @method_decorator(require_POST)
    def sync_now_view(self, request: HttpRequest, connection_pk: int) -> HttpResponse:
        """The connection page's Sync Now: the next cycle starts within seconds."""
        self._require_manage(request)
        connection = get_object_or_404(Connection, pk=connection_pk)
        try:
            connection_sync_now(connection=connection)
        except ReplicationError as exc:
            self.message_user(request, str(exc), messages.ERROR)
        else:
            self.message_user(
                request,
                f"Sync now: the next cycle of “{connection}” starts within seconds (after the running "
                "one, if one runs). Its result is in the sync log and the runs.",
            )
        return HttpResponseRedirect(reverse("admin:connections_connection_change", args=[connection.pk]))

    def start_view(self, request: HttpRequest, connection_pk: int) -> HttpResponse:
        self._require_manage(request)
        connection = get_object_or_404(Connection, pk=connection_pk)
        direction = (
            request.POST.get("direction") or request.GET.get("direction") or Direction.PRIMARY_TO_SECONDARY
        )
        if direction not in Direction.values:
            direction = Direction.PRIMARY_TO_SECONDARY
        form = BulkSyncStartForm(request.POST or None, connection=connection, direction=direction)
        if request.method == "POST" and form.is_valid():
            try:
                bulk = form.start(request.user)
            except ReplicationError:
                pass  # the form carries the messages
            else:
                self.message_user(request, f"{bulk} started.")
                return HttpResponseRedirect(reverse("admin:replication_bulksync_change", args=[bulk.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Bulk Sync: {connection}",
            "connection": connection,
            "form": form,
            "unfinished": connection.bulk_syncs.filter(status__in=BulkSync.ACTIVE).first(),
        }
        status = 400 if request.method == "POST" else 200
        return TemplateResponse(request, f"{TEMPLATES}/start.html", context, status=status)

    def change_view(self, request: HttpRequest, object_id: str, form_url="", extra_context=None):
        """The progress page of one run."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        bulk = get_object_or_404(BulkSync.objects.select_related("connection", "requested_by"), pk=object_id)
        now = timezone.now()
        objects = list(bulk.sync_objects.all())
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": str(bulk),
            "bulk": bulk,
            "rows": [object_progress(o, now) for o in objects],
            "files": files_sent(objects),
            "stamp": _stamp(bulk),
            "poll_seconds": POLL_SECONDS,
            "verbs": ("Would insert", "Would link", "Would queue")
            if bulk.dry_run
            else ("Inserted", "Linked", "Queued"),
        }
        return TemplateResponse(request, f"{TEMPLATES}/progress.html", context)

    def status_view(self, request: HttpRequest, pk: int) -> JsonResponse:
        """Polled by the progress page: it reloads when `stamp` moves."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        bulk = get_object_or_404(BulkSync, pk=pk)
        return JsonResponse({"status": bulk.status, "active": bulk.is_active, "stamp": _stamp(bulk)})

    def cancel_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """GET: a confirmation page; POST: cancel."""
        self._require_manage(request)
        bulk = get_object_or_404(BulkSync.objects.select_related("connection"), pk=pk)
        progress_url = reverse("admin:replication_bulksync_change", args=[pk])
        if request.method != "POST":
            if not bulk.is_active:
                self.message_user(
                    request, f"{bulk} is not running: there is nothing to cancel.", messages.WARNING
                )
                return HttpResponseRedirect(progress_url)
            context = {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": "Cancel bulk sync?",
                "bulk": bulk,
            }
            return TemplateResponse(request, f"{TEMPLATES}/cancel.html", context)
        try:
            bulk = bulk_sync_cancel(bulk_sync=bulk, actor=request.user)
        except BulkSyncError as exc:
            self.message_user(request, " ".join(exc.messages), messages.ERROR)
            return HttpResponseRedirect(progress_url)
        done = "cancelled" if bulk.status == BulkSync.Status.CANCELLED else "stops after its current chunk"
        self.message_user(request, f"Bulk sync #{bulk.pk} {done}.")
        return HttpResponseRedirect(progress_url)


def _stamp(bulk: BulkSync) -> str:
    """Changes whenever the run or one of its objects does."""
    latest = bulk.sync_objects.order_by("-updated_at").values_list("updated_at", flat=True).first()
    return f"{bulk.status}:{latest.isoformat() if latest else ''}"


def connection_button(connection: Connection) -> dict:
    """The connection page's Bulk Sync button: where it goes, and why it is disabled (if it is)."""
    unfinished = connection.bulk_syncs.filter(status__in=BulkSync.ACTIVE).first()
    reason = ""
    if unfinished is not None:
        state = unfinished.get_status_display().lower()
        reason = f"Bulk sync #{unfinished.pk} is {state}: wait for it or cancel it."
    elif connection.status != Connection.Status.ACTIVE:
        reason = f"The connection is {connection.get_status_display()}: bulk sync needs an Active connection."
    return {
        "sync_now_url": reverse("admin:replication_sync_now", args=[connection.pk]),
        "sync_now_enabled": connection.status in CAPTURING,
        "url": reverse("admin:replication_bulksync_start", args=[connection.pk]),
        "disabled_reason": reason,
        "unfinished": unfinished,
    }

"""The record queue (Organization Sync Record Queue) in the admin, for the monitoring console."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from replication import services
from replication.models import QueueStatus, RecordQueueItem
from replication.services.queue import IGNORED, queue_item_ignore, queue_item_remove, queue_item_retry

RETRY_QUEUE = "replication.retry_recordqueueitem"
ERROR_CHARS = 40  # the list's Last error column; the full text is in the cell's title


def short_time(value) -> str:
    """2025-03-01 14:05 in the current time zone: narrow enough for the list at 1280 px."""
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value else "—"


@admin.register(RecordQueueItem)
class RecordQueueItemAdmin(admin.ModelAdmin):
    """Read-only rows with these doors: Retry now (operators and admins; list action and the
    item's page), Ignore (the item's page, confirmed; whoever may remove items: administrators)
    and removal with Django's confirmation page. Export keeps filters."""

    # Fits 1280 px beside the filters: object and record in one cell (the object opens the item,
    # the Id the record in its org), the direction under the action, short dates, the last error
    # cut short; the enqueue time is on the item's page (the list is oldest first anyway).
    list_display = (
        "object_and_record",
        "connection_name",
        "action_and_direction",
        "status",
        "attempts",
        "next_retry",
        "last_error",
    )
    list_display_links = None
    list_filter = (
        "connection",
        "action",
        "status",
        ("source_object", admin.AllValuesFieldListFilter),
        "direction",
    )
    search_fields = ("source_id",)
    list_select_related = ("connection__primary_org", "connection__secondary_org")
    actions = ("retry_now", "accept_records", "reject_records", "delete_selected")
    readonly_fields = ("record",)
    exclude = ("claimed_by",)

    @admin.display(description="record", ordering="source_id")
    def record(self, item: RecordQueueItem) -> str:
        from replication.engine.queue import is_connection_event
        from synclog.export import direction_orgs, record_url

        if is_connection_event(item):
            return item.get_action_display()  # a suspend/resume marker, not a record in an org
        url = record_url(direction_orgs(item.connection, item.direction)[0], item.source_id)
        if not url:
            return item.source_id
        return format_html('<a href="{}" target="_blank" rel="noopener">{}</a>', url, item.source_id)

    @admin.display(description="record", ordering="source_object")
    def object_and_record(self, item: RecordQueueItem) -> str:
        page = reverse("admin:replication_recordqueueitem_change", args=[item.pk])
        return format_html(
            '<a href="{}" class="queue-item">{}</a><br><span class="queue-record">{}</span>',
            page,
            item.source_object,
            self.record(item),
        )

    @admin.display(description="connection", ordering="connection__name")
    def connection_name(self, item: RecordQueueItem) -> str:
        name = item.connection.name
        return format_html('<span class="queue-connection" title="{}">{}</span>', name, name)

    @admin.display(description="action", ordering="action")
    def action_and_direction(self, item: RecordQueueItem) -> str:
        return format_html(
            '{}<br><span class="queue-direction">{}</span>',
            item.get_action_display(),
            item.get_direction_display(),
        )

    @admin.display(description="Next Retry Date", ordering="next_retry_at")
    def next_retry(self, item: RecordQueueItem) -> str:
        return short_time(item.next_retry_at)

    @admin.display(description="Last error", ordering="last_error_code")
    def last_error(self, item: RecordQueueItem) -> str:
        """The error code and the start of the message; all of it in the title (hover)."""
        if not item.last_error_code and not item.last_error_message:
            return "—"
        full = ": ".join(p for p in (item.last_error_code, item.last_error_message) if p)
        shown = full if len(full) <= ERROR_CHARS else full[: ERROR_CHARS - 1] + "…"
        return format_html('<span class="queue-error" title="{}">{}</span>', full, shown)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(RETRY_QUEUE)

    def has_ignore_permission(self, request: HttpRequest, obj=None) -> bool:
        """Ignoring takes an item away, like removal: whoever may delete queue items."""
        return self.has_delete_permission(request, obj)

    @admin.action(permissions=["retry"], description="Retry now (set the Next Retry Date to now)")
    def retry_now(self, request: HttpRequest, queryset: QuerySet[RecordQueueItem]) -> None:
        changed = queue_item_retry(items=queryset, actor=request.user)
        self.message_user(request, f"{changed} retrying item(s) are due now; the next sync cycle sends them.")

    def has_manage_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("connections.manage_connections")

    @admin.action(permissions=["manage"], description="Accept pending records (they are sent next cycle)")
    def accept_records(self, request: HttpRequest, queryset: QuerySet[RecordQueueItem]) -> None:
        accepted = services.queue_items_accept(items=queryset, actor=request.user)
        self.message_user(request, f"{accepted} pending record(s) accepted; the next sync cycle sends them.")

    @admin.action(permissions=["manage"], description="Reject pending records (never offered again)")
    def reject_records(self, request: HttpRequest, queryset: QuerySet[RecordQueueItem]) -> None:
        rejected = services.queue_items_reject(items=queryset, actor=request.user)
        self.message_user(request, f"{rejected} pending record(s) rejected.")

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[RecordQueueItem]) -> None:
        queue_item_remove(items=queryset, actor=request.user)

    def delete_model(self, request: HttpRequest, obj: RecordQueueItem) -> None:
        queue_item_remove(items=RecordQueueItem.objects.filter(pk=obj.pk), actor=request.user)

    def get_urls(self):
        wrap = self.admin_site.admin_view
        return [
            path("export/", wrap(self.export_view), name="replication_recordqueueitem_export"),
            path("<int:pk>/retry/", wrap(self.retry_view), name="replication_recordqueueitem_retry"),
            path("<int:pk>/ignore/", wrap(self.ignore_view), name="replication_recordqueueitem_ignore"),
            *super().get_urls(),
        ]

    def changelist_view(self, request: HttpRequest, extra_context=None):
        """Without the app sidebar (its « toggle), so the list's columns fit 1280 px."""
        return super().changelist_view(request, {"is_nav_sidebar_enabled": False, **(extra_context or {})})

    def export_view(self, request: HttpRequest) -> HttpResponse:
        """The changelist's rows (its filters, search and order) as CSV."""
        from synclog.export import queue_csv

        if not self.has_view_permission(request):
            raise PermissionDenied
        return queue_csv(self.get_changelist_instance(request).queryset)

    @method_decorator(require_POST)
    def retry_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The item page's Retry: a Retrying item becomes due now (`queue_item_retry`)."""
        if not self.has_retry_permission(request):
            raise PermissionDenied("Retrying needs the “Retry queued records now” permission.")
        get_object_or_404(RecordQueueItem, pk=pk)
        if queue_item_retry(items=RecordQueueItem.objects.filter(pk=pk), actor=request.user):
            self.message_user(request, "Due now: the next sync cycle sends this record.")
        else:
            self.message_user(
                request,
                "Nothing to retry: only a Retrying item waits for its Next Retry Date.",
                messages.WARNING,
            )
        return HttpResponseRedirect(reverse("admin:replication_recordqueueitem_change", args=[pk]))

    @method_decorator(require_POST)
    def ignore_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The item page's Ignore: a confirmation page first, then `queue_item_ignore`."""
        item = get_object_or_404(RecordQueueItem.objects.select_related("connection"), pk=pk)
        if not self.has_ignore_permission(request, item):
            raise PermissionDenied("Ignoring a queue item needs the permission to remove queue items.")
        if request.POST.get("confirm") != "yes":
            context = {
                **self.admin_site.each_context(request),
                "opts": self.opts,
                "title": "Ignore this record?",
                "item": item,
                "pending": item.status == QueueStatus.PENDING_ACCEPTANCE,
            }
            return TemplateResponse(
                request, "admin/replication/recordqueueitem/ignore_confirmation.html", context
            )
        if queue_item_ignore(items=RecordQueueItem.objects.filter(pk=pk), actor=request.user):
            log = reverse("admin:synclog_synclog_changelist")
            self.message_user(
                request,
                format_html(
                    '{} {} ignored: it is not sent. <a href="{}?q={}">The sync log</a> records who '
                    "ignored it (error code {}).",
                    item.source_object,
                    item.source_id,
                    log,
                    item.source_id,
                    IGNORED,
                ),
            )
            return HttpResponseRedirect(reverse("admin:replication_recordqueueitem_changelist"))
        self.message_user(
            request,
            "Not ignored: the item is being sent right now, or it is a connection marker, not a record.",
            messages.WARNING,
        )
        return HttpResponseRedirect(reverse("admin:replication_recordqueueitem_change", args=[pk]))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        from replication.engine.queue import is_connection_event

        item = self.get_object(request, object_id)
        record = item is not None and not is_connection_event(item)
        extra = {
            "can_retry": bool(
                record and item.status == QueueStatus.RETRYING and self.has_retry_permission(request)
            ),
            "can_ignore": bool(record and self.has_ignore_permission(request, item)),
        }
        return super().change_view(request, object_id, form_url, {**(extra_context or {}), **extra})

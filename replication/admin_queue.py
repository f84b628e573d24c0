"""The record queue (Organization Sync Record Queue) in the admin, for the monitoring console."""

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import path
from django.utils.html import format_html

from replication import services
from replication.models import RecordQueueItem
from replication.services.queue import queue_item_remove, queue_item_retry

RETRY_QUEUE = "replication.retry_recordqueueitem"


@admin.register(RecordQueueItem)
class RecordQueueItemAdmin(admin.ModelAdmin):
    """Read-only rows with two doors: Retry now (operators and admins) and removal with Django's
    confirmation page (whoever may delete queue items: administrators). Export keeps filters."""

    list_display = (
        "source_object",
        "record",
        "connection",
        "direction",
        "action",
        "status",
        "attempts",
        "next_retry_at",
        "enqueued_at",
        "last_error_code",
    )
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

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm(RETRY_QUEUE)

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
        export = self.admin_site.admin_view(self.export_view)
        return [path("export/", export, name="replication_recordqueueitem_export"), *super().get_urls()]

    def export_view(self, request: HttpRequest) -> HttpResponse:
        """The changelist's rows (its filters, search and order) as CSV."""
        from synclog.export import queue_csv

        if not self.has_view_permission(request):
            raise PermissionDenied
        return queue_csv(self.get_changelist_instance(request).queryset)

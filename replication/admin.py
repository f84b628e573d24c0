"""Admin doors for publish/subscribe; each button or save calls one service."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_POST

from connections.admin import ManageConnectionsPermission
from connections.client_errors import SalesforceApiError
from replication import services
from replication.errors import ReplicationError
from replication.filter_syntax import conditions_from_json, format_lines
from replication.forms import (
    MappingFormSet,
    PublicationSettingsForm,
    PublishedFieldForm,
    PublishForm,
    SubscribedFieldForm,
)
from replication.models import PublishedField, PublishedObject, SubscribedField, SubscribedObject
from synclog.models import ConnectionEvent


def _saved_by_services(formset) -> None:
    """The admin's change message reads what formset.save() would have set; services saved it."""
    formset.new_objects, formset.deleted_objects = [], []
    formset.changed_objects = [(f.instance, f.changed_data) for f in formset.forms if f.has_changed()]


class PublishedFieldInline(admin.TabularInline):
    model = PublishedField
    form = PublishedFieldForm
    fields = ("source_field", "is_published", "unsupported_reason")
    readonly_fields = ("source_field", "unsupported_reason")
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(PublishedObject)
class PublishedObjectAdmin(ManageConnectionsPermission, admin.ModelAdmin):
    list_display = ("source_object", "connection", "direction", "is_published", "sort_order", "subscribed_as")
    list_filter = ("connection", "direction", "is_published")
    list_select_related = ("connection", "subscription")
    inlines = (PublishedFieldInline,)

    @admin.display(description="subscribed as")
    def subscribed_as(self, publication: PublishedObject) -> str:
        subscription = getattr(publication, "subscription", None)
        return subscription.target_object if subscription else "—"

    # Shown instead of PublicationSettingsForm's fields to those who may only view.
    @admin.display(description="filter")
    def filter_text(self, publication: PublishedObject) -> str:
        return format_lines(conditions_from_json(publication.filter_conditions)) or "—"

    @admin.display(description="owner strategy")
    def strategy(self, publication: PublishedObject) -> str:
        return publication.get_owner_strategy_display()

    @admin.display(description="owners in the target org")
    def target_users(self, publication: PublishedObject) -> str:
        return ", ".join(publication.owner_user_ids or []) or "—"

    def get_form(self, request, obj=None, **kwargs):
        kwargs["form"] = PublishForm if obj is None else PublicationSettingsForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("connection", "direction", "source_object")
        return (
            "connection",
            "direction",
            "source_object",
            "is_published",
            "sort_order",
            "sync_created",
            "sync_updated",
            "sync_deleted",
            "filter_text",
            "strategy",
            "target_users",
        )

    def get_readonly_fields(self, request, obj=None):
        return ("connection", "direction", "source_object", "is_published") if obj else ()

    def get_inlines(self, request, obj):
        return self.inlines if obj else ()

    def save_model(self, request, obj: PublishedObject, form, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            try:
                form.save_settings(actor=request.user)
            except (ReplicationError, SalesforceApiError) as exc:
                self.message_user(request, str(exc), messages.ERROR)
            return
        publication = services.publication_publish(
            connection=obj.connection,
            direction=obj.direction,
            source_object=obj.source_object,
            actor=request.user,
        )
        obj.pk, obj._state = publication.pk, publication._state

    def add_view(self, request, form_url="", extra_context=None):
        try:
            return super().add_view(
                request, form_url, {**(extra_context or {}), "title": "Publish an object"}
            )
        except (ReplicationError, SalesforceApiError) as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(request.get_full_path())

    def save_formset(self, request, form, formset, change: bool) -> None:
        for field_form in formset.forms:
            if field_form.has_changed():
                services.field_set_published(
                    field=field_form.instance,
                    published=field_form.cleaned_data["is_published"],
                    actor=request.user,
                )
        _saved_by_services(formset)

    def delete_model(self, request: HttpRequest, obj: PublishedObject) -> None:
        services.publication_delete(publication=obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        for publication in queryset:
            services.publication_delete(publication=publication, actor=request.user)

    def get_urls(self):
        own = [
            path(
                "<int:pk>/subscribe/",
                self.admin_site.admin_view(self.subscribe_view),
                name="replication_publish_subscribe",
            ),
            path(
                "<int:pk>/unpublish/",
                self.admin_site.admin_view(self.unpublish_view),
                name="replication_publish_unpublish",
            ),
        ]
        return own + super().get_urls()

    @method_decorator(require_POST)
    def subscribe_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        self.require_manage(request)
        publication = get_object_or_404(PublishedObject, pk=pk)
        try:
            subscription = services.subscription_subscribe(
                publication=publication,
                actor=request.user,
                target_object=request.POST.get("target_object", ""),
            )
        except (ReplicationError, SalesforceApiError) as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:replication_publishedobject_change", args=[pk]))
        self.message_user(request, f"Subscribed {publication.target_org} to {subscription}.")
        return HttpResponseRedirect(
            reverse("admin:replication_subscribedobject_change", args=[subscription.pk])
        )

    @method_decorator(require_POST)
    def unpublish_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        self.require_manage(request)
        publication = services.publication_unpublish(
            publication=get_object_or_404(PublishedObject, pk=pk), actor=request.user
        )
        history = publication.connection.events.filter(kind=ConnectionEvent.Kind.OBJECT_UNPUBLISHED).first()
        self.message_user(
            request,
            f"{publication.source_object} is no longer published: {history.detail.split('; ', 1)[-1]}.",
        )
        return HttpResponseRedirect(reverse("admin:replication_publishedobject_change", args=[pk]))


class SubscribedFieldInline(admin.TabularInline):
    model = SubscribedField
    form = SubscribedFieldForm
    formset = MappingFormSet
    fields = ("source_field", "target_field")
    readonly_fields = ("source_field",)
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False


@admin.register(SubscribedObject)
class SubscribedObjectAdmin(ManageConnectionsPermission, admin.ModelAdmin):
    list_display = ("__str__", "connection", "auto_accept", "external_id_ready", "analyzed_at")
    list_select_related = ("published_object__connection",)
    fields = ("published_object", "target_object", "auto_accept", "external_id_ready", "analyzed_at")
    readonly_fields = ("published_object", "target_object", "external_id_ready", "analyzed_at")
    inlines = (SubscribedFieldInline,)

    def has_add_permission(self, request) -> bool:
        return False  # subscriptions are made from a published object's page

    @admin.display(description="connection")
    def connection(self, subscription: SubscribedObject):
        return subscription.published_object.connection

    def delete_model(self, request: HttpRequest, obj: SubscribedObject) -> None:
        services.subscription_delete(subscription=obj, actor=request.user)

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        for subscription in queryset:
            services.subscription_delete(subscription=subscription, actor=request.user)

    def save_formset(self, request, form, formset, change: bool) -> None:
        for mapping_form in formset.forms:
            if mapping_form.has_changed():
                services.subscription_set_mapping(
                    subscription=form.instance,
                    source_field=mapping_form.instance.source_field,
                    target_field=mapping_form.cleaned_data["target_field"],
                    actor=request.user,
                )
        _saved_by_services(formset)

    def get_urls(self):
        analyze = self.admin_site.admin_view(self.analyze_view)
        preflight = self.admin_site.admin_view(self.preflight_view)
        return [
            path("<int:pk>/analyze/", analyze, name="replication_subscription_analyze"),
            path("<int:pk>/preflight/", preflight, name="replication_subscription_preflight"),
            *super().get_urls(),
        ]

    def preflight_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """The exact payload one real record would become (it asks the orgs; writes nothing)."""
        subscription = get_object_or_404(SubscribedObject, pk=pk)
        if not self.has_view_permission(request, subscription):
            raise PermissionDenied
        record_id = request.GET.get("id", "").strip()
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Pre-flight: {subscription}",
            "subscription": subscription,
            "record_id": record_id,
        }
        try:
            context["result"] = services.publication_preflight(
                publication=subscription.published_object, record_id=record_id
            )
        except (ReplicationError, SalesforceApiError) as exc:
            context["error"] = str(exc)
        return TemplateResponse(request, "admin/replication/subscribedobject/preflight.html", context)

    def analyze_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        subscription = get_object_or_404(SubscribedObject, pk=pk)
        if not self.has_view_permission(request, subscription):
            raise PermissionDenied
        try:
            findings = services.subscription_analyze(subscription=subscription)
        except SalesforceApiError as exc:
            self.message_user(request, f"Could not analyze: {exc}", messages.ERROR)
            return HttpResponseRedirect(reverse("admin:replication_subscribedobject_change", args=[pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Mapping analysis: {subscription}",
            "subscription": subscription,
            "findings": findings,
            "errors": sum(1 for f in findings if f.level == "error"),
        }
        return TemplateResponse(request, "admin/replication/subscribedobject/analyze.html", context)


from replication import admin_bulk, admin_queue  # noqa: E402, F401  (they register themselves)

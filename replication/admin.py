"""Admin doors for publish/subscribe; each button or save calls one service."""

from urllib.parse import urlencode

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from connections.admin import ManageConnectionsPermission
from connections.client_errors import SalesforceApiError
from connections.models import ConnectionEvent
from replication import services
from replication.errors import ReplicationError
from replication.filter_syntax import conditions_from_json, format_lines
from replication.forms import (
    MappingFormSet,
    PublicationSettingsForm,
    PublishedFieldForm,
    PublishForm,
    SubscribedFieldForm,
    object_choices,
)
from replication.models import PublishedField, PublishedObject, SubscribedField, SubscribedObject
from replication.services.publication import (
    DisconnectPreview,
    publication_disconnect_preview,
    publication_refresh_fields,
)

REASON_MAX = 200  # what the admin types; the history line keeps at most 500 characters


def _reason(request: HttpRequest) -> str:
    return " ".join(request.POST.get("reason", "").split())[:REASON_MAX]


def _effect(preview: DisconnectPreview, *, what: str) -> str:
    """The sentence of a confirmation page: what the click does to links and queue."""
    if preview.other_direction:
        links = (
            f"{preview.disconnected} linked record(s) in this direction will be disconnected; "
            f"{preview.kept} linked record(s) stay linked because the {preview.other_direction} "
            "direction still syncs them (the other direction keeps its links)"
        )
    else:
        links = f"{preview.disconnected} linked record(s) will be disconnected"
    return (
        f"{what}: {links}, and {preview.queued} pending queue item(s) of this direction will be "
        "dropped. The records themselves stay in both orgs."
    )


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
        if request.method == "POST" and "_show_objects" in request.POST:
            # Step one of publishing: list the objects of the chosen connection and direction.
            query = urlencode(
                {k: request.POST.get(k, "") for k in ("connection", "direction") if request.POST.get(k)}
            )
            return HttpResponseRedirect(f"{request.path}?{query}")
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
                # A fresh row: validation already set the form's instance to the new value, and
                # the service compares with the stored one.
                services.field_set_published(
                    field=PublishedField.objects.get(pk=field_form.instance.pk),
                    published=field_form.cleaned_data["is_published"],
                    actor=request.user,
                )
        _saved_by_services(formset)

    def delete_model(self, request: HttpRequest, obj: PublishedObject) -> None:
        services.publication_delete(publication=obj, actor=request.user, reason=_reason(request))

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
            path(
                "<int:pk>/refresh-fields/",
                self.admin_site.admin_view(self.refresh_fields_view),
                name="replication_publish_refresh_fields",
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

    def unpublish_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """GET: what unpublishing would do, with counts, and a reason box (never changes
        anything). POST — the page's confirm button — unpublishes."""
        self.require_manage(request)
        publication = get_object_or_404(PublishedObject, pk=pk)
        change_url = reverse("admin:replication_publishedobject_change", args=[pk])
        if not publication.is_published:
            self.message_user(request, f"{publication.source_object} is not published.", messages.WARNING)
            return HttpResponseRedirect(change_url)
        if request.method == "POST":
            services.publication_unpublish(
                publication=publication, actor=request.user, reason=_reason(request)
            )
            history = publication.connection.events.filter(
                kind=ConnectionEvent.Kind.OBJECT_UNPUBLISHED
            ).first()
            links = history.detail.split("; ")[1]
            self.message_user(request, f"{publication.source_object} is no longer published: {links}.")
            return HttpResponseRedirect(change_url)
        preview = publication_disconnect_preview(publication=publication)
        return self._confirm(
            request,
            title=f"Unpublish {publication.source_object} ({publication.get_direction_display()})?",
            obj=publication,
            effect=_effect(
                preview, what=f"{publication.source_object} stops syncing to {publication.target_org}"
            ),
            button="Yes, unpublish",
            cancel_url=change_url,
        )

    def _confirm(self, request, *, title, obj, effect, button, cancel_url) -> TemplateResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": obj._meta,
            "title": title,
            "object": obj,
            "effect": effect,
            "button": button,
            "cancel_url": cancel_url,
            "reason_max": REASON_MAX,
        }
        return TemplateResponse(request, "admin/replication/confirm_disconnect.html", context)

    @method_decorator(require_POST)
    def refresh_fields_view(self, request: HttpRequest, pk: int) -> HttpResponse:
        """Re-read the source object's describe and offer the fields created since publishing."""
        self.require_manage(request)
        publication = get_object_or_404(PublishedObject, pk=pk)
        try:
            found = publication_refresh_fields(publication=publication)
        except SalesforceApiError as exc:
            self.message_user(request, f"Could not read {publication.source_object}: {exc}", messages.ERROR)
        else:
            if found.new:
                self.message_user(
                    request,
                    f"New field(s) of {publication.source_object}: {', '.join(found.new)}. "
                    "Tick “is published” to publish them, then save.",
                )
            else:
                self.message_user(request, f"No new publishable fields on {publication.source_object}.")
            if found.new_unsupported:
                self.message_user(
                    request,
                    f"New field(s) that can't be published: {', '.join(found.new_unsupported)} "
                    "(see the reason in the list).",
                    messages.WARNING,
                )
            if found.gone:
                self.message_user(
                    request,
                    f"No longer in {publication.source_object}: {', '.join(found.gone)}.",
                    messages.WARNING,
                )
        return HttpResponseRedirect(reverse("admin:replication_publishedobject_change", args=[pk]))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = dict(extra_context or {})
        publication = PublishedObject.objects.filter(pk=object_id).first()
        if publication is not None and self.has_change_permission(request, publication):
            try:
                extra_context["target_objects"] = object_choices(publication.target_org)
            except SalesforceApiError as exc:
                extra_context["target_error"] = (
                    f"Could not read the objects of {publication.target_org}: {exc}"
                )
            subscription = getattr(publication, "subscription", None)
            extra_context["target_selected"] = (
                subscription.target_object if subscription else publication.source_object
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def delete_view(self, request, object_id, extra_context=None):
        publication = PublishedObject.objects.filter(pk=object_id).first()
        if publication is not None and request.method != "POST":
            preview = publication_disconnect_preview(publication=publication)
            effect = _effect(preview, what=f"{publication.source_object} stops syncing and its settings go")
            extra_context = {**(extra_context or {}), "effect": effect, "reason_max": REASON_MAX}
        return super().delete_view(request, object_id, extra_context)


class SubscribedFieldInline(admin.TabularInline):
    model = SubscribedField
    form = SubscribedFieldForm
    formset = MappingFormSet
    fields = ("source_field", "target_field", "remove")
    readonly_fields = ("source_field", "remove")
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="remove")
    def remove(self, mapping: SubscribedField) -> str:
        if not mapping.pk or not mapping.target_field:
            return "—"
        url = reverse("admin:replication_subscription_unmap", args=[mapping.subscribed_object_id, mapping.pk])
        return format_html('<a href="{}" class="unmap-link">Remove mapping</a>', url)


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
        services.subscription_delete(subscription=obj, actor=request.user, reason=_reason(request))

    def delete_view(self, request, object_id, extra_context=None):
        subscription = SubscribedObject.objects.filter(pk=object_id).first()
        if subscription is not None and request.method != "POST":
            publication = subscription.published_object
            preview = publication_disconnect_preview(publication=publication)
            what = f"{publication.source_object} stops syncing into {publication.target_org}"
            extra_context = {
                **(extra_context or {}),
                "effect": _effect(preview, what=f"{what}.{subscription.target_object} and its mapping goes"),
                "reason_max": REASON_MAX,
            }
        return super().delete_view(request, object_id, extra_context)

    def delete_queryset(self, request: HttpRequest, queryset) -> None:
        for subscription in queryset:
            services.subscription_delete(subscription=subscription, actor=request.user)

    def save_formset(self, request, form, formset, change: bool) -> None:
        for mapping_form in formset.forms:
            if mapping_form.has_changed():
                try:
                    services.subscription_set_mapping(
                        subscription=form.instance,
                        source_field=mapping_form.instance.source_field,
                        target_field=mapping_form.cleaned_data["target_field"],
                        actor=request.user,
                    )
                except (ReplicationError, SalesforceApiError) as exc:  # e.g. two mappings swapped
                    self.message_user(request, f"{mapping_form.instance.source_field}: {exc}", messages.ERROR)
        _saved_by_services(formset)

    def get_urls(self):
        analyze = self.admin_site.admin_view(self.analyze_view)
        preflight = self.admin_site.admin_view(self.preflight_view)
        return [
            path("<int:pk>/analyze/", analyze, name="replication_subscription_analyze"),
            path("<int:pk>/preflight/", preflight, name="replication_subscription_preflight"),
            path(
                "<int:pk>/unmap/<int:field_pk>/",
                self.admin_site.admin_view(self.unmap_view),
                name="replication_subscription_unmap",
            ),
            *super().get_urls(),
        ]

    def unmap_view(self, request: HttpRequest, pk: int, field_pk: int) -> HttpResponse:
        """GET: what removing one field mapping does, and a reason box. POST: remove it."""
        subscription = get_object_or_404(SubscribedObject, pk=pk)
        if not self.has_change_permission(request, subscription):
            raise PermissionDenied
        mapping = get_object_or_404(SubscribedField, pk=field_pk, subscribed_object=subscription)
        change_url = reverse("admin:replication_subscribedobject_change", args=[pk])
        if not mapping.target_field:
            self.message_user(request, f"{mapping.source_field} is not mapped.", messages.WARNING)
            return HttpResponseRedirect(change_url)
        if request.method == "POST":
            services.subscription_set_mapping(
                subscription=subscription,
                source_field=mapping.source_field,
                target_field="",
                actor=request.user,
                reason=_reason(request),
            )
            self.message_user(
                request, f"{mapping.source_field} is no longer mapped to {mapping.target_field}."
            )
            return HttpResponseRedirect(change_url)
        publication = subscription.published_object
        linked = publication_disconnect_preview(publication=publication)
        effect = (
            f"Changes of {publication.source_object}.{mapping.source_field} will no longer reach "
            f"{subscription.target_object}.{mapping.target_field}. The "
            f"{linked.disconnected + linked.kept} linked record(s) stay linked and keep the value "
            f"{mapping.target_field} has now; the other fields go on syncing."
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": f"Remove the mapping {mapping.source_field} → {mapping.target_field}?",
            "object": subscription,
            "effect": effect,
            "button": "Yes, remove the mapping",
            "cancel_url": change_url,
            "reason_max": REASON_MAX,
        }
        return TemplateResponse(request, "admin/replication/confirm_disconnect.html", context)

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


from replication import admin_bulk, admin_queue, admin_reconcile  # noqa: E402, F401  (they register themselves)

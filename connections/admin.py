"""Admin doors for orgs and connections: every button calls one service."""

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseNotAllowed, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.decorators import method_decorator
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_POST

from connections import admin_sections, invitations, services
from connections.errors import ConnectionsError
from connections.forms import INVITE_FIELDS, ConnectionForm, OrgForm
from connections.models import Connection, ConnectionEvent, Org, PartnerInvitation

MANAGE = "connections.manage_connections"


class ManageConnectionsPermission:
    """Only holders of “Manage Connections” add, change or delete; viewers just look."""

    def has_add_permission(self, request: HttpRequest, *args) -> bool:
        return request.user.has_perm(MANAGE)

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.has_perm(MANAGE)

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return request.user.has_perm(MANAGE)

    def require_manage(self, request: HttpRequest) -> None:
        if not request.user.has_perm(MANAGE):
            raise PermissionDenied("Managing connections needs the “Manage Connections” permission.")


@admin.register(Org)
class OrgAdmin(ManageConnectionsPermission, admin.ModelAdmin):
    form = OrgForm
    list_display = (
        "label",
        "org_name",
        "org_id",
        "environment",
        "auth_method",
        "is_sandbox",
        "user_username",
        "api_usage",
        "connected_at",
    )
    list_filter = ("environment", "auth_method", "is_sandbox")
    search_fields = ("label", "org_name", "org_id", "user_username")
    readonly_fields = (
        "org_id",
        "org_name",
        "edition",
        "is_sandbox",
        "instance_url",
        "user_id",
        "user_username",
        "connected_at",
        "api_usage",
    )
    fieldsets = (
        (None, {"fields": ("label", "environment", "custom_login_url", "api_version")}),
        (
            "Sign-in",
            {
                "fields": (
                    "auth_method",
                    "client_id",
                    "client_secret",
                    "username",
                    "password",
                    "security_token",
                    "private_key",
                ),
                "description": "Secrets are stored encrypted (AES-256-GCM) and never shown again.",
            },
        ),
        ("Trust", {"fields": ("ca_bundle", "ca_bundle_file"), "classes": ("collapse",)}),
        (
            "What the org says",
            {
                "fields": (
                    "org_id",
                    "org_name",
                    "edition",
                    "is_sandbox",
                    "instance_url",
                    "user_id",
                    "user_username",
                    "connected_at",
                    "api_usage",
                )
            },
        ),
    )

    @admin.display(description="API requests today")
    def api_usage(self, org: Org) -> str:
        if org.api_requests_max is None:
            return "—"
        return f"{org.api_requests_used:,} / {org.api_requests_max:,}"

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        return fieldsets if obj else fieldsets[:3]

    @method_decorator(sensitive_post_parameters("client_secret", "password", "security_token"))
    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}), **({} if object_id else {"title": "Connect New Org"})}
        return super().changeform_view(request, object_id, form_url, extra_context)

    def response_add(self, request: HttpRequest, obj: Org, post_url_continue=None) -> HttpResponse:
        if obj.auth_method == Org.AuthMethod.OAUTH_PKCE:
            return self._start_oauth(request, obj)
        self.message_user(request, f"Connected to {obj.org_name} ({obj.org_id}) as {obj.user_username}.")
        return super().response_add(request, obj, post_url_continue)

    def get_urls(self):
        own = [
            path(
                "oauth/callback/",
                self.admin_site.admin_view(self.oauth_callback),
                name="connections_org_oauth_callback",
            ),
            path("<uuid:pk>/test/", self.admin_site.admin_view(self.test_view), name="connections_org_test"),
            path(
                "<uuid:pk>/reconnect/",
                self.admin_site.admin_view(self.reconnect_view),
                name="connections_org_reconnect",
            ),
        ]
        return own + super().get_urls()

    def _start_oauth(self, request: HttpRequest, org: Org) -> HttpResponse:
        callback = request.build_absolute_uri(reverse("admin:connections_org_oauth_callback"))
        return HttpResponseRedirect(
            services.org_start_oauth(org=org, session=request.session, redirect_uri=callback)
        )

    def oauth_callback(self, request: HttpRequest) -> HttpResponse:
        self.require_manage(request)
        try:
            org = services.org_finish_oauth(
                session=request.session,
                state=request.GET.get("state", ""),
                code=request.GET.get("code", ""),
                error=request.GET.get("error", ""),
                error_description=request.GET.get("error_description", ""),
            )
        except ConnectionsError as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return HttpResponseRedirect(reverse("admin:connections_org_changelist"))
        self.message_user(request, f"Connected to {org.org_name} ({org.org_id}) as {org.user_username}.")
        return HttpResponseRedirect(reverse("admin:connections_org_change", args=[org.pk]))

    @method_decorator(require_POST)
    def test_view(self, request: HttpRequest, pk) -> HttpResponse:
        self.require_manage(request)
        org = get_object_or_404(Org, pk=pk)
        try:
            usage = services.org_test_connection(org=org)
            self.message_user(
                request, f"{org} answers. Daily API requests: {usage.used:,} used of {usage.max:,}."
            )
        except ConnectionsError as exc:
            self.message_user(request, f"{org} did not answer: {exc}", messages.ERROR)
        return HttpResponseRedirect(reverse("admin:connections_org_change", args=[org.pk]))

    @method_decorator(require_POST)
    def reconnect_view(self, request: HttpRequest, pk) -> HttpResponse:
        self.require_manage(request)
        org = get_object_or_404(Org, pk=pk)
        if org.auth_method == Org.AuthMethod.OAUTH_PKCE:
            return self._start_oauth(request, org)
        try:
            services.org_connect(org=org)
            self.message_user(request, f"Reconnected to {org.org_name}.")
        except ConnectionsError as exc:
            self.message_user(request, str(exc), messages.ERROR)
        return HttpResponseRedirect(reverse("admin:connections_org_change", args=[org.pk]))


class ConnectionEventInline(admin.TabularInline):
    model = ConnectionEvent
    verbose_name_plural = "Connection history (newest first)"
    fields = ("at", "kind", "detail", "actor_display")
    readonly_fields = fields
    ordering = ("-at", "-id")
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(description="by")
    def actor_display(self, event: ConnectionEvent) -> str:
        return event.actor_display


TRANSITIONS = {
    "accept": services.connection_accept,
    "suspend": services.connection_suspend,
    "resume": services.connection_resume,
    "deactivate": services.connection_deactivate,
}
# These go through a confirmation page (GET shows it, a POST with "confirmed" acts); an optional
# reason goes into the history event. Accept and Resume stay one click.
CONFIRMED_TRANSITIONS = ("suspend", "deactivate")
REASON_MAX = 500


@admin.register(Connection)
class ConnectionAdmin(ManageConnectionsPermission, admin.ModelAdmin):
    form = ConnectionForm
    inlines = (ConnectionEventInline,)
    list_display = ("name", "primary_org", "secondary_org", "direction", "status", "owner_username", "owner")
    list_filter = ("status", "direction")
    search_fields = ("name",)
    list_select_related = ("primary_org", "secondary_org", "owner")

    def get_readonly_fields(self, request, obj=None):
        fixed = ("status", "suspension", "accepted_at")
        return (*fixed, "primary_org", "secondary_org") if obj else fixed

    def get_fields(self, request, obj=None):
        fields = super().get_fields(request, obj)
        return [name for name in fields if name not in INVITE_FIELDS] if obj else fields

    def save_model(self, request, obj: Connection, form, change: bool) -> None:
        if not change and form.cleaned_data.get("partner_email"):
            self._invite_partner(request, obj, form)
            return
        if not change:
            created = services.connection_create(actor=request.user, **self._new_fields(request, obj, form))
            obj.pk, obj._state = created.pk, created._state
            return
        changes = {n: form.cleaned_data[n] for n in form.changed_data if n in ConnectionForm.Meta.fields}
        if "owner_username" in changes:
            changes["owner_user_id"] = obj.owner_user_id
        services.connection_update(
            connection=Connection.objects.get(pk=obj.pk), actor=request.user, **changes
        )

    def response_add(self, request: HttpRequest, obj: Connection, post_url_continue=None) -> HttpResponse:
        if "_send_invite" in request.POST:  # "Save & Send Invite": stay on the new connection
            return HttpResponseRedirect(reverse("admin:connections_connection_change", args=[obj.pk]))
        return super().response_add(request, obj, post_url_continue)

    @staticmethod
    def _new_fields(request: HttpRequest, obj: Connection, form) -> dict:
        """A new connection's fields; its console owner is whoever creates it unless chosen."""
        fields = {name: form.cleaned_data[name] for name in ConnectionForm.Meta.fields}
        return {**fields, "owner": fields["owner"] or request.user, "owner_user_id": obj.owner_user_id}

    def _invite_partner(self, request: HttpRequest, obj: Connection, form) -> None:
        fields = self._new_fields(request, obj, form)
        del fields["secondary_org"]
        invitation = invitations.connection_invite_partner(
            actor=request.user,
            contact_name=form.cleaned_data["partner_name"],
            contact_email=form.cleaned_data["partner_email"],
            **fields,
        )
        obj.pk, obj._state = invitation.connection.pk, invitation.connection._state
        self._send_invitation(request, invitation)

    def _send_invitation(self, request: HttpRequest, invitation: PartnerInvitation) -> None:
        try:
            invitations.invitation_send(
                invitation=invitation, actor=request.user, base_url=request.build_absolute_uri("/")
            )
            self.message_user(request, f"Invitation sent to {invitation.contact_email}.")
        except ConnectionsError as exc:
            self.message_user(request, str(exc), messages.ERROR)

    def get_urls(self):
        view = self.admin_site.admin_view(self.transition_view)
        hub_action = self.admin_site.admin_view(self.hub_action_view)
        invitation = self.admin_site.admin_view(self.invitation_view)
        return [
            path("<int:pk>/transition/<str:action>/", view, name="connections_connection_transition"),
            path("<int:pk>/invitation/<slug:action>/", invitation, name="connections_connection_invitation"),
            path("<int:pk>/hub/<slug:name>/", hub_action, name="connections_connection_hub_action"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        connection = self.get_object(request, object_id)
        invitation = getattr(connection, "invitation", None) if connection else None
        if invitation is not None:
            invitation = invitations.invitation_expire_if_due(invitation)
        manage = connection is not None and request.user.has_perm(MANAGE)
        buttons = self.available_transitions(connection) if manage else []
        if invitation is not None and invitation.status != PartnerInvitation.Status.ACCEPTED:
            buttons = [action for action in buttons if action != "accept"]  # the partner accepts
        extra_context = {
            **(extra_context or {}),
            "invitation": invitation,
            "invitation_actions": self.invitation_actions(invitation) if manage else [],
        }
        # The hub: what replication, synclog and metadiff registered (connections imports none of them).
        hub = admin_sections.Hub(request, connection) if connection else None
        return super().change_view(
            request, object_id, form_url, {**extra_context, "transitions": buttons, "hub": hub}
        )

    def hub_action_view(self, request: HttpRequest, pk: int, name: str) -> HttpResponse:
        """A button of a hub section (registered with `admin_sections.register_action`); the
        action checks what it needs beyond viewing the connection."""
        connection = get_object_or_404(Connection, pk=pk)
        if not self.has_view_permission(request, connection):
            raise PermissionDenied
        return admin_sections.run_action(request, connection, name)

    @staticmethod
    def invitation_actions(invitation: PartnerInvitation | None) -> list[str]:
        if invitation is not None and invitations.partner_link_alive(invitation):
            return ["revoke"]  # the accepted partner's subscribe link
        if invitation is None or invitation.connection.status != Connection.Status.INVITED:
            return []
        status = PartnerInvitation.Status
        return {
            status.PENDING: ["resend", "revoke"],
            status.EXPIRED: ["resend", "revoke"],
            status.REVOKED: ["resend"],
        }.get(invitation.status, [])

    @method_decorator(require_POST)
    def invitation_view(self, request: HttpRequest, pk: int, action: str) -> HttpResponse:
        """Resend (a new link; older ones stop working) or revoke the partner's invitation."""
        self.require_manage(request)
        invitation = get_object_or_404(PartnerInvitation, connection_id=pk)
        if action == "resend":
            self._send_invitation(request, invitation)
        elif action == "revoke":
            try:
                invitations.invitation_revoke(invitation=invitation, actor=request.user)
                self.message_user(request, f"Invitation of {invitation.contact_email} revoked.")
            except ConnectionsError as exc:
                self.message_user(request, str(exc), messages.ERROR)
        else:
            raise PermissionDenied(f"Unknown invitation action {action!r}: use resend or revoke.")
        return HttpResponseRedirect(reverse("admin:connections_connection_change", args=[pk]))

    @staticmethod
    def available_transitions(connection: Connection) -> list[str]:
        status = Connection.Status
        return {
            status.INVITED: ["accept", "deactivate"],
            status.ACTIVE: ["suspend", "deactivate"],
            status.SUSPENDED: ["resume", "deactivate"],
            status.METADATA_SYNC: ["deactivate"],
            status.USER_SYNC: ["deactivate"],
        }.get(connection.status, [])

    def transition_view(self, request: HttpRequest, pk: int, action: str) -> HttpResponse:
        self.require_manage(request)
        if action not in TRANSITIONS:
            raise PermissionDenied(f"Unknown action {action!r}.")
        confirmed = action in CONFIRMED_TRANSITIONS
        if request.method not in ("GET", "POST") or (request.method == "GET" and not confirmed):
            return HttpResponseNotAllowed(["POST"])
        connection = get_object_or_404(Connection, pk=pk)
        reason = request.POST.get("reason", "").strip()
        if confirmed and (request.method == "GET" or request.POST.get("confirmed") != "yes"):
            return self._confirmation(request, connection, action, reason)
        if len(reason) > REASON_MAX:
            return self._confirmation(
                request, connection, action, reason, error=f"Keep the reason under {REASON_MAX} characters."
            )
        extra = {"reason": reason} if confirmed else {}
        try:
            connection = TRANSITIONS[action](connection=connection, actor=request.user, **extra)
            self.message_user(request, f"{connection}: now {connection.get_status_display()}.")
        except ConnectionsError as exc:
            self.message_user(request, str(exc), messages.ERROR)
        return HttpResponseRedirect(reverse("admin:connections_connection_change", args=[pk]))

    def _confirmation(
        self, request: HttpRequest, connection: Connection, action: str, reason: str, error: str = ""
    ) -> HttpResponse:
        """Django admin's intermediate page: what the action will do, an optional reason, and the
        confirming POST. Nothing changes until that POST."""
        context = {
            **self.admin_site.each_context(request),
            "title": f"{action.capitalize()} connection “{connection}”?",
            "subtitle": None,
            "opts": self.opts,
            "original": connection,
            "action": action,
            "action_label": action.capitalize(),
            "reason": reason,
            "reason_max": REASON_MAX,
            "error": error,
            "pending": connection.queue_items.count(),
            "allowed": action in self.available_transitions(connection),
            "change_url": reverse("admin:connections_connection_change", args=[connection.pk]),
        }
        return TemplateResponse(request, "admin/connections/connection/transition_confirmation.html", context)

"""The invited partner's pages, outside the admin and without a console account. Each view is a
thin door to `connections.invitations` (the invitation) or `replication.partner.subscribe` (the
partner's subscriptions); a link that does not open the invitation answers a
plain 4xx page, and every page is rate-limited per client address."""

from collections.abc import Callable
from functools import wraps

from django.conf import settings
from django.core.cache import cache
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from connections import invitations
from connections.client_errors import SalesforceApiError
from connections.errors import ConnectionsError
from connections.models import Org, PartnerInvitation
from replication.errors import ReplicationError
from replication.partner import subscribe as partner_subscribe

RATE_WINDOW_SECONDS = 60
MAP_PREFIX = "map:"
ENVIRONMENTS = (
    (Org.Environment.PRODUCTION, "Production (login.salesforce.com)"),
    (Org.Environment.SANDBOX, "Sandbox (test.salesforce.com)"),
    (Org.Environment.CUSTOM, "My Domain"),
)


def _refused(request: HttpRequest, title: str, message: str, status: int) -> HttpResponse:
    return TemplateResponse(
        request, "connections/partner/refused.html", {"title": title, "message": message}, status=status
    )


def rate_limited(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """At most ORGSYNC_PARTNER_RATE_LIMIT requests per minute from one client address."""

    @wraps(view)
    def limited(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        key = f"partner-rate:{request.META.get('REMOTE_ADDR', '')}"
        cache.add(key, 0, RATE_WINDOW_SECONDS)
        try:
            count = cache.incr(key)
        except ValueError:  # the counter expired between add and incr
            cache.set(key, count := 1, RATE_WINDOW_SECONDS)
        if count > settings.ORGSYNC_PARTNER_RATE_LIMIT:
            response = _refused(
                request,
                "Too many requests",
                "This page was asked for too often from your address: wait a minute and try again.",
                429,
            )
            response["Retry-After"] = str(RATE_WINDOW_SECONDS)
            return response
        return view(request, *args, **kwargs)

    return limited


Opener = Callable[..., PartnerInvitation]


def _opened_by(opener: Opener) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    """Open the invitation the link names with `opener` (connection_id, token), or answer the
    refusal page; rate-limited, never cached."""

    def decorate(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @wraps(view)
        def opened(request: HttpRequest, connection_id: int, token: str) -> HttpResponse:
            try:
                invitation = opener(connection_id=connection_id, token=token)
                return view(request, invitation, token)
            except invitations.InvitationRefused as exc:
                return _refused(request, exc.title, str(exc), exc.status)

        return never_cache(rate_limited(opened))

    return decorate


_with_invitation = _opened_by(invitations.invitation_from_link)
_with_subscriber = _opened_by(invitations.partner_subscriber_from_link)


def _page(request: HttpRequest, invitation: PartnerInvitation, token: str, error: str = "") -> HttpResponse:
    connection = invitation.connection
    primary, partner_org = connection.primary_org, connection.secondary_org
    inviter = invitation.invited_by
    context = {
        "title": f"{primary.org_name or primary.label} invites you to connect your Salesforce org",
        "invitation": invitation,
        "connection": connection,
        "inviting_org": primary.org_name or primary.label,
        "inviter": (inviter.get_full_name() or inviter.get_username()) if inviter else "",
        "published": partner_subscribe.published_to_partner(invitation),
        "permissions": invitations.invitation_permissions(invitation),
        "partner_org": partner_org if partner_org.is_connected else None,
        "environments": ENVIRONMENTS,
        "token": token,
        "error": error,
        "reason_max": invitations.REASON_MAX,
    }
    return TemplateResponse(
        request, "connections/partner/invitation.html", context, status=400 if error else 200
    )


@require_GET
@_opened_by(invitations.partner_link_open)
def invitation_page(request: HttpRequest, invitation: PartnerInvitation, token: str) -> HttpResponse:
    """The invitation to answer; once accepted, the same link opens the subscribe page."""
    if invitations.partner_link_alive(invitation):
        return HttpResponseRedirect(reverse("partner:subscribe", args=[invitation.connection_id, token]))
    return _page(request, invitations.invitation_waiting(invitation), token)


@require_POST
@_with_invitation
def signin(request: HttpRequest, invitation: PartnerInvitation, token: str) -> HttpResponse:
    callback = request.build_absolute_uri(reverse("partner:oauth_callback"))
    try:
        url = invitations.invitation_start_signin(
            invitation=invitation,
            session=request.session,
            environment=request.POST.get("environment", ""),
            custom_domain=request.POST.get("custom_domain", ""),
            redirect_uri=callback,
        )
    except ConnectionsError as exc:
        return _page(request, invitation, token, error=str(exc))
    return HttpResponseRedirect(url)


@require_POST
@_with_invitation
def accept(request: HttpRequest, invitation: PartnerInvitation, token: str) -> HttpResponse:
    try:
        connection = invitations.invitation_accept(invitation=invitation)
    except invitations.InvitationRefused as exc:
        return _refused(request, exc.title, str(exc), exc.status)
    except ConnectionsError as exc:
        return _page(request, invitation, token, error=str(exc))
    return _done(
        request,
        "Connection accepted",
        f"Your org is connected: the connection is {connection.get_status_display()}.",
        next_url=reverse("partner:subscribe", args=[connection.pk, token]),
    )


@require_POST
@_with_invitation
def decline(request: HttpRequest, invitation: PartnerInvitation, token: str) -> HttpResponse:
    try:
        invitations.invitation_decline(invitation=invitation, reason=request.POST.get("reason", ""))
    except invitations.InvitationRefused as exc:
        return _refused(request, exc.title, str(exc), exc.status)
    except ConnectionsError as exc:
        return _page(request, invitation, token, error=str(exc))
    return _done(
        request, "Invitation declined", "You declined the invitation; the inviting company sees your answer."
    )


def _done(request: HttpRequest, title: str, message: str, next_url: str = "") -> HttpResponse:
    context = {"title": title, "message": message, "next_url": next_url}
    return TemplateResponse(request, "connections/partner/done.html", context)


@never_cache
@require_GET
@rate_limited
def oauth_callback(request: HttpRequest) -> HttpResponse:
    try:
        invitation = invitations.invitation_finish_signin(
            session=request.session,
            state=request.GET.get("state", ""),
            code=request.GET.get("code", ""),
            error=request.GET.get("error", ""),
            error_description=request.GET.get("error_description", ""),
        )
    except invitations.InvitationRefused as exc:
        return _refused(request, exc.title, str(exc), exc.status)
    except ConnectionsError as exc:
        return _refused(
            request, "Sign-in did not complete", f"{exc} Open the invitation link again to retry.", 400
        )
    return HttpResponseRedirect(invitations.invitation_path(invitation))


# --- After accepting: the partner subscribes on their side ---------------------------------

SAVED = {
    "subscribed": "Subscribed: the published fields were mapped automatically where the mapping rules allow.",
    "mapped": "Mapping saved.",
}


def _subscribe_page(
    request: HttpRequest,
    invitation: PartnerInvitation,
    token: str,
    *,
    error: str = "",
    refused: dict[str, list[str]] | None = None,
) -> HttpResponse:
    connection = invitation.connection
    primary = connection.primary_org
    objects, objects_error = partner_subscribe.partner_object_choices(invitation)
    context = {
        "title": f"Subscribe to what {primary.org_name or primary.label} publishes to you",
        "invitation": invitation,
        "connection": connection,
        "partner_org": connection.secondary_org,
        "sections": partner_subscribe.partner_sections(invitation, refused),
        "target_objects": objects,
        "error": error,
        "describe_error": objects_error,
        "notice": SAVED.get(request.GET.get("saved", ""), ""),
        "token": token,
    }
    status = 400 if error or refused else 200
    return TemplateResponse(request, "connections/partner/subscribe.html", context, status=status)


def _saved(invitation: PartnerInvitation, token: str, what: str) -> HttpResponse:
    url = reverse("partner:subscribe", args=[invitation.connection_id, token])
    return HttpResponseRedirect(f"{url}?saved={what}")


@require_GET
@_with_subscriber
def subscribe_page(request: HttpRequest, invitation: PartnerInvitation, token: str) -> HttpResponse:
    return _subscribe_page(request, invitation, token)


@require_POST
@_with_subscriber
def subscribe_object(request: HttpRequest, invitation: PartnerInvitation, token: str) -> HttpResponse:
    try:
        partner_subscribe.partner_subscribe(
            invitation=invitation,
            publication_id=request.POST.get("publication", ""),
            target_object=request.POST.get("target_object", ""),
        )
    except (ReplicationError, SalesforceApiError) as exc:
        return _subscribe_page(request, invitation, token, error=partner_subscribe.problem_text(exc))
    return _saved(invitation, token, "subscribed")


@require_POST
@_with_subscriber
def save_mapping(request: HttpRequest, invitation: PartnerInvitation, token: str) -> HttpResponse:
    wanted = {
        key.removeprefix(MAP_PREFIX): value
        for key, value in request.POST.items()
        if key.startswith(MAP_PREFIX)
    }
    refused = partner_subscribe.partner_set_mappings(
        invitation=invitation, publication_id=request.POST.get("publication", ""), wanted=wanted
    )
    if refused:
        return _subscribe_page(request, invitation, token, refused=refused)
    return _saved(invitation, token, "mapped")

"""The invited partner's pages, outside the admin and without a console account. Each view is a
thin door to `connections.invitations`; a link that does not open the invitation answers a
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
from connections.errors import ConnectionsError
from connections.models import Org, PartnerInvitation

RATE_WINDOW_SECONDS = 60
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


def _with_invitation(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    """Open the invitation the link names, or answer the refusal page."""

    @wraps(view)
    def opened(request: HttpRequest, connection_id: int, token: str) -> HttpResponse:
        try:
            invitation = invitations.invitation_from_link(connection_id=connection_id, token=token)
        except invitations.InvitationRefused as exc:
            return _refused(request, exc.title, str(exc), exc.status)
        return view(request, invitation, token)

    return never_cache(rate_limited(opened))


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
        "published": invitations.invitation_published(invitation),
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
@_with_invitation
def invitation_page(request: HttpRequest, invitation: PartnerInvitation, token: str) -> HttpResponse:
    return _page(request, invitation, token)


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


def _done(request: HttpRequest, title: str, message: str) -> HttpResponse:
    return TemplateResponse(request, "connections/partner/done.html", {"title": title, "message": message})


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

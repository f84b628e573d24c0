"""Enforce a second factor for every operator when ORGSYNC_REQUIRE_MFA is on."""

from collections.abc import Callable

from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse

# Paths an operator without MFA may still reach: enrolment itself, leaving, health and assets.
_OPEN_PREFIXES = ("/accounts/", "/healthz", "/static/")


class RequireMFAMiddleware:
    """Send a signed-in operator without TOTP to enrolment before anything else."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if self._must_enrol(request):
            messages.warning(
                request, "This console requires two-factor authentication: set it up to continue."
            )
            return redirect(reverse("mfa_activate_totp"))
        return self.get_response(request)

    @staticmethod
    def _must_enrol(request: HttpRequest) -> bool:
        if not settings.ORGSYNC_REQUIRE_MFA or not request.user.is_authenticated:
            return False
        if request.path.startswith(_OPEN_PREFIXES):
            return False
        return not is_mfa_enabled(request.user)

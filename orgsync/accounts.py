"""How operators sign in: allauth, with sign-up closed unless the deployment opens it."""

from allauth.account.adapter import DefaultAccountAdapter
from django.conf import settings
from django.http import HttpRequest


class OperatorAccountAdapter(DefaultAccountAdapter):
    """Operators are created by an administrator or `createsuperuser`, not by signing up."""

    def is_open_for_signup(self, request: HttpRequest) -> bool:
        return settings.ORGSYNC_ALLOW_SIGNUP

"""The Content-Security-Policy header (Django 5.2 has none built in); see docs/production.md.

The policy is `settings.ORGSYNC_CSP`, the same on every page. Its script-src has no
'unsafe-inline': scripts come from static files (static/orgsync/*.js), and server values reach
them through data- attributes or `json_script` (tests/orgsync/test_security.py keeps templates
free of inline scripts).
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse


class ContentSecurityPolicyMiddleware:
    """Set Content-Security-Policy (or its Report-Only form) on every response without one."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        policy = settings.ORGSYNC_CSP.strip()
        if not policy:
            return response
        header = (
            "Content-Security-Policy-Report-Only"
            if settings.ORGSYNC_CSP_REPORT_ONLY
            else "Content-Security-Policy"
        )
        if header in response:
            return response
        response[header] = policy
        return response

"""The Content-Security-Policy header (Django 5.2 has none built in); see docs/production.md.

The policy is `settings.ORGSYNC_CSP`. Its script-src has no 'unsafe-inline': scripts come from
static files. A few admin pages still carry an inline <script> in their templates; until those
move to static files, those pages alone (by URL name, below) get 'unsafe-inline' for scripts.
"""

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

# Admin pages whose templates still hold an inline <script>; shrink this list as they move to
# static files (template in the comment).
INLINE_SCRIPT_VIEWS = frozenset(
    {
        "admin:metadiff_diffrun_changelist",  # admin/metadiff/diffrun/change_list.html ("Run")
        "admin:replication_bulksync_start",  # admin/replication/bulksync/start.html
        "admin:replication_bulksync_change",  # admin/replication/bulksync/progress.html (polling)
    }
)


def allow_inline_scripts(policy: str) -> str:
    """`policy` with 'unsafe-inline' added to script-src (or to default-src without one)."""
    directives = [part.strip() for part in policy.split(";") if part.strip()]
    names = [directive.split()[0].lower() for directive in directives]
    target = "script-src" if "script-src" in names else "default-src"
    if target not in names:
        return policy
    index = names.index(target)
    if "'unsafe-inline'" not in directives[index].split():
        directives[index] += " 'unsafe-inline'"
    return "; ".join(directives)


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
        match = getattr(request, "resolver_match", None)
        if match is not None and match.view_name in INLINE_SCRIPT_VIEWS:
            policy = allow_inline_scripts(policy)
        response[header] = policy
        return response

"""Connecting an org: get tokens by the chosen method, then read what the org says it is."""

import secrets
from collections.abc import MutableMapping
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from connections import oauth
from connections.client import SalesforceClient
from connections.errors import ConnectionsError
from connections.models import Org

OAUTH_SESSION_KEY = "orgsync_oauth_pending"


@dataclass(frozen=True)
class ApiUsage:
    used: int
    max: int


def _store_grant(org: Org, grant: oauth.TokenGrant) -> None:
    org.access_token = grant.access_token
    if grant.refresh_token:
        org.refresh_token = grant.refresh_token
    org.instance_url = grant.instance_url


def org_connect(*, org: Org) -> Org:
    """Connect an org whose method needs no browser (JWT bearer, client credentials, password).

    `org` may be unsaved; it is saved only when the org answered, with what it said about itself.
    """
    if org.auth_method == Org.AuthMethod.OAUTH_PKCE:
        raise ConnectionsError("The OAuth web-server flow runs in the browser: use org_start_oauth.")
    _store_grant(org, oauth.new_token(org))
    return org_read_facts(org=org)


def org_start_oauth(*, org: Org, session: MutableMapping, redirect_uri: str, purpose: str = "") -> str:
    """Remember a single-use state and PKCE verifier in the browser's session; return the
    org's authorize URL to send the browser to. `purpose` binds them to what started the
    sign-in (e.g. a partner invitation): only a finish with the same purpose can use them."""
    state = secrets.token_urlsafe(32)
    pkce = oauth.Pkce.new()
    pending = dict(session.get(OAUTH_SESSION_KEY, {}))
    pending[state] = {
        "org": str(org.pk),
        "verifier": pkce.verifier,
        "redirect_uri": redirect_uri,
        "purpose": purpose,
    }
    session[OAUTH_SESSION_KEY] = pending
    return oauth.authorize_url(org, redirect_uri=redirect_uri, state=state, pkce=pkce)


def oauth_pending_purpose(*, session: MutableMapping, state: str) -> str | None:
    """The purpose a pending sign-in was started for, or None if `state` is not pending here."""
    entry = session.get(OAUTH_SESSION_KEY, {}).get(state)
    return None if entry is None else entry.get("purpose", "")


def org_finish_oauth(
    *,
    session: MutableMapping,
    state: str,
    code: str = "",
    error: str = "",
    error_description: str = "",
    purpose: str = "",
) -> Org:
    """The org redirected back: check the state (bound to this session and `purpose`, used
    once), exchange the code with the verifier, read the org's facts. Errors the org reported
    become OAuthError."""
    pending = dict(session.get(OAUTH_SESSION_KEY, {}))
    entry = pending.pop(state, None)
    session[OAUTH_SESSION_KEY] = pending
    if entry is None or entry.get("purpose", "") != purpose:
        raise ConnectionsError(
            "This sign-in answer does not belong to a connection started in this browser session "
            "(or was already used). Start “Connect” again."
        )
    if error:
        raise oauth.OAuthError(error, error_description, hint=oauth.HINTS.get(error, ""))
    org = Org.objects.get(pk=entry["org"])
    grant = oauth.exchange_code(
        org, code=code, redirect_uri=entry["redirect_uri"], pkce=oauth.Pkce(entry["verifier"])
    )
    _store_grant(org, grant)
    return org_read_facts(org=org)


@transaction.atomic
def org_read_facts(*, org: Org) -> Org:
    """Ask the org who we are connected as and what it is; save it on the Org."""
    client = SalesforceClient(org)
    identity = client.identity()
    missing = [key for key in ("organization_id", "user_id") if not isinstance(identity.get(key), str)]
    if missing or not identity["organization_id"]:
        raise ConnectionsError(
            f"{org.login_url} signed us in, but the org's identity answer (/services/oauth2/userinfo) "
            f"lacks {' and '.join(missing or ['organization_id'])}: check that the login URL is a "
            "Salesforce login host or the org's My Domain, and that the connected app has the "
            "“api” scope."
        )
    org.org_id = identity["organization_id"]
    org.user_id = identity["user_id"]
    org.user_username = identity.get("preferred_username") or identity.get("username", "")
    twin = Org.objects.filter(org_id=org.org_id).exclude(pk=org.pk).first()
    if twin is not None:
        raise ConnectionsError(f"This org is already connected as “{twin.label}”: use Reconnect on it.")
    facts = client.query_page(
        f"SELECT Id, Name, OrganizationType, IsSandbox FROM Organization WHERE Id = '{org.org_id}'"
    ).records
    if facts:
        org.org_name = facts[0]["Name"]
        org.edition = facts[0].get("OrganizationType") or ""
        org.is_sandbox = bool(facts[0].get("IsSandbox"))
    org.connected_at = timezone.now()
    org.save()
    return org


def org_test_connection(*, org: Org) -> ApiUsage:
    """Call /limits; store and return today's API requests used out of the maximum."""
    daily = SalesforceClient(org).limits()["DailyApiRequests"]
    usage = ApiUsage(used=daily["Max"] - daily["Remaining"], max=daily["Max"])
    Org.objects.filter(pk=org.pk).update(
        api_requests_used=usage.used, api_requests_max=usage.max, api_usage_at=timezone.now()
    )
    return usage

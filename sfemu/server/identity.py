"""Identity URL (``/id/{orgId}/{userId}``) and ``/services/oauth2/userinfo``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from sfemu import ids
from sfemu.server.http import json_response
from sfemu.server.oauth import identity_base, request_params
from sfemu.server.rest_endpoint import base_url
from sfemu.server.state import ServerState
from sfemu.server.users import bearer_token, live_session, user_row

if TYPE_CHECKING:
    from sfemu.org import Org

_TZ_OFFSETS_MS = {
    "America/Los_Angeles": -28800000,
    "America/Denver": -25200000,
    "America/Chicago": -21600000,
    "America/New_York": -18000000,
    "Europe/London": 0,
    "GMT": 0,
    "Europe/Paris": 3600000,
    "Europe/Berlin": 3600000,
}


def bad_token() -> Response:
    """What Salesforce answers an invalid/expired token on the identity URL."""
    return PlainTextResponse("Bad_OAuth_Token", status_code=403)


async def _token(request: Request) -> str | None:
    token = bearer_token({k.lower(): v for k, v in request.headers.items()})
    if token:
        return token
    params = await request_params(request)
    return params.get("oauth_token") or params.get("access_token")


async def identity_endpoint(request: Request) -> Response:
    state: ServerState = request.app.state.sfemu
    token = await _token(request)
    found = await run_in_threadpool(live_session, state, token)
    if found is None:
        return bad_token()
    _session, org = found
    org_id = ids.normalize(request.path_params["org_id"])
    user_id = ids.normalize(request.path_params["user_id"])
    if org_id != org.org_id or user_id is None:
        return bad_token()
    base = base_url(request)
    body = await run_in_threadpool(identity_body, state, org, user_id, base)
    return json_response(200, body)


async def userinfo_endpoint(request: Request) -> Response:
    state: ServerState = request.app.state.sfemu
    token = await _token(request)
    found = await run_in_threadpool(live_session, state, token)
    if found is None:
        return bad_token()
    session, org = found
    base = base_url(request)
    body = await run_in_threadpool(userinfo_body, state, org, session.user_id, base)
    return json_response(200, body)


def _urls(base: str, org: Org, user_id: str) -> dict[str, str]:
    org15 = org.org_id[:15]
    data = f"{base}/services/data/v{{version}}"
    return {
        "enterprise": f"{base}/services/Soap/c/{{version}}/{org15}",
        "metadata": f"{base}/services/Soap/m/{{version}}/{org15}",
        "partner": f"{base}/services/Soap/u/{{version}}/{org15}",
        "rest": f"{data}/",
        "sobjects": f"{data}/sobjects/",
        "search": f"{data}/search/",
        "query": f"{data}/query/",
        "recent": f"{data}/recent/",
        "tooling_soap": f"{base}/services/Soap/T/{{version}}/{org15}",
        "tooling_rest": f"{data}/tooling/",
        "profile": f"{base}/{user_id}",
        "feeds": f"{data}/chatter/feeds",
        "groups": f"{data}/chatter/groups",
        "users": f"{data}/chatter/users",
        "feed_items": f"{data}/chatter/feed-items",
        "feed_elements": f"{data}/chatter/feed-elements",
    }


def _photos(base: str) -> dict[str, str]:
    return {"picture": f"{base}/profilephoto/005/F", "thumbnail": f"{base}/profilephoto/005/T"}


def identity_body(state: ServerState, org: Org, user_id: str, base: str) -> dict[str, Any]:
    """Keys and order of the real identity answer (reference §1.4)."""
    user = user_row(org, user_id)
    tz = user.get("TimeZoneSidKey") or "America/Los_Angeles"
    return {
        "id": f"{identity_base(state, base)}/id/{org.org_id}/{user_id}",
        "asserted_user": True,
        "user_id": user_id,
        "organization_id": org.org_id,
        "username": user.get("Username"),
        "nick_name": user.get("CommunityNickname") or user.get("Alias"),
        "display_name": user.get("Name"),
        "email": user.get("Email"),
        "email_verified": True,
        "first_name": user.get("FirstName"),
        "last_name": user.get("LastName"),
        "timezone": tz,
        "photos": _photos(base),
        "addr_street": user.get("Street"),
        "addr_city": user.get("City"),
        "addr_state": user.get("State"),
        "addr_country": user.get("Country") or "US",
        "addr_zip": user.get("PostalCode"),
        "mobile_phone": user.get("MobilePhone"),
        "mobile_phone_verified": False,
        "is_lightning_login_user": False,
        "status": {"created_date": None, "body": None},
        "urls": _urls(base, org, user_id),
        "active": bool(user.get("IsActive", True)),
        "user_type": str(user.get("UserType") or "Standard").upper(),
        "language": user.get("LanguageLocaleKey") or "en_US",
        "locale": user.get("LocaleSidKey") or "en_US",
        "utcOffset": _TZ_OFFSETS_MS.get(tz, 0),
        "last_modified_date": user.get("LastModifiedDate"),
        "is_app_installed": True,
    }


def userinfo_body(state: ServerState, org: Org, user_id: str, base: str) -> dict[str, Any]:
    """The OpenID Connect form of the identity data."""
    ident = identity_body(state, org, user_id, base)
    return {
        "sub": ident["id"],
        "user_id": user_id,
        "organization_id": org.org_id,
        "preferred_username": ident["username"],
        "nickname": ident["nick_name"],
        "name": ident["display_name"],
        "email": ident["email"],
        "email_verified": True,
        "given_name": ident["first_name"],
        "family_name": ident["last_name"],
        "zoneinfo": ident["timezone"],
        "photos": ident["photos"],
        "profile": ident["urls"]["profile"],
        "picture": ident["photos"]["picture"],
        "address": {"country": ident["addr_country"]},
        "is_salesforce_integration_user": False,
        "urls": ident["urls"],
        "active": ident["active"],
        "user_type": ident["user_type"],
        "language": ident["language"],
        "locale": ident["locale"],
        "utcOffset": ident["utcOffset"],
        "updated_at": ident["last_modified_date"],
        "is_app_installed": True,
    }

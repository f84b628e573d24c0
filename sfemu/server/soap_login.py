"""SOAP ``login()`` at ``/services/Soap/u/XX.X`` (partner) and ``/services/Soap/c/XX.X``
(enterprise) — envelope as recorded from a real org, the enterprise one in its own namespaces;
other calls are served by :mod:`sfemu.server.soap_calls`."""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from sfemu.server.http import XML_TYPE
from sfemu.server.rest_endpoint import base_url
from sfemu.server.state import ServerState
from sfemu.server.users import authenticate, user_row

if TYPE_CHECKING:
    from sfemu.org import Org

log = logging.getLogger("sfemu.server.soap")
MAX_LOGIN_BYTES = 10 * 1024
_VERSION_RE = re.compile(r"^(\d{1,2})\.0$")
_HEADERS = {"Cache-Control": "no-cache,must-revalidate,max-age=0,no-store,private"}
INVALID_LOGIN = "Invalid username, password, security token; or user locked out."
# endpoint letter → (message namespace, fault namespace)
NAMESPACES = {
    "u": ("urn:partner.soap.sforce.com", "urn:fault.partner.soap.sforce.com"),
    "c": ("urn:enterprise.soap.sforce.com", "urn:fault.enterprise.soap.sforce.com"),
}


def flavor_of(request: Request) -> str:
    """``c`` for the enterprise endpoint, ``u`` for the partner one."""
    return "c" if request.url.path.startswith("/services/Soap/c/") else "u"


def soap_fault(code: str, message: str, *, fault_type: str = "LoginFault", flavor: str = "u") -> Response:
    """HTTP 500 SOAP fault with ``sf:exceptionCode`` / ``sf:exceptionMessage``."""
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        f'xmlns:sf="{NAMESPACES[flavor][1]}" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<soapenv:Body><soapenv:Fault>"
        f"<faultcode>sf:{code}</faultcode>"
        f"<faultstring>{escape(code)}: {escape(message)}</faultstring>"
        f'<detail><sf:{fault_type} xsi:type="sf:{fault_type}">'
        f"<sf:exceptionCode>{escape(code)}</sf:exceptionCode>"
        f"<sf:exceptionMessage>{escape(message)}</sf:exceptionMessage>"
        f"</sf:{fault_type}></detail></soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
    return Response(body, status_code=500, media_type=XML_TYPE, headers=_HEADERS)


def client_fault(message: str) -> Response:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
        "<soapenv:Body><soapenv:Fault><faultcode>soapenv:Client</faultcode>"
        f"<faultstring>{escape(message)}</faultstring>"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
    return Response(body, status_code=500, media_type=XML_TYPE, headers=_HEADERS)


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_login(body: bytes) -> tuple[str, str] | None:
    """(username, password) from a partner login envelope; None when it is not a login call."""
    root = ElementTree.fromstring(body)
    for element in root.iter():
        if _local(element.tag) == "login":
            values = {_local(child.tag): (child.text or "") for child in element}
            return values.get("username", ""), values.get("password", "")
    return None


async def soap_endpoint(request: Request) -> Response:
    state: ServerState = request.app.state.sfemu
    version = request.path_params["version"]
    flavor = flavor_of(request)
    match = _VERSION_RE.match(version)
    if match is None or not 20 <= int(match.group(1)) <= 66:
        return client_fault(f"Unsupported API version: {version}")
    body = await request.body()
    if len(body) > MAX_LOGIN_BYTES and b"login" in body[:2048]:
        return soap_fault("INVALID_LOGIN", INVALID_LOGIN, flavor=flavor)
    try:
        credentials = parse_login(body)
    except ElementTree.ParseError:
        return client_fault("Unable to parse the SOAP envelope")
    if credentials is None:
        from sfemu.server.soap_calls import handle  # undelete, logout, … (imports this module)

        return await handle(state, ElementTree.fromstring(body), flavor)
    base = base_url(request)
    return await run_in_threadpool(_login, state, credentials, version, base, flavor)


def _login(
    state: ServerState, credentials: tuple[str, str], version: str, base: str, flavor: str = "u"
) -> Response:
    login = authenticate(state.instance, *credentials)
    if login.error or login.org is None or login.user is None:
        log.info("SOAP login refused")
        return soap_fault("INVALID_LOGIN", INVALID_LOGIN, flavor=flavor)
    org, user, expired = login.org, login.user, login.password_expired
    token = state.auth.issue_access_token(
        org.org_id, user["Id"], scope="api web full", password_expired=expired
    )
    log.info("SOAP login accepted")
    full_user = user_row(org, user["Id"]) | user
    xml = login_response(state, org, full_user, token, version, base, expired=expired, flavor=flavor)
    return Response(xml, status_code=200, media_type=XML_TYPE, headers=_HEADERS)


def _text(name: str, value: Any) -> str:
    if value is None:
        return f'<{name} xsi:nil="true"/>'
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"<{name}>{escape(str(value))}</{name}>"


def login_response(
    state: ServerState,
    org: Org,
    user: dict[str, Any],
    token: str,
    version: str,
    base: str,
    *,
    expired: bool = False,
    flavor: str = "u",
) -> str:
    """The ``loginResponse`` envelope, children in the recorded order."""
    org15 = org.org_id[:15]
    user_id = user["Id"]
    result = [
        _text("metadataServerUrl", f"{base}/services/Soap/m/{version}/{org15}"),
        _text("passwordExpired", expired),
        _text("sandbox", bool(getattr(org, "is_sandbox", False))),
        _text("serverUrl", f"{base}/services/Soap/{flavor}/{version}/{org15}"),
        _text("sessionId", token),
        _text("userId", user_id),
        "<userInfo>" + "".join(_user_info(state, org, user)) + "</userInfo>",
    ]
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        f'xmlns="{NAMESPACES[flavor][0]}" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        "<soapenv:Body><loginResponse><result>"
        + "".join(result)
        + "</result></loginResponse></soapenv:Body></soapenv:Envelope>"
    )


def _user_info(state: ServerState, org: Org, user: dict[str, Any]) -> list[str]:
    currency = getattr(org, "default_currency", None) or "USD"
    return [
        _text("accessibilityMode", False),
        _text("chatterExternal", False),
        _text("currencySymbol", "$" if currency == "USD" else currency),
        _text("orgAttachmentFileSizeLimit", 26214400),
        _text("orgDefaultCurrencyIsoCode", currency),
        _text("orgDefaultCurrencyLocale", user.get("LocaleSidKey") or "en_US"),
        _text("orgDisallowHtmlAttachments", False),
        _text("orgHasPersonAccounts", False),
        _text("organizationId", org.org_id),
        _text("organizationMultiCurrency", False),
        _text("organizationName", getattr(org, "name", "")),
        _text("profileId", user.get("ProfileId")),
        _text("roleId", user.get("UserRoleId")),
        _text("sessionSecondsValid", state.config.session_seconds),
        _text("userDefaultCurrencyIsoCode", None),
        _text("userEmail", user.get("Email")),
        _text("userFullName", user.get("Name")),
        _text("userId", user["Id"]),
        _text("userLanguage", user.get("LanguageLocaleKey") or "en_US"),
        _text("userLocale", user.get("LocaleSidKey") or "en_US"),
        _text("userName", user.get("Username")),
        _text("userTimeZone", user.get("TimeZoneSidKey") or "America/Los_Angeles"),
        _text("userType", user.get("UserType") or "Standard"),
        _text("userUiSkin", "Theme3"),
    ]

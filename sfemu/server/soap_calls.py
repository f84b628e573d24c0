"""SOAP calls other than ``login()`` on the partner (``/Soap/u``) and enterprise (``/Soap/c``)
endpoints: ``undelete``, ``getServerTimestamp`` and ``logout``.

``logout()`` (void: an empty ``logoutResponse``) ends the session of the ``SessionHeader``: its
token is revoked, so every later REST, SOAP, Bulk or Metadata call with it is refused as an invalid
session (REST ``401 INVALID_SESSION_ID``).

The session comes from ``<SessionHeader><sessionId>`` (jsforce and the Salesforce WSDL clients send
it there). Calls are metered like REST calls and pass the same fault gate; answers carry the
``LimitInfoHeader`` real orgs send. Envelopes are parsed by local names, so any namespace prefixes
a client picks (jsforce puts ``ids`` in ``sobject.partner.soap.sforce.com``) are accepted.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from starlette.concurrency import run_in_threadpool
from starlette.responses import Response

from sfemu import ids
from sfemu.errors import SalesforceError
from sfemu.server import faults_api
from sfemu.server.http import XML_TYPE
from sfemu.server.soap_login import _HEADERS, NAMESPACES, soap_fault
from sfemu.server.state import ServerState
from sfemu.server.users import live_session

if TYPE_CHECKING:
    from sfemu.org import Org
    from sfemu.server.auth_store import Session

log = logging.getLogger("sfemu.server.soap")
MAX_IDS = 200
INVALID_SESSION = "Invalid Session ID found in SessionHeader: Illegal Session"


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def parse_call(root: ElementTree.Element) -> tuple[str | None, ElementTree.Element | None]:
    """(sessionId or None, the call element inside Body or None)."""
    session_id = None
    call = None
    for element in root:
        name = _local(element.tag)
        if name == "Header":
            for item in element.iter():
                if _local(item.tag) == "sessionId" and item.text:
                    session_id = item.text.strip()
        elif name == "Body":
            call = next(iter(element), None)
    return session_id, call


async def handle(state: ServerState, root: ElementTree.Element, flavor: str = "u") -> Response:
    """Serve a non-login call (``root`` is the parsed envelope; ``flavor`` ``u`` or ``c``)."""
    session_id, call = parse_call(root)
    if call is None:
        return soap_fault(
            "INVALID_SOAP_REQUEST",
            "no call in the SOAP body",
            fault_type="UnexpectedErrorFault",
            flavor=flavor,
        )
    return await run_in_threadpool(_serve, state, session_id, call, flavor)


def _serve(
    state: ServerState, session_id: str | None, call: ElementTree.Element, flavor: str = "u"
) -> Response:
    name = _local(call.tag)
    handler = CALLS.get(name)

    def fault(code: str, message: str) -> Response:
        return soap_fault(code, message, fault_type="UnexpectedErrorFault", flavor=flavor)

    if handler is None:
        endpoint = "enterprise" if flavor == "c" else "partner"
        return fault("UNSUPPORTED_API_CALL", f"sfemu does not serve {name}() on the {endpoint} SOAP endpoint")
    found = live_session(state, session_id)
    if found is None:
        return fault("INVALID_SESSION_ID", INVALID_SESSION)
    session, org = found
    if session.password_expired:
        return fault(
            "INVALID_OPERATION_WITH_EXPIRED_PASSWORD",
            "The users password has expired, you must call SetPassword before attempting any other "
            "API operations",
        )
    unavailable = faults_api.gate(org, "soap")
    if unavailable is not None:
        return fault(unavailable.error_code, unavailable.message)
    try:
        org.check_api_limit()
        org.count_api_call("soap")
    except SalesforceError as exc:
        return fault(exc.error_code, exc.message)
    try:
        result = handler(org, session, call)
    except SalesforceError as exc:
        return fault(exc.error_code, exc.message)
    if name == "logout" and session_id:
        state.auth.revoke(session_id)  # the session ends here: its token is refused from now on
    log.info("SOAP %s served", name)
    inner = f"<{name}Response>{result}</{name}Response>" if result else f"<{name}Response/>"
    return Response(_envelope(org, inner, flavor), 200, _HEADERS, XML_TYPE)


def _envelope(org: Org, body: str, flavor: str = "u") -> str:
    used, limit = org.api_usage()
    header = (
        "<soapenv:Header><LimitInfoHeader><limitInfo>"
        f"<current>{used}</current><limit>{limit}</limit><type>API REQUESTS</type>"
        "</limitInfo></LimitInfoHeader></soapenv:Header>"
    )
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        f'xmlns="{NAMESPACES[flavor][0]}" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"{header}<soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
    )


def error_xml(err: SalesforceError) -> str:
    """A partner ``Error``: fields*, message, statusCode (the WSDL's order)."""
    fields = "".join(f"<fields>{escape(f)}</fields>" for f in err.fields or [])
    return (
        f"<errors>{fields}<message>{escape(err.message)}</message>"
        f"<statusCode>{escape(err.error_code)}</statusCode></errors>"
    )


def undelete(org: Org, session: Session, call: ElementTree.Element) -> str:
    """``undelete(ids[])``: restores each record (and what was cascade-deleted with it); one
    ``UndeleteResult`` per id, in order; failures do not affect the other ids."""
    record_ids = [(child.text or "").strip() for child in call if _local(child.tag) == "ids"]
    if len(record_ids) > MAX_IDS:
        raise SalesforceError("EXCEEDED_ID_LIMIT", f"Too many ids; the maximum is {MAX_IDS}")
    results = []
    for record_id in record_ids:
        try:
            org.undelete(record_id, user_id=session.user_id)
        except SalesforceError as exc:
            results.append(f'<result>{error_xml(exc)}<id xsi:nil="true"/><success>false</success></result>')
            continue
        canonical = ids.normalize(record_id) or record_id
        results.append(f"<result><id>{escape(canonical)}</id><success>true</success></result>")
    return "".join(results)


def server_timestamp(org: Org, session: Session, call: ElementTree.Element) -> str:
    """``getServerTimestamp()``: the org clock in UTC, xsd:dateTime with milliseconds."""
    now = org.now()
    stamp = now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"
    return f"<result><timestamp>{stamp}</timestamp></result>"


def logout(org: Org, session: Session, call: ElementTree.Element) -> str:
    """``logout()``: returns nothing; the caller revokes the session once the call is served."""
    return ""


CALLS: dict[str, Callable[[Org, Session, ElementTree.Element], str]] = {
    "undelete": undelete,
    "getServerTimestamp": server_timestamp,
    "logout": logout,
}

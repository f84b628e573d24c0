"""Anonymous Apex: ``GET tooling/executeAnonymous/?anonymousBody=…`` (Tooling REST, jsforce's
``conn.tooling.executeAnonymous``) and the Apex SOAP API ``POST /services/Soap/s/{version}[/…]``
``executeAnonymous`` (the Salesforce CLI's ``sf apex run``).

sfemu does not run Apex. Both answer exactly as Salesforce does when the code fails to compile —
``compiled`` and ``success`` false, ``line``/``column`` of the problem (1, 1) and a
``compileProblem`` saying that sfemu does not run Apex — so clients report a clean compile error
instead of a transport failure. Shapes: the ExecuteAnonymousResult of the SOAP API guide; the REST
key order (line, column, compiled, success, compileProblem, exceptionStackTrace,
exceptionMessage) and the SOAP envelope (default namespace ``http://soap.sforce.com/2006/08/apex``,
``DebuggingInfo/debugLog`` header, children in WSDL order, ``xsi:nil`` for null) as real orgs send
them.
"""

from __future__ import annotations

import logging
import re
from typing import Any
from xml.etree import ElementTree
from xml.sax.saxutils import escape

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sfemu.errors import SalesforceError
from sfemu.server import faults_api
from sfemu.server.http import XML_TYPE, ApiRequest, ApiResponse
from sfemu.server.state import Ctx, ServerState
from sfemu.server.users import live_session

log = logging.getLogger("sfemu.server.apex")
APEX_NS = "http://soap.sforce.com/2006/08/apex"
COMPILE_PROBLEM = (
    "sfemu does not run Apex: anonymous Apex cannot be compiled or executed by this Salesforce "
    "emulator. No code was run and no data was changed."
)
_VERSION_RE = re.compile(r"^(\d{1,2})\.0$")
_HEADERS = {"Cache-Control": "no-cache,must-revalidate,max-age=0,no-store,private"}
INVALID_SESSION = "Invalid Session ID found in SessionHeader: Illegal Session"


def compile_failure() -> dict[str, Any]:
    """The ExecuteAnonymousResult of a compile failure, in the REST key order."""
    return {
        "line": 1,
        "column": 1,
        "compiled": False,
        "success": False,
        "compileProblem": COMPILE_PROBLEM,
        "exceptionStackTrace": None,
        "exceptionMessage": None,
    }


def execute_anonymous_rest(ctx: Ctx, req: ApiRequest, params: dict[str, str]) -> ApiResponse:
    """``GET tooling/executeAnonymous/?anonymousBody=``: 200 with the compile failure."""
    return ApiResponse(200, compile_failure())


# --- SOAP -----------------------------------------------------------------------------------


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _envelope(header: str, body: str) -> str:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        f'xmlns="{APEX_NS}" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"{header}<soapenv:Body>{body}</soapenv:Body></soapenv:Envelope>"
    )


def soap_fault(code: str, message: str, *, client: bool = False) -> Response:
    faultcode = "soapenv:Client" if client else f"sf:{code}"
    text = message if client else f"{code}: {message}"
    detail = (
        ""
        if client
        else (
            '<detail><sf:UnexpectedErrorFault xsi:type="sf:UnexpectedErrorFault">'
            f"<sf:exceptionCode>{escape(code)}</sf:exceptionCode>"
            f"<sf:exceptionMessage>{escape(message)}</sf:exceptionMessage>"
            "</sf:UnexpectedErrorFault></detail>"
        )
    )
    body = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
        'xmlns:sf="http://soap.sforce.com/2006/08/apex" '
        'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        f"<soapenv:Body><soapenv:Fault><faultcode>{faultcode}</faultcode>"
        f"<faultstring>{escape(text)}</faultstring>{detail}</soapenv:Fault></soapenv:Body></soapenv:Envelope>"
    )
    return Response(body, status_code=500, media_type=XML_TYPE, headers=_HEADERS)


def _result_xml() -> str:
    result = compile_failure()
    parts = []
    for name in ("column", "compileProblem", "compiled", "exceptionMessage", "exceptionStackTrace"):
        parts.append(_xml_value(name, result[name]))
    parts += [_xml_value("line", result["line"]), _xml_value("success", result["success"])]
    return "<result>" + "".join(parts) + "</result>"


def _xml_value(name: str, value: Any) -> str:
    if value is None:
        return f'<{name} xsi:nil="true"/>'
    if isinstance(value, bool):
        value = "true" if value else "false"
    return f"<{name}>{escape(str(value))}</{name}>"


def _debug_log(version: str, code: str) -> str:
    """The head of the debug log a real org returns: the log levels, then the code as run."""
    lines = [f"{version} APEX_CODE,DEBUG;APEX_PROFILING,INFO"]
    lines += [f"Execute Anonymous: {line}" for line in code.splitlines() or [""]]
    return "\n".join(lines) + "\n"


async def apex_soap_endpoint(request: Request) -> Response:
    state: ServerState = request.app.state.sfemu
    version = request.path_params["version"]
    match = _VERSION_RE.match(version)
    if match is None or not 20 <= int(match.group(1)) <= 66:
        return soap_fault("", f"Unsupported API version: {version}", client=True)
    body = await request.body()
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return soap_fault("", "Unable to parse the SOAP envelope", client=True)
    return await run_in_threadpool(_serve, state, root, version)


def _serve(state: ServerState, root: ElementTree.Element, version: str) -> Response:
    session_id = None
    call = None
    for element in root:
        if _local(element.tag) == "Header":
            for item in element.iter():
                if _local(item.tag) == "sessionId" and item.text:
                    session_id = item.text.strip()
        elif _local(element.tag) == "Body":
            call = next(iter(element), None)
    if call is None:
        return soap_fault("INVALID_SOAP_REQUEST", "no call in the SOAP body")
    name = _local(call.tag)
    if name != "executeAnonymous":
        return soap_fault("UNSUPPORTED_API_CALL", f"sfemu does not serve {name}() on the Apex SOAP endpoint")
    found = live_session(state, session_id)
    if found is None:
        return soap_fault("INVALID_SESSION_ID", INVALID_SESSION)
    session, org = found
    if session.password_expired:
        return soap_fault(
            "INVALID_OPERATION_WITH_EXPIRED_PASSWORD",
            "The users password has expired, you must call SetPassword before attempting any other "
            "API operations",
        )
    unavailable = faults_api.gate(org, "apex")
    if unavailable is not None:
        return soap_fault(unavailable.error_code, unavailable.message)
    try:
        org.count_api_call("soap")
    except SalesforceError as exc:
        return soap_fault(exc.error_code, exc.message)
    code = next(
        ((c.text or "") for c in call if _local(c.tag) == "String" or _local(c.tag) == "apexcode"), ""
    )
    header = (
        "<soapenv:Header><DebuggingInfo><debugLog>"
        + escape(_debug_log(version, code))
        + "</debugLog></DebuggingInfo></soapenv:Header>"
    )
    log.info("Apex SOAP executeAnonymous answered with the compile failure")
    body = f"<executeAnonymousResponse>{_result_xml()}</executeAnonymousResponse>"
    return Response(_envelope(header, body), status_code=200, media_type=XML_TYPE, headers=_HEADERS)


ROUTES = [
    Route("/services/Soap/s/{version}", apex_soap_endpoint, methods=["POST"]),
    Route("/services/Soap/s/{version}/{rest:path}", apex_soap_endpoint, methods=["POST"]),
]

"""Anonymous Apex is not run by sfemu: ``tooling/executeAnonymous`` (Tooling REST) and the Apex SOAP
API ``executeAnonymous`` (``/services/Soap/s/{v}``) answer as Salesforce does for a compile failure,
with a problem text saying so. REST through unmodified simple-salesforce (``toolingexecute``), SOAP
as raw envelopes in the WSDL's shape (the CLI's own shape is driven from node in
test_jsforce_extras.py)."""

from __future__ import annotations

from collections.abc import Iterator
from xml.etree import ElementTree

import pytest
import requests
from simple_salesforce import Salesforce

from sfemu.testing import OrgHandle, SfemuServer

VERSION = "62.0"
SOAPENV = "http://schemas.xmlsoap.org/soap/envelope/"
APEX = "http://soap.sforce.com/2006/08/apex"
XSI_NIL = "{http://www.w3.org/2001/XMLSchema-instance}nil"


@pytest.fixture
def http(sfemu_server: SfemuServer) -> Iterator[requests.Session]:
    session = sfemu_server.http_session()
    yield session
    session.close()


def apex_envelope(token: str, code: str, arg: str = "String") -> bytes:
    """The Apex WSDL's request: SessionHeader + ``executeAnonymous(String)``."""
    escaped = code.replace("&", "&amp;").replace("<", "&lt;")
    return (
        f'<soapenv:Envelope xmlns:soapenv="{SOAPENV}" xmlns:apex="{APEX}"><soapenv:Header>'
        f"<apex:SessionHeader><apex:sessionId>{token}</apex:sessionId></apex:SessionHeader>"
        "<apex:DebuggingHeader><apex:debugLevel>Db</apex:debugLevel></apex:DebuggingHeader>"
        f"</soapenv:Header><soapenv:Body><apex:executeAnonymous><apex:{arg}>{escaped}</apex:{arg}>"
        "</apex:executeAnonymous></soapenv:Body></soapenv:Envelope>"
    ).encode()


def post(http: requests.Session, url: str, body: bytes) -> requests.Response:
    return http.post(url, data=body, headers={"Content-Type": "text/xml", "SOAPAction": '""'}, timeout=10)


def test_tooling_rest_answers_a_compile_failure(http, sfemu_org: OrgHandle) -> None:
    sf = Salesforce(
        instance_url=sfemu_org.instance_url, session_id=sfemu_org.access_token, session=http, version=VERSION
    )
    result = sf.toolingexecute(
        "executeAnonymous/?anonymousBody=" + requests.utils.quote("insert new Account();")
    )
    assert result == {
        "line": 1,
        "column": 1,
        "compiled": False,
        "success": False,
        "compileProblem": result["compileProblem"],
        "exceptionStackTrace": None,
        "exceptionMessage": None,
    }
    assert list(result) == [
        "line",
        "column",
        "compiled",
        "success",
        "compileProblem",
        "exceptionStackTrace",
        "exceptionMessage",
    ]
    assert result["compileProblem"].startswith("sfemu does not run Apex")
    assert sf.query("SELECT COUNT() FROM Account")["totalSize"] == 0  # nothing was run
    unauthorized = http.get(
        f"{sfemu_org.instance_url}/services/data/v{VERSION}/tooling/executeAnonymous",
        params={"anonymousBody": "x"},
        timeout=10,
    )
    assert unauthorized.status_code == 401


def test_soap_answers_a_compile_failure(http, sfemu_org: OrgHandle) -> None:
    url = f"{sfemu_org.instance_url}/services/Soap/s/{VERSION}/{sfemu_org.org_id[:15]}"
    before, _ = sfemu_org.org.api_usage()
    resp = post(http, url, apex_envelope(sfemu_org.access_token, "Integer i = 1;\nSystem.debug(i < 2);"))
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/xml")
    assert resp.text.startswith('<?xml version="1.0" encoding="UTF-8"?><soapenv:Envelope ')
    assert sfemu_org.org.api_usage()[0] == before + 1
    root = ElementTree.fromstring(resp.content)
    log = root.findtext(f"{{{SOAPENV}}}Header/{{{APEX}}}DebuggingInfo/{{{APEX}}}debugLog")
    assert log == (
        f"{VERSION} APEX_CODE,DEBUG;APEX_PROFILING,INFO\n"
        "Execute Anonymous: Integer i = 1;\nExecute Anonymous: System.debug(i < 2);\n"
    )
    result = root.find(f"{{{SOAPENV}}}Body/{{{APEX}}}executeAnonymousResponse/{{{APEX}}}result")
    assert result is not None
    children = [(c.tag.split("}")[1], c.text, c.get(XSI_NIL)) for c in result]
    assert [name for name, _, _ in children] == [
        "column",
        "compileProblem",
        "compiled",
        "exceptionMessage",
        "exceptionStackTrace",
        "line",
        "success",
    ]
    values = {name: (text, nil) for name, text, nil in children}
    assert values["column"] == ("1", None) and values["line"] == ("1", None)
    assert values["compiled"] == ("false", None) and values["success"] == ("false", None)
    assert values["exceptionMessage"] == (None, "true") and values["exceptionStackTrace"] == (None, "true")
    assert values["compileProblem"][0].startswith("sfemu does not run Apex")


def test_soap_faults(http, sfemu_org: OrgHandle) -> None:
    url = f"{sfemu_org.instance_url}/services/Soap/s/{VERSION}"
    bad = post(http, url, apex_envelope("00Dbogus!token", "x"))
    # the Salesforce CLI re-authenticates on ERROR_HTTP_500 whose message has INVALID_SESSION_ID
    assert bad.status_code == 500 and "<faultcode>sf:INVALID_SESSION_ID</faultcode>" in bad.text
    other = (
        f'<soapenv:Envelope xmlns:soapenv="{SOAPENV}"><soapenv:Header><SessionHeader xmlns="{APEX}">'
        f"<sessionId>{sfemu_org.access_token}</sessionId></SessionHeader></soapenv:Header>"
        f'<soapenv:Body><runTests xmlns="{APEX}"/></soapenv:Body></soapenv:Envelope>'
    ).encode()
    unsupported = post(http, url, other)
    assert unsupported.status_code == 500 and "UNSUPPORTED_API_CALL" in unsupported.text
    old = post(
        http, f"{sfemu_org.instance_url}/services/Soap/s/7.0", apex_envelope(sfemu_org.access_token, "x")
    )
    assert old.status_code == 500 and "<faultcode>soapenv:Client</faultcode>" in old.text

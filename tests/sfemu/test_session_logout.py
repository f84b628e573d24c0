"""SOAP ``logout()`` on the partner (``/services/Soap/u``) and enterprise (``/services/Soap/c``)
endpoints, and OAuth revoke, really end the session: the token is refused afterwards by REST, SOAP,
Metadata, Bulk and identity alike. Raw envelopes as jsforce writes them (``logoutBySoap``); the
login through simple-salesforce's ``soap_login`` (partner) and a raw enterprise login."""

from __future__ import annotations

from collections.abc import Iterator
from xml.etree import ElementTree

import pytest
import requests
from simple_salesforce.login import soap_login

from sfemu.testing import OrgHandle, SfemuServer

VERSION = "62.0"
SOAPENV = "http://schemas.xmlsoap.org/soap/envelope/"
PARTNER = "urn:partner.soap.sforce.com"
ENTERPRISE = "urn:enterprise.soap.sforce.com"
INVALID_REST = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


@pytest.fixture
def http(sfemu_server: SfemuServer) -> Iterator[requests.Session]:
    session = sfemu_server.http_session()
    yield session
    session.close()


def logout_envelope(session_id: str, namespace: str = PARTNER) -> bytes:
    """jsforce's ``logoutBySoap`` envelope."""
    return (
        '<se:Envelope xmlns:se="http://schemas.xmlsoap.org/soap/envelope/"><se:Header>'
        f'<SessionHeader xmlns="{namespace}"><sessionId>{session_id}</sessionId></SessionHeader>'
        f'</se:Header><se:Body><logout xmlns="{namespace}"/></se:Body></se:Envelope>'
    ).encode()


def soap_post(http: requests.Session, url: str, body: bytes) -> requests.Response:
    return http.post(url, data=body, headers={"Content-Type": "text/xml", "SOAPAction": '""'}, timeout=10)


def partner_login(http: requests.Session, org: OrgHandle) -> str:
    body = f"""<?xml version="1.0" encoding="utf-8" ?>
<env:Envelope xmlns:xsd="http://www.w3.org/2001/XMLSchema"
        xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
        xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"
        xmlns:urn="urn:partner.soap.sforce.com">
    <env:Body><n1:login xmlns:n1="urn:partner.soap.sforce.com">
        <n1:username>{org.username}</n1:username><n1:password>{org.login_password}</n1:password>
    </n1:login></env:Body></env:Envelope>"""
    session_id, _ = soap_login(
        f"{org.instance_url}/services/Soap/u/{VERSION}",
        body,
        {"content-type": "text/xml", "charset": "UTF-8", "SOAPAction": "login"},
        None,
        session=http,
    )
    return session_id


def rest_status(http: requests.Session, org: OrgHandle, token: str) -> requests.Response:
    return http.get(
        f"{org.instance_url}/services/data/v{VERSION}/limits",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def assert_session_ended(http: requests.Session, org: OrgHandle, token: str) -> None:
    base = org.instance_url
    rest = rest_status(http, org, token)
    assert rest.status_code == 401 and rest.json() == INVALID_REST
    bulk = http.get(
        f"{base}/services/data/v{VERSION}/jobs/ingest",
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )
    assert bulk.status_code == 401
    timestamp = (
        '<se:Envelope xmlns:se="http://schemas.xmlsoap.org/soap/envelope/"><se:Header>'
        f'<SessionHeader xmlns="{PARTNER}"><sessionId>{token}</sessionId></SessionHeader></se:Header>'
        f'<se:Body><getServerTimestamp xmlns="{PARTNER}"/></se:Body></se:Envelope>'
    ).encode()
    soap = soap_post(http, f"{base}/services/Soap/u/{VERSION}", timestamp)
    assert soap.status_code == 500 and "<faultcode>sf:INVALID_SESSION_ID</faultcode>" in soap.text
    metadata = (
        '<se:Envelope xmlns:se="http://schemas.xmlsoap.org/soap/envelope/"><se:Header>'
        '<SessionHeader xmlns="http://soap.sforce.com/2006/04/metadata">'
        f"<sessionId>{token}</sessionId></SessionHeader></se:Header><se:Body>"
        '<describeMetadata xmlns="http://soap.sforce.com/2006/04/metadata"/></se:Body></se:Envelope>'
    ).encode()
    md = soap_post(http, f"{base}/services/Soap/m/{VERSION}", metadata)
    assert md.status_code == 500 and "INVALID_SESSION_ID" in md.text
    identity = http.get(
        f"{base}/id/{org.org_id}/{org.user_id}", headers={"Authorization": f"Bearer {token}"}, timeout=10
    )
    assert identity.status_code == 403


def logout_response(resp: requests.Response, namespace: str) -> ElementTree.Element:
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/xml")
    root = ElementTree.fromstring(resp.content)
    body = root.find(f"{{{SOAPENV}}}Body")
    assert body is not None
    [answer] = list(body)
    assert answer.tag == f"{{{namespace}}}logoutResponse"
    assert list(answer) == [] and not (answer.text or "").strip()  # void: an empty logoutResponse
    return answer


def test_partner_logout_ends_the_session(http, sfemu_org: OrgHandle) -> None:
    token = partner_login(http, sfemu_org)
    other = sfemu_org.new_access_token()  # another session of the same user
    assert rest_status(http, sfemu_org, token).status_code == 200
    server_url = f"{sfemu_org.instance_url}/services/Soap/u/{VERSION}"
    logout_response(soap_post(http, server_url, logout_envelope(token)), PARTNER)
    assert_session_ended(http, sfemu_org, token)
    assert rest_status(http, sfemu_org, other).status_code == 200  # only the caller's session ends
    again = soap_post(http, server_url, logout_envelope(token))
    assert again.status_code == 500 and "<faultcode>sf:INVALID_SESSION_ID</faultcode>" in again.text


def test_enterprise_login_and_logout(http, sfemu_org: OrgHandle) -> None:
    login = (
        '<se:Envelope xmlns:se="http://schemas.xmlsoap.org/soap/envelope/"><se:Header/><se:Body>'
        f'<login xmlns="{ENTERPRISE}"><username>{sfemu_org.username}</username>'
        f"<password>{sfemu_org.login_password}</password></login></se:Body></se:Envelope>"
    ).encode()
    resp = soap_post(http, f"{sfemu_org.instance_url}/services/Soap/c/{VERSION}", login)
    assert resp.status_code == 200, resp.text
    result = ElementTree.fromstring(resp.content).find(
        f".//{{{ENTERPRISE}}}loginResponse/{{{ENTERPRISE}}}result"
    )
    assert result is not None
    server_url = result.findtext(f"{{{ENTERPRISE}}}serverUrl")
    assert server_url == f"{sfemu_org.instance_url}/services/Soap/c/{VERSION}/{sfemu_org.org_id[:15]}"
    token = result.findtext(f"{{{ENTERPRISE}}}sessionId")
    assert token and rest_status(http, sfemu_org, token).status_code == 200
    logout_response(soap_post(http, server_url, logout_envelope(token, ENTERPRISE)), ENTERPRISE)
    assert_session_ended(http, sfemu_org, token)


def test_enterprise_faults_use_the_enterprise_fault_namespace(http, sfemu_org: OrgHandle) -> None:
    resp = soap_post(
        http, f"{sfemu_org.instance_url}/services/Soap/c/{VERSION}", logout_envelope("00Dbogus!x", ENTERPRISE)
    )
    assert resp.status_code == 500
    assert 'xmlns:sf="urn:fault.enterprise.soap.sforce.com"' in resp.text
    assert "<faultcode>sf:INVALID_SESSION_ID</faultcode>" in resp.text


def test_logout_is_metered(http, sfemu_org: OrgHandle) -> None:
    token = sfemu_org.new_access_token()
    before, _ = sfemu_org.org.api_usage()
    logout_response(
        soap_post(http, f"{sfemu_org.instance_url}/services/Soap/u/{VERSION}", logout_envelope(token)),
        PARTNER,
    )
    assert sfemu_org.org.api_usage()[0] == before + 1


def test_oauth_revoke_ends_the_session_everywhere(
    http, sfemu_server: SfemuServer, sfemu_org: OrgHandle
) -> None:
    token = partner_login(http, sfemu_org)  # a SOAP session id is an access token too
    assert rest_status(http, sfemu_org, token).status_code == 200
    resp = http.post(f"{sfemu_server.url}/services/oauth2/revoke", data={"token": token}, timeout=10)
    assert resp.status_code == 200 and resp.content == b""
    assert_session_ended(http, sfemu_org, token)

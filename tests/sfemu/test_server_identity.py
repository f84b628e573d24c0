"""Identity URL, userinfo, SOAP partner login and session expiry."""

from __future__ import annotations

import re
from xml.etree import ElementTree

import pytest
from simple_salesforce.exceptions import SalesforceAuthenticationFailed
from simple_salesforce.login import soap_login

from sfemu.testing import OrgHandle, SfemuServer

IDENTITY_KEYS = [
    "id",
    "asserted_user",
    "user_id",
    "organization_id",
    "username",
    "nick_name",
    "display_name",
    "email",
    "email_verified",
    "first_name",
    "last_name",
    "timezone",
    "photos",
    "addr_street",
    "addr_city",
    "addr_state",
    "addr_country",
    "addr_zip",
    "mobile_phone",
    "mobile_phone_verified",
    "is_lightning_login_user",
    "status",
    "urls",
    "active",
    "user_type",
    "language",
    "locale",
    "utcOffset",
    "last_modified_date",
    "is_app_installed",
]
SOAP_NS = "{urn:partner.soap.sforce.com}"


def identity_url(server: SfemuServer, org: OrgHandle) -> str:
    return f"{server.url}/id/{org.org_id}/{org.user_id}"


def test_identity_with_bearer_header(http, sfemu_server, sfemu_org) -> None:
    resp = http.get(
        identity_url(sfemu_server, sfemu_org),
        headers={"Authorization": f"Bearer {sfemu_org.access_token}"},
        timeout=10,
    )
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "application/json;charset=UTF-8"
    body = resp.json()
    assert list(body) == IDENTITY_KEYS
    assert body["user_id"] == sfemu_org.user_id
    assert body["organization_id"] == sfemu_org.org_id
    assert body["username"] == sfemu_org.username
    assert body["user_type"] == "STANDARD"
    assert body["urls"]["rest"] == f"{sfemu_server.url}/services/data/v{{version}}/"
    assert body["urls"]["partner"].endswith(f"/services/Soap/u/{{version}}/{sfemu_org.org_id[:15]}")


def test_identity_with_oauth_token_parameter_as_jsforce_sends_it(http, sfemu_server, sfemu_org):
    root = http.get(
        f"{sfemu_server.url}/services/data/v62.0/",
        headers={"Authorization": f"Bearer {sfemu_org.access_token}"},
        timeout=10,
    )
    identity = root.json()["identity"]
    assert identity == identity_url(sfemu_server, sfemu_org)
    resp = http.get(identity, params={"format": "json", "oauth_token": sfemu_org.access_token}, timeout=10)
    assert resp.status_code == 200
    assert resp.json()["id"] == identity


def test_identity_with_bad_token(http, sfemu_server, sfemu_org) -> None:
    resp = http.get(
        identity_url(sfemu_server, sfemu_org), headers={"Authorization": "Bearer 00Dnope!AQnope"}, timeout=10
    )
    assert resp.status_code == 403
    assert resp.text == "Bad_OAuth_Token"


def test_userinfo(http, sfemu_server, sfemu_org) -> None:
    resp = http.get(
        f"{sfemu_server.url}/services/oauth2/userinfo",
        headers={"Authorization": f"Bearer {sfemu_org.access_token}"},
        timeout=10,
    )
    assert resp.status_code == 200
    body = resp.json()
    assert body["sub"] == identity_url(sfemu_server, sfemu_org)
    assert body["preferred_username"] == sfemu_org.username
    assert body["organization_id"] == sfemu_org.org_id


def _envelope(username: str, password: str) -> str:
    # simple-salesforce's login envelope (SS:login.py)
    return f"""<?xml version="1.0" encoding="utf-8" ?>
<env:Envelope xmlns:xsd="http://www.w3.org/2001/XMLSchema"
        xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"
        xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"
        xmlns:urn="urn:partner.soap.sforce.com">
    <env:Header><urn:CallOptions><urn:client>simple-salesforce</urn:client>
        <urn:defaultNamespace>sf</urn:defaultNamespace></urn:CallOptions></env:Header>
    <env:Body><n1:login xmlns:n1="urn:partner.soap.sforce.com">
        <n1:username>{username}</n1:username><n1:password>{password}</n1:password>
    </n1:login></env:Body>
</env:Envelope>"""


SOAP_HEADERS = {"content-type": "text/xml", "charset": "UTF-8", "SOAPAction": "login"}


def test_soap_login_through_simple_salesforce(http, sfemu_server, sfemu_org) -> None:
    session_id, instance = soap_login(
        f"{sfemu_server.url}/services/Soap/u/59.0",
        _envelope(sfemu_org.username, sfemu_org.login_password),
        SOAP_HEADERS,
        None,
        session=http,
    )
    assert instance == sfemu_server.url.removeprefix("https://")
    resp = http.get(
        f"https://{instance}/services/data/v59.0/limits",
        headers={"Authorization": f"Bearer {session_id}"},
        timeout=10,
    )
    assert resp.status_code == 200


def test_soap_login_envelope_matches_the_recording(http, sfemu_server, sfemu_org) -> None:
    jsforce_body = (
        '<se:Envelope xmlns:se="http://schemas.xmlsoap.org/soap/envelope/"><se:Header/><se:Body>'
        f'<login xmlns="urn:partner.soap.sforce.com"><username>{sfemu_org.username}</username>'
        f"<password>{sfemu_org.login_password}</password></login></se:Body></se:Envelope>"
    )
    resp = http.post(
        f"{sfemu_server.url}/services/Soap/u/42.0",
        data=jsforce_body,
        headers={"Content-Type": "text/xml", "SOAPAction": '""'},
        timeout=10,
    )
    assert resp.status_code == 200
    assert resp.headers["content-type"] == "text/xml; charset=utf-8"
    root = ElementTree.fromstring(resp.content)
    result = root.find(f".//{SOAP_NS}loginResponse/{SOAP_NS}result")
    assert result is not None
    assert [c.tag.removeprefix(SOAP_NS) for c in result] == [
        "metadataServerUrl",
        "passwordExpired",
        "sandbox",
        "serverUrl",
        "sessionId",
        "userId",
        "userInfo",
    ]
    info = result.find(f"{SOAP_NS}userInfo")
    assert info is not None
    assert [c.tag.removeprefix(SOAP_NS) for c in info] == [
        "accessibilityMode",
        "chatterExternal",
        "currencySymbol",
        "orgAttachmentFileSizeLimit",
        "orgDefaultCurrencyIsoCode",
        "orgDefaultCurrencyLocale",
        "orgDisallowHtmlAttachments",
        "orgHasPersonAccounts",
        "organizationId",
        "organizationMultiCurrency",
        "organizationName",
        "profileId",
        "roleId",
        "sessionSecondsValid",
        "userDefaultCurrencyIsoCode",
        "userEmail",
        "userFullName",
        "userId",
        "userLanguage",
        "userLocale",
        "userName",
        "userTimeZone",
        "userType",
        "userUiSkin",
    ]
    text = resp.text
    assert f"<serverUrl>{sfemu_server.url}/services/Soap/u/42.0/{sfemu_org.org_id[:15]}</serverUrl>" in text
    assert f"<organizationId>{sfemu_org.org_id}</organizationId>" in text
    assert "<passwordExpired>false</passwordExpired>" in text
    assert re.search(r"<sessionId>00D[0-9A-Za-z]{12}!AQ", text)


def test_soap_login_fault(http, sfemu_server, sfemu_org) -> None:
    with pytest.raises(SalesforceAuthenticationFailed) as failed:
        soap_login(
            f"{sfemu_server.url}/services/Soap/u/59.0",
            _envelope(sfemu_org.username, "wrong"),
            SOAP_HEADERS,
            None,
            session=http,
        )
    assert failed.value.code == "INVALID_LOGIN"
    assert failed.value.auth_message == ("Invalid username, password, security token; or user locked out.")
    raw = http.post(
        f"{sfemu_server.url}/services/Soap/u/59.0",
        data=_envelope(sfemu_org.username, "wrong"),
        headers=SOAP_HEADERS,
        timeout=10,
    )
    assert raw.status_code == 500
    assert "<faultcode>sf:INVALID_LOGIN</faultcode>" in raw.text


def test_expired_session_answers_invalid_session_id(http, sfemu_server, sfemu_org) -> None:
    url = f"{sfemu_server.url}/services/data/v62.0/limits"
    headers = {"Authorization": f"Bearer {sfemu_org.access_token}"}
    assert http.get(url, headers=headers, timeout=10).status_code == 200
    sfemu_org.expire_sessions()
    resp = http.get(url, headers=headers, timeout=10)
    assert resp.status_code == 401
    assert resp.text == '[{"message":"Session expired or invalid","errorCode":"INVALID_SESSION_ID"}]'
    assert "sforce-limit-info" not in resp.headers


def test_sessions_time_out_after_the_configured_idle_time(tmp_path) -> None:
    import time

    from sfemu.testing import start_server

    server = start_server(tls_dir=tmp_path, session_seconds=1)
    try:
        org = server.create_org("short")
        http = server.http_session()
        url = f"{server.url}/services/data/v62.0/limits"
        headers = {"Authorization": f"Bearer {org.access_token}"}
        assert http.get(url, headers=headers, timeout=10).status_code == 200
        time.sleep(1.3)
        assert http.get(url, headers=headers, timeout=10).status_code == 401
    finally:
        server.stop()


def test_expired_password(http, sfemu_server, sfemu_org) -> None:
    sfemu_org.org.set_password_expired(sfemu_org.user_id)
    resp = http.post(
        f"{sfemu_server.url}/services/Soap/u/42.0",
        timeout=10,
        data=_envelope(sfemu_org.username, sfemu_org.login_password),
        headers=SOAP_HEADERS,
    )
    assert resp.status_code == 200, resp.text
    assert "<passwordExpired>true</passwordExpired>" in resp.text
    session_id = re.search(r"<sessionId>([^<]+)</sessionId>", resp.text).group(1)
    rest = http.get(
        f"{sfemu_server.url}/services/data/v42.0/sobjects/Lead/describe",
        headers={"Authorization": f"Bearer {session_id}"},
        timeout=10,
    )
    assert rest.status_code == 401
    assert rest.json() == [
        {
            "message": "Your password has expired. Please reset your password.",
            "errorCode": "INVALID_OPERATION_WITH_EXPIRED_PASSWORD",
        }
    ]

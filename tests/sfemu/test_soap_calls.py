"""Partner SOAP calls beyond login: ``undelete`` and ``getServerTimestamp``, as raw envelopes (the
way jsforce writes them) and through unmodified jsforce (``conn.soap``)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from xml.etree import ElementTree

import pytest
import requests

from sfemu.testing import OrgHandle, SfemuServer

VERSION = "62.0"
NS = {"s": "http://schemas.xmlsoap.org/soap/envelope/", "p": "urn:partner.soap.sforce.com"}
JS_DIR = Path(__file__).parent / "js"


def envelope(session_id: str, body: str) -> str:
    """What jsforce's SOAP class sends (SessionHeader in the partner namespace)."""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/"'
        ' xmlns:xsd="http://www.w3.org/2001/XMLSchema"'
        ' xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">'
        '<soapenv:Header xmlns="urn:partner.soap.sforce.com">'
        f"<SessionHeader><sessionId>{session_id}</sessionId></SessionHeader>"
        "</soapenv:Header>"
        f'<soapenv:Body xmlns="urn:partner.soap.sforce.com">{body}</soapenv:Body>'
        "</soapenv:Envelope>"
    )


def undelete_body(ids: list[str]) -> str:
    inner = "".join(f"<ns1:ids>{i}</ns1:ids>" for i in ids)
    return (
        '<undelete xmlns="urn:partner.soap.sforce.com" xmlns:ns1="sobject.partner.soap.sforce.com">'
        f"{inner}</undelete>"
    )


def soap(http: requests.Session, org: OrgHandle, body: str, token: str | None = None) -> requests.Response:
    return http.post(
        f"{org.instance_url}/services/Soap/u/{VERSION}",
        data=envelope(token or org.access_token, body).encode(),
        headers={"Content-Type": "text/xml", "SOAPAction": '""'},
    )


def rest(http: requests.Session, org: OrgHandle, method: str, path: str, **kw) -> requests.Response:
    return http.request(
        method,
        f"{org.instance_url}/services/data/v{VERSION}/{path}",
        headers={"Authorization": f"Bearer {org.access_token}"},
        **kw,
    )


@pytest.fixture
def http(sfemu_server: SfemuServer) -> requests.Session:
    return sfemu_server.http_session()


def deleted_account_with_contact(http: requests.Session, org: OrgHandle) -> tuple[str, str]:
    account = rest(http, org, "POST", "sobjects/Account", json={"Name": "Binned"}).json()["id"]
    contact = rest(
        http, org, "POST", "sobjects/Contact", json={"LastName": "Kid", "AccountId": account}
    ).json()["id"]
    assert rest(http, org, "DELETE", f"sobjects/Account/{account}").status_code == 204
    assert rest(http, org, "GET", f"sobjects/Contact/{contact}").status_code == 404
    return account, contact


def test_undelete_restores_record_and_cascade_deleted_children(
    http: requests.Session, sfemu_org: OrgHandle
) -> None:
    account, contact = deleted_account_with_contact(http, sfemu_org)
    resp = soap(http, sfemu_org, undelete_body([account]))
    assert resp.status_code == 200, resp.text
    assert resp.headers["content-type"].startswith("text/xml")
    root = ElementTree.fromstring(resp.content)
    results = root.findall("s:Body/p:undeleteResponse/p:result", NS)
    assert [(r.findtext("p:id", namespaces=NS), r.findtext("p:success", namespaces=NS)) for r in results] == [
        (account, "true")
    ]
    limit = root.find("s:Header/p:LimitInfoHeader/p:limitInfo", NS)
    assert limit is not None and limit.findtext("p:type", namespaces=NS) == "API REQUESTS"
    assert int(limit.findtext("p:current", namespaces=NS)) >= 1
    assert rest(http, sfemu_org, "GET", f"sobjects/Account/{account}").json()["Name"] == "Binned"
    assert rest(http, sfemu_org, "GET", f"sobjects/Contact/{contact}").json()["AccountId"] == account


def test_undelete_reports_per_id_errors(http: requests.Session, sfemu_org: OrgHandle) -> None:
    account, _ = deleted_account_with_contact(http, sfemu_org)
    live = rest(http, sfemu_org, "POST", "sobjects/Account", json={"Name": "Alive"}).json()["id"]
    resp = soap(http, sfemu_org, undelete_body([live, account[:15], "001XXXXXXXXXXXXXXX"]))
    assert resp.status_code == 200, resp.text
    results = ElementTree.fromstring(resp.content).findall("s:Body/p:undeleteResponse/p:result", NS)
    assert len(results) == 3
    first, second, third = results
    assert first.findtext("p:success", namespaces=NS) == "false"
    assert first.findtext("p:errors/p:statusCode", namespaces=NS) == "UNDELETE_FAILED"
    assert first.find("p:id", NS).get("{http://www.w3.org/2001/XMLSchema-instance}nil") == "true"
    assert (second.findtext("p:id", namespaces=NS), second.findtext("p:success", namespaces=NS)) == (
        account,
        "true",
    )
    assert third.findtext("p:success", namespaces=NS) == "false"
    assert third.findtext("p:errors/p:statusCode", namespaces=NS)


def test_get_server_timestamp(http: requests.Session, sfemu_org: OrgHandle) -> None:
    resp = soap(http, sfemu_org, "<getServerTimestamp/>")
    assert resp.status_code == 200, resp.text
    stamp = ElementTree.fromstring(resp.content).findtext(
        "s:Body/p:getServerTimestampResponse/p:result/p:timestamp", namespaces=NS
    )
    assert stamp is not None and stamp.endswith("Z") and len(stamp) == 24
    when = datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
    assert abs((when - sfemu_org.org.now()).total_seconds()) < 60


def test_invalid_session_and_unknown_call_faults(http: requests.Session, sfemu_org: OrgHandle) -> None:
    resp = soap(http, sfemu_org, "<getServerTimestamp/>", token="00Dbogus!token")
    assert resp.status_code == 500
    assert "<faultcode>sf:INVALID_SESSION_ID</faultcode>" in resp.text
    resp = soap(http, sfemu_org, "<describeTabs/>")
    assert resp.status_code == 500 and "UNSUPPORTED_API_CALL" in resp.text


def test_soap_calls_are_metered_and_counted(http: requests.Session, sfemu_org: OrgHandle) -> None:
    sfemu_org.reset_calls()
    before, _ = sfemu_org.org.api_usage()
    soap(http, sfemu_org, "<getServerTimestamp/>")
    assert sfemu_org.org.api_usage()[0] == before + 1
    assert sfemu_org.calls() == {"soap": 1}


def _node() -> str | None:
    node = shutil.which("node")
    if node is None or not (JS_DIR / "node_modules" / "jsforce").is_dir():
        return None
    return node


JS_SCRIPT = """
import jsforce from 'jsforce';
const cfg = JSON.parse(process.env.SFEMU_JS_CONFIG);
const conn = new jsforce.Connection({instanceUrl: cfg.url, accessToken: cfg.token, version: cfg.version});
const out = {};
out.undelete = await conn.soap.undelete(cfg.ids);
out.timestamp = await conn.soap.getServerTimestamp();
console.log(JSON.stringify(out));
"""


def test_jsforce_soap_undelete_and_timestamp(
    http: requests.Session, sfemu_server: SfemuServer, sfemu_org: OrgHandle
) -> None:
    node = _node()
    assert node is not None, "node and jsforce are required: run `npm ci --prefix tests/sfemu/js`"
    account, contact = deleted_account_with_contact(http, sfemu_org)
    env = {
        **{k: v for k, v in os.environ.items() if "proxy" not in k.lower()},
        "NODE_EXTRA_CA_CERTS": str(sfemu_server.ca_path),
        "SFEMU_JS_CONFIG": json.dumps(
            {
                "url": sfemu_org.instance_url,
                "token": sfemu_org.access_token,
                "version": VERSION,
                "ids": [account, contact],
            }
        ),
    }
    proc = subprocess.run(
        [node, "--input-type=module", "-e", JS_SCRIPT],
        cwd=JS_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["undelete"][0] == {"errors": [], "id": account, "success": True}
    # the contact came back with its account, so undeleting it on its own fails
    assert (
        out["undelete"][1]["success"] is False
        and out["undelete"][1]["errors"][0]["statusCode"] == "UNDELETE_FAILED"
    )
    assert out["timestamp"]["timestamp"].endswith("Z")
    assert rest(http, sfemu_org, "GET", f"sobjects/Contact/{contact}").status_code == 200

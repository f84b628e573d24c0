"""Repeated slashes in a path are served like single ones (as Salesforce does).

``sf org login access-token --instance-url https://host/`` keeps the trailing slash and joins
``/services/data/…`` onto it, so every later call goes to ``//services/…``.
"""

from __future__ import annotations

import requests

from sfemu.testing import OrgHandle, SfemuServer

VERSION = "62.0"


def test_requests_sends_the_doubled_slash_unchanged() -> None:
    prepared = requests.Request("GET", "https://h:1//services/data/").prepare()
    assert prepared.path_url == "//services/data/"


def test_rest_bulk_oauth_and_soap_with_doubled_slashes(
    http: requests.Session, sfemu_server: SfemuServer, sfemu_org: OrgHandle
) -> None:
    base = sfemu_server.url + "/"  # what the CLI stored
    headers = {"Authorization": f"Bearer {sfemu_org.access_token}"}

    versions = http.get(f"{base}/services/data", timeout=10)
    assert versions.status_code == 200 and versions.json()[-1]["url"].startswith("/services/data/v")

    created = http.post(
        f"{base}/services/data/v{VERSION}//sobjects/Account",
        headers=headers,
        json={"Name": "Slash"},
        timeout=10,
    )
    assert created.status_code == 201, created.text
    query = http.get(
        f"{base}/services/data/v{VERSION}/query",
        headers=headers,
        params={"q": "SELECT Name FROM Account WHERE Name = 'Slash'"},
        timeout=10,
    )
    assert query.status_code == 200 and query.json()["totalSize"] == 1
    # nextRecordsUrl-style paths stay root-relative and single-slashed in answers
    assert query.json()["records"][0]["attributes"]["url"].startswith(f"/services/data/v{VERSION}/sobjects/")

    job = http.post(
        f"{base}/services/data/v{VERSION}/jobs/ingest",
        headers=headers,
        json={"object": "Account", "operation": "insert", "lineEnding": "LF"},
        timeout=10,
    )
    assert job.status_code == 200, job.text
    assert job.json()["contentUrl"] == f"services/data/v{VERSION}/jobs/ingest/{job.json()['id']}/batches"

    info = http.get(f"{base}/services/oauth2/userinfo", headers=headers, timeout=10)
    assert info.status_code == 200 and info.json()["organization_id"] == sfemu_org.org_id

    app = sfemu_server.create_app(sfemu_org, "Slashes")
    token = http.post(
        f"{base}/services/oauth2/token",
        data={
            "grant_type": "password",
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "username": sfemu_org.username,
            "password": sfemu_org.login_password,
        },
        timeout=10,
    )
    assert token.status_code == 200, token.text

    soap = http.post(
        f"{base}/services/Soap/u/{VERSION}",
        headers={"content-type": "text/xml", "SOAPAction": "login"},
        data=f"""<?xml version="1.0" encoding="utf-8" ?>
<env:Envelope xmlns:env="http://schemas.xmlsoap.org/soap/envelope/"><env:Body>
<n1:login xmlns:n1="urn:partner.soap.sforce.com"><n1:username>{sfemu_org.username}</n1:username>
<n1:password>{sfemu_org.login_password}</n1:password></n1:login></env:Body></env:Envelope>""",
        timeout=10,
    )
    assert soap.status_code == 200, soap.text
    assert "<sessionId>" in soap.text

    unknown = http.get(f"{base}/services/data/v{VERSION}//nothing//here", headers=headers, timeout=10)
    assert unknown.status_code == 404

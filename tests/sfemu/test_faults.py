"""Fault injection and call counters: fixture methods, the local control endpoint and the CLI,
seen through simple-salesforce and raw HTTP."""

from __future__ import annotations

import json
import stat
import time
from pathlib import Path

import pytest
import requests
from simple_salesforce import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceGeneralError,
    SalesforceMalformedRequest,
    SalesforceRefusedRequest,
)

from sfemu import cli
from sfemu.server.control import TOKEN_FILE
from sfemu.testing import OrgHandle, SfemuServer, start_server

VERSION = "62.0"


def client(server: SfemuServer, org: OrgHandle) -> Salesforce:
    return Salesforce(
        instance_url=org.instance_url,
        session_id=org.access_token,
        session=server.http_session(),
        version=VERSION,
    )


@pytest.fixture
def sf(sfemu_server: SfemuServer, sfemu_org: OrgHandle) -> Salesforce:
    return client(sfemu_server, sfemu_org)


def test_request_limit(sf: Salesforce, sfemu_org: OrgHandle) -> None:
    used, _ = sfemu_org.org.api_usage()
    status = sfemu_org.set_faults(request_limit=used + 3)
    assert status["faults"]["request_limit"] == used + 3
    limits = sf.limits()  # call used + 1
    assert limits["DailyApiRequests"]["Max"] == used + 3
    sf.query("SELECT Id FROM Account")  # used + 2
    sf.query("SELECT Id FROM Account")  # used + 3: the allocation is spent
    with pytest.raises(SalesforceRefusedRequest) as refused:
        sf.query("SELECT Id FROM Account")
    assert refused.value.status == 403
    assert refused.value.content == [
        {"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}
    ]
    assert sf.api_usage["api-usage"].used == used + 3 and sf.api_usage["api-usage"].total == used + 3
    sfemu_org.clear_faults()
    sf.query("SELECT Id FROM Account")


def test_maintenance_window(sfemu_server: SfemuServer, sf: Salesforce, sfemu_org: OrgHandle) -> None:
    sfemu_org.set_faults(maintenance_seconds=120)
    with pytest.raises(SalesforceGeneralError) as down:
        sf.query("SELECT Id FROM Account")
    assert down.value.status == 503
    assert down.value.content == [{"message": "Server Unavailable", "errorCode": "SERVER_UNAVAILABLE"}]
    http = sfemu_server.http_session()
    raw = http.get(
        f"{sfemu_org.instance_url}/services/data/v{VERSION}/limits",
        headers={"Authorization": f"Bearer {sfemu_org.access_token}"},
    )
    assert raw.status_code == 503 and 0 < int(raw.headers["Retry-After"]) <= 120
    soap = http.post(
        f"{sfemu_org.instance_url}/services/Soap/u/{VERSION}",
        data=(
            '<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/">'
            f"<soapenv:Header><SessionHeader><sessionId>{sfemu_org.access_token}</sessionId></SessionHeader>"
            "</soapenv:Header><soapenv:Body><getServerTimestamp/></soapenv:Body></soapenv:Envelope>"
        ),
        headers={"Content-Type": "text/xml", "SOAPAction": '""'},
    )
    assert soap.status_code == 500 and "<faultcode>sf:SERVER_UNAVAILABLE</faultcode>" in soap.text
    sfemu_server.clock.advance(seconds=121)  # the window is on the org clock
    assert sf.query("SELECT Id FROM Account")["done"] is True


def test_expire_sessions(sf: Salesforce, sfemu_org: OrgHandle) -> None:
    sf.query("SELECT Id FROM Account")
    sfemu_org.set_faults(expire_sessions=True)
    with pytest.raises(SalesforceExpiredSession) as expired:
        sf.query("SELECT Id FROM Account")
    assert expired.value.content[0]["errorCode"] == "INVALID_SESSION_ID"


def _collection_outcomes(sf: Salesforce, n: int) -> list[str | None]:
    records = [{"attributes": {"type": "Account"}, "Name": f"Lock {i}"} for i in range(n)]
    results = sf.restful("composite/sobjects", method="POST", json={"allOrNone": False, "records": records})
    return [None if r["success"] else r["errors"][0]["statusCode"] for r in results]


def test_row_lock_contention_is_deterministic(sf: Salesforce, sfemu_org: OrgHandle) -> None:
    sfemu_org.set_faults(lock_fraction=0.3, lock_seed=7)
    first = _collection_outcomes(sf, 40)
    assert set(first) == {None, "UNABLE_TO_LOCK_ROW"}
    assert 3 <= first.count("UNABLE_TO_LOCK_ROW") <= 25
    sfemu_org.set_faults(lock_fraction=0.3, lock_seed=7)  # same seed, sequence restarts
    assert _collection_outcomes(sf, 40) == first
    sfemu_org.set_faults(lock_fraction=0.3, lock_seed=8)
    assert _collection_outcomes(sf, 40) != first
    results = sf.restful(
        "composite/sobjects",
        method="POST",
        json={"records": [{"attributes": {"type": "Account"}, "Name": "x"}]},
    )
    if not results[0]["success"]:
        assert results[0]["errors"][0] == {
            "statusCode": "UNABLE_TO_LOCK_ROW",
            "message": "unable to obtain exclusive access to this record or 1 records",
            "fields": [],
        }
    sfemu_org.set_faults(lock_fraction=1.0)
    with pytest.raises(SalesforceMalformedRequest) as locked:
        sf.Account.create({"Name": "Single"})
    assert locked.value.status == 400
    assert locked.value.content[0]["errorCode"] == "UNABLE_TO_LOCK_ROW"
    sfemu_org.clear_faults()
    assert sf.Account.create({"Name": "Single"})["success"] is True


def test_added_latency(sf: Salesforce, sfemu_org: OrgHandle) -> None:
    sfemu_org.set_faults(latency_ms=300)
    started = time.monotonic()
    sf.query("SELECT Id FROM Account")
    assert time.monotonic() - started >= 0.3
    assert sfemu_org.fault_status()["faults"]["latency_ms"] == 300


def test_call_counter_by_endpoint(sf: Salesforce, sfemu_org: OrgHandle) -> None:
    sfemu_org.reset_calls()
    account = sf.Account.create({"Name": "Counted"})["id"]
    sf.Account.get(account)
    sf.query("SELECT Id FROM Account")
    sf.query_all("SELECT Id FROM Account")
    sf.restful(
        "composite/sobjects",
        method="POST",
        json={"records": [{"attributes": {"type": "Account"}, "Name": "c"}]},
    )
    sf.restful(
        "composite",
        method="POST",
        json={
            "compositeRequest": [
                {"method": "GET", "url": f"/services/data/v{VERSION}/limits", "referenceId": "r"}
            ]
        },
    )
    sf.limits()
    assert sfemu_org.calls() == {"collections": 1, "composite": 1, "limits": 1, "query": 2, "sobjects": 2}
    assert sfemu_org.reset_calls()["query"] == 2
    assert sfemu_org.calls() == {}


def control(server: SfemuServer, method: str, path: str, token: str | None, **kw) -> requests.Response:
    headers = {} if token is None else {"X-Sfemu-Control-Token": token}
    return server.http_session().request(method, f"{server.url}/_sfemu/orgs/{path}", headers=headers, **kw)


def test_control_endpoint(sfemu_server: SfemuServer, sf: Salesforce, sfemu_org: OrgHandle) -> None:
    token = sfemu_server.control_token
    assert control(sfemu_server, "GET", f"{sfemu_org.name}/faults", None).status_code == 401
    assert control(sfemu_server, "GET", f"{sfemu_org.name}/faults", token + "x").status_code == 401
    assert control(sfemu_server, "GET", "no-such-org/faults", token).status_code == 404
    resp = control(sfemu_server, "POST", f"{sfemu_org.name}/faults", token, json={"lock_fraction": 2})
    assert resp.status_code == 400
    resp = control(
        sfemu_server, "POST", f"{sfemu_org.org_id}/faults", token, json={"maintenance_seconds": 30}
    )
    assert resp.status_code == 200 and resp.json()["faults"]["maintenance_seconds_left"] > 0
    with pytest.raises(SalesforceGeneralError):
        sf.query("SELECT Id FROM Account")
    resp = control(sfemu_server, "DELETE", f"{sfemu_org.name}/faults", token)
    assert resp.json()["faults"]["maintenance_until"] is None
    sf.query("SELECT Id FROM Account")
    calls = control(sfemu_server, "GET", f"{sfemu_org.name}/calls", token).json()
    assert calls["query"] == 2
    assert control(sfemu_server, "DELETE", f"{sfemu_org.name}/calls", token).json() == calls
    assert control(sfemu_server, "GET", f"{sfemu_org.name}/calls", token).json() == {}


def test_cli_against_a_running_server(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    data_dir = tmp_path / "data"
    server = start_server(data_dir, tls_dir=tmp_path / "tls")
    try:
        token_file = data_dir / TOKEN_FILE
        assert stat.S_IMODE(token_file.stat().st_mode) == 0o600
        assert token_file.read_text() == server.control_token
        org = server.create_org("cli-faults")
        sf = client(server, org)
        sf.query("SELECT Id FROM Account")

        assert cli.main(["fault", "cli-faults", "--data-dir", str(data_dir), "--maintenance", "60"]) == 0
        status = json.loads(capsys.readouterr().out)
        assert status["faults"]["maintenance_until"] is not None
        with pytest.raises(SalesforceGeneralError) as down:
            sf.query("SELECT Id FROM Account")
        assert down.value.status == 503

        used, _ = org.org.api_usage()
        args = ["fault", "cli-faults", "--data-dir", str(data_dir), "--clear", "--request-limit", str(used)]
        assert cli.main(args) == 0
        capsys.readouterr()
        with pytest.raises(SalesforceRefusedRequest):
            sf.query("SELECT Id FROM Account")

        assert (
            cli.main(["fault", "cli-faults", "--data-dir", str(data_dir), "--clear", "--expire-sessions"])
            == 0
        )
        capsys.readouterr()
        with pytest.raises(SalesforceExpiredSession):
            sf.query("SELECT Id FROM Account")

        assert cli.main(["calls", "cli-faults", "--data-dir", str(data_dir), "--json", "--reset"]) == 0
        # the call with the expired session never reached the org, so it is not counted
        assert json.loads(capsys.readouterr().out) == {"query": 3}
        assert cli.main(["calls", "cli-faults", "--data-dir", str(data_dir), "--json"]) == 0
        assert json.loads(capsys.readouterr().out) == {}
    finally:
        server.stop()


def test_faults_persist_in_the_data_dir(tmp_path: Path) -> None:
    server = start_server(tmp_path / "data", tls_dir=tmp_path / "tls")
    try:
        org = server.create_org("persisted")
        org.set_faults(lock_fraction=0.25, lock_seed=3, latency_ms=5, request_limit=999)
    finally:
        server.stop()
    again = start_server(tmp_path / "data", tls_dir=tmp_path / "tls")
    try:
        faults = again.instance.faults.get(org.org_id)
        assert (faults.lock_fraction, faults.lock_seed, faults.latency_ms, faults.request_limit) == (
            0.25,
            3,
            5,
            999,
        )
        assert again.instance.org(org.org_id).api_limit == 999
    finally:
        again.stop()

"""Bulk API 2.0 (``/jobs``) and Bulk API v1 (``/services/async``) requests pass the fault gate:
each is counted in the org's call counters (``bulk`` / ``bulk_v1``), waits the added latency, and
Bulk 2.0 answers a maintenance window as every REST call does."""

from __future__ import annotations

import json
import time

import pytest
import requests

from sfemu.testing import OrgHandle, SfemuServer

VERSION = "62.0"


@pytest.fixture
def http(sfemu_server: SfemuServer) -> requests.Session:
    return sfemu_server.http_session()


def _bulk2(org: OrgHandle) -> tuple[str, dict[str, str]]:
    return (
        f"{org.instance_url}/services/data/v{VERSION}/jobs/ingest",
        {"Authorization": f"Bearer {org.access_token}", "Content-Type": "application/json"},
    )


def _v1(org: OrgHandle) -> tuple[str, dict[str, str]]:
    return (
        f"{org.instance_url}/services/async/{VERSION}/job",
        {"X-SFDC-Session": org.access_token, "Content-Type": "application/json"},
    )


def test_bulk2_calls_are_counted_under_bulk(http: requests.Session, sfemu_org: OrgHandle) -> None:
    sfemu_org.reset_calls()
    url, headers = _bulk2(sfemu_org)
    job = http.post(url, headers=headers, json={"object": "Account", "operation": "insert"}).json()
    upload = http.put(
        f"{url}/{job['id']}/batches",
        headers={**headers, "Content-Type": "text/csv"},
        data="Name\nCounted\n",
    )
    assert upload.status_code == 201
    assert http.get(f"{url}/{job['id']}", headers=headers).status_code == 200
    assert http.get(f"{url}/bogus", headers=headers).status_code == 404  # refused calls count too
    assert sfemu_org.calls() == {"bulk": 4}


def test_bulk_v1_calls_are_counted_under_bulk_v1(http: requests.Session, sfemu_org: OrgHandle) -> None:
    sfemu_org.reset_calls()
    url, headers = _v1(sfemu_org)
    body = {"operation": "insert", "object": "Account", "contentType": "JSON"}
    job = http.post(url, headers=headers, data=json.dumps(body)).json()
    batch = http.post(f"{url}/{job['id']}/batch", headers=headers, data=json.dumps([{"Name": "Counted"}]))
    assert batch.status_code == 201
    assert http.get(f"{url}/{job['id']}/batch/{batch.json()['id']}", headers=headers).status_code == 200
    assert http.get(f"{url}/750000000000000", headers=headers).status_code == 400
    assert sfemu_org.calls() == {"bulk_v1": 4}


def test_bulk2_maintenance_is_server_unavailable(http: requests.Session, sfemu_org: OrgHandle) -> None:
    url, headers = _bulk2(sfemu_org)
    sfemu_org.set_faults(maintenance_seconds=60)
    try:
        resp = http.post(url, headers=headers, json={"object": "Account", "operation": "insert"})
        assert resp.status_code == 503
        assert resp.json() == [{"message": "Server Unavailable", "errorCode": "SERVER_UNAVAILABLE"}]
        assert 0 < int(resp.headers["Retry-After"]) <= 60
    finally:
        sfemu_org.clear_faults()
    assert http.get(url, headers=headers).status_code == 200


def test_bulk_latency_applies_to_both_apis(http: requests.Session, sfemu_org: OrgHandle) -> None:
    sfemu_org.set_faults(latency_ms=300)
    try:
        for url, headers in (_bulk2(sfemu_org), _v1(sfemu_org)):
            started = time.monotonic()
            http.get(f"{url}/750000000000000", headers=headers)
            assert time.monotonic() - started >= 0.3
    finally:
        sfemu_org.clear_faults()

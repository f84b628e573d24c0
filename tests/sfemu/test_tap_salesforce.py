"""The unmodified Singer tap ``tap-salesforce`` (PyPI, in its own venv ``.venv-tap``: ``make tap-deps``)
against sfemu: discovery, then a BULK sync (Bulk API v1 ``queryAll`` CSV jobs) and a REST sync of
Account and Contact. The tap logs in with a real refresh-token grant; ``tests/sfemu/tap/run_tap.py``
only points its hard-coded login host at sfemu and shortens its batch polling sleep. Every emitted
RECORD is compared with the org's rows read back over REST, and the final STATE is checked.

The seeded text is ASCII: Bulk v1 CSV results are ``text/csv`` without a charset (as Salesforce
sends them; salesforce-bulk compares the header to exactly ``text/csv``), and the tap decodes them
with ``requests``' default for text, ISO-8859-1, so non-ASCII text would reach it garbled, as it
does from Salesforce.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from sfemu.testing import OrgHandle, SfemuServer, start_server

ROOT = Path(__file__).resolve().parents[2]
TAP_PYTHON = ROOT / ".venv-tap" / "bin" / "python"
WRAPPER = Path(__file__).parent / "tap" / "run_tap.py"
START_DATE = "2000-01-01T00:00:00Z"
STREAMS = ("Account", "Contact")
ACCOUNTS = 12
VERSION = "61.0"  # the tap's API_VERSION


def _require_tap() -> None:
    if TAP_PYTHON.exists():
        return
    message = f"{TAP_PYTHON.relative_to(ROOT)} is absent: run `make tap-deps`"
    pytest.fail(message)  # `make test` installs it: missing is a failure, as for jsforce


class Tap:
    def __init__(self, server: SfemuServer, workdir: Path, config: dict[str, Any]) -> None:
        self.server = server
        self.workdir = workdir
        self.config_path = workdir / "config.json"
        self.config_path.write_text(json.dumps(config))

    def run(self, *args: str, config: dict[str, Any] | None = None) -> str:
        config_path = self.config_path
        if config is not None:
            config_path = self.workdir / "config-alt.json"
            config_path.write_text(json.dumps(config))
        env = {
            **os.environ,
            "SFEMU_URL": self.server.url,
            "REQUESTS_CA_BUNDLE": str(self.server.ca_path),
        }
        for proxy in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
            env.pop(proxy, None)
        proc = subprocess.run(
            [str(TAP_PYTHON), str(WRAPPER), "--config", str(config_path), *args],
            cwd=self.workdir,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, f"tap failed ({proc.returncode}):\n{proc.stderr[-6000:]}"
        return proc.stdout


def _seed(org: OrgHandle) -> None:
    domain, user = org.org, org.user_id
    for i in range(ACCOUNTS):
        account = domain.create(
            "Account",
            {
                "Name": f"Tap Account {i:02d}",
                "Type": "Customer - Direct" if i % 2 else "Prospect",
                "Industry": "Energy" if i % 3 else None,
                "AnnualRevenue": 1000.5 * i,
                "NumberOfEmployees": i * 10,
                "Description": f'Line one, "quoted"\nline two {i}' if i % 4 == 0 else None,
                "Phone": f"(555) 010-{i:04d}",
                "Website": f"https://tap{i}.example.com",
                "BillingCity": "Springfield",
                "BillingLatitude": 47.5 if i == 3 else None,
            },
            user_id=user,
        )
        for j in range(2 if i < 5 else 0):
            domain.create(
                "Contact",
                {
                    "AccountId": account,
                    "FirstName": f"First{j}",
                    "LastName": f"Tap Contact {i}-{j}",
                    "Email": f"c{i}.{j}@example.com",
                    "Birthdate": f"19{70 + i}-0{j + 1}-1{j}",
                },
                user_id=user,
            )


@pytest.fixture(scope="module")
def sfemu_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SfemuServer]:
    """A server of this module's own, its clock on the wall clock. tap-salesforce bookmarks only
    SystemModstamps up to its own clock (`now`), and earlier tests move the shared server's clock
    ahead: its records would then never be bookmarked."""
    server = start_server(tls_dir=tmp_path_factory.mktemp("tap-sfemu-tls"))
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module")
def org(sfemu_server: SfemuServer) -> OrgHandle:
    handle = sfemu_server.create_org("tap-salesforce")
    _seed(handle)
    return handle


@pytest.fixture(scope="module")
def tap(sfemu_server: SfemuServer, org: OrgHandle, tmp_path_factory: pytest.TempPathFactory) -> Tap:
    _require_tap()
    app = sfemu_server.create_app(org, "tap-salesforce")
    refresh = sfemu_server.state.auth.issue_refresh_token(
        org.org_id, org.user_id, app.client_id, "api refresh_token"
    )
    config = {
        "refresh_token": refresh,
        "client_id": app.client_id,
        "client_secret": app.client_secret,
        "start_date": START_DATE,
        "api_type": "BULK",
        "select_fields_by_default": True,
    }
    return Tap(sfemu_server, tmp_path_factory.mktemp("tap-salesforce"), config)


@pytest.fixture(scope="module")
def catalog(tap: Tap) -> dict[str, Any]:
    return json.loads(tap.run("--discover"))


def _selected(catalog: dict[str, Any]) -> dict[str, Any]:
    streams = []
    for entry in catalog["streams"]:
        if entry["stream"] not in STREAMS:
            continue
        entry = json.loads(json.dumps(entry))
        for item in entry["metadata"]:
            if item["breadcrumb"] == []:
                item["metadata"]["selected"] = True
                item["metadata"]["replication-method"] = "INCREMENTAL"
                item["metadata"]["replication-key"] = "SystemModstamp"
        streams.append(entry)
    return {"streams": streams}


def _messages(stdout: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stdout.splitlines() if line.strip()]


@pytest.fixture(scope="module")
def selected(tap: Tap, catalog: dict[str, Any]) -> Path:
    path = tap.workdir / "catalog.json"
    path.write_text(json.dumps(_selected(catalog)))
    return path


@pytest.fixture(scope="module")
def bulk_sync(tap: Tap, selected: Path) -> list[dict[str, Any]]:
    return _messages(tap.run("--properties", str(selected)))


@pytest.fixture(scope="module")
def rest_sync(tap: Tap, selected: Path) -> list[dict[str, Any]]:
    config = {**json.loads(tap.config_path.read_text()), "api_type": "REST"}
    return _messages(tap.run("--properties", str(selected), config=config))


def _org_rows(server: SfemuServer, org: OrgHandle, stream: str, fields: list[str]) -> dict[str, dict]:
    http = server.http_session()
    url = f"{org.instance_url}/services/data/v{VERSION}/queryAll"
    resp = http.get(
        url,
        params={"q": f"SELECT {', '.join(fields)} FROM {stream}"},
        headers={"Authorization": f"Bearer {org.access_token}"},
    )
    assert resp.status_code == 200, resp.text
    body = resp.json()
    assert body["done"]
    return {r["Id"]: r for r in body["records"]}


def _describe(server: SfemuServer, org: OrgHandle, stream: str) -> dict[str, str]:
    http = server.http_session()
    url = f"{org.instance_url}/services/data/v{VERSION}/sobjects/{stream}/describe"
    resp = http.get(url, headers={"Authorization": f"Bearer {org.access_token}"})
    return {f["name"]: f["type"] for f in resp.json()["fields"]}


def _expected(value: Any, sf_type: str) -> Any:
    """The org's REST value as the tap emits it after its schema transform."""
    if value is None or value == "":
        return None
    if sf_type == "datetime":
        moment = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%f%z").astimezone(UTC)
        return moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    if sf_type == "date":
        return f"{value}T00:00:00.000000Z"
    if sf_type in ("double", "currency", "percent"):
        return float(value)
    return value


def _check_records(server: SfemuServer, org: OrgHandle, messages: list[dict[str, Any]]) -> None:
    schemas = {m["stream"]: m for m in messages if m["type"] == "SCHEMA"}
    assert set(schemas) == set(STREAMS)
    for stream in STREAMS:
        records = [m["record"] for m in messages if m["type"] == "RECORD" and m["stream"] == stream]
        fields = sorted(records[0])
        assert "Id" in fields and "SystemModstamp" in fields
        assert not any(f.endswith("Address") and f != "EmailBouncedReason" for f in fields)
        types = _describe(server, org, stream)
        rows = _org_rows(server, org, stream, fields)
        assert sorted(r["Id"] for r in records) == sorted(rows)
        assert len(records) == (ACCOUNTS if stream == "Account" else 10)
        for record in records:
            assert sorted(record) == fields
            row = rows[record["Id"]]
            want = {f: _expected(row[f], types[f]) for f in fields}
            assert record == want, stream
        stamps = [r["SystemModstamp"] for r in records]
        assert stamps == sorted(stamps)  # ORDER BY SystemModstamp ASC


def _final_state(messages: list[dict[str, Any]]) -> dict[str, Any]:
    states = [m["value"] for m in messages if m["type"] == "STATE"]
    assert states
    return states[-1]


def test_discovery_lists_the_orgs_objects(catalog: dict[str, Any]) -> None:
    streams = {entry["stream"]: entry for entry in catalog["streams"]}
    assert set(STREAMS) <= set(streams)
    account = streams["Account"]
    root = next(m["metadata"] for m in account["metadata"] if m["breadcrumb"] == [])
    assert root["table-key-properties"] == ["Id"]
    assert root["valid-replication-keys"] == ["SystemModstamp"]
    billing = next(
        m["metadata"] for m in account["metadata"] if m["breadcrumb"] == ["properties", "BillingAddress"]
    )
    assert billing["inclusion"] == "unsupported"  # compound fields are not Bulk-queryable
    assert account["schema"]["properties"]["NumberOfEmployees"] == {"type": ["null", "integer"]}


def test_bulk_sync_emits_every_record_with_the_orgs_values(
    sfemu_server: SfemuServer, org: OrgHandle, bulk_sync: list[dict[str, Any]]
) -> None:
    _check_records(sfemu_server, org, bulk_sync)
    versions = [m for m in bulk_sync if m["type"] == "ACTIVATE_VERSION"]
    assert {m["stream"] for m in versions} == set(STREAMS)


def test_bulk_sync_state_bookmarks_the_highest_system_modstamp(bulk_sync: list[dict[str, Any]]) -> None:
    state = _final_state(bulk_sync)
    assert state["current_stream"] is None
    for stream in STREAMS:
        records = [m["record"] for m in bulk_sync if m["type"] == "RECORD" and m["stream"] == stream]
        bookmark = state["bookmarks"][stream]
        assert bookmark["SystemModstamp"] == max(r["SystemModstamp"] for r in records)
        assert "JobID" not in bookmark and "BatchIDs" not in bookmark
        [activate] = [m for m in bulk_sync if m["type"] == "ACTIVATE_VERSION" and m["stream"] == stream]
        assert state["versions"][stream] == activate["version"]


def test_bulk_sync_used_bulk_v1_query_jobs(sfemu_server: SfemuServer, org: OrgHandle, bulk_sync) -> None:
    from sfemu.bulk import v1

    service = v1.v1_service_for(sfemu_server.instance)
    rows = service.store.store.conn.execute(
        "SELECT data FROM bulk_v1_jobs WHERE org_id=?", (org.org_id,)
    ).fetchall()
    jobs = [json.loads(r[0]) for r in rows]
    assert {(j["operation"], j["object"], j["content_type"], j["state"]) for j in jobs} >= {
        ("queryAll", "Account", "CSV", "Closed"),
        ("queryAll", "Contact", "CSV", "Closed"),
    }
    assert org.calls()["bulk_v1"] >= 2 * 6  # per stream: create, batch, close, poll, result list, result


def test_rest_sync_emits_the_same_records(
    sfemu_server: SfemuServer, org: OrgHandle, bulk_sync, rest_sync: list[dict[str, Any]]
) -> None:
    _check_records(sfemu_server, org, rest_sync)

    def by_id(messages: list[dict[str, Any]]) -> dict[str, Any]:
        return {m["record"]["Id"]: m["record"] for m in messages if m["type"] == "RECORD"}

    bulk_records, rest_records = by_id(bulk_sync), by_id(rest_sync)
    assert bulk_records.keys() == rest_records.keys()
    # REST reads compound fields too; every field the Bulk sync has carries the same value.
    for rid, record in bulk_records.items():
        assert {k: rest_records[rid].get(k) for k in record} == record

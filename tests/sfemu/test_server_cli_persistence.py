"""The CLI (``python -m sfemu``) and file-mode persistence across a server restart."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from sfemu.cli import main
from sfemu.server.runner import build_state

ROOT = Path(__file__).resolve().parents[2]


def run_cli(capsys, *args: str) -> dict:
    assert main([*args, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def serve(data_dir: Path, port: int) -> Iterator[tuple[str, requests.Session]]:
    """``python -m sfemu serve`` in a subprocess; yields its URL and a trusting session."""
    proc = subprocess.Popen(
        [sys.executable, "-m", "sfemu", "serve", "--port", str(port), "--data-dir", str(data_dir), "--json"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=os.environ | {"PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout is not None
        lines = []
        while not lines or lines[-1] != "}":
            line = proc.stdout.readline()
            assert line, proc.stderr.read() if proc.stderr else "no output"
            lines.append(line.rstrip("\n"))
        info = json.loads("\n".join(lines))
        http = requests.Session()
        http.verify = info["ca_path"]
        http.trust_env = False
        deadline = time.monotonic() + 30
        while True:
            try:
                http.get(info["url"] + "/services/data/", timeout=2)
                break
            except requests.ConnectionError:
                assert time.monotonic() < deadline, "server did not come up"
                time.sleep(0.1)
        yield info["url"], http
        http.close()  # an idle TLS keep-alive connection would slow the graceful shutdown
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def test_cli_org_and_app_create(tmp_path: Path, capsys) -> None:
    org = run_cli(capsys, "org", "create", "acme", "--data-dir", str(tmp_path))
    assert set(org) >= {
        "org_id",
        "username",
        "password",
        "security_token",
        "access_token",
        "instance_url",
        "user_id",
    }
    assert org["org_id"].startswith("00D") and len(org["org_id"]) == 18
    assert org["access_token"].startswith(org["org_id"][:15] + "!")
    app = run_cli(
        capsys,
        "app",
        "create",
        "Sync",
        "--org",
        "acme",
        "--callback",
        "http://localhost/cb",
        "--data-dir",
        str(tmp_path),
    )
    assert app["client_id"].startswith("3MVG9")
    assert len(app["client_secret"]) == 64
    assert main(["org", "create", "plain", "--data-dir", str(tmp_path)]) == 0
    assert "security token" in capsys.readouterr().out


def test_cli_seed(tmp_path: Path, capsys) -> None:
    run_cli(capsys, "org", "create", "seeded", "--data-dir", str(tmp_path))
    summary = run_cli(
        capsys,
        "seed",
        "seeded",
        "--profile",
        "demo",
        "--accounts",
        "12",
        "--data-dir",
        str(tmp_path),
    )
    assert summary["created_Account"] == 12
    assert summary["users"]


def test_file_mode_survives_a_restart(tmp_path: Path, capsys) -> None:
    data_dir = tmp_path / "sfemu"
    org = run_cli(capsys, "org", "create", "durable", "--data-dir", str(data_dir))
    app = run_cli(capsys, "app", "create", "App", "--org", "durable", "--data-dir", str(data_dir))
    headers = {"Authorization": f"Bearer {org['access_token']}"}
    port = free_port()
    with serve(data_dir, port) as (url, http):
        created = http.post(
            f"{url}/services/data/v62.0/sobjects/Account",
            headers=headers,
            json={"Name": "Survivor"},
            timeout=10,
        )
        assert created.status_code == 201, created.text
        record_id = created.json()["id"]
        ca_before = (data_dir / "tls" / "ca.pem").read_bytes()
    with serve(data_dir, port) as (url, http):
        assert (data_dir / "tls" / "ca.pem").read_bytes() == ca_before
        got = http.get(f"{url}/services/data/v62.0/sobjects/Account/{record_id}", headers=headers, timeout=10)
        assert got.status_code == 200
        assert got.json()["Name"] == "Survivor"
        token = password_login(http, url, app, org)
        assert token.status_code == 200


def password_login(http, url: str, app: dict, org: dict):
    """The OAuth password grant with an app and an org the CLI made."""
    return http.post(
        f"{url}/services/oauth2/token",
        timeout=10,
        data={
            "grant_type": "password",
            "client_id": app["client_id"],
            "client_secret": app["client_secret"],
            "username": org["username"],
            "password": org["password"] + org["security_token"],
        },
    )


def test_cli_changes_reach_a_running_server_at_once(tmp_path: Path, capsys) -> None:
    """Orgs, apps and faults made by the CLI while ``serve`` runs work without a restart."""
    data_dir = tmp_path / "sfemu"
    run_cli(capsys, "org", "create", "early", "--data-dir", str(data_dir))  # the server loads this one
    with serve(data_dir, free_port()) as (url, http):
        org = run_cli(capsys, "org", "create", "late", "--data-dir", str(data_dir))
        assert org["instance_url"] == url  # the running server's URL, not the default port
        headers = {"Authorization": f"Bearer {org['access_token']}"}
        created = http.post(
            f"{url}/services/data/v62.0/sobjects/Account", headers=headers, json={"Name": "X"}, timeout=10
        )
        assert created.status_code == 201, created.text
        info = http.get(f"{url}/services/oauth2/userinfo", headers=headers, timeout=10)
        assert info.status_code == 200, info.text
        assert info.json()["organization_id"] == org["org_id"]
        app = run_cli(capsys, "app", "create", "Sync", "--org", "late", "--data-dir", str(data_dir))
        login = password_login(http, url, app, org)
        assert login.status_code == 200, login.text
        assert login.json()["instance_url"] == url
        run_cli(capsys, "fault", "late", "--maintenance", "60", "--data-dir", str(data_dir))
        down = http.get(f"{url}/services/data/v62.0/limits", headers=headers, timeout=10)
        assert down.status_code == 503
        assert down.json()[0]["errorCode"] == "SERVER_UNAVAILABLE"
        with pytest.raises(SystemExit, match="already exists"):
            main(["org", "create", "LATE", "--data-dir", str(data_dir)])
    # the server is gone: its record is removed, so the CLI falls back to the default URL
    assert run_cli(capsys, "org", "create", "after", "--data-dir", str(data_dir))["instance_url"] == (
        "https://127.0.0.1:8700"
    )


def test_a_dead_servers_record_is_ignored(tmp_path: Path, capsys) -> None:
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True
    )
    (tmp_path / "server.json").write_text(json.dumps({"url": "https://127.0.0.1:1", "pid": int(proc.stdout)}))
    org = run_cli(capsys, "org", "create", "x", "--data-dir", str(tmp_path))
    assert org["instance_url"] == "https://127.0.0.1:8700"
    org = run_cli(capsys, "org", "create", "y", "--data-dir", str(tmp_path), "--instance-url", "https://h:1")
    assert org["instance_url"] == "https://h:1"


def test_cli_org_create_with_audit_fields_on_create(tmp_path: Path, capsys) -> None:
    """`--audit-fields-on-create` is the org's "Set Audit Fields upon Record Creation": its
    describe then says CreatedDate is createable (off by default, as in Salesforce)."""
    run_cli(capsys, "org", "create", "audited", "--audit-fields-on-create", "--data-dir", str(tmp_path))
    run_cli(capsys, "org", "create", "plain", "--data-dir", str(tmp_path))
    instance = build_state(tmp_path).instance

    def created_date_createable(name: str) -> bool:
        fields = instance.org_by_name(name).describe("Account")["fields"]
        return next(f for f in fields if f["name"] == "CreatedDate")["createable"]

    assert created_date_createable("audited") is True
    assert created_date_createable("plain") is False

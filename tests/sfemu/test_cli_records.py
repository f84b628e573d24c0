"""`python -m sfemu query|record` change and read an org's records on a data dir."""

import json
import subprocess
import sys


def sfemu(data_dir, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "sfemu", *args, "--data-dir", str(data_dir)],
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_create_update_delete_undelete_and_query(tmp_path):
    assert sfemu(tmp_path, "org", "create", "acme").returncode == 0
    created = json.loads(sfemu(tmp_path, "record", "create", "acme", "Account", "Name=Hello").stdout)
    record_id = created["id"]
    assert sfemu(tmp_path, "record", "update", "acme", "Account", record_id, "Name=World").returncode == 0
    rows = json.loads(sfemu(tmp_path, "query", "acme", "SELECT Name FROM Account").stdout)["records"]
    assert [r["Name"] for r in rows] == ["World"]
    assert sfemu(tmp_path, "record", "delete", "acme", "Account", record_id).returncode == 0
    assert json.loads(sfemu(tmp_path, "query", "acme", "SELECT Id FROM Account").stdout)["totalSize"] == 0
    deleted = json.loads(
        sfemu(tmp_path, "query", "acme", "SELECT Id, IsDeleted FROM Account", "--all-rows").stdout
    )
    assert deleted["records"][0]["IsDeleted"] is True
    assert sfemu(tmp_path, "record", "undelete", "acme", "Account", record_id).returncode == 0
    assert json.loads(sfemu(tmp_path, "query", "acme", "SELECT Id FROM Account").stdout)["totalSize"] == 1


def test_salesforce_errors_are_reported_plainly(tmp_path):
    sfemu(tmp_path, "org", "create", "acme")
    failed = sfemu(tmp_path, "record", "create", "acme", "Account", "Industry=Banking")
    assert (
        failed.returncode != 0
        and "REQUIRED_FIELD_MISSING" in failed.stderr
        and "Traceback" not in failed.stderr
    )
    bad = sfemu(tmp_path, "record", "create", "acme", "Account", "NameWithoutValue")
    assert bad.returncode != 0 and "is not Field=Value" in bad.stderr

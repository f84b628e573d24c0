"""orgsync's bulk sync next to SFDMU (the open-source Salesforce data move tool), sfemu to sfemu.

The same org-to-org copy with both tools: Accounts and their Contacts (each Contact with an
AccountId lookup), from one source org seeded once through Bulk API 2.0 into a fresh target org
per run, the two tools alternating (run 1 SFDMU first, run 2 orgsync first, …). Sizes: 15,000
Accounts + 30,000 Contacts by default, ``--large`` adds 100,000 + 200,000; ``--runs`` (2) per
tool and size.

- SFDMU: npm package ``sfdmu`` (pinned below) installed at run time into the git-ignored
  ``var/bench-sfdmu`` and linked as a plugin of the Salesforce CLI of tests/sfemu/sfcli
  (``make sfcli-deps``) with a private HOME, offline like tests/sfemu/test_sf_cli.py. Both orgs are
  logged in with ``sf org login access-token``; the run is ``sf sfdmu run --sourceusername src
  --targetusername tgt`` with an export.json upserting Account on Name and Contact on Email.
  SFDMU 3 gets each org's session by running ``sfdx force:org:display`` and reading its text
  table; the sf CLI has no ``sfdx`` binary, so a tiny ``sfdx`` shim on PATH answers from
  ``sf org display --json`` (counted in SFDMU's time and memory: it is part of running it).
  The registry holds sfdmu 3.7.19 only (the SFDMU 3 line: oclif v1, jsforce 1); its script
  defaults are kept (``bulkThreshold`` 200, Bulk API 2.0 ingest, ``apiVersion`` 47.0, polling every
  5 s); ``--sfdmu-option key=json`` sets another export.json option.
- orgsync: a console connection (throw-away SQLite console database) from the source to the fresh
  target with Account and Contact published and subscribed, then the bulk sync run in a child
  process (the worker, as bench/bulk_sync.py does), so its memory is orgsync's alone.

Per run: wall time of the tool's process (and records/s), API calls by sfemu's per-org call
counters (both orgs, reset before the run), peak RSS of the tool's process (the node process
that runs ``sf sfdmu run``, or orgsync's worker: its VmHWM) and of its process tree (polling /proc
every 50 ms; SFDMU's tree also holds the shim's ``sf org display`` while it starts), and a
field-by-field check of the target against the source: Accounts by Name (Name, Phone,
Industry), Contacts by Email (FirstName, LastName, Email and the Account: the copy of the source
Contact's parent) — missing, extra (second copies included) and different. Then the medians and
the ratios orgsync/SFDMU (throughput: SFDMU's seconds / orgsync's, above 1 = orgsync faster; API
calls and memory: orgsync's / SFDMU's). Logging in (``sf org login``, the console's connection and
subscriptions) is set-up, outside the measured process. Prints figures; asserts nothing; says
"skipped" without the CLI or when npm cannot install sfdmu. ``--accounts``/``--contacts`` change
the small size for a quick try.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from statistics import median

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from engine import setup_django  # noqa: E402

from tests.sfemu.sf_cli_env import NODE, QUIET_ENV, RUN_JS  # noqa: E402

SFDMU_VERSION = "3.7.19"
SFDMU_DIR = ROOT / "var" / "bench-sfdmu"  # git-ignored (var/)
API = "62.0"
SMALL, LARGE = (15_000, 30_000), (100_000, 200_000)

# SFDMU 3 reads `sfdx force:org:display --targetusername X` as a text table ("Access Token  …").
SFDX_SHIM = """#!/usr/bin/env node
const { execFileSync } = require("child_process");
const args = process.argv.slice(2);
const user = args[args.indexOf("--targetusername") + 1];
const out = execFileSync(process.execPath, [process.env.BENCH_SF_RUN_JS, "org", "display",
  "--target-org", user, "--json"], { env: { ...process.env, SF_TEMP_SHOW_SECRETS: "true" } });
const r = JSON.parse(out.toString()).result;
console.log(["Access Token " + r.accessToken, "Id " + r.id, "Instance Url " + r.instanceUrl,
  "Username " + r.username, "Connected Status " + r.connectedStatus].join("\\n"));
"""

EXPORT = {
    "objects": [
        {
            "query": "SELECT Id, Name, Phone, Industry FROM Account",
            "operation": "Upsert",
            "externalId": "Name",
        },
        {
            "query": "SELECT Id, FirstName, LastName, Email, AccountId FROM Contact",
            "operation": "Upsert",
            "externalId": "Email",
        },
    ],
}

WORKER = """
import json, sys, time
import django
django.setup()
from replication.bulksync.runner import BulkSyncRunner
from replication.models import BulkSync
runner = BulkSyncRunner(BulkSync.objects.get(pk=int(sys.argv[1])))
started = time.perf_counter()
bulk = runner.run()
print(json.dumps({"seconds": time.perf_counter() - started, "api_calls": runner.ctx.api_calls(),
                  "status": bulk.status, "error": bulk.error}))
"""


# --- SFDMU installation and the CLI ----------------------------------------------------------------


def install_sfdmu() -> Path:
    """``npm install sfdmu@SFDMU_VERSION`` into var/bench-sfdmu (once); the package's path."""
    package = SFDMU_DIR / "node_modules" / "sfdmu"
    manifest = package / "package.json"
    if manifest.exists() and json.loads(manifest.read_text())["version"] == SFDMU_VERSION:
        return package
    SFDMU_DIR.mkdir(parents=True, exist_ok=True)
    (SFDMU_DIR / "package.json").write_text('{"name": "bench-sfdmu", "private": true}\n')
    print(f"installing sfdmu@{SFDMU_VERSION} into {SFDMU_DIR} …", flush=True)
    subprocess.run(
        ["npm", "install", "--no-audit", "--no-fund", "--ignore-scripts", f"sfdmu@{SFDMU_VERSION}"],
        cwd=SFDMU_DIR,
        check=True,
        capture_output=True,
    )
    return package


class SfCli:
    """The sf CLI with a private HOME under `home`, SFDMU linked, the sfdx shim on PATH."""

    def __init__(self, home: Path, ca_path: Path) -> None:
        self.home = home
        shim_dir = home / "bin"
        shim_dir.mkdir(parents=True, exist_ok=True)
        (shim_dir / "sfdx").write_text(SFDX_SHIM)
        (shim_dir / "sfdx").chmod(0o755)
        env = {k: v for k, v in os.environ.items() if not k.upper().startswith(("SF_", "SFDX_"))}
        for proxy in ("HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy"):
            env.pop(proxy, None)
        env.update(QUIET_ENV)
        env.update(
            HOME=str(home),
            XDG_CONFIG_HOME=str(home / ".config"),
            XDG_CACHE_HOME=str(home / ".cache"),
            XDG_DATA_HOME=str(home / ".local" / "share"),
            NODE_EXTRA_CA_CERTS=str(ca_path),
            BENCH_SF_RUN_JS=str(RUN_JS),
            PATH=f"{shim_dir}{os.pathsep}{NODE.parent}{os.pathsep}{env.get('PATH', '')}",
        )
        self.env = env

    def command(self, *args: str) -> list[str]:
        return [str(NODE), str(RUN_JS), *args]

    def run(self, *args: str, cwd: Path, extra_env: dict[str, str] | None = None) -> str:
        proc = subprocess.run(
            self.command(*args),
            cwd=cwd,
            env={**self.env, **(extra_env or {})},
            capture_output=True,
            text=True,
            timeout=300,
        )
        if proc.returncode != 0:
            raise SystemExit(
                f"sf {' '.join(args[:3])} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}"
            )
        return proc.stdout

    def login(self, url: str, handle, alias: str, cwd: Path) -> None:
        self.run(
            "org",
            "login",
            "access-token",
            "--instance-url",
            url,
            "--no-prompt",
            "--alias",
            alias,
            "--json",
            cwd=cwd,
            extra_env={"SF_ACCESS_TOKEN": handle.new_access_token()},
        )


# --- measuring a process tree ----------------------------------------------------------------------


def _children(pid: int) -> list[int]:
    found = []
    for task in Path(f"/proc/{pid}/task").glob("*"):
        with contextlib.suppress(OSError):
            found += [int(c) for c in (task / "children").read_text().split()]
    return found


def _status_kb(pid: int, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def run_measured(command: list[str], *, cwd: Path, env: dict[str, str], log: Path) -> dict:
    """Run `command`, output to `log`: wall seconds, return code, the peak RSS of its process
    (VmHWM) and of its process tree (the largest sum of the tree's VmRSS seen), in MB."""
    peak = {"tree": 0, "hwm": 0}
    with log.open("w") as out:
        started = time.perf_counter()
        proc = subprocess.Popen(command, cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT)
        done = threading.Event()

        def poll() -> None:
            while not done.is_set():
                tree, stack = 0, [proc.pid]
                while stack:
                    pid = stack.pop()
                    tree += _status_kb(pid, "VmRSS:")
                    stack += _children(pid)
                peak["tree"] = max(peak["tree"], tree)
                peak["hwm"] = max(peak["hwm"], _status_kb(proc.pid, "VmHWM:"))
                done.wait(0.05)

        poller = threading.Thread(target=poll, daemon=True)
        poller.start()
        code = proc.wait()
        seconds = time.perf_counter() - started
        done.set()
        poller.join()
    return {"code": code, "seconds": seconds, "peak_mb": peak["hwm"] / 1024, "tree_mb": peak["tree"] / 1024}


# --- the orgs -------------------------------------------------------------------------------------


def ingest(http, base: str, sobject: str, data: str) -> dict:
    """One Bulk API 2.0 insert job; its final state."""
    job = http.post(
        f"{base}/jobs/ingest",
        json={"object": sobject, "operation": "insert", "contentType": "CSV", "lineEnding": "LF"},
    ).json()
    http.put(
        f"{base}/jobs/ingest/{job['id']}/batches", data=data.encode(), headers={"Content-Type": "text/csv"}
    ).raise_for_status()
    http.patch(f"{base}/jobs/ingest/{job['id']}", json={"state": "UploadComplete"}).raise_for_status()
    while True:
        info = http.get(f"{base}/jobs/ingest/{job['id']}").json()
        if info["state"] in ("JobComplete", "Failed", "Aborted"):
            return info
        time.sleep(0.1)


def seed(server, handle, accounts: int, contacts: int) -> None:
    """`accounts` Accounts, then `contacts` Contacts spread over them, through Bulk API 2.0."""
    http = server.http_session()
    http.headers["Authorization"] = f"Bearer {handle.new_access_token()}"
    base = f"{handle.instance_url}/services/data/v{API}"
    for first in range(0, accounts, 200_000):
        out = io.StringIO()
        out.write("Name,Phone,Industry\n")
        for i in range(first, min(first + 200_000, accounts)):
            out.write(
                f"Peer Account {i:07d},555-{i % 10000:04d},{('Technology', 'Energy', 'Retail')[i % 3]}\n"
            )
        ingest(http, base, "Account", out.getvalue())
    ids = {
        r["Name"]: r["Id"] for r in handle.org.query("SELECT Id, Name FROM Account", api_version=API).records
    }
    parents = [ids[f"Peer Account {i:07d}"] for i in range(accounts)]
    for first in range(0, contacts, 200_000):
        out = io.StringIO()
        out.write("FirstName,LastName,Email,AccountId\n")
        for j in range(first, min(first + 200_000, contacts)):
            out.write(f"First{j % 97},Contact {j:07d},c{j:07d}@peer.example.com,{parents[j % accounts]}\n")
        ingest(http, base, "Contact", out.getvalue())


def new_org(server, name: str):
    """An org whose daily API allocation does not get in the way."""
    handle = server.create_org(name, edition="Enterprise Edition")
    handle.org.set_option("api_daily_limit", 100_000_000)
    return handle


def snapshot(handle) -> tuple[dict, dict]:
    """(Accounts by Id, Contacts by Id) of an org, read in-process (no API call)."""
    org = handle.org
    accounts = {
        r["Id"]: r
        for r in org.query("SELECT Id, Name, Phone, Industry FROM Account", api_version=API).records
    }
    contacts = {
        r["Id"]: r
        for r in org.query(
            "SELECT Id, FirstName, LastName, Email, AccountId FROM Contact", api_version=API
        ).records
    }
    return accounts, contacts


def compare(source: tuple[dict, dict], target: tuple[dict, dict]) -> dict[str, int]:
    """Missing / extra / different records of the target against the source, field by field."""
    counts = {"missing": 0, "extra": 0, "different": 0}

    def keyed(rows: dict, key: str) -> dict:
        by_key: dict = {}
        for row in rows.values():
            if row[key] in by_key:
                counts["extra"] += 1  # a second copy
            else:
                by_key[row[key]] = row
        return by_key

    src_accounts, tgt_accounts = keyed(source[0], "Name"), keyed(target[0], "Name")
    for name, row in src_accounts.items():
        copy = tgt_accounts.get(name)
        if copy is None:
            counts["missing"] += 1
        elif any(row[f] != copy[f] for f in ("Phone", "Industry")):
            counts["different"] += 1
    counts["extra"] += len(tgt_accounts.keys() - src_accounts.keys())
    copy_of = {row["Id"]: tgt_accounts.get(name, {}).get("Id") for name, row in src_accounts.items()}
    src_contacts, tgt_contacts = keyed(source[1], "Email"), keyed(target[1], "Email")
    for email, row in src_contacts.items():
        copy = tgt_contacts.get(email)
        if copy is None:
            counts["missing"] += 1
        elif (
            any(row[f] != copy[f] for f in ("FirstName", "LastName"))
            or copy["AccountId"] is None
            or copy["AccountId"] != copy_of.get(row["AccountId"])
        ):
            counts["different"] += 1
    counts["extra"] += len(tgt_contacts.keys() - src_contacts.keys())
    return counts


def calls(*handles) -> int:
    return sum(sum(h.calls().values()) for h in handles)


# --- the two tools --------------------------------------------------------------------------------


def run_sfdmu(server, cli: SfCli, source, target, work: Path, extra: dict) -> dict:
    project = work / f"sfdmu-{target.name}"
    project.mkdir()
    (project / "export.json").write_text(json.dumps({**EXPORT, **extra}, indent=1))
    cli.login(server.url, target, "tgt", project)
    source.reset_calls()
    target.reset_calls()
    result = run_measured(
        cli.command("sfdmu", "run", "--sourceusername", "src", "--targetusername", "tgt", "--noprompt"),
        cwd=project,
        env=cli.env,
        log=project / "sfdmu.log",
    )
    result["calls"] = calls(source, target)
    result["by_endpoint"] = {"source": source.calls(), "target": target.calls()}
    result["log"] = project / "sfdmu.log"
    return result


def run_orgsync(server, source_org, source, target, work: Path) -> dict:
    from connections import services as connection_services
    from replication import services
    from replication.models import Direction
    from replication.services.bulk_sync import bulk_sync_start
    from tests.connections.emu import connect_by_password

    connection = connection_services.connection_accept(
        connection=connection_services.connection_create(
            actor=None,
            name=f"bench {target.name}",
            primary_org=source_org,
            secondary_org=connect_by_password(server, target),
            owner_username=source.username,
            owner_user_id=source.user_id,
        ),
        actor=None,
    )
    for name in ("Account", "Contact"):
        publication = services.publication_publish(
            connection=connection, direction=Direction.PRIMARY_TO_SECONDARY, source_object=name, actor=None
        )
        services.subscription_subscribe(publication=publication, actor=None)
    bulk = bulk_sync_start(connection=connection, actor=None, run_in_worker=False)
    source.reset_calls()
    target.reset_calls()
    log = work / f"orgsync-{target.name}.log"
    result = run_measured(
        [sys.executable, "-c", WORKER, str(bulk.pk)], cwd=ROOT, env=dict(os.environ), log=log
    )
    result["calls"] = calls(source, target)
    result["by_endpoint"] = {"source": source.calls(), "target": target.calls()}
    result["log"] = log
    lines = log.read_text().strip().splitlines()
    try:
        worker = json.loads(lines[-1])
    except (IndexError, json.JSONDecodeError):
        worker = {"status": "crashed", "error": "\n".join(lines[-20:])}
    result["worker"] = worker
    return result


def report(tool: str, n: int, result: dict, records: int, check: dict[str, int]) -> None:
    rate = records / result["seconds"]
    extra = ""
    if "worker" in result:
        w = result["worker"]
        extra = f", bulk sync {w.get('status')}"
        if w.get("seconds"):
            extra += f" in {w['seconds']:.1f} s, {w['api_calls']} calls by its own count"
        if w.get("error"):
            extra += f" ({str(w['error'])[:300]})"
    elif result["code"]:
        tail = result["log"].read_text().strip().splitlines()[-15:]
        extra = f", exit code {result['code']}; its output ends:\n        " + "\n        ".join(tail)
    print(
        f"  run {n} {tool:8}: {result['seconds']:6.1f} s = {rate:7,.0f} records/s, "
        f"{result['calls']:5,} API calls, peak RSS {result['peak_mb']:4.0f} MB "
        f"(tree {result['tree_mb']:4.0f} MB); "
        f"target vs source: missing {check['missing']:,}, extra {check['extra']:,}, "
        f"different {check['different']:,}{extra}",
        flush=True,
    )
    print(f"      calls by endpoint: {result['by_endpoint']}", flush=True)


def size(server, cli, work: Path, accounts: int, contacts: int, runs: int, sfdmu_extra: dict) -> dict:
    from tests.connections.emu import connect_by_password

    records = accounts + contacts
    source = new_org(server, f"src{accounts}")
    started = time.perf_counter()
    seed(server, source, accounts, contacts)
    print(
        f"\n{accounts:,} Accounts + {contacts:,} Contacts ({records:,} records), seeded in "
        f"{time.perf_counter() - started:.0f} s",
        flush=True,
    )
    source_rows = snapshot(source)
    source_org = connect_by_password(server, source)
    project = work / f"login-{accounts}"
    project.mkdir()
    cli.login(server.url, source, "src", project)
    results: dict[str, list[dict]] = {"SFDMU": [], "orgsync": []}
    for n in range(1, runs + 1):
        order = ("SFDMU", "orgsync") if n % 2 else ("orgsync", "SFDMU")
        for tool in order:
            target = new_org(server, f"t{accounts}{tool[0].lower()}{n}")
            if tool == "SFDMU":
                result = run_sfdmu(server, cli, source, target, work, sfdmu_extra)
            else:
                result = run_orgsync(server, source_org, source, target, work)
            result["check"] = compare(source_rows, snapshot(target))
            report(tool, n, result, records, result["check"])
            results[tool].append(result)
    summary(results, records)
    return results


def summary(results: dict[str, list[dict]], records: int) -> None:
    med = {
        tool: {
            "seconds": median(r["seconds"] for r in rows),
            "calls": median(r["calls"] for r in rows),
            "peak_mb": median(r["peak_mb"] for r in rows),
            "tree_mb": median(r["tree_mb"] for r in rows),
            "wrong": median(sum(r["check"].values()) for r in rows),
        }
        for tool, rows in results.items()
    }
    for tool, m in med.items():
        print(
            f"  median {tool:8}: {m['seconds']:.1f} s = {records / m['seconds']:,.0f} records/s, "
            f"{m['calls']:,.0f} API calls, peak RSS {m['peak_mb']:.0f} MB (tree {m['tree_mb']:.0f} MB), "
            f"{m['wrong']:,.0f} records missing/extra/different"
        )
    o, s = med["orgsync"], med["SFDMU"]
    print(
        f"  orgsync/SFDMU: throughput {s['seconds'] / o['seconds']:.2f}x, "
        f"API calls {o['calls'] / s['calls']:.2f}x, peak RSS {o['peak_mb'] / s['peak_mb']:.2f}x "
        f"(tree {o['tree_mb'] / s['tree_mb']:.2f}x)",
        flush=True,
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--large", action="store_true", help="also 100,000 Accounts + 200,000 Contacts")
    parser.add_argument("--runs", type=int, default=2, help="runs per tool and size")
    parser.add_argument(
        "--sfdmu-option",
        action="append",
        default=[],
        metavar="KEY=JSON",
        help="an export.json script option, e.g. bulkThreshold=100000 or apiVersion='\"62.0\"'",
    )
    parser.add_argument("--accounts", type=int, default=SMALL[0], help="the small size's Accounts")
    parser.add_argument("--contacts", type=int, default=SMALL[1], help="the small size's Contacts")
    args = parser.parse_args()
    if not (NODE.exists() and RUN_JS.exists()):
        print("skipped: the Salesforce CLI is not installed (run `make sfcli-deps`)")
        return 0
    sfdmu_extra = {k: json.loads(v) for k, v in (o.split("=", 1) for o in args.sfdmu_option)}
    try:
        package = install_sfdmu()
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", b"") or b""
        print(f"skipped: could not install sfdmu@{SFDMU_VERSION} with npm ({exc})\n{detail.decode()[-2000:]}")
        return 0
    with tempfile.TemporaryDirectory(prefix="orgsync-bench-sfdmu-") as tmp_name:
        tmp = Path(tmp_name)
        setup_django(tmp)
        import logging

        logging.getLogger("replication").setLevel(logging.ERROR)
        logging.getLogger("sfemu").setLevel(logging.WARNING)  # a line per request otherwise
        from sfemu.testing import start_server

        server = start_server(tmp / "sfemu", tls_dir=tmp / "tls")
        try:
            cli = SfCli(tmp / "home", server.ca_path)
            cli.run("plugins", "link", str(package), "--no-install", cwd=tmp)
            print(f"SFDMU {SFDMU_VERSION}, export.json options: {sfdmu_extra or 'defaults'}")
            sizes = [(args.accounts, args.contacts)] + ([LARGE] if args.large else [])
            for accounts, contacts in sizes:
                size(server, cli, tmp, accounts, contacts, args.runs, sfdmu_extra)
        finally:
            server.stop()
            shutil.rmtree(tmp / "home", ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

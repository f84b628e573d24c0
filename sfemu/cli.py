"""Command line: ``python -m sfemu serve|org create|seed|app create|fault|calls|query|record``.

Every command works on a data dir (default ``var/sfemu``); a running server and the CLI share it,
so an org created here is immediately usable against the server.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from sfemu import cli_records

DEFAULT_DATA_DIR = Path("var/sfemu")
DEFAULT_PORT = 8700


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data-dir", type=Path, default=DEFAULT_DATA_DIR, help="data directory")
    parser.add_argument("--json", action="store_true", help="machine-readable output")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m sfemu", description="Salesforce org emulator")
    sub = parser.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the HTTPS server")
    _common(serve)
    serve.add_argument("--port", type=int, default=DEFAULT_PORT)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning", "error"])
    serve.add_argument("--session-seconds", type=int, default=None, help="session timeout (default 7200)")

    org = sub.add_parser("org", help="manage orgs").add_subparsers(dest="org_command", required=True)
    create = org.add_parser("create", help="create an org and print its admin credentials")
    _common(create)
    create.add_argument("name")
    create.add_argument("--edition", default="Developer Edition")
    create.add_argument("--sandbox", action="store_true")
    create.add_argument(
        "--audit-fields-on-create",
        action="store_true",
        help='"Set Audit Fields upon Record Creation" on (CreatedDate, CreatedById… createable)',
    )
    create.add_argument(
        "--instance-url",
        default=None,
        help=f"default: the server running on the data dir, else https://127.0.0.1:{DEFAULT_PORT}",
    )

    seed = sub.add_parser("seed", help="load seed data into an org")
    _common(seed)
    seed.add_argument("name", help="org name")
    seed.add_argument("--profile", default="demo")
    seed.add_argument("--accounts", type=int, default=None)

    app = sub.add_parser("app", help="manage connected apps").add_subparsers(
        dest="app_command", required=True
    )
    app_create = app.add_parser("create", help="create a connected app")
    _common(app_create)
    app_create.add_argument("name")
    app_create.add_argument("--org", required=True, help="org name")
    app_create.add_argument("--callback", action="append", default=[], help="callback URL")
    app_create.add_argument("--cert", type=Path, help="PEM certificate for the JWT bearer flow")
    app_create.add_argument("--run-as", help="username for the client credentials flow")
    _fault_parsers(sub)
    cli_records.add_parsers(sub, _common)
    return parser


def _fault_parsers(sub: Any) -> None:
    fault = sub.add_parser("fault", help="inject faults into an org (a running server sees them at once)")
    _common(fault)
    fault.add_argument("name", help="org name or id")
    fault.add_argument("--request-limit", type=int, metavar="N", help="daily API allocation (403 once used)")
    fault.add_argument("--maintenance", type=float, metavar="SECONDS", help="503 on every call (0 ends)")
    fault.add_argument("--expire-sessions", action="store_true", help="time out every session (401)")
    fault.add_argument("--lock-rows", type=float, metavar="FRACTION", help="UNABLE_TO_LOCK_ROW share")
    fault.add_argument("--seed", type=int, default=None, help="seed of the row-lock sequence")
    fault.add_argument("--latency-ms", type=int, metavar="N", help="added latency per call")
    fault.add_argument("--clear", action="store_true", help="every fault off (applied first)")
    calls = sub.add_parser("calls", help="API calls of an org by endpoint")
    _common(calls)
    calls.add_argument("name", help="org name or id")
    calls.add_argument("--reset", action="store_true", help="zero the counters (prints what they held)")


def _emit(args: argparse.Namespace, data: dict[str, Any]) -> None:
    if args.json:
        print(json.dumps(data, indent=2))
        return
    width = max(len(k) for k in data)
    for key, value in data.items():
        print(f"{key.replace('_', ' '):<{width}}  {value}")


def cmd_serve(args: argparse.Namespace) -> int:
    from sfemu.server.runner import build_state, public_url, serve
    from sfemu.tls import ensure_tls

    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    data_dir: Path = args.data_dir
    state = build_state(data_dir, session_seconds=args.session_seconds)
    tls = ensure_tls(data_dir / "tls", (args.host,))
    _emit(
        args,
        {
            "url": public_url(args.host, args.port),
            "ca_path": str(tls.ca_path.resolve()),
            "data_dir": str(data_dir.resolve()),
        },
    )
    sys.stdout.flush()
    serve(state, args.host, args.port, tls)
    return 0


def cmd_org_create(args: argparse.Namespace) -> int:
    from sfemu.server.runner import build_state, running_server_url

    state = build_state(args.data_dir)
    instance_url = (
        args.instance_url or running_server_url(args.data_dir) or f"https://127.0.0.1:{DEFAULT_PORT}"
    )
    try:
        creds = state.instance.create_org(
            args.name,
            edition=args.edition,
            sandbox=args.sandbox,
            options={"audit_fields_on_create": True} if args.audit_fields_on_create else {},
        )
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    token = state.auth.issue_access_token(creds.org_id, creds.admin_user_id, scope="api web full")
    _emit(
        args,
        {
            "org_id": creds.org_id,
            "name": creds.name,
            "username": creds.username,
            "password": creds.password,
            "security_token": creds.security_token,
            "user_id": creds.admin_user_id,
            "access_token": token,
            "instance_url": instance_url,
        },
    )
    return 0


def cmd_seed(args: argparse.Namespace) -> int:
    from sfemu import seed
    from sfemu.server.runner import build_state

    profiles = {"demo": seed.seed_demo}
    if args.profile not in profiles:
        raise SystemExit(f"unknown seed profile {args.profile!r} (known: {', '.join(profiles)})")
    state = build_state(args.data_dir)
    org = _org(state, args.name)
    kwargs: dict[str, Any] = {}
    if args.accounts is not None:
        kwargs["accounts"] = args.accounts
    summary = profiles[args.profile](org, **kwargs)
    data: dict[str, Any] = {"org_id": org.org_id, "name": org.name, "profile": args.profile}
    data.update({f"created_{k}": v for k, v in summary.counts.items()})
    data["users"] = [getattr(u, "username", str(u)) for u in summary.users]
    _emit(args, data)
    return 0


def _org(state: Any, name: str) -> Any:
    try:
        return state.instance.org_by_name(name)
    except KeyError:
        raise SystemExit(f"no org named {name!r} in this data dir") from None


def cmd_app_create(args: argparse.Namespace) -> int:
    from sfemu.server.runner import build_state

    state = build_state(args.data_dir)
    org = _org(state, args.org)
    run_as = _run_as_user(state, org, args.run_as)
    app = state.auth.create_app(
        org.org_id,
        args.name,
        args.callback,
        cert_pem=args.cert.read_text() if args.cert else None,
        run_as_user_id=run_as,
    )
    _emit(
        args,
        {
            "name": app.name,
            "org_id": org.org_id,
            "client_id": app.client_id,
            "client_secret": app.client_secret,
            "callback_urls": " ".join(app.callback_urls),
            "run_as_user_id": run_as or "",
        },
    )
    return 0


def _run_as_user(state: Any, org: Any, username: str | None) -> str | None:
    """The client-credentials user: the named one, else the org's admin."""
    if username:
        found = state.instance.find_user(username)
        if found is None or found[0].org_id != org.org_id:
            raise SystemExit(f"no user {username!r} in org {org.name!r}")
        return found[1]["Id"]
    return getattr(org, "admin_user_id", None)


def cmd_fault(args: argparse.Namespace) -> int:
    from sfemu.server import faults_api
    from sfemu.server.runner import build_state

    state = build_state(args.data_dir)
    org = _org_by_name_or_id(state, args.name)
    changes: dict[str, Any] = {"clear": args.clear, "expire_sessions": args.expire_sessions}
    if args.request_limit is not None:
        changes["request_limit"] = args.request_limit
    optional = {
        "maintenance_seconds": args.maintenance,
        "lock_fraction": args.lock_rows,
        "lock_seed": args.seed,
        "latency_ms": args.latency_ms,
    }
    changes.update({k: v for k, v in optional.items() if v is not None})
    try:
        status = faults_api.apply_changes(state, org, changes)
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    print(json.dumps(status, indent=2))
    return 0


def cmd_calls(args: argparse.Namespace) -> int:
    from sfemu.server.runner import build_state

    state = build_state(args.data_dir)
    org = _org_by_name_or_id(state, args.name)
    faults = state.instance.faults
    counts = faults.reset_calls(org.org_id) if args.reset else faults.calls(org.org_id)
    if args.json or not counts:
        print(json.dumps(counts, indent=2))
    else:
        _emit(args, counts)
    return 0


def _org_by_name_or_id(state: Any, name: str) -> Any:
    from sfemu.server.faults_api import find_org

    try:
        return find_org(state, name)
    except KeyError:
        raise SystemExit(f"no org named {name!r} in this data dir") from None


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.command == "serve":
        return cmd_serve(args)
    if args.command == "org":
        return cmd_org_create(args)
    if args.command == "seed":
        return cmd_seed(args)
    if args.command == "app":
        return cmd_app_create(args)
    if args.command == "fault":
        return cmd_fault(args)
    if args.command == "calls":
        return cmd_calls(args)
    if args.command in ("query", "record"):
        from sfemu.server.runner import build_state

        org = _org_by_name_or_id(build_state(args.data_dir), args.name)
        return (cli_records.cmd_query if args.command == "query" else cli_records.cmd_record)(args, org)
    return 2

"""``python -m sfemu query|record``: look at and change an org's records from the terminal.

Writes go through the same domain code as the API (validation, SystemModstamp, recycle bin), so
a console syncing the org sees them like any user's change.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from sfemu.errors import SalesforceError

API_VERSION = "62.0"


def add_parsers(sub: Any, common) -> None:
    query = sub.add_parser("query", help="run a SOQL query against an org and print the records")
    common(query)
    query.add_argument("name", help="org name or id")
    query.add_argument("soql")
    query.add_argument("--all-rows", action="store_true", help="include deleted records (queryAll)")
    record = sub.add_parser("record", help="create, update, delete or undelete a record")
    common(record)
    record.add_argument("action", choices=["create", "update", "delete", "undelete"])
    record.add_argument("name", help="org name or id")
    record.add_argument("sobject", help="e.g. Account")
    record.add_argument("values", nargs="*", help="the Id (update, delete, undelete) then Field=Value pairs")


def _pairs(items: list[str]) -> dict[str, str | None]:
    values: dict[str, str | None] = {}
    for item in items:
        field, sep, value = item.partition("=")
        if not sep:
            raise SystemExit(f"{item!r} is not Field=Value")
        values[field] = value or None
    return values


def cmd_query(args: argparse.Namespace, org: Any) -> int:
    try:
        result = org.query(args.soql, include_deleted=args.all_rows, api_version=API_VERSION)
    except SalesforceError as exc:
        raise SystemExit(f"{exc.error_code}: {exc.message}") from None
    print(json.dumps({"totalSize": result.total_size, "records": result.records}, indent=2))
    return 0


def cmd_record(args: argparse.Namespace, org: Any) -> int:
    user = org.admin_user_id
    values = list(args.values)
    try:
        if args.action == "create":
            record_id = org.create(args.sobject, _pairs(values), user_id=user)
        else:
            if not values:
                raise SystemExit(f"{args.action} needs the record Id")
            record_id = values.pop(0)
            if args.action == "update":
                org.update(args.sobject, record_id, _pairs(values), user_id=user)
            elif args.action == "delete":
                org.delete(record_id, user_id=user, sobject=args.sobject)
            else:
                org.undelete(record_id, user_id=user)
    except SalesforceError as exc:
        raise SystemExit(f"{exc.error_code}: {exc.message}") from None
    print(json.dumps({"id": record_id, "success": True}))
    return 0

"""SOQL over SQLite without reading every row: predicate and ORDER BY pushdown, id cursors.

The SOQL executor works on Python rows; at 100k rows, parsing and shaping all of them costs more
than a second. Here the simple predicates of a query (``SystemModstamp`` / ``CreatedDate`` /
``LastModifiedDate`` ranges, ``Id`` comparisons and ``IN``, ``IsDeleted =``, and AND/OR groups of
them) become SQL on the ``records`` table, which only hands the executor the rows that can match
(it still evaluates the whole WHERE, so SQL only has to return a superset).

When SQL can express the whole WHERE and the ORDER BY (``SystemModstamp[, Id]``, ``Id`` or none),
the result is *exact* in SQL: a query answers with the ordered ids of every match (an index-only
scan), and only one page of rows is read, shaped and projected at a time. ``PagedResult`` is what a
query cursor keeps (ids, not records); each ``nextRecordsUrl`` page reads its 2,000 rows by id.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from sfemu import ids
from sfemu.schema import files
from sfemu.soql import ast, execute, parse
from sfemu.soql.executor import QueryResult
from sfemu.soql_source import OrgDataSource
from sfemu.timeutil import format_datetime

if TYPE_CHECKING:
    from sfemu.org import Org
    from sfemu.schema.spec import ObjectSpec
    from sfemu.store import Store

_OPS = {"=": "=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}
_JSON_DATES = {"createddate": "CreatedDate", "lastmodifieddate": "LastModifiedDate"}
_INDEX = (
    "CREATE INDEX IF NOT EXISTS records_by_modstamp_id ON records (org_id, sobject, modstamp, id, is_deleted)"
)


@dataclass
class Pushdown:
    """SQL conditions on ``records`` for a query; ``exact`` when they are the whole WHERE."""

    clauses: list[str]
    params: list[Any]
    exact: bool
    order: str | None  # SQL ORDER BY equal to the query's (None: not expressible)


def ensure_index(store: Store) -> None:
    """The covering index for SystemModstamp windows ordered by (SystemModstamp, Id)."""
    if not getattr(store, "_sfemu_pushdown_index", False):
        with store.write() as conn:
            conn.execute(_INDEX)
        store._sfemu_pushdown_index = True  # type: ignore[attr-defined]


def _condition(item: ast.Condition) -> tuple[str, list[Any]] | None:
    """SQL for one WHERE condition, or None when it (or any part of it) cannot be pushed.

    ``AND``/``OR`` groups are pushed when every part is, so capture's exact-position window
    ``SystemModstamp >= t AND (SystemModstamp > t OR Id > 'x')`` stays an index range in SQL.
    """
    if isinstance(item, ast.And | ast.Or):
        sqls, params = [], []
        for part in item.items:
            pushed = _condition(part)
            if pushed is None:
                return None
            sqls.append(f"({pushed[0]})")
            params += pushed[1]
        return (" AND " if isinstance(item, ast.And) else " OR ").join(sqls), params
    if not isinstance(item, ast.Comparison | ast.InList):
        return None
    if not isinstance(item.field, ast.FieldRef) or len(item.field.path) != 1:
        return None
    return _predicate(item)


def _predicate(item: ast.Comparison | ast.InList) -> tuple[str, list[Any]] | None:
    """SQL for one comparison or IN list on a plain field, or None when it cannot be pushed."""
    name = item.field.path[0].lower() if isinstance(item.field, ast.FieldRef) else ""
    if isinstance(item, ast.InList):
        if name != "id" or item.negated:
            return None
        wanted = [ids.normalize(v.value) if isinstance(v, ast.StringLit) else None for v in item.values]
        if not wanted or any(w is None for w in wanted):
            return None
        return f"id IN ({','.join('?' * len(wanted))})", list(wanted)
    op = _OPS.get(item.op)
    if op is None:
        return None
    value = item.value
    if name == "systemmodstamp" and isinstance(value, ast.DateTimeLit):
        return f"modstamp {op} ?", [format_datetime(value.value)]
    if name in _JSON_DATES and isinstance(value, ast.DateTimeLit):
        return f"json_extract(data, '$.{_JSON_DATES[name]}') {op} ?", [format_datetime(value.value)]
    if name == "id" and isinstance(value, ast.StringLit):
        # The executor compares canonical 18-char ids as strings, as SQLite's BINARY collation does.
        canonical = ids.normalize(value.value)
        return (f"id {op} ?", [canonical]) if canonical else None
    if name == "isdeleted" and op == "=" and isinstance(value, ast.BoolLit):
        return "is_deleted = ?", [int(value.value)]
    return None


def _order(query: ast.Query) -> str | None:
    items = query.order_by
    if not items:
        return "id ASC"
    names = [
        i.field.path[0].lower() if isinstance(i.field, ast.FieldRef) and len(i.field.path) == 1 else ""
        for i in items
    ]
    directions = {i.descending for i in items}
    if len(directions) != 1:
        return None
    way = "DESC" if items[0].descending else "ASC"
    if names in (["systemmodstamp"], ["systemmodstamp", "id"]):
        return f"modstamp {way}, id {way}"
    if names == ["id"]:
        return f"id {way}"
    return None


def plan(query: ast.Query, include_deleted: bool) -> Pushdown:
    """What of ``query`` SQL can do (``include_deleted``: queryAll or ALL ROWS)."""
    clauses: list[str] = [] if include_deleted or query.all_rows else ["is_deleted = 0"]
    params: list[Any] = []
    where = query.where
    items: tuple[ast.Condition, ...] = (
        () if where is None else where.items if isinstance(where, ast.And) else (where,)
    )
    pushed = 0
    for item in items:
        sql = _condition(item)
        if sql is not None:
            clauses.append(f"({sql[0]})")
            params.extend(sql[1])
            pushed += 1
    return Pushdown(clauses, params, pushed == len(items), _order(query))


class _Source(OrgDataSource):
    """The org data source plus shaping of stored rows fetched by SQL."""

    def shaped(self, obj: ObjectSpec, stored: Iterable[dict]) -> Iterator[dict]:
        shaper = self.org.shaper(obj)
        today = self._today
        for data in stored:
            row = shaper.full(data, today=today)
            for blob in shaper.blobs:
                if row.get(blob) is not None:
                    row[blob] = shaper.blob_url(row["Id"], blob, self.api_version)
            yield row


def _where(org: Org, obj: ObjectSpec, push: Pushdown) -> tuple[str, list[Any]]:
    sql = " AND ".join(["org_id = ?", "sobject = ?", *push.clauses])
    return sql, [org.org_id, obj.name, *push.params]


def _stored_rows(org: Org, obj: ObjectSpec, push: Pushdown) -> Iterator[dict]:
    where, params = _where(org, obj, push)
    for (data,) in org.store.conn.execute(f"SELECT data FROM records WHERE {where} ORDER BY id", params):
        yield json.loads(data)


@dataclass
class PagedResult:
    """A query's answer kept for paging: ordered ``ids`` (exact SQL) or materialised ``records``."""

    total_size: int
    is_count: bool
    query: ast.Query
    include_deleted: bool
    api_version: str
    ids: list[str] | None = None
    records: list[dict] | None = None

    @property
    def rows(self) -> int:
        """How many records the result pages through."""
        if self.ids is not None:
            return len(self.ids)
        return len(self.records or [])

    def page(self, org: Org, start: int, stop: int) -> list[dict]:
        """Records ``start:stop`` in Salesforce's JSON shape."""
        if self.records is not None:
            return self.records[start:stop]
        wanted = (self.ids or [])[start:stop]
        if not wanted:
            return []
        source = _Source(org, self.api_version)
        obj = org.schema.require(self.query.sobject)
        found = org.store.get_records(wanted)
        stored = [found[i][3] for i in wanted if i in found]
        rows = list(source.shaped(obj, stored))
        query = replace(self.query, offset=None)
        return execute(
            query, source, include_deleted=self.include_deleted, api_version=self.api_version, root_rows=rows
        ).records


def start(org: Org, soql: str, *, include_deleted: bool = False, api_version: str = "62.0") -> PagedResult:
    """Run ``soql``; exact pushdown keeps only ids, anything else is materialised (pre-filtered)."""
    query = parse(soql)
    files.check_query(query)
    source = _Source(org, api_version)
    obj = org.schema.get(query.sobject)
    push = plan(query, include_deleted)
    if obj is not None and push.exact and push.order is not None and not query.is_aggregate:
        # Validation (names, WHERE, ORDER BY, OFFSET, FIELDS limits) raises the executor's errors.
        execute(query, source, include_deleted=include_deleted, api_version=api_version, root_rows=[])
        return _exact(org, obj, query, push, include_deleted, api_version)
    if obj is not None and len(push.clauses) > (0 if include_deleted or query.all_rows else 1):
        rows = list(source.shaped(obj, _stored_rows(org, obj, push)))
        result = execute(
            query, source, include_deleted=include_deleted, api_version=api_version, root_rows=rows
        )
    else:
        result = execute(query, source, include_deleted=include_deleted, api_version=api_version)
    return PagedResult(
        result.total_size, result.is_count, query, include_deleted, api_version, records=result.records
    )


def _exact(
    org: Org, obj: ObjectSpec, query: ast.Query, push: Pushdown, include_deleted: bool, api_version: str
) -> PagedResult:
    """The ordered ids of every match (or the count) straight from SQL."""
    ensure_index(org.store)
    where, params = _where(org, obj, push)
    window = [-1 if query.limit is None else query.limit, query.offset or 0]
    if query.is_count:
        sql = f"SELECT COUNT(*) FROM (SELECT 1 FROM records WHERE {where} LIMIT ? OFFSET ?)"
        count = org.store.conn.execute(sql, [*params, *window]).fetchone()[0]
        return PagedResult(count, True, query, include_deleted, api_version, ids=[])
    sql = f"SELECT id FROM records WHERE {where} ORDER BY {push.order} LIMIT ? OFFSET ?"
    found = [r[0] for r in org.store.conn.execute(sql, [*params, *window])]
    return PagedResult(len(found), False, query, include_deleted, api_version, ids=found)


def run(org: Org, soql: str, *, include_deleted: bool = False, api_version: str = "62.0") -> QueryResult:
    """The whole result of ``soql`` (``Org.query``), through the same pushdown."""
    paged = start(org, soql, include_deleted=include_deleted, api_version=api_version)
    if paged.is_count:
        return QueryResult(paged.total_size, [], is_count=True)
    return QueryResult(paged.total_size, paged.page(org, 0, paged.rows))

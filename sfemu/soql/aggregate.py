"""Aggregate queries: COUNT(field), COUNT_DISTINCT, SUM, AVG, MIN, MAX with GROUP BY/HAVING.

Answers are AggregateResult records: ``{"attributes": {"type": "AggregateResult"}, ...}``
with grouped fields under their field name and unnamed aggregates as ``expr0``, ``expr1``…
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sfemu.soql import ast
from sfemu.soql import errors as err
from sfemu.soql.conditions import NUM, ROW_KEYS, TEXT, ConditionCompiler, Operand, kind_of
from sfemu.soql.ordering import SortKey, sort_rows
from sfemu.soql.resolve import Context, Resolved
from sfemu.soql.source import ObjectInfo

if TYPE_CHECKING:
    from sfemu.soql.executor import RecordPlan

_AGGREGATE_TYPES = {"COUNT": "int", "COUNT_DISTINCT": "int", "SUM": "double", "AVG": "double"}


def _agg_key(agg: ast.Aggregate) -> str:
    path = ".".join(agg.field.path).lower() if agg.field else ""
    return f"{agg.func}({path})"


class _Aggregator:
    """Validates an aggregate query and computes its groups."""

    def __init__(self, ctx: Context, query: ast.Query, obj: ObjectInfo) -> None:
        self.ctx = ctx
        self.query = query
        self.obj = obj
        self.groups: list[tuple[str, Resolved]] = [
            (".".join(ref.path).lower(), ctx.resolve(obj, ref)) for ref in query.group_by
        ]
        self.aggregates: dict[str, tuple[ast.Aggregate, Resolved | None]] = {}

    # ------------------------------------------------------------------- resolving
    def aggregate(self, agg: ast.Aggregate) -> str:
        key = _agg_key(agg)
        if key not in self.aggregates:
            resolved = self.ctx.resolve(self.obj, agg.field) if agg.field else None
            if resolved and agg.func in ("SUM", "AVG") and kind_of(resolved.leaf.type) != NUM:
                raise err.malformed(
                    self.ctx.text,
                    agg.pos,
                    f"field {resolved.leaf.name} does not support aggregate operator {agg.func}",
                )
            self.aggregates[key] = (agg, resolved)
        return key

    def group_index(self, ref: ast.FieldRef) -> int:
        wanted = ".".join(ref.path).lower()
        for index, (path, _) in enumerate(self.groups):
            if path == wanted:
                return index
        raise err.malformed(self.ctx.text, ref.pos, f"Field must be grouped or aggregated: {ref.path[-1]}")

    def operand(self, node: Any) -> Operand:
        """HAVING / ORDER BY operand over a group environment."""
        if isinstance(node, ast.Aggregate):
            key = self.aggregate(node)
            resolved = self.aggregates[key][1]
            field_type = _AGGREGATE_TYPES.get(node.func) or (resolved.leaf.type if resolved else "int")
            return Operand(lambda env: env[key], field_type, node.func, node.pos)
        index = self.group_index(node)
        leaf = self.groups[index][1].leaf
        return Operand(lambda env: env[index], leaf.type, leaf.name, node.pos)

    # ------------------------------------------------------------------- computing
    def environments(self, rows: list[dict]) -> list[dict]:
        buckets: dict[tuple, list[dict]] = {}
        getters = [resolved.getter for _, resolved in self.groups]
        for row in rows:
            buckets.setdefault(tuple(g(row) for g in getters), []).append(row)
        if not self.groups and not buckets:
            buckets[()] = []
        envs = []
        for key, members in buckets.items():
            env: dict[Any, Any] = dict(enumerate(key))
            for name, (agg, resolved) in self.aggregates.items():
                env[name] = _compute(agg.func, resolved, members)
            envs.append(env)
        return envs


def _compute(func: str, resolved: Resolved | None, rows: list[dict]) -> Any:
    if resolved is None:
        return len(rows)
    values = [v for v in map(resolved.getter, rows) if v is not None and v != ""]
    if func == "COUNT":
        return len(values)
    if func == "COUNT_DISTINCT":
        key = ROW_KEYS[kind_of(resolved.leaf.type)]
        return len({key(v) for v in values})
    if not values:
        return None
    if func == "SUM":
        return float(sum(values))
    if func == "AVG":
        return float(sum(values)) / len(values)
    kind = kind_of(resolved.leaf.type)
    key: Callable[[Any], Any] = ROW_KEYS[kind] if kind != TEXT else str.casefold
    return (min if func == "MIN" else max)(values, key=key)


def run_aggregate(ctx: Context, query: ast.Query, obj: ObjectInfo, plan: RecordPlan) -> list[dict]:
    """AggregateResult records for ``query`` (``plan`` supplies the WHERE-filtered rows)."""
    aggregator = _Aggregator(ctx, query, obj)
    columns = _columns(ctx, query, aggregator)
    having = None
    if query.having is not None:
        having = ConditionCompiler(ctx, aggregator.operand, plan.semi_join).compile(query.having)
    sort_keys = []
    for item in query.order_by:
        operand = aggregator.operand(item.field)
        sort_keys.append(SortKey(operand.getter, operand.type, item.descending, item.nulls_first))
    envs = aggregator.environments(plan.matching_rows())
    if having is not None:
        envs = [env for env in envs if having(env)]
    offset = query.offset or 0
    end = None if query.limit is None else offset + query.limit
    envs = sort_rows(envs, sort_keys, end)[offset:end]
    records = []
    for env in envs:
        record: dict[str, Any] = {"attributes": {"type": "AggregateResult"}}
        for name, key in columns:
            record[name] = env[key]
        records.append(record)
    return records


def _columns(ctx: Context, query: ast.Query, aggregator: _Aggregator) -> list[tuple[str, Any]]:
    """(output name, environment key) per selected item, in select order."""
    columns: list[tuple[str, Any]] = []
    expr = 0
    for item in query.select:
        if isinstance(item, ast.Aggregate):
            key = aggregator.aggregate(item)
            name = item.alias
            if name is None:
                name = f"expr{expr}"
                expr += 1
            columns.append((name, key))
        elif isinstance(item, ast.FieldRef):
            index = aggregator.group_index(item)
            columns.append((aggregator.groups[index][1].leaf.name, index))
        else:
            pos = getattr(item, "pos", query.sobject_pos)
            raise err.malformed(ctx.text, pos, "This select item is not allowed with GROUP BY")
    return columns

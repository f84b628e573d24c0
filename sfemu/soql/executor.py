"""Run a parsed query over a DataSource and shape the records like Salesforce's JSON.

A :class:`RecordPlan` is built once per (sub)query: names are resolved and validated, the
WHERE becomes one closure, ORDER BY becomes key functions, and the select list becomes a
projection tree. Only rows that survive filtering, sorting, OFFSET and LIMIT are projected.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from sfemu.soql import ast
from sfemu.soql import errors as err
from sfemu.soql.aggregate import run_aggregate
from sfemu.soql.conditions import ID, ConditionCompiler, Operand, Predicate, kind_of
from sfemu.soql.ordering import SortKey, sort_rows
from sfemu.soql.parser import parse
from sfemu.soql.resolve import Context, Hop, Resolved
from sfemu.soql.source import DataSource, ObjectInfo

MAX_OFFSET = 2000
FIELDS_LIMIT = 200


@dataclass
class QueryResult:
    """What a query answers: ``records`` in wire shape; for COUNT() only ``total_size``."""

    total_size: int
    records: list[dict]
    is_count: bool = False


def execute(
    query: ast.Query | str,
    source: DataSource,
    *,
    include_deleted: bool = False,
    api_version: str = "62.0",
    root_rows: Iterable[dict] | None = None,
) -> QueryResult:
    """Validate ``query`` against ``source`` and run it (``include_deleted`` = queryAll).

    ``root_rows``, when given, replaces ``source.rows()`` for the queried object only (not
    for subqueries or semi-joins, even on the same object): a store may pre-filter with
    ``query.top_level_predicates()`` as long as it returns a superset of the matches.
    """
    if isinstance(query, str):
        query = parse(query)
    ctx = Context(
        source,
        query.text,
        include_deleted=include_deleted or query.all_rows,
        api_version=api_version,
    )
    obj = ctx.object_info(query.sobject, query.sobject_pos)
    if query.is_count and not query.group_by:
        _only_count(ctx, query)
        plan = RecordPlan(ctx, query, obj, project=False, rows=root_rows)
        return QueryResult(len(plan.select_rows()), [], is_count=True)
    if query.is_aggregate:
        plan = RecordPlan(ctx, query, obj, project=False, rows=root_rows)
        records = run_aggregate(ctx, query, obj, plan)
        return QueryResult(len(records), records)
    plan = RecordPlan(ctx, query, obj, rows=root_rows)
    rows = plan.select_rows()
    return QueryResult(len(rows), plan.records(rows))


def _only_count(ctx: Context, query: ast.Query) -> None:
    for item in query.select:
        if not isinstance(item, ast.CountAll):
            pos = getattr(item, "pos", 0)
            raise err.malformed(ctx.text, pos, "COUNT() and other fields cannot be selected together")


# ---------------------------------------------------------------------- projection


@dataclass
class Node:
    """Output shape of one record level: plain fields, parent objects, child subqueries."""

    entries: list[tuple[str, Any]] = field(default_factory=list)
    parents: dict[str, tuple[Hop, Node]] = field(default_factory=dict)
    seen: set[str] = field(default_factory=set)

    def add(self, resolved: Resolved) -> bool:
        """Add one resolved path; False when it was already selected (a duplicate)."""
        node = self
        for hop in resolved.hops:
            key = hop.name.lower()
            if key not in node.parents:
                child = Node()
                node.parents[key] = (hop, child)
                node.entries.append(("parent", (hop, child)))
            node = node.parents[key][1]
        leaf = resolved.leaf.name
        if leaf.lower() in node.seen:
            return False
        node.seen.add(leaf.lower())
        node.entries.append(("field", leaf))
        return True


class RecordPlan:
    """A validated non-aggregate (sub)query on ``obj``."""

    def __init__(
        self,
        ctx: Context,
        query: ast.Query,
        obj: ObjectInfo,
        *,
        project: bool = True,
        rows: Iterable[dict] | None = None,
    ) -> None:
        self.ctx = ctx
        self.query = query
        self.obj = obj
        self.rows = rows
        self.root = Node()
        self.children: list[ChildPlan] = []
        _check_offset(ctx, query)
        if project:
            self._project(query.select)
        compiler = ConditionCompiler(ctx, self.operand, self.semi_join)
        self.predicate: Predicate | None = compiler.compile(query.where) if query.where is not None else None
        self.sort_keys = [] if query.is_aggregate else [self._sort_key(o) for o in query.order_by]

    # ----------------------------------------------------------------- validation
    def _project(self, items: list[ast.SelectItem]) -> None:
        for item in items:
            if isinstance(item, ast.FieldsMacro):
                self._fields_macro(item)
            elif isinstance(item, ast.FieldRef):
                self._select_field(item)
            elif isinstance(item, ast.SubQuery):
                child = ChildPlan(self.ctx, item, self.obj)
                self.children.append(child)
                self.root.entries.append(("child", child))
            else:
                raise err.malformed(self.ctx.text, item.pos, "Field must be grouped or aggregated: COUNT")

    def _select_field(self, ref: ast.FieldRef) -> None:
        resolved = self.ctx.resolve(self.obj, ref)
        if not self.root.add(resolved):
            raise err.SoqlError("INVALID_FIELD", f"duplicate field selected: {ref.dotted}")

    def _fields_macro(self, item: ast.FieldsMacro) -> None:
        if item.kind != "STANDARD" and (self.query.limit is None or self.query.limit > 200):
            raise err.malformed(
                self.ctx.text,
                item.pos,
                f"The SOQL FIELDS function must have a LIMIT of at most {FIELDS_LIMIT}",
            )
        for info in self.obj.fields.values():
            custom = info.name.endswith("__c")
            if item.kind == "ALL" or custom == (item.kind == "CUSTOM"):
                self._select_field(ast.FieldRef((info.name,), pos=item.pos))

    def operand(self, node: Any) -> Operand:
        if isinstance(node, ast.Aggregate):
            raise err.malformed(self.ctx.text, node.pos, "Aggregate functions are not allowed in WHERE")
        resolved = self.ctx.resolve(self.obj, node)
        leaf = resolved.leaf
        return Operand(resolved.getter, leaf.type, leaf.name, node.pos, leaf.filterable)

    def semi_join(self, node: ast.InSubquery) -> frozenset:
        inner = node.query
        obj = self.ctx.object_info(inner.sobject, inner.sobject_pos)
        selected = inner.select[0]
        if len(inner.select) != 1 or not isinstance(selected, ast.FieldRef):
            raise err.malformed(
                self.ctx.text,
                getattr(selected, "pos", inner.sobject_pos),
                "semi join sub-selects can only select a single id or reference field",
            )
        resolved = self.ctx.resolve(obj, selected)
        if kind_of(resolved.leaf.type) != ID:
            raise err.malformed(
                self.ctx.text,
                selected.pos,
                "semi join sub-selects can only select a single id or reference field",
            )
        plan = RecordPlan(self.ctx, inner, obj, project=False)
        return frozenset(v for v in map(resolved.getter, plan.select_rows()) if v)

    def _sort_key(self, item: ast.OrderItem) -> SortKey:
        if isinstance(item.field, ast.Aggregate):
            raise err.malformed(self.ctx.text, item.field.pos, "Ordering by an aggregate needs GROUP BY")
        resolved = self.ctx.resolve(self.obj, item.field)
        if not resolved.leaf.sortable:
            raise err.at(
                "INVALID_FIELD",
                self.ctx.text,
                item.field.pos,
                f"field '{resolved.leaf.name}' can not be sorted in a query call",
            )
        return SortKey(resolved.getter, resolved.leaf.type, item.descending, item.nulls_first)

    # -------------------------------------------------------------------- running
    def matching_rows(self) -> list[dict]:
        """Rows of the object that pass WHERE (before ORDER BY / LIMIT / OFFSET)."""
        rows = self.rows
        if rows is None:
            rows = self.ctx.source.rows(self.obj.name, include_deleted=self.ctx.include_deleted)
        predicate = self.predicate
        if predicate is None:
            return list(rows)
        return [row for row in rows if predicate(row)]

    def select_rows(self) -> list[dict]:
        return self.window(self.matching_rows())

    def window(self, rows: list[dict]) -> list[dict]:
        """ORDER BY, then OFFSET and LIMIT."""
        offset = self.query.offset or 0
        limit = self.query.limit
        end = None if limit is None else offset + limit
        ordered = sort_rows(rows, self.sort_keys, end)
        return ordered[offset:end] if offset or end is not None else ordered

    def records(self, rows: list[dict]) -> list[dict]:
        """Project ``rows`` into Salesforce's record JSON."""
        name = self.obj.name
        if all(kind == "field" for kind, _ in self.root.entries):
            return self._render_flat(rows, name)
        child_results = {id(child): child.results_for(rows) for child in self.children}
        return [self._render(self.root, row, name, name, child_results) for row in rows]

    def _render_flat(self, rows: list[dict], name: str) -> list[dict]:
        """Fast path for the common case: only plain fields of the queried object."""
        prefix = self.ctx.url(name, "")
        names = [payload for _, payload in self.root.entries]
        out = []
        for row in rows:
            record: dict[str, Any] = {"attributes": {"type": name, "url": f"{prefix}{row['Id']}"}}
            for field_name in names:
                record[field_name] = row.get(field_name)
            out.append(record)
        return out

    def _render(self, node: Node, row: dict, sobject: str, label: str, children: dict[int, dict]) -> dict:
        record: dict[str, Any] = {"attributes": {"type": label, "url": self.ctx.url(sobject, row.get("Id"))}}
        for kind, payload in node.entries:
            if kind == "field":
                record[payload] = row.get(payload)
            elif kind == "parent":
                hop, sub = payload
                found = self.ctx.parent(row.get(hop.lookup.name))
                if found is None:
                    record[hop.name] = None
                else:
                    parent_type, parent_row = found
                    sub_label = "Name" if hop.polymorphic else parent_type
                    record[hop.name] = self._render(sub, parent_row, parent_type, sub_label, children)
            else:
                record[payload.name] = children[id(payload)].get(row.get("Id"))
        return record


def _check_offset(ctx: Context, query: ast.Query) -> None:
    if query.offset is not None and query.offset > MAX_OFFSET:
        raise err.at(
            "NUMBER_OUTSIDE_VALID_RANGE",
            ctx.text,
            query.offset_pos,
            f"Maximum SOQL offset allowed is {MAX_OFFSET}",
        )


class ChildPlan:
    """A parent-to-child subquery: ``(SELECT LastName FROM Contacts ...)``."""

    def __init__(self, ctx: Context, sub: ast.SubQuery, parent: ObjectInfo) -> None:
        query = sub.query
        relation = parent.child_relationships.get(query.sobject.lower())
        if relation is None:
            raise err.bad_child_relationship(ctx.text, query.sobject_pos, query.sobject)
        child_object, self.child_field = relation[0], relation[1]
        # The contract keys relationships by lower-cased name; a third element, when a
        # source provides one, is the canonical spelling Salesforce uses as the JSON key.
        self.name = relation[2] if len(relation) > 2 else query.sobject
        obj = ctx.object_info(child_object, query.sobject_pos)
        if query.is_aggregate or query.is_count:
            raise err.malformed(
                ctx.text, query.sobject_pos, "Aggregate functions are not allowed in a subquery"
            )
        self.plan = RecordPlan(ctx, query, obj)

    def results_for(self, parents: list[dict]) -> dict[Any, dict]:
        """parent Id → ``{"totalSize", "done", "records"}`` for parents that have children."""
        if not parents:
            return {}
        wanted = {row.get("Id") for row in parents}
        field_name = self.child_field
        predicate = self.plan.predicate
        ctx = self.plan.ctx
        grouped: dict[Any, list[dict]] = defaultdict(list)
        for row in ctx.source.rows(self.plan.obj.name, include_deleted=ctx.include_deleted):
            parent_id = row.get(field_name)
            if parent_id in wanted and (predicate is None or predicate(row)):
                grouped[parent_id].append(row)
        results: dict[Any, dict] = {}
        for parent_id, rows in grouped.items():
            selected = self.plan.window(rows)
            if selected:
                records = self.plan.records(selected)
                results[parent_id] = {"totalSize": len(records), "done": True, "records": records}
        return results

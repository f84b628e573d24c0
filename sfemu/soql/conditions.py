"""WHERE / HAVING → one Python closure per query, typed by the fields' describe types.

Semantics follow Salesforce: text compares case-insensitively and ``''`` means null,
``x != v`` and ``NOT IN`` include nulls, ``< <= > >=`` and LIKE never match null, date
literals are day ranges, a datetime field only takes datetime literals (and a date field
only date literals), ids compare in their 18-char form whatever length the literal has.
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sfemu.ids import normalize as normalize_id
from sfemu.soql import ast
from sfemu.soql import errors as err
from sfemu.soql.dates import date_key, datetime_key, day_start, format_datetime, literal_range
from sfemu.soql.resolve import Context, Getter

Predicate = Callable[[dict], bool]

TEXT, ID, BOOL, NUM = "text", "id", "bool", "num"
DATE, DATETIME, MULTI = "date", "datetime", "multi"
_KINDS = {
    "id": ID,
    "reference": ID,
    "boolean": BOOL,
    "int": NUM,
    "double": NUM,
    "currency": NUM,
    "percent": NUM,
    "long": NUM,
    "date": DATE,
    "datetime": DATETIME,
    "multipicklist": MULTI,
}
# Type names as Salesforce spells them in "must be of type X" (SOAP type names).
_TYPE_NAMES = {"int": "int", "long": "long", "boolean": "boolean", "date": "date"}
_TYPE_NAMES.update({"datetime": "dateTime", "id": "id", "reference": "id"})
_TYPE_NAMES.update({"double": "double", "currency": "double", "percent": "double"})
_ORDER_OPS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge}


def kind_of(field_type: str) -> str:
    """The comparison family of a describe type."""
    return _KINDS.get(field_type, TEXT)


def _text_key(value: Any) -> Any:
    if value is None or value == "":
        return None
    return value.casefold() if isinstance(value, str) else str(value).casefold()


def _num_key(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return value


def _multi_key(value: Any) -> frozenset[str] | None:
    if not value:
        return None
    return frozenset(p.strip().casefold() for p in str(value).split(";") if p.strip())


def _identity(value: Any) -> Any:
    return None if value == "" else value


ROW_KEYS: dict[str, Callable[[Any], Any]] = {
    TEXT: _text_key,
    ID: _identity,
    BOOL: _identity,
    NUM: _num_key,
    DATE: date_key,
    DATETIME: datetime_key,
    MULTI: _multi_key,
}


@dataclass(frozen=True)
class Operand:
    """The left side of a predicate: how to read it and what type it has."""

    getter: Getter
    type: str
    name: str
    pos: int
    filterable: bool = True


@dataclass(frozen=True)
class _Range:
    low: str
    high: str  # exclusive


OperandResolver = Callable[[Any], Operand]
SemiJoin = Callable[[ast.InSubquery], frozenset]


class ConditionCompiler:
    """Compiles condition trees for one (sub)query."""

    def __init__(self, ctx: Context, resolve: OperandResolver, semi_join: SemiJoin) -> None:
        self.ctx = ctx
        self.resolve = resolve
        self.semi_join = semi_join

    def compile(self, cond: ast.Condition) -> Predicate:
        if isinstance(cond, ast.And):
            parts = [self.compile(c) for c in cond.items]
            return lambda row: all(p(row) for p in parts)
        if isinstance(cond, ast.Or):
            parts = [self.compile(c) for c in cond.items]
            return lambda row: any(p(row) for p in parts)
        if isinstance(cond, ast.Not):
            inner = self.compile(cond.item)
            return lambda row: not inner(row)
        operand = self._operand(cond.field)
        if isinstance(cond, ast.Comparison):
            if cond.op == "LIKE":
                return self._like(operand, cond.value)
            return self._compare(operand, cond.op, cond.value)
        if isinstance(cond, ast.InList):
            return self._in_list(operand, cond)
        if isinstance(cond, ast.InSubquery):
            return self._in_subquery(operand, cond)
        return self._includes(operand, cond)

    def _operand(self, node: Any) -> Operand:
        operand = self.resolve(node)
        if not operand.filterable:
            raise err.at(
                "INVALID_FIELD",
                self.ctx.text,
                operand.pos,
                f"field '{operand.name}' can not be filtered in a query call",
            )
        return operand

    # -------------------------------------------------------------------- literals
    def literal_key(self, operand: Operand, lit: ast.Literal) -> Any:
        """The comparable form of ``lit`` for ``operand``'s type, or a type error."""
        if isinstance(lit, ast.NullLit):
            return None
        kind = kind_of(operand.type)
        if kind in (DATETIME, DATE):
            return self._date_literal(operand, lit, kind)
        if kind == BOOL and isinstance(lit, ast.BoolLit):
            return lit.value
        if kind == NUM and isinstance(lit, ast.NumberLit):
            value = lit.value
            return int(value) if value == value.to_integral_value() else float(value)
        if kind in (TEXT, MULTI) and isinstance(lit, ast.StringLit):
            return ROW_KEYS[kind](lit.value)
        if kind == ID and isinstance(lit, ast.StringLit):
            return self._id_literal(operand, lit)
        raise self._type_error(operand, kind)

    def _date_literal(self, operand: Operand, lit: ast.Literal, kind: str) -> Any:
        if isinstance(lit, ast.DateRangeLit):
            low, high = literal_range(lit, self.ctx.today)
            if kind == DATE:
                return _Range(low.isoformat(), high.isoformat())
            return _Range(day_start(low), day_start(high))
        if kind == DATE and isinstance(lit, ast.DateLit):
            return lit.value.isoformat()
        if kind == DATETIME and isinstance(lit, ast.DateTimeLit):
            return format_datetime(lit.value)
        raise self._type_error(operand, kind)

    def _id_literal(self, operand: Operand, lit: ast.StringLit) -> str | None:
        if lit.value == "":
            return None
        normalized = normalize_id(lit.value)
        if normalized is None:
            raise err.malformed(self.ctx.text, operand.pos, f"invalid ID field: {lit.value}")
        return normalized

    def _type_error(self, operand: Operand, kind: str) -> err.SoqlError:
        type_name = _TYPE_NAMES.get(operand.type, "string")
        quoted = kind in (TEXT, MULTI, ID)
        return err.wrong_value_type(self.ctx.text, operand.pos, operand.name, type_name, quoted=quoted)

    # ------------------------------------------------------------------- operators
    def _compare(self, operand: Operand, op: str, lit: ast.Literal) -> Predicate:
        key = ROW_KEYS[kind_of(operand.type)]
        get = operand.getter
        value = self.literal_key(operand, lit)
        if isinstance(value, _Range):
            return _range_predicate(get, key, op, value)
        if value is None:
            if op == "=":
                return lambda row: key(get(row)) is None
            if op == "!=":
                return lambda row: key(get(row)) is not None
            return lambda row: False
        if op == "=":
            return lambda row: key(get(row)) == value
        if op == "!=":
            return lambda row: key(get(row)) != value
        compare = _ORDER_OPS[op]

        def ordered(row: dict) -> bool:
            current = key(get(row))
            return current is not None and compare(current, value)

        return ordered

    def _like(self, operand: Operand, lit: ast.Literal) -> Predicate:
        if not isinstance(lit, ast.StringLit):
            raise err.malformed(self.ctx.text, _pos(lit), "invalid operator on LIKE value")
        match = like_regex(lit.raw).fullmatch
        get = operand.getter

        def like(row: dict) -> bool:
            value = get(row)
            return value is not None and value != "" and match(str(value)) is not None

        return like

    def _in_list(self, operand: Operand, node: ast.InList) -> Predicate:
        keys = [self.literal_key(operand, lit) for lit in node.values]
        if any(isinstance(k, _Range) for k in keys):
            parts = [self._compare(operand, "=", lit) for lit in node.values]

            def any_range(row: dict) -> bool:
                return any(p(row) for p in parts)

            return (lambda row: not any_range(row)) if node.negated else any_range
        members = frozenset(keys)
        key = ROW_KEYS[kind_of(operand.type)]
        get = operand.getter
        if node.negated:
            return lambda row: key(get(row)) not in members
        return lambda row: key(get(row)) in members

    def _in_subquery(self, operand: Operand, node: ast.InSubquery) -> Predicate:
        if kind_of(operand.type) != ID:
            raise err.malformed(
                self.ctx.text,
                operand.pos,
                "semi join sub-selects are only allowed on id and reference fields",
            )
        members = self.semi_join(node)
        get = operand.getter
        if node.negated:
            return lambda row: get(row) not in members
        return lambda row: get(row) in members

    def _includes(self, operand: Operand, node: ast.Includes) -> Predicate:
        if kind_of(operand.type) != MULTI:
            word = "EXCLUDES" if node.excludes else "INCLUDES"
            raise err.at(
                "INVALID_FIELD",
                self.ctx.text,
                operand.pos,
                f"{word} operator is only valid on multi-select picklist fields: {operand.name}",
            )
        wanted = [self.literal_key(operand, lit) for lit in node.values]
        sets = [w for w in wanted if w]
        get = operand.getter

        def includes(row: dict) -> bool:
            have = _multi_key(get(row))
            return have is not None and any(s <= have for s in sets)

        return (lambda row: not includes(row)) if node.excludes else includes


def _range_predicate(get: Getter, key: Callable[[Any], Any], op: str, rng: _Range) -> Predicate:
    low, high = rng.low, rng.high

    def inside(row: dict) -> bool:
        current = key(get(row))
        return current is not None and low <= current < high

    if op == "=":
        return inside
    if op == "!=":
        return lambda row: not inside(row)
    bound, compare = {
        "<": (low, operator.lt),
        "<=": (high, operator.lt),
        ">": (high, operator.ge),
        ">=": (low, operator.ge),
    }[op]

    def ordered(row: dict) -> bool:
        current = key(get(row))
        return current is not None and compare(current, bound)

    return ordered


def _pos(lit: ast.Literal) -> int:
    return getattr(lit, "pos", 0)


@lru_cache(maxsize=1024)
def like_regex(raw: str) -> re.Pattern[str]:
    """Regex of a LIKE pattern given as written (quotes included): % and _ are wildcards,
    backslash escapes make them (and quotes) literal; matching ignores case."""
    body = raw[1:-1]
    out: list[str] = []
    i = 0
    while i < len(body):
        ch = body[i]
        if ch == "\\" and i + 1 < len(body):
            nxt = body[i + 1]
            literal = {"n": "\n", "r": "\r", "t": "\t", "b": "\b", "f": "\f"}.get(nxt, nxt)
            out.append(re.escape(literal))
            i += 2
            continue
        out.append(".*" if ch == "%" else "." if ch == "_" else re.escape(ch))
        i += 1
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)

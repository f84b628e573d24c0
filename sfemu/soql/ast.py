"""SOQL syntax tree: plain dataclasses, no behaviour beyond small helpers.

Every node that can be the subject of an error carries ``pos``, the 0-based character offset
of its first character in the query text, so messages can point a caret at it the way
Salesforce does. Names are kept as written; the executor resolves them case-insensitively.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

# ---------------------------------------------------------------------------- literals


@dataclass(frozen=True)
class StringLit:
    value: str
    pos: int = 0
    raw: str = ""  # as written, quotes included; LIKE needs it to tell \% from %


@dataclass(frozen=True)
class NumberLit:
    value: Decimal
    pos: int = 0
    text: str = ""


@dataclass(frozen=True)
class BoolLit:
    value: bool
    pos: int = 0


@dataclass(frozen=True)
class NullLit:
    pos: int = 0


@dataclass(frozen=True)
class DateLit:
    value: date
    pos: int = 0
    text: str = ""


@dataclass(frozen=True)
class DateTimeLit:
    value: datetime  # aware
    pos: int = 0
    text: str = ""


@dataclass(frozen=True)
class DateRangeLit:
    """A relative date literal: TODAY, LAST_N_DAYS:30, THIS_FISCAL_QUARTER, ..."""

    name: str  # upper-cased, e.g. "LAST_N_DAYS"
    n: int | None = None
    pos: int = 0
    text: str = ""


Literal = StringLit | NumberLit | BoolLit | NullLit | DateLit | DateTimeLit | DateRangeLit

# ------------------------------------------------------------------------------ fields


@dataclass(frozen=True)
class FieldRef:
    """A field or a parent relationship path: ``Name``, ``Account.Owner.Name``."""

    path: tuple[str, ...]
    pos: int = 0

    @property
    def dotted(self) -> str:
        return ".".join(self.path)


@dataclass(frozen=True)
class Aggregate:
    """``COUNT(Id)``, ``MAX(Amount)``, ``COUNT_DISTINCT(x)``; ``field`` None only for COUNT()."""

    func: str  # upper-cased
    field: FieldRef | None
    alias: str | None = None
    pos: int = 0


@dataclass(frozen=True)
class CountAll:
    """``COUNT()``: the query answers with a bare count."""

    pos: int = 0


@dataclass(frozen=True)
class FieldsMacro:
    """``FIELDS(ALL|STANDARD|CUSTOM)``."""

    kind: str
    pos: int = 0


@dataclass(frozen=True)
class SubQuery:
    """A child relationship subquery in the select list."""

    query: Query
    pos: int = 0


SelectItem = FieldRef | Aggregate | CountAll | FieldsMacro | SubQuery

# -------------------------------------------------------------------------- conditions


@dataclass(frozen=True)
class Comparison:
    """``field op value`` with op one of = != < <= > >= LIKE."""

    field: FieldRef | Aggregate
    op: str  # "=", "!=", "<", "<=", ">", ">=", "LIKE"
    value: Literal
    pos: int = 0


@dataclass(frozen=True)
class InList:
    field: FieldRef
    values: tuple[Literal, ...]
    negated: bool = False
    pos: int = 0


@dataclass(frozen=True)
class InSubquery:
    """Semi-join ``Id IN (SELECT AccountId FROM Contact)`` / anti-join with NOT IN."""

    field: FieldRef
    query: Query
    negated: bool = False
    pos: int = 0


@dataclass(frozen=True)
class Includes:
    """Multi-select picklist ``INCLUDES ('a;b', 'c')`` / ``EXCLUDES (...)``."""

    field: FieldRef
    values: tuple[Literal, ...]
    excludes: bool = False
    pos: int = 0


@dataclass(frozen=True)
class And:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Or:
    items: tuple[Condition, ...]


@dataclass(frozen=True)
class Not:
    item: Condition


Condition = Comparison | InList | InSubquery | Includes | And | Or | Not

# ------------------------------------------------------------------------------- query


@dataclass(frozen=True)
class OrderItem:
    field: FieldRef | Aggregate
    descending: bool = False
    nulls_first: bool | None = None  # None = Salesforce default (first for ASC, last for DESC)


@dataclass
class Query:
    select: list[SelectItem]
    sobject: str
    sobject_pos: int = 0
    alias: str | None = None
    where: Condition | None = None
    group_by: list[FieldRef] = field(default_factory=list)
    having: Condition | None = None
    order_by: list[OrderItem] = field(default_factory=list)
    limit: int | None = None
    limit_pos: int = 0
    offset: int | None = None
    offset_pos: int = 0
    all_rows: bool = False
    for_clause: str | None = None  # "VIEW", "REFERENCE" or "UPDATE"; accepted, ignored
    text: str = ""  # the full statement this node came from (errors echo it)

    @property
    def is_count(self) -> bool:
        """True for ``SELECT COUNT() FROM ...``."""
        return any(isinstance(item, CountAll) for item in self.select)

    @property
    def is_aggregate(self) -> bool:
        return bool(self.group_by) or any(isinstance(i, Aggregate) for i in self.select)

    def top_level_predicates(self) -> list[Comparison | InList]:
        """Comparisons and IN lists ANDed at the top of WHERE, on plain (one-segment) fields.

        A store may pre-filter rows with these (e.g. ``SystemModstamp > X``, ``Id IN (...)``,
        ``IsDeleted = true``); the executor still evaluates the full WHERE afterwards, so a
        pre-filter only has to return a superset. Field names are as written (any case); an
        alias prefix (``FROM Account a ... a.Name``) has already been stripped by the parser.
        """
        where = self.where
        items: tuple[Condition, ...] = where.items if isinstance(where, And) else (where,)
        found: list[Comparison | InList] = []
        for item in items:
            if (
                isinstance(item, Comparison | InList)
                and isinstance(item.field, FieldRef)
                and len(item.field.path) == 1
            ):
                found.append(item)
        return found

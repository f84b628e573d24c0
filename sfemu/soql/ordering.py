"""ORDER BY: Salesforce's null placement, case-insensitive text, stable multi-key sorts."""

from __future__ import annotations

import heapq
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sfemu.soql.conditions import ID, MULTI, ROW_KEYS, TEXT, kind_of
from sfemu.soql.resolve import Getter


@dataclass(frozen=True)
class SortKey:
    getter: Getter
    field_type: str
    descending: bool
    nulls_first: bool | None  # None = default: first for ASC, last for DESC

    def key_function(self) -> Callable[[Any], tuple]:
        """Key whose plain (or reversed, for DESC) order is the wanted one, nulls included."""
        kind = kind_of(self.field_type)
        value_key = ROW_KEYS[kind] if kind != ID else _id_key
        nulls_first = (not self.descending) if self.nulls_first is None else self.nulls_first
        # With reverse=True the larger rank comes first, so flip the null rank for DESC.
        null_rank = 0 if nulls_first != self.descending else 2
        get = self.getter
        if kind in (TEXT, MULTI):
            value_key = _text_sort_key

        def key(row: Any) -> tuple:
            value = value_key(get(row))
            if value is None:
                return (null_rank, 0)
            return (1, value)

        return key


def _id_key(value: Any) -> Any:
    return value or None


def _text_sort_key(value: Any) -> Any:
    if value is None or value == "":
        return None
    return value.casefold() if isinstance(value, str) else value


def sort_rows(rows: list, keys: list[SortKey], limit: int | None) -> list:
    """Rows ordered by ``keys``; when ``limit`` is given only the first ``limit`` are kept."""
    if not keys:
        return rows if limit is None else rows[:limit]
    functions = [k.key_function() for k in keys]
    directions = {k.descending for k in keys}
    if len(directions) == 1:
        descending = directions.pop()
        if len(functions) == 1:
            combined = functions[0]
        else:

            def combined(row: Any) -> tuple:
                return tuple(f(row) for f in functions)

        if limit is not None and limit < len(rows) // 4:
            pick = heapq.nlargest if descending else heapq.nsmallest
            return pick(limit, rows, key=combined)
        ordered = sorted(rows, key=combined, reverse=descending)
        return ordered if limit is None else ordered[:limit]
    ordered = list(rows)
    for sort_key, function in reversed(list(zip(keys, functions, strict=True))):
        ordered.sort(key=function, reverse=sort_key.descending)
    return ordered if limit is None else ordered[:limit]

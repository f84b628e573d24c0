"""Set-based writes the ORM does slowly: inserting many rows, updating many rows to values of
their own.

Django's `bulk_update` builds a `CASE WHEN id = … THEN …` expression per row and field in Python,
seconds per thousand rows; the engine records up to 10,000 outcomes at once (`apply.py`). One
`UPDATE … FROM (VALUES …)` per batch does the same in the database (SQLite 3.33 and later), and
`UPDATE … FROM unnest(arrays)` on PostgreSQL (see `_unnest_insert` for why arrays).

`bulk_create` likewise prepares every field of every row in Python (about 0.27 ms per record
queue row, most of a 10,000-record capture's own time); `insert_rows` prepares the values all
rows share once and sends many rows per statement.

`__in` prepares each value of its list on its own (the field's `get_prep_value` and
`get_db_prep_value`, then a check for expressions): a tenth of a busy worker's time with the
engine's lists of hundreds of ids. `field__in_ids=[…]` (`InIds`) sends the list as it is.
"""

import sqlite3
from collections.abc import Iterable, Sequence

from django.db import connection, transaction
from django.db.models import Field, Model
from django.db.models.lookups import In
from django.utils import timezone

BATCH = 500


class InIds(In):
    """`field__in_ids=[…]`: `__in` over ids (str or int), which are already what the database
    takes, so the list goes to it without Django's per-value preparation. Registered on every
    field by `ReplicationConfig.ready`."""

    lookup_name = "in_ids"

    def get_prep_lookup(self) -> list:
        values = list(self.rhs)
        if not all(type(value) in (str, int) for value in values):
            raise TypeError("in_ids takes ids (str or int) only; use __in for other values")
        return values

    def batch_process_rhs(self, compiler, connection, rhs=None) -> tuple[tuple[str, ...], tuple]:
        values = tuple(self.rhs if rhs is None else rhs)
        return ("%s",) * len(values), values


def update_rows(model: type[Model], rows: Sequence[Model], fields: Sequence[str]) -> None:
    """Write `fields` of each of `rows` (saved instances of `model`) as they are in memory."""
    if not rows or not fields:
        return
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    statement = _unnest_update if connection.vendor == "postgresql" else _values_update
    size = 5000 if connection.vendor == "postgresql" else BATCH
    with connection.cursor() as cursor:
        for start in range(0, len(rows), size):
            batch = [
                [row.pk, *(_prep(c, getattr(row, c.attname)) for c in columns)]
                for row in rows[start : start + size]
            ]
            cursor.execute(*statement(meta, columns, batch))


def _values_update(meta, columns: list[Field], batch: list[list]) -> tuple[str, list]:
    """SQLite: `UPDATE … FROM (VALUES …)`, whose columns are named column1, column2, …"""
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    assignments = ", ".join(f"{quote(c.column)} = v.column{n}" for n, c in enumerate(columns, start=2))
    row = "(" + ", ".join(["%s"] * (len(columns) + 1)) + ")"
    sql = (
        f"UPDATE {table} SET {assignments} FROM (VALUES {', '.join([row] * len(batch))}) AS v "
        f"WHERE {table}.{quote(meta.pk.column)} = v.column1"
    )
    return sql, [value for values in batch for value in values]


def _unnest_update(meta, columns: list[Field], batch: list[list]) -> tuple[str, list]:
    """PostgreSQL: `UPDATE … FROM unnest(array, …)`, one array per column (`_unnest_insert`)."""
    quote = connection.ops.quote_name
    table = quote(meta.db_table)
    assignments = ", ".join(f"{quote(c.column)} = v.c{n}" for n, c in enumerate(columns, start=1))
    arrays = ", ".join(f"%s::{c.db_type(connection)}[]" for c in [meta.pk, *columns])
    names = ", ".join(f"c{n}" for n in range(len(columns) + 1))
    sql = (
        f"UPDATE {table} SET {assignments} FROM unnest({arrays}) AS v({names}) "
        f"WHERE {table}.{quote(meta.pk.column)} = v.c0"
    )
    return sql, [list(column) for column in zip(*batch, strict=True)]


PLAIN = (str, bool, int, type(None))  # values every backend takes as they are


def _prep(field: Field, value: object) -> object:
    return value if type(value) in PLAIN else field.get_db_prep_save(value, connection)


def insert_rows(
    model: type[Model],
    fields: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    shared: dict[str, object] | None = None,
    ignore_conflicts: bool = False,
) -> None:
    """Insert one row of `model` per item of `rows`, the values of `fields` in that order, as the
    database takes them (strings, numbers, booleans, None). `shared` values (by field name or
    attname) go into every row; every other column gets its default, auto_now fields the time
    now. `ignore_conflicts` skips a row that breaks a unique constraint (ON CONFLICT DO NOTHING,
    SQLite and PostgreSQL alike); without it, an IntegrityError fails the whole statement."""
    params = list(rows)
    if not params:
        return
    meta = model._meta
    named = [meta.get_field(name) for name in fields]
    constants = _constants(model, {**(shared or {})}, {f.attname for f in named})
    tail = [f.get_db_prep_save(value, connection) for f, value in constants.items()]
    statement = _unnest_insert if connection.vendor == "postgresql" else _values_insert
    sql, size, params_of = statement(meta, named, list(constants), ignore_conflicts)
    with transaction.atomic(savepoint=False), connection.cursor() as cursor:  # one commit, not one per row
        for start in range(0, len(params), size):
            batch = params[start : start + size]
            cursor.execute(sql(len(batch)), params_of(batch, tail))


def _values_insert(meta, named: list[Field], constant: list[Field], ignore_conflicts: bool):
    """SQLite: `INSERT … VALUES (…), (…)`, up to BATCH rows, as many as its parameters allow."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in [*named, *constant])
    row = "(" + ", ".join(["%s"] * (len(named) + len(constant))) + ")"
    conflict = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    size = max(1, min(BATCH, _sqlite_parameters() // (len(named) + len(constant))))

    def sql(rows: int) -> str:
        return f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES {', '.join([row] * rows)}{conflict}"

    def params_of(batch: list, tail: list) -> list:
        return [value for values in batch for value in (*values, *tail)]

    return sql, size, params_of


def _sqlite_parameters() -> int:
    """This SQLite's limit on parameters per statement (32,766 since 3.32; Django assumes 999)."""
    connection.ensure_connection()
    return connection.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)


def _unnest_insert(meta, named: list[Field], constant: list[Field], ignore_conflicts: bool):
    """PostgreSQL: `INSERT … SELECT … FROM unnest(array, …)`, one array per column of `named`.
    Thousands of placeholders in one statement cost psycopg's client-side binding more than the
    insert itself, and its executemany is a round trip per row; an array is one parameter."""
    quote = connection.ops.quote_name
    columns = ", ".join(quote(f.column) for f in [*named, *constant])
    names = [f"c{n}" for n in range(len(named))]
    select = ", ".join([*names, *(f"%s::{f.db_type(connection)}" for f in constant)])
    arrays = ", ".join(f"%s::{f.db_type(connection)}[]" for f in named)
    conflict = " ON CONFLICT DO NOTHING" if ignore_conflicts else ""
    text = (
        f"INSERT INTO {quote(meta.db_table)} ({columns}) SELECT {select} "
        f"FROM unnest({arrays}) AS v({', '.join(names)}){conflict}"
    )

    def params_of(batch: list, tail: list) -> list:
        return [*tail, *(list(column) for column in zip(*batch, strict=True))]

    return (lambda rows: text), 5000, params_of


def _constants(model: type[Model], shared: dict[str, object], given: set[str]) -> dict[Field, object]:
    now = timezone.now()
    constants: dict[Field, object] = {}
    for field in model._meta.concrete_fields:
        if field.primary_key or field.attname in given:
            continue
        if field.name in shared or field.attname in shared:
            constants[field] = shared.get(field.name, shared.get(field.attname))
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            constants[field] = now
        else:
            constants[field] = field.get_default()
    return constants

"""Set-based writes the ORM does slowly: updating many rows to values of their own.

Django's `bulk_update` builds a `CASE WHEN id = … THEN …` expression per row and field in Python,
seconds per thousand rows; the engine records up to 10,000 outcomes at once (`apply.py`). One
`UPDATE … FROM (VALUES …)` per batch does the same in the database. SQLite (3.33 and later) and
PostgreSQL both name the columns of a VALUES list column1, column2, …, so one statement serves both.
"""

from collections.abc import Sequence

from django.db import connection
from django.db.models import Model

BATCH = 500


def update_rows(model: type[Model], rows: Sequence[Model], fields: Sequence[str]) -> None:
    """Write `fields` of each of `rows` (saved instances of `model`) as they are in memory."""
    if not rows or not fields:
        return
    quote = connection.ops.quote_name
    meta = model._meta
    table = quote(meta.db_table)
    columns = [meta.get_field(name) for name in fields]
    assignments = ", ".join(f"{quote(c.column)} = v.column{n}" for n, c in enumerate(columns, start=2))
    placeholders = "(" + ", ".join(["%s"] * (len(columns) + 1)) + ")"
    with connection.cursor() as cursor:
        for start in range(0, len(rows), BATCH):
            batch = rows[start : start + BATCH]
            params = []
            for row in batch:
                params.append(row.pk)
                params.extend(c.get_db_prep_save(getattr(row, c.attname), connection) for c in columns)
            values = ", ".join([placeholders] * len(batch))
            cursor.execute(
                f"UPDATE {table} SET {assignments} FROM (VALUES {values}) AS v "
                f"WHERE {table}.{quote(meta.pk.column)} = v.column1",
                params,
            )

"""Inserts of many new model rows where Django's bulk_create costs more than the database.

bulk_create prepares every value of every row through the field (pre_save, get_db_prep_save)
and, on PostgreSQL, quotes the UNNEST arrays in Python: about 5 ms of CPU for 25 leads, more than
the rows cost the server. rows_insert prepares a row as the attribute values themselves (a JSON
field through the backend's own adapter; the few other kinds through the field), and sends a few
rows as one INSERT ... VALUES through executemany, which psycopg runs in its pipeline (one round
trip), with the parameters bound by the server; many rows go by COPY. The
same rows, the same defaults and timestamps; other databases (SQLite) keep bulk_create.

For models whose primary key the application sets (a UUID default): rows needing an id back
from the database keep bulk_create.
"""

from __future__ import annotations

import functools
import time
from typing import Any

import psycopg
from django.db import connection, models

# From this many rows on, COPY (one more round trip than a pipelined executemany, but about half
# its CPU here and on the server: 25 leads, 2.2 -> 1.2 ms of CPU, 10.7 -> 6.6 ms wall).
COPY_FROM_ROWS = 8

# Field kinds whose attribute value is what the database gets (psycopg adapts it).
_AS_IS = {
    "CharField",
    "TextField",
    "UUIDField",
    "DateTimeField",
    "BooleanField",
    "IntegerField",
    "BigIntegerField",
    "PositiveIntegerField",
    "PositiveSmallIntegerField",
    "SmallIntegerField",
    "ForeignKey",
}


def rows_insert(model: type[models.Model], objs: list[models.Model]) -> None:
    """INSERT these new instances (their primary keys already set) and mark them saved."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs)
        return
    sql, copy_sql, fields, stamped = _insert_plan(model)
    rows = []
    for obj in objs:
        for field in stamped:
            field.pre_save(obj, add=True)
        rows.append([prepare(getattr(obj, field.attname)) for field, prepare in fields])
    connection.ensure_connection()
    if len(rows) >= COPY_FROM_ROWS:
        _copy(copy_sql, rows)
    else:
        # Django's cursor wrapper (error translation, query logging) around psycopg's own
        # cursor class: parameters bound by the server, dumped by psycopg's C adapters, instead
        # of the connection's client-side binding quoting every value into the SQL in Python.
        with connection._prepare_cursor(psycopg.Cursor(connection.connection)) as cursor:
            cursor.executemany(sql, rows)
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias


@functools.cache
def _insert_plan(model: type[models.Model]) -> tuple[str, str, list[tuple[Any, Any]], list[Any]]:
    meta = model._meta
    if meta.pk.db_returning or meta.pk.get_internal_type() not in _AS_IS:
        raise TypeError(f"{meta.label}: rows_insert needs a primary key the application sets")
    quote = connection.ops.quote_name
    fields = [f for f in meta.concrete_fields if not f.generated]
    columns = ", ".join(quote(f.column) for f in fields)
    values = ", ".join(["%s"] * len(fields))
    sql = f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({values})"
    copy_sql = f"COPY {quote(meta.db_table)} ({columns}) FROM STDIN"
    plan = []
    for field in fields:
        kind = field.get_internal_type()
        if kind in _AS_IS:
            plan.append((field, _as_is))
        elif kind == "JSONField":
            plan.append((field, functools.partial(_json, field)))
        else:
            plan.append((field, functools.partial(_through_field, field)))
    stamped = [
        f for f in fields if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    return sql, copy_sql, plan, stamped


def _copy(copy_sql: str, rows: list[list[Any]]) -> None:
    """COPY ... FROM STDIN: psycopg's C row writer, and no statement per row on the server.
    Logged as a query when Django logs queries (DEBUG, the tests' query counts)."""
    start = time.monotonic()
    with connection.wrap_database_errors, connection.connection.cursor() as cursor:
        with cursor.copy(copy_sql) as copy:
            for row in rows:
                copy.write_row(row)
    if connection.queries_logged:
        connection.queries_log.append(
            {"sql": f"{copy_sql} -- {len(rows)} rows", "time": f"{time.monotonic() - start:.3f}"}
        )


def _as_is(value: Any) -> Any:
    return value


def _json(field: Any, value: Any) -> Any:
    return connection.ops.adapt_json_value(value, field.encoder)


def _through_field(field: Any, value: Any) -> Any:
    return field.get_db_prep_save(value, connection)

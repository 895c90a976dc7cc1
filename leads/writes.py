"""Inserts of many new model rows where Django's bulk_create costs more than the database.

bulk_create prepares every value of every row through the field (pre_save, get_db_prep_save)
and, on PostgreSQL, quotes the UNNEST arrays in Python: about 5 ms of CPU for 25 leads, more than
the rows cost the server. rows_insert takes a row as the attribute values themselves, read in one
call (a JSON field as its JSON text; the few other kinds through the field), and sends a few rows
as one INSERT ... VALUES (...), (...) statement, its parameters bound by the server (one round
trip, one wait on the socket); many rows go by COPY. The same rows, the same defaults
and timestamps; other databases (SQLite) keep bulk_create.

For models whose primary key the application sets (a UUID default): rows needing an id back
from the database keep bulk_create.

model_new builds the new instances themselves: Django's Model(**kwargs) looks every field up by
name, calls its default and sets it through its descriptor (19 us for a lead); model_new fills a
fresh instance's attributes at once (unless a pre_init or post_init receiver listens).
"""

from __future__ import annotations

import functools
import json
import operator
import time
from typing import Any

from django.db import connection, models
from django.db.models.base import ModelState
from django.db.models.signals import post_init, pre_init
from django.utils import timezone

from config.held_writes import send_held, write

# From this many rows on, COPY (one more round trip than one INSERT, but against psycopg's pipelined
# executemany about half its CPU here and on the server: 25 leads, 2.2 -> 1.2 ms of CPU, 10.7 ->
# 6.6 ms wall). Below it, one multi-row INSERT: for a lead and its two activities, 187 -> 115 us
# of CPU here against executemany's pipeline, which waits on the socket three times per statement.
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


def model_new(model: type[models.Model], **values: Any) -> models.Model:
    """model(**values), for attribute names (created_by_id, not created_by); every other field
    gets its default."""
    names, fixed, made = _new_plan(model)
    if not values.keys() <= names:
        raise TypeError(f"{model.__name__} has no fields {sorted(values.keys() - names)}")
    if pre_init.has_listeners(model) or post_init.has_listeners(model):
        return model(**{**fixed, **{n: d() for n, d in made if n not in values}, **values})
    # What Model.__init__ does with every field, less its per-field lookup by name and setattr
    # through the descriptors: a fresh instance holds no related object to keep in step.
    obj = model.__new__(model)
    state = obj.__dict__
    state["_state"] = ModelState()
    state.update(fixed)
    for name, default in made:
        if name not in values:
            state[name] = default()
    state.update(values)
    return obj


@functools.cache
def _new_plan(
    model: type[models.Model],
) -> tuple[frozenset[str], dict[str, Any], list[tuple[str, Any]]]:
    """The fields' attribute names; the defaults that are values (what Field.get_default gives);
    and the defaults made per instance (uuid4, dict, now), as (name, callable)."""
    fixed, made = {}, []
    for field in model._meta.concrete_fields:
        if field.has_default() and callable(field.default):
            made.append((field.attname, field.default))
        else:
            fixed[field.attname] = field.get_default()
    return frozenset(fixed) | {name for name, _ in made}, fixed, made


def rows_insert(model: type[models.Model], objs: list[models.Model]) -> None:
    """INSERT these new instances (their primary keys already set) and mark them saved."""
    if not objs:
        return
    if connection.vendor != "postgresql":
        model.objects.bulk_create(objs)
        return
    copy_sql, values_of, converted, stamped = _insert_plan(model)
    rows = []
    for obj in objs:
        if stamped:
            # auto_now and auto_now_add: each row's own insert time, as pre_save sets it (rows
            # of one call keep their order by it).
            now = timezone.now()
            for attname in stamped:
                setattr(obj, attname, now)
        row = list(values_of(obj))
        for i, prepare in converted:
            row[i] = prepare(row[i])
        rows.append(row)
    if len(rows) >= COPY_FROM_ROWS:
        send_held()  # COPY bypasses Django's cursor: what is held goes first
        connection.ensure_connection()
        _copy(copy_sql, rows)
    else:
        # Bound by the server, dumped by psycopg's C adapters (not quoted into the SQL in
        # Python); inside writes_together, held and sent with the writes after it.
        write(_values_sql(model, len(rows)), [v for row in rows for v in row])
    alias = connection.alias  # read once: each read of the proxy looks the connection up
    for obj in objs:
        obj._state.adding = False
        obj._state.db = alias


@functools.cache
def _values_sql(model: type[models.Model], rows: int) -> str:
    """INSERT INTO table (columns) VALUES (%s, ...), ... for this many rows."""
    fields, table, columns = _columns(model)
    row = "(" + ", ".join(["%s"] * len(fields)) + ")"
    return f"INSERT INTO {table} ({columns}) VALUES {', '.join([row] * rows)}"


def _columns(model: type[models.Model]) -> tuple[list[Any], str, str]:
    """The fields an insert writes in column order, the quoted table and the column list."""
    quote = connection.ops.quote_name
    fields = [f for f in model._meta.concrete_fields if not f.generated]
    return fields, quote(model._meta.db_table), ", ".join(quote(f.column) for f in fields)


@functools.cache
def _insert_plan(model: type[models.Model]) -> tuple[str, Any, list[tuple[int, Any]], list]:
    """The COPY, a getter of a row's attribute values in their column order, the
    values that need converting (by position) and the attributes the insert stamps."""
    meta = model._meta
    if meta.pk.db_returning or meta.pk.get_internal_type() not in _AS_IS:
        raise TypeError(f"{meta.label}: rows_insert needs a primary key the application sets")
    fields, table, columns = _columns(model)
    if len(fields) < 2:
        # attrgetter of one name gives the value, not a tuple; a lone primary key is no row.
        raise TypeError(f"{meta.label}: rows_insert needs more than a primary key")
    copy_sql = f"COPY {table} ({columns}) FROM STDIN"
    converted = []
    for i, field in enumerate(fields):
        kind = field.get_internal_type()
        if kind == "JSONField":
            # One encoder per field: json.dumps(cls=...) would build one per value.
            converted.append((i, functools.partial(_json, (field.encoder or json.JSONEncoder)())))
        elif kind not in _AS_IS:
            converted.append((i, functools.partial(_through_field, field)))
    stamped = [
        f.attname
        for f in fields
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False)
    ]
    return copy_sql, operator.attrgetter(*(f.attname for f in fields)), converted, stamped


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


def _json(encoder: json.JSONEncoder, value: Any) -> str | None:
    """JSON text, which PostgreSQL reads into the jsonb column (psycopg sends a str as of unknown
    type, by COPY or bound); None stays SQL NULL, as JSONField.get_db_prep_save keeps it. The
    text json.dumps(value, cls=...) gives."""
    if value is None:
        return None
    return encoder.encode(value)


def _through_field(field: Any, value: Any) -> Any:
    return field.get_db_prep_save(value, connection)

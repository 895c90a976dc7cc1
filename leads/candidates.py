"""The pipeline's candidate read: take the identity locks, then read every lead a call's requests
could match, FOR UPDATE, in one round trip.

On PostgreSQL the locks are advisory transaction locks, taken in one order by everyone (no
deadlock), and they and the SELECT go as one message of several statements: the server runs them
in order, so the SELECT (and its snapshot) starts only once every lock is held. The common read (by
id, email and phone) is SQL built once per process, whose rows become leads through the fields'
own converters: compiling the ORM query cost about a millisecond a call. It brings each lead's
dialer list along when asked (as select_related). Other reads (a SearchBy field, a custom
field) go through the ORM.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from django.db import connection

from config.postgresql.base import wrapped_cursor
from config.postgresql.transaction import OpeningCursor
from leads.models import Lead


class Read(Protocol):
    """A read sent with the candidate read (leads.stages.StageRead): its rows filled in."""

    sql: str
    params: list[Any]
    rows: list[tuple] | None


LOCK_SQL = (
    "SELECT count(pg_advisory_xact_lock(k)) FROM "
    "(SELECT k FROM unnest(%s::bigint[]) WITH ORDINALITY AS t(k, n) ORDER BY n) s"
)


_ARRAY_ESCAPE = str.maketrans({"\\": "\\\\", '"': '\\"'})


def array_literal(values: Iterable[object]) -> str:
    """The PostgreSQL array literal of these values, each double-quoted ('{"a","b\\"c"}'), to
    bind to a parameter cast to an array type (%s::varchar[], %s::bigint[]). psycopg quotes one
    string in C; a list it dumps element by element in Python, looking up a dumper for each:
    the candidate read's four lists cost 22 us of CPU a call in a loop that way, 4 us as text
    (docs/performance.md, round fifteen). Inside double quotes only a backslash and a double
    quote need escaping; the intake rejects NUL before it reads."""
    return "{" + ",".join(f'"{str(v).translate(_ARRAY_ESCAPE)}"' for v in values) + "}"


def lock_id(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)


def locks_take(lock_ids: list[int]) -> None:
    """The locks alone (a call with no lookup to make)."""
    if lock_ids:
        with connection.cursor() as cursor:
            cursor.execute(LOCK_SQL, [array_literal(lock_ids)])


def locked_leads(queryset: Any, lock_ids: list[int], also: Sequence[Read] = ()) -> Any:
    """An ORM read of candidates after the locks, both in one round trip where it can, and
    `also` (as locked_leads_by_keys) with them."""
    if not lock_ids:
        return queryset
    if queryset.query.select_related:
        locks_take(lock_ids)
        return queryset
    compiler = queryset.query.get_compiler(using=queryset.db)
    sql, params = compiler.as_sql()
    rows = _one_message(lock_ids, sql, params, also)
    start, end = compiler.klass_info["select_fields"][0], compiler.klass_info["select_fields"][-1]
    names = [column[0].target.attname for column in compiler.select[start : end + 1]]
    return [
        Lead.from_db(queryset.db, names, row[start : end + 1])
        for row in compiler.results_iter(results=[rows])
    ]


def locked_leads_by_keys(
    lock_ids: list[int],
    ids: set[str],
    emails: set[str],
    phones: set[str],
    *,
    with_list: bool = False,
    also: Sequence[Read] = (),
) -> list[Lead]:
    """The common read on PostgreSQL: the leads with one of these ids, normalized emails or
    normalized phones, oldest first, locked FOR UPDATE (the leads, not their lists), after the
    advisory locks. with_list: each lead's dialer list comes along (as select_related). also:
    reads (sql, params) sent after it in the same round trip, their rows filled in."""
    sql, parts = _by_keys_sql(with_list)
    params = [array_literal(sorted(keys)) for keys in (ids, emails, phones)]
    if lock_ids or also:
        rows = _one_message(lock_ids, sql, params, also)
    else:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
    leads = []
    for row in rows:
        values = list(row)
        objects = [instance_from_row(model, part, values) for model, part in parts]
        lead = objects[0]
        if with_list:
            lead._state.fields_cache["list"] = objects[1]
        leads.append(lead)
    return leads


def _one_message(
    lock_ids: list[int], sql: str, params: list, also: Sequence[Read] = ()
) -> list[tuple]:
    """The locks, the read, then each of `also` (sql, params; its rows filled in), in order, as
    one message: the statements joined by semicolons, their parameters quoted by psycopg in
    Python (a client-side binding cursor, whatever the connection's own binding), sent with
    PostgreSQL's simple query protocol, whose statements the server runs in order. The cursor
    holds each statement's result; nextset() steps to the next."""
    statements, values = [], []
    if lock_ids:
        statements.append(LOCK_SQL)
        values.append(array_literal(lock_ids))
    statements.append(sql)
    values.extend(params)
    for read in also:
        statements.append(read.sql)
        values.extend(read.params)
    # The transaction's BEGIN goes in this message when it is the transaction's first statement.
    with wrapped_cursor(OpeningCursor) as cursor:
        cursor.execute("; ".join(statements), values)
        if lock_ids:
            cursor.nextset()
        rows = cursor.fetchall()
        for read in also:
            cursor.nextset()
            read.rows = cursor.fetchall()
    return rows


def reads_run(reads: Sequence[Read]) -> None:
    """Run the reads not yet run (sql, params), filling in their rows."""
    for read in reads:
        if read.rows is None:
            with connection.cursor() as cursor:
                cursor.execute(read.sql, read.params)
                read.rows = cursor.fetchall()


def model_columns(model: Any, alias: str, start: int = 0) -> tuple[list[str], tuple]:
    """A model's columns for SQL built once (under a table alias), and how to make instances of
    the rows: (first column, attribute names, converters), the converters as the ORM's compiler
    applies them (the backend's, then the field's)."""
    quote = connection.ops.quote_name
    fields = list(model._meta.concrete_fields)
    converters = []
    for offset, field in enumerate(fields):
        expression = field.get_col(model._meta.db_table)
        functions = connection.ops.get_db_converters(expression) + field.get_db_converters(
            connection
        )
        if functions:
            converters.append((start + offset, functions, expression))
    columns = [f"{alias}.{quote(f.column)}" for f in fields]
    return columns, (start, [f.attname for f in fields], converters)


def instance_from_row(model: Any, part: tuple, values: list) -> Any:
    """The instance of a row's columns described by model_columns (None for a row of NULLs
    from an outer join); the values are converted in place."""
    start, names, converters = part
    for index, functions, expression in converters:
        for function in functions:
            values[index] = function(values[index], expression, connection)
    if values[start] is None:
        return None
    return model.from_db(connection.alias, names, values[start : start + len(names)])


@functools.cache
def _by_keys_sql(with_list: bool) -> tuple[str, list[tuple[Any, tuple]]]:
    """The SQL, and per model read (the lead, then its list) how to make its instances."""
    quote = connection.ops.quote_name
    meta = Lead._meta
    table = quote(meta.db_table)
    columns, part = model_columns(Lead, table)
    parts = [(Lead, part)]
    join = ""
    if with_list:
        # The list model through the lead's foreign key: leads imports nothing from the dialer.
        list_model = meta.get_field("list").related_model
        join = (
            f" LEFT JOIN {quote(list_model._meta.db_table)} AS l "
            f"ON l.{quote(list_model._meta.pk.column)} = {table}.{quote('list_id')}"
        )
        list_columns, list_part = model_columns(list_model, "l", start=len(columns))
        columns += list_columns
        parts.append((list_model, list_part))

    def column(name: str) -> str:
        return f"{table}.{quote(meta.get_field(name).column)}"

    # NULLS FIRST (created_at is never null: the same order) matches no index, so that the
    # planner cannot walk lead_created_id in order and filter every lead on the way, which it
    # chose on a table without fresh statistics; the lookups stay on the email and phone indexes.
    sql = (
        f"SELECT {', '.join(columns)} FROM {table}{join} "
        f"WHERE {column('id')} = ANY(%s::uuid[]) "
        f"OR {column('email_normalized')} = ANY(%s::varchar[]) "
        f"OR {column('phone_normalized')} = ANY(%s::varchar[]) "
        f"ORDER BY {column('created_at')} ASC NULLS FIRST, {column('id')} ASC "
        f"FOR UPDATE OF {table}"
    )
    return sql, parts

"""The pipeline's candidate read: take the identity locks, then read every lead a call's requests
could match, FOR UPDATE, in one round trip.

On PostgreSQL the locks are advisory transaction locks, taken in one order by everyone (no
deadlock), and psycopg's pipeline sends them and the SELECT together: the server runs them in
order, so the SELECT (and its snapshot) starts only once every lock is held. The common read (by
id, email and phone) is SQL built once per process, whose rows become leads through the fields'
own converters: compiling the ORM query cost about a millisecond a call. Other reads (a SearchBy
field, a custom field, the dialer's list) go through the ORM.
"""

from __future__ import annotations

import functools
import hashlib
from typing import Any

from django.db import connection

from leads.models import Lead

LOCK_SQL = (
    "SELECT count(pg_advisory_xact_lock(k)) FROM "
    "(SELECT k FROM unnest(%s::bigint[]) WITH ORDINALITY AS t(k, n) ORDER BY n) s"
)


def lock_id(key: str) -> int:
    return int.from_bytes(hashlib.blake2b(key.encode(), digest_size=8).digest(), "big", signed=True)


def locks_take(lock_ids: list[int]) -> None:
    """The locks alone (a call with no lookup to make)."""
    if lock_ids:
        with connection.cursor() as cursor:
            cursor.execute(LOCK_SQL, [lock_ids])


def locked_leads(queryset: Any, lock_ids: list[int]) -> Any:
    """An ORM read of candidates after the locks, both in one round trip where it can."""
    if not lock_ids:
        return queryset
    if queryset.query.select_related:
        locks_take(lock_ids)
        return queryset
    compiler = queryset.query.get_compiler(using=queryset.db)
    sql, params = compiler.as_sql()
    rows = _pipelined(lock_ids, sql, params)
    start, end = compiler.klass_info["select_fields"][0], compiler.klass_info["select_fields"][-1]
    names = [column[0].target.attname for column in compiler.select[start : end + 1]]
    return [
        Lead.from_db(queryset.db, names, row[start : end + 1])
        for row in compiler.results_iter(results=[rows])
    ]


def locked_leads_by_keys(
    lock_ids: list[int], ids: set[str], emails: set[str], phones: set[str]
) -> list[Lead]:
    """The common read on PostgreSQL: the leads with one of these ids, normalized emails or
    normalized phones, oldest first, locked FOR UPDATE, after the advisory locks."""
    sql, names, converters = _by_keys_sql()
    params = [sorted(ids), sorted(emails), sorted(phones)]
    if lock_ids:
        rows = _pipelined(lock_ids, sql, params)
    else:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)
            rows = cursor.fetchall()
    leads = []
    for row in rows:
        values = list(row)
        for index, functions, expression in converters:
            for function in functions:
                values[index] = function(values[index], expression, connection)
        leads.append(Lead.from_db(connection.alias, names, values))
    return leads


def _pipelined(lock_ids: list[int], sql: str, params: list) -> list[tuple]:
    with connection.cursor() as lock_cursor, connection.cursor() as cursor:
        with connection.connection.pipeline():
            lock_cursor.execute(LOCK_SQL, [lock_ids])
            cursor.execute(sql, params)
        return cursor.fetchall()


@functools.cache
def _by_keys_sql() -> tuple[str, list[str], list[tuple[int, list, Any]]]:
    """The SQL, the fields' attribute names and each column's converters (as the ORM's compiler
    applies them: the backend's, then the field's)."""
    meta = Lead._meta
    table = connection.ops.quote_name(meta.db_table)
    fields = list(meta.concrete_fields)

    def column(name: str) -> str:
        return f"{table}.{connection.ops.quote_name(meta.get_field(name).column)}"

    columns = ", ".join(f"{table}.{connection.ops.quote_name(f.column)}" for f in fields)
    # NULLS FIRST (created_at is never null: the same order) matches no index, so that the
    # planner cannot walk lead_created_id in order and filter every lead on the way, which it
    # chose on a table without fresh statistics; the lookups stay on the email and phone indexes.
    sql = (
        f"SELECT {columns} FROM {table} "
        f"WHERE {column('id')} = ANY(%s::uuid[]) "
        f"OR {column('email_normalized')} = ANY(%s::varchar[]) "
        f"OR {column('phone_normalized')} = ANY(%s::varchar[]) "
        f"ORDER BY {column('created_at')} ASC NULLS FIRST, {column('id')} ASC "
        f"FOR UPDATE OF {table}"
    )
    converters = []
    for index, field in enumerate(fields):
        expression = field.get_col(meta.db_table)
        functions = connection.ops.get_db_converters(expression) + field.get_db_converters(
            connection
        )
        if functions:
            converters.append((index, functions, expression))
    return sql, [f.attname for f in fields], converters

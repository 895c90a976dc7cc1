"""Writes held back and sent to PostgreSQL together, as one statement.

A capture's transaction ends with three writes that return nothing: the new lead, its
activities and the intake rollup's upsert. Sent one by one, each is a round trip: a wait on the
socket, a hand-over of the GIL, the server's work of a statement. Inside `writes_together()`,
`write()` holds such a statement instead, and the held ones go as one:

    WITH w0 AS (INSERT INTO leads_lead ...), w1 AS (INSERT INTO leads_activity ...)
    INSERT INTO injectionlogs_intakecount ... ON CONFLICT ... DO UPDATE ...

Django's foreign keys on PostgreSQL are checked at commit (DEFERRABLE INITIALLY DEFERRED), so an
activity may refer to the lead inserted beside it. Measured with a lead and its
two activities and the upsert, 2,000 in a loop: the Python side 1.04-1.08 -> 0.71-0.92 ms, the
server 1.16-1.19 -> 0.87-1.05 ms (docs/performance.md, round six).

The order of the writes is kept: any other statement on the connection (a read, an ORM write, a
savepoint) first sends what is held, and so does leaving the block. What is held is sent before
the block's transaction commits; if the block raises, it is dropped with the transaction.
`atomic_writes_together()` is `transaction.atomic()` around the block: where that is the
outermost transaction, what is held at its end goes in one message with the COMMIT
(config.postgresql.transaction). Elsewhere, and on other databases, `write()` runs the statement
at once.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from contextvars import ContextVar
from typing import Any

import psycopg
from django.db import connection, transaction

from config.postgresql.base import wrapped_cursor
from config.postgresql.transaction import commits_next, execute_and_commit

# The parameters of one statement: the protocol allows 65,535; held writes stay well below.
MAX_HELD_PARAMS = 30_000

_held: ContextVar[_Held | None] = ContextVar("held_writes", default=None)


class _Held:
    def __init__(self) -> None:
        self.statements: list[tuple[str, list[Any]]] = []
        self.params = 0

    def add(self, sql: str, params: list[Any]) -> None:
        if self.params + len(params) > MAX_HELD_PARAMS:
            self.send()
        self.statements.append((sql, params))
        self.params += len(params)

    def send(self, *, commit: bool = False) -> None:
        """Send what is held; commit: with the COMMIT after it, in the same message."""
        if not self.statements:
            return
        statements, self.statements, self.params = self.statements, [], 0
        if commit:
            execute_and_commit(*_together(statements))
        else:
            _execute(*_together(statements))

    def before_other(self, execute, sql, params, many, context):
        """Django's execute wrapper: what is held goes first, so the order is as written."""
        self.send()
        return execute(sql, params, many, context)


@contextlib.contextmanager
def writes_together(*, commit: bool = False) -> Iterator[None]:
    """Inside, `write()` holds its statement until another statement or the block's end.
    commit: the caller's atomic block ends right after this one (atomic_writes_together)."""
    if connection.vendor != "postgresql" or _held.get() is not None:
        yield  # nested: the outer block holds and sends
        return
    held = _Held()
    token = _held.set(held)
    try:
        with connection.execute_wrapper(held.before_other):
            yield
            held.send(commit=commit and commits_next())
    finally:
        _held.reset(token)


@contextlib.contextmanager
def atomic_writes_together() -> Iterator[None]:
    """transaction.atomic() around writes_together(): where it is the outermost atomic block,
    the writes held at its end and its COMMIT go as one message."""
    with transaction.atomic(), writes_together(commit=True):
        yield


def write(sql: str, params: list[Any]) -> None:
    """Run this INSERT, UPDATE or DELETE (no RETURNING, no WITH of its own), or hold it inside
    writes_together(). Its parameters are bound by the server on PostgreSQL, or on the client
    when it goes with the COMMIT (several statements in one message)."""
    held = _held.get()
    if held is not None:
        held.add(sql, params)
    elif connection.vendor == "postgresql":
        _execute(sql, params)
    else:
        with connection.cursor() as cursor:
            cursor.execute(sql, params)


def send_held() -> None:
    """Send what is held now: before a statement that does not pass through Django's cursor
    (COPY)."""
    held = _held.get()
    if held is not None:
        held.send()


def _together(statements: list[tuple[str, list[Any]]]) -> tuple[str, list[Any]]:
    """One statement: all but the last as data-modifying WITH queries, the last the main one."""
    *first, (last_sql, last_params) = statements
    if not first:
        return last_sql, last_params
    ctes = ", ".join(f"w{i} AS ({sql})" for i, (sql, _) in enumerate(first))
    params = [value for _, values in first for value in values]
    return f"WITH {ctes} {last_sql}", params + last_params


def _execute(sql: str, params: list[Any]) -> None:
    # psycopg's own cursor class: the parameters bound by the server, dumped by its C adapters.
    with wrapped_cursor(psycopg.Cursor) as cursor:
        cursor.execute(sql, params)

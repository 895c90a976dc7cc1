"""A transaction's BEGIN and COMMIT sent in the messages of its first and last statements.

Inside `transaction.atomic()` psycopg sends BEGIN on its own before the first statement, and
Django's commit sends COMMIT on its own after the last: two round trips that carry no work. Every
round trip costs the web process a send, a wait and a receive, and PostgreSQL a wake-up and a
message: in a loop of one capture's statements, 268 -> 148 us of the client's CPU and 245 -> 200
us of the server's with both folded in (docs/performance.md, round fifteen).

- `OpeningCursor` (client-side binding, several statements in one message) puts the BEGIN psycopg
  would send at the head of its statement when it is the first of a transaction Django opened
  and psycopg has not begun yet. psycopg is then told autocommit, so that it sends no BEGIN of its
  own; the server's transaction block is the one the message opened, and Django's commit or
  rollback ends it as always (psycopg sends COMMIT or ROLLBACK whenever the server is in a block).
  At the atomic block's end Django turns autocommit back on, which psycopg then already has.
- `execute_and_commit()` sends a block's last statement with `; COMMIT` after it, when that block
  is the outermost atomic one and commits next; Django's commit then finds nothing to end.

Both only where Django's outermost atomic block began with autocommit on (it turns it back on at
its end), so the connection is never left in a state Django does not know.
"""

from __future__ import annotations

from typing import Any

import psycopg
from django.db import connection
from psycopg.pq import TransactionStatus

from config.postgresql.base import wrapped_cursor


def _in_django_transaction() -> bool:
    return bool(connection.in_atomic_block and connection.commit_on_exit)


def begin_statement(conn: psycopg.Connection) -> str:
    """The BEGIN psycopg would send for this connection (its isolation level and access mode)."""
    parts = ["BEGIN"]
    if conn.isolation_level is not None:
        parts.append("ISOLATION LEVEL " + conn.isolation_level.name.replace("_", " "))
    if conn.read_only is not None:
        parts.append("READ ONLY" if conn.read_only else "READ WRITE")
    if conn.deferrable is not None:
        parts.append("DEFERRABLE" if conn.deferrable else "NOT DEFERRABLE")
    return " ".join(parts)


class OpeningCursor(psycopg.ClientCursor):
    """A client-side binding cursor whose statement carries the transaction's BEGIN when it is
    the first of a transaction Django opened. Its results are the statement's, as without it."""

    def execute(self, query: Any, params: Any = None, **kwargs: Any) -> OpeningCursor:
        conn = self.connection
        if (
            conn.autocommit
            or conn.info.transaction_status != TransactionStatus.IDLE
            or not _in_django_transaction()
        ):
            return super().execute(query, params, **kwargs)
        conn.autocommit = True  # the message begins the transaction: psycopg must not
        try:
            super().execute(f"{begin_statement(conn)}; {query}", params, **kwargs)
        except BaseException:
            if conn.info.transaction_status == TransactionStatus.IDLE:
                conn.autocommit = False  # nothing began: psycopg begins the next statement
            raise
        self.nextset()  # past BEGIN's own result
        return self


def commits_next() -> bool:
    """True inside Django's outermost atomic block, on its way to commit, with a transaction open
    on the server: the caller knows nothing runs between its statement and the block's end."""
    return (
        _in_django_transaction()
        and len(connection.atomic_blocks) == 1
        and not connection.needs_rollback
        and connection.connection is not None
        and connection.connection.info.transaction_status == TransactionStatus.INTRANS
    )


def execute_and_commit(sql: str, params: list[Any]) -> None:
    """This statement, then COMMIT, in one message (client-side binding: the simple query
    protocol runs several statements). If the statement fails, the COMMIT does not run and the
    error rolls the block back as usual; if the COMMIT fails (a deferred constraint), the server
    has ended the transaction and the error goes to the caller."""
    with wrapped_cursor(psycopg.ClientCursor) as cursor:
        cursor.execute(f"{sql}; COMMIT", params)

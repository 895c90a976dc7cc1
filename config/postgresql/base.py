"""Django's PostgreSQL backend with a health check that costs no round trip on a live connection.

CONN_HEALTH_CHECKS makes Django send a ping (SELECT 1) before each request's first query, so that
a connection the server dropped (a restart, pg_terminate_backend) is replaced instead of failing
the request. Under load that is one round trip more per request. A server that drops a connection
closes its socket, and an idle connection has nothing else to read: so a connection whose socket
has nothing to read is live, and is used without the ping. One with something to read (the
server's goodbye, or end of file) gets Django's own ping, which fails and reconnects, as before.

Importing it also lets psycopg keep the conversion of longer statements (below).
"""

from __future__ import annotations

import select

from django.db import connection as default_connection
from django.db.backends.postgresql import base
from psycopg import _queries

# psycopg turns a statement's %s placeholders into the protocol's form with a regular expression,
# and keeps the result (an LRU of 128 statements) only for statements of up to 4,096 bytes and 50
# parameters, so that an ORM's INSERTs of ever more rows do not fill it. A capture's held writes
# (config.held_writes: the lead, its activities and the rollup as one statement) have 57, and were
# converted anew on every call: 115 us of 57 placeholders. The intake's statements come in a few
# shapes (a few-row INSERT holds at most 7 rows: leads.writes.COPY_FROM_ROWS), so they are kept.
_queries.MAX_CACHED_STATEMENT_LENGTH = 16_384
_queries.MAX_CACHED_STATEMENT_PARAMS = 500


def _has_news(connection) -> bool:
    """True if the idle connection's socket has something to read, or psycopg knows it broken."""
    if connection.closed or connection.broken:
        return True
    try:
        poller = select.poll()
        poller.register(connection.fileno(), select.POLLIN | select.POLLERR | select.POLLHUP)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True


class DatabaseWrapper(base.DatabaseWrapper):
    def close_if_health_check_failed(self):
        if (
            self.connection is not None
            and self.health_check_enabled
            and not self.health_check_done
            and not self.in_atomic_block
            and not _has_news(self.connection)
        ):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()


def wrapped_cursor(cursor_class):
    """A psycopg cursor of this class on the default connection, inside Django's cursor wrapper
    (error translation, query logging, execute wrappers): for a statement that needs another
    binding than the connection's own (server-side for the held writes, client-side for the
    candidate read's several statements in one message)."""
    default_connection.ensure_connection()
    return default_connection._prepare_cursor(cursor_class(default_connection.connection))

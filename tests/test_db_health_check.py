"""The health check costs no round trip on a live connection, and still replaces a dead one."""

from __future__ import annotations

import time

import psycopg
import pytest
from django.db import close_old_connections, connection

from tests.helpers import postgres_only

pytestmark = [pytest.mark.postgres, postgres_only, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def pings(monkeypatch):
    calls = []
    original = connection.is_usable

    def counted():
        calls.append(1)
        return original()

    monkeypatch.setattr(connection, "is_usable", counted)
    return calls


def request_boundary():
    """What Django does at the end of each request (request_finished): the next request's first
    query runs the health check."""
    close_old_connections()
    assert connection.health_check_done is False


def backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def test_a_live_connection_is_used_without_a_ping(pings):
    pid = backend_pid()
    for _ in range(5):
        request_boundary()
        assert backend_pid() == pid
    assert pings == []


def test_a_connection_the_server_dropped_is_replaced_before_the_query(pings):
    pid = backend_pid()
    request_boundary()
    with other_connection() as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])
        # The server's goodbye reaches the socket as soon as the backend exits.
        deadline = time.monotonic() + 5
        while (
            time.monotonic() < deadline
            and other.execute("SELECT 1 FROM pg_stat_activity WHERE pid = %s", [pid]).fetchone()
        ):
            time.sleep(0.05)
    assert backend_pid() != pid  # no error: the dead connection was replaced first
    assert pings == [1]


def other_connection() -> psycopg.Connection:
    db = connection.settings_dict
    return psycopg.connect(
        host=db["HOST"] or None,
        port=db["PORT"] or None,
        user=db["USER"] or None,
        password=db["PASSWORD"] or None,
        dbname=db["NAME"],
        autocommit=True,
    )

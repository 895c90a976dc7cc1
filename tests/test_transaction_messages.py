"""A capture's transaction on PostgreSQL is two round trips: the BEGIN goes with the locks and the
candidate read, the COMMIT with the writes (config.postgresql.transaction). Its guarantees are
those of Django's atomic block: nothing is committed early inside an outer transaction, a failure
anywhere rolls everything back, and the connection is left as Django expects it."""

from __future__ import annotations

import contextlib
import tempfile
from collections.abc import Iterator

import pytest
from django.db import DataError, IntegrityError, connection, transaction
from psycopg.pq import Trace, TransactionStatus

from config.held_writes import atomic_writes_together, write
from config.postgresql.base import wrapped_cursor
from config.postgresql.transaction import OpeningCursor
from leads.ids import new_id
from leads.matching import Operation
from leads.models import Activity, Lead
from leads.services import IntakeRequest, lead_ingest
from settings_global.services import global_settings_get
from tests.helpers import ON_POSTGRES

pytestmark = [
    pytest.mark.django_db(transaction=True),  # no test transaction around: the real boundaries
    pytest.mark.skipif(not ON_POSTGRES, reason="PostgreSQL's round trips"),
]


def capture(email: str) -> IntakeRequest:
    return IntakeRequest(
        family="leadsquared",
        endpoint="Lead.Capture",
        operation=Operation.CAPTURE,
        fields={"email": email, "first_name": "Ann"},
        data=[{"Attribute": "EmailAddress", "Value": email}],
    )


@contextlib.contextmanager
def round_trips() -> Iterator[list[str]]:
    """What the client sent in each round trip, from libpq's own trace of the protocol: the
    statements of each message up to the server's ReadyForQuery (one per round trip)."""
    connection.ensure_connection()
    pgconn = connection.connection.pgconn
    trips: list[str] = []
    with tempfile.TemporaryFile("w+") as trace:
        pgconn.trace(trace.fileno())
        pgconn.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS | Trace.REGRESS_MODE)
        try:
            yield trips
        finally:
            pgconn.untrace()
        trace.seek(0)
        sent: list[str] = []
        for line in trace:
            side, _, kind, *rest = line.rstrip("\n").split("\t")
            if side == "F" and kind in ("Query", "Parse"):
                sent.append(rest[0].strip())
            elif side == "B" and kind == "ReadyForQuery":
                trips.append(" | ".join(sent))
                sent = []


@pytest.fixture(autouse=True)
def _rules(monkeypatch):
    """The rules as the shared cache gives them: no read of their own inside the call."""
    rules = global_settings_get()
    monkeypatch.setattr("leads.services.global_settings_get", lambda: rules)


def assert_left_as_django_expects() -> None:
    pg = connection.connection
    assert pg.info.transaction_status == TransactionStatus.IDLE
    assert pg.autocommit is True and connection.get_autocommit() is True
    assert not connection.in_atomic_block


def test_a_new_lead_is_two_round_trips_and_committed():
    with round_trips() as trips:
        result = lead_ingest(request=capture("ann@example.com"))
    assert len(trips) == 2, trips
    assert trips[0].startswith('"BEGIN; SELECT count(pg_advisory_xact_lock(k))')  # + the read
    assert trips[1].startswith('"WITH w0 AS (INSERT INTO "leads_lead"')  # + activities, rollup
    assert trips[1].endswith('; COMMIT"')
    assert_left_as_django_expects()
    lead = Lead.objects.get(email="ann@example.com")
    assert result.lead.pk == lead.pk
    assert Activity.objects.filter(lead=lead).count() == 2


def test_inside_an_outer_transaction_nothing_is_committed_early():
    with pytest.raises(RuntimeError), transaction.atomic():
        lead_ingest(request=capture("ann@example.com"))
        assert Lead.objects.filter(email="ann@example.com").exists()
        raise RuntimeError("the outer block fails after the pipeline")
    assert not Lead.objects.exists()
    assert not Activity.objects.exists()
    assert_left_as_django_expects()


def test_a_commit_that_fails_raises_and_keeps_nothing():
    """The COMMIT checks the deferred foreign keys: an activity of no lead fails there."""
    table = Activity._meta.db_table
    with pytest.raises(IntegrityError), atomic_writes_together():
        with connection.cursor() as cursor:  # a first statement, as the candidate read is
            cursor.execute("SELECT 1")
        write(
            f"INSERT INTO {table} (id, lead_id, type, note, data, created_at) "
            "VALUES (%s, %s, 'lead_capture', '', '{}', now())",
            [new_id(), new_id()],
        )
    assert not Activity.objects.exists()
    assert_left_as_django_expects()
    lead_ingest(request=capture("after@example.com"))  # the connection goes on
    assert Lead.objects.filter(email="after@example.com").exists()


def test_a_failing_first_statement_rolls_back_and_the_connection_goes_on():
    with pytest.raises(DataError), transaction.atomic():
        with wrapped_cursor(OpeningCursor) as cursor:
            cursor.execute("SELECT 1 / 0")
    assert_left_as_django_expects()
    assert Lead.objects.count() == 0


def test_the_opened_transaction_rolls_back_whole():
    with pytest.raises(RuntimeError), transaction.atomic():
        with wrapped_cursor(OpeningCursor) as cursor:
            cursor.execute("CREATE TABLE rolled_back (x int); SELECT 1")
            assert cursor.statusmessage == "CREATE TABLE"  # its own first result, not BEGIN's
            cursor.nextset()
            assert cursor.fetchone() == (1,)
        raise RuntimeError
    assert "rolled_back" not in connection.introspection.table_names()
    assert_left_as_django_expects()


def test_outside_a_transaction_the_cursor_adds_nothing():
    with wrapped_cursor(OpeningCursor) as cursor:
        cursor.execute("SELECT 1; SELECT 2")
        assert cursor.fetchone() == (1,)
    assert_left_as_django_expects()


def test_the_writes_sent_with_the_commit_store_what_the_server_bound_ones_do(api_user):
    """With the COMMIT the writes go bound on the client (several statements in one message);
    inside an outer transaction, bound by the server. Both store the same values."""
    awkward = "tab\there \"quoted\" back\\slash \u00e9\u4e2d\U0001f600 {brace} 'single'"

    def request(email: str, phone: str) -> IntakeRequest:
        return IntakeRequest(
            family="leadsquared",
            endpoint="Lead.Capture",
            operation=Operation.CAPTURE,
            fields={"email": email, "first_name": awkward, "notes": awkward, "phone": phone},
            custom_fields={"mx_Text": awkward, "mx_Count": 3, "mx_Nested": {"a": [1, None]}},
            data=[{"Attribute": "mx_Text", "Value": awkward}],
            query={"accessKey": "[redacted]"},
            api_user=api_user,
            remote_addr="2001:db8::1",
        )

    with round_trips() as trips:
        lead_ingest(request=request("client@example.com", "2015550123"))
    assert trips[-1].endswith('; COMMIT"')
    with transaction.atomic():
        lead_ingest(request=request("server@example.com", "2015550124"))

    def stored(email: str) -> tuple[dict, list[dict]]:
        lead = Lead.objects.get(email=email)
        skip = {"id", "email", "email_normalized", "phone", "phone_normalized", "created_at"}
        skip.add("updated_at")
        values = {f.attname: getattr(lead, f.attname) for f in Lead._meta.concrete_fields}
        activities = [
            {"type": a.type, "note": a.note, "data": a.data, "by": a.created_by_id}
            for a in Activity.objects.filter(lead=lead).order_by("type")
        ]
        return {k: v for k, v in values.items() if k not in skip}, activities

    client_bound, server_bound = stored("client@example.com"), stored("server@example.com")
    assert client_bound[0]["first_name"] == awkward
    assert client_bound[0]["custom_fields"]["mx_Nested"] == {"a": [1, None]}
    assert client_bound == server_bound

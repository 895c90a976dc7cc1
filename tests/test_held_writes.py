"""Writes held inside writes_together() go to PostgreSQL as one statement, in the order written
(config.held_writes), and a capture's new lead, activities and rollup are that statement."""

from __future__ import annotations

import json

import pytest
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from config.held_writes import write, writes_together
from injectionlogs.models import IntakeCount
from leads.models import Activity, ActivityType, Lead
from leads.writes import COPY_FROM_ROWS, model_new, rows_insert
from tests.helpers import ON_POSTGRES, attrs, postgres_only

pytestmark = pytest.mark.django_db


def new_lead(tag: str) -> Lead:
    return model_new(Lead, email=f"{tag}@x.com", email_normalized=f"{tag}@x.com")


def activity(lead: Lead, kind: str = ActivityType.CREATED) -> Activity:
    return model_new(Activity, lead_id=lead.pk, type=kind)


def writes(ctx: CaptureQueriesContext) -> list[str]:
    return [
        q["sql"] for q in ctx.captured_queries if not q["sql"].startswith(("SAVEPOINT", "RELEASE"))
    ]


@postgres_only
def test_held_inserts_go_as_one_statement_and_refer_to_each_other():
    lead = new_lead("held")
    with CaptureQueriesContext(connection) as ctx, transaction.atomic(), writes_together():
        rows_insert(Lead, [lead])
        rows_insert(Activity, [activity(lead), activity(lead, ActivityType.LEAD_CAPTURE)])
        assert writes(ctx) == []  # held, not sent
    sent = writes(ctx)
    assert len(sent) == 1 and sent[0].startswith('WITH w0 AS (INSERT INTO "leads_lead"'), sent
    assert Lead.objects.filter(pk=lead.pk).exists()
    assert Activity.objects.filter(lead_id=lead.pk).count() == 2


@postgres_only
def test_another_statement_first_sends_what_is_held():
    lead = new_lead("order")
    with transaction.atomic(), writes_together():
        rows_insert(Lead, [lead])
        # A read through the ORM sees the held row: it was sent before the read.
        assert Lead.objects.filter(pk=lead.pk).exists()
        rows_insert(Activity, [activity(lead)])
        with transaction.atomic():  # the savepoint sends the activity first
            assert Activity.objects.filter(lead_id=lead.pk).count() == 1


@postgres_only
def test_copy_sends_what_is_held_first():
    leads = [new_lead(f"copy{i}") for i in range(COPY_FROM_ROWS + 1)]
    with transaction.atomic(), writes_together():
        rows_insert(Lead, leads[:1])
        # COPY bypasses Django's cursor: the activity of the held lead would fail its foreign
        # key if the lead were not sent before it.
        rows_insert(Activity, [activity(leads[0]) for _ in range(COPY_FROM_ROWS)])
        rows_insert(Lead, leads[1:])
    assert Activity.objects.filter(lead_id=leads[0].pk).count() == COPY_FROM_ROWS
    assert Lead.objects.filter(pk__in=[x.pk for x in leads]).count() == len(leads)


@postgres_only
def test_a_failed_held_statement_raises_djangos_error_in_the_block():
    lead = new_lead("twice")
    rows_insert(Lead, [lead])
    again = new_lead("again")
    again.pk = lead.pk
    with pytest.raises(IntegrityError), transaction.atomic(), writes_together():
        rows_insert(Lead, [again])
    assert Lead.objects.get(pk=lead.pk).email == "twice@x.com"


def test_what_is_held_is_dropped_when_the_block_raises():
    lead = new_lead("dropped")
    with CaptureQueriesContext(connection) as ctx:
        with pytest.raises(RuntimeError), transaction.atomic(), writes_together():
            rows_insert(Lead, [lead])
            raise RuntimeError("before the end of the block")
    if ON_POSTGRES:
        assert not any('"leads_lead"' in q for q in writes(ctx)), writes(ctx)
    assert not Lead.objects.filter(pk=lead.pk).exists()


def test_write_runs_at_once_outside_the_block():
    with CaptureQueriesContext(connection) as ctx:
        write(f"DELETE FROM {Lead._meta.db_table} WHERE email = %s", ["none@x.com"])
        assert len(ctx.captured_queries) == 1


@pytest.mark.skipif(ON_POSTGRES, reason="the other databases hold nothing")
def test_nothing_is_held_on_other_databases():
    with CaptureQueriesContext(connection) as ctx, writes_together():
        write(f"DELETE FROM {Lead._meta.db_table} WHERE email = %s", ["none@x.com"])
        assert len(ctx.captured_queries) == 1


@pytest.mark.usefixtures("_settings_row")
def test_a_capture_sends_its_new_rows_and_its_rollup_as_one_statement(client, ls_keys):
    url = f"/v2/LeadManagement.svc/Lead.Capture?{ls_keys}"
    body = json.dumps(attrs(EmailAddress="one@x.com", Phone="2015550123", FirstName="One"))
    with CaptureQueriesContext(connection) as ctx:
        response = client.post(url, body, content_type="application/json")
    assert response.status_code == 200, response.content
    lead = Lead.objects.get(email_normalized="one@x.com")
    assert response.json()["Message"]["Id"] == str(lead.pk)
    assert sorted(Activity.objects.filter(lead=lead).values_list("type", flat=True)) == sorted(
        [ActivityType.CREATED, ActivityType.LEAD_CAPTURE]
    )
    assert IntakeCount.objects.filter(outcome="created").get().count == 1
    inserts = [q for q in writes(ctx) if "INSERT INTO" in q]
    if ON_POSTGRES:
        assert len(inserts) == 1, inserts
        assert '"leads_lead"' in inserts[0] and '"leads_activity"' in inserts[0]
        assert "injectionlogs_intakecount" in inserts[0]
    else:
        assert len(inserts) == 3, inserts


@postgres_only
@pytest.mark.usefixtures("_settings_row")
def test_psycopg_keeps_the_conversion_of_a_captures_statements(client, ls_keys, monkeypatch):
    """The held writes have more parameters than psycopg keeps by default (50): config.postgresql
    raises its limits, so a capture's statements are converted once, not on every call."""
    from psycopg import _queries

    url = f"/v2/LeadManagement.svc/Lead.Capture?{ls_keys}"

    def capture(n: int) -> None:
        body = json.dumps(attrs(EmailAddress=f"c{n}@x.com", Phone=f"201555{n:04}", FirstName="C"))
        assert client.post(url, body, content_type="application/json").status_code == 200

    capture(1)
    converted = []
    for name in ("_query2pg_nocache", "_query2pg_client_nocache"):
        original = getattr(_queries, name)

        def counted(query, *args, _original=original, **kwargs):
            converted.append(query)
            return _original(query, *args, **kwargs)

        monkeypatch.setattr(_queries, name, counted)
    with CaptureQueriesContext(connection) as ctx:
        capture(2)
    assert any(q.startswith("WITH w0 AS (INSERT") for q in writes(ctx))
    assert converted == []


@pytest.fixture
def _settings_row(db):
    from settings_global.services import global_settings_get

    global_settings_get()

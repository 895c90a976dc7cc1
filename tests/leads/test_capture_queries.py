"""The hot path costs a small, fixed number of queries, whatever the table size."""

from __future__ import annotations

import json
import re

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import LeadFactory
from tests.helpers import ON_POSTGRES, attrs

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _settings_row(db):
    from settings_global.services import global_settings_get

    global_settings_get()  # the singleton exists from the first call on


# auth (1) + settings (1 with the in-process cache, 0 with Redis) + lock (PostgreSQL only) +
# candidates (1) + insert or update lead (1) + activities (1) + the intake rollup's upsert (1),
# and the savepoint pair.
MAX_QUERIES = 9


def count_capture(client, ls_keys, body) -> tuple[int, list[str]]:
    url = f"/v2/LeadManagement.svc/Lead.Capture?{ls_keys}"
    with CaptureQueriesContext(connection) as ctx:
        response = client.post(url, json.dumps(body), content_type="application/json")
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries), [q["sql"] for q in ctx.captured_queries]


@pytest.mark.parametrize("table_size", [0, 300])
def test_create_costs_a_fixed_number_of_queries(client, ls_keys, table_size):
    LeadFactory.create_batch(table_size)
    count, sql = count_capture(
        client, ls_keys, attrs(EmailAddress="new@x.com", Phone="2015550123", FirstName="N")
    )
    assert count <= MAX_QUERIES, sql


def test_create_and_update_cost_the_same_whatever_the_table_size(client, ls_keys):
    counts = []
    # The process keeps the keys it verified (with Redis): every counted call finds them kept.
    count_capture(client, ls_keys, attrs(EmailAddress="warm@x.com"))
    for size in (0, 200):
        LeadFactory.create_batch(size)
        created, _ = count_capture(client, ls_keys, attrs(EmailAddress=f"p{size}@x.com"))
        updated, _ = count_capture(
            client, ls_keys, attrs(EmailAddress=f"p{size}@x.com", Company="Acme")
        )
        counts.append((created, updated))
    assert counts[0] == counts[1]


def test_the_matcher_lookups_use_the_indexes(client, ls_keys):
    from leads.models import Lead

    Lead.objects.bulk_create(
        Lead(
            email=f"p{i}@x.com", email_normalized=f"p{i}@x.com", phone_normalized=f"+1201555{i:04}"
        )
        for i in range(3000)
    )
    _, sql = count_capture(client, ls_keys, attrs(EmailAddress="a@x.com", Phone="2015550123"))
    # On PostgreSQL the locks and the lookup go as one message of several statements.
    statements = [part for q in sql for part in re.split(r";\s+(?=SELECT )", q)]
    lookup = next(q for q in statements if 'FROM "leads_lead"' in q and "email_normalized" in q)
    with connection.cursor() as cursor:
        if ON_POSTGRES:
            cursor.execute("ANALYZE leads_lead")
            cursor.execute("EXPLAIN " + lookup)
            plan = " ".join(row[0] for row in cursor.fetchall())
            assert "lead_email_norm" in plan and "lead_phone_norm" in plan, plan
        else:
            cursor.execute("ANALYZE")
            cursor.execute("EXPLAIN QUERY PLAN " + lookup)
            plan = " ".join(str(row[-1]) for row in cursor.fetchall())
            assert "lead_email_norm" in plan and "lead_phone_norm" in plan, plan


def test_a_capture_reads_the_global_settings_once(client, ls_keys):
    _, sql = count_capture(client, ls_keys, attrs(EmailAddress="once@x.com"))
    reads = [q for q in sql if 'FROM "settings_global_globalsettings"' in q]
    # With Redis the copy comes from the shared cache instead: no read at all.
    assert len(reads) <= 1, reads


def test_the_settings_are_read_afresh_on_the_next_call(client, ls_keys):
    from settings_global.services import global_settings_update

    url = f"/v2/LeadManagement.svc/Lead.Capture?{ls_keys}"

    def capture(email):
        body = json.dumps(attrs(EmailAddress=email))
        return client.post(url, body, content_type="application/json").status_code

    assert capture("a@x.com") == 200
    global_settings_update(changes={"require_contact_name": True}, user=None, via="test")
    assert capture("b@x.com") == 400

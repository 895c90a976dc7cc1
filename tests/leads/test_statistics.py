"""The intake tables are analyzed once they have grown, not a minute later (leads.statistics)."""

from __future__ import annotations

import logging
import threading
import time

import psycopg
import pytest
from django.conf import settings
from django.db import connection

from leads.models import CaptureRequest, Lead
from leads.statistics import MIN_CHANGES, STATISTICS_TARGET, intake_tables_analyze
from tests.factories import LeadFactory
from tests.helpers import postgres_only

pytestmark = [pytest.mark.postgres, postgres_only, pytest.mark.django_db(transaction=True)]


def changed_since_analyze(table: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_force_next_flush()")
        cursor.execute(
            "SELECT n_mod_since_analyze FROM pg_stat_user_tables WHERE relname = %s", [table]
        )
        row = cursor.fetchone()
    return row[0] if row else 0


def wait_counted(table: str, at_least: int) -> None:
    """Until the statistics count at_least changes to the table since its last analysis."""
    deadline = time.monotonic() + 10
    while changed_since_analyze(table) < at_least and time.monotonic() < deadline:
        time.sleep(0.2)


def test_a_grown_lead_table_is_analyzed_and_a_quiet_one_is_left_alone():
    intake_tables_analyze()  # whatever earlier tests left due
    LeadFactory.create_batch(50)
    assert intake_tables_analyze() == []  # under the floor: autovacuum's business
    Lead.objects.bulk_create(
        [
            Lead(email=f"s{i}@example.com", email_normalized=f"s{i}@example.com")
            for i in range(MIN_CHANGES)
        ]
    )
    wait_counted("leads_lead", MIN_CHANGES)
    assert "leads_lead" in intake_tables_analyze()
    assert changed_since_analyze("leads_lead") == 0
    assert "leads_lead" not in intake_tables_analyze()


def histogram_bounds(table: str, column: str) -> int:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT cardinality(histogram_bounds::text::text[]) FROM pg_stats "
            "WHERE tablename = %s AND attname = %s",
            [table, column],
        )
        row = cursor.fetchone()
    return row[0] if row else 0


def test_it_analyzes_with_a_small_sample_and_leaves_the_setting_as_it_was():
    """ANALYZE's CPU grows with the statistics target (300 sampled rows per unit): the upkeep's
    analyses use a small one, so that a burst's web workers do not stall behind them."""
    intake_tables_analyze()
    Lead.objects.bulk_create(
        [
            Lead(email=f"h{i}@example.com", email_normalized=f"h{i}@example.com")
            for i in range(MIN_CHANGES + 200)
        ]
    )
    wait_counted("leads_lead", MIN_CHANGES + 200)
    assert "leads_lead" in intake_tables_analyze()
    # One histogram bound per unit of the target, and one more: 101 at PostgreSQL's default.
    assert 2 <= histogram_bounds("leads_lead", "email_normalized") <= STATISTICS_TARGET + 1
    with connection.cursor() as cursor:
        cursor.execute("SHOW default_statistics_target")
        assert cursor.fetchone()[0] == "100"
        cursor.execute("ANALYZE leads_lead")  # anyone else's analysis keeps its own target
    assert histogram_bounds("leads_lead", "email_normalized") > STATISTICS_TARGET + 1


def grow(count: int) -> None:
    """count new leads and as many async requests, committed, and counted by the statistics."""
    emails = [f"g{i}@example.com" for i in range(count)]
    Lead.objects.bulk_create([Lead(email=e, email_normalized=e) for e in emails])
    CaptureRequest.objects.bulk_create([CaptureRequest(body=[]) for _ in range(count)])
    wait_counted("leads_lead", min(count, MIN_CHANGES))
    wait_counted("leads_capturerequest", min(count, MIN_CHANGES))


def test_a_table_someone_holds_is_left_for_the_next_run_and_the_others_are_analyzed(caplog):
    """A table that autovacuum, a VACUUM or a migration holds is skipped, not waited for, and
    does not keep the others from their analysis."""
    intake_tables_analyze()
    grow(MIN_CHANGES + 100)
    holder = psycopg.connect(**connection.get_connection_params())
    try:
        # What a VACUUM or another ANALYZE of the table holds while it runs.
        holder.execute("LOCK TABLE leads_capturerequest IN SHARE UPDATE EXCLUSIVE MODE")
        result: list[list[str]] = []
        upkeep = threading.Thread(target=lambda: result.append(intake_tables_analyze()))
        with caplog.at_level(logging.INFO, logger="leads.statistics"):
            upkeep.start()
            upkeep.join(60)
        assert not upkeep.is_alive(), "the upkeep waited for the lock"
        assert result == [["leads_lead"]]
        assert "leads_capturerequest is locked" in caplog.text
        assert changed_since_analyze("leads_lead") == 0
        assert changed_since_analyze("leads_capturerequest") >= MIN_CHANGES
    finally:
        holder.close()
    assert intake_tables_analyze() == ["leads_capturerequest"]


def test_the_scheduler_runs_it_every_15_seconds():
    assert ("leads.tasks.analyze_intake_tables", 15) in settings.SCHEDULED_TASKS

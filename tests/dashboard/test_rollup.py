"""The intake rollup: one upsert per call, and folding past hours without losing a count."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.conf import settings

from injectionlogs.models import IntakeCount
from injectionlogs.selectors import intake_rows, vendor_scorecards
from injectionlogs.services import intake_counts_add, intake_counts_compact
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 10, 12, 30, tzinfo=UTC)


def add(user, outcome, reason="", at=NOW, times=1):
    for _ in range(times):
        intake_counts_add(keys=[(user.pk, "leadsquared", "capture", outcome, reason)], at=at)


def test_one_call_adds_its_leads_in_one_statement(django_assert_num_queries):
    user = UserFactory(username="acme")
    keys = [(user.pk, "convoso", "insert", "created", "")] * 3 + [
        (user.pk, "convoso", "insert", "rejected", "dnc")
    ]
    with django_assert_num_queries(1):
        intake_counts_add(keys=keys, at=NOW)
    assert sorted(IntakeCount.objects.values_list("outcome", "reason_code", "count")) == [
        ("created", "", 3),
        ("rejected", "dnc", 1),
    ]


def test_compacting_folds_slots_and_old_hours_and_keeps_every_count(monkeypatch):
    user = UserFactory(username="acme")
    old = NOW - timedelta(days=5)
    add(user, "created", at=old, times=20)
    add(user, "created", at=old + timedelta(hours=3), times=20)
    add(user, "rejected", "dnc", at=old, times=3)
    add(user, "created", at=NOW - timedelta(hours=3), times=20)  # recent: stays hourly
    add(user, "updated", at=NOW, times=20)  # the current hour: untouched
    current = IntakeCount.objects.filter(hour__gte=NOW.replace(minute=0)).count()
    since, until = NOW - timedelta(days=10), NOW + timedelta(hours=1)
    monkeypatch.setattr("django.utils.timezone.now", lambda: NOW)
    before = [c.as_dict() for c in vendor_scorecards(since=since, until=until)]

    intake_counts_compact(now=NOW, full=True)

    assert [c.as_dict() for c in vendor_scorecards(since=since, until=until)] == before
    assert before[0]["created"] == 60 and before[0]["rejected"] == 3
    day = old.replace(hour=0, minute=0)
    assert sorted(
        IntakeCount.objects.filter(hour__lt=NOW - timedelta(days=2)).values_list(
            "hour", "outcome", "slot", "count"
        )
    ) == [(day, "created", 0, 40), (day, "rejected", 0, 3)]
    recent = IntakeCount.objects.filter(hour=NOW.replace(minute=0) - timedelta(hours=3))
    assert list(recent.values_list("slot", "count")) == [(0, 20)]
    assert IntakeCount.objects.filter(hour__gte=NOW.replace(minute=0)).count() == current
    # Again: nothing left to fold.
    assert intake_counts_compact(now=NOW, full=True) == 0
    rows = intake_rows(since=since, until=until)
    assert sum(r.count for r in rows) == 83


def test_the_scheduler_compacts_the_rollup():
    assert ("injectionlogs.tasks.compact_intake_counts", 600) in settings.SCHEDULED_TASKS

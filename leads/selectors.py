"""Reads for the dashboard and the rule preview: the async queue, and what a duplicate rule
would have rejected."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Exists, Min, OuterRef, Sum
from django.utils import timezone

from injectionlogs.models import IntakeCount, IntakeOutcome
from injectionlogs.selectors import hour_floor, usernames
from leads.models import Activity, ActivityType, CaptureRequest, CaptureStatus, Lead

DRAIN_WINDOW_MINUTES = 5


@dataclass
class QueueStats:
    in_queue: int
    in_process: int
    oldest_wait_seconds: int
    drained_per_minute: float
    finished_last_hour: dict[str, int]

    @property
    def depth(self) -> int:
        return self.in_queue + self.in_process


def async_queue_stats(*, now: datetime | None = None) -> QueueStats:
    """The async queue read from its CaptureRequest rows (status and timestamps only): depth,
    the oldest pending request's wait, and how many finished per minute lately."""
    now = now or timezone.now()
    pending = {CaptureStatus.IN_QUEUE: 0, CaptureStatus.IN_PROCESS: 0}
    oldest = None
    rows = (
        CaptureRequest.objects.filter(status__in=list(pending))
        .values("status")
        .annotate(n=Count("pk"), oldest=Min("created_at"))
        .order_by()
    )
    for row in rows:
        pending[row["status"]] = row["n"]
        if oldest is None or row["oldest"] < oldest:
            oldest = row["oldest"]
    finished = dict(
        CaptureRequest.objects.filter(finished_at__gte=now - timedelta(hours=1))
        .values_list("status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    recent = CaptureRequest.objects.filter(
        finished_at__gte=now - timedelta(minutes=DRAIN_WINDOW_MINUTES)
    ).count()
    return QueueStats(
        in_queue=pending[CaptureStatus.IN_QUEUE],
        in_process=pending[CaptureStatus.IN_PROCESS],
        oldest_wait_seconds=max(0, int((now - oldest).total_seconds())) if oldest else 0,
        drained_per_minute=round(recent / DRAIN_WINDOW_MINUTES, 1),
        finished_last_hour=finished,
    )


# -- rule preview ---------------------------------------------------------------------------


@dataclass
class RulePreview:
    since: datetime
    until: datetime
    similar_email: list[tuple[str, int]]  # (vendor, leads the rule would have rejected)
    insert_duplicates: list[tuple[str, int]]

    @property
    def similar_email_total(self) -> int:
        return sum(n for _, n in self.similar_email)

    @property
    def insert_duplicates_total(self) -> int:
        return sum(n for _, n in self.insert_duplicates)


def _named(counts: dict[Any, int]) -> list[tuple[str, int]]:
    names = usernames({pk for pk in counts if pk})
    out = [(names[pk] if pk else "(no API user)", n) for pk, n in counts.items() if n]
    return sorted(out, key=lambda item: (-item[1], item[0]))


def _earlier_lead_with(field: str) -> Exists:
    return Exists(
        Lead.objects.filter(
            **{field: OuterRef(field)}, created_at__lt=OuterRef("created_at")
        ).exclude(pk=OuterRef("pk"))
    )


def rule_preview(*, days: int = 7, now: datetime | None = None) -> RulePreview:
    """What each duplicate rule would have rejected of the last `days` days' accepted leads.

    - "Reject similar email" bites only on creation: the leads created in the period whose
      normalized email an earlier lead already held.
    - "Insert rejects duplicates regardless of check_dup" bites on the Convoso insert: every
      insert that updated a found lead (update_if_found gives way to the rule), and every lead an
      insert created while an earlier lead held its phone number. check_dup of an accepted call
      is not stored, so the second part is an upper bound: an insert with check_dup 2 or 3 whose
      duplicate sat in another list is counted although the rule would have let it through.
    """
    now = now or timezone.now()
    since = now - timedelta(days=days)
    recent = Lead.objects.filter(created_at__gte=since, created_at__lt=now)
    similar = dict(
        recent.exclude(email_normalized="")
        .filter(_earlier_lead_with("email_normalized"))
        .values_list("created_by")
        .annotate(n=Count("pk"))
        .order_by()
    )
    created_by_insert = Exists(
        Activity.objects.filter(
            lead=OuterRef("pk"),
            type=ActivityType.CREATED,
            data__family="convoso",
            data__endpoint__endswith="/insert",
        )
    )
    inserts = dict(
        recent.exclude(phone_normalized="")
        .filter(created_by_insert)
        .filter(_earlier_lead_with("phone_normalized"))
        .values_list("created_by")
        .annotate(n=Count("pk"))
        .order_by()
    )
    # Hour granularity: the rollup's first hour may reach up to an hour before `since`.
    updates = (
        IntakeCount.objects.filter(
            hour__gte=hour_floor(since),
            hour__lt=now,
            family="convoso",
            operation="insert",
            outcome=IntakeOutcome.UPDATED,
        )
        .exclude(api_user_id=0)
        .values_list("api_user_id")
        .annotate(n=Sum("count"))
        .order_by()
    )
    for pk, n in updates:
        inserts[pk] = inserts.get(pk, 0) + n
    return RulePreview(
        since=since,
        until=now,
        similar_email=_named(similar),
        insert_duplicates=_named(inserts),
    )

"""Reads: the leads the vendor APIs look up, the custom field registry, the async queue for the
dashboard, and what a duplicate rule would have rejected."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Min, Sum
from django.utils import timezone

from injectionlogs.models import IntakeCount, IntakeOutcome
from injectionlogs.selectors import hour_floor, usernames
from injectionlogs.services import PREVIEW_PREFIX, intake_bucket
from leads.models import CaptureRequest, CaptureStatus, CustomField, Lead

DRAIN_WINDOW_MINUTES = 5
# Leads.GetByEmailaddress answers at most this many leads.
EMAIL_LOOKUP_LIMIT = 100


def lead_by_id(lead_id: Any) -> Lead | None:
    """A lead by its id (a UUID), with its creator."""
    return Lead.objects.select_related("created_by").filter(pk=lead_id).first()


def leads_by_email(email_normalized: str) -> list[Lead]:
    """The leads holding a normalized email, oldest first."""
    leads = Lead.objects.select_related("created_by").filter(email_normalized=email_normalized)
    return list(leads.order_by("created_at")[:EMAIL_LOOKUP_LIMIT])


def custom_fields_all() -> list[CustomField]:
    """The custom field registry (kept on write: no lead scan), by name."""
    return list(CustomField.objects.order_by("name"))


def custom_field_names() -> list[str]:
    """Every custom field and custom field set name."""
    return list(CustomField.objects.order_by("name").values_list("name", flat=True))


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
    out = [(names[pk] if pk else "(staff retry)", n) for pk, n in counts.items() if n]
    return sorted(out, key=lambda item: (-item[1], item[0]))


def rule_preview(*, days: int = 7, now: datetime | None = None) -> RulePreview:
    """What each duplicate rule would have refused of the last `days` days' accepted leads, by
    vendor, read from the intake rollup: the pipeline notes, as it accepts a lead, which rule
    would have refused it (see leads.services._rules_that_would_refuse).

    - "Reject similar email" stops creation only: the leads created while another lead held
      their normalized email.
    - "Insert rejects duplicates regardless of check_dup": the inserts without check_dup that
      created a lead whose number the account held, and every insert that updated a found lead
      (update_if_found gives way to the rule).
    Counted by the hour, like the rest of the rollup."""
    now = now or timezone.now()
    since = now - timedelta(days=days)
    rows = (
        IntakeCount.objects.filter(
            hour__gte=intake_bucket(hour_floor(since), now=now),
            hour__lt=now,
            outcome__in=[IntakeOutcome.CREATED, IntakeOutcome.UPDATED],
            reason_code__startswith=PREVIEW_PREFIX,
        )
        .values_list("api_user_id", "reason_code")
        .annotate(n=Sum("count"))
        .order_by()
    )
    email: dict[int, int] = {}
    phone: dict[int, int] = {}
    for user_id, reason, n in rows:
        tags = reason.removeprefix(PREVIEW_PREFIX).split("+")
        if "email" in tags:
            email[user_id] = email.get(user_id, 0) + n
        if "phone" in tags:
            phone[user_id] = phone.get(user_id, 0) + n
    return RulePreview(
        since=since, until=now, similar_email=_named(email), insert_duplicates=_named(phone)
    )

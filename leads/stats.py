"""Rebuild the intake rollup (injectionlogs.IntakeCount) from the rows intake leaves behind.

For a database that predates the rollup, or to check it: Lead Capture activities give the
accepted leads (a Lead created activity beside one makes it a creation), FailedInjection rows the
rejected ones.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from django.db import transaction
from django.db.models import Count
from django.db.models.fields.json import KeyTextTransform
from django.db.models.functions import TruncHour

from injectionlogs.models import FailedInjection, IntakeCount, IntakeOutcome
from injectionlogs.services import intake_counts_compact
from leads.models import Activity, ActivityType

# The operation an endpoint runs, as the pipeline records it (by the end of the path).
_OPERATIONS = {
    "lead.capture": "capture",
    "lead/capture": "capture",
    "lead.create": "create_unique",
    "lead.update": "update",
    "lead.createorupdate": "create_or_update",
    "bulk/createorupdate": "create_or_update",
    "lead.convert": "convert",
    "leads/insert": "insert",
    "leads/update": "update",
    "contactform": "create",
}


def operation_of(endpoint: str) -> str:
    path = (endpoint or "").strip("/").lower()
    for tail, operation in _OPERATIONS.items():
        if path.endswith(tail):
            return operation
    return ""


def _grouped(queryset: Any, user_field: str, extra: tuple[str, ...] = ()) -> Any:
    return (
        queryset.annotate(bucket=TruncHour("created_at"))
        .values("bucket", user_field, *extra)
        .annotate(n=Count("pk"))
        .order_by()
    )


@transaction.atomic
def intake_counts_rebuild() -> dict[str, int]:
    """Replace the rollup with counts rebuilt from Activity and FailedInjection rows.

    A staff retry's lead cannot be told from a vendor's capture here: it counts for the vendor."""
    counts: Counter = Counter()
    activities = Activity.objects.annotate(
        family=KeyTextTransform("family", "data"),
        endpoint=KeyTextTransform("endpoint", "data"),
        rejected=KeyTextTransform("rejected", "data"),
    )
    captures = activities.filter(type=ActivityType.LEAD_CAPTURE, rejected__isnull=True)
    created = activities.filter(type=ActivityType.CREATED)
    fields = ("family", "endpoint")
    for sign, queryset in ((1, captures), (-1, created)):
        for row in _grouped(queryset, "created_by_id", fields):
            key = (
                row["bucket"],
                row["created_by_id"] or 0,
                row["family"] or "",
                operation_of(row["endpoint"]),
            )
            counts[(*key, IntakeOutcome.UPDATED, "")] += sign * row["n"]
            if sign < 0:
                counts[(*key, IntakeOutcome.CREATED, "")] += row["n"]
    failures = FailedInjection.objects.all()
    for row in _grouped(failures, "api_user_id", ("family", "endpoint", "reason_code")):
        key = (
            row["bucket"],
            row["api_user_id"] or 0,
            row["family"],
            operation_of(row["endpoint"]),
            IntakeOutcome.REJECTED,
            row["reason_code"],
        )
        counts[key] += row["n"]
    IntakeCount.objects.all().delete()
    IntakeCount.objects.bulk_create(
        [
            IntakeCount(
                hour=hour,
                api_user_id=user,
                family=family,
                operation=operation,
                outcome=outcome,
                reason_code=reason,
                count=n,
            )
            for (hour, user, family, operation, outcome, reason), n in counts.items()
            if n > 0
        ],
        batch_size=1000,
    )
    intake_counts_compact(full=True)  # old hours into their days, as the scheduler keeps them
    totals: Counter = Counter()
    for (*_, outcome, _reason), n in counts.items():
        if n > 0:
            totals[str(outcome)] += n
    return dict(totals)

from __future__ import annotations

from django.db import transaction
from django.utils import timezone
from django_tasks import task

from leads.models import Activity, ActivityType
from lists_hopper.models import HopperEntry, HopperState


@task()
def expire_hopper_entries() -> int:
    """Remove live hopper entries past their expiry; each expiry shows on the lead."""
    now = timezone.now()
    with transaction.atomic():
        entries = list(
            HopperEntry.objects.select_for_update(skip_locked=True).filter(
                state=HopperState.LIVE, expires_at__lte=now
            )[:1000]
        )
        if not entries:
            return 0
        HopperEntry.objects.filter(pk__in=[e.pk for e in entries]).update(state=HopperState.EXPIRED)
        Activity.objects.bulk_create(
            Activity(
                lead_id=entry.lead_id,
                type=ActivityType.HOPPER_EXPIRED,
                note=f"Hopper entry expired in campaign {entry.campaign_id}",
                data={"campaign_id": entry.campaign_id, "priority": entry.priority},
                created_at=now,
            )
            for entry in entries
        )
    return len(entries)

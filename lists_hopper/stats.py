"""The hopper at a glance, for the dashboard."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db.models import Count, Q
from django.utils import timezone

from lists_hopper.models import Campaign, HopperEntry, HopperState


@dataclass
class HopperDepth:
    campaign_id: int
    campaign: str
    live: int
    expiring_next_hour: int  # overdue ones too: the expiry job takes them at its next run


def hopper_depth_by_campaign(*, now: datetime | None = None) -> list[HopperDepth]:
    """Live entries per campaign (the hopper_next index, led by campaign and state)."""
    now = now or timezone.now()
    rows = list(
        HopperEntry.objects.filter(state=HopperState.LIVE)
        .values("campaign_id")
        .annotate(
            live=Count("pk"),
            expiring=Count("pk", filter=Q(expires_at__lt=now + timedelta(hours=1))),
        )
        .order_by()
    )
    names = dict(
        Campaign.objects.filter(pk__in=[r["campaign_id"] for r in rows]).values_list("pk", "name")
    )
    depths = [
        HopperDepth(
            campaign_id=r["campaign_id"],
            campaign=names.get(r["campaign_id"], f"#{r['campaign_id']}"),
            live=r["live"],
            expiring_next_hour=r["expiring"],
        )
        for r in rows
    ]
    return sorted(depths, key=lambda d: (-d.live, d.campaign))

"""Reads for the dialer: live hopper entries, campaigns and lists by id, and the Convoso family's
lead, list, DNC and hopper searches. How a record looks on the wire is lists_hopper.wire.convoso."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from django.db.models import Q, QuerySet
from django.utils import timezone

from leads.models import Lead
from lists_hopper.models import Campaign, DncEntry, HopperEntry, HopperState, List, Upload

# The list search answers at most this many lists.
LIST_SEARCH_LIMIT = 2000


def leads_for_records() -> QuerySet[Lead]:
    return Lead.objects.select_related("list", "created_by")


def hopper_live(*, campaign: Campaign, now: datetime | None = None) -> QuerySet[HopperEntry]:
    """The campaign's dialable entries: live and not past their expiry, highest priority first,
    then oldest (the hopper_next index)."""
    now = now or timezone.now()
    return (
        HopperEntry.objects.filter(campaign=campaign, state=HopperState.LIVE)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .order_by("-priority", "created_at", "id")
    )


def campaign_by_id(campaign_id: int) -> Campaign | None:
    return Campaign.objects.filter(pk=campaign_id).first()


def list_by_id(list_id: int) -> List | None:
    return List.objects.filter(pk=list_id).first()


def leads_search(*, filters: dict[str, Any], offset: int, limit: int) -> tuple[int, list[Lead]]:
    """(total, the page) of the leads matching every filter (ORM lookups), oldest first."""
    leads = leads_for_records().filter(**filters).order_by("created_at", "id")
    return leads.count(), list(leads[offset : offset + limit])


def lists_search(
    *,
    list_id: int | None = None,
    campaign_id: int | None = None,
    status: str | None = None,
    name: str = "",
) -> list[List]:
    lists = List.objects.order_by("id")
    if list_id is not None:
        lists = lists.filter(pk=list_id)
    if campaign_id is not None:
        lists = lists.filter(campaign_id=campaign_id)
    if status is not None:
        lists = lists.filter(status=status)
    if name:
        lists = lists.filter(name__icontains=name)
    return list(lists[:LIST_SEARCH_LIMIT])


def dnc_search(
    *, phone: str = "", campaign_id: int | None = None, offset: int, limit: int
) -> tuple[int, list[DncEntry]]:
    """(total, the page) of DNC entries by number and scope: campaign_id 0 is the account-wide
    list only, None every list."""
    entries = DncEntry.objects.select_related("campaign").order_by("id")
    if phone:
        entries = entries.filter(phone=phone)
    if campaign_id == 0:
        entries = entries.filter(campaign__isnull=True)
    elif campaign_id is not None:
        entries = entries.filter(campaign_id=campaign_id)
    return entries.count(), list(entries[offset : offset + limit])


def hopper_search(*, campaign: Campaign, offset: int, limit: int) -> tuple[int, list[HopperEntry]]:
    """(total, the page) of the campaign's live hopper entries, with their leads."""
    entries = hopper_live(campaign=campaign).select_related("lead__list", "lead__created_by")
    return entries.count(), list(entries[offset : offset + limit])


def upload_by_id(pk: Any) -> Upload | None:
    """An upload without its file (the progress and results pages)."""
    return Upload.objects.defer("content").filter(pk=pk).first()

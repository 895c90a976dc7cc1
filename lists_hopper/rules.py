"""Dialer rules the intake pipeline applies to Convoso inserts: the DNC lookup."""

from __future__ import annotations

from lists_hopper.models import DncEntry


def dnc_hits(phones: set[str]) -> dict[str, set[int | None]]:
    """Each listed E.164 number: the campaign ids it is barred in (None: account-wide)."""
    hits: dict[str, set[int | None]] = {}
    for phone, campaign_id in DncEntry.objects.filter(phone__in=phones).values_list(
        "phone", "campaign_id"
    ):
        hits.setdefault(phone, set()).add(campaign_id)
    return hits

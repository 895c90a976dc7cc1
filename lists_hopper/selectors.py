"""Reads for the dialer: live hopper entries, and leads, lists and DNC entries as the API shows
them."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import phonenumbers
from django.db.models import Q, QuerySet
from django.utils import timezone

from leads.models import Lead
from lists_hopper.models import Campaign, DncEntry, HopperEntry, HopperState, List

# The standard lead fields as the Convoso family names them, and the model field of each.
LEAD_RECORD_FIELDS = {
    "first_name": "first_name",
    "last_name": "last_name",
    "phone_number": "phone",
    "phone_code": "phone_code",
    "alt_phone_1": "alt_phone",
    "email": "email",
    "status": "status",
    "address1": "address1",
    "address2": "address2",
    "city": "city",
    "state": "state",
    "postal_code": "postal_code",
    "country": "country",
    "company": "company",
    "notes": "notes",
    # The other standard fields the insert accepts by their model names: read back as sent.
    "contact_name": "contact_name",
    "mobile": "mobile",
    "job_title": "job_title",
    "website": "website",
    "source": "source",
    "source_medium": "source_medium",
    "source_campaign": "source_campaign",
    "source_content": "source_content",
    "source_referrer": "source_referrer",
}


def timestamp(value: datetime | None) -> str | None:
    """Convoso's "YYYY-MM-DD HH:MM:SS", in the server's time zone."""
    if value is None:
        return None
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")


def lead_record(lead: Lead) -> dict[str, Any]:
    """A lead as the Convoso family shows it: standard fields, then custom fields by name.

    Expects lead.list and lead.created_by to be selected with it."""
    record: dict[str, Any] = {
        "id": str(lead.id),
        "lead_id": str(lead.id),
        "list_id": lead.list_id,
        "campaign_id": lead.list.campaign_id if lead.list_id else None,
    }
    for name, model_field in LEAD_RECORD_FIELDS.items():
        record[name] = getattr(lead, model_field)
    record["phone_normalized"] = lead.phone_normalized
    record["created_by"] = lead.created_by.get_username() if lead.created_by_id else None
    record["created_at"] = timestamp(lead.created_at)
    record["modified_at"] = timestamp(lead.updated_at)
    for name, value in (lead.custom_fields or {}).items():
        record.setdefault(name, value)  # a standard field keeps its name
    return record


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


def hopper_record(entry: HopperEntry) -> dict[str, Any]:
    """A hopper entry with its lead (entry.lead selected with list and created_by)."""
    return {
        "hopper_id": entry.id,
        "lead_id": str(entry.lead_id),
        "campaign_id": entry.campaign_id,
        "priority": entry.priority,
        "state": entry.state,
        "expires_at": timestamp(entry.expires_at),
        "created_at": timestamp(entry.created_at),
        "taken_at": timestamp(entry.taken_at),
        "lead": lead_record(entry.lead),
    }


def list_record(obj: List) -> dict[str, Any]:
    return {
        "id": obj.id,
        "list_id": obj.id,
        "name": obj.name,
        "campaign_id": obj.campaign_id,
        "status": obj.status,
        "created_at": timestamp(obj.created_at),
        "modified_at": timestamp(obj.updated_at),
    }


def dnc_record(entry: DncEntry) -> dict[str, Any]:
    """phone_number and phone_code the way they are posted: national digits and country code."""
    try:
        number = phonenumbers.parse(entry.phone)
        national = str(number.national_number)
        code = str(number.country_code)
    except phonenumbers.NumberParseException:
        national, code = entry.phone, ""
    return {
        "id": entry.id,
        "phone_number": national,
        "phone_code": code,
        "phone_e164": entry.phone,
        "campaign_id": entry.campaign_id or 0,
        "campaign_name": entry.campaign.name if entry.campaign_id else "",
        "insert_date": timestamp(entry.created_at),
    }

"""Writes for the dialer: campaigns, lists, DNC, the hopper and its workflow rules."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.db.models import Q
from django.utils import timezone

from leads.errors import IntakeError
from leads.models import Activity, ActivityType, Lead
from leads.vocabulary import ReasonCode
from lists_hopper.models import (
    Campaign,
    DncEntry,
    HopperEntry,
    HopperState,
    List,
    ListStatus,
    WorkflowRule,
    WorkflowTrigger,
)
from lists_hopper.selectors import hopper_live
from lists_hopper.wire.convoso import lead_record, timestamp

WEBHOOK_TIMEOUT_SECONDS = 10
EXPIRY_BATCH = 1000


def _user(user: Any) -> Any:
    return user if getattr(user, "pk", None) else None


def campaign_create(*, name: str) -> Campaign:
    return Campaign.objects.create(name=name)


def list_create(*, name: str, campaign: Campaign) -> List:
    return List.objects.create(name=name, campaign=campaign)


def list_update(
    *,
    list_obj: List,
    name: str | None = None,
    status: str | None = None,
    campaign: Campaign | None = None,
) -> List:
    """Rename, archive or re-activate (status), or move a list to another campaign."""
    if name is not None:
        list_obj.name = name
    if status is not None:
        list_obj.status = ListStatus(status)
    if campaign is not None:
        list_obj.campaign = campaign
    list_obj.save()
    return list_obj


def dnc_add(*, phone: str, phone_as_given: str, campaign: Campaign | None) -> DncEntry:
    """Put an E.164 number on the account-wide (campaign None) or the campaign's DNC."""
    try:
        with transaction.atomic():
            return DncEntry.objects.create(
                phone=phone, phone_as_given=phone_as_given, campaign=campaign
            )
    except IntegrityError:
        # The partial unique constraints: one entry per number and scope, under concurrency too.
        raise IntakeError(
            ReasonCode.DUPLICATE_PHONE,
            "The phone number already exists on this Do Not Call list",
            field="phone_number",
        ) from None


def dnc_remove(*, phone: str, campaign: Campaign | None) -> int:
    """Take a number off one DNC list; returns how many entries went (0 or 1)."""
    deleted, _ = DncEntry.objects.filter(phone=phone, campaign=campaign).delete()
    return deleted


# -- the hopper ------------------------------------------------------------------------------


def hopper_next(*, campaign: Campaign, user: Any = None) -> HopperEntry | None:
    """Hand the dialer the campaign's highest-priority live entry and take it out of the hopper.

    Two dialers asking at once never get the same entry: on PostgreSQL the row is locked with
    SKIP LOCKED, so a concurrent caller passes over it to the next one; SQLite's IMMEDIATE
    transactions run one writer at a time.
    """
    now = timezone.now()
    with transaction.atomic():
        entries = hopper_live(campaign=campaign, now=now)
        if connection.features.has_select_for_update_skip_locked:
            entries = entries.select_for_update(skip_locked=True)
        entry = entries.first()
        if entry is None:
            return None
        entry.state = HopperState.TAKEN
        entry.taken_at = now
        entry.save(update_fields=["state", "taken_at"])
        Activity.objects.create(
            lead_id=entry.lead_id,
            type=ActivityType.HOPPER_TAKEN,
            note=f"Taken from the hopper of campaign {campaign.id} by the dialer",
            data={"campaign_id": campaign.id, "priority": entry.priority, "hopper_id": entry.id},
            created_by=_user(user),
            created_at=now,
        )
    entry.lead = Lead.objects.select_related("list", "created_by").get(pk=entry.lead_id)
    return entry


@dataclass(frozen=True)
class WebhookDelivery:
    rule_id: int
    entry_id: int


def hopper_expire_due(*, now: datetime | None = None) -> tuple[int, list[WebhookDelivery]]:
    """Expire live entries past their expiry and apply the "Hopper Expire" workflow rules.

    Each expiry and each status change shows on the lead. Returns how many entries expired and
    the webhook deliveries to send once the transaction has committed.
    """
    now = now or timezone.now()
    with transaction.atomic():
        due = HopperEntry.objects.filter(state=HopperState.LIVE, expires_at__lte=now)
        if connection.features.has_select_for_update_skip_locked:
            # Two schedulers at once split the work instead of expiring an entry twice.
            due = due.select_for_update(skip_locked=True)
        entries = list(due.order_by("expires_at", "id")[:EXPIRY_BATCH])
        if not entries:
            return 0, []
        HopperEntry.objects.filter(pk__in=[e.pk for e in entries]).update(state=HopperState.EXPIRED)
        activities = [
            Activity(
                lead_id=entry.lead_id,
                type=ActivityType.HOPPER_EXPIRED,
                note=f"Hopper entry expired in campaign {entry.campaign_id}",
                data={
                    "campaign_id": entry.campaign_id,
                    "priority": entry.priority,
                    "hopper_id": entry.id,
                    "expires_at": entry.expires_at.isoformat(),
                },
                created_at=now,
            )
            for entry in entries
        ]
        rules = list(
            WorkflowRule.objects.filter(
                trigger=WorkflowTrigger.HOPPER_EXPIRE, is_active=True
            ).filter(Q(campaign__isnull=True) | Q(campaign_id__in={e.campaign_id for e in entries}))
        )
        deliveries: list[WebhookDelivery] = []
        if rules:
            activities += _apply_rules(entries, rules, deliveries, now)
        Activity.objects.bulk_create(activities)
    return len(entries), deliveries


def _apply_rules(
    entries: list[HopperEntry],
    rules: list[WorkflowRule],
    deliveries: list[WebhookDelivery],
    now: datetime,
) -> list[Activity]:
    leads = {lead.pk: lead for lead in Lead.objects.filter(pk__in={e.lead_id for e in entries})}
    changed: dict[Any, Lead] = {}
    activities = []
    for entry in entries:
        for rule in rules:
            if rule.campaign_id not in (None, entry.campaign_id):
                continue
            lead = leads[entry.lead_id]
            if rule.set_status and lead.status != rule.set_status:
                activities.append(
                    Activity(
                        lead=lead,
                        type=ActivityType.STATUS_CHANGED,
                        note=f"Status {lead.status or '(none)'} -> {rule.set_status} "
                        f'(workflow rule "{rule.name}", Hopper Expire)',
                        data={
                            "from": lead.status,
                            "to": rule.set_status,
                            "rule_id": rule.id,
                            "hopper_id": entry.id,
                        },
                        created_at=now,
                    )
                )
                lead.status = rule.set_status
                lead.updated_at = now
                changed[lead.pk] = lead
            if rule.webhook_url:
                deliveries.append(WebhookDelivery(rule_id=rule.id, entry_id=entry.id))
    if changed:
        Lead.objects.bulk_update(list(changed.values()), ["status", "updated_at"])
    return activities


def webhook_payload(*, rule: WorkflowRule, entry: HopperEntry) -> dict[str, Any]:
    """What a "Hopper Expire" webhook posts: the event, the hopper entry and the lead."""
    lead = Lead.objects.select_related("list", "created_by").get(pk=entry.lead_id)
    return {
        "event": WorkflowTrigger.HOPPER_EXPIRE.label,
        "trigger": WorkflowTrigger.HOPPER_EXPIRE.value,
        "rule": {"id": rule.id, "name": rule.name},
        "hopper": {
            "hopper_id": entry.id,
            "campaign_id": entry.campaign_id,
            "priority": entry.priority,
            "expires_at": timestamp(entry.expires_at),
        },
        "lead": lead_record(lead),
    }


def webhook_post(*, url: str, payload: dict[str, Any]) -> tuple[int | None, str]:
    """POST the payload as JSON. Returns (HTTP status or None, error or "")."""
    body = json.dumps(payload, default=str).encode()
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={"Content-Type": "application/json", "User-Agent": "leadintake-workflow/1"},
    )
    try:
        with urllib.request.urlopen(request, timeout=WEBHOOK_TIMEOUT_SECONDS) as response:
            return response.status, ""
    except urllib.error.HTTPError as exc:
        return exc.code, f"HTTP {exc.code}"
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        return None, str(reason)[:200] or exc.__class__.__name__


def webhook_attempt_record(
    *,
    rule: WorkflowRule,
    entry: HopperEntry,
    attempt: int,
    max_attempts: int,
    status: int | None,
    error: str,
    retry_at: datetime | None,
) -> Activity:
    """One delivery attempt on the lead's activity, with its outcome."""
    ok = not error
    if ok:
        note = f"Webhook delivered to {rule.webhook_url} (HTTP {status})"
    else:
        note = (
            f"Webhook to {rule.webhook_url} failed: {error} (attempt {attempt} of {max_attempts})"
        )
        note += "; will retry" if retry_at else "; giving up"
    return Activity.objects.create(
        lead_id=entry.lead_id,
        type=ActivityType.WEBHOOK,
        note=note[:512],
        data={
            "rule_id": rule.id,
            "hopper_id": entry.id,
            "url": rule.webhook_url,
            "attempt": attempt,
            "max_attempts": max_attempts,
            "ok": ok,
            "status": status,
            "error": error,
            "retry_at": retry_at.isoformat() if retry_at else None,
        },
    )

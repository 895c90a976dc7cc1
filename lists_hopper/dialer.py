"""The dialer as a stage of the intake pipeline (leads.stages): Convoso's insert options.

With the candidate lookup it reads the rows' lists and DNC entries (on PostgreSQL one statement,
in the candidate read's round trip), then attaches each row's list and applies the DNC check;
matching asks it for the duplicate scope (check_dup); after the writes it puts the accepted leads
in their campaign's hopper.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from django.db import connection

from leads.errors import IntakeError
from leads.matching import DupScope, LeadIndex
from leads.models import Activity, ActivityType
from leads.stages import StageRead, StageRow, register
from leads.vocabulary import ReasonCode
from lists_hopper.models import HopperEntry, HopperState
from lists_hopper.rules import lists_and_dnc_orm, lists_and_dnc_query, lists_and_dnc_rows


@dataclass
class DialerOptions:
    """Convoso insert options (validated by the view's parser), carried as IntakeRequest.dialer."""

    list_id: int
    check_dup: int = 0
    check_dup_archive: bool = False
    check_dnc: bool = False
    hopper: bool = False
    hopper_priority: int = 99
    hopper_expire_in: int | None = None
    update_if_found: bool = False


def _dialer_rows(rows: Sequence[StageRow]) -> list[StageRow]:
    return [r for r in rows if r.request.dialer is not None]


def _lookup_keys(dialer_rows: Sequence[StageRow]) -> tuple[set[int], set[str]]:
    """The list ids, and the phones to look up on the DNC lists."""
    list_ids = {r.request.dialer.list_id for r in dialer_rows}
    phones = {r.keys.phone for r in dialer_rows if r.request.dialer.check_dnc and r.keys.phone}
    return list_ids, phones


class DialerStage:
    name = "dialer"

    def read(self, rows: Sequence[StageRow]) -> StageRead | None:
        """PostgreSQL: the lists and DNC lookup, sent with the candidate read."""
        dialer_rows = _dialer_rows(rows)
        if not dialer_rows or connection.vendor != "postgresql":
            return None  # no query for a call without dialer options; elsewhere, the ORM's
        return StageRead(*lists_and_dnc_query(*_lookup_keys(dialer_rows)))

    def candidates_loaded(
        self, rows: Sequence[StageRow], index: LeadIndex, read: StageRead | None
    ) -> None:
        dialer_rows = _dialer_rows(rows)
        if not dialer_rows:
            return
        if read is not None:
            lists, hits = lists_and_dnc_rows(read.rows)
        else:
            lists, hits = lists_and_dnc_orm(*_lookup_keys(dialer_rows))
        for obj in lists.values():
            index.list_campaign[obj.id] = obj.campaign_id
            if obj.is_archived:
                index.archived_lists.add(obj.id)
        for row in dialer_rows:
            dialer = row.request.dialer
            row.list_obj = lists.get(dialer.list_id)
            if row.list_obj is None:
                row.result.error = IntakeError(
                    ReasonCode.UNKNOWN_LIST, f"No such list: {dialer.list_id}", field="list_id"
                )
                continue
            if dialer.check_dnc and row.keys.phone:
                scopes = hits.get(row.keys.phone, set())
                if None in scopes:
                    row.result.error = IntakeError(
                        ReasonCode.DNC, "Phone number is on the Do Not Call list (account)"
                    )
                elif row.list_obj.campaign_id in scopes:
                    row.result.error = IntakeError(
                        ReasonCode.DNC, "Phone number is on the Do Not Call list (campaign)"
                    )

    def dup_scope(self, row: StageRow, *, insert_reject_duplicates: bool) -> DupScope | None:
        dialer = row.request.dialer
        if dialer is None or row.list_obj is None:
            return None
        check = dialer.check_dup
        if check == 0 and (insert_reject_duplicates or dialer.update_if_found):
            check = 1
        if check == 0:
            return None
        kind = {1: "account", 2: "list", 3: "campaign"}[check]
        return DupScope(
            kind=kind,
            list_id=row.list_obj.id,
            campaign_id=row.list_obj.campaign_id,
            include_archived=dialer.check_dup_archive,
            update_if_found=dialer.update_if_found and not insert_reject_duplicates,
        )

    def written(self, rows: Sequence[StageRow], *, now: Any) -> None:
        hopper_rows = [r for r in rows if r.request.dialer is not None and r.request.dialer.hopper]
        if hopper_rows:
            _hopper_add(hopper_rows, now)


def _hopper_add(rows: Sequence[StageRow], now: Any) -> None:
    # A lead found again (update_if_found) that is still live in the campaign's hopper keeps
    # its one entry, with the new priority and expiry: the dialer must not call it twice.
    found = {r.result.lead.pk for r in rows if not r.result.created}
    live = {}
    if found:
        live = {
            (e.lead_id, e.campaign_id): e
            for e in HopperEntry.objects.filter(lead_id__in=found, state=HopperState.LIVE)
        }
    entries, refreshed, activities = [], [], []
    for row in rows:
        dialer = row.request.dialer
        expires = None
        if dialer.hopper_expire_in:
            expires = now + timedelta(minutes=dialer.hopper_expire_in)
        entry = live.get((row.result.lead.pk, row.list_obj.campaign_id))
        if entry is not None:
            entry.priority, entry.expires_at = dialer.hopper_priority, expires
            refreshed.append(entry)
        else:
            entry = HopperEntry(
                lead=row.result.lead,
                campaign_id=row.list_obj.campaign_id,
                priority=dialer.hopper_priority,
                expires_at=expires,
                created_at=now,
            )
            entries.append(entry)
        row.result.hopper_entry = entry
        activities.append(
            Activity(
                lead=row.result.lead,
                type=ActivityType.HOPPER_ADDED,
                note=f"Added to hopper of campaign {row.list_obj.campaign_id}, "
                f"priority {dialer.hopper_priority}",
                data={
                    "campaign_id": row.list_obj.campaign_id,
                    "priority": dialer.hopper_priority,
                    "expires_at": expires.isoformat() if expires else None,
                },
                created_by=row.request.api_user
                if getattr(row.request.api_user, "pk", None)
                else None,
                created_at=now,
            )
        )
    if entries:
        HopperEntry.objects.bulk_create(entries)
    if refreshed:
        HopperEntry.objects.bulk_update(refreshed, ["priority", "expires_at"])
    if activities:
        Activity.objects.bulk_create(activities)


register(DialerStage())

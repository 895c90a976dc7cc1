"""Who is this lead? Create, update which lead, convert a visitor, or reject why.

Plain Python: decisions are made from normalized keys and the candidate rows a selector found,
so the rules (docs/matching.md) are tested as tables, with no HTTP and no database.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from leads.errors import IntakeError
from leads.vocabulary import ReasonCode


class Operation(StrEnum):
    CAPTURE = "capture"  # Lead.Capture: the LeadSquared rules in full
    CREATE = "create"  # the contact form: create only, under the global rules
    CREATE_UNIQUE = "create_unique"  # Lead.Create: an email or phone already held is a duplicate
    UPDATE = "update"  # Lead.Update?leadId=
    CREATE_OR_UPDATE = "create_or_update"  # Lead.CreateOrUpdate and each bulk row
    CONVERT = "convert"  # Lead.Convert?leadId=<visitor>
    INSERT = "insert"  # Convoso /v1/leads/insert


class Action(StrEnum):
    CREATE = "create"
    UPDATE = "update"
    CONVERT = "convert"
    REJECT = "reject"


class MatchLead(Protocol):
    id: Any
    email_normalized: str
    phone_normalized: str
    custom_fields: dict


@dataclass(frozen=True)
class MatchKeys:
    """What the request says about identity, normalized."""

    prospect_id: str = ""
    email: str = ""
    phone: str = ""
    lead_id: str = ""
    # SearchBy: the lead field (a model field or an mx_ custom field) and the value to find.
    search_field: str = ""
    search_value: str = ""


@dataclass(frozen=True)
class DupScope:
    """Convoso check_dup: where a phone number counts as a duplicate."""

    kind: str  # "account", "list", "campaign"
    list_id: int | None = None
    campaign_id: int | None = None
    include_archived: bool = False
    update_if_found: bool = False


@dataclass
class Decision:
    action: Action
    lead: Any = None  # the lead to update
    new_id: str = ""  # the id a created lead takes (a converted visitor's)
    error: IntakeError | None = None


def field_value(lead: Any, name: str) -> str:
    if name.startswith("mx_"):
        value = (getattr(lead, "custom_fields", None) or {}).get(name, "")
    else:
        value = getattr(lead, name, "")
    return "" if value is None else str(value).strip()


@dataclass
class LeadIndex:
    """Candidate leads by every key the rules look up. Leads created earlier in the same call are
    added, so two rows naming one person end in one lead."""

    by_id: dict[str, Any] = field(default_factory=dict)
    visitors: dict[str, Any] = field(default_factory=dict)  # anonymous visitors by id
    by_email: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    by_phone: dict[str, list[Any]] = field(default_factory=lambda: defaultdict(list))
    search_fields: set[str] = field(default_factory=set)
    by_search: dict[tuple[str, str], list[Any]] = field(default_factory=lambda: defaultdict(list))
    # Convoso: the leads per list, and each list's campaign and archived state.
    list_campaign: dict[int, int] = field(default_factory=dict)
    archived_lists: set[int] = field(default_factory=set)
    # Where each lead (by id) was filed: its keys change in place when a row updates it, so
    # they are kept as they were at add(), for remove() to find.
    filed: dict[str, list[tuple[dict, Any]]] = field(default_factory=dict)

    def add(self, lead: Any) -> None:
        key = str(lead.id)
        if key in self.by_id:
            self.remove(self.by_id[key])
        self.by_id[key] = lead
        places: list[tuple[dict, Any]] = []
        if lead.email_normalized:
            places.append((self.by_email, lead.email_normalized))
        if lead.phone_normalized:
            places.append((self.by_phone, lead.phone_normalized))
        for name in self.search_fields:
            value = field_value(lead, name)
            if value:
                places.append((self.by_search, (name, value)))
        for bucket, bucket_key in places:
            bucket[bucket_key].append(lead)
        self.filed[key] = places

    def remove(self, lead: Any) -> None:
        """Drop a lead's old keys before it is re-added with changed ones: only the buckets it
        was filed under (scanning them all made a batch of updates quadratic)."""
        key = str(lead.id)
        old = self.by_id.pop(key, lead)
        for bucket, bucket_key in self.filed.pop(key, ()):
            leads = bucket.get(bucket_key)
            if leads and any(item is old for item in leads):
                bucket[bucket_key] = [item for item in leads if item is not old]

    def update(self, lead: Any) -> None:
        self.remove(lead)
        self.add(lead)

    def first(self, leads: list[Any]) -> Any:
        # The earliest lead is the one that stands for the person when several share a key.
        return leads[0] if leads else None

    def email(self, email: str) -> Any:
        return self.first(self.by_email.get(email, [])) if email else None

    def phone(self, phone: str) -> Any:
        return self.first(self.by_phone.get(phone, [])) if phone else None

    def search(self, name: str, value: str) -> Any:
        if name == "email_normalized":
            return self.email(value)
        if name == "phone_normalized":
            return self.phone(value)
        return self.first(self.by_search.get((name, value), []))

    def phone_in_scope(self, phone: str, scope: DupScope) -> Any:
        for lead in self.by_phone.get(phone, []):
            list_id = getattr(lead, "list_id", None)
            if list_id in self.archived_lists and not scope.include_archived:
                continue
            if scope.kind == "account":
                return lead
            if scope.kind == "list" and list_id == scope.list_id:
                return lead
            if (
                scope.kind == "campaign"
                and list_id is not None
                and self.list_campaign.get(list_id) == scope.campaign_id
            ):
                return lead
        return None


def _create(
    keys: MatchKeys, index: LeadIndex, *, reject_similar_email: bool, new_id: str = ""
) -> Decision:
    """Create, unless the global rule forbids a new lead for an email already held."""
    if reject_similar_email and keys.email:
        existing = index.email(keys.email)
        if existing is not None:
            return _duplicate_email(existing)
    if new_id:
        return Decision(Action.CONVERT, new_id=new_id)
    return Decision(Action.CREATE)


def _capture(keys: MatchKeys, index: LeadIndex, *, reject_similar_email: bool) -> Decision:
    all_keys = bool(keys.prospect_id and keys.email and keys.phone)
    if keys.search_field and not all_keys:
        found = index.search(keys.search_field, keys.search_value)
        if found is not None:
            return Decision(Action.UPDATE, lead=found)
    if not (keys.prospect_id or keys.email or keys.phone):
        return _create(keys, index, reject_similar_email=reject_similar_email)
    if keys.prospect_id:
        lead = index.by_id.get(keys.prospect_id)
        if lead is not None:
            if keys.email and lead.email_normalized != keys.email:
                return _create(keys, index, reject_similar_email=reject_similar_email)
            return Decision(Action.UPDATE, lead=lead)
        if keys.prospect_id in index.visitors:
            return _create(
                keys, index, reject_similar_email=reject_similar_email, new_id=keys.prospect_id
            )
    found = index.email(keys.email) or index.phone(keys.phone)
    if found is not None:
        return Decision(Action.UPDATE, lead=found)
    return _create(keys, index, reject_similar_email=reject_similar_email)


def _duplicate_email(existing: Any) -> Decision:
    return Decision(
        Action.REJECT,
        lead=existing,
        error=IntakeError(
            ReasonCode.DUPLICATE_EMAIL,
            "Duplicate email: a lead with a similar email already exists",
            field="email",
            lead=existing,
        ),
    )


def _create_unique(keys: MatchKeys, index: LeadIndex) -> Decision:
    existing = index.email(keys.email)
    if existing is not None:
        return _duplicate_email(existing)
    existing = index.phone(keys.phone)
    if existing is not None:
        return Decision(
            Action.REJECT,
            lead=existing,
            error=IntakeError(
                ReasonCode.DUPLICATE_PHONE,
                "Duplicate phone number in account",
                field="phone",
                lead=existing,
            ),
        )
    return Decision(Action.CREATE)


def _create_or_update(keys: MatchKeys, index: LeadIndex, *, reject_similar_email: bool) -> Decision:
    if keys.search_field:
        found = index.search(keys.search_field, keys.search_value)
    else:
        found = index.email(keys.email) or index.phone(keys.phone)
    if found is not None:
        return Decision(Action.UPDATE, lead=found)
    return _create(keys, index, reject_similar_email=reject_similar_email)


def _insert(
    keys: MatchKeys, index: LeadIndex, scope: DupScope | None, *, reject_similar_email: bool
) -> Decision:
    if scope is not None and keys.phone:
        found = index.phone_in_scope(keys.phone, scope)
        if found is not None:
            if scope.update_if_found:
                return Decision(Action.UPDATE, lead=found)
            where = {"account": "account", "list": "list", "campaign": "campaign"}[scope.kind]
            return Decision(
                Action.REJECT,
                lead=found,
                error=IntakeError(
                    ReasonCode.DUPLICATE_PHONE,
                    f"Duplicate phone number in {where}",
                    field="phone",
                    lead=found,
                ),
            )
    return _create(keys, index, reject_similar_email=reject_similar_email)


def decide(
    operation: Operation,
    keys: MatchKeys,
    index: LeadIndex,
    *,
    reject_similar_email: bool = False,
    scope: DupScope | None = None,
) -> Decision:
    """The rules of docs/matching.md for one request."""
    if operation == Operation.CAPTURE:
        return _capture(keys, index, reject_similar_email=reject_similar_email)
    if operation == Operation.CREATE:
        return _create(keys, index, reject_similar_email=reject_similar_email)
    if operation == Operation.CREATE_UNIQUE:
        return _create_unique(keys, index)
    if operation == Operation.CREATE_OR_UPDATE:
        return _create_or_update(keys, index, reject_similar_email=reject_similar_email)
    if operation == Operation.INSERT:
        return _insert(keys, index, scope, reject_similar_email=reject_similar_email)
    if operation == Operation.UPDATE:
        lead = index.by_id.get(keys.lead_id)
        if lead is None:
            return Decision(
                Action.REJECT,
                error=IntakeError(
                    ReasonCode.NOT_FOUND, "Lead does not exist in the system", field="leadId"
                ),
            )
        return Decision(Action.UPDATE, lead=lead)
    if operation == Operation.CONVERT:
        if keys.lead_id in index.visitors:
            return _create(
                keys, index, reject_similar_email=reject_similar_email, new_id=keys.lead_id
            )
        lead = index.by_id.get(keys.lead_id)
        if lead is not None:
            return Decision(Action.UPDATE, lead=lead)
        return Decision(
            Action.REJECT,
            error=IntakeError(
                ReasonCode.NOT_FOUND, "Visitor does not exist in the system", field="leadId"
            ),
        )
    raise ValueError(f"unknown operation {operation!r}")

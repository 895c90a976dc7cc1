"""The intake pipeline: every API family, the admin's retry and the worker call it.

validate and normalize -> lock the identity keys -> one round of candidate lookups ->
decide each request with leads.matching -> bulk writes -> record every rejection.
Registered stages (leads.stages; the dialer's lists, DNC and hopper) run after the lookups,
during the decisions (the duplicate scope) and after the writes, in the same transaction.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from typing import Any

from django.db import connection
from django.db.models import F, Q
from django.utils import timezone

from config.held_writes import atomic_writes_together
from injectionlogs.models import FailedInjection
from injectionlogs.services import failure_new, failure_record, intake_counts_add
from leads.candidates import lock_id, locked_leads, locked_leads_by_keys, locks_take, reads_run
from leads.custom_fields import custom_fields_register
from leads.errors import IntakeError, invalid_value, missing_field
from leads.ids import new_id
from leads.intake import IntakeRequest, IntakeResult, Origin, UpdateBehavior
from leads.matching import Action, DupScope, LeadIndex, MatchKeys, Operation, decide
from leads.models import Account, Activity, ActivityType, Lead, Visitor
from leads.normalize import normalize_email, normalize_phone
from leads.rollup import rollup_key, rules_that_would_refuse
from leads.stages import (
    StageRead,
    stages_candidates_loaded,
    stages_dup_scope,
    stages_reads,
    stages_written,
)
from leads.vocabulary import ReasonCode
from leads.writes import model_new, rows_insert
from settings_global.services import global_settings_get

# Fields a request may set, by model name. Everything else is a custom field.
LEAD_FIELDS = (
    "first_name",
    "last_name",
    "contact_name",
    "email",
    "phone",
    "phone_code",
    "mobile",
    "alt_phone",
    "company",
    "job_title",
    "address1",
    "address2",
    "city",
    "state",
    "postal_code",
    "country",
    "website",
    "notes",
    "source",
    "source_medium",
    "source_campaign",
    "source_content",
    "source_referrer",
    "status",
)
SOURCE_FIELDS = ("source", "source_medium", "source_campaign", "source_content", "source_referrer")
UNIQUE_FIELDS = ("email", "phone")
# A TextField (notes) has no max_length of its own: it gets this cap, so that every field has a
# length to check here and to list in LeadsMetaData.Get (comparing with None lost the lead).
TEXT_MAX_LENGTH = 65_535
MAX_LENGTHS: dict[str, int] = {
    name: Lead._meta.get_field(name).max_length or TEXT_MAX_LENGTH for name in LEAD_FIELDS
}
# Case folding can lengthen an address (ß -> ss): the normalized key has its own limit.
_EMAIL_KEY_MAX_LENGTH = Lead._meta.get_field("email_normalized").max_length


@dataclass
class _Row:
    request: IntakeRequest
    values: dict[str, str] = field(default_factory=dict)
    keys: MatchKeys = field(default_factory=MatchKeys)
    result: IntakeResult = field(default_factory=IntakeResult)
    list_obj: Any = None
    preview: str = ""  # the duplicate rules that would have refused this creation, were they on


def lead_ingest(*, request: IntakeRequest) -> IntakeResult:
    """Ingest one lead. Raises IntakeError (already recorded in the log) when it is rejected."""
    result = leads_ingest(requests=[request])[0]
    if result.error is not None:
        raise result.error
    return result


def intake_refuse(*, origin: Origin, error: IntakeError, operation: Operation) -> IntakeResult:
    """A whole call refused before it named a lead (a bulk body not to spec, an async body that is
    no attribute array, a Visitor.Track the tracker cannot record): logged and counted by the
    pipeline like every other rejection, its data as received."""
    request = IntakeRequest(
        family=origin.family,
        endpoint=origin.endpoint,
        operation=operation,
        data=origin.data,
        query=dict(origin.query),
        api_user=origin.api_user,
        remote_addr=origin.remote_addr,
        error=error,
    )
    return leads_ingest(requests=[request])[0]


def leads_ingest(*, requests: list[IntakeRequest]) -> list[IntakeResult]:
    """Ingest many leads with a fixed number of queries; one result per request, in order."""
    rules = global_settings_get()
    rows = [_Row(request=r) for r in requests]
    for row in rows:
        _prepare(row, region=rules.default_phone_region)
    live = [row for row in rows if row.result.error is None]
    # The new rows and the rollup go as one statement, sent with the commit.
    with atomic_writes_together():
        if live:
            reads = stages_reads(rows=live)
            index = _load_candidates(live, list(reads.values()))
            stages_candidates_loaded(rows=live, index=index, reads=reads)
            _decide_and_apply(live, index, rules)
            custom_fields_register(
                requests=[r.request for r in live if r.result.error is None],
            )
        failures = [row for row in rows if row.result.error is not None]
        if failures:
            _record_failures(failures)
        intake_counts_add(keys=[rollup_key(row) for row in rows])  # last: see its docstring
    return [row.result for row in rows]


# -- validate and normalize ---------------------------------------------------------------


def _prepare(row: _Row, *, region: str) -> None:
    request = row.request
    try:
        if request.error is not None:
            raise request.error
        values = {}
        for name, raw in request.fields.items():
            if name not in MAX_LENGTHS:
                raise invalid_value(name, "unknown field")
            value = "" if raw is None else str(raw).strip()
            if len(value) > MAX_LENGTHS[name]:
                raise invalid_value(name, f"longer than {MAX_LENGTHS[name]} characters")
            values[name] = value
        _reject_nul(values, request.custom_fields, request.custom_field_sets)
        if request.operation == Operation.CREATE and request.require_contact_name:
            # The contact form only ever creates: its one required field is checked first.
            contact = values.get("contact_name") or _compose_name(
                values.get("first_name", ""), values.get("last_name", "")
            )
            if not contact:
                raise IntakeError(
                    ReasonCode.MISSING_CONTACT_NAME,
                    "Missing required fields (contact_name)",
                    field="contact_name",
                )
        email = normalize_email(values.get("email", ""))
        if len(email) > _EMAIL_KEY_MAX_LENGTH:
            raise invalid_value("email", f"longer than {_EMAIL_KEY_MAX_LENGTH} characters")
        phone = normalize_phone(
            values.get("phone", ""), region=region, phone_code=values.get("phone_code")
        )
        if request.require_unique_field and not (email or phone):
            raise missing_field("a unique field (EmailAddress or Phone)")
        prospect_id = _uuid_or_error(request.prospect_id, "ProspectID")
        lead_id = _uuid_or_error(request.lead_id, "leadId")
        if request.operation in (Operation.UPDATE, Operation.CONVERT) and not lead_id:
            raise missing_field("leadId")
        search_field, search_value = "", ""
        if request.search_by:
            search_field, search_value = _search_key(request, values, email, phone)
        row.values = values
        row.keys = MatchKeys(
            prospect_id=prospect_id,
            email=email,
            phone=phone,
            lead_id=lead_id,
            search_field=search_field,
            search_value=search_value,
        )
    except IntakeError as error:
        row.result.error = error


def _has_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(_has_nul(item) for item in value)
    return False


def _reject_nul(*groups: dict[str, Any]) -> None:
    """PostgreSQL text and jsonb cannot hold NUL: a row carrying one is the sender's error, not a
    database error that would fail every row of the call."""
    for group in groups:
        for name, value in group.items():
            if _has_nul(name) or _has_nul(value):
                raise invalid_value(name.replace("\x00", "\\0"), "contains a NUL character")


def _uuid_or_error(value: str, name: str) -> str:
    value = (value or "").strip()
    if not value:
        return ""
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise invalid_value(name, f"not a valid id: {value}") from None


def _search_key(
    request: IntakeRequest, values: dict[str, str], email: str, phone: str
) -> tuple[str, str]:
    name = request.search_by
    if name == "email":
        if not email:
            raise missing_field("EmailAddress (named by SearchBy)")
        return "email_normalized", email
    if name == "phone":
        if not phone:
            raise missing_field("Phone (named by SearchBy)")
        return "phone_normalized", phone
    if name.startswith("mx_"):
        value = str(request.custom_fields.get(name, "")).strip()
    elif name in MAX_LENGTHS:
        value = values.get(name, "")
    else:
        raise invalid_value("SearchBy", f"unknown field {name}")
    if not value:
        raise missing_field(f"{name} (named by SearchBy)")
    return name, value


# -- lock and look up -----------------------------------------------------------------------


def _lock_keys(rows: list[_Row]) -> list[int]:
    """The advisory locks that serialize requests for the same identity until commit, in one
    order for everyone (no deadlocks); _load_candidates takes them (PostgreSQL only).

    SQLite needs none: its transactions begin IMMEDIATE, one writer at a time.
    """
    if connection.vendor != "postgresql":
        return []
    keys = set()
    for row in rows:
        k = row.keys
        if k.email:
            keys.add("e:" + k.email)
        if k.phone:
            keys.add("p:" + k.phone)
        if k.prospect_id:
            keys.add("i:" + k.prospect_id)
        if k.search_field:
            keys.add(f"s:{k.search_field}:{k.search_value}")
    return sorted({lock_id(k) for k in keys})


def _load_candidates(rows: list[_Row], reads: list[StageRead]) -> LeadIndex:
    """The locks, one query for every lead any request could match and the stages' reads (one
    round trip), one query for visitors."""
    index = LeadIndex()
    lock_ids = _lock_keys(rows)
    ids, emails, phones = set(), set(), set()
    searches: dict[str, set[str]] = {}
    visitor_ids = set()
    list_ids = set()
    for row in rows:
        k = row.keys
        for value in (k.prospect_id, k.lead_id):
            if value:
                ids.add(value)
        if k.prospect_id and row.request.operation == Operation.CAPTURE:
            visitor_ids.add(k.prospect_id)
        if k.lead_id and row.request.operation == Operation.CONVERT:
            visitor_ids.add(k.lead_id)
        if k.email:
            emails.add(k.email)
        if k.phone:
            phones.add(k.phone)
        if k.search_field and k.search_field not in ("email_normalized", "phone_normalized"):
            searches.setdefault(k.search_field, set()).add(k.search_value)
        if row.request.dialer is not None:
            list_ids.add(row.request.dialer.list_id)
    index.search_fields = set(searches)

    if not (ids or emails or phones or searches):
        locks_take(lock_ids)
        leads = []
    elif not searches and connection.vendor == "postgresql":
        leads = locked_leads_by_keys(
            lock_ids, ids, emails, phones, with_list=bool(list_ids), also=reads
        )
    else:
        # FOR UPDATE (PostgreSQL; in one order, so no deadlock): a call that finds a lead by a
        # key this call did not lock waits for the writer and reads its changes, else its batch
        # update would write back the stale values of the fields it updates on other leads.
        # NULLS FIRST: see leads.candidates.
        query = _candidates_q(ids, emails, phones, searches)
        leads = Lead.objects.filter(query).order_by(F("created_at").asc(nulls_first=True), "id")
        leads = leads.select_for_update(of=("self",))
        if list_ids:
            leads = leads.select_related("list")
        leads = locked_leads(leads, lock_ids, also=reads)
    reads_run(reads)  # those the candidate read did not take along
    for lead in leads:
        index.add(lead)
        if list_ids and lead.list is not None:
            index.list_campaign[lead.list_id] = lead.list.campaign_id
            if lead.list.is_archived:
                index.archived_lists.add(lead.list_id)
    if visitor_ids:
        index.visitors = {
            str(v.id): v
            for v in Visitor.objects.filter(id__in=visitor_ids, converted_at__isnull=True)
        }
    return index


def _candidates_q(
    ids: set[str], emails: set[str], phones: set[str], searches: dict[str, set[str]]
) -> Q:
    """The ORM's candidate filter (SearchBy and custom-field lookups, and other databases)."""
    query = Q()
    if ids:
        query |= Q(id__in=ids)
    if emails:
        query |= Q(email_normalized__in=emails)
    if phones:
        query |= Q(phone_normalized__in=phones)
    for name, values in searches.items():
        if name.startswith("mx_"):
            for value in values:
                query |= Q(**{f"custom_fields__{name}": value})
        else:
            query |= Q(**{f"{name}__in": values})
    return query


# -- decide and write ----------------------------------------------------------------------


def _dup_scope(row: _Row, insert_reject_duplicates: bool) -> DupScope | None:
    """Where a phone number counts as a duplicate: the registered stages say (the dialer's
    check_dup); None without one."""
    return stages_dup_scope(row=row, insert_reject_duplicates=insert_reject_duplicates)


def _decide_and_apply(rows: list[_Row], index: LeadIndex, rules: Any) -> None:
    now = timezone.now()
    creates: list[Lead] = []
    updates: dict[Any, Lead] = {}
    update_fields: set[str] = set()
    activities: list[Activity] = []
    converted: list[str] = []
    accounts = _load_accounts(rows)
    require_name = rules.require_contact_name
    for row in rows:
        if row.result.error is not None:
            continue
        request = row.request
        decision = decide(
            request.operation,
            row.keys,
            index,
            reject_similar_email=rules.reject_duplicate_email_via_api,
            scope=_dup_scope(row, rules.insert_reject_duplicates),
        )
        try:
            account = _account_for(request, accounts)
            if decision.action == Action.REJECT:
                raise decision.error
            if decision.action in (Action.CREATE, Action.CONVERT):
                visitor = index.visitors.pop(decision.new_id, None) if decision.new_id else None
                lead = _new_lead(row, decision.new_id, account, visitor)
                if (require_name or request.require_contact_name) and not lead.contact_name:
                    raise IntakeError(
                        ReasonCode.MISSING_CONTACT_NAME,
                        "Missing required fields (contact_name)",
                        field="contact_name",
                    )
                creates.append(lead)
                row.preview = rules_that_would_refuse(row, index)
                index.add(lead)
                if decision.new_id:
                    converted.append(decision.new_id)
                row.result.created = True
                row.result.affected_rows = 1
                activities.append(_activity(row, lead, ActivityType.CREATED))
            else:
                lead = decision.lead
                changed = _apply_update(lead, row, account)
                if changed:
                    lead.updated_at = now
                    update_fields.update(changed)
                    update_fields.add("updated_at")
                    if lead._state.adding:
                        pass  # created earlier in this call: the insert carries the change
                    else:
                        updates[lead.pk] = lead
                    index.update(lead)
                row.result.updated = True
                row.result.affected_rows = 1
            row.result.lead = lead
            capture = _activity(row, lead, ActivityType.LEAD_CAPTURE)
            row.result.activity = capture
            activities.append(capture)
        except IntakeError as error:
            row.result.error = error
            # A duplicate rejection posts the capture to the existing lead (rule 11), also to one
            # an earlier row of this call created: it is inserted before the activities.
            duplicate = error.code in (ReasonCode.DUPLICATE_EMAIL, ReasonCode.DUPLICATE_PHONE)
            if duplicate and decision.lead is not None:
                activities.append(
                    _activity(row, decision.lead, ActivityType.LEAD_CAPTURE, rejected=error)
                )
    if creates:
        rows_insert(Lead, creates)
    if updates:
        Lead.objects.bulk_update(list(updates.values()), sorted(update_fields))
    if converted:
        Visitor.objects.filter(id__in=converted).update(converted_at=now)
    if activities:
        rows_insert(Activity, activities)
    stages_written(rows=[r for r in rows if r.result.error is None], now=now)


def _load_accounts(rows: list[_Row]) -> dict[str, Account]:
    ids = set()
    for row in rows:
        if row.result.error is None and row.request.related_company_id:
            try:
                ids.add(str(uuid.UUID(row.request.related_company_id.strip())))
            except ValueError:
                row.result.error = invalid_value(
                    "RelatedCompanyId", f"not a valid id: {row.request.related_company_id}"
                )
    if not ids:
        return {}
    return {str(a.id): a for a in Account.objects.filter(id__in=ids)}


def _account_for(request: IntakeRequest, accounts: dict[str, Account]) -> Account | None:
    if not request.related_company_id:
        return None
    account = accounts.get(str(uuid.UUID(request.related_company_id.strip())))
    if account is None:
        raise IntakeError(
            ReasonCode.NOT_FOUND,
            f"No such account: {request.related_company_id}",
            field="RelatedCompanyId",
        )
    return account


def _compose_name(first: str, last: str) -> str:
    return f"{first} {last}".strip()


def _new_lead(row: _Row, new_id: str, account: Account | None, visitor: Visitor | None) -> Lead:
    request, fields = row.request, dict(row.values)
    if visitor is not None:
        # The converted visitor's tracked source stays the lead's source.
        for name in SOURCE_FIELDS:
            if not fields.get(name):
                fields[name] = getattr(visitor, name)
    if not fields.get("contact_name"):
        fields["contact_name"] = _compose_name(
            fields.get("first_name", ""), fields.get("last_name", "")
        )
    if not fields.get("status"):
        fields["status"] = "New"
    if new_id:
        fields["id"] = uuid.UUID(new_id)
    # created_at and updated_at stay unset here: the insert stamps each row (auto_now_add).
    lead = model_new(
        Lead,
        **fields,
        email_normalized=row.keys.email,
        phone_normalized=row.keys.phone,
        custom_fields=dict(request.custom_fields),
        custom_field_sets=dict(request.custom_field_sets),
    )
    # The related objects through their descriptors: the lead holds them, no query reads them.
    if getattr(request.api_user, "pk", None):
        lead.created_by = request.api_user
    if account is not None:
        lead.account = account
    if row.list_obj is not None:
        lead.list = row.list_obj
    return lead


def _apply_update(lead: Lead, row: _Row, account: Account | None) -> list[str]:
    """Apply the passed fields under LeadUpdateBehavior; returns the changed model fields."""
    behavior = row.request.update_behavior
    if behavior == UpdateBehavior.DO_NOT_UPDATE:
        return []
    changed: list[str] = []
    old_composed = _compose_name(lead.first_name, lead.last_name)
    for name, value in row.values.items():
        current = getattr(lead, name)
        if name in SOURCE_FIELDS and current:
            continue  # a repeat capture never overwrites the lead source (rule 9)
        if behavior == UpdateBehavior.UPDATE_ONLY_EMPTY and current:
            continue
        if behavior == UpdateBehavior.DO_NOT_UPDATE_UNIQUE and name in UNIQUE_FIELDS:
            continue
        if name in UNIQUE_FIELDS and not value:
            continue  # an empty identifier never erases the one held
        if name == "email" and row.keys.email == lead.email_normalized:
            continue  # the same address written another way: keep the one held
        if name == "phone" and row.keys.phone == lead.phone_normalized:
            continue
        if current != value:
            setattr(lead, name, value)
            changed.append(name)
    if "email" in changed:
        lead.email_normalized = row.keys.email
        changed.append("email_normalized")
    if "phone" in changed or ("phone_code" in changed and lead.phone):
        lead.phone_normalized = row.keys.phone or lead.phone_normalized
        changed.append("phone_normalized")
    if "contact_name" not in row.values and {"first_name", "last_name"} & set(changed):
        if not lead.contact_name or lead.contact_name == old_composed:
            lead.contact_name = _compose_name(lead.first_name, lead.last_name)
            changed.append("contact_name")
    for attr, incoming in (
        ("custom_fields", row.request.custom_fields),
        ("custom_field_sets", row.request.custom_field_sets),
    ):
        merged = dict(getattr(lead, attr) or {})
        for key, value in incoming.items():
            if behavior == UpdateBehavior.UPDATE_ONLY_EMPTY and merged.get(key) not in (None, ""):
                continue
            merged[key] = value
        if merged != getattr(lead, attr):
            setattr(lead, attr, merged)
            changed.append(attr)
    if account is not None and lead.account_id != account.id:
        lead.account = account
        changed.append("account")
    if (
        row.request.operation == Operation.UPDATE
        and row.list_obj is not None
        and lead.list_id != row.list_obj.id
    ):
        lead.list = row.list_obj  # Convoso /v1/leads/update?list_id= moves the lead
        changed.append("list")
    return changed


def _activity(row: _Row, lead: Lead, kind: str, rejected: IntakeError | None = None) -> Activity:
    request = row.request
    data: dict[str, Any] = {
        "family": request.family,
        "endpoint": request.endpoint,
        "source": {name: row.values[name] for name in SOURCE_FIELDS if row.values.get(name)},
    }
    note = f"{request.family} {request.endpoint}"
    if rejected is not None:
        data["rejected"] = {"reason_code": rejected.code, "reason": rejected.message}
        note = f"Duplicate rejected: {rejected.message}"
    # By ids, not objects: no related-object descriptor per activity (a bulk call makes two
    # per lead); nothing reads an activity's lead or user back from it. The insert stamps
    # created_at.
    return model_new(
        Activity,
        lead_id=lead.pk,
        type=kind,
        note=note[:512],
        data=data,
        created_by_id=getattr(request.api_user, "pk", None),
    )


def _record_failures(rows: list[_Row]) -> None:
    """One insert for all of a call's new log rows; a replay updates the row it replays."""
    new_rows = []
    for row in rows:
        request, error = row.request, row.result.error
        origin = request.origin.as_dict()
        if request.retry_of is not None:
            row.result.failure = failure_record(error=error, **origin, retry_of=request.retry_of)
        else:
            row.result.failure = failure_new(error=error, **origin)
            new_rows.append(row.result.failure)
    if new_rows:
        FailedInjection.objects.bulk_create(new_rows)


# -- visitors -------------------------------------------------------------------------------


def visitor_track(*, prospect_id: str, source_fields: dict[str, str], data: dict) -> Visitor:
    """Record an anonymous visitor (the website tracker's MXCProspectId) to convert later."""
    visitor_id = _uuid_or_error(prospect_id, "ProspectID") or str(new_id())
    fields = {k: v for k, v in source_fields.items() if k in SOURCE_FIELDS}
    for name, value in fields.items():
        if len(value) > MAX_LENGTHS[name]:
            raise invalid_value(name, f"longer than {MAX_LENGTHS[name]} characters")
    _reject_nul(fields)
    visitor, created = Visitor.objects.get_or_create(
        id=visitor_id, defaults={**fields, "data": data}
    )
    if not created:
        for key, value in fields.items():
            if value and not getattr(visitor, key):
                setattr(visitor, key, value)
        visitor.data = {**visitor.data, **data}
        visitor.save()
    return visitor

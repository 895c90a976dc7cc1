"""What the pipeline tells the dashboard's rollup about each lead it ingests: the rollup key
(API user, family, operation, outcome, reason) and, for the rule preview on Global Settings,
the duplicate rules that would have refused an accepted lead. Read from the rows and candidates
leads_ingest already holds: no query of its own."""

from __future__ import annotations

from typing import Any

from injectionlogs.services import intake_key
from leads.matching import LeadIndex, Operation


def rollup_key(row: Any) -> Any:
    """The dashboard rollup's key for one row of leads_ingest: who, which family, what outcome."""
    request = row.request
    if request.retry_of is not None:
        # A staff retry is not the vendor's call: it counts under "native", for no API user.
        api_user, family = None, "native"
    else:
        api_user, family = request.api_user, request.family
    preview = row.preview
    if row.result.updated and request.operation == Operation.INSERT:
        preview = "phone"  # update_if_found gives way to "insert rejects duplicates"
    return intake_key(
        api_user=api_user,
        family=family,
        operation=str(request.operation),
        error=row.result.error,
        created=row.result.created,
        preview=preview,
    )


def rules_that_would_refuse(row: Any, index: LeadIndex) -> str:
    """For the rule preview on Global Settings: "email" when a lead already holds this email
    ("reject similar email"), "phone" when an insert without check_dup creates a lead whose
    number the account holds ("insert rejects duplicates regardless of check_dup")."""
    tags = []
    if row.keys.email and index.by_email.get(row.keys.email):
        tags.append("email")
    dialer = row.request.dialer
    if (
        dialer is not None
        and row.request.operation == Operation.INSERT
        and dialer.check_dup == 0
        and row.keys.phone
        and any(
            dialer.check_dup_archive or lead.list_id not in index.archived_lists
            for lead in index.by_phone.get(row.keys.phone, ())
        )
    ):
        tags.append("phone")
    return "+".join(tags)

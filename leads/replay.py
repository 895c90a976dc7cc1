"""Retry injection: run a logged rejection through the intake pipeline again, today's rules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import transaction

from injectionlogs.models import FailedInjection
from injectionlogs.services import failure_record, failure_resolve
from leads.errors import IntakeError, invalid_body
from leads.services import IntakeRequest, leads_ingest
from leads.vocabulary import Family

# family -> builds the IntakeRequest again from a logged row (endpoint, query, data).
# Each family's module registers itself from its app's ready().
Replayer = Callable[[FailedInjection], IntakeRequest]
REPLAYERS: dict[str, Replayer] = {}


def register(family: str) -> Callable[[Replayer], Replayer]:
    def decorator(fn: Replayer) -> Replayer:
        REPLAYERS[family] = fn
        return fn

    return decorator


def failure_retry(*, failure: FailedInjection, user: Any) -> tuple[Any, IntakeError | None]:
    """Returns (lead, None) and marks the row resolved, or (None, error) with the row's new
    reason. The lead and the resolution commit together; the row is locked, so two staff retrying
    it at once make one lead."""
    with transaction.atomic():
        lead, error = _retry_locked(failure)
        if lead is not None:
            failure_resolve(failure=failure, lead=lead, user=user)
    return lead, error


def _retry_locked(failure: FailedInjection) -> tuple[Any, IntakeError | None]:
    row = FailedInjection.objects.select_for_update().filter(pk=failure.pk).first()
    if row is None:
        return None, invalid_body("the log row no longer exists")
    # The caller's copy takes the locked row's state: the new reason, the retry count.
    failure.refresh_from_db()
    if failure.resolved_at is not None:
        return None, invalid_body(f"already resolved: lead {failure.resolved_lead_id}")
    replayer = REPLAYERS.get(failure.family)
    if replayer is None:
        error = invalid_body(f"no replay for the {Family(failure.family).label} family")
        failure_record(error=error, data=None, family="", endpoint="", retry_of=failure)
        return None, error
    request = replayer(failure)
    request.retry_of = failure
    # leads_ingest does not raise: a rejection updates the row and commits with it.
    result = leads_ingest(requests=[request])[0]
    return result.lead if result.error is None else None, result.error

"""Retry injection: run a logged rejection through the intake pipeline again, today's rules."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from injectionlogs.errors import IntakeError, invalid_body
from injectionlogs.models import FailedInjection, Family
from injectionlogs.services import failure_record, failure_resolve
from leads.services import IntakeRequest, lead_ingest

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
    reason."""
    replayer = REPLAYERS.get(failure.family)
    if replayer is None:
        error = invalid_body(f"no replay for the {Family(failure.family).label} family")
        failure_record(error=error, data=None, family="", endpoint="", retry_of=failure)
        return None, error
    request = replayer(failure)
    request.retry_of = failure
    try:
        result = lead_ingest(request=request)
    except IntakeError as error:
        return None, error
    failure_resolve(failure=failure, lead=result.lead, user=user)
    return result.lead, None

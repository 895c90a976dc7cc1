from __future__ import annotations

import random
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from injectionlogs.errors import IntakeError
from injectionlogs.models import FailedInjection, IntakeCount, IntakeOutcome

# Parameter names that carry credentials in any family; they never reach the log.
CREDENTIAL_KEYS = frozenset(
    {
        "accesskey",
        "secretkey",
        "x-api-key",
        "x_api_key",
        "apikey",
        "api_key",
        "auth_token",
        "authtoken",
        "token",
        "password",
        "authorization",
    }
)


def _storable(text: str) -> str:
    # PostgreSQL's jsonb cannot hold NUL; the row must still be written, so it is shown as U+FFFD.
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


def strip_credentials(data: Any) -> Any:
    """Return the data with every credential-named key removed, at any depth."""
    if isinstance(data, Mapping):
        return {
            _storable(str(key)): strip_credentials(value)
            for key, value in data.items()
            if str(key).lower() not in CREDENTIAL_KEYS
        }
    if isinstance(data, list | tuple):
        return [strip_credentials(item) for item in data]
    if isinstance(data, str):
        return _storable(data)
    return data


def failure_record(
    *, error: IntakeError, retry_of: FailedInjection | None = None, **origin: Any
) -> FailedInjection:
    """Record one rejected lead: reason, the data as received without credentials, and origin
    (the keyword arguments of failure_new).

    With retry_of, the existing row is kept and takes the new reason instead.
    """
    if retry_of is not None:
        retry_of.reason_code = error.code
        retry_of.reason = _storable(error.message)
        retry_of.retry_count += 1
        retry_of.save(update_fields=["reason_code", "reason", "retry_count"])
        return retry_of
    failure = failure_new(error=error, **origin)
    with transaction.atomic():
        failure.save(force_insert=True)
        # A whole call refused before the pipeline: one rejection in the rollup, like its row.
        intake_counts_add(
            keys=[
                intake_key(
                    api_user=failure.api_user,
                    family=failure.family,
                    operation="",
                    error=error,
                    created=False,
                )
            ]
        )
    return failure


def failure_new(
    *,
    error: IntakeError,
    data: Any,
    family: str,
    endpoint: str,
    query: Mapping[str, Any] | None = None,
    api_user: Any = None,
    remote_addr: str | None = None,
) -> FailedInjection:
    """One rejected lead's log row, unsaved: the pipeline writes a call's rows in one insert."""
    return FailedInjection(
        reason_code=error.code,
        reason=_storable(error.message),
        data=strip_credentials(data if data is not None else {}),
        query=strip_credentials(dict(query or {})),
        family=family,
        endpoint=_storable(endpoint[:128]),
        api_user=api_user if getattr(api_user, "pk", None) else None,
        remote_addr=remote_addr or None,
    )


# The name the design uses for it.
record_failure = failure_record


@transaction.atomic
def failure_resolve(*, failure: FailedInjection, lead: Any, user: Any = None) -> FailedInjection:
    failure.resolved_at = timezone.now()
    failure.resolved_lead = lead
    failure.resolved_by = user if getattr(user, "pk", None) else None
    failure.retry_count += 1
    failure.save(update_fields=["resolved_at", "resolved_lead", "resolved_by", "retry_count"])
    return failure


# -- the intake rollup ------------------------------------------------------------------------

INTAKE_SLOTS = 8

# One counted lead: (api user pk or 0, family, operation, outcome, reason_code).
IntakeKey = tuple[int, str, str, str, str]


def intake_counts_add(*, keys: Iterable[IntakeKey], at: datetime | None = None) -> None:
    """Count a call's leads in the hourly rollup: one INSERT ... ON CONFLICT for the whole call.

    Call it inside the intake transaction, as its last statement: the row lock it takes is then
    held only while the transaction commits."""
    counts = Counter(keys)
    if not counts:
        return
    hour = (at or timezone.now()).replace(minute=0, second=0, microsecond=0)
    hour_param = connection.ops.adapt_datetimefield_value(hour)
    slot = random.randrange(INTAKE_SLOTS)
    table = IntakeCount._meta.db_table
    values, params = [], []
    for (user_id, family, operation, outcome, reason), count in sorted(counts.items()):
        values.append("(%s, %s, %s, %s, %s, %s, %s, %s)")
        params += [hour_param, user_id or 0, family, operation, outcome, reason, slot, count]
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} "  # noqa: S608 (the table name is ours, the values are params)
            "(hour, api_user_id, family, operation, outcome, reason_code, slot, count) "
            f"VALUES {', '.join(values)} "
            "ON CONFLICT (hour, api_user_id, family, operation, outcome, reason_code, slot) "
            f"DO UPDATE SET count = {table}.count + excluded.count",
            params,
        )


def intake_key(
    *, api_user: Any, family: str, operation: str, error: IntakeError | None, created: bool
) -> IntakeKey:
    """The rollup key of one lead's outcome."""
    if error is not None:
        outcome, reason = IntakeOutcome.REJECTED, error.code
    else:
        outcome, reason = (IntakeOutcome.CREATED if created else IntakeOutcome.UPDATED), ""
    return (getattr(api_user, "pk", None) or 0, family, operation, str(outcome), str(reason))

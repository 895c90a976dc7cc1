from __future__ import annotations

import random
import threading
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from config.held_writes import write
from config.redact import is_credential_name, redact_text
from injectionlogs.models import FailedInjection, IntakeCount, IntakeOutcome
from leads.errors import IntakeError
from leads.vocabulary import CREDENTIAL_KEYS


def _storable(text: str) -> str:
    # PostgreSQL's jsonb cannot hold NUL; the row must still be written, so it is shown as U+FFFD.
    return text.replace("\x00", "\ufffd") if "\x00" in text else text


# Where the families keep a body they could not parse, as the raw text received.
RAW_TEXT_KEYS = frozenset({"raw", "raw_body"})


def _is_credential(key: str) -> bool:
    return key.lower() in CREDENTIAL_KEYS or is_credential_name(key)


def strip_credentials(data: Any) -> Any:
    """Return the data with every credential-named key removed, at any depth, and the credentials
    inside a raw body (form text or broken JSON) redacted."""
    if isinstance(data, Mapping):
        return {
            _storable(str(key)): (
                _storable(redact_text(value))
                if str(key) in RAW_TEXT_KEYS and isinstance(value, str)
                else strip_credentials(value)
            )
            for key, value in data.items()
            if not _is_credential(str(key))
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


@transaction.atomic
def failure_resolve(*, failure: FailedInjection, lead: Any, user: Any = None) -> FailedInjection:
    failure.resolved_at = timezone.now()
    failure.resolved_lead = lead
    failure.resolved_by = user if getattr(user, "pk", None) else None
    failure.retry_count += 1
    failure.save(update_fields=["resolved_at", "resolved_lead", "resolved_by", "retry_count"])
    return failure


# -- the intake rollup ------------------------------------------------------------------------

# Slot 0 holds folded hours; each thread that counts intake writes its own slot of 1..32767,
# drawn once per thread, so that concurrent calls do not queue on one row's lock until commit
# (with 8 random slots, 16-24 concurrent calls waited on each other at this upsert).
_SLOT_MAX = 32767
_thread_slot = threading.local()


def _slot() -> int:
    slot = getattr(_thread_slot, "value", None)
    if slot is None:
        slot = _thread_slot.value = random.SystemRandom().randrange(1, _SLOT_MAX + 1)
    return slot


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
    _upsert(hour, counts, slot=_slot())


def _upsert(hour: datetime, counts: Counter, *, slot: int) -> None:
    hour_param = connection.ops.adapt_datetimefield_value(hour)
    table = IntakeCount._meta.db_table
    for start in range(0, len(counts), 500):
        values, params = [], []
        for (user_id, family, operation, outcome, reason), count in sorted(counts.items())[
            start : start + 500
        ]:
            values.append("(%s, %s, %s, %s, %s, %s, %s, %s)")
            params += [hour_param, user_id or 0, family, operation, outcome, reason, slot, count]
        write(
            f"INSERT INTO {table} "  # the table name is ours, the values are parameters
            "(hour, api_user_id, family, operation, outcome, reason_code, slot, count) "
            f"VALUES {', '.join(values)} "
            "ON CONFLICT (hour, api_user_id, family, operation, outcome, reason_code, slot) "
            f"DO UPDATE SET count = {table}.count + excluded.count",
            params,
        )


PREVIEW_PREFIX = "preview:"


def intake_key(
    *,
    api_user: Any,
    family: str,
    operation: str,
    error: IntakeError | None,
    created: bool,
    preview: str = "",
) -> IntakeKey:
    """The rollup key of one lead's outcome. An accepted lead's reason_code names the duplicate
    rules that would have refused it ("preview:email", "preview:phone", "preview:email+phone"),
    for the rule preview on Global Settings."""
    if error is not None:
        outcome, reason = IntakeOutcome.REJECTED, error.code
    else:
        outcome = IntakeOutcome.CREATED if created else IntakeOutcome.UPDATED
        reason = PREVIEW_PREFIX + preview if preview else ""
    return (getattr(api_user, "pk", None) or 0, family, operation, str(outcome), str(reason))


HOURLY_FOR = timedelta(hours=48)


def intake_bucket(hour: datetime, *, now: datetime) -> datetime:
    """Where a count kept for `hour` belongs once folded: the hour itself while it is recent,
    else the start of its day (in the current time zone)."""
    if hour >= now - HOURLY_FOR:
        return hour
    local = timezone.localtime(hour)
    return local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(UTC)


@transaction.atomic
def intake_counts_compact(*, now: datetime | None = None, full: bool = False) -> int:
    """Fold the rollup of hours that are over: their slots into one row, and hours older than
    two days into their day. The 30-day charts then read days, not hours times slots.

    Only hours already over are touched (the pipeline writes the current one), so it runs beside
    intake; a straggler that lands in a past hour is folded on the next run. Returns the number
    of rows folded away."""
    now = now or timezone.now()
    current = now.replace(minute=0, second=0, microsecond=0)
    rows = IntakeCount.objects.filter(hour__lt=current)
    if not full:
        rows = rows.filter(hour__gte=current - HOURLY_FOR - timedelta(days=3))
    folded: Counter = Counter()
    doomed = []
    fields = ("pk", "hour", "slot", "api_user_id", "family", "operation", "outcome", "reason_code")
    for pk, hour, slot, *key, count in (
        rows.select_for_update().values_list(*fields, "count").iterator(chunk_size=5000)
    ):
        bucket = intake_bucket(hour, now=now)
        if bucket == hour and slot == 0:
            continue
        folded[(bucket, *key)] += count
        doomed.append(pk)
    if not doomed:
        return 0
    for start in range(0, len(doomed), 5000):
        IntakeCount.objects.filter(pk__in=doomed[start : start + 5000]).delete()
    by_bucket: dict[datetime, Counter] = {}
    for (bucket, *key), count in folded.items():
        by_bucket.setdefault(bucket, Counter())[tuple(key)] += count
    for bucket, counts in by_bucket.items():
        _upsert(bucket, counts, slot=0)
    return len(doomed)

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.db import transaction
from django.utils import timezone

from config.redact import is_credential_name, redact_text
from injectionlogs.errors import IntakeError
from injectionlogs.models import FailedInjection

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
    failure.save(force_insert=True)
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

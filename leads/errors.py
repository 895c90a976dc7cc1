"""The errors the APIs answer with: one base, ApiError, carrying its HTTP status, its kind and its
headers; each family renders it once, in its own body (FamilyAPIView.render_error).

kind is a ReasonCode for a refused lead, or one of auth / rate_limit / unknown_api / conflict /
server. Plain Python: no Django, no DRF, so matching and the wire modules raise these too.
"""

from __future__ import annotations

import json
from typing import Any

from leads.vocabulary import ReasonCode

SERVER_KINDS = frozenset({"auth", "rate_limit", "unknown_api", "conflict", "server"})


class ApiError(Exception):
    """A call answered with an error: status, kind, message, and headers (Retry-After)."""

    status = 500
    kind = "server"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        kind: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        if status is not None:
            self.status = status
        if kind is not None:
            self.kind = kind
        self.headers = dict(headers or {})
        self.field: str | None = None

    def __str__(self) -> str:
        return self.message


class IntakeError(ApiError):
    """A lead rejected for a reason the sender can fix; its kind is the ReasonCode."""

    status = 400

    def __init__(
        self,
        code: ReasonCode | str,
        message: str,
        *,
        field: str | None = None,
        lead: Any = None,
        status: int | None = None,
    ) -> None:
        super().__init__(message, status=status, kind=ReasonCode(code))
        self.code = self.kind
        self.field = field
        # The existing lead a duplicate rejection was about (it gets the capture activity).
        self.lead = lead


def missing_field(name: str) -> IntakeError:
    return IntakeError(ReasonCode.MISSING_FIELD, f"Missing required field: {name}", field=name)


def invalid_value(name: str, what: str) -> IntakeError:
    return IntakeError(ReasonCode.INVALID_VALUE, f"Invalid value for {name}: {what}", field=name)


def invalid_body(what: str) -> IntakeError:
    return IntakeError(ReasonCode.INVALID_BODY, f"Body not to specification: {what}")


def malformed_json(exc: json.JSONDecodeError) -> IntakeError:
    """invalid_body for a body that json could not read, and where it stopped: "Expecting value at
    character 0", "Unterminated string starting at character 37" (json's own message for that
    one already ends in "at")."""
    return invalid_body(f"malformed JSON ({exc.msg.removesuffix(' at')} at character {exc.pos})")


class AuthError(ApiError):
    """Bad or revoked credentials: a 401, and no log row (the sender is told and retries)."""

    status = 401
    kind = "auth"

    def __init__(self, message: str = "Invalid API credentials") -> None:
        super().__init__(message)


class RateLimitExceeded(ApiError):
    """Over the credential's call limit: a 429 with Retry-After."""

    status = 429
    kind = "rate_limit"

    def __init__(self, calls: int, window: int, retry_after: int) -> None:
        self.calls = calls
        self.window = window
        self.retry_after = max(1, retry_after)
        super().__init__(
            f"API calls exceeded the limit of {calls} in {window} second(s)",
            headers={"Retry-After": str(self.retry_after)},
        )


class IdempotencyConflict(ApiError):
    """An Idempotency-Key reused with another request, or still in progress: a 409."""

    status = 409
    kind = "conflict"


class IdempotentReplay(ApiError):
    """A retry with a known Idempotency-Key: answered with the first call's stored answer, as is
    (not in an error body)."""

    kind = "replay"

    def __init__(self, record: Any) -> None:
        super().__init__(
            "replay", status=record.status_code, headers={"Idempotent-Replayed": "true"}
        )
        self.record = record
        self.body = record.response


class UnknownApi(ApiError):
    status = 404
    kind = "unknown_api"

    def __init__(self, message: str = "The API could not be found") -> None:
        super().__init__(message)


# What a 503 tells the sender to wait, in every family's format and the staff API's.
RETRY_AFTER_SECONDS = 5


class ServiceUnavailable(ApiError):
    """The database or Redis is away: a 503 the sender retries after Retry-After."""

    status = 503
    kind = "server"

    def __init__(self, message: str = "Service unavailable, retry later") -> None:
        super().__init__(message, headers={"Retry-After": str(RETRY_AFTER_SECONDS)})

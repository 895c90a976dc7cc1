"""The one error the intake raises: a reason code shared by every family, a message, a status."""

from __future__ import annotations

from typing import Any

from injectionlogs.models import ReasonCode


class IntakeError(Exception):
    """A lead rejected for a reason the sender can fix; each API renders it in its own format."""

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
        super().__init__(message)
        self.code = ReasonCode(code)
        self.message = message
        self.field = field
        # The existing lead a duplicate rejection was about (it gets the capture activity).
        self.lead = lead
        if status is not None:
            self.status = status

    def __str__(self) -> str:
        return self.message


def missing_field(name: str) -> IntakeError:
    return IntakeError(ReasonCode.MISSING_FIELD, f"Missing required field: {name}", field=name)


def invalid_value(name: str, what: str) -> IntakeError:
    return IntakeError(ReasonCode.INVALID_VALUE, f"Invalid value for {name}: {what}", field=name)


def invalid_body(what: str) -> IntakeError:
    return IntakeError(ReasonCode.INVALID_BODY, f"Body not to specification: {what}")


class AuthError(Exception):
    """Bad or revoked credentials: a 401, and no log row (the sender is told and retries)."""

    def __init__(self, message: str = "Invalid API credentials") -> None:
        super().__init__(message)
        self.message = message

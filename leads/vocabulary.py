"""The words every layer shares: why a lead was refused, which API family sent it, which
parameter names carry credentials. Plain Python (no Django): matching, wire and models use it."""

from __future__ import annotations

from enum import StrEnum


class LabeledEnum(StrEnum):
    """A string enum whose members carry a human label, like Django's TextChoices."""

    label: str

    def __new__(cls, value: str, label: str) -> LabeledEnum:
        member = str.__new__(cls, value)
        member._value_ = value
        member.label = label
        return member

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        """(value, label) pairs for a model field's choices."""
        return [(member.value, member.label) for member in cls]


class ReasonCode(LabeledEnum):
    MISSING_CONTACT_NAME = "missing_contact_name", "Missing required fields (contact_name)"
    MISSING_FIELD = "missing_field", "Missing required field"
    DUPLICATE_EMAIL = "duplicate_email", "Duplicate email"
    DUPLICATE_PHONE = "duplicate_phone", "Duplicate phone number"
    DNC = "dnc", "Phone number is on the Do Not Call list"
    INVALID_EMAIL = "invalid_email", "Invalid email"
    INVALID_PHONE = "invalid_phone", "Invalid phone number"
    UNKNOWN_LIST = "unknown_list", "No such list"
    NOT_FOUND = "not_found", "No such lead"
    INVALID_BODY = "invalid_body", "Body not to specification"
    INVALID_VALUE = "invalid_value", "Invalid value"


class Family(LabeledEnum):
    LEADSQUARED = "leadsquared", "LeadSquared"
    CONVOSO = "convoso", "Convoso"
    ANINJA = "aninja", "aNinja"
    NATIVE = "native", "Native / admin"
    UPLOAD = "upload", "Lead list upload"


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

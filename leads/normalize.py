"""Normalized match keys: one email or phone written many ways is one person."""

from __future__ import annotations

import re

import phonenumbers
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from leads.errors import IntakeError
from leads.vocabulary import ReasonCode

_DIGITS = re.compile(r"\d")


def normalize_email(value: str) -> str:
    """Trimmed and case-folded; raises IntakeError(invalid_email) when it is not an address."""
    email = value.strip().casefold()
    if not email:
        return ""
    try:
        validate_email(email)
    except ValidationError:
        raise IntakeError(
            ReasonCode.INVALID_EMAIL, f"Invalid email: {value}", field="email"
        ) from None
    return email


def email_key(value: str | None) -> str:
    """The same form as normalize_email, without validation: for comparing what is stored."""
    return (value or "").strip().casefold()


def normalize_phone(value: str, *, region: str, phone_code: str | None = None) -> str:
    """E.164, read in the lead's region (its phone_code, else the given default region)."""
    raw = value.strip()
    if not raw:
        return ""
    if not _DIGITS.search(raw):
        raise IntakeError(ReasonCode.INVALID_PHONE, f"Invalid phone number: {value}", field="phone")
    parse_region = region
    if phone_code:
        code = phone_code.strip().lstrip("+")
        if not code.isdigit():
            raise IntakeError(
                ReasonCode.INVALID_VALUE, f"Invalid value for phone_code: {phone_code}"
            )
        parse_region = phonenumbers.region_code_for_country_code(int(code))
        if parse_region == "ZZ":
            raise IntakeError(
                ReasonCode.INVALID_VALUE, f"Invalid value for phone_code: {phone_code}"
            )
    try:
        number = phonenumbers.parse(raw, parse_region)
    except phonenumbers.NumberParseException:
        raise IntakeError(
            ReasonCode.INVALID_PHONE, f"Invalid phone number: {value}", field="phone"
        ) from None
    # Possible, not strictly valid: vendors' test numbers such as 7777777777 must pass.
    if not phonenumbers.is_possible_number(number):
        raise IntakeError(ReasonCode.INVALID_PHONE, f"Invalid phone number: {value}", field="phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def phone_key(value: str | None, *, region: str) -> str:
    """normalize_phone that answers "" instead of raising: for reading what is already stored."""
    try:
        return normalize_phone(value or "", region=region)
    except IntakeError:
        return ""


_PHONE_QUERY = re.compile(r"[\d\s()+.\-/]+")


def phone_query_keys(value: str, *, region: str) -> tuple[str, str]:
    """A search box's phone, typed as staff type it: its E.164 form ("" when it is not a whole
    number) and its digits, for a part of a number. ("", "") when it is not a phone."""
    text = value.strip()
    digits = "".join(ch for ch in text if ch.isdigit())
    if len(digits) < 3 or not _PHONE_QUERY.fullmatch(text):
        return "", ""
    return phone_key(text, region=region), digits

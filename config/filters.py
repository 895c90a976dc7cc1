"""Filters the staff API shares: what the database cannot compare is a 400, not a 500."""

from __future__ import annotations

from datetime import UTC, timedelta

import django_filters
from django.core.exceptions import ValidationError

# PostgreSQL refuses a UTC offset of 16 hours or more ("time zone displacement out of range").
MAX_UTC_OFFSET = timedelta(hours=16)


class IsoDateTimeField(django_filters.fields.IsoDateTimeField):
    def to_python(self, value):
        parsed = super().to_python(value)
        offset = parsed.utcoffset() if parsed is not None else None
        if offset is not None and abs(offset) >= MAX_UTC_OFFSET:
            raise ValidationError(
                "Enter a valid date/time: the UTC offset must be within -15:59 and +15:59.",
                code="invalid",
            )
        if offset is not None:
            try:
                parsed.astimezone(UTC)  # SQLite compares in UTC: year 1 or 9999 may overflow
            except OverflowError:
                raise ValidationError(
                    "Enter a valid date/time: out of range in UTC.", code="invalid"
                ) from None
        return parsed


class IsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    field_class = IsoDateTimeField

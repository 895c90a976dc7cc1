"""The custom field registry, kept on write: LeadsMetaData.Get reads it instead of the leads."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from leads.models import CustomField, CustomFieldType

# Names this process knows are registered: the common capture makes no extra query. Filled only
# after a commit, so that a rolled-back registration is tried again.
_known: set[str] = set()


def _data_type(value: Any) -> str:
    if isinstance(value, bool):
        return CustomFieldType.BOOLEAN
    if isinstance(value, int | float):
        return CustomFieldType.NUMBER
    return CustomFieldType.STRING


def custom_fields_register(*, requests: list[Any]) -> None:
    """Register the custom field (set) names of these requests not yet known, inside the
    caller's transaction: INSERT ... ON CONFLICT DO NOTHING, so racing writers do not fail."""
    new: dict[str, CustomField] = {}
    for request in requests:
        for name, value in request.custom_fields.items():
            if name not in _known and name not in new and len(name) <= 255:
                new[name] = CustomField(name=name, data_type=_data_type(value))
        for name in request.custom_field_sets:
            if name not in _known and name not in new and len(name) <= 255:
                new[name] = CustomField(name=name, is_set=True, data_type=CustomFieldType.FIELD_SET)
    if not new:
        return
    CustomField.objects.bulk_create(list(new.values()), ignore_conflicts=True)
    names = set(new)
    transaction.on_commit(lambda: _known.update(names))


def custom_fields_forget() -> None:
    """Forget what this process knows (tests that empty the table)."""
    _known.clear()

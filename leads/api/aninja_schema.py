"""OpenAPI for the aNinja contact form."""

from __future__ import annotations

from drf_spectacular.utils import inline_serializer
from rest_framework import serializers

FORM_SCHEMA = {
    "type": "object",
    "properties": {
        "contact_name": {"type": "string", "description": "Required."},
        "contact_email1": {"type": "string", "format": "email"},
        "contact_phone1": {"type": "string"},
        "company_name": {"type": "string"},
        "apikey": {"type": "string", "description": "The apikey may also be sent in the form."},
    },
    "required": ["contact_name"],
    "additionalProperties": {"type": "string", "description": "Kept as a custom field."},
}
SUCCESS = inline_serializer(
    "ContactFormSuccess",
    {
        "success": serializers.BooleanField(),
        "id": serializers.UUIDField(help_text="The lead's id."),
        "lead_id": serializers.UUIDField(help_text="The same id."),
    },
)
FAILURE = inline_serializer(
    "ContactFormError",
    {
        "success": serializers.BooleanField(),
        "error": serializers.CharField(help_text="The reason, as shown in Settings > Logs."),
        "reason_code": serializers.CharField(required=False, help_text="On a 400."),
    },
)

"""OpenAPI for the LeadSquared family: parameters, bodies, examples."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter

from leads.intake import UpdateBehavior

LEAD_EXAMPLE = [
    {"Attribute": "FirstName", "Value": "Wim"},
    {"Attribute": "LastName", "Value": "Wenders"},
    {"Attribute": "EmailAddress", "Value": "wim.wenders@example.com"},
    {"Attribute": "Phone", "Value": "7777777777"},
    {"Attribute": "SearchBy", "Value": "Phone"},
]
ATTRIBUTES = {
    "application/json": {
        "type": "array",
        "items": {
            "type": "object",
            "properties": {"Attribute": {"type": "string"}, "Value": {"type": "string"}},
            "required": ["Attribute"],
        },
    }
}
ERROR_RESPONSES = {400: OpenApiTypes.OBJECT, 401: OpenApiTypes.OBJECT, 429: OpenApiTypes.OBJECT}
WRITE = {
    "request": ATTRIBUTES,
    "responses": {200: OpenApiTypes.OBJECT, **ERROR_RESPONSES},
    "examples": [OpenApiExample("lead", value=LEAD_EXAMPLE, request_only=True)],
}
READ = {"responses": {200: OpenApiTypes.OBJECT, **ERROR_RESPONSES}}
KEY_PARAMS = [
    OpenApiParameter("accessKey", str, OpenApiParameter.QUERY, required=True),
    OpenApiParameter("secretKey", str, OpenApiParameter.QUERY, required=True),
]
# The update behaviours a sender may name (the empty default, update everything, is left out).
UPDATE_BEHAVIOR_PARAM = OpenApiParameter(
    "LeadUpdateBehavior",
    str,
    OpenApiParameter.QUERY,
    enum=[behavior.value for behavior in UpdateBehavior if behavior.value],
)
LEAD_ID_PARAM = OpenApiParameter("leadId", str, OpenApiParameter.QUERY)

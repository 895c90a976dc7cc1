"""LeadSquared Lead/Bulk/CreateOrUpdate: up to the bulk row limit of leads in one call.

Each row is a Lead.CreateOrUpdate (email and phone are the search keys, SearchBy overrides, a unique
field is required) and gets its own result: a row that fails is logged on its own and does not fail
the others. All the rows go through the pipeline together (leads_ingest), so a call costs the same
few queries whether it holds 1 row or 25, and a row naming a person an earlier row created updates
that lead.
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework.response import Response

from leads.api.leadsquared import LeadSquaredView
from leads.api.leadsquared_schema import (
    ATTRIBUTES,
    ERROR_RESPONSES,
    KEY_PARAMS,
    UPDATE_BEHAVIOR_PARAM,
)
from leads.errors import IntakeError, invalid_body
from leads.matching import Operation
from leads.services import IntakeResult, intake_refuse, leads_ingest
from leads.wire.leadsquared import build_request, exception_type, update_behavior
from settings_global.services import global_settings_get

ROW_EXAMPLE = [
    {"Attribute": "EmailAddress", "Value": "email0@example.com"},
    {"Attribute": "FirstName", "Value": "F0Name"},
    {"Attribute": "mx_City", "Value": "Bangalore"},
    {
        "Attribute": "mx_KYC",
        "Value": "",
        "Fields": [
            {"Attribute": "Status", "Value": "Pending"},
            {"Attribute": "mx_CustomObject_1", "Value": "XYZ12345.png"},
        ],
    },
    {"Attribute": "SearchBy", "Value": "EmailAddress"},
]
ROWS_SCHEMA = {
    "application/json": {
        "type": "array",
        "description": "One attribute array per lead; at most the bulk row limit (25).",
        "items": ATTRIBUTES["application/json"],
    }
}
RESULTS_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "properties": {
            "RowNumber": {"type": "integer"},
            "LeadId": {"type": "string", "format": "uuid", "nullable": True},
            "LeadCreated": {"type": "boolean"},
            "LeadUpdated": {"type": "boolean"},
            "AffectedRows": {"type": "integer"},
            "ExceptionType": {"type": "string"},
            "ExceptionMessage": {"type": "string"},
        },
        "required": ["RowNumber", "LeadId", "LeadCreated", "LeadUpdated", "AffectedRows"],
    },
}


def row_result(number: int, result: IntakeResult) -> dict[str, Any]:
    if result.error is None:
        return {
            "RowNumber": number,
            "LeadId": str(result.lead.id),
            "LeadCreated": result.created,
            "LeadUpdated": result.updated,
            "AffectedRows": result.affected_rows,
        }
    return {
        "RowNumber": number,
        "LeadId": None,
        "LeadCreated": False,
        "LeadUpdated": False,
        "AffectedRows": 0,
        "ExceptionType": exception_type(result.error.kind),
        "ExceptionMessage": result.error.message,
    }


def row_error(number: int, row: Any) -> IntakeError | None:
    """A row that is not an attribute array is that row's error, not the call's."""
    if not isinstance(row, list):
        return invalid_body(f"row {number} must be a JSON array of {{Attribute, Value}} objects")
    if not row:
        return invalid_body(f"row {number} holds no attributes")
    return None


@extend_schema(
    tags=["LeadSquared"],
    summary="Lead/Bulk/CreateOrUpdate: create or update up to 25 leads, one result per row",
    description=(
        "Each row is matched like Lead.CreateOrUpdate: email and phone are the search keys, a "
        "SearchBy attribute (e.g. FirstName or mx_City) overrides them, and each row must carry "
        "EmailAddress or Phone. A row that fails carries ExceptionType and ExceptionMessage and "
        "is logged; the other rows go ahead. More rows than the bulk row limit is a 400."
    ),
    parameters=[
        *KEY_PARAMS,
        UPDATE_BEHAVIOR_PARAM,
    ],
    request=ROWS_SCHEMA,
    responses={
        200: OpenApiResponse(response=RESULTS_SCHEMA, description="One result per row, in order"),
        **ERROR_RESPONSES,
    },
    examples=[OpenApiExample("rows", value=[ROW_EXAMPLE], request_only=True)],
)
class LeadBulkCreateOrUpdateView(LeadSquaredView):
    idempotent = True

    def post(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        credential = self.authenticate_keys(request)
        body, error = self.read_json(request)
        origin = self.origin(request, credential, body)
        if error is None:
            error = self.call_error(body, origin.query)
        if error is not None:
            # The whole call is refused: one log row holds the body as received.
            intake_refuse(origin=origin, error=error, operation=Operation.CREATE_OR_UPDATE)
            raise error
        requests = [
            build_request(
                operation=Operation.CREATE_OR_UPDATE,
                body=row,
                error=row_error(number, row),
                endpoint=origin.endpoint,
                query=origin.query,
                api_user=origin.api_user,
                remote_addr=origin.remote_addr,
            )
            for number, row in enumerate(body, start=1)
        ]
        results = leads_ingest(requests=requests)
        return Response([row_result(n, result) for n, result in enumerate(results, start=1)])

    def call_error(self, body: Any, query: dict[str, str]) -> IntakeError | None:
        """Why the call as a whole is not to specification, if it is not."""
        if not isinstance(body, list):
            return invalid_body("the body must be a JSON array of attribute arrays, one per lead")
        if not body:
            return invalid_body("the body holds no rows")
        limit = global_settings_get().bulk_row_limit
        if len(body) > limit:
            return invalid_body(f"{len(body)} rows; at most {limit} rows per call")
        try:
            update_behavior(query)  # one bad option for every row is the call's error
        except IntakeError as exc:
            return exc
        return None

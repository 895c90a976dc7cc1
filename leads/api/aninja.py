"""The aNinja family: the web contact form.

POST /api/v1/contactform/?apikey=KEY with form fields (or a JSON object): contact_name (required),
contact_email1, contact_phone1, company_name, and any other field, kept as a custom field.
200 {"success": true, "id": "<lead id>", "lead_id": "<lead id>"};
400 {"success": false, "error": "<reason>", "reason_code": "<code>"} (and a log row);
401 {"success": false, "error": "Invalid apikey"} (no row).
"""

from __future__ import annotations

from typing import Any

from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from leads.api.aninja_schema import FAILURE, FORM_SCHEMA, SUCCESS
from leads.api.base import FamilyAPIView, admit
from leads.errors import ApiError, AuthError, UnknownApi
from leads.services import lead_ingest
from leads.vocabulary import Family
from leads.wire import aninja as wire
from leads.wire import client_addr, get_ci, query_dict
from settings_global.selectors import credential_by_aninja_apikey


class ContactFormView(FamilyAPIView):
    idempotent = True
    family = Family.ANINJA
    # For the schema and content negotiation only: read_form() reads the body itself so that a body
    # it cannot read is still logged.
    parser_classes = [FormParser, MultiPartParser, JSONParser]

    def render_error(self, error: ApiError) -> Response:
        return Response(wire.error_body(error), status=error.status)

    @extend_schema(
        tags=["aNinja"],
        summary="Contact form: create a lead from a web form",
        description="Form-encoded (or a JSON object). contact_name is required; "
        "contact_email1, contact_phone1 and company_name fill the lead, any other field is "
        "kept as a custom field. With Global Settings' similar-email rule on, a lead whose "
        "trimmed, case-folded email is already held is rejected. Every rejection is logged in "
        "Settings > Logs > Failed leads API injection.",
        parameters=[OpenApiParameter("apikey", str, OpenApiParameter.QUERY, required=True)],
        request={
            "application/x-www-form-urlencoded": FORM_SCHEMA,
            "multipart/form-data": FORM_SCHEMA,
            "application/json": FORM_SCHEMA,
        },
        responses={200: SUCCESS, 400: FAILURE, 401: FAILURE, 429: FAILURE},
        examples=[
            OpenApiExample(
                "form",
                value={
                    "contact_name": "Ann Lee",
                    "contact_email1": "ann@example.com",
                    "contact_phone1": "+1 201 555 0123",
                    "company_name": "Acme",
                    "budget": "10k",
                },
                request_only=True,
            )
        ],
    )
    def post(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        query = query_dict(request)
        form, error = wire.read_form(request)
        apikey = get_ci(query, "apikey")
        if not apikey and isinstance(form, dict) and error is None:
            apikey = get_ci(form, "apikey")
        credential = credential_by_aninja_apikey(apikey if isinstance(apikey, str) else None)
        if credential is None:
            raise AuthError("Invalid apikey")
        admit(request, credential)
        intake = wire.build_request(
            form=form,
            query=query,
            endpoint=request.path,
            api_user=credential.user,
            remote_addr=client_addr(request),
            error=error,
        )
        result = lead_ingest(request=intake)
        return Response(wire.success_body(result.lead))


@extend_schema(exclude=True)
class ContactFormNotFoundView(ContactFormView):
    """Any other path under /api/v1/contactform: aNinja's error body with a 404."""

    idempotent = False

    def dispatch_any(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        return self.error_answer(UnknownApi())

    get = post = put = patch = delete = options = dispatch_any

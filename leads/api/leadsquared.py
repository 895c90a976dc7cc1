"""The LeadSquared family's views: Lead.Capture, the single-lead calls it combines, the reads.

The wire format (parsing, answers, the error body) is leads.wire.leadsquared; the OpenAPI parts
are leads.api.leadsquared_schema.
"""

from __future__ import annotations

import uuid
from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.response import Response

from leads import selectors
from leads.api.base import FamilyAPIView, admit
from leads.api.leadsquared_schema import (
    KEY_PARAMS,
    LEAD_ID_PARAM,
    READ,
    UPDATE_BEHAVIOR_PARAM,
    WRITE,
)
from leads.errors import ApiError, AuthError, IntakeError, UnknownApi, invalid_value
from leads.matching import Operation
from leads.services import intake_refuse, lead_ingest, visitor_track
from leads.vocabulary import Family
from leads.wire import client_addr, get_ci, query_dict
from leads.wire import leadsquared as wire
from settings_global.selectors import credential_by_keys


class LeadSquaredView(FamilyAPIView):
    family = Family.LEADSQUARED

    def render_error(self, error: ApiError) -> Response:
        return Response(wire.error_body(error), status=error.status)

    def authenticate_keys(self, request: Any) -> Any:
        query, meta = request.GET, request.META
        # The query string, as the PHP library sends them, or LeadSquared's x-LSQ-* headers.
        access_key = get_ci(query, "accessKey") or meta.get("HTTP_X_LSQ_ACCESSKEY")
        secret_key = get_ci(query, "secretKey") or meta.get("HTTP_X_LSQ_SECRETKEY")
        credential = credential_by_keys(access_key, secret_key)
        if credential is None:
            raise AuthError()
        admit(request, credential)
        return credential

    def read_json(self, request: Any) -> tuple[Any, IntakeError | None]:
        """The body as received, and the reason it is not to specification, if it is not."""
        return wire.read_json(request)


class LeadWriteView(LeadSquaredView):
    operation: Operation = Operation.CAPTURE
    idempotent = True

    def post(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        credential = self.authenticate_keys(request)
        body, error = self.read_json(request)
        intake = wire.build_request(
            operation=self.operation,
            endpoint=request.path,
            body=body,
            query=query_dict(request),
            api_user=credential.user,
            remote_addr=client_addr(request),
            error=error,
        )
        result = lead_ingest(request=intake)
        message = wire.SUCCESS_MESSAGES[self.operation](result)
        return Response({"Status": "Success", "Message": message})


@extend_schema(
    tags=["LeadSquared"],
    summary="Lead.Capture: create or update a lead by the LeadSquared matching rules",
    parameters=[*KEY_PARAMS, UPDATE_BEHAVIOR_PARAM],
    **WRITE,
)
class LeadCaptureView(LeadWriteView):
    operation = Operation.CAPTURE


@extend_schema(tags=["LeadSquared"], summary="Lead.Create", parameters=KEY_PARAMS, **WRITE)
class LeadCreateView(LeadWriteView):
    operation = Operation.CREATE_UNIQUE


@extend_schema(
    tags=["LeadSquared"],
    summary="Lead.Update?leadId=",
    parameters=[*KEY_PARAMS, LEAD_ID_PARAM],
    **WRITE,
)
class LeadUpdateView(LeadWriteView):
    operation = Operation.UPDATE


@extend_schema(
    tags=["LeadSquared"],
    summary="Lead.CreateOrUpdate: email and phone are the search keys; SearchBy overrides",
    parameters=KEY_PARAMS,
    **WRITE,
)
class LeadCreateOrUpdateView(LeadWriteView):
    operation = Operation.CREATE_OR_UPDATE


@extend_schema(
    tags=["LeadSquared"],
    summary="Lead.Convert?leadId=<visitor id>: the visitor becomes a lead with that id",
    parameters=[*KEY_PARAMS, LEAD_ID_PARAM],
    **WRITE,
)
class LeadConvertView(LeadWriteView):
    operation = Operation.CONVERT


@extend_schema(
    tags=["LeadSquared"],
    summary="Visitor.Track: record an anonymous visitor",
    parameters=KEY_PARAMS,
    **WRITE,
)
class VisitorTrackView(LeadSquaredView):
    def post(self, request, *args, **kwargs):
        credential = self.authenticate_keys(request)
        body, error = self.read_json(request)
        try:
            if error is not None:
                raise error
            prospect_id, fields = wire.visitor_parts(body)
            visitor = visitor_track(prospect_id=prospect_id, source_fields=fields, data={})
        except IntakeError as exc:
            origin = self.origin(request, credential, body)
            intake_refuse(origin=origin, error=exc, operation=Operation.CAPTURE)
            raise
        return Response({"Status": "Success", "Message": {"Id": str(visitor.id)}})


@extend_schema(
    tags=["LeadSquared"],
    summary="Leads.GetById",
    parameters=[*KEY_PARAMS, OpenApiParameter("id", str, OpenApiParameter.QUERY, required=True)],
    **READ,
)
class LeadsGetByIdView(LeadSquaredView):
    def get(self, request, *args, **kwargs):
        self.authenticate_keys(request)
        lead_id = (get_ci(request.GET, "id") or "").strip()
        if not lead_id:
            raise invalid_value("id", "missing")
        try:
            lead_uuid = uuid.UUID(lead_id)
        except ValueError:
            raise invalid_value("id", f"not a valid lead id: {lead_id}") from None
        lead = selectors.lead_by_id(lead_uuid)
        return Response([wire.lead_as_leadsquared(lead)] if lead else [])


@extend_schema(
    tags=["LeadSquared"],
    summary="Leads.GetByEmailaddress",
    parameters=[
        *KEY_PARAMS,
        OpenApiParameter("emailaddress", str, OpenApiParameter.QUERY, required=True),
    ],
    **READ,
)
class LeadsGetByEmailView(LeadSquaredView):
    def get(self, request, *args, **kwargs):
        self.authenticate_keys(request)
        email = (get_ci(request.GET, "emailaddress") or "").strip().casefold()
        if not email:
            raise invalid_value("emailaddress", "missing")
        leads = selectors.leads_by_email(email)
        return Response([wire.lead_as_leadsquared(lead) for lead in leads])


@extend_schema(tags=["LeadSquared"], summary="LeadsMetaData.Get", parameters=KEY_PARAMS, **READ)
class LeadsMetaDataView(LeadSquaredView):
    def get(self, request, *args, **kwargs):
        self.authenticate_keys(request)
        return Response(wire.metadata_fields(selectors.custom_fields_all()))


@extend_schema(exclude=True)
class LeadSquaredNotFoundView(LeadSquaredView):
    """Any other path under the family's prefix: LeadSquared's own 404 body."""

    def dispatch_any(self, request, *args, **kwargs):
        return self.error_answer(UnknownApi())

    get = post = put = patch = delete = options = dispatch_any

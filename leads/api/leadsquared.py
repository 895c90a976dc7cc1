"""The LeadSquared family: Lead.Capture, the single-lead calls it combines, the reads.

Credentials are the accessKey and secretKey query parameters; bodies are arrays of
{"Attribute", "Value"}; errors are {"Status":"Error","ExceptionType","ExceptionMessage"}.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework.response import Response

from injectionlogs.errors import AuthError, IntakeError, invalid_body, invalid_value
from injectionlogs.models import Family, ReasonCode
from injectionlogs.services import failure_record
from leads.api.base import FamilyAPIView, admit, client_addr, get_ci, query_dict
from leads.matching import Operation
from leads.models import CustomField, Lead
from leads.services import (
    MAX_LENGTHS,
    IntakeRequest,
    UpdateBehavior,
    lead_ingest,
    visitor_track,
)
from settings_global.selectors import credential_by_keys

# LeadSquared schema names of the standard lead fields, and the model field each one is.
SCHEMA = {
    "FirstName": "first_name",
    "LastName": "last_name",
    "ContactName": "contact_name",
    "EmailAddress": "email",
    "Phone": "phone",
    "PhoneCode": "phone_code",
    "Mobile": "mobile",
    "AltPhone": "alt_phone",
    "Company": "company",
    "JobTitle": "job_title",
    "Address1": "address1",
    "Address2": "address2",
    "City": "city",
    "State": "state",
    "PostalCode": "postal_code",
    "Country": "country",
    "Website": "website",
    "Notes": "notes",
    "Source": "source",
    "SourceMedium": "source_medium",
    "SourceCampaign": "source_campaign",
    "SourceContent": "source_content",
    "SourceReferrerURL": "source_referrer",
    "ProspectStage": "status",
}
FIELD_TO_SCHEMA = {model: schema for schema, model in SCHEMA.items()}
_SCHEMA_CI = {name.lower(): model for name, model in SCHEMA.items()}
_PROSPECT_ID = {"prospectid", "mxcprospectid", "id", "leadid"}
DISPLAY_NAMES = {
    "ProspectID": "Lead Id",
    "FirstName": "First Name",
    "LastName": "Last Name",
    "ContactName": "Contact Name",
    "EmailAddress": "Email",
    "Phone": "Phone Number",
    "PhoneCode": "Phone Code",
    "Mobile": "Mobile Number",
    "AltPhone": "Alternate Phone",
    "Company": "Company",
    "JobTitle": "Job Title",
    "Address1": "Address 1",
    "Address2": "Address 2",
    "City": "City",
    "State": "State",
    "PostalCode": "Postal Code",
    "Country": "Country",
    "Website": "Website",
    "Notes": "Notes",
    "Source": "Lead Source",
    "SourceMedium": "Source Medium",
    "SourceCampaign": "Source Campaign",
    "SourceContent": "Source Content",
    "SourceReferrerURL": "Source Referrer URL",
    "ProspectStage": "Lead Stage",
}

EXCEPTION_TYPES = {
    ReasonCode.DUPLICATE_EMAIL: "MXDuplicateEntryException",
    ReasonCode.DUPLICATE_PHONE: "MXDuplicateEntryException",
    ReasonCode.NOT_FOUND: "MXInvalidEntityException",
    ReasonCode.INVALID_BODY: "MXInvalidJSONException",
    "auth": "MXUnAuthorizedAccessException",
    "rate_limit": "MXAPIRateLimitExceededException",
    "unknown_api": "MXAPINotFoundException",
    "server": "MXUnknownException",
}
STATUS_MESSAGES = {
    401: "The API call was made with invalid access credentials. Check your AccessKey and "
    "SecretKey.",
}

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


def parse_attributes(body: Any, *, what: str = "body") -> dict[str, Any]:
    """[{"Attribute","Value"(,"Fields")}...] -> the parts of an IntakeRequest."""
    if not isinstance(body, list):
        raise invalid_body(f"the {what} must be a JSON array of {{Attribute, Value}} objects")
    if not body:
        raise invalid_body(f"the {what} holds no attributes")
    parsed: dict[str, Any] = {
        "fields": {},
        "custom_fields": {},
        "custom_field_sets": {},
        "prospect_id": "",
        "search_by": "",
        "related_company_id": "",
    }
    for position, item in enumerate(body, start=1):
        if not isinstance(item, dict) or not isinstance(item.get("Attribute"), str):
            raise invalid_body(f"item {position} is not an object with a string Attribute")
        name = item["Attribute"].strip()
        value = _scalar(item.get("Value"), name)
        lowered = name.lower()
        if "Fields" in item and item["Fields"] is not None:
            parsed["custom_field_sets"][name] = {
                "Value": value,
                "Fields": _field_set(item["Fields"], name),
            }
        elif lowered in _SCHEMA_CI:
            parsed["fields"][_SCHEMA_CI[lowered]] = value
        elif lowered in _PROSPECT_ID:
            parsed["prospect_id"] = value
        elif lowered == "searchby":
            parsed["search_by"] = search_field(value)
        elif lowered == "relatedcompanyid":
            parsed["related_company_id"] = value
        elif name.startswith("mx_") and len(name) > 3:
            parsed["custom_fields"][name] = value
        else:
            raise invalid_value("Attribute", f"{name} is not a lead field")
    return parsed


def _scalar(value: Any, name: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise invalid_body(f"the Value of {name} must be a string or a number")


def _field_set(fields: Any, name: str) -> list[dict[str, str]]:
    if not isinstance(fields, list):
        raise invalid_body(f"the Fields of {name} must be an array of {{Attribute, Value}}")
    out = []
    for item in fields:
        if not isinstance(item, dict) or not isinstance(item.get("Attribute"), str):
            raise invalid_body(f"the Fields of {name} must be {{Attribute, Value}} objects")
        out.append({"Attribute": item["Attribute"], "Value": _scalar(item.get("Value"), name)})
    return out


def search_field(value: str) -> str:
    """A SearchBy value (a schema name) as the field the matcher looks up."""
    name = value.strip()
    if name.lower() in _SCHEMA_CI:
        return _SCHEMA_CI[name.lower()]
    if name.startswith("mx_") and len(name) > 3:
        return name
    raise invalid_value("SearchBy", f"unknown field {value}")


def update_behavior(query: dict[str, str]) -> UpdateBehavior:
    raw = (get_ci(query, "LeadUpdateBehavior") or "").strip()
    for behavior in UpdateBehavior:
        if behavior.value.lower() == raw.lower():
            return behavior
    allowed = ", ".join(b.value for b in UpdateBehavior if b.value)
    raise invalid_value("LeadUpdateBehavior", f"{raw} (use one of {allowed})")


def build_request(
    *,
    operation: Operation,
    endpoint: str,
    body: Any,
    query: dict[str, str],
    api_user: Any = None,
    remote_addr: str | None = None,
    error: IntakeError | None = None,
) -> IntakeRequest:
    """The IntakeRequest for one LeadSquared call; a parse problem travels in .error so that the
    pipeline records it with the data. Also used to replay a logged call."""
    request = IntakeRequest(
        family=Family.LEADSQUARED,
        endpoint=endpoint,
        operation=operation,
        data=body,
        query=query,
        api_user=api_user,
        remote_addr=remote_addr,
        error=error,
        require_unique_field=operation == Operation.CREATE_OR_UPDATE,
    )
    if error is not None:
        return request
    try:
        parts = parse_attributes(body)
        for key, value in parts.items():
            setattr(request, key, value)
        request.update_behavior = update_behavior(query)
        if operation in (Operation.UPDATE, Operation.CONVERT):
            request.lead_id = get_ci(query, "leadId") or ""
    except IntakeError as exc:
        request.error = exc
    return request


class LeadSquaredView(FamilyAPIView):
    family = Family.LEADSQUARED

    def error_response(self, status: int, kind: str, message: str) -> Response:
        exception_type = EXCEPTION_TYPES.get(kind, "MXInvalidInputException")
        return Response(
            {
                "Status": "Error",
                "ExceptionType": exception_type,
                "ExceptionMessage": STATUS_MESSAGES.get(status, message),
            },
            status=status,
        )

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
        raw = request.body
        try:
            text = raw.decode("utf-8-sig")  # some Windows clients start the body with a BOM
        except UnicodeDecodeError:
            return {"raw": raw.decode("latin-1")}, invalid_body("the body is not UTF-8")
        if not text.strip():
            return {"raw": ""}, invalid_body("the body is empty")
        try:
            body = json.loads(text, parse_constant=_refuse_constant, parse_float=_finite_float)
        except json.JSONDecodeError as exc:
            return {"raw": text}, invalid_body(f"malformed JSON ({exc.msg} at {exc.pos})")
        # NaN / Infinity (not JSON), 1e999 (no finite number), or digits past Python's int limit
        except ValueError as exc:
            return {"raw": text}, invalid_body(f"malformed JSON ({exc})")
        except RecursionError:
            return {"raw": text}, invalid_body("malformed JSON (nested too deeply)")
        if _SURROGATE_ESCAPE.search(text) and not _is_text(body):
            # A lone \ud800 escape decodes to no character: it can be neither stored nor echoed.
            return {"raw": text}, invalid_body("a string holds a lone surrogate escape")
        return body, None


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    """1e999 parses as Infinity, which neither JSON storage nor the sender's data can hold: it is
    refused with the body, as NaN is, instead of failing the log row (and the call) later."""
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"{text[:40]} is out of range for a number")
    return value


_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


def _is_text(body: Any) -> bool:
    try:
        json.dumps(body, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


class LeadWriteView(LeadSquaredView):
    operation: Operation = Operation.CAPTURE
    idempotent = True

    def post(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        credential = self.authenticate_keys(request)
        body, error = self.read_json(request)
        intake = build_request(
            operation=self.operation,
            endpoint=request.path,
            body=body,
            query=query_dict(request),
            api_user=credential.user,
            remote_addr=client_addr(request),
            error=error,
        )
        result = lead_ingest(request=intake)
        return Response({"Status": "Success", "Message": self.message(result)})

    def message(self, result: Any) -> dict[str, Any]:
        raise NotImplementedError


@extend_schema(
    tags=["LeadSquared"],
    summary="Lead.Capture: create or update a lead by the LeadSquared matching rules",
    parameters=[
        *KEY_PARAMS,
        OpenApiParameter(
            "LeadUpdateBehavior",
            str,
            OpenApiParameter.QUERY,
            enum=["DoNotUpdate", "UpdateOnlyEmptyFields", "DoNotUpdateUniqueFields"],
        ),
    ],
    **WRITE,
)
class LeadCaptureView(LeadWriteView):
    operation = Operation.CAPTURE

    def message(self, result):
        return {
            "Id": str(result.lead.id),
            "RelatedId": str(result.activity.id),
            "IsCreated": result.created,
        }


@extend_schema(tags=["LeadSquared"], summary="Lead.Create", parameters=KEY_PARAMS, **WRITE)
class LeadCreateView(LeadWriteView):
    operation = Operation.CREATE_UNIQUE

    def message(self, result):
        return {"Id": str(result.lead.id)}


@extend_schema(
    tags=["LeadSquared"],
    summary="Lead.Update?leadId=",
    parameters=[*KEY_PARAMS, OpenApiParameter("leadId", str, OpenApiParameter.QUERY)],
    **WRITE,
)
class LeadUpdateView(LeadWriteView):
    operation = Operation.UPDATE

    def message(self, result):
        return {"AffectedRows": result.affected_rows}


@extend_schema(
    tags=["LeadSquared"],
    summary="Lead.CreateOrUpdate: email and phone are the search keys; SearchBy overrides",
    parameters=KEY_PARAMS,
    **WRITE,
)
class LeadCreateOrUpdateView(LeadWriteView):
    operation = Operation.CREATE_OR_UPDATE

    def message(self, result):
        return {"Id": str(result.lead.id), "AffectedRows": result.affected_rows}


@extend_schema(
    tags=["LeadSquared"],
    summary="Lead.Convert?leadId=<visitor id>: the visitor becomes a lead with that id",
    parameters=[*KEY_PARAMS, OpenApiParameter("leadId", str, OpenApiParameter.QUERY)],
    **WRITE,
)
class LeadConvertView(LeadWriteView):
    operation = Operation.CONVERT

    def message(self, result):
        return {"AffectedRows": result.affected_rows}


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
            if isinstance(body, list):
                parts = parse_attributes(body)
                prospect_id = parts["prospect_id"]
                fields = parts["fields"]
            elif isinstance(body, dict):
                prospect_id = str(get_ci(body, "ProspectID") or "")
                fields = {
                    _SCHEMA_CI[k.lower()]: str(v)
                    for k, v in body.items()
                    if k.lower() in _SCHEMA_CI and isinstance(v, str | int | float)
                }
            else:
                raise invalid_body("the body must be a JSON object or attribute array")
            visitor = visitor_track(prospect_id=prospect_id, source_fields=fields, data={})
        except IntakeError as exc:
            failure_record(
                error=exc,
                data=body,
                family=self.family,
                endpoint=request.path,
                query=query_dict(request),
                api_user=credential.user,
                remote_addr=client_addr(request),
            )
            raise
        return Response({"Status": "Success", "Message": {"Id": str(visitor.id)}})


def lead_as_leadsquared(lead: Lead) -> dict[str, Any]:
    out: dict[str, Any] = {"ProspectID": str(lead.id)}
    for schema, model_field in SCHEMA.items():
        out[schema] = getattr(lead, model_field) or None
    out.update(lead.custom_fields or {})
    for name, fieldset in (lead.custom_field_sets or {}).items():
        out[name] = fieldset
    out["RelatedCompanyId"] = str(lead.account_id) if lead.account_id else None
    out["ListId"] = lead.list_id
    out["CreatedBy"] = lead.created_by.get_username() if lead.created_by else None
    out["CreatedOn"] = lead.created_at.strftime("%Y-%m-%d %H:%M:%S")
    out["ModifiedOn"] = lead.updated_at.strftime("%Y-%m-%d %H:%M:%S")
    return out


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
        lead = Lead.objects.select_related("created_by").filter(pk=lead_uuid).first()
        return Response([lead_as_leadsquared(lead)] if lead else [])


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
        leads = Lead.objects.select_related("created_by").filter(email_normalized=email)
        return Response([lead_as_leadsquared(lead) for lead in leads.order_by("created_at")[:100]])


def custom_field_names() -> list[str]:
    """Every custom field and custom field set name: the registry kept on write (no lead scan)."""
    return list(CustomField.objects.order_by("name").values_list("name", flat=True))


@extend_schema(tags=["LeadSquared"], summary="LeadsMetaData.Get", parameters=KEY_PARAMS, **READ)
class LeadsMetaDataView(LeadSquaredView):
    def get(self, request, *args, **kwargs):
        self.authenticate_keys(request)
        fields = [
            {
                "SchemaName": "ProspectID",
                "DisplayName": "Lead Id",
                "DataType": "String",
                "IsMandatory": False,
                "MaxLength": 36,
                "IsLeadIdentifier": True,
                "IsCustomField": False,
            }
        ]
        for schema, model_field in SCHEMA.items():
            fields.append(
                {
                    "SchemaName": schema,
                    "DisplayName": DISPLAY_NAMES[schema],
                    "DataType": {"email": "Email", "phone": "Phone", "mobile": "Phone"}.get(
                        model_field, "String"
                    ),
                    "IsMandatory": False,
                    "MaxLength": MAX_LENGTHS[model_field],
                    "IsLeadIdentifier": model_field in ("email", "phone"),
                    "IsCustomField": False,
                }
            )
        for custom in CustomField.objects.order_by("name"):
            fields.append(
                {
                    "SchemaName": custom.name,
                    "DisplayName": custom.label,
                    "DataType": custom.data_type,
                    "IsMandatory": False,
                    "MaxLength": None,
                    "IsLeadIdentifier": False,
                    "IsCustomField": True,
                }
            )
        return Response(fields)


@extend_schema(exclude=True)
class LeadSquaredNotFoundView(LeadSquaredView):
    """Any other path under the family's prefix: LeadSquared's own 404 body."""

    def dispatch_any(self, request, *args, **kwargs):
        return self.error_response(404, "unknown_api", "The API could not be found")

    get = post = put = patch = delete = options = dispatch_any

"""LeadSquared on the wire: credentials in accessKey/secretKey, bodies as arrays of
{"Attribute", "Value"}, errors as {"Status":"Error","ExceptionType","ExceptionMessage"}.

Request -> IntakeRequest (build_request), results -> the success messages, ApiError -> the error
body. The views, the bulk call, the async worker and the replayer all use these.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from leads.errors import ApiError, IntakeError, invalid_body, invalid_value, malformed_json
from leads.intake import IntakeRequest, UpdateBehavior
from leads.matching import Operation
from leads.services import MAX_LENGTHS
from leads.vocabulary import Family, ReasonCode
from leads.wire import get_ci

# The standard lead fields: LeadSquared schema name, model field, display name (LeadsMetaData).
LEAD_FIELDS = (
    ("FirstName", "first_name", "First Name"),
    ("LastName", "last_name", "Last Name"),
    ("ContactName", "contact_name", "Contact Name"),
    ("EmailAddress", "email", "Email"),
    ("Phone", "phone", "Phone Number"),
    ("PhoneCode", "phone_code", "Phone Code"),
    ("Mobile", "mobile", "Mobile Number"),
    ("AltPhone", "alt_phone", "Alternate Phone"),
    ("Company", "company", "Company"),
    ("JobTitle", "job_title", "Job Title"),
    ("Address1", "address1", "Address 1"),
    ("Address2", "address2", "Address 2"),
    ("City", "city", "City"),
    ("State", "state", "State"),
    ("PostalCode", "postal_code", "Postal Code"),
    ("Country", "country", "Country"),
    ("Website", "website", "Website"),
    ("Notes", "notes", "Notes"),
    ("Source", "source", "Lead Source"),
    ("SourceMedium", "source_medium", "Source Medium"),
    ("SourceCampaign", "source_campaign", "Source Campaign"),
    ("SourceContent", "source_content", "Source Content"),
    ("SourceReferrerURL", "source_referrer", "Source Referrer URL"),
    ("ProspectStage", "status", "Lead Stage"),
)
# LeadSquared schema names of the standard lead fields, and the model field each one is.
SCHEMA = {schema: model for schema, model, _ in LEAD_FIELDS}
FIELD_TO_SCHEMA = {model: schema for schema, model in SCHEMA.items()}
DISPLAY_NAMES = {"ProspectID": "Lead Id", **{schema: name for schema, _, name in LEAD_FIELDS}}
_SCHEMA_CI = {name.lower(): model for name, model in SCHEMA.items()}
_PROSPECT_ID = {"prospectid", "mxcprospectid", "id", "leadid"}

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


def exception_type(kind: str) -> str:
    return EXCEPTION_TYPES.get(kind, "MXInvalidInputException")


def error_body(error: ApiError) -> dict[str, Any]:
    """LeadSquared's error body: the one place it is built (views, async results)."""
    return {
        "Status": "Error",
        "ExceptionType": exception_type(error.kind),
        "ExceptionMessage": STATUS_MESSAGES.get(error.status, error.message),
    }


def capture_message(result: Any) -> dict[str, Any]:
    """Lead.Capture's success message (the sync call and the async request's result)."""
    return {
        "Id": str(result.lead.id),
        "RelatedId": str(result.activity.id),
        "IsCreated": result.created,
    }


# What each write answers in "Message" on success.
SUCCESS_MESSAGES = {
    Operation.CAPTURE: capture_message,
    Operation.CREATE_UNIQUE: lambda result: {"Id": str(result.lead.id)},
    Operation.UPDATE: lambda result: {"AffectedRows": result.affected_rows},
    Operation.CREATE_OR_UPDATE: lambda result: {
        "Id": str(result.lead.id),
        "AffectedRows": result.affected_rows,
    },
    Operation.CONVERT: lambda result: {"AffectedRows": result.affected_rows},
}


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


def read_json(request: Any) -> tuple[Any, IntakeError | None]:
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
        return {"raw": text}, malformed_json(exc)
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


def lead_as_leadsquared(lead: Any) -> dict[str, Any]:
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


def visitor_parts(body: Any) -> tuple[str, dict[str, str]]:
    """Visitor.Track's body (an attribute array or a flat object) -> (prospect id, fields)."""
    if isinstance(body, list):
        parts = parse_attributes(body)
        return parts["prospect_id"], parts["fields"]
    if isinstance(body, dict):
        prospect_id = str(get_ci(body, "ProspectID") or "")
        fields = {
            _SCHEMA_CI[k.lower()]: str(v)
            for k, v in body.items()
            if k.lower() in _SCHEMA_CI and isinstance(v, str | int | float)
        }
        return prospect_id, fields
    raise invalid_body("the body must be a JSON object or attribute array")


def metadata_fields(custom_fields: Any) -> list[dict[str, Any]]:
    """LeadsMetaData.Get: the standard fields, then the registered custom fields."""
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
    for schema, model_field, display in LEAD_FIELDS:
        fields.append(
            {
                "SchemaName": schema,
                "DisplayName": display,
                "DataType": {"email": "Email", "phone": "Phone", "mobile": "Phone"}.get(
                    model_field, "String"
                ),
                "IsMandatory": False,
                "MaxLength": MAX_LENGTHS[model_field],
                "IsLeadIdentifier": model_field in ("email", "phone"),
                "IsCustomField": False,
            }
        )
    for custom in custom_fields:
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
    return fields

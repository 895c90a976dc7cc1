"""The Convoso family: /v1/leads/insert and the dialer's lists, campaigns, DNC and hopper.

Credential: the auth_token parameter. Parameters come form-encoded in the POST body and/or in
the query string (the body wins); a flat JSON object body is read too. No nested parameters:
a key such as a[b] is refused. Answers are {"success":true,"data":{...}(,"id")}; errors are
{"success":false,"code":N,"text":"..."} with 400, 401, 404, 429 or 503.

Codes (Convoso's own where it documents one; the others are ours, marked *):

    5001  invalid auth token (401)           6023  other required field missing (lead_id,
    5002* rate limit exceeded (429)                campaign_id, contact name)
    404*  no such API (404)                  6031  invalid date (search)
    500*  server fault (500, 503)            6062* invalid value: not a number, out of range
    6001  no such lead / DNC entry                 (check_dup, hopper_priority, ...), a nested
    6002  no such list                             parameter, a body not to specification
    6003  name missing (campaigns, lists)    6079  invalid email
    6004  unknown campaign id                7231  invalid offset
    6007  list_id or phone_number missing    7258  invalid limit
    6008  invalid phone number
    6009  phone number already exists (check_dup; on a DNC list for /v1/dnc/insert)
    6010* phone number on the Do Not Call list (check_dnc: account-wide or the campaign's)
    6011* duplicate email (the global "reject similar email" rule)

Every rejected /v1/leads/insert and /v1/leads/update is a FailedInjection row (through the
pipeline); 401 and 429 write none.
"""

from __future__ import annotations

import json
import math
import re
import uuid
from datetime import datetime, time
from typing import Any

from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import APIException
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from injectionlogs.errors import AuthError, IntakeError, invalid_body, invalid_value, missing_field
from injectionlogs.models import Family, ReasonCode
from leads.api.base import FamilyAPIView, admit, client_addr, query_dict
from leads.matching import Operation
from leads.normalize import email_key, normalize_phone
from leads.services import LEAD_FIELDS, IntakeRequest, lead_ingest
from lists_hopper.dialer import DialerOptions
from lists_hopper.models import Campaign, DncEntry, List, ListStatus
from lists_hopper.selectors import (
    dnc_record,
    hopper_live,
    hopper_record,
    lead_record,
    leads_for_records,
    list_record,
)
from lists_hopper.services import (
    campaign_create,
    dnc_add,
    dnc_remove,
    hopper_next,
    list_create,
    list_update,
)
from settings_global.selectors import credential_by_auth_token
from settings_global.services import global_settings_get

CODES: dict[str, int] = {
    "auth": 5001,
    "rate_limit": 5002,
    "unknown_api": 404,
    "server": 500,
    ReasonCode.NOT_FOUND: 6001,
    ReasonCode.UNKNOWN_LIST: 6002,
    ReasonCode.MISSING_FIELD: 6023,
    ReasonCode.MISSING_CONTACT_NAME: 6023,
    ReasonCode.INVALID_PHONE: 6008,
    ReasonCode.DUPLICATE_PHONE: 6009,
    ReasonCode.DNC: 6010,
    ReasonCode.DUPLICATE_EMAIL: 6011,
    ReasonCode.INVALID_VALUE: 6062,
    ReasonCode.INVALID_BODY: 6062,
    ReasonCode.INVALID_EMAIL: 6079,
}
INVALID_VALUE_CODES = {
    "offset": 7231,
    "limit": 7258,
    "created_at_start_date": 6031,
    "created_at_end_date": 6031,
    "updated_at_start_date": 6031,
    "updated_at_end_date": 6031,
}


def convoso_code(kind: str, field: str | None = None) -> int:
    """The Convoso code for a reason code (or auth / rate_limit / unknown_api / server)."""
    if kind == ReasonCode.MISSING_FIELD:
        if field in ("list_id", "phone_number"):
            return 6007
        if field == "name":
            return 6003
    if kind == ReasonCode.NOT_FOUND and field == "campaign_id":
        return 6004
    if kind == ReasonCode.INVALID_VALUE and field in INVALID_VALUE_CODES:
        return INVALID_VALUE_CODES[field]
    return CODES.get(kind, 6062)


# -- reading parameters -----------------------------------------------------------------------

MAX_ID = 2**63 - 1  # ids are bigint: a larger number can name nothing
MAX_KEY_LENGTH = 100
TRUE = {"1", "true", "yes", "y", "on"}
FALSE = {"0", "false", "no", "n", "off", ""}
_INT = re.compile(r"[+-]?[0-9]+")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


class _NotFinite(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise _NotFinite(f"{name} is not a JSON number")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e999: no number a lead can hold, refused as NaN is
        raise _NotFinite(f"{text[:40]} is out of range for a number")
    return value


_STRICT_JSON: dict[str, Any] = {"parse_constant": _refuse_constant, "parse_float": _finite_float}


def read_params(request: Any) -> tuple[dict[str, str], IntakeError | None]:
    """Query string and body as one flat dict (the body wins; the last of a repeated name wins),
    and the reason they are not to specification, if they are not. Never raises: an insert
    logs the problem with the data."""
    params: dict[str, str] = {key: values[-1] for key, values in request.GET.lists()}
    error: IntakeError | None = None
    try:
        if (request.content_type or "").startswith("application/json"):
            raw = request.body.decode("utf-8")
            body = json.loads(raw, **_STRICT_JSON) if raw.strip() else {}
            if not isinstance(body, dict):
                raise invalid_body("a JSON body must be one object of parameters")
            for key, value in body.items():
                if isinstance(value, dict | list):
                    error = error or invalid_value(key, "nested parameters are not supported")
                    value = json.dumps(value)
                params[str(key)] = _text(value)
        else:
            params.update({key: values[-1] for key, values in request.POST.lists()})
    except IntakeError as exc:
        error = exc
        params["raw_body"] = request.body.decode("utf-8", "replace")[:10_000]
    except UnicodeDecodeError:
        error = invalid_body("the body is not UTF-8")
        params["raw_body"] = request.body.decode("latin-1")[:10_000]
    except json.JSONDecodeError as exc:
        error = invalid_body(f"malformed JSON ({exc.msg} at {exc.pos})")
        params["raw_body"] = request.body.decode("utf-8", "replace")[:10_000]
    except _NotFinite as exc:
        error = invalid_body(f"malformed JSON ({exc})")
        params["raw_body"] = request.body.decode("utf-8", "replace")[:10_000]
    except (ValueError, RecursionError):  # digits past Python's int limit, nesting too deep
        error = invalid_body("malformed JSON (a number too long or nesting too deep)")
        params["raw_body"] = request.body.decode("utf-8", "replace")[:10_000]
    except APIException as exc:  # an unsupported media type, a broken multipart body
        error = invalid_body(str(exc.detail))
    # A NUL character (PostgreSQL stores none, in text or JSON) or a lone surrogate from a JSON
    # escape (not UTF-8 at all) cannot be stored: the log must still take the call.
    if any(_UNSTORABLE.search(key) or _UNSTORABLE.search(value) for key, value in params.items()):
        params = {
            _UNSTORABLE.sub("\ufffd", key): _UNSTORABLE.sub("\ufffd", value)
            for key, value in params.items()
        }
        error = error or invalid_body("a parameter holds a NUL character or invalid text")
    if error is None:
        nested = sorted(key for key in params if "[" in key or "]" in key)
        if nested:
            error = invalid_value(
                nested[0], "nested parameters are not supported (send flat name=value pairs)"
            )
    return params, error


def _value(params: dict[str, str], name: str) -> str:
    return (params.get(name) or "").strip()


def int_param(
    params: dict[str, str], name: str, *, default: int | None, low: int, high: int
) -> int | None:
    raw = _value(params, name)
    if not raw:
        return default
    if not _INT.fullmatch(raw):
        raise invalid_value(name, f"not a whole number: {raw[:50]}")
    value = int(raw)
    if not low <= value <= high:
        raise invalid_value(name, f"{value} is out of range ({low}-{high})")
    return value


def bool_param(params: dict[str, str], name: str) -> bool:
    raw = _value(params, name).lower()
    if raw in TRUE:
        return True
    if raw in FALSE:
        return False
    raise invalid_value(name, f"use 1 or 0, not {raw[:50]}")


def id_param(params: dict[str, str], name: str, *, required: bool = True) -> int | None:
    if required and not _value(params, name):
        raise missing_field(name)
    return int_param(params, name, default=None, low=1, high=MAX_ID)


def page_params(params: dict[str, str], *, default: int, high: int) -> tuple[int, int]:
    offset = int_param(params, "offset", default=0, low=0, high=MAX_ID) or 0
    limit = int_param(params, "limit", default=default, low=1, high=high) or default
    return offset, limit


# Parameters that steer the call rather than describe the lead.
OPTIONS = frozenset(
    {
        "auth_token",
        "list_id",
        "lead_id",
        "check_dup",
        "check_dup_archive",
        "check_dnc",
        "hopper",
        "hopper_priority",
        "hopper_expire_in",
        "hopper_expires_in",
        "update_if_found",
    }
)
# The standard lead fields by their Convoso names (and the model's own names), else custom.
FIELD_NAMES = {
    **{name: name for name in LEAD_FIELDS if name != "phone"},
    "phone_number": "phone",
    "alt_phone_1": "alt_phone",
}
HOPPER_EXPIRE_MAX_MINUTES = 525_600  # a year


def lead_values(params: dict[str, str]) -> tuple[dict[str, str], dict[str, str]]:
    """(model fields, custom fields) from the parameters; empty values are left out, so that a
    vendor posting every column blank changes nothing."""
    fields, custom = {}, {}
    for key, raw in params.items():
        if key in OPTIONS or key == "raw_body":
            continue
        value = raw.strip()
        if not value:
            continue
        if key in FIELD_NAMES:
            fields[FIELD_NAMES[key]] = value
        else:
            if len(key) > MAX_KEY_LENGTH:
                raise invalid_value(
                    key[:50], f"a field name is at most {MAX_KEY_LENGTH} characters"
                )
            custom[key] = value
    return fields, custom


def build_request(
    *,
    operation: Operation,
    endpoint: str,
    params: dict[str, str],
    query: dict[str, str],
    api_user: Any = None,
    remote_addr: str | None = None,
    error: IntakeError | None = None,
) -> IntakeRequest:
    """The IntakeRequest of a /v1/leads/insert or /v1/leads/update call. A parse problem travels
    in .error so that the pipeline records it with the data. Also used to replay a logged call."""
    request = IntakeRequest(
        family=Family.CONVOSO,
        endpoint=endpoint,
        operation=operation,
        data=params,
        query=query,
        api_user=api_user,
        remote_addr=remote_addr,
        error=error,
    )
    if error is not None:
        return request
    try:
        if operation == Operation.INSERT:
            _parse_insert(request, params)
        else:
            _parse_update(request, params)
    except IntakeError as exc:
        request.error = exc
    return request


def _parse_insert(request: IntakeRequest, params: dict[str, str]) -> None:
    if not _value(params, "list_id"):
        raise missing_field("list_id")
    if not _value(params, "phone_number"):
        raise missing_field("phone_number")
    list_id = id_param(params, "list_id")
    expire_name = "hopper_expire_in" if _value(params, "hopper_expire_in") else "hopper_expires_in"
    request.dialer = DialerOptions(
        list_id=list_id,
        check_dup=int_param(params, "check_dup", default=0, low=0, high=3),
        check_dup_archive=bool_param(params, "check_dup_archive"),
        check_dnc=bool_param(params, "check_dnc"),
        hopper=bool_param(params, "hopper"),
        hopper_priority=int_param(params, "hopper_priority", default=99, low=0, high=99),
        hopper_expire_in=int_param(
            params, expire_name, default=None, low=1, high=HOPPER_EXPIRE_MAX_MINUTES
        ),
        update_if_found=bool_param(params, "update_if_found"),
    )
    request.fields, request.custom_fields = lead_values(params)


def _parse_update(request: IntakeRequest, params: dict[str, str]) -> None:
    raw = _value(params, "lead_id")
    if not raw:
        raise missing_field("lead_id")
    try:
        request.lead_id = str(uuid.UUID(raw))
    except ValueError:
        raise IntakeError(
            ReasonCode.NOT_FOUND, f"No such lead: {raw[:50]}", field="lead_id"
        ) from None
    if _value(params, "list_id"):
        # Moves the lead to that list.
        request.dialer = DialerOptions(list_id=id_param(params, "list_id"))
    request.fields, request.custom_fields = lead_values(params)


# -- views ------------------------------------------------------------------------------------


class ConvosoView(FamilyAPIView):
    """A Convoso-style call: auth_token, flat form or query parameters, Convoso error bodies."""

    family = Family.CONVOSO
    # For the schema only: the views read request.GET / request.POST / the body themselves.
    parser_classes = [FormParser, MultiPartParser, JSONParser]

    def error_response(
        self, status: int, kind: str, message: str, field: str | None = None
    ) -> Response:
        return Response(
            {"success": False, "code": convoso_code(kind, field), "text": message}, status=status
        )

    def intake_error_response(self, error: IntakeError) -> Response:
        return self.error_response(error.status, error.code, error.message, error.field)

    def authenticate_token(self, request: Any) -> tuple[Any, dict[str, str], IntakeError | None]:
        """(credential, parameters, parse error). A bad token is a 401 before anything else."""
        params, error = read_params(request)
        token = params.get("auth_token") or request.GET.get("auth_token")
        credential = credential_by_auth_token(token)
        if credential is None:
            raise AuthError("Invalid auth token")
        admit(request, credential)
        return credential, params, error

    def params_or_raise(self, request: Any) -> tuple[Any, dict[str, str]]:
        """For the calls that write no lead: a parse problem is simply the answer."""
        credential, params, error = self.authenticate_token(request)
        if error is not None:
            raise error
        return credential, params


class LeadWriteView(ConvosoView):
    """A lead write through the intake pipeline; every rejection is logged with its data."""

    idempotent = True

    operation = Operation.INSERT

    def post(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        credential, params, error = self.authenticate_token(request)
        intake = build_request(
            operation=self.operation,
            endpoint=request.path,
            params=params,
            query=query_dict(request),
            api_user=credential.user,
            remote_addr=client_addr(request),
            error=error,
        )
        result = lead_ingest(request=intake)
        lead_id = str(result.lead.id)
        return Response({"success": True, "data": {"lead_id": lead_id}, "id": lead_id})


# -- schema -------------------------------------------------------------------------------------


AUTH = OpenApiParameter(
    "auth_token",
    str,
    OpenApiParameter.QUERY,
    required=True,
    description="The API user's auth token (also accepted as a body parameter).",
)
ERRORS = {
    400: OpenApiTypes.OBJECT,
    401: OpenApiTypes.OBJECT,
    429: OpenApiTypes.OBJECT,
}
FLAG = serializers.ChoiceField(choices=["0", "1"], required=False)


class InsertInput(serializers.Serializer):
    list_id = serializers.IntegerField(min_value=1)
    phone_number = serializers.CharField()
    phone_code = serializers.CharField(required=False, help_text="Country code; default 1.")
    first_name = serializers.CharField(required=False)
    last_name = serializers.CharField(required=False)
    email = serializers.CharField(required=False)
    address1 = serializers.CharField(required=False)
    address2 = serializers.CharField(required=False)
    city = serializers.CharField(required=False)
    state = serializers.CharField(required=False)
    postal_code = serializers.CharField(required=False)
    country = serializers.CharField(required=False)
    status = serializers.CharField(required=False)
    check_dup = serializers.ChoiceField(
        choices=["0", "1", "2", "3"],
        required=False,
        help_text="0 none, 1 whole account, 2 this list, 3 this list's campaign.",
    )
    check_dup_archive = FLAG
    check_dnc = FLAG
    hopper = FLAG
    hopper_priority = serializers.IntegerField(min_value=0, max_value=99, required=False)
    hopper_expire_in = serializers.IntegerField(
        min_value=1, max_value=HOPPER_EXPIRE_MAX_MINUTES, required=False, help_text="Minutes."
    )
    update_if_found = FLAG


class UpdateInput(serializers.Serializer):
    lead_id = serializers.UUIDField()
    list_id = serializers.IntegerField(min_value=1, required=False, help_text="Move to list.")
    phone_number = serializers.CharField(required=False)
    first_name = serializers.CharField(required=False)
    last_name = serializers.CharField(required=False)
    email = serializers.CharField(required=False)
    status = serializers.CharField(required=False)


def form(serializer: Any) -> dict[str, Any]:
    return {
        "application/x-www-form-urlencoded": serializer,
        "multipart/form-data": serializer,
        "application/json": serializer,
    }


def query_params(*names: str, ints: tuple[str, ...] = ()) -> list[OpenApiParameter]:
    return [AUTH] + [
        OpenApiParameter(name, int if name in ints else str, OpenApiParameter.QUERY)
        for name in names
    ]


# -- leads --------------------------------------------------------------------------------------


@extend_schema(
    tags=["Convoso"],
    summary="Insert a lead into a list (check_dup, check_dnc, hopper, update_if_found)",
    parameters=[AUTH],
    request=form(InsertInput),
    responses={200: OpenApiTypes.OBJECT, **ERRORS},
    examples=[
        OpenApiExample(
            "lead",
            value={
                "list_id": 1,
                "phone_number": "2015550123",
                "first_name": "Ann",
                "check_dup": "2",
                "hopper": "1",
                "hopper_priority": 50,
            },
            request_only=True,
        )
    ],
)
class LeadInsertView(LeadWriteView):
    """Insert a lead into a list; check_dup scopes 0-3, check_dnc, hopper, update_if_found."""

    operation = Operation.INSERT


@extend_schema(
    tags=["Convoso"],
    summary="Update a lead by lead_id (list_id moves it to that list)",
    parameters=[AUTH],
    request=form(UpdateInput),
    responses={200: OpenApiTypes.OBJECT, **ERRORS},
)
class LeadUpdateView(LeadWriteView):
    """Update the lead lead_id names; list_id moves it to that list."""

    operation = Operation.UPDATE

    def post(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        response = super().post(request, *args, **kwargs)
        response.data.pop("id", None)
        return response


LEAD_FILTERS = {
    "first_name": "first_name",
    "last_name": "last_name",
    "status": "status",
    "city": "city",
    "state": "state",
    "postal_code": "postal_code",
    "country": "country",
}
DATE_FILTERS = {
    "created_at_start_date": "created_at__gte",
    "created_at_end_date": "created_at__lte",
    "updated_at_start_date": "updated_at__gte",
    "updated_at_end_date": "updated_at__lte",
}


def _date_param(params: dict[str, str], name: str) -> datetime | None:
    raw = _value(params, name)
    if not raw:
        return None
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d"):
        try:
            value = datetime.strptime(raw, fmt)  # noqa: DTZ007 (made aware below)
        except ValueError:
            continue
        if not 1900 <= value.year <= 9998:  # and the conversion to UTC cannot overflow
            raise invalid_value(name, f"{value.year} is out of range (1900-9998)")
        if fmt == "%Y-%m-%d" and name.endswith("_end_date"):
            value = datetime.combine(value.date(), time.max)
        return timezone.make_aware(value)
    raise invalid_value(name, f"use YYYY-MM-DD or YYYY-MM-DD HH:MM:SS, not {raw[:50]}")


def lead_search(params: dict[str, str]) -> dict[str, Any]:
    leads = leads_for_records()
    raw_id = _value(params, "lead_id")
    if raw_id:
        try:
            leads = leads.filter(pk=uuid.UUID(raw_id))
        except ValueError:
            raise invalid_value("lead_id", f"not a lead id: {raw_id[:50]}") from None
    list_id = id_param(params, "list_id", required=False)
    if list_id is not None:
        leads = leads.filter(list_id=list_id)
    campaign_id = id_param(params, "campaign_id", required=False)
    if campaign_id is not None:
        leads = leads.filter(list__campaign_id=campaign_id)
    phone = _value(params, "phone_number")
    if phone:
        normalized = normalize_phone(
            phone,
            region=global_settings_get().default_phone_region,
            phone_code=_value(params, "phone_code") or None,
        )
        leads = leads.filter(phone_normalized=normalized)
    email = _value(params, "email")
    if email:
        leads = leads.filter(email_normalized=email_key(email))
    for name, model_field in LEAD_FILTERS.items():
        value = _value(params, name)
        if value:
            leads = leads.filter(**{model_field: value})
    for name, lookup in DATE_FILTERS.items():
        value = _date_param(params, name)
        if value is not None:
            leads = leads.filter(**{lookup: value})
    offset, limit = page_params(params, default=10, high=2000)
    leads = leads.order_by("created_at", "id")
    return {
        "offset": offset,
        "limit": limit,
        "total": leads.count(),
        "entries": [lead_record(lead) for lead in leads[offset : offset + limit]],
    }


@extend_schema(
    tags=["Convoso"],
    summary="Search leads (limit default 10, max 2000)",
    parameters=query_params(
        "lead_id",
        "list_id",
        "campaign_id",
        "phone_number",
        "phone_code",
        "email",
        *LEAD_FILTERS,
        *DATE_FILTERS,
        "offset",
        "limit",
        ints=("list_id", "campaign_id", "offset", "limit"),
    ),
    request=None,
    responses={200: OpenApiTypes.OBJECT, **ERRORS},
)
class LeadSearchView(ConvosoView):
    """Leads matching every filter given, oldest first; limit default 10, max 2000."""

    def get(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        _, params = self.params_or_raise(request)
        return Response({"success": True, "data": lead_search(params)})

    post = get


# -- campaigns and lists ----------------------------------------------------------------------


def _name(params: dict[str, str], *, required: bool) -> str | None:
    name = _value(params, "name")
    if not name:
        if required:
            raise missing_field("name")
        return None
    if len(name) > 255:
        raise invalid_value("name", "longer than 255 characters")
    return name


def campaign_by_id(params: dict[str, str], *, required: bool = True) -> Campaign | None:
    campaign_id = id_param(params, "campaign_id", required=required)
    if campaign_id is None:
        return None
    campaign = Campaign.objects.filter(pk=campaign_id).first()
    if campaign is None:
        raise IntakeError(
            ReasonCode.NOT_FOUND, f"Unknown campaign id: {campaign_id}", field="campaign_id"
        )
    return campaign


def list_by_id(params: dict[str, str]) -> List:
    list_id = id_param(params, "list_id")
    obj = List.objects.filter(pk=list_id).first()
    if obj is None:
        raise IntakeError(ReasonCode.UNKNOWN_LIST, f"No such list: {list_id}", field="list_id")
    return obj


class CampaignInput(serializers.Serializer):
    name = serializers.CharField(max_length=255)


class ListInsertInput(serializers.Serializer):
    name = serializers.CharField(max_length=255)
    campaign_id = serializers.IntegerField(min_value=1)


class ListUpdateInput(serializers.Serializer):
    list_id = serializers.IntegerField(min_value=1)
    name = serializers.CharField(max_length=255, required=False)
    status = serializers.ChoiceField(
        choices=["active", "archived", "1", "0"], required=False, help_text="0: archived."
    )
    campaign_id = serializers.IntegerField(min_value=1, required=False)


class DncInput(serializers.Serializer):
    phone_number = serializers.CharField()
    phone_code = serializers.CharField(required=False, help_text="Country code; default 1.")
    campaign_id = serializers.IntegerField(
        min_value=0, required=False, help_text="Empty or 0: the account-wide list."
    )


class HopperNextInput(serializers.Serializer):
    campaign_id = serializers.IntegerField(min_value=1)


def _ok(data: Any, **extra: Any) -> Response:
    return Response({"success": True, "data": data, **extra})


@extend_schema(
    tags=["Convoso"],
    summary="Create a campaign",
    parameters=[AUTH],
    request=form(CampaignInput),
    responses={200: OpenApiTypes.OBJECT, **ERRORS},
)
class CampaignInsertView(ConvosoView):
    """Create a campaign."""

    def post(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        _, params = self.params_or_raise(request)
        campaign = campaign_create(name=_name(params, required=True))
        return _ok({"campaign_id": campaign.id, "name": campaign.name}, id=campaign.id)


@extend_schema(
    tags=["Convoso"],
    summary="Create a list in a campaign",
    parameters=[AUTH],
    request=form(ListInsertInput),
    responses={200: OpenApiTypes.OBJECT, **ERRORS},
)
class ListInsertView(ConvosoView):
    """Create a list in a campaign."""

    def post(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        _, params = self.params_or_raise(request)
        name = _name(params, required=True)
        obj = list_create(name=name, campaign=campaign_by_id(params))
        return _ok(list_record(obj), id=obj.id)


LIST_STATUSES = {
    "active": ListStatus.ACTIVE,
    "1": ListStatus.ACTIVE,
    "y": ListStatus.ACTIVE,
    "archived": ListStatus.ARCHIVED,
    "0": ListStatus.ARCHIVED,
    "n": ListStatus.ARCHIVED,
}


def _list_status(params: dict[str, str]) -> str | None:
    raw = _value(params, "status").lower()
    if not raw:
        return None
    if raw not in LIST_STATUSES:
        raise invalid_value("status", f"use active or archived, not {raw[:50]}")
    return LIST_STATUSES[raw]


@extend_schema(
    tags=["Convoso"],
    summary="Rename a list, archive it (status=archived) or re-activate it, or move it",
    parameters=[AUTH],
    request=form(ListUpdateInput),
    responses={200: OpenApiTypes.OBJECT, **ERRORS},
)
class ListUpdateView(ConvosoView):
    """Rename a list, archive (status=archived) or re-activate it, or move it."""

    def post(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        _, params = self.params_or_raise(request)
        obj = list_by_id(params)
        obj = list_update(
            list_obj=obj,
            name=_name(params, required=False),
            status=_list_status(params),
            campaign=campaign_by_id(params, required=False),
        )
        return _ok(list_record(obj))


@extend_schema(
    tags=["Convoso"],
    summary="Search lists (by list_id, campaign_id, status, name)",
    parameters=query_params("list_id", "campaign_id", "status", "name", ints=("list_id",)),
    request=None,
    responses={200: OpenApiTypes.OBJECT, **ERRORS},
)
class ListSearchView(ConvosoView):
    """Lists by id, campaign, status or name."""

    def get(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        _, params = self.params_or_raise(request)
        lists = List.objects.order_by("id")
        list_id = id_param(params, "list_id", required=False)
        if list_id is None:
            list_id = id_param(params, "id", required=False)
        if list_id is not None:
            lists = lists.filter(pk=list_id)
        campaign_id = id_param(params, "campaign_id", required=False)
        if campaign_id is not None:
            lists = lists.filter(campaign_id=campaign_id)
        status = _list_status(params)
        if status is not None:
            lists = lists.filter(status=status)
        name = _value(params, "name")
        if name:
            lists = lists.filter(name__icontains=name)
        return _ok([list_record(obj) for obj in lists[:2000]])

    post = get


# -- DNC --------------------------------------------------------------------------------------


def _dnc_phone(params: dict[str, str], *, required: bool = True) -> str:
    """The number in E.164, read as every family reads phones (phone_code, else the default
    region)."""
    raw = _value(params, "phone_number")
    if not raw:
        if required:
            raise missing_field("phone_number")
        return ""
    return normalize_phone(
        raw,
        region=global_settings_get().default_phone_region,
        phone_code=_value(params, "phone_code") or None,
    )


def _dnc_campaign(params: dict[str, str]) -> Campaign | None:
    """campaign_id empty or 0: the account-wide list."""
    if _value(params, "campaign_id") in ("", "0"):
        return None
    return campaign_by_id(params)


@extend_schema(
    tags=["Convoso"],
    summary="Put a number on the account-wide DNC, or a campaign's (campaign_id)",
    parameters=[AUTH],
    request=form(DncInput),
    responses={200: OpenApiTypes.OBJECT, **ERRORS},
)
class DncInsertView(ConvosoView):
    """Put a number on the account-wide DNC list (no campaign_id, or 0) or a campaign's."""

    def post(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        _, params = self.params_or_raise(request)
        phone = _dnc_phone(params)
        entry = dnc_add(
            phone=phone,
            phone_as_given=_value(params, "phone_number")[:64],
            campaign=_dnc_campaign(params),
        )
        return _ok(dnc_record(entry), id=entry.id)


@extend_schema(
    tags=["Convoso"],
    summary="Take a number off the account-wide DNC, or a campaign's (campaign_id)",
    parameters=[AUTH],
    request=form(DncInput),
    responses={200: OpenApiTypes.OBJECT, **ERRORS},
)
class DncDeleteView(ConvosoView):
    """Take a number off the account-wide DNC list (no campaign_id, or 0) or a campaign's."""

    def post(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        _, params = self.params_or_raise(request)
        phone = _dnc_phone(params)
        if not dnc_remove(phone=phone, campaign=_dnc_campaign(params)):
            raise IntakeError(
                ReasonCode.NOT_FOUND,
                f"The phone number is not on this Do Not Call list: {phone}",
                field="phone_number",
            )
        return Response({"success": True})


@extend_schema(
    tags=["Convoso"],
    summary="Search the DNC (phone_number, campaign_id: 0 for account-wide; limit max 1000)",
    parameters=query_params(
        "phone_number",
        "phone_code",
        "campaign_id",
        "offset",
        "limit",
        ints=("campaign_id", "offset", "limit"),
    ),
    request=None,
    responses={200: OpenApiTypes.OBJECT, **ERRORS},
)
class DncSearchView(ConvosoView):
    """DNC entries by number and scope (campaign_id 0: account-wide only)."""

    def get(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        _, params = self.params_or_raise(request)
        entries = DncEntry.objects.select_related("campaign").order_by("id")
        phone = _dnc_phone(params, required=False)
        if phone:
            entries = entries.filter(phone=phone)
        if _value(params, "campaign_id") == "0":
            entries = entries.filter(campaign__isnull=True)
        elif _value(params, "campaign_id"):
            entries = entries.filter(campaign_id=id_param(params, "campaign_id"))
        offset, limit = page_params(params, default=100, high=1000)
        return _ok(
            {
                "offset": offset,
                "limit": limit,
                "total": entries.count(),
                "entries": [dnc_record(e) for e in entries[offset : offset + limit]],
            }
        )

    post = get


# -- hopper -----------------------------------------------------------------------------------


@extend_schema(
    tags=["Convoso"],
    summary="A campaign's live hopper entries, by priority then age (limit max 2000)",
    parameters=query_params(
        "campaign_id", "offset", "limit", ints=("campaign_id", "offset", "limit")
    ),
    request=None,
    responses={200: OpenApiTypes.OBJECT, **ERRORS},
)
class HopperSearchView(ConvosoView):
    """A campaign's live hopper entries, highest priority first, then oldest."""

    def get(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        _, params = self.params_or_raise(request)
        campaign = campaign_by_id(params)
        offset, limit = page_params(params, default=100, high=2000)
        entries = hopper_live(campaign=campaign).select_related("lead__list", "lead__created_by")
        return _ok(
            {
                "campaign_id": campaign.id,
                "offset": offset,
                "limit": limit,
                "total": entries.count(),
                "entries": [hopper_record(e) for e in entries[offset : offset + limit]],
            }
        )

    post = get


@extend_schema(
    tags=["Convoso"],
    summary="Take the campaign's highest-priority live hopper entry, for the dialer",
    description="Each entry is handed out once, however many dialers ask at the same time. "
    'An empty hopper answers {"success":true,"data":null}.',
    parameters=[AUTH],
    request=form(HopperNextInput),
    responses={200: OpenApiTypes.OBJECT, **ERRORS},
)
class HopperNextView(ConvosoView):
    """Take the campaign's next hopper entry for the dialer."""

    def post(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        credential, params = self.params_or_raise(request)
        campaign = campaign_by_id(params)
        entry = hopper_next(campaign=campaign, user=credential.user)
        if entry is None:
            return Response(
                {"success": True, "data": None, "text": "The hopper of this campaign is empty"}
            )
        return _ok(hopper_record(entry), id=entry.id)


@extend_schema(exclude=True)
class ConvosoNotFoundView(ConvosoView):
    """Any other path under /v1/: Convoso's error body with a 404."""

    def dispatch_any(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        return self.error_response(404, "unknown_api", "The API could not be found")

    get = post = put = patch = delete = options = dispatch_any

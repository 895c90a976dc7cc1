"""Convoso on the wire: parameters -> IntakeRequests and filters, results and errors -> its
bodies. The views, the CSV upload and the replayer use these; see the codes below.

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

import phonenumbers
from django.utils import timezone
from rest_framework.exceptions import APIException

from leads.errors import (
    ApiError,
    IntakeError,
    invalid_body,
    invalid_value,
    malformed_json,
    missing_field,
)
from leads.matching import Operation
from leads.normalize import email_key, normalize_phone
from leads.services import LEAD_FIELDS, IntakeRequest
from leads.vocabulary import Family, ReasonCode
from lists_hopper.dialer import DialerOptions
from lists_hopper.models import DncEntry, HopperEntry, List, ListStatus
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
        elif (request.content_type or "").startswith("application/x-www-form-urlencoded"):
            # Django's own form parsing: the same QueryDict DRF's FormParser builds, without
            # DRF's parser negotiation and stream wrapping on every call.
            form = getattr(request, "_request", request).POST
            params.update({key: values[-1] for key, values in form.lists()})
        else:
            params.update({key: values[-1] for key, values in request.POST.lists()})
    except IntakeError as exc:
        error = exc
        params["raw_body"] = request.body.decode("utf-8", "replace")[:10_000]
    except UnicodeDecodeError:
        error = invalid_body("the body is not UTF-8")
        params["raw_body"] = request.body.decode("latin-1")[:10_000]
    except json.JSONDecodeError as exc:
        error = malformed_json(exc)
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


def text_param(params: dict[str, str], name: str) -> str:
    """A parameter, stripped; "" when absent."""
    return (params.get(name) or "").strip()


def int_param(
    params: dict[str, str], name: str, *, default: int | None, low: int, high: int
) -> int | None:
    raw = text_param(params, name)
    if not raw:
        return default
    if not _INT.fullmatch(raw):
        raise invalid_value(name, f"not a whole number: {raw[:50]}")
    value = int(raw)
    if not low <= value <= high:
        raise invalid_value(name, f"{value} is out of range ({low}-{high})")
    return value


def bool_param(params: dict[str, str], name: str) -> bool:
    raw = text_param(params, name).lower()
    if raw in TRUE:
        return True
    if raw in FALSE:
        return False
    raise invalid_value(name, f"use 1 or 0, not {raw[:50]}")


def id_param(params: dict[str, str], name: str, *, required: bool = True) -> int | None:
    if required and not text_param(params, name):
        raise missing_field(name)
    return int_param(params, name, default=None, low=1, high=MAX_ID)


def page_params(params: dict[str, str], *, default: int, high: int) -> tuple[int, int]:
    offset = int_param(params, "offset", default=0, low=0, high=MAX_ID) or 0
    limit = int_param(params, "limit", default=default, low=1, high=high) or default
    return offset, limit


# The insert's options (the CSV upload takes the same ones).
INSERT_OPTIONS = (
    "check_dup",
    "check_dup_archive",
    "check_dnc",
    "hopper",
    "hopper_priority",
    "hopper_expire_in",
    "update_if_found",
)
# Parameters that steer the call rather than describe the lead.
OPTIONS = frozenset({"auth_token", "list_id", "lead_id", "hopper_expires_in", *INSERT_OPTIONS})
# The standard lead fields as Convoso names them (the model's own name, but for these two), and
# the model field of each: read on insert and update, written back in every lead record.
CONVOSO_NAMES = {"phone": "phone_number", "alt_phone": "alt_phone_1"}
LEAD_RECORD_FIELDS = {CONVOSO_NAMES.get(name, name): name for name in LEAD_FIELDS}
# What the insert and update read: the Convoso names and the model's own names, else custom.
FIELD_NAMES = {**{name: name for name in LEAD_FIELDS if name != "phone"}, **LEAD_RECORD_FIELDS}
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
    if not text_param(params, "list_id"):
        raise missing_field("list_id")
    if not text_param(params, "phone_number"):
        raise missing_field("phone_number")
    list_id = id_param(params, "list_id")
    expire_name = (
        "hopper_expire_in" if text_param(params, "hopper_expire_in") else "hopper_expires_in"
    )
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
    raw = text_param(params, "lead_id")
    if not raw:
        raise missing_field("lead_id")
    try:
        request.lead_id = str(uuid.UUID(raw))
    except ValueError:
        raise IntakeError(
            ReasonCode.NOT_FOUND, f"No such lead: {raw[:50]}", field="lead_id"
        ) from None
    if text_param(params, "list_id"):
        # Moves the lead to that list.
        request.dialer = DialerOptions(list_id=id_param(params, "list_id"))
    request.fields, request.custom_fields = lead_values(params)


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


def date_param(params: dict[str, str], name: str) -> datetime | None:
    raw = text_param(params, name)
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


def name_param(params: dict[str, str], *, required: bool) -> str | None:
    name = text_param(params, "name")
    if not name:
        if required:
            raise missing_field("name")
        return None
    if len(name) > 255:
        raise invalid_value("name", "longer than 255 characters")
    return name


LIST_STATUSES = {
    "active": ListStatus.ACTIVE,
    "1": ListStatus.ACTIVE,
    "y": ListStatus.ACTIVE,
    "archived": ListStatus.ARCHIVED,
    "0": ListStatus.ARCHIVED,
    "n": ListStatus.ARCHIVED,
}


def list_status_param(params: dict[str, str]) -> str | None:
    raw = text_param(params, "status").lower()
    if not raw:
        return None
    if raw not in LIST_STATUSES:
        raise invalid_value("status", f"use active or archived, not {raw[:50]}")
    return LIST_STATUSES[raw]


def dnc_phone(params: dict[str, str], *, required: bool = True) -> str:
    """The number in E.164, read as every family reads phones (phone_code, else the default
    region)."""
    raw = text_param(params, "phone_number")
    if not raw:
        if required:
            raise missing_field("phone_number")
        return ""
    return normalize_phone(
        raw,
        region=global_settings_get().default_phone_region,
        phone_code=text_param(params, "phone_code") or None,
    )


def timestamp(value: datetime | None) -> str | None:
    """Convoso's "YYYY-MM-DD HH:MM:SS", in the server's time zone."""
    if value is None:
        return None
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M:%S")


def lead_record(lead: Any) -> dict[str, Any]:
    """A lead as the Convoso family shows it: standard fields, then custom fields by name.

    Expects lead.list and lead.created_by to be selected with it."""
    record: dict[str, Any] = {
        "id": str(lead.id),
        "lead_id": str(lead.id),
        "list_id": lead.list_id,
        "campaign_id": lead.list.campaign_id if lead.list_id else None,
    }
    for name, model_field in LEAD_RECORD_FIELDS.items():
        record[name] = getattr(lead, model_field)
    record["phone_normalized"] = lead.phone_normalized
    record["created_by"] = lead.created_by.get_username() if lead.created_by_id else None
    record["created_at"] = timestamp(lead.created_at)
    record["modified_at"] = timestamp(lead.updated_at)
    for name, value in (lead.custom_fields or {}).items():
        record.setdefault(name, value)  # a standard field keeps its name
    return record


def hopper_record(entry: HopperEntry) -> dict[str, Any]:
    """A hopper entry with its lead (entry.lead selected with list and created_by)."""
    return {
        "hopper_id": entry.id,
        "lead_id": str(entry.lead_id),
        "campaign_id": entry.campaign_id,
        "priority": entry.priority,
        "state": entry.state,
        "expires_at": timestamp(entry.expires_at),
        "created_at": timestamp(entry.created_at),
        "taken_at": timestamp(entry.taken_at),
        "lead": lead_record(entry.lead),
    }


def list_record(obj: List) -> dict[str, Any]:
    return {
        "id": obj.id,
        "list_id": obj.id,
        "name": obj.name,
        "campaign_id": obj.campaign_id,
        "status": obj.status,
        "created_at": timestamp(obj.created_at),
        "modified_at": timestamp(obj.updated_at),
    }


def dnc_record(entry: DncEntry) -> dict[str, Any]:
    """phone_number and phone_code the way they are posted: national digits and country code."""
    try:
        number = phonenumbers.parse(entry.phone)
        national = str(number.national_number)
        code = str(number.country_code)
    except phonenumbers.NumberParseException:
        national, code = entry.phone, ""
    return {
        "id": entry.id,
        "phone_number": national,
        "phone_code": code,
        "phone_e164": entry.phone,
        "campaign_id": entry.campaign_id or 0,
        "campaign_name": entry.campaign.name if entry.campaign_id else "",
        "insert_date": timestamp(entry.created_at),
    }


def lead_search_filters(params: dict[str, str]) -> dict[str, Any]:
    """The lead search's parameters as ORM lookups, checked in the order they are read."""
    filters: dict[str, Any] = {}
    raw_id = text_param(params, "lead_id")
    if raw_id:
        try:
            filters["pk"] = uuid.UUID(raw_id)
        except ValueError:
            raise invalid_value("lead_id", f"not a lead id: {raw_id[:50]}") from None
    list_id = id_param(params, "list_id", required=False)
    if list_id is not None:
        filters["list_id"] = list_id
    campaign_id = id_param(params, "campaign_id", required=False)
    if campaign_id is not None:
        filters["list__campaign_id"] = campaign_id
    phone = text_param(params, "phone_number")
    if phone:
        filters["phone_normalized"] = normalize_phone(
            phone,
            region=global_settings_get().default_phone_region,
            phone_code=text_param(params, "phone_code") or None,
        )
    email = text_param(params, "email")
    if email:
        filters["email_normalized"] = email_key(email)
    for name, model_field in LEAD_FILTERS.items():
        found = text_param(params, name)
        if found:
            filters[model_field] = found
    for name, lookup in DATE_FILTERS.items():
        when = date_param(params, name)
        if when is not None:
            filters[lookup] = when
    return filters


def error_body(error: ApiError) -> dict[str, Any]:
    """Convoso's error body: {"success":false,"code":N,"text":"..."}."""
    return {"success": False, "code": convoso_code(error.kind, error.field), "text": error.message}


def ok(data: Any, **extra: Any) -> dict[str, Any]:
    """Convoso's success body."""
    return {"success": True, "data": data, **extra}


def page(offset: int, limit: int, total: int, entries: list[Any], **head: Any) -> dict[str, Any]:
    """The pagination envelope of the searches."""
    return {**head, "offset": offset, "limit": limit, "total": total, "entries": entries}

"""aNinja on the wire: the web contact form (form-encoded, multipart or a JSON object) ->
IntakeRequest; errors -> {"success": false, "error", "reason_code"}."""

from __future__ import annotations

import json
from typing import Any

from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.http import QueryDict
from django.http.multipartparser import MultiPartParserError

from leads.errors import ApiError, IntakeError, invalid_body, invalid_value, malformed_json
from leads.intake import IntakeRequest
from leads.matching import Operation
from leads.vocabulary import CREDENTIAL_KEYS, Family

ENDPOINT = "/api/v1/contactform/"

# Form field -> lead field. Matched case-insensitively; any other field is a custom field.
FORM_FIELDS = {
    "contact_name": "contact_name",
    "contact_first_name": "first_name",
    "first_name": "first_name",
    "contact_last_name": "last_name",
    "last_name": "last_name",
    "contact_email1": "email",
    "contact_email": "email",
    "email": "email",
    "contact_phone1": "phone",
    "contact_phone": "phone",
    "phone": "phone",
    "contact_phone_code": "phone_code",
    "phone_code": "phone_code",
    "contact_phone2": "alt_phone",
    "contact_mobile": "mobile",
    "contact_title": "job_title",
    "company_name": "company",
    "company_website": "website",
    "website": "website",
    "address1": "address1",
    "address2": "address2",
    "city": "city",
    "state": "state",
    "zip": "postal_code",
    "postal_code": "postal_code",
    "country": "country",
    "notes": "notes",
    "message": "notes",
    "source": "source",
    "utm_source": "source",
    "utm_medium": "source_medium",
    "utm_campaign": "source_campaign",
    "utm_content": "source_content",
    "referrer": "source_referrer",
}
JSON_TYPES = ("application/json",)
FORM_TYPES = ("application/x-www-form-urlencoded", "")
MULTIPART = "multipart/form-data"


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON value")


def _finite_float(text: str) -> float:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        raise ValueError(f"{text[:40]} is out of range")  # JSON storage has no Infinity
    return value


def _text(value: Any, name: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        text = str(value)
        if "\x00" in text:
            raise invalid_value(name, "contains a NUL character")
        return text
    raise invalid_value(name, "nested values are not accepted (send a string or a number)")


def _from_querydict(query: QueryDict) -> dict[str, Any]:
    """Form fields; a repeated field (a checkbox group) keeps every value, in a list."""
    return {key: values[-1] if len(values) == 1 else values for key, values in query.lists()}


def read_form(request: Any) -> tuple[Any, IntakeError | None]:
    """The fields as received (form-encoded, multipart or a JSON object), and the reason the body
    is not to specification, if it is not."""
    django_request = request._request
    media_type = (request.content_type or "").split(";")[0].strip().lower()
    try:
        if media_type == MULTIPART:
            return _from_querydict(django_request.POST), None
        raw = django_request.body
    except RequestDataTooBig:
        return {}, invalid_body("the body is too large")
    except (MultiPartParserError, SuspiciousOperation) as exc:
        return {}, invalid_body(f"the form cannot be read ({exc})")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return {"raw": raw.decode("latin-1")}, invalid_body("the body is not UTF-8")
    is_json = media_type in JSON_TYPES or media_type.endswith("+json")
    if not media_type and text.lstrip().startswith(("{", "[")):
        is_json = True
    if is_json:
        if not text.strip():
            return {}, None
        try:
            body = json.loads(text, parse_constant=_reject_constant, parse_float=_finite_float)
        except json.JSONDecodeError as exc:
            return {"raw": text}, malformed_json(exc)
        except (ValueError, RecursionError) as exc:
            return {"raw": text}, invalid_body(f"malformed JSON ({exc})")
        if not isinstance(body, dict):
            return {"raw": text}, invalid_body("the JSON body must be an object of form fields")
        try:
            json.dumps(body, ensure_ascii=False).encode("utf-8")
        except UnicodeEncodeError:
            # A lone \ud800 escape decodes to no character: it can be neither stored nor echoed.
            return {"raw": text}, invalid_body("a string holds a lone surrogate escape")
        return body, None
    if media_type in FORM_TYPES:
        try:
            return _from_querydict(QueryDict(text)), None
        except SuspiciousOperation as exc:
            return {"raw": text[:10_000]}, invalid_body(f"the form cannot be read ({exc})")
    return {"raw": text}, invalid_body(
        f"unsupported content type {media_type}: send form fields or a JSON object"
    )


def parse_form(form: dict[str, Any]) -> dict[str, Any]:
    """Form fields -> the parts of an IntakeRequest."""
    fields: dict[str, str] = {}
    custom: dict[str, Any] = {}
    for name, value in form.items():
        key = str(name).strip()
        if "\x00" in key:
            raise invalid_value("field name", "contains a NUL character")
        if not key or key.lower() in CREDENTIAL_KEYS:
            continue
        model_field = FORM_FIELDS.get(key.lower())
        if model_field is not None:
            # A repeated standard field: the last value wins, as in any web form; of two names
            # for one field (email, contact_email1), the one that is filled in.
            if isinstance(value, list):
                value = value[-1] if value else ""
            text = _text(value, key)
            if model_field not in fields or text.strip():
                fields[model_field] = text
        elif isinstance(value, list):
            custom[key] = [_text(item, key) for item in value]
        else:
            custom[key] = _text(value, key)
    return {"fields": fields, "custom_fields": custom}


def build_request(
    *,
    form: Any,
    query: dict[str, Any],
    endpoint: str = ENDPOINT,
    api_user: Any = None,
    remote_addr: str | None = None,
    error: IntakeError | None = None,
) -> IntakeRequest:
    """The IntakeRequest for one contact form; query-string fields count as form fields (the
    body wins). Also used to replay a logged form."""
    merged: Any = form
    if error is None and isinstance(form, dict):
        merged = {**{k: v for k, v in query.items() if k.lower() not in CREDENTIAL_KEYS}, **form}
    request = IntakeRequest(
        family=Family.ANINJA,
        endpoint=endpoint,
        operation=Operation.CREATE,
        require_contact_name=True,
        data=merged,
        query=query,
        api_user=api_user,
        remote_addr=remote_addr,
        error=error,
    )
    if error is not None:
        return request
    try:
        if not isinstance(merged, dict):
            raise invalid_body("the form must be a set of named fields")
        parts = parse_form(merged)
        request.fields = parts["fields"]
        request.custom_fields = parts["custom_fields"]
    except IntakeError as exc:
        request.error = exc
    return request


def error_body(error: ApiError) -> dict[str, Any]:
    """aNinja's error body; a refused lead (400) says its reason code."""
    body: dict[str, Any] = {"success": False, "error": error.message}
    if error.status == 400:
        body["reason_code"] = str(error.kind)
    return body


def success_body(lead: Any) -> dict[str, Any]:
    return {"success": True, "id": str(lead.id), "lead_id": str(lead.id)}

"""LeadSquared's async capture: POST /lead/capture, GET /lead/status, GET /lead/capture/metrics.

The accept path checks only what is cheap and certain (the keys, the rate limit, a body that is JSON
and storable), stores the request (one insert: the table is the queue) and answers with its
RequestID; the worker runs the Lead.Capture pipeline later (leads.capture_requests). Vendors change
only the host.
"""

from __future__ import annotations

import hmac
import math
from typing import Any

from django.core.exceptions import RequestDataTooBig
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.response import Response

from injectionlogs.services import strip_credentials
from leads.api.base import admit
from leads.api.leadsquared import LeadSquaredView
from leads.api.leadsquared_schema import (
    ATTRIBUTES,
    ERROR_RESPONSES,
    KEY_PARAMS,
    LEAD_EXAMPLE,
    UPDATE_BEHAVIOR_PARAM,
)
from leads.capture_requests import (
    ACCEPTED,
    TASK_TYPE,
    capture_request_accept,
    capture_request_status,
    capture_requests_metrics,
)
from leads.errors import AuthError, IntakeError, invalid_body, invalid_value
from leads.matching import Operation
from leads.models import CaptureStatus
from leads.services import intake_refuse
from leads.vocabulary import ReasonCode
from leads.wire import client_addr, get_ci, query_dict
from settings_global.models import ApiCredential
from settings_global.selectors import credential_by_api_key

API_KEY = OpenApiParameter(
    "x-api-key",
    str,
    OpenApiParameter.HEADER,
    required=True,
    description="The API user's async key (api_key of create_api_user)",
)
OPTIONAL_KEYS = [
    OpenApiParameter(
        name,
        str,
        OpenApiParameter.QUERY,
        description="Optional here; when given, must be the x-api-key's own",
    )
    for name in ("accessKey", "secretKey")
]
NO_SUCH_REQUEST = "Request does not exist"

ACCEPTED_SCHEMA = {
    "type": "object",
    "properties": {
        "Status": {"type": "string", "example": ACCEPTED},
        "RequestID": {"type": "string", "format": "uuid"},
    },
    "required": ["Status", "RequestID"],
}
STATUS_SCHEMA = {
    "type": "object",
    "properties": {
        "RequestId": {"type": "string", "format": "uuid"},
        "TaskStatus": {
            "type": "object",
            "properties": {
                "TaskType": {"type": "string", "example": TASK_TYPE},
                "Status": {"type": "string", "enum": [s.value for s in CaptureStatus]},
                "StatusReason": {"type": "string", "nullable": True},
                "TaskCurrentStep": {"type": "string", "nullable": True},
                "TaskLastStep": {"type": "string", "nullable": True},
                "RequestBody": {"type": "string", "description": "The body sent, as JSON text"},
                "Message": {
                    "type": "object",
                    "nullable": True,
                    "description": "The Lead.Capture answer once Success, else null",
                    "additionalProperties": True,
                },
            },
        },
    },
}
METRICS_SCHEMA = {
    "type": "object",
    "properties": {
        "PendingMessages": {"type": "integer"},
        "MaxDelayInSeconds": {"type": "integer"},
        "ProcessingRatePerMinute": {"type": "number"},
    },
}


def _unstorable(body: Any) -> str | None:
    """Why JSON storage cannot hold the body (NUL, NaN, Infinity), if it cannot."""
    stack = [body]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            if "\x00" in item:
                return "a string holds a NUL character"
        elif isinstance(item, float):
            if not math.isfinite(item):
                return "a number is NaN or out of range"
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return None


def _same(given: str, expected: str) -> bool:
    return hmac.compare_digest(given.encode(), expected.encode())


class AsyncView(LeadSquaredView):
    def authenticate_async(self, request: Any, *, keys_required: bool) -> ApiCredential:
        """The x-api-key header finds the credential; the access and secret keys, when required
        or given, must be that same credential's."""
        credential = credential_by_api_key(request.META.get("HTTP_X_API_KEY"))
        if credential is None:
            raise AuthError()
        # As Lead.Capture takes them: the query string, or LeadSquared's x-LSQ-* headers.
        access_key = get_ci(request.GET, "accessKey") or request.META.get("HTTP_X_LSQ_ACCESSKEY")
        secret_key = get_ci(request.GET, "secretKey") or request.META.get("HTTP_X_LSQ_SECRETKEY")
        if keys_required or access_key or secret_key:
            if not (
                access_key
                and secret_key
                and _same(access_key, credential.access_key)
                and credential.check_secret_key(secret_key)
            ):
                raise AuthError()
        admit(request, credential)
        return credential

    def read_body(self, request: Any) -> tuple[Any, IntakeError | None]:
        """Lead.Capture's reading of the body, plus what the JSON column cannot store."""
        try:
            body, error = self.read_json(request)
        except RequestDataTooBig:
            return {}, invalid_body("the body is too large")
        if error is None:
            problem = _unstorable(body)
            if problem is not None:
                return {"raw": request.body.decode("utf-8")}, invalid_body(problem)
        return body, error


@extend_schema(
    tags=["LeadSquared async"],
    summary="Capture a lead asynchronously: accept now, run Lead.Capture in the background",
    description=(
        "Same body and matching as Lead.Capture. The answer carries a RequestID for "
        "GET /lead/status. A lead-level rejection shows there as FAILURE (and in the log); a "
        "system fault is retried with back-off (30 s, 2 m, 7 m, then every 15 m; 10 attempts) "
        "before ERROR. A body that is not JSON is refused at once (400, logged)."
    ),
    parameters=[
        API_KEY,
        *KEY_PARAMS,
        UPDATE_BEHAVIOR_PARAM,
    ],
    request=ATTRIBUTES,
    responses={200: OpenApiResponse(response=ACCEPTED_SCHEMA), **ERROR_RESPONSES},
    examples=[OpenApiExample("lead", value=LEAD_EXAMPLE, request_only=True)],
)
class AsyncCaptureView(AsyncView):
    idempotent = True

    def post(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        return Response(self.accept(request))

    def accept(self, request: Any) -> dict[str, str]:
        """The accept itself, on a Django or DRF request: the answer's body, or an ApiError.
        leads.api.accept_wsgi calls it ahead of Django's middleware and DRF's dispatch."""
        credential = self.authenticate_async(request, keys_required=True)
        body, error = self.read_body(request)
        if error is None and not isinstance(body, list):
            # Cheap and certain up front: Lead.Capture's body is an array of attributes.
            error = invalid_body("the body must be a JSON array of {Attribute, Value} objects")
            if body is None:
                body = {"raw": "null"}
        query = strip_credentials(query_dict(request))
        remote_addr = client_addr(request)
        if error is not None:
            origin = self.origin(request, credential, body, query=query)
            intake_refuse(origin=origin, error=error, operation=Operation.CAPTURE)
            raise error
        capture = capture_request_accept(
            body=body, query=query, credential=credential, remote_addr=remote_addr
        )
        return {"Status": ACCEPTED, "RequestID": str(capture.pk)}


@extend_schema(
    tags=["LeadSquared async"],
    summary="The status of an async capture, and its Lead.Capture answer once done",
    parameters=[
        API_KEY,
        OpenApiParameter("RequestId", str, OpenApiParameter.QUERY, required=True),
        *OPTIONAL_KEYS,
    ],
    responses={200: OpenApiResponse(response=STATUS_SCHEMA), **ERROR_RESPONSES},
)
class AsyncStatusView(AsyncView):
    def get(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        credential = self.authenticate_async(request, keys_required=False)
        request_id = str(get_ci(request.GET, "RequestId") or "").strip()
        if not request_id:
            raise invalid_value("RequestId", "missing")
        status = capture_request_status(request_id=request_id, credential=credential)
        if status is None:  # unknown, malformed, or another credential's
            raise IntakeError(ReasonCode.NOT_FOUND, NO_SUCH_REQUEST)
        return Response(status)


@extend_schema(
    tags=["LeadSquared async"],
    summary="Async capture queue metrics",
    description=(
        "The caller's own queue (its API user's requests). "
        "PendingMessages: requests In-Queue or In-Process; MaxDelayInSeconds: the age of the "
        "oldest of them; ProcessingRatePerMinute: requests finished per minute over the last 10 "
        "minutes."
    ),
    parameters=[API_KEY, *OPTIONAL_KEYS],
    responses={200: OpenApiResponse(response=METRICS_SCHEMA), **ERROR_RESPONSES},
)
class AsyncMetricsView(AsyncView):
    def get(self, request: Any, *args: Any, **kwargs: Any) -> Response:
        credential = self.authenticate_async(request, keys_required=False)
        return Response(capture_requests_metrics(credential=credential))

"""What every vendor API family shares: the rate limit, the client address, the error mapping.

Each family subclasses FamilyAPIView and renders errors in its own format; views only translate
wire formats to IntakeRequests and results back.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from django.conf import settings
from django.db import DatabaseError, transaction
from django.http import Http404
from django_ratelimit.core import get_usage
from rest_framework import exceptions as drf_exceptions
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from config.outages import DATABASE_AWAY, REDIS_AWAY
from leads.api.idempotency import HEADER as IDEMPOTENCY_KEY
from leads.api.idempotency import idempotency_begin
from leads.errors import (
    ApiError,
    IdempotentReplay,
    RateLimitExceeded,
    ServiceUnavailable,
    UnknownApi,
)
from leads.idempotency import idempotency_finish
from leads.intake import Origin
from leads.wire import client_addr, query_dict
from settings_global.ratelimit import count as count_call
from settings_global.ratelimit import counter_key, precount_take, rule_seen
from settings_global.services import global_settings_get, global_settings_pinned

log = logging.getLogger(__name__)


def rate_limit_check(request: Any, credential: Any) -> None:
    """Count the call against its credential in the shared cache; raise when over the limit."""
    rules = global_settings_get()
    calls, window = rules.rate_limit_calls, rules.rate_limit_window_seconds
    if "redis" in settings.CACHES["default"]["BACKEND"].lower():
        # Fixed windows aligned on the clock, as django-ratelimit's; one Lua call instead of its
        # add-then-incr (two round trips), or none when the credential check counted this call
        # in its own round trip (settings_global.ratelimit).
        now = int(time.time())
        key, start = counter_key(credential.pk, calls, window, now)
        rule_seen(calls, window)
        count = precount_take(key)
        if count is None:
            count = count_call(key, window)
        if count > calls:
            raise RateLimitExceeded(calls, window, start + window - now)
        return
    usage = get_usage(
        request,
        group="vendor-api",
        key=lambda group, req: f"credential:{credential.pk}",
        rate=f"{calls}/{window}s",
        increment=True,
    )
    if usage is not None and usage["should_limit"]:
        raise RateLimitExceeded(calls, window, usage["time_left"])


def admit(request: Any, credential: Any) -> None:
    """After authentication: count the call against the rate limit, then, on a write sent with
    an Idempotency-Key, claim the key (or answer with the first response, or 409)."""
    rate_limit_check(request, credential)
    view = (getattr(request, "parser_context", None) or {}).get("view")
    if view is not None and getattr(view, "idempotent", False) and request.method == "POST":
        view.idempotency_record = idempotency_begin(request, credential)


class JsonAnswers(DefaultContentNegotiation):
    """The vendors' APIs answer JSON whatever the Accept header asks for, and so do ours: no
    browsable page, no 406. Skipping the Accept parsing also saved 7% of an async accept's CPU."""

    def select_renderer(self, request: Any, renderers: list, format_suffix: Any = None) -> tuple:
        return renderers[0], renderers[0].media_type


class FamilyAPIView(APIView):
    """Base of the vendor APIs: no session auth or CSRF, JSON answers, the family renders every
    error."""

    authentication_classes: list = []
    permission_classes = [AllowAny]
    renderer_classes = [JSONRenderer]
    content_negotiation_class = JsonAnswers
    # No DRF OPTIONS metadata page: OPTIONS is a 405 in the family's own error body.
    metadata_class = None
    family = ""
    idempotent = False  # the lead writes accept an Idempotency-Key header
    idempotency_record = None

    def origin(
        self, request: Any, credential: Any, data: Any, *, query: dict[str, Any] | None = None
    ) -> Origin:
        """Where this call's leads come from, for their log rows and activities."""
        return Origin(
            family=self.family,
            endpoint=request.path,
            data=data,
            query=query_dict(request) if query is None else query,
            api_user=credential.user,
            remote_addr=client_addr(request),
        )

    def dispatch(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        with global_settings_pinned():
            if self.idempotent and request.method == "POST" and request.META.get(IDEMPOTENCY_KEY):
                # The key, the write it guards and the key's answer commit together: a process
                # that dies before the commit leaves neither lead nor key, so the retry writes
                # once; a retry racing the first call waits on the key's row, then replays.
                with transaction.atomic():
                    return super().dispatch(request, *args, **kwargs)
            return super().dispatch(request, *args, **kwargs)

    def finalize_response(self, request: Any, response: Any, *args: Any, **kwargs: Any) -> Any:
        record, self.idempotency_record = self.idempotency_record, None
        if record is not None:
            try:
                with transaction.atomic():
                    idempotency_finish(
                        record, response.status_code, getattr(response, "data", None)
                    )
            except DatabaseError:
                # The answer cannot be kept with the write: undo both and let the sender retry.
                log.exception("idempotency key not stored")
                transaction.set_rollback(True)
                response = self.error_answer(ServiceUnavailable())
        return super().finalize_response(request, response, *args, **kwargs)

    def render_error(self, error: ApiError) -> Response:
        """The family's error body for an ApiError (status, kind, message, field)."""
        raise NotImplementedError

    def error_answer(self, error: ApiError) -> Response:
        """The response for an ApiError: a replay as stored, anything else in the family's body,
        with the error's headers."""
        if isinstance(error, IdempotentReplay):
            response = Response(error.body, status=error.status)
        else:
            response = self.render_error(error)
        for name, value in error.headers.items():
            response[name] = value
        return response

    def handle_exception(self, exc: Exception) -> Response:
        return self.error_answer(api_error_from(exc, where=self.__class__.__name__))


def api_error_from(exc: Exception, *, where: str = "") -> ApiError:
    """Any exception a view lets out, as an ApiError: the one place Django's, DRF's, the
    database's and Redis's exceptions are converted."""
    if isinstance(exc, ApiError):
        return exc
    if isinstance(exc, Http404 | drf_exceptions.NotFound):
        return UnknownApi()
    if isinstance(exc, drf_exceptions.APIException):  # 405 and the other DRF answers
        return ApiError(str(exc.detail), status=exc.status_code, kind="invalid_body")
    if isinstance(exc, DATABASE_AWAY):
        log.exception("database unavailable")
        return ServiceUnavailable()
    if isinstance(exc, REDIS_AWAY):
        # The rate limit's counters and the rules' cache: a 503 like the database's, retried.
        log.warning("Redis unavailable: %s", exc)
        return ServiceUnavailable()
    if isinstance(exc, DatabaseError):
        log.exception("database error")
        return ApiError("The API call failed: database error")
    log.exception("unexpected error in %s", where)
    return ApiError("The API call failed: internal error")

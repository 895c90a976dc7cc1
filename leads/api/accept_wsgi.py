"""POST /lead/capture answered ahead of Django's middleware, URL resolving and DRF's dispatch.

The async accept is one short write, and it is the call vendors send fastest (LeadSquared's peak
usage protection). Through Django's handler, the middleware chain, the URL resolver and DRF's
dispatch were about a quarter of a gunicorn worker's time on an accept. This WSGI wrapper does for
that one path what Django's WSGIHandler does (the script prefix, request_started, a WSGIRequest,
request_finished when the response closes), then calls the view's own `accept` with the
request: the same keys, rate limit, body checks, log row and insert. Its errors are rendered by the
view's own error mapping, and the response gets what the middleware would add to it (the security
and clickjacking headers, Content-Length).

Everything else goes to Django unchanged: other paths and methods, a request with an
Idempotency-Key (its claim and the write share the view's transaction), a Host outside
ALLOWED_HOSTS (Django answers 400), and every request when a setting is on that would make the
middleware answer instead of the view (SECURE_SSL_REDIRECT, DISALLOWED_USER_AGENTS).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.core import signals
from django.core.exceptions import DisallowedHost
from django.core.handlers.wsgi import WSGIHandler, WSGIRequest, get_script_name
from django.http import HttpResponse
from django.middleware.clickjacking import XFrameOptionsMiddleware
from django.middleware.security import SecurityMiddleware
from django.urls import reverse, set_script_prefix
from django.utils.log import log_response
from rest_framework.renderers import JSONRenderer

from leads.api.idempotency import HEADER as IDEMPOTENCY_KEY
from leads.api.leadsquared_async import AsyncCaptureView
from settings_global.services import global_settings_pinned

# The middleware that adds to every answer's headers, and the order Django runs them in.
_RESPONSE_MIDDLEWARE = {
    "django.middleware.clickjacking.XFrameOptionsMiddleware": XFrameOptionsMiddleware,
    "django.middleware.security.SecurityMiddleware": SecurityMiddleware,
}


def _response_middleware() -> list[Any]:
    """Instances of the response-only middleware settings.MIDDLEWARE runs, innermost first."""
    return [
        _RESPONSE_MIDDLEWARE[path](lambda request: None)
        for path in reversed(settings.MIDDLEWARE)
        if path in _RESPONSE_MIDDLEWARE
    ]


def _middleware_would_answer() -> bool:
    return bool(settings.SECURE_SSL_REDIRECT or settings.DISALLOWED_USER_AGENTS)


def accept_shortcut(app: Callable) -> Callable:
    """The WSGI application: POST /lead/capture here, everything else to `app` (Django's)."""
    renderer = JSONRenderer()
    state: dict[str, Any] = {}

    def setup() -> None:  # on the first call: the URLconf and settings are loaded by then
        if not state:
            state["path"] = reverse("ls-async-capture")
            state["finish"] = _response_middleware()
            state["on"] = not _middleware_would_answer()
            state["headers"] = AsyncCaptureView().default_response_headers  # Allow: the view's

    def answer(request: WSGIRequest) -> HttpResponse:
        view = AsyncCaptureView()
        with global_settings_pinned():
            try:
                data, status, headers = view.accept(request), 200, {}
            except Exception as exc:  # the view's own mapping: ApiError, database, anything
                error = view.handle_exception(exc)  # a DRF Response, not rendered
                data, status = error.data, error.status_code
                # What the error set (Retry-After, ...), not DRF's default Content-Type.
                headers = {k: v for k, v in error.items() if k.lower() != "content-type"}
        response = HttpResponse(
            renderer.render(data), status=status, content_type=renderer.media_type
        )
        for name, value in {**state["headers"], **headers}.items():
            response[name] = value
        return response

    def application(environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        setup()
        if (
            environ.get("REQUEST_METHOD") != "POST"
            or environ.get("PATH_INFO") != state["path"]
            or environ.get(IDEMPOTENCY_KEY)
            or not state["on"]
        ):
            return app(environ, start_response)
        request = WSGIRequest(environ)
        try:
            request.get_host()
        except DisallowedHost:
            return app(environ, start_response)
        set_script_prefix(get_script_name(environ))
        signals.request_started.send(sender=WSGIHandler, environ=environ)
        response = answer(request)
        response._handler_class = WSGIHandler  # its close() sends request_finished
        for middleware in state["finish"]:
            response = middleware.process_response(request, response)
        response["Content-Length"] = str(len(response.content))
        if response.status_code >= 400:
            log_response(
                "%s: %s", response.reason_phrase, request.path, response=response, request=request
            )
        start_response(f"{response.status_code} {response.reason_phrase}", list(response.items()))
        return response

    return application

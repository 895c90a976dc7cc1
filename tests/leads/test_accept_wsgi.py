"""POST /lead/capture answered by config.wsgi's shortcut ahead of Django's middleware and DRF: the
same answers, rows, log rows and headers as through Django's handler, and everything it does not
take goes to Django."""

from __future__ import annotations

import json

import pytest
from django.core.handlers.wsgi import WSGIHandler
from django.core.signals import request_finished, request_started
from django.db import OperationalError, close_old_connections
from django.test import RequestFactory

from config.wsgi import application, django_application
from injectionlogs.models import FailedInjection
from leads import capture_requests
from leads.api import accept_wsgi
from leads.models import CaptureRequest, CaptureStatus
from settings_global.services import global_settings_update
from tests.helpers import attrs
from tests.test_hostile_bodies import BODIES

pytestmark = pytest.mark.django_db

CAPTURE = "/lead/capture"
# Added by gunicorn, or differing by nature between two calls.
VOLATILE = {"date", "server", "content-length"}


@pytest.fixture
def headers(credential):
    return {"HTTP_X_API_KEY": f"apikey-{credential.access_key}"}


@pytest.fixture
def wsgi_call():
    """Call a WSGI application in-process: (status, headers, body). As Django's test client
    does, the connection is not closed between calls (the test's transaction holds it)."""

    def call(app, method, path, *, body=b"", content_type="application/json", **extra):
        factory = RequestFactory()
        request = factory.generic(method, path, data=body, content_type=content_type, **extra)
        got = {}

        def start_response(status, response_headers):
            got["status"] = int(status.split()[0])
            got["headers"] = {k.lower(): v for k, v in response_headers}

        request_started.disconnect(close_old_connections)
        request_finished.disconnect(close_old_connections)
        try:
            result = app(request.environ, start_response)
            content = b"".join(result)
            getattr(result, "close", lambda: None)()
        finally:
            request_started.connect(close_old_connections)
            request_finished.connect(close_old_connections)
        return got["status"], got["headers"], content

    return call


def _lead(email="fast@example.com"):
    return json.dumps(attrs(EmailAddress=email, FirstName="Fa")).encode()


def test_an_accept_is_answered_and_stored_as_through_django(wsgi_call, ls_keys, headers):
    path = f"{CAPTURE}?{ls_keys}&LeadUpdateBehavior=DoNotUpdate"
    fast = wsgi_call(application, "POST", path, body=_lead("a@example.com"), **headers)
    slow = wsgi_call(django_application, "POST", path, body=_lead("b@example.com"), **headers)

    assert fast[0] == slow[0] == 200
    fast_body, slow_body = json.loads(fast[2]), json.loads(slow[2])
    assert fast_body.keys() == slow_body.keys() == {"Status", "RequestID"}
    assert fast_body["Status"] == slow_body["Status"]
    assert {k: v for k, v in fast[1].items() if k not in VOLATILE} == {
        k: v for k, v in slow[1].items() if k not in VOLATILE
    }
    assert fast[1]["content-length"] == str(len(fast[2]))

    rows = {str(r.pk): r for r in CaptureRequest.objects.all()}
    one, other = rows[fast_body["RequestID"]], rows[slow_body["RequestID"]]
    assert one.status == CaptureStatus.IN_QUEUE
    assert one.query == other.query == {"LeadUpdateBehavior": "DoNotUpdate"}  # no key kept
    for field in ("credential_id", "api_user_id", "remote_addr", "attempts", "status"):
        assert getattr(one, field) == getattr(other, field)
    assert one.body == json.loads(_lead("a@example.com"))


def test_the_accepted_request_is_run_by_the_worker(wsgi_call, ls_keys, headers, client):
    status, _, body = wsgi_call(
        application, "POST", f"{CAPTURE}?{ls_keys}", body=_lead(), **headers
    )
    request_id = json.loads(body)["RequestID"]
    capture_requests.capture_request_process(request_id=request_id)
    answer = client.get(f"/lead/status?RequestId={request_id}", **headers).json()
    assert answer["TaskStatus"]["Status"] == "Success"
    assert answer["TaskStatus"]["Message"]["Message"]["IsCreated"] is True


@pytest.mark.parametrize(
    ("query", "body", "status", "kind", "reason"),
    [
        ("wrong", _lead(), 401, "MXUnAuthorizedAccessException", None),
        ("keys", b"{bad", 400, "MXInvalidJSONException", "invalid_body"),
        ("keys", b'{"Attribute": "FirstName"}', 400, "MXInvalidJSONException", "invalid_body"),
        ("keys", b'[{"Attribute":"FirstName","Value":"a\\u0000"}]', 400, None, "invalid_body"),
    ],
)
def test_refusals_match_djangos(wsgi_call, ls_keys, headers, query, body, status, kind, reason):
    keys = ls_keys if query == "keys" else "accessKey=ak_vendor&secretKey=nope"
    path = f"{CAPTURE}?{keys}"
    fast = wsgi_call(application, "POST", path, body=body, **headers)
    logged = list(FailedInjection.objects.values_list("reason_code", "data"))
    slow = wsgi_call(django_application, "POST", path, body=body, **headers)

    assert fast[0] == slow[0] == status
    assert fast[2] == slow[2]
    assert {k: v for k, v in fast[1].items() if k not in VOLATILE} == {
        k: v for k, v in slow[1].items() if k not in VOLATILE
    }
    assert fast[1]["content-type"] == "application/json"
    if kind:
        assert json.loads(fast[2])["ExceptionType"] == kind
    assert CaptureRequest.objects.count() == 0
    if reason is None:
        assert logged == []  # a 401 is not a lead's rejection
    else:
        assert len(logged) == 1 and logged[0][0] == reason
        assert FailedInjection.objects.count() == 2  # one row each way
        assert "secret-" not in json.dumps(logged[0][1])


HOSTILE = {**BODIES, "too-large": b"[" + b"1," * 3_000_000 + b"1]"}


@pytest.mark.parametrize("body", HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_bodies_get_djangos_answer(wsgi_call, ls_keys, headers, body):
    path = f"{CAPTURE}?{ls_keys}"
    fast = wsgi_call(application, "POST", path, body=body, **headers)
    slow = wsgi_call(django_application, "POST", path, body=body, **headers)
    assert fast[0] == slow[0]
    if fast[0] == 200:  # an array: the accept takes it, and the worker judges its rows
        assert CaptureRequest.objects.count() == 2
        return
    assert fast[0] == 400
    assert fast[2] == slow[2]
    assert FailedInjection.objects.count() == 2
    assert CaptureRequest.objects.count() == 0


def test_the_rate_limit_counts_each_call_once(wsgi_call, ls_keys, headers):
    global_settings_update(
        changes={"rate_limit_calls": 2, "rate_limit_window_seconds": 60}, user=None, via="test"
    )
    path = f"{CAPTURE}?{ls_keys}"
    answers = [wsgi_call(application, "POST", path, body=_lead(), **headers) for _ in range(3)]
    assert [a[0] for a in answers] == [200, 200, 429]
    assert json.loads(answers[2][2]) == {
        "Status": "Error",
        "ExceptionType": "MXAPIRateLimitExceededException",
        "ExceptionMessage": "API calls exceeded the limit of 2 in 60 second(s)",
    }
    assert "retry-after" in answers[2][1]
    assert CaptureRequest.objects.count() == 2


def test_a_database_fault_is_a_503_in_the_familys_body(wsgi_call, ls_keys, headers, monkeypatch):
    def down(**kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr("leads.api.leadsquared_async.capture_request_accept", down)
    status, found, body = wsgi_call(
        application, "POST", f"{CAPTURE}?{ls_keys}", body=_lead(), **headers
    )
    assert status == 503
    assert json.loads(body)["Status"] == "Error"
    assert found["content-type"] == "application/json"


def test_an_idempotency_key_goes_to_django(wsgi_call, ls_keys, headers):
    path = f"{CAPTURE}?{ls_keys}"
    key = {"HTTP_IDEMPOTENCY_KEY": "order-17", **headers}
    first = wsgi_call(application, "POST", path, body=_lead(), **key)
    again = wsgi_call(application, "POST", path, body=_lead(), **key)
    other = wsgi_call(application, "POST", path, body=_lead("x@example.com"), **key)
    assert first[0] == again[0] == 200
    assert json.loads(first[2]) == json.loads(again[2])
    assert other[0] == 409
    assert CaptureRequest.objects.count() == 1


@pytest.mark.parametrize(
    ("method", "path", "status"),
    [
        ("GET", CAPTURE, 405),
        ("PUT", CAPTURE, 405),
        ("POST", "/lead/capture/", 200),  # Django's spelling variants, as before
        ("POST", "/lead/Capture", 200),
    ],
)
def test_other_methods_and_spellings_go_to_django(
    wsgi_call, ls_keys, headers, method, path, status
):
    fast = wsgi_call(application, method, f"{path}?{ls_keys}", body=_lead(), **headers)
    slow = wsgi_call(django_application, method, f"{path}?{ls_keys}", body=_lead(), **headers)
    assert fast[0] == slow[0] == status
    if status != 200:
        assert fast[2] == slow[2]


def test_a_host_outside_allowed_hosts_gets_djangos_400(wsgi_call, ls_keys, headers):
    status, found, body = wsgi_call(
        application,
        "POST",
        f"{CAPTURE}?{ls_keys}",
        body=_lead(),
        HTTP_HOST="evil.example",
        **headers,
    )
    assert status == 400
    assert b"Bad Request" in body
    assert CaptureRequest.objects.count() == 0


def test_the_request_signals_are_sent(wsgi_call, ls_keys, headers):
    seen = []

    def started(sender, **kwargs):
        seen.append(("started", kwargs["environ"]["PATH_INFO"]))

    def finished(sender, **kwargs):
        seen.append(("finished", sender.__name__))

    request_started.connect(started)
    request_finished.connect(finished)
    try:
        wsgi_call(application, "POST", f"{CAPTURE}?{ls_keys}", body=_lead(), **headers)
    finally:
        request_started.disconnect(started)
        request_finished.disconnect(finished)
    assert seen == [("started", CAPTURE), ("finished", "WSGIHandler")]


def test_an_ssl_redirect_setting_leaves_the_answer_to_django(settings, wsgi_call, ls_keys, headers):
    settings.SECURE_SSL_REDIRECT = True
    app = accept_wsgi.accept_shortcut(WSGIHandler())  # middleware built under the setting
    status, found, _ = wsgi_call(app, "POST", f"{CAPTURE}?{ls_keys}", body=_lead(), **headers)
    assert status == 301
    assert found["location"].startswith("https://")
    assert CaptureRequest.objects.count() == 0

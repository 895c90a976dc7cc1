"""Every path under a family's prefix answers in that family's format, whatever the method, case or
trailing slash: the call itself, or the family's own 404. Never Django's CSRF 403 or an HTML page.

The client enforces CSRF as a browser-less vendor meets it: no token, no cookie."""

from __future__ import annotations

import pytest
from django.test import Client

from leads.api.urls import ASYNC, LEADSQUARED
from lists_hopper.api.urls import CONVOSO

pytestmark = pytest.mark.django_db

METHODS = ["get", "post", "put", "patch", "delete", "options", "head"]


def _ls_shape(body):
    return body["Status"] == "Error" and set(body) == {
        "Status",
        "ExceptionType",
        "ExceptionMessage",
    }


def _convoso_shape(body):
    return body["success"] is False and {"code", "text"} <= set(body)


def _aninja_shape(body):
    return body["success"] is False and "error" in body


def _variants(name: str) -> list[str]:
    return [name.lower(), name.upper(), name + "/", name.swapcase() + "/"]


def _cases():
    """(family shape, canonical path or None for a 404, path as sent)."""
    for name in LEADSQUARED:
        canonical = f"/v2/LeadManagement.svc/{name}"
        yield _ls_shape, canonical, canonical
        for variant in _variants(name):
            yield _ls_shape, canonical, f"/v2/LeadManagement.svc/{variant}"
            yield _ls_shape, canonical, f"/v2/leadmanagement.SVC/{variant}"
        yield _ls_shape, None, f"/v2/LeadManagement.svc/{name}/unknown"
    for path in ["", "Nope.Call", "Lead", "Lead/Bulk", "a/b/c/"]:
        yield _ls_shape, None, f"/v2/LeadManagement.svc/{path}"
    for name in ASYNC:
        canonical = f"/lead/{name}"
        yield _ls_shape, canonical, canonical
        for variant in _variants(name):
            yield _ls_shape, canonical, f"/lead/{variant}"
        yield _ls_shape, None, f"/lead/{name}/unknown"
    for path in ["", "nope", "capture/metricsx", "Capture.Lead"]:
        yield _ls_shape, None, f"/lead/{path}"
    for name in CONVOSO:
        canonical = f"/v1/{name}"
        yield _convoso_shape, canonical, canonical
        for variant in _variants(name):
            yield _convoso_shape, canonical, f"/v1/{variant}"
        yield _convoso_shape, None, f"/v1/{name}/unknown"
    for path in ["", "leads", "leads/delete", "nope/"]:
        yield _convoso_shape, None, f"/v1/{path}"
    canonical = "/api/v1/contactform/"
    for path in ["/api/v1/contactform/", "/api/v1/contactform", "/api/v1/ContactForm/"]:
        yield _aninja_shape, canonical, path
    for path in ["/api/v1/contactform/x", "/api/v1/contactformx", "/api/v1/contactform//"]:
        yield _aninja_shape, None, path


CASES = list(_cases())


@pytest.fixture
def vendor():
    return Client(enforce_csrf_checks=True)


def _format_problem(response, shape, *, body: bool = True) -> str | None:
    """What is wrong with an answer in the family's format, if anything: a CSRF 403 or a 5xx,
    another content type, or (body) a body not of the family's shape."""
    if response.status_code == 403 or response.status_code >= 500:
        return f"status {response.status_code}"
    if not response["Content-Type"].startswith("application/json"):
        return f"content type {response['Content-Type']}"
    if body and not shape(response.json()):
        return f"body {response.content[:120]!r}"
    return None


def _route_problem(response, canonical, path, send) -> str | None:
    """An unknown call that is not the family's 404, or a variant path that answers otherwise than
    its canonical path."""
    if canonical is None:
        if response.status_code != 404:
            return f"an unknown call answered {response.status_code}"
    elif canonical != path:
        expected = send(canonical)
        if (response.status_code, response.content) != (expected.status_code, expected.content):
            return f"{response.status_code} differs from the call's {expected.status_code}"
    return None


def _capture(vendor, path: str, email: str, **headers):
    """A Lead.Capture of one email at path: the response and the lead it names."""
    from leads.models import Lead

    response = vendor.post(
        path,
        data=f'[{{"Attribute":"EmailAddress","Value":"{email}"}}]',
        content_type="application/json",
        **headers,
    )
    assert response.status_code == 200, response.content
    return response, Lead.objects.get(id=response.json()["Message"]["Id"])


@pytest.mark.parametrize("method", METHODS)
def test_every_path_under_a_family_prefix_answers_in_the_familys_format(vendor, method):
    # One test per method walks every route: a parametrised case per path would be ~2,000 tests.
    def send(path):
        # A body on every method: the server must answer it, not trip over it.
        return vendor.generic(
            method.upper(), path, data="a=b", content_type="application/x-www-form-urlencoded"
        )

    failures = []
    for shape, canonical, path in CASES:
        response = send(path)
        problem = _format_problem(response, shape, body=method != "head") or _route_problem(
            response, canonical, path, send
        )
        if problem:
            failures.append(f"{method.upper()} {path}: {problem}")
    assert failures == []


def test_a_case_variant_path_captures_the_lead(vendor, ls_keys):
    _, lead = _capture(
        vendor, f"/v2/LeadManagement.svc/lead.capture?{ls_keys}", "variant@example.com"
    )
    assert lead.email == "variant@example.com"


def test_a_trailing_slash_convoso_insert_writes_the_lead(vendor, credential):
    from leads.models import Lead
    from tests.factories import ListFactory

    lst = ListFactory()
    response = vendor.post(
        "/v1/leads/insert/",
        data={
            "auth_token": f"token-{credential.access_key}",
            "list_id": lst.id,
            "phone_number": "2015550123",
        },
    )
    assert response.status_code == 200, response.content
    assert Lead.objects.filter(id=response.json()["data"]["lead_id"], list=lst).exists()


@pytest.mark.parametrize("accept", ["text/html", "application/xml", "text/plain;q=1, */*;q=0"])
def test_the_answer_is_the_familys_json_whatever_the_accept_header_asks_for(vendor, accept):
    """As the vendors' own APIs: never DRF's browsable HTML page, never a 406."""
    failures = []
    for shape, canonical, path in CASES:
        if canonical != path:
            continue  # the canonical paths: each view once
        response = vendor.post(
            path, data="a=b", content_type="application/x-www-form-urlencoded", HTTP_ACCEPT=accept
        )
        problem = "status 406" if response.status_code == 406 else None
        problem = problem or _format_problem(response, shape)
        if problem:
            failures.append(f"{path}: {problem}")
    assert failures == []


def test_a_capture_asking_for_html_is_stored_and_answered_in_json(vendor, ls_keys):
    path = f"/v2/LeadManagement.svc/Lead.Capture?{ls_keys}"
    response, lead = _capture(vendor, path, "browser@example.com", HTTP_ACCEPT="text/html")
    assert response["Content-Type"].startswith("application/json")
    assert lead.email == "browser@example.com"

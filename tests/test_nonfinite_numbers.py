"""1e999 parses as Infinity, which no JSON column stores: every JSON-reading family refuses it
when it reads the body, as a logged 400, also when the body has another problem besides (that
once was a 500 and no log row), and a bulk call's good rows never pay for a bad one."""

from __future__ import annotations

import json

import pytest

from injectionlogs.models import FailedInjection
from leads.models import CaptureRequest, Lead
from leads.vocabulary import ReasonCode
from tests.factories import ListFactory, VisitorFactory

pytestmark = pytest.mark.django_db

LS = "/v2/LeadManagement.svc"
KEYS = "accessKey=ak_vendor&secretKey=secret-ak_vendor"
NUMBERS = ["1e999", "-1e999", "1E400", "-123456789e999"]
# Each has a second problem besides the number: an unknown attribute, a missing unique field.
LS_BODIES = {
    "alone": '[{{"Attribute": "EmailAddress", "Value": "a@example.com"}}, '
    '{{"Attribute": "FirstName", "Value": {n}}}]',
    "unknown-attribute": '[{{"Attribute": "Bogus", "Value": {n}}}]',
    "no-unique-field": '[{{"Attribute": "mx_Score", "Value": {n}}}]',
    "in-a-field-set": '[{{"Attribute": "mx_Set", "Value": "", "Fields": '
    '[{{"Attribute": "x", "Value": {n}}}]}}, {{"Attribute": "Bogus", "Value": 1}}]',
}
LS_PATHS = [
    f"{LS}/Lead.Capture?{KEYS}",
    f"{LS}/Lead.Create?{KEYS}",
    f"{LS}/Lead.CreateOrUpdate?{KEYS}",
    f"{LS}/Lead.Update?{KEYS}&leadId=00000000-0000-0000-0000-000000000001",
    f"{LS}/Lead.Convert?{KEYS}&leadId=00000000-0000-0000-0000-000000000001",
    f"/lead/capture?{KEYS}",
]


def assert_refused_and_logged(response, before):
    assert response.status_code == 400, response.content
    assert FailedInjection.objects.count() == before + 1
    failure = FailedInjection.objects.order_by("-id").first()
    assert failure.reason_code == ReasonCode.INVALID_BODY
    assert "out of range" in failure.reason
    assert not Lead.objects.exists()
    assert not CaptureRequest.objects.exists()
    return failure


@pytest.mark.parametrize("number", NUMBERS)
@pytest.mark.parametrize("body", LS_BODIES.values(), ids=LS_BODIES.keys())
@pytest.mark.parametrize("path", LS_PATHS)
def test_leadsquared_refuses_a_non_finite_number_as_a_logged_400(
    client, credential, path, body, number
):
    VisitorFactory(id="00000000-0000-0000-0000-000000000001")
    before = FailedInjection.objects.count()
    text = body.format(n=number)

    response = client.post(
        path, text, content_type="application/json", HTTP_X_API_KEY="apikey-ak_vendor"
    )

    failure = assert_refused_and_logged(response, before)
    assert response.json()["ExceptionType"] == "MXInvalidJSONException"
    assert failure.data == {"raw": text}


@pytest.mark.parametrize("number", NUMBERS)
def test_bulk_refuses_a_non_finite_number_as_a_logged_400(client, credential, number):
    rows = (
        '[[{"Attribute": "EmailAddress", "Value": "good@example.com"}], '
        f'[{{"Attribute": "Bogus", "Value": {number}}}]]'
    )
    before = FailedInjection.objects.count()

    response = client.post(
        f"{LS}/Lead/Bulk/CreateOrUpdate?{KEYS}", rows, content_type="application/json"
    )

    failure = assert_refused_and_logged(response, before)
    assert failure.data == {"raw": rows}  # every row, the good one too, is in the log


def test_bulk_row_failures_never_cost_the_good_rows(client, credential):
    """Each kind of row-level failure fails its row alone; the good rows are written."""
    good = [{"Attribute": "EmailAddress", "Value": "good@example.com"}]
    bad_rows = [
        {"not": "an array"},
        [],
        [{"Attribute": "Bogus", "Value": "x"}],
        [{"Attribute": "FirstName", "Value": "no unique field"}],
        [{"Attribute": "EmailAddress", "Value": "not an email"}],
        [{"Attribute": "Phone", "Value": "no digits"}],
        [{"Attribute": "EmailAddress", "Value": "n@example.com"}, {"Attribute": "Notes"}],
        [{"Attribute": "EmailAddress", "Value": "nul\u0000@example.com"}],
        [{"Attribute": "EmailAddress", "Value": "k@example.com"}, {"Attribute": "mx_\u0000"}],
        [{"Attribute": "EmailAddress", "Value": "x" * 300}],
        [{"Attribute": "EmailAddress", "Value": "a@b.com"}, {"Attribute": "Notes", "Value": []}],
        [{"Attribute": "EmailAddress", "Value": "r@example.com"}, {"Attribute": "SearchBy"}],
        [{"Attribute": "EmailAddress", "Value": "s@example.com"}, {"Attribute": "ProspectID"}],
        [
            {"Attribute": "EmailAddress", "Value": "t@example.com"},
            {"Attribute": "RelatedCompanyId", "Value": "00000000-0000-0000-0000-00000000000a"},
        ],
        [{"Attribute": "EmailAddress", "Value": "u@example.com"}, {"Attribute": 5}],
    ]
    body = [good, *bad_rows, good]
    bad_numbers = [n for n, row in enumerate(body, start=1) if row is not good]
    # An attribute without a Value is an empty value: those two rows make leads.
    ok_extra = {8, 14}

    response = client.post(f"{LS}/Lead/Bulk/CreateOrUpdate?{KEYS}", body, format="json")

    assert response.status_code == 200, response.content
    results = response.json()
    assert [r["RowNumber"] for r in results] == list(range(1, len(body) + 1))
    failed = {r["RowNumber"] for r in results if r["LeadId"] is None}
    assert failed == set(bad_numbers) - ok_extra
    assert results[0]["LeadCreated"] and results[-1]["LeadUpdated"]
    assert Lead.objects.filter(email="good@example.com").count() == 1
    assert FailedInjection.objects.count() == len(failed)
    # A NUL the database cannot hold is logged, shown as U+FFFD.
    stored = [f.data for f in FailedInjection.objects.all()]
    assert [{"Attribute": "mx_\ufffd"}] in [
        d[1:] for d in stored if isinstance(d, list)
    ]  # a NUL the database cannot hold is logged, shown as U+FFFD


@pytest.mark.parametrize("number", NUMBERS)
def test_convoso_insert_refuses_a_non_finite_number_as_a_logged_400(client, credential, number):
    lst = ListFactory()
    text = f'{{"list_id": {lst.id}, "phone_number": "2015550123", "first_name": {number}}}'

    response = client.post(
        "/v1/leads/insert?auth_token=token-ak_vendor", text, content_type="application/json"
    )

    assert response.status_code == 400, response.content
    assert response.json()["code"] == 6062
    failure = FailedInjection.objects.get()
    assert failure.reason_code == ReasonCode.INVALID_BODY
    assert "out of range" in failure.reason
    assert not Lead.objects.exists()


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_convoso_insert_refuses_nan_and_infinity(client, credential, constant):
    lst = ListFactory()
    text = f'{{"list_id": {lst.id}, "phone_number": "2015550123", "first_name": {constant}}}'

    response = client.post(
        "/v1/leads/insert?auth_token=token-ak_vendor", text, content_type="application/json"
    )

    assert response.status_code == 400, response.content
    assert FailedInjection.objects.get().reason_code == ReasonCode.INVALID_BODY
    assert not Lead.objects.exists()


@pytest.mark.parametrize("number", NUMBERS)
@pytest.mark.parametrize("other", [{}, {"contact_name": ""}, {"nested": {"a": 1}}])
def test_contact_form_refuses_a_non_finite_number_as_a_logged_400(
    client, credential, number, other
):
    text = json.dumps({"contact_name": "Ann", **other})[:-1] + f', "budget": {number}}}'

    response = client.post(
        "/api/v1/contactform/?apikey=aninja-ak_vendor", text, content_type="application/json"
    )

    assert response.status_code == 400, response.content
    assert response.json()["reason_code"] == ReasonCode.INVALID_BODY
    assert FailedInjection.objects.get().data == {"raw": text}
    assert not Lead.objects.exists()


def test_a_finite_large_number_is_kept(client, credential):
    body = '[{"Attribute": "EmailAddress", "Value": "big@example.com"}, ' + (
        '{"Attribute": "mx_Score", "Value": 1e308}]'
    )

    response = client.post(f"{LS}/Lead.Capture?{KEYS}", body, content_type="application/json")

    assert response.status_code == 200, response.content
    assert Lead.objects.get().custom_fields == {"mx_Score": "1e+308"}

"""aNinja contact form over HTTP: the JSON and the rows, for success and every rejection."""

from __future__ import annotations

import json

import pytest

from injectionlogs.models import FailedInjection
from leads.models import Activity, ActivityType, Lead
from settings_global.services import global_settings_update
from tests.factories import ApiCredentialFactory, LeadFactory, UserFactory

pytestmark = pytest.mark.django_db

URL = "/api/v1/contactform/"
KEY = "aninja-ak_vendor"  # the test credential's clear apikey


@pytest.fixture
def form(client, credential):
    def post(data, apikey=KEY, query="", **extra):
        url = f"{URL}?apikey={apikey}" + (f"&{query}" if query else "")
        return client.post(url, data=data, **extra)

    return post


def rules(**changes):
    global_settings_update(changes=changes, user=None, via="test")


def test_form_creates_a_lead_and_answers_its_id(form, api_user):
    response = form(
        {
            "contact_name": "Ann Lee",
            "contact_email1": "  Ann.Lee@Example.COM ",
            "contact_phone1": "+1 (201) 555-0123",
            "company_name": "Acme",
            "budget": "10k",
            "how_did_you_hear": "radio",
        }
    )
    assert response.status_code == 200, response.content
    lead = Lead.objects.get()
    assert response.json() == {"success": True, "id": str(lead.id), "lead_id": str(lead.id)}
    assert lead.contact_name == "Ann Lee"
    assert lead.email == "Ann.Lee@Example.COM"
    assert lead.email_normalized == "ann.lee@example.com"
    assert lead.phone_normalized == "+12015550123"
    assert lead.company == "Acme"
    assert lead.custom_fields == {"budget": "10k", "how_did_you_hear": "radio"}
    assert lead.created_by == api_user
    kinds = set(Activity.objects.filter(lead=lead).values_list("type", flat=True))
    assert kinds == {ActivityType.CREATED, ActivityType.LEAD_CAPTURE}
    assert not FailedInjection.objects.exists()


def test_form_is_form_encoded_on_the_wire(client, credential):
    response = client.post(
        f"{URL}?apikey={KEY}",
        data="contact_name=Bo+Diddley&contact_email1=bo%40example.com&colour=red",
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200, response.content
    lead = Lead.objects.get()
    assert (lead.contact_name, lead.email, lead.custom_fields) == (
        "Bo Diddley",
        "bo@example.com",
        {"colour": "red"},
    )


def test_form_accepts_a_json_object(form):
    response = form(
        json.dumps({"contact_name": "Cy Young", "contact_phone1": "2015550188", "age": 33}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    lead = Lead.objects.get()
    assert lead.phone_normalized == "+12015550188"
    assert lead.custom_fields == {"age": "33"}


def test_apikey_may_come_in_the_form_and_is_never_kept(client, credential):
    response = client.post(URL, {"apikey": KEY, "contact_name": "Di Fox", "note": "x"})
    assert response.status_code == 200, response.content
    assert Lead.objects.get().custom_fields == {"note": "x"}


def test_repeated_field_keeps_every_value(form):
    response = form(
        "contact_name=Ed&topic=a&topic=b", content_type="application/x-www-form-urlencoded"
    )
    assert response.status_code == 200
    assert Lead.objects.get().custom_fields == {"topic": ["a", "b"]}


def test_query_string_fields_count_as_form_fields(form):
    response = form({"contact_email1": "fi@example.com"}, query="contact_name=Fi+Query")
    assert response.status_code == 200, response.content
    lead = Lead.objects.get()
    assert (lead.contact_name, lead.email) == ("Fi Query", "fi@example.com")


@pytest.mark.parametrize("name", [None, "", "   "])
def test_missing_contact_name_is_rejected_and_logged(form, api_user, name):
    data = {"contact_email1": "gil@example.com", "company_name": "Acme"}
    if name is not None:
        data["contact_name"] = name
    response = form(data)
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "error": "Missing required fields (contact_name)",
        "reason_code": "missing_contact_name",
    }
    assert not Lead.objects.exists()
    row = FailedInjection.objects.get()
    assert row.reason_code == "missing_contact_name"
    assert row.reason == "Missing required fields (contact_name)"
    assert row.family == "aninja"
    assert row.endpoint == URL
    assert row.api_user == api_user
    assert row.data["contact_email1"] == "gil@example.com"
    assert "apikey" not in json.dumps(row.data) and KEY not in json.dumps(row.query)


def test_missing_contact_name_is_the_reason_even_for_a_similar_email(form):
    rules(reject_duplicate_email_via_api=True)
    LeadFactory(email="hal@example.com")
    response = form({"contact_email1": "hal@example.com"})
    assert response.json()["reason_code"] == "missing_contact_name"
    assert FailedInjection.objects.get().reason_code == "missing_contact_name"


def test_similar_email_is_rejected_when_the_rule_is_on(form):
    existing = LeadFactory(email="ann@x.com")
    rules(reject_duplicate_email_via_api=True)
    response = form({"contact_name": "Ann Again", "contact_email1": "  ANN@X.COM "})
    assert response.status_code == 400
    assert response.json() == {
        "success": False,
        "error": "Duplicate email: a lead with a similar email already exists",
        "reason_code": "duplicate_email",
    }
    assert list(Lead.objects.all()) == [existing]
    row = FailedInjection.objects.get()
    assert (row.reason_code, row.family) == ("duplicate_email", "aninja")
    assert row.data == {"contact_name": "Ann Again", "contact_email1": "  ANN@X.COM "}
    # The rejected capture is posted to the lead that holds the email.
    activity = Activity.objects.get(lead=existing)
    assert activity.type == ActivityType.LEAD_CAPTURE
    assert activity.data["rejected"]["reason_code"] == "duplicate_email"


def test_similar_email_makes_a_second_lead_when_the_rule_is_off(form):
    LeadFactory(email="ann@x.com")
    response = form({"contact_name": "Ann Again", "contact_email1": "  ANN@X.COM "})
    assert response.status_code == 200
    assert Lead.objects.filter(email_normalized="ann@x.com").count() == 2
    assert not FailedInjection.objects.exists()


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ({"contact_name": "I", "contact_email1": "not-an-email"}, "invalid_email"),
        ({"contact_name": "I", "contact_phone1": "call me"}, "invalid_phone"),
        ({"contact_name": "I" * 600}, "invalid_value"),
        ({"contact_name": "I", "contact_email1": "a@b.co\x00"}, "invalid_value"),
    ],
)
def test_bad_values_are_rejected_and_logged(form, data, code):
    response = form(data)
    assert response.status_code == 400
    assert response.json()["reason_code"] == code
    assert response.json()["success"] is False
    assert not Lead.objects.exists()
    assert FailedInjection.objects.get().reason_code == code


@pytest.mark.parametrize(
    ("body", "content_type"),
    [
        ("{not json", "application/json"),
        ('["contact_name", "x"]', "application/json"),
        ('{"contact_name": NaN}', "application/json"),
        ('{"contact_email1": "bad", "budget": 1e999}', "application/json"),
        ('{"contact_name": "Ann \\ud800"}', "application/json"),
        ('{"\\udfff": "x", "contact_name": "Ann"}', "application/json"),
        ('{"contact_name": "x", "extra": {"nested": 1}}', "application/json"),
        ("<lead><contact_name>x</contact_name></lead>", "application/xml"),
        (b"contact_name=\xff", "application/x-www-form-urlencoded"),
    ],
)
def test_a_body_not_to_spec_is_a_400_with_a_log_row(form, body, content_type):
    response = form(body, content_type=content_type)
    assert response.status_code == 400, response.content
    assert response.json()["reason_code"] in ("invalid_body", "invalid_value")
    assert not Lead.objects.exists()
    row = FailedInjection.objects.get()
    assert row.reason_code == response.json()["reason_code"]
    assert row.data  # what was received is kept


@pytest.mark.parametrize("apikey", ["", "wrong", "token-ak_vendor"])
def test_bad_apikey_is_a_401_and_writes_no_row(form, apikey):
    response = form({"contact_name": "Jo"}, apikey=apikey)
    assert response.status_code == 401
    assert response.json() == {"success": False, "error": "Invalid apikey"}
    assert not Lead.objects.exists()
    assert not FailedInjection.objects.exists()


def test_revoked_credential_is_a_401(form, credential):
    credential.is_active = False
    credential.save()
    assert form({"contact_name": "Jo"}).status_code == 401


def test_rate_limit_is_a_429_and_writes_no_row(form):
    rules(rate_limit_calls=2, rate_limit_window_seconds=60)
    assert form({"contact_name": "K1"}).status_code == 200
    assert form({}).status_code == 400
    response = form({"contact_name": "K3"})
    assert response.status_code == 429
    assert response.json()["success"] is False
    assert "exceeded the limit of 2 in 60 second(s)" in response.json()["error"]
    assert int(response["Retry-After"]) >= 1
    assert Lead.objects.count() == 1
    assert FailedInjection.objects.count() == 1


def test_rate_limit_is_per_credential(client, form):
    rules(rate_limit_calls=1, rate_limit_window_seconds=60)
    other = ApiCredentialFactory(user=UserFactory(username="other"), access_key="ak_other")
    assert form({"contact_name": "L1"}).status_code == 200
    assert form({"contact_name": "L2"}).status_code == 429
    response = client.post(f"{URL}?apikey=aninja-{other.access_key}", {"contact_name": "L3"})
    assert response.status_code == 200


def test_get_is_not_allowed(client, credential):
    response = client.get(f"{URL}?apikey={KEY}")
    assert response.status_code == 405
    assert response.json()["success"] is False


def test_contact_form_is_in_the_openapi_schema(client):
    paths = client.get("/api/schema/?format=json").json()["paths"]
    operation = paths[URL]["post"]
    assert operation["tags"] == ["aNinja"]
    assert "application/x-www-form-urlencoded" in operation["requestBody"]["content"]
    assert {"200", "400", "401"} <= set(operation["responses"])


def test_the_form_also_answers_without_the_trailing_slash(client, credential):
    from leads.models import Lead

    response = client.post(
        f"/api/v1/contactform?apikey=aninja-{credential.access_key}",
        {"contact_name": "No Slash", "contact_email1": "noslash@example.com"},
    )
    assert response.status_code == 200
    assert Lead.objects.get().contact_name == "No Slash"

"""Staff search (Manage Leads and the native API): a phone in any format, an email in any case,
a name by part of it. Runs on SQLite and on PostgreSQL (through the pg_trgm indexes)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from django.urls import reverse

from leads.models import Lead
from lists_hopper.models import Campaign, List
from tests.admin_helpers import logged_in
from tests.factories import LeadFactory

pytestmark = pytest.mark.django_db

CAPTURE = "/v2/LeadManagement.svc/Lead.Capture"


def captured(client, ls_keys, **attributes) -> Lead:
    """A lead stored by the intake pipeline, normalized as intake normalizes it."""
    body = [{"Attribute": k, "Value": v} for k, v in attributes.items()]
    response = client.post(
        f"{CAPTURE}?{ls_keys}", data=json.dumps(body), content_type="application/json"
    )
    assert response.status_code == 200, response.content
    return Lead.objects.get(pk=response.json()["Message"]["Id"])


@pytest.fixture
def leads(client, ls_keys):
    ann = captured(
        client,
        ls_keys,
        FirstName="Annabel",
        LastName="Fitzgerald",
        EmailAddress="Ann.Fitz@Example.COM",
        Phone="2015550123",
    )
    bob = captured(
        client,
        ls_keys,
        FirstName="Bob",
        LastName="Stone",
        EmailAddress="bob@stone.io",
        Phone="+1 312 555 0199",
    )
    return ann, bob


def admin_search(staff, term: str) -> list[Lead]:
    response = logged_in(staff).get(reverse("admin:leads_lead_changelist"), {"q": term})
    assert response.status_code == 200
    return list(response.context["cl"].result_list)


def api_search(staff_client, term: str) -> list[str]:
    response = staff_client.get("/api/v1/leads/", {"search": term})
    assert response.status_code == 200
    return [row["id"] for row in response.json()["results"]]


PHONES = [
    "(201) 555-0123",
    "201-555-0123",
    "201.555.0123",
    "+1 201 555 0123",
    "+12015550123",
    "1 (201) 555-0123",
    "2015550123",
    " 201 555 0123 ",
    "555-0123",
]
EMAILS = ["ann.fitz@example.com", "ANN.FITZ@EXAMPLE.COM", " Ann.Fitz@example.com ", "fitz@exa"]
NAMES = ["Annabel", "annab", "FITZGERALD", "gerald", "Annabel Fitzgerald", "bel fitz"]


def test_lead_is_stored_with_the_e164_phone(leads):
    ann, bob = leads
    assert ann.phone_normalized == "+12015550123"
    assert bob.phone_normalized == "+13125550199"


@pytest.mark.parametrize("term", PHONES + EMAILS + NAMES)
def test_manage_leads_search_finds_the_lead_in_any_format(leads, staff, term):
    ann, bob = leads
    assert admin_search(staff, term) == [ann]


@pytest.mark.parametrize("term", PHONES + EMAILS + NAMES)
def test_native_api_search_finds_the_lead_in_any_format(leads, staff_client, term):
    ann, bob = leads
    assert api_search(staff_client, term) == [str(ann.pk)]


@pytest.mark.parametrize("term", ["(312) 555-0199", "bob@STONE.io", "stone", str])
def test_search_finds_the_other_lead_and_not_this_one(leads, staff, staff_client, term):
    ann, bob = leads
    term = str(bob.pk) if term is str else term
    assert admin_search(staff, term) == [bob]
    assert api_search(staff_client, term) == [str(bob.pk)]


@pytest.mark.parametrize("term", ["(201) 555-0124", "nobody@example.com", "Zebulon"])
def test_search_for_someone_else_finds_nothing(leads, staff, staff_client, term):
    assert admin_search(staff, term) == []
    assert api_search(staff_client, term) == []


def test_pages_are_stable_when_leads_share_a_time(staff_client):
    at = datetime(2026, 1, 1, tzinfo=UTC)
    made = [LeadFactory() for _ in range(7)]
    Lead.objects.update(created_at=at, updated_at=at)
    seen = []
    for offset in range(0, 7, 2):
        page = staff_client.get("/api/v1/leads/", {"limit": 2, "offset": offset}).json()
        assert page["count"] == 7
        seen += [row["id"] for row in page["results"]]
    assert sorted(seen) == sorted(str(lead.pk) for lead in made)
    assert seen == [str(pk) for pk in Lead.objects.order_by("-id").values_list("pk", flat=True)]


def test_filters_by_campaign_source_and_api_user(leads, staff, staff_client):
    ann, bob = leads
    campaign = Campaign.objects.create(name="Solar")
    solar = List.objects.create(name="Solar 1", campaign=campaign)
    Lead.objects.filter(pk=bob.pk).update(list=solar, source="Expo")
    assert api_search_filtered(staff_client, campaign=campaign.pk) == [str(bob.pk)]
    assert api_search_filtered(staff_client, source="expo") == [str(bob.pk)]
    both = {str(ann.pk), str(bob.pk)}
    assert set(api_search_filtered(staff_client, created_by="System API User")) == both
    client = logged_in(staff)
    url = reverse("admin:leads_lead_changelist")
    page = client.get(url, {"campaign": campaign.pk})
    assert list(page.context["cl"].result_list) == [bob]
    page = client.get(url, {"source": "Expo"})
    assert list(page.context["cl"].result_list) == [bob]
    page = client.get(url, {"created_by": "api"})
    assert set(page.context["cl"].result_list) == {ann, bob}


def api_search_filtered(staff_client, **params) -> list[str]:
    response = staff_client.get("/api/v1/leads/", params)
    assert response.status_code == 200, response.content
    return [row["id"] for row in response.json()["results"]]


def test_manage_leads_shows_times_in_the_browsers_time_zone(staff):
    lead = LeadFactory(contact_name="Kolkata Lead")
    at = datetime(2026, 3, 1, 0, 0, tzinfo=UTC)
    Lead.objects.filter(pk=lead.pk).update(created_at=at)
    client = logged_in(staff)
    page = client.get(reverse("admin:leads_lead_changelist")).content.decode()
    assert "midnight" in page and "UTC" in page
    client.cookies["tz"] = "Asia/Kolkata"
    page = client.get(reverse("admin:leads_lead_changelist")).content.decode()
    assert "5:30 a.m." in page and "Asia/Kolkata" in page
    client.cookies["tz"] = "Not/AZone"
    page = client.get(reverse("admin:leads_lead_changelist")).content.decode()
    assert "midnight" in page


def test_injection_log_search_by_id_and_data(staff, staff_client):
    from injectionlogs.models import FailedInjection

    hit = FailedInjection.objects.create(
        reason_code="invalid_phone",
        reason="Invalid phone number: 12",
        data={"phone_number": "12", "email": "Zed@Example.com"},
        family="convoso",
        endpoint="/v1/leads/insert",
    )
    FailedInjection.objects.create(
        reason_code="dnc", reason="On the DNC", data={}, family="convoso", endpoint="x"
    )
    day = (hit.created_at).date().isoformat()
    for params in ({"search": str(hit.pk)}, {"search": "zed@example"}, {"search": "invalid ph"}):
        rows = staff_client.get("/api/v1/injection-logs/", params).json()["results"]
        assert [r["id"] for r in rows] == [hit.pk], params
    rows = staff_client.get("/api/v1/injection-logs/", {"date": day}).json()["results"]
    assert len(rows) == 2
    next_day = (hit.created_at + timedelta(days=1)).date().isoformat()
    assert staff_client.get("/api/v1/injection-logs/", {"date": next_day}).json()["results"] == []
    page = logged_in(staff).get(
        reverse("admin:injectionlogs_failedinjection_changelist"), {"q": "ZED@example"}
    )
    assert list(page.context["cl"].result_list) == [hit]

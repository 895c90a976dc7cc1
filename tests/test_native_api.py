import base64
from datetime import timedelta

import pytest
from django.utils import timezone

from injectionlogs.models import FailedInjection
from settings_global.models import GlobalSettings, GlobalSettingsChange
from settings_global.services import global_settings_get
from tests.factories import (
    ActivityFactory,
    CampaignFactory,
    FailedInjectionFactory,
    LeadFactory,
    ListFactory,
    StaffFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "path", ["/api/v1/leads/", "/api/v1/injection-logs/", "/api/v1/settings/global/"]
)
def test_anonymous_calls_are_refused(client, path):
    response = client.get(path)
    assert response.status_code == 401
    assert "Basic" in response["WWW-Authenticate"]


def test_non_staff_user_is_forbidden(client):
    user = UserFactory(username="clerk")
    client.force_authenticate(user)
    assert client.get("/api/v1/leads/").status_code == 403


def test_http_basic_works_for_scripts(client):
    StaffFactory(username="ops")
    token = base64.b64encode(b"ops:pw").decode()
    response = client.get("/api/v1/leads/", HTTP_AUTHORIZATION=f"Basic {token}")
    assert response.status_code == 200


def test_leads_list_shows_fields_custom_fields_and_activities(staff_client):
    lead = LeadFactory(email="ann@example.com", custom_fields={"mx_City": "Pune"})
    ActivityFactory(lead=lead)
    body = staff_client.get("/api/v1/leads/").json()
    assert body["count"] == 1
    row = body["results"][0]
    assert row["id"] == str(lead.id)
    assert row["email"] == "ann@example.com"
    assert row["custom_fields"] == {"mx_City": "Pune"}
    assert row["activities"][0]["type"] == "lead_capture"


def test_leads_filter_by_creator_list_campaign_source_status(staff_client):
    vendor = UserFactory(username="vendor-a")
    other_list = ListFactory()
    campaign = CampaignFactory()
    target_list = ListFactory(campaign=campaign)
    hit = LeadFactory(created_by=vendor, list=target_list, source="Web", status="Hot")
    LeadFactory(created_by=None, list=other_list, source="Fair", status="New")

    def ids(query):
        return [r["id"] for r in staff_client.get(f"/api/v1/leads/?{query}").json()["results"]]

    assert ids("created_by=vendor-a") == [str(hit.id)]
    assert ids(f"list={target_list.id}") == [str(hit.id)]
    assert ids(f"campaign={campaign.id}") == [str(hit.id)]
    assert ids("source=web") == [str(hit.id)]
    assert ids("status=hot") == [str(hit.id)]


def test_leads_filter_by_created_range_and_search(staff_client):
    old = LeadFactory(contact_name="Old Timer", email="old@example.com")
    new = LeadFactory(contact_name="Nina New", email="nina@example.com")
    type(old).objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=10))
    since = (timezone.now() - timedelta(days=1)).isoformat()
    response = staff_client.get("/api/v1/leads/", {"created_after": since})
    assert [r["id"] for r in response.json()["results"]] == [str(new.id)]
    response = staff_client.get("/api/v1/leads/", {"search": "nina"})
    assert [r["id"] for r in response.json()["results"]] == [str(new.id)]


def test_injection_logs_newest_first_and_filterable(staff_client):
    first = FailedInjectionFactory(reason_code="missing_contact_name", family="aninja")
    second = FailedInjectionFactory(
        reason_code="invalid_phone", reason="Invalid phone number: x", family="convoso"
    )
    rows = staff_client.get("/api/v1/injection-logs/").json()["results"]
    assert [r["id"] for r in rows] == [second.id, first.id]
    assert set(rows[0]) >= {"id", "reason", "reason_code", "data", "created", "family", "endpoint"}
    rows = staff_client.get("/api/v1/injection-logs/?family=aninja").json()["results"]
    assert [r["id"] for r in rows] == [first.id]
    rows = staff_client.get("/api/v1/injection-logs/?reason_code=invalid_phone").json()["results"]
    assert [r["id"] for r in rows] == [second.id]
    today = timezone.now().date().isoformat()
    assert len(staff_client.get(f"/api/v1/injection-logs/?date={today}").json()["results"]) == 2
    assert FailedInjection.objects.count() == 2


EXPECTED_SETTINGS = {
    "reject_duplicate_email_via_api": False,
    "require_contact_name": False,
    "default_phone_region": "US",
    "rate_limit_calls": 25,
    "rate_limit_window_seconds": 5,
    "bulk_row_limit": 25,
    "insert_reject_duplicates": False,
}


def test_global_settings_get_has_the_exact_field_names(staff_client):
    assert staff_client.get("/api/v1/settings/global/").json() == EXPECTED_SETTINGS


def test_global_settings_patch_changes_and_records_who(staff_client, staff):
    response = staff_client.patch(
        "/api/v1/settings/global/",
        {"reject_duplicate_email_via_api": True, "bulk_row_limit": 10},
        format="json",
    )
    assert response.status_code == 200
    assert response.json()["reject_duplicate_email_via_api"] is True
    row = GlobalSettings.objects.get()
    assert row.reject_duplicate_email_via_api is True
    assert row.bulk_row_limit == 10
    changes = {c.field: c for c in GlobalSettingsChange.objects.all()}
    assert changes["bulk_row_limit"].old_value == "25"
    assert changes["bulk_row_limit"].new_value == "10"
    assert changes["bulk_row_limit"].changed_by == staff


@pytest.mark.parametrize(
    "body",
    [
        {"rate_limit_calls": 0},
        {"default_phone_region": "XX"},
        {"bulk_row_limit": "many"},
        {"no_such_setting": True},
    ],
)
def test_global_settings_patch_rejects_bad_values(staff_client, body):
    response = staff_client.patch("/api/v1/settings/global/", body, format="json")
    assert response.status_code == 400
    assert global_settings_get().as_dict() == EXPECTED_SETTINGS


def test_global_settings_patch_needs_the_permission(client):
    viewer = UserFactory(username="viewer", is_staff=True)
    client.force_authenticate(viewer)
    assert client.get("/api/v1/settings/global/").status_code == 200
    response = client.patch("/api/v1/settings/global/", {"bulk_row_limit": 5}, format="json")
    assert response.status_code == 403
    assert global_settings_get().bulk_row_limit == 25


def test_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/?format=json")
    assert schema.status_code == 200
    paths = schema.json()["paths"]
    assert "/v2/LeadManagement.svc/Lead.Capture" in paths or any("Lead.Capture" in p for p in paths)
    assert "/api/v1/leads/" in paths
    assert client.get("/api/docs/").status_code == 200


def test_admin_login_page_is_served(client):
    response = client.get("/admin/login/")
    assert response.status_code == 200
    assert b"Lead intake CRM" in response.content


@pytest.mark.parametrize(
    "query", ["list=99999999999999999999999", "campaign=-1e30", "offset=99999999999999999999999"]
)
def test_out_of_range_numbers_are_not_a_server_error(staff_client, query):
    LeadFactory()
    response = staff_client.get(f"/api/v1/leads/?{query}")
    assert response.status_code in (200, 400)

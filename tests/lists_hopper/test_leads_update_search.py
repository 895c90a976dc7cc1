"""/v1/leads/update and /v1/leads/search."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from injectionlogs.models import FailedInjection
from leads.models import Activity, ActivityType, Lead
from tests.factories import CampaignFactory, LeadFactory, ListFactory

pytestmark = pytest.mark.django_db

UPDATE = "/v1/leads/update"
SEARCH = "/v1/leads/search"


def rejected(response, code, reason_code):
    assert response.status_code == 400, response.content
    assert response.json()["success"] is False
    assert response.json()["code"] == code
    row = FailedInjection.objects.get()
    assert (row.reason_code, row.family, row.endpoint) == (reason_code, "convoso", UPDATE)
    return row


# -- update ----------------------------------------------------------------------------------------


def test_update_changes_the_fields_given(convoso, lst):
    lead = LeadFactory(first_name="Ann", last_name="Lee", list=lst, custom_fields={"a": "1"})
    response = convoso(
        UPDATE,
        {"lead_id": str(lead.id), "last_name": "Long", "phone_number": "2015550123", "b": "2"},
    )
    assert response.status_code == 200, response.content
    assert response.json() == {"success": True, "data": {"lead_id": str(lead.id)}}
    lead.refresh_from_db()
    assert (lead.first_name, lead.last_name, lead.contact_name) == ("Ann", "Long", "Ann Long")
    assert lead.phone_normalized == "+12015550123"
    assert lead.custom_fields == {"a": "1", "b": "2"}
    assert lead.list == lst
    assert Activity.objects.filter(lead=lead, type=ActivityType.LEAD_CAPTURE).count() == 1


def test_update_with_list_id_moves_the_lead(convoso, lst):
    lead = LeadFactory(list=lst)
    target = ListFactory(campaign=CampaignFactory())
    convoso(UPDATE, {"lead_id": str(lead.id), "list_id": target.id})
    lead.refresh_from_db()
    assert lead.list == target


def test_update_to_an_unknown_list_is_6002(convoso, lst):
    lead = LeadFactory(list=lst)
    rejected(convoso(UPDATE, {"lead_id": str(lead.id), "list_id": 999999}), 6002, "unknown_list")
    lead.refresh_from_db()
    assert lead.list == lst


@pytest.mark.parametrize(
    ("lead_id", "code", "reason_code"),
    [
        (None, 6023, "missing_field"),
        ("not-a-uuid", 6001, "not_found"),
        (str(uuid.uuid4()), 6001, "not_found"),
    ],
)
def test_update_needs_a_known_lead(convoso, lead_id, code, reason_code):
    data = {"first_name": "X"}
    if lead_id is not None:
        data["lead_id"] = lead_id
    row = rejected(convoso(UPDATE, data), code, reason_code)
    assert row.data["first_name"] == "X"


def test_update_with_an_invalid_email_is_6079(convoso):
    lead = LeadFactory()
    rejected(convoso(UPDATE, {"lead_id": str(lead.id), "email": "nope"}), 6079, "invalid_email")


def test_update_refuses_nested_parameters(convoso):
    lead = LeadFactory()
    row = rejected(convoso(UPDATE, {"lead_id": str(lead.id), "x[y]": "1"}), 6062, "invalid_value")
    assert row.data["x[y]"] == "1"


# -- search ----------------------------------------------------------------------------------------


@pytest.fixture
def leads(lst):
    other = ListFactory(campaign=CampaignFactory())
    return {
        "ann": LeadFactory(
            first_name="Ann",
            last_name="Lee",
            email="Ann@Example.com",
            email_normalized="ann@example.com",
            phone="(201) 555-0123",
            phone_normalized="+12015550123",
            status="New",
            list=lst,
            custom_fields={"loan": "5"},
        ),
        "bob": LeadFactory(first_name="Bob", status="Sale", list=lst, city="Austin"),
        "cyd": LeadFactory(first_name="Cyd", status="New", list=other),
    }


def search(convoso, method="get", **params):
    response = convoso(SEARCH, params, method=method)
    assert response.status_code == 200, response.content
    return response.json()["data"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({}, ["ann", "bob", "cyd"]),
        ({"phone_number": "201.555.0123"}, ["ann"]),
        ({"phone_number": "+1 201 555 0123"}, ["ann"]),
        ({"email": " ANN@example.com"}, ["ann"]),
        ({"first_name": "Bob"}, ["bob"]),
        ({"last_name": "Lee"}, ["ann"]),
        ({"status": "New"}, ["ann", "cyd"]),
        ({"city": "Austin"}, ["bob"]),
        ({"status": "New", "first_name": "Cyd"}, ["cyd"]),
        ({"first_name": "Nobody"}, []),
    ],
)
def test_search_filters(convoso, leads, params, expected):
    data = search(convoso, **params)
    by_id = {str(lead.id): name for name, lead in leads.items()}
    assert [by_id[row["lead_id"]] for row in data["entries"]] == expected
    assert data["total"] == len(expected)


def test_search_by_list_campaign_and_lead_id(convoso, leads, lst):
    assert len(search(convoso, list_id=lst.id)["entries"]) == 2
    assert len(search(convoso, campaign_id=lst.campaign_id)["entries"]) == 2
    ann = search(convoso, method="post", lead_id=str(leads["ann"].id))["entries"]
    assert len(ann) == 1
    row = ann[0]
    assert row["phone_number"] == "(201) 555-0123"
    assert row["email"] == "Ann@Example.com"
    assert row["list_id"] == lst.id
    assert row["campaign_id"] == lst.campaign_id
    assert row["loan"] == "5"


def test_search_by_created_date(convoso, leads):
    old = leads["cyd"]
    Lead.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=3))
    today = timezone.localdate().isoformat()
    data = search(convoso, created_at_start_date=today)
    assert str(old.id) not in {row["lead_id"] for row in data["entries"]}
    earlier = (timezone.localdate() - timedelta(days=2)).isoformat()
    data = search(convoso, created_at_end_date=earlier)
    assert [row["lead_id"] for row in data["entries"]] == [str(old.id)]


def test_search_limit_defaults_to_10_and_pages(convoso, lst):
    made = [LeadFactory(list=lst) for _ in range(12)]
    Lead.objects.update(created_at=timezone.now())
    data = search(convoso)
    assert (data["limit"], data["offset"], data["total"], len(data["entries"])) == (10, 0, 12, 10)
    rest = search(convoso, offset=10)
    assert len(rest["entries"]) == 2
    seen = [row["lead_id"] for row in data["entries"] + rest["entries"]]
    assert sorted(seen) == sorted(str(lead.id) for lead in made)
    assert len(search(convoso, limit=2000)["entries"]) == 12


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"limit": "2001"}, 7258),
        ({"limit": "0"}, 7258),
        ({"limit": "ten"}, 7258),
        ({"offset": "-5"}, 7231),
        ({"created_at_start_date": "yesterday"}, 6031),
        ({"created_at_start_date": "0001-01-01"}, 6031),
        ({"phone_number": "abc"}, 6008),
        ({"list_id": "x"}, 6062),
        ({"lead_id": "x"}, 6062),
        ({"a[b]": "c"}, 6062),
    ],
)
def test_search_errors(convoso, params, code):
    response = convoso(SEARCH, params, method="get")
    assert response.status_code == 400, response.content
    assert response.json()["code"] == code
    assert not FailedInjection.objects.exists()


def test_search_needs_a_token(convoso):
    assert convoso(SEARCH, {}, method="get", token=None).status_code == 401

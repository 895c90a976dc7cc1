"""/v1/campaigns/insert and /v1/lists/insert|update|search."""

from __future__ import annotations

import pytest

from injectionlogs.models import FailedInjection
from lists_hopper.models import Campaign, List, ListStatus
from tests.factories import CampaignFactory, LeadFactory, ListFactory

pytestmark = pytest.mark.django_db


def error(response, code, status=400):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["success"] is False
    assert body["code"] == code
    return body["text"]


def test_campaign_insert_creates_a_campaign(convoso):
    response = convoso("/v1/campaigns/insert", {"name": "Solar Q3"})
    assert response.status_code == 200, response.content
    campaign = Campaign.objects.get()
    assert campaign.name == "Solar Q3"
    assert response.json() == {
        "success": True,
        "data": {"campaign_id": campaign.id, "name": "Solar Q3"},
        "id": campaign.id,
    }


@pytest.mark.parametrize(("name", "code"), [("", 6003), ("x" * 256, 6062)])
def test_campaign_insert_needs_a_name(convoso, name, code):
    error(convoso("/v1/campaigns/insert", {"name": name}), code)
    assert not Campaign.objects.exists()
    assert not FailedInjection.objects.exists()  # no lead was rejected


def test_list_insert_creates_a_list_in_the_campaign(convoso, campaign):
    response = convoso("/v1/lists/insert", {"name": "March leads", "campaign_id": campaign.id})
    assert response.status_code == 200, response.content
    obj = List.objects.get()
    assert (obj.name, obj.campaign, obj.status) == ("March leads", campaign, ListStatus.ACTIVE)
    body = response.json()
    assert body["id"] == obj.id
    assert body["data"]["list_id"] == obj.id
    assert body["data"]["campaign_id"] == campaign.id


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ({"campaign_id": "1"}, 6003),
        ({"name": "March"}, 6023),
        ({"name": "March", "campaign_id": "987654"}, 6004),
        ({"name": "March", "campaign_id": "abc"}, 6062),
    ],
)
def test_list_insert_errors(convoso, campaign, data, code):
    error(convoso("/v1/lists/insert", data), code)
    assert not List.objects.exists()


def test_list_update_renames(convoso, lst):
    response = convoso("/v1/lists/update", {"list_id": lst.id, "name": "Renamed"})
    assert response.status_code == 200, response.content
    lst.refresh_from_db()
    assert lst.name == "Renamed"
    assert response.json()["data"]["name"] == "Renamed"


@pytest.mark.parametrize(
    ("status", "expected"),
    [("archived", "archived"), ("0", "archived"), ("active", "active"), ("1", "active")],
)
def test_list_update_archives_and_reactivates(convoso, lst, status, expected):
    if expected == "active":
        lst.status = ListStatus.ARCHIVED
        lst.save()
    response = convoso("/v1/lists/update", {"list_id": lst.id, "status": status})
    assert response.status_code == 200, response.content
    lst.refresh_from_db()
    assert lst.status == expected
    assert response.json()["data"]["status"] == expected


def test_list_update_moves_the_list_to_another_campaign(convoso, lst):
    other = CampaignFactory()
    convoso("/v1/lists/update", {"list_id": lst.id, "campaign_id": other.id})
    lst.refresh_from_db()
    assert lst.campaign == other


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ({}, 6007),
        ({"list_id": "55555"}, 6002),
        ({"status": "deleted"}, 6062),
        ({"campaign_id": "55555"}, 6004),
    ],
)
def test_list_update_errors(convoso, lst, data, code):
    if data and "list_id" not in data:
        data["list_id"] = lst.id
    error(convoso("/v1/lists/update", data), code)
    lst.refresh_from_db()
    assert lst.status == ListStatus.ACTIVE


def test_archiving_through_the_api_takes_the_list_out_of_duplicate_checks(convoso, lst):
    old = ListFactory(campaign=lst.campaign)
    LeadFactory(phone="2015550123", phone_normalized="+12015550123", list=old)
    insert = {"list_id": lst.id, "phone_number": "2015550123", "check_dup": "3"}
    assert convoso("/v1/leads/insert", insert).json()["code"] == 6009
    convoso("/v1/lists/update", {"list_id": old.id, "status": "archived"})
    assert convoso("/v1/leads/insert", insert).json()["success"] is True
    dup = convoso("/v1/leads/insert", {**insert, "check_dup": "2", "check_dup_archive": "1"})
    assert dup.json()["code"] == 6009  # the lead just inserted into this list


def test_list_search_filters(convoso, campaign):
    a = ListFactory(name="Solar March", campaign=campaign)
    b = ListFactory(name="Solar April", campaign=campaign, status=ListStatus.ARCHIVED)
    c = ListFactory(name="Roofing", campaign=CampaignFactory())

    def ids(**params):
        response = convoso("/v1/lists/search", params, method="get")
        assert response.status_code == 200, response.content
        return [row["list_id"] for row in response.json()["data"]]

    assert ids() == [a.id, b.id, c.id]
    assert ids(campaign_id=campaign.id) == [a.id, b.id]
    assert ids(status="archived") == [b.id]
    assert ids(status="active") == [a.id, c.id]
    assert ids(list_id=c.id) == [c.id]
    assert ids(name="solar") == [a.id, b.id]
    error(convoso("/v1/lists/search", {"status": "x"}, method="get"), 6062)


def test_lists_need_a_token(convoso, campaign):
    response = convoso("/v1/lists/insert", {"name": "x", "campaign_id": campaign.id}, token="bad")
    assert error(response, 5001, status=401) == "Invalid auth token"
    assert not List.objects.exists()

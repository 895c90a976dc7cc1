"""/v1/dnc/insert|delete|search: account-wide and campaign Do Not Call lists."""

from __future__ import annotations

import pytest

from lists_hopper.models import DncEntry
from tests.factories import CampaignFactory, DncEntryFactory

pytestmark = pytest.mark.django_db


def error(response, code):
    assert response.status_code == 400, response.content
    assert response.json()["success"] is False
    assert response.json()["code"] == code
    return response.json()["text"]


@pytest.mark.parametrize("campaign_id", [None, "", "0"])
def test_insert_without_a_campaign_is_account_wide(convoso, campaign_id):
    data = {"phone_number": "(201) 555-0123"}
    if campaign_id is not None:
        data["campaign_id"] = campaign_id
    response = convoso("/v1/dnc/insert", data)
    assert response.status_code == 200, response.content
    entry = DncEntry.objects.get()
    assert (entry.phone, entry.campaign, entry.phone_as_given) == (
        "+12015550123",
        None,
        "(201) 555-0123",
    )
    body = response.json()
    assert body["id"] == entry.id
    assert body["data"]["phone_number"] == "2015550123"
    assert body["data"]["phone_code"] == "1"
    assert body["data"]["campaign_id"] == 0


def test_insert_with_a_campaign_is_that_campaigns(convoso, campaign):
    convoso("/v1/dnc/insert", {"phone_number": "2015550123", "campaign_id": campaign.id})
    assert DncEntry.objects.get().campaign == campaign


def test_insert_reads_the_phone_code(convoso):
    convoso("/v1/dnc/insert", {"phone_number": "20 7946 0958", "phone_code": "44"})
    assert DncEntry.objects.get().phone == "+442079460958"


def test_the_same_number_in_another_scope_is_another_entry(convoso, campaign):
    convoso("/v1/dnc/insert", {"phone_number": "2015550123"})
    response = convoso("/v1/dnc/insert", {"phone_number": "2015550123", "campaign_id": campaign.id})
    assert response.status_code == 200
    assert DncEntry.objects.count() == 2


@pytest.mark.parametrize(
    ("data", "code"),
    [
        ({}, 6007),
        ({"phone_number": "abc"}, 6008),
        ({"phone_number": "2015550123", "campaign_id": "777777"}, 6004),
        ({"phone_number": "2015550123", "phone_code": "x"}, 6062),
        ({"phone_number": "201-555-0123"}, 6009),  # already on the account-wide list
    ],
)
def test_insert_errors(convoso, data, code):
    DncEntryFactory(phone="+12015550123", campaign=None)
    error(convoso("/v1/dnc/insert", data), code)
    assert DncEntry.objects.count() == 1


def test_delete_takes_the_number_off_one_list(convoso, campaign):
    account = DncEntryFactory(phone="+12015550123", campaign=None)
    DncEntryFactory(phone="+12015550123", campaign=campaign)
    response = convoso("/v1/dnc/delete", {"phone_number": "2015550123", "campaign_id": campaign.id})
    assert response.status_code == 200, response.content
    assert response.json() == {"success": True}
    assert list(DncEntry.objects.all()) == [account]
    convoso("/v1/dnc/delete", {"phone_number": "2015550123"})
    assert not DncEntry.objects.exists()


def test_delete_of_a_number_not_on_the_list_is_6001(convoso, campaign):
    DncEntryFactory(phone="+12015550123", campaign=None)
    error(
        convoso("/v1/dnc/delete", {"phone_number": "2015550123", "campaign_id": campaign.id}),
        6001,
    )
    assert DncEntry.objects.count() == 1


def test_removed_from_the_dnc_the_number_can_be_inserted(convoso, lst):
    convoso("/v1/dnc/insert", {"phone_number": "2015550123"})
    insert = {"list_id": lst.id, "phone_number": "2015550123", "check_dnc": "1"}
    assert convoso("/v1/leads/insert", insert).json()["code"] == 6010
    convoso("/v1/dnc/delete", {"phone_number": "2015550123"})
    assert convoso("/v1/leads/insert", insert).json()["success"] is True


def test_a_campaign_dnc_made_through_the_api_bars_only_that_campaign(convoso, lst):
    convoso("/v1/dnc/insert", {"phone_number": "2015550123", "campaign_id": lst.campaign_id})
    insert = {"phone_number": "2015550123", "check_dnc": "1"}
    assert convoso("/v1/leads/insert", {**insert, "list_id": lst.id}).json()["code"] == 6010
    elsewhere = lst.__class__.objects.create(name="Other", campaign=CampaignFactory())
    assert convoso("/v1/leads/insert", {**insert, "list_id": elsewhere.id}).json()["success"]


def test_search_by_phone_and_scope(convoso, campaign):
    account = DncEntryFactory(phone="+12015550123", campaign=None)
    scoped = DncEntryFactory(phone="+12015550123", campaign=campaign)
    other = DncEntryFactory(phone="+12015550124", campaign=None)

    def ids(**params):
        response = convoso("/v1/dnc/search", params, method="get")
        assert response.status_code == 200, response.content
        data = response.json()["data"]
        assert data["total"] == len(data["entries"]) or "limit" in params
        return [row["id"] for row in data["entries"]]

    assert ids() == [account.id, scoped.id, other.id]
    assert ids(phone_number="201 555 0123") == [account.id, scoped.id]
    assert ids(campaign_id="0") == [account.id, other.id]
    assert ids(campaign_id=campaign.id) == [scoped.id]
    assert ids(phone_number="2015550123", campaign_id=campaign.id) == [scoped.id]
    assert ids(limit=1, offset=1) == [scoped.id]
    row = convoso("/v1/dnc/search", {"campaign_id": campaign.id}, method="get").json()["data"]
    assert row["entries"][0]["campaign_name"] == campaign.name


@pytest.mark.parametrize(
    ("params", "code"),
    [({"limit": "1001"}, 7258), ({"limit": "0"}, 7258), ({"offset": "-1"}, 7231)],
)
def test_search_bounds(convoso, params, code):
    error(convoso("/v1/dnc/search", params, method="get"), code)

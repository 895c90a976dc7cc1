"""The hopper: insert with hopper=1, /v1/hopper/search and /v1/hopper/next."""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from leads.models import Activity, ActivityType, Lead
from lists_hopper.models import HopperEntry, HopperState
from tests.factories import CampaignFactory, HopperEntryFactory, LeadFactory, ListFactory
from tests.helpers import postgres_only
from tests.lists_hopper.conftest import rules

pytestmark = pytest.mark.django_db

INSERT = "/v1/leads/insert"
SEARCH = "/v1/hopper/search"
NEXT = "/v1/hopper/next"


def entry(campaign, priority=99, age_minutes=0, **kwargs):
    """A hopper entry created age_minutes ago."""
    made = HopperEntryFactory(campaign=campaign, priority=priority, **kwargs)
    if age_minutes:
        HopperEntry.objects.filter(pk=made.pk).update(
            created_at=timezone.now() - timedelta(minutes=age_minutes)
        )
        made.refresh_from_db()
    return made


# -- insert with hopper=1 --------------------------------------------------------------------------


def test_hopper_1_puts_the_lead_in_its_campaigns_hopper_at_priority_99(convoso, lst):
    response = convoso(INSERT, {"list_id": lst.id, "phone_number": "2015550123", "hopper": "1"})
    assert response.status_code == 200, response.content
    lead = Lead.objects.get()
    hopper = HopperEntry.objects.get()
    assert (hopper.lead, hopper.campaign, hopper.priority) == (lead, lst.campaign, 99)
    assert hopper.state == HopperState.LIVE
    assert hopper.expires_at is None
    added = Activity.objects.get(lead=lead, type=ActivityType.HOPPER_ADDED)
    assert added.data["campaign_id"] == lst.campaign_id
    assert added.data["priority"] == 99


def test_without_hopper_the_lead_stays_out_of_the_hopper(convoso, lst):
    convoso(INSERT, {"list_id": lst.id, "phone_number": "2015550123", "hopper_priority": "5"})
    assert Lead.objects.count() == 1
    assert not HopperEntry.objects.exists()


@pytest.mark.parametrize("priority", ["0", "42", "99"])
def test_hopper_priority_in_range_is_kept(convoso, lst, priority):
    convoso(
        INSERT,
        {
            "list_id": lst.id,
            "phone_number": "2015550123",
            "hopper": "1",
            "hopper_priority": priority,
        },
    )
    assert HopperEntry.objects.get().priority == int(priority)


@pytest.mark.parametrize("name", ["hopper_expire_in", "hopper_expires_in"])
def test_hopper_expire_in_minutes_sets_the_expiry(convoso, lst, name):
    before = timezone.now()
    convoso(INSERT, {"list_id": lst.id, "phone_number": "2015550123", "hopper": "1", name: "15"})
    expires = HopperEntry.objects.get().expires_at
    assert before + timedelta(minutes=15) <= expires <= timezone.now() + timedelta(minutes=15)


def test_a_lead_found_again_keeps_one_live_entry_with_the_new_priority(convoso, lst):
    data = {"list_id": lst.id, "phone_number": "2015550123", "hopper": "1", "check_dup": "2"}
    first = convoso(INSERT, {**data, "hopper_priority": "10"}).json()
    again = convoso(INSERT, {**data, "hopper_priority": "70", "update_if_found": "1"}).json()
    assert again["data"]["lead_id"] == first["data"]["lead_id"]
    hopper = HopperEntry.objects.get()
    assert hopper.priority == 70


def test_a_rejected_insert_adds_nothing_to_the_hopper(convoso, lst):
    convoso(INSERT, {"list_id": lst.id, "phone_number": "2015550123", "hopper": "1"})
    response = convoso(
        INSERT, {"list_id": lst.id, "phone_number": "2015550123", "hopper": "1", "check_dup": "2"}
    )
    assert response.json()["code"] == 6009
    assert HopperEntry.objects.count() == 1


# -- /v1/hopper/search -----------------------------------------------------------------------------


def test_search_lists_live_entries_by_priority_then_age(convoso, campaign):
    low_old = entry(campaign, priority=10, age_minutes=30)
    high_new = entry(campaign, priority=80, age_minutes=1)
    high_old = entry(campaign, priority=80, age_minutes=20)
    mid = entry(campaign, priority=50, expires_at=timezone.now() + timedelta(minutes=5))
    entry(campaign, priority=99, state=HopperState.TAKEN)
    entry(campaign, priority=99, state=HopperState.EXPIRED)
    entry(campaign, priority=99, expires_at=timezone.now() - timedelta(seconds=1))  # not swept
    entry(CampaignFactory(), priority=99)
    response = convoso(SEARCH, {"campaign_id": campaign.id}, method="get")
    assert response.status_code == 200, response.content
    data = response.json()["data"]
    assert [e["hopper_id"] for e in data["entries"]] == [
        high_old.id,
        high_new.id,
        mid.id,
        low_old.id,
    ]
    assert data["total"] == 4
    first = data["entries"][0]
    assert first["lead_id"] == str(high_old.lead_id)
    assert first["priority"] == 80
    assert first["lead"]["lead_id"] == str(high_old.lead_id)


def test_search_pages_with_offset_and_limit(convoso, campaign):
    ids = [entry(campaign, priority=p).id for p in (90, 80, 70)]
    data = convoso(SEARCH, {"campaign_id": campaign.id, "offset": 1, "limit": 1}, method="get")
    assert [e["hopper_id"] for e in data.json()["data"]["entries"]] == ids[1:2]


@pytest.mark.parametrize(
    ("params", "code"),
    [({}, 6023), ({"campaign_id": "999999"}, 6004), ({"campaign_id": "x"}, 6062)],
)
def test_search_needs_a_known_campaign(convoso, params, code):
    response = convoso(SEARCH, params, method="get")
    assert response.status_code == 400
    assert response.json()["code"] == code


# -- /v1/hopper/next -------------------------------------------------------------------------------


def test_next_hands_out_the_highest_priority_then_oldest_entry_once(convoso, campaign, api_user):
    second = entry(campaign, priority=80, age_minutes=1)
    first = entry(campaign, priority=80, age_minutes=5)
    third = entry(campaign, priority=20)
    entry(campaign, priority=99, expires_at=timezone.now() - timedelta(minutes=1))
    handed = []
    for _ in range(3):
        response = convoso(NEXT, {"campaign_id": campaign.id})
        assert response.status_code == 200, response.content
        handed.append(response.json()["data"]["hopper_id"])
    assert handed == [first.id, second.id, third.id]
    first.refresh_from_db()
    assert first.state == HopperState.TAKEN
    assert first.taken_at is not None
    taken = Activity.objects.get(lead=first.lead, type=ActivityType.HOPPER_TAKEN)
    assert taken.created_by == api_user
    assert taken.data["hopper_id"] == first.id
    empty = convoso(NEXT, {"campaign_id": campaign.id})
    assert empty.status_code == 200
    assert empty.json()["success"] is True
    assert empty.json()["data"] is None


def test_next_returns_the_lead_for_the_dialer(convoso, campaign):
    lead = LeadFactory(phone="2015550123", phone_normalized="+12015550123", first_name="Ann")
    lead.list = ListFactory(campaign=campaign)
    lead.save()
    entry(campaign, lead=lead, priority=5)
    data = convoso(NEXT, {"campaign_id": campaign.id}).json()["data"]
    assert data["lead_id"] == str(lead.id)
    assert data["campaign_id"] == campaign.id
    assert data["lead"]["phone_number"] == "2015550123"
    assert data["lead"]["first_name"] == "Ann"
    assert data["lead"]["list_id"] == lead.list_id


def test_next_only_takes_from_the_campaign_asked_for(convoso, campaign):
    entry(CampaignFactory(), priority=99)
    assert convoso(NEXT, {"campaign_id": campaign.id}).json()["data"] is None


@pytest.mark.parametrize(("params", "code"), [({}, 6023), ({"campaign_id": "424242"}, 6004)])
def test_next_needs_a_known_campaign(convoso, params, code):
    response = convoso(NEXT, params)
    assert response.status_code == 400
    assert response.json()["code"] == code


def test_next_needs_a_token(convoso, campaign):
    entry(campaign)
    response = convoso(NEXT, {"campaign_id": campaign.id}, token="nope")
    assert response.status_code == 401
    assert HopperEntry.objects.get().state == HopperState.LIVE


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_concurrent_dialers_never_get_the_same_entry(credential):
    from rest_framework.test import APIClient

    from tests.lists_hopper.conftest import TOKEN

    rules(rate_limit_calls=10_000)
    campaign = CampaignFactory()
    entries = [HopperEntryFactory(campaign=campaign, priority=i % 7) for i in range(30)]
    dialers, calls_each = 8, 6  # 48 calls for 30 entries: the last ones find it empty
    barrier = threading.Barrier(dialers)
    handed: list[int] = []
    empty: list[int] = []
    errors: list[str] = []
    lock = threading.Lock()

    def dial():
        client = APIClient()
        try:
            barrier.wait()
            for _ in range(calls_each):
                response = client.post(NEXT, {"auth_token": TOKEN, "campaign_id": campaign.id})
                with lock:
                    if response.status_code != 200:
                        errors.append(response.content.decode())
                    elif response.json()["data"] is None:
                        empty.append(1)
                    else:
                        handed.append(response.json()["data"]["hopper_id"])
        finally:
            connection.close()

    threads = [threading.Thread(target=dial) for _ in range(dialers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(handed) == len(set(handed)), "an entry was handed to two dialers"
    assert sorted(handed) == sorted(e.id for e in entries)
    assert len(empty) == dialers * calls_each - len(entries)
    assert HopperEntry.objects.filter(state=HopperState.TAKEN).count() == len(entries)
    assert Activity.objects.filter(type=ActivityType.HOPPER_TAKEN).count() == len(entries)

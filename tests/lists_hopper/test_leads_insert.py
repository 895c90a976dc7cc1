"""/v1/leads/insert: the JSON and the rows, for every check_dup scope, DNC and error code."""

from __future__ import annotations

import json
from urllib.parse import urlencode

import pytest

from injectionlogs.models import FailedInjection
from leads.models import Activity, ActivityType, Lead
from lists_hopper.models import ListStatus
from tests.factories import CampaignFactory, DncEntryFactory, LeadFactory, ListFactory
from tests.lists_hopper.conftest import TOKEN, rules

pytestmark = pytest.mark.django_db

INSERT = "/v1/leads/insert"


@pytest.fixture
def insert(convoso, lst):
    def post(**data):
        data.setdefault("list_id", lst.id)
        return convoso(INSERT, {k: v for k, v in data.items() if v is not None})

    return post


def held(phone="+12015550123", lead_list=None, **kwargs):
    """A lead already held, with its phone normalized as the pipeline stores it."""
    return LeadFactory(phone=phone, phone_normalized="+12015550123", list=lead_list, **kwargs)


def assert_rejected(response, code, reason_code, status=400):
    assert response.status_code == status, response.content
    body = response.json()
    assert body["success"] is False
    assert body["code"] == code
    assert body["text"]
    row = FailedInjection.objects.get()
    assert row.reason_code == reason_code
    assert row.reason == body["text"]
    assert row.family == "convoso"
    assert row.endpoint == INSERT
    return row


# -- success ---------------------------------------------------------------------------------------


def test_insert_creates_the_lead_in_the_list_as_the_api_user(insert, lst, api_user):
    response = insert(
        phone_number="(201) 555-0123",
        first_name="Ann",
        last_name="Lee",
        email=" Ann@Example.COM ",
        city="Austin",
        postal_code="73301",
        loan_amount="25000",
    )
    assert response.status_code == 200, response.content
    body = response.json()
    lead = Lead.objects.get()
    assert body == {"success": True, "data": {"lead_id": str(lead.id)}, "id": str(lead.id)}
    assert lead.list == lst
    assert lead.phone_normalized == "+12015550123"
    assert lead.email_normalized == "ann@example.com"
    assert (lead.first_name, lead.last_name, lead.contact_name) == ("Ann", "Lee", "Ann Lee")
    assert (lead.city, lead.postal_code) == ("Austin", "73301")
    assert lead.custom_fields == {"loan_amount": "25000"}
    assert lead.created_by == api_user
    assert api_user.first_name == "System API User"
    kinds = set(Activity.objects.filter(lead=lead).values_list("type", flat=True))
    assert kinds == {ActivityType.CREATED, ActivityType.LEAD_CAPTURE}
    assert not FailedInjection.objects.exists()


def test_insert_reads_the_query_string_and_the_form_body_and_the_body_wins(client, lst, credential):
    query = urlencode({"auth_token": TOKEN, "list_id": lst.id, "first_name": "Query"})
    response = client.post(
        f"{INSERT}?{query}",
        urlencode({"phone_number": "2015550123", "first_name": "Body"}),
        content_type="application/x-www-form-urlencoded",
    )
    assert response.status_code == 200, response.content
    assert Lead.objects.get().first_name == "Body"


def test_insert_takes_everything_in_the_query_string(client, lst, credential):
    query = urlencode({"auth_token": TOKEN, "list_id": lst.id, "phone_number": "2015550123"})
    response = client.post(f"{INSERT}?{query}")
    assert response.status_code == 200, response.content
    assert Lead.objects.get().list == lst


def test_insert_reads_a_flat_json_body(client, lst, credential):
    response = client.post(
        f"{INSERT}?auth_token={TOKEN}",
        json.dumps({"list_id": lst.id, "phone_number": 2015550123, "hopper": True}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert Lead.objects.get().hopper_entries.count() == 1


def test_blank_parameters_are_left_out(insert):
    insert(phone_number="2015550123", first_name="", notes="  ", custom_x="")
    lead = Lead.objects.get()
    assert lead.first_name == ""
    assert lead.custom_fields == {}


def test_a_trailing_slash_is_tolerated(convoso, lst):
    response = convoso(INSERT + "/", {"list_id": lst.id, "phone_number": "2015550123"})
    assert response.status_code == 200, response.content
    assert Lead.objects.count() == 1


def test_insert_is_a_post(convoso, lst):
    response = convoso(INSERT, {"list_id": lst.id, "phone_number": "2015550123"}, method="get")
    assert response.status_code == 405
    assert response.json()["success"] is False
    assert not Lead.objects.exists()


# -- check_dup -------------------------------------------------------------------------------------

# Where the lead holding the same number already is, relative to the insert's list.
PLACEMENTS = ("same_list", "same_campaign", "other_campaign", "no_list")
# check_dup -> the placements that make the insert a duplicate.
DUPLICATE_IN = {
    0: set(),
    1: set(PLACEMENTS),
    2: {"same_list"},
    3: {"same_list", "same_campaign"},
}


def place(where, lst):
    return {
        "same_list": lst,
        "same_campaign": ListFactory(campaign=lst.campaign),
        "other_campaign": ListFactory(campaign=CampaignFactory()),
        "no_list": None,
    }[where]


@pytest.mark.parametrize("where", PLACEMENTS)
@pytest.mark.parametrize("check_dup", sorted(DUPLICATE_IN))
def test_check_dup_scope(insert, lst, check_dup, where):
    existing = held(lead_list=place(where, lst))
    response = insert(phone_number="201-555-0123", check_dup=str(check_dup))
    if where in DUPLICATE_IN[check_dup]:
        row = assert_rejected(response, 6009, "duplicate_phone")
        scope = {1: "account", 2: "list", 3: "campaign"}[check_dup]
        assert row.reason == f"Duplicate phone number in {scope}"
        assert Lead.objects.count() == 1
        # The rejected capture is posted to the lead it duplicates.
        capture = Activity.objects.get(lead=existing, type=ActivityType.LEAD_CAPTURE)
        assert capture.data["rejected"]["reason_code"] == "duplicate_phone"
    else:
        assert response.status_code == 200, response.content
        assert Lead.objects.count() == 2
        assert not FailedInjection.objects.exists()


def test_the_same_number_written_another_way_is_a_duplicate(insert):
    held(phone="+1 (201) 555-0123")
    response = insert(phone_number="2015550123", phone_code="1", check_dup="1")
    assert_rejected(response, 6009, "duplicate_phone")


@pytest.mark.parametrize(
    ("check_dup", "archived_list"),
    [("2", "same_list"), ("3", "same_campaign"), ("1", "other_campaign")],
)
def test_archived_lists_count_only_with_check_dup_archive(insert, lst, check_dup, archived_list):
    archived = place(archived_list, lst)
    archived.status = ListStatus.ARCHIVED
    archived.save()
    existing = held(lead_list=archived)
    assert insert(phone_number="2015550123", check_dup=check_dup).status_code == 200
    Lead.objects.exclude(pk=existing.pk).delete()
    response = insert(phone_number="2015550123", check_dup=check_dup, check_dup_archive="1")
    assert_rejected(response, 6009, "duplicate_phone")


def test_global_setting_rejects_duplicates_whatever_check_dup_says(insert, lst):
    held(lead_list=ListFactory(campaign=CampaignFactory()))
    rules(insert_reject_duplicates=True)
    row = assert_rejected(insert(phone_number="2015550123", check_dup="0"), 6009, "duplicate_phone")
    assert row.reason == "Duplicate phone number in account"
    rules(insert_reject_duplicates=False)
    assert insert(phone_number="2015550123", check_dup="0").status_code == 200


def test_global_setting_keeps_the_narrower_scope_asked_for(insert, lst):
    held(lead_list=ListFactory(campaign=CampaignFactory()))
    rules(insert_reject_duplicates=True)
    # check_dup=2 asked for the list only: the lead in another campaign is no duplicate.
    assert insert(phone_number="2015550123", check_dup="2").status_code == 200


def test_update_if_found_updates_the_found_lead(insert, lst):
    existing = held(lead_list=lst, first_name="Old")
    response = insert(
        phone_number="2015550123", check_dup="2", update_if_found="1", first_name="New", score="7"
    )
    assert response.status_code == 200, response.content
    assert response.json()["data"]["lead_id"] == str(existing.id)
    existing.refresh_from_db()
    assert existing.first_name == "New"
    assert existing.custom_fields == {"score": "7"}
    assert Lead.objects.count() == 1
    assert not FailedInjection.objects.exists()


def test_update_if_found_without_check_dup_looks_in_the_whole_account(insert, lst):
    existing = held(lead_list=ListFactory(campaign=CampaignFactory()))
    response = insert(phone_number="2015550123", update_if_found="1", first_name="Found")
    assert response.json()["data"]["lead_id"] == str(existing.id)
    assert Lead.objects.count() == 1


def test_update_if_found_creates_when_nothing_is_found(insert):
    response = insert(phone_number="2015550123", update_if_found="1", check_dup="1")
    assert response.status_code == 200
    assert Lead.objects.count() == 1


def test_global_duplicate_rule_wins_over_update_if_found(insert, lst):
    held(lead_list=lst)
    rules(insert_reject_duplicates=True)
    response = insert(phone_number="2015550123", check_dup="2", update_if_found="1")
    assert_rejected(response, 6009, "duplicate_phone")


def test_similar_email_rule_rejects_a_new_lead(insert):
    LeadFactory(email="ann@example.com")
    rules(reject_duplicate_email_via_api=True)
    response = insert(phone_number="2015550123", email="ANN@example.com")
    assert_rejected(response, 6011, "duplicate_email")


# -- DNC -------------------------------------------------------------------------------------------


def test_check_dnc_rejects_a_number_on_the_account_wide_list(insert):
    DncEntryFactory(phone="+12015550123", campaign=None)
    row = assert_rejected(insert(phone_number="201.555.0123", check_dnc="1"), 6010, "dnc")
    assert row.reason == "Phone number is on the Do Not Call list (account)"
    assert not Lead.objects.exists()


def test_check_dnc_rejects_a_number_on_the_campaigns_list(insert, lst):
    DncEntryFactory(phone="+12015550123", campaign=lst.campaign)
    row = assert_rejected(insert(phone_number="2015550123", check_dnc="1"), 6010, "dnc")
    assert row.reason == "Phone number is on the Do Not Call list (campaign)"


def test_another_campaigns_dnc_does_not_apply(insert):
    DncEntryFactory(phone="+12015550123", campaign=CampaignFactory())
    assert insert(phone_number="2015550123", check_dnc="1").status_code == 200


def test_without_check_dnc_the_dnc_is_not_consulted(insert):
    DncEntryFactory(phone="+12015550123", campaign=None)
    assert insert(phone_number="2015550123").status_code == 200


# -- errors ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("missing", ["list_id", "phone_number"])
def test_list_id_and_phone_number_are_required(convoso, lst, missing):
    data = {"list_id": lst.id, "phone_number": "2015550123", "first_name": "Ann"}
    data.pop(missing)
    row = assert_rejected(convoso(INSERT, data), 6007, "missing_field")
    assert row.reason == f"Missing required field: {missing}"
    assert row.data["first_name"] == "Ann"


def test_unknown_list_is_6002(convoso, lst):
    response = convoso(INSERT, {"list_id": lst.id + 100, "phone_number": "2015550123"})
    row = assert_rejected(response, 6002, "unknown_list")
    assert row.reason == f"No such list: {lst.id + 100}"


@pytest.mark.parametrize("phone", ["abc", "12", "+1 201 555 0123 4567 89"])
def test_invalid_phone_is_6008(insert, phone):
    assert_rejected(insert(phone_number=phone), 6008, "invalid_phone")


def test_invalid_email_is_6079(insert):
    assert_rejected(insert(phone_number="2015550123", email="not-an-email"), 6079, "invalid_email")


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("list_id", "abc"),
        ("list_id", "0"),
        ("list_id", "99999999999999999999999"),
        ("check_dup", "4"),
        ("check_dup", "-1"),
        ("check_dup", "one"),
        ("check_dnc", "2"),
        ("hopper", "maybe"),
        ("hopper_priority", "100"),
        ("hopper_priority", "-1"),
        ("hopper_priority", "5.5"),
        ("hopper_expire_in", "0"),
        ("hopper_expire_in", "10x"),
        ("hopper_expires_in", "999999999"),
        ("update_if_found", "yes please"),
        ("phone_code", "abc"),
    ],
)
def test_invalid_option_values_are_refused_and_logged(insert, lst, name, value):
    data = {"phone_number": "2015550123", name: value}
    if name == "list_id":
        data["list_id"] = value
    row = assert_rejected(insert(**data), 6062, "invalid_value")
    assert name in row.reason
    assert row.data[name] == value
    assert not Lead.objects.exists()


def test_a_nested_parameter_is_refused_with_the_data_logged(convoso, lst):
    response = convoso(
        INSERT, {"list_id": lst.id, "phone_number": "2015550123", "lead[first_name]": "Ann"}
    )
    row = assert_rejected(response, 6062, "invalid_value")
    assert "nested parameters are not supported" in response.json()["text"]
    assert "lead[first_name]" in response.json()["text"]
    assert row.data["lead[first_name]"] == "Ann"
    assert row.data["phone_number"] == "2015550123"
    assert "auth_token" not in row.data
    assert not Lead.objects.exists()


def test_a_nested_json_value_is_refused(client, lst, credential):
    response = client.post(
        f"{INSERT}?auth_token={TOKEN}",
        json.dumps({"list_id": lst.id, "phone_number": "2015550123", "extra": {"a": 1}}),
        content_type="application/json",
    )
    row = assert_rejected(response, 6062, "invalid_value")
    assert "extra" in row.reason


@pytest.mark.parametrize("raw", ["{not json", "[1, 2]"])
def test_a_json_body_not_to_specification_is_logged(client, lst, credential, raw):
    response = client.post(
        f"{INSERT}?auth_token={TOKEN}&list_id={lst.id}", raw, content_type="application/json"
    )
    row = assert_rejected(response, 6062, "invalid_body")
    assert row.data["raw_body"] == raw
    assert row.data["list_id"] == str(lst.id)


def test_a_nul_character_is_refused_and_logged(insert):
    row = assert_rejected(
        insert(phone_number="2015550123", first_name="A\x00B"), 6062, "invalid_body"
    )
    assert row.data["first_name"] == "A\ufffdB"


def test_a_lone_surrogate_in_json_is_refused_and_logged(client, lst, credential):
    raw = json.dumps({"list_id": lst.id, "phone_number": "2015550123", "first_name": "A#B"})
    raw = raw.replace("#", "\\ud800")  # the JSON escape of a lone surrogate
    response = client.post(f"{INSERT}?auth_token={TOKEN}", raw, content_type="application/json")
    row = assert_rejected(response, 6062, "invalid_body")
    assert row.data["first_name"] == "A\ufffdB"


def test_credentials_never_reach_the_log(client, lst, credential):
    response = client.post(
        f"{INSERT}?auth_token={TOKEN}",
        {"list_id": lst.id + 1, "phone_number": "2015550123"},
    )
    row = assert_rejected(response, 6002, "unknown_list")
    assert "auth_token" not in row.data
    assert "auth_token" not in row.query
    assert TOKEN not in json.dumps(row.data) + json.dumps(row.query)
    assert row.api_user == credential.user
    assert row.remote_addr == "127.0.0.1"


@pytest.mark.parametrize("token", ["wrong", "", None])
def test_a_bad_token_is_401_5001_and_writes_no_row(convoso, lst, token):
    response = convoso(INSERT, {"list_id": lst.id, "phone_number": "2015550123"}, token=token)
    assert response.status_code == 401
    assert response.json() == {"success": False, "code": 5001, "text": "Invalid auth token"}
    assert not FailedInjection.objects.exists()
    assert not Lead.objects.exists()


def test_a_revoked_token_is_refused(convoso, lst, credential):
    credential.is_active = False
    credential.save()
    response = convoso(INSERT, {"list_id": lst.id, "phone_number": "2015550123"})
    assert response.status_code == 401


def test_over_the_rate_limit_is_429_and_writes_no_row(convoso, lst):
    rules(rate_limit_calls=1, rate_limit_window_seconds=60)
    assert convoso(INSERT, {"list_id": lst.id, "phone_number": "2015550123"}).status_code == 200
    response = convoso(INSERT, {"list_id": lst.id + 9, "phone_number": "2015550124"})
    assert response.status_code == 429
    assert response.json()["code"] == 5002
    assert response.json()["text"] == "API calls exceeded the limit of 1 in 60 second(s)"
    assert response["Retry-After"]
    assert not FailedInjection.objects.exists()


def test_every_rejection_is_exactly_one_row(insert, lst):
    DncEntryFactory(phone="+12015550199", campaign=None)
    held(lead_list=lst)
    calls = [
        {"phone_number": ""},
        {"phone_number": "x"},
        {"phone_number": "2015550123", "check_dup": "2"},
        {"phone_number": "2015550199", "check_dnc": "1"},
        {"phone_number": "2015550111", "email": "@"},
        {"phone_number": "2015550111", "hopper_priority": "200"},
    ]
    for data in calls:
        assert insert(**data).status_code == 400
    assert FailedInjection.objects.count() == len(calls)
    assert Lead.objects.count() == 1

"""Lead/Bulk/CreateOrUpdate over HTTP: per-row results and rows, the limits, the query bound."""

from __future__ import annotations

import json

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from injectionlogs.models import FailedInjection
from leads.models import Activity, ActivityType, Lead
from leads.replay import failure_retry
from settings_global.services import global_settings_get, global_settings_update
from tests.factories import LeadFactory
from tests.helpers import attrs

pytestmark = pytest.mark.django_db

BULK = "/v2/LeadManagement.svc/Lead/Bulk/CreateOrUpdate"
SINGLE = "/v2/LeadManagement.svc/Lead.CreateOrUpdate"


@pytest.fixture
def bulk(client, ls_keys):
    def post(rows=None, query="", raw=None, path=BULK):
        url = f"{path}?{ls_keys}{'&' + query if query else ''}"
        data = raw if raw is not None else json.dumps(rows)
        return client.post(url, data=data, content_type="application/json")

    return post


def rules(**changes):
    global_settings_update(changes=changes, user=None, via="test")


def ok(number, lead, created):
    return {
        "RowNumber": number,
        "LeadId": str(lead.id),
        "LeadCreated": created,
        "LeadUpdated": not created,
        "AffectedRows": 1,
    }


def failed(number, exception_type, message):
    return {
        "RowNumber": number,
        "LeadId": None,
        "LeadCreated": False,
        "LeadUpdated": False,
        "AffectedRows": 0,
        "ExceptionType": exception_type,
        "ExceptionMessage": message,
    }


# -- the rule table: each row alone, through bulk and through Lead.CreateOrUpdate ------------

HELD = {
    "ann": {"email": "ann@x.com", "first_name": "Ann", "company": "Old Co", "source": "Web"},
    "bob": {
        "email": "bob@x.com",
        "first_name": "Bob",
        "last_name": "Lee",
        "phone": "+1 (201) 555-0123",
        "phone_normalized": "+12015550123",
        "custom_fields": {"mx_City": "Pune"},
    },
}
DUP = ("duplicate_email", "MXDuplicateEntryException")
MISSING = ("missing_field", "MXInvalidInputException")

RULES = [
    # (row, query, global rules, outcome: a held lead's name / "new" / (reason, type), checks)
    pytest.param(
        attrs(EmailAddress=" ANN@X.com", Company="Acme"),
        "",
        {},
        "ann",
        {"company": "Acme", "email": "ann@x.com"},
        id="email-match-updates",
    ),
    pytest.param(
        attrs(Phone="2015550123", FirstName="Robert"),
        "",
        {},
        "bob",
        {"first_name": "Robert", "contact_name": "Robert Lee"},
        id="phone-match-in-another-spelling-updates",
    ),
    pytest.param(
        attrs(EmailAddress="ann@x.com", Phone="201-555-0123"),
        "",
        {},
        "ann",
        {"phone_normalized": "+12015550123"},
        id="email-is-searched-before-phone",
    ),
    pytest.param(
        attrs(EmailAddress="New@X.com", Phone="2015550999", Source="Ads"),
        "",
        {},
        "new",
        {"email_normalized": "new@x.com", "phone_normalized": "+12015550999", "source": "Ads"},
        id="no-match-creates",
    ),
    pytest.param(
        attrs(FirstName="Bob", EmailAddress="ann@x.com", SearchBy="FirstName"),
        "",
        {},
        "bob",
        {"email_normalized": "ann@x.com"},
        id="searchby-firstname-overrides-the-email",
    ),
    pytest.param(
        attrs(mx_City="Pune", EmailAddress="ann@x.com", SearchBy="mx_City"),
        "",
        {},
        "bob",
        {"email_normalized": "ann@x.com"},
        id="searchby-custom-field-overrides-the-email",
    ),
    pytest.param(
        attrs(Phone="(201) 555-0123", EmailAddress="ann@x.com", SearchBy="Phone"),
        "",
        {},
        "bob",
        {"email_normalized": "ann@x.com"},
        id="searchby-phone-overrides-the-email",
    ),
    pytest.param(
        attrs(FirstName="Zed", EmailAddress="ann@x.com", SearchBy="FirstName"),
        "",
        {},
        "new",
        {"first_name": "Zed", "email_normalized": "ann@x.com"},
        id="searchby-finds-nothing-creates",
    ),
    pytest.param(
        attrs(FirstName="Zed", EmailAddress="ann@x.com", SearchBy="FirstName"),
        "",
        {"reject_duplicate_email_via_api": True},
        DUP,
        {},
        id="searchby-finds-nothing-and-similar-email-is-rejected",
    ),
    pytest.param(
        attrs(EmailAddress="ANN@x.com", Company="Acme"),
        "",
        {"reject_duplicate_email_via_api": True},
        "ann",
        {"company": "Acme"},
        id="similar-email-rule-does-not-block-an-update",
    ),
    pytest.param(attrs(FirstName="Zed"), "", {}, MISSING, {}, id="no-unique-field-is-an-error"),
    pytest.param(
        attrs(FirstName="Bob", SearchBy="FirstName"),
        "",
        {},
        MISSING,
        {},
        id="searchby-still-needs-a-unique-field",
    ),
    pytest.param(
        attrs(Phone="2015550123", SearchBy="EmailAddress"),
        "",
        {},
        MISSING,
        {},
        id="searchby-a-field-the-row-lacks",
    ),
    pytest.param(
        attrs(EmailAddress="ann@", FirstName="Ann"),
        "",
        {},
        ("invalid_email", "MXInvalidInputException"),
        {},
        id="invalid-email-is-an-error",
    ),
    pytest.param(
        attrs(Phone="12", FirstName="Ann"),
        "",
        {},
        ("invalid_phone", "MXInvalidInputException"),
        {},
        id="invalid-phone-is-an-error",
    ),
    pytest.param(
        attrs(EmailAddress="ann@x.com", SearchBy="Nope"),
        "",
        {},
        ("invalid_value", "MXInvalidInputException"),
        {},
        id="unknown-searchby-is-an-error",
    ),
    pytest.param(
        attrs(EmailAddress="ann@x.com", Nope="1"),
        "",
        {},
        ("invalid_value", "MXInvalidInputException"),
        {},
        id="unknown-attribute-is-an-error",
    ),
    pytest.param(
        attrs(EmailAddress="ann@x.com", Source="Ads", Company="Acme"),
        "",
        {},
        "ann",
        {"source": "Web", "company": "Acme"},
        id="update-never-overwrites-the-lead-source",
    ),
    pytest.param(
        attrs(EmailAddress="ann@x.com", Company="New Co", JobTitle="CTO"),
        "LeadUpdateBehavior=DoNotUpdate",
        {},
        "ann",
        {"company": "Old Co", "job_title": ""},
        id="do-not-update",
    ),
    pytest.param(
        attrs(EmailAddress="ann@x.com", Company="New Co", JobTitle="CTO"),
        "LeadUpdateBehavior=UpdateOnlyEmptyFields",
        {},
        "ann",
        {"company": "Old Co", "job_title": "CTO"},
        id="update-only-empty-fields",
    ),
    pytest.param(
        attrs(FirstName="Bob", SearchBy="FirstName", EmailAddress="b2@x.com", Company="B Co"),
        "LeadUpdateBehavior=DoNotUpdateUniqueFields",
        {},
        "bob",
        {"email": "bob@x.com", "company": "B Co"},
        id="do-not-update-unique-fields",
    ),
]


def run_row(client, ls_keys, via, row, query):
    """Post one row through bulk or Lead.CreateOrUpdate: (lead id, created, error type, message)."""
    path = BULK if via == "bulk" else SINGLE
    url = f"{path}?{ls_keys}{'&' + query if query else ''}"
    before = Lead.objects.count()
    body = [row] if via == "bulk" else row
    response = client.post(url, json.dumps(body), content_type="application/json")
    if via == "bulk":
        assert response.status_code == 200, response.content
        (result,) = response.json()
        assert result["RowNumber"] == 1
        if "ExceptionType" in result:
            return None, False, result["ExceptionType"], result["ExceptionMessage"]
        assert result["LeadUpdated"] is not result["LeadCreated"]
        assert result["AffectedRows"] == 1
        return result["LeadId"], result["LeadCreated"], None, None
    if response.status_code == 400:
        body = response.json()
        return None, False, body["ExceptionType"], body["ExceptionMessage"]
    assert response.status_code == 200, response.content
    created = Lead.objects.count() == before + 1
    return response.json()["Message"]["Id"], created, None, None


@pytest.mark.parametrize("via", ["bulk", "single"])
@pytest.mark.parametrize(("row", "query", "global_rules", "outcome", "checks"), RULES)
def test_each_row_follows_the_create_or_update_rules(
    client, ls_keys, via, row, query, global_rules, outcome, checks
):
    held = {name: LeadFactory(**fields) for name, fields in HELD.items()}
    if global_rules:
        rules(**global_rules)
    lead_id, created, exception_type, message = run_row(client, ls_keys, via, row, query)
    if isinstance(outcome, tuple):
        reason_code, expected_type = outcome
        assert (lead_id, exception_type) == (None, expected_type)
        assert Lead.objects.count() == len(HELD)
        failure = FailedInjection.objects.get()
        assert (failure.reason_code, failure.reason) == (reason_code, message)
        assert failure.data == row
        assert failure.endpoint == (BULK if via == "bulk" else SINGLE)
        assert "secretKey" not in failure.query
        return
    assert exception_type is None, message
    assert not FailedInjection.objects.exists()
    if outcome == "new":
        assert created is True
        assert Lead.objects.count() == len(HELD) + 1
        lead = Lead.objects.get(pk=lead_id)
    else:
        assert (lead_id, created) == (str(held[outcome].id), False)
        assert Lead.objects.count() == len(HELD)
        lead = held[outcome]
        lead.refresh_from_db()
    for name, value in checks.items():
        assert getattr(lead, name) == value, name
    assert Activity.objects.filter(lead=lead, type=ActivityType.LEAD_CAPTURE).count() == 1


# -- calls of many rows ----------------------------------------------------------------------


def test_a_call_creates_updates_and_fails_row_by_row(bulk, api_user):
    held = LeadFactory(email="ann@x.com", company="Old Co")
    rows = [
        attrs(EmailAddress="new@x.com", FirstName="New"),
        attrs(EmailAddress="ann@x.com", Company="Acme"),
        attrs(EmailAddress="bad@", FirstName="Bad"),
        {"Attribute": "EmailAddress", "Value": "obj@x.com"},
        [],
        attrs(Phone="2015550123", mx_City="Pune"),
    ]
    response = bulk(rows)
    assert response.status_code == 200
    new = Lead.objects.get(email_normalized="new@x.com")
    by_phone = Lead.objects.get(phone_normalized="+12015550123")
    assert response.json() == [
        ok(1, new, created=True),
        ok(2, held, created=False),
        failed(3, "MXInvalidInputException", "Invalid email: bad@"),
        failed(
            4,
            "MXInvalidJSONException",
            "Body not to specification: row 4 must be a JSON array of {Attribute, Value} objects",
        ),
        failed(5, "MXInvalidJSONException", "Body not to specification: row 5 holds no attributes"),
        ok(6, by_phone, created=True),
    ]
    held.refresh_from_db()
    assert held.company == "Acme"
    assert by_phone.custom_fields == {"mx_City": "Pune"}
    assert Lead.objects.count() == 3
    assert new.created_by == api_user
    failures = list(FailedInjection.objects.order_by("id"))
    assert [(f.reason_code, f.data) for f in failures] == [
        ("invalid_email", rows[2]),
        ("invalid_body", rows[3]),
        ("invalid_body", rows[4]),
    ]
    for failure in failures:
        assert failure.endpoint == BULK
        assert failure.family == "leadsquared"
        assert failure.api_user == api_user
        assert failure.created_at is not None
        assert "secretKey" not in failure.query and "accessKey" not in failure.query
    created = Activity.objects.filter(type=ActivityType.CREATED)
    assert {a.lead_id for a in created} == {new.id, by_phone.id}
    assert Activity.objects.filter(type=ActivityType.LEAD_CAPTURE).count() == 3


def test_25_rows_are_accepted_and_26_are_refused_with_one_log_row(bulk):
    rows = [attrs(EmailAddress=f"p{i}@x.com") for i in range(26)]
    refused = bulk(rows)
    assert refused.status_code == 400
    assert refused.json() == {
        "Status": "Error",
        "ExceptionType": "MXInvalidJSONException",
        "ExceptionMessage": "Body not to specification: 26 rows; at most 25 rows per call",
    }
    assert not Lead.objects.exists()
    failure = FailedInjection.objects.get()
    assert (failure.reason_code, failure.data, failure.endpoint) == ("invalid_body", rows, BULK)

    accepted = bulk(rows[:25])
    assert accepted.status_code == 200
    results = accepted.json()
    assert [r["RowNumber"] for r in results] == list(range(1, 26))
    assert all(r["LeadCreated"] for r in results)
    assert Lead.objects.count() == 25
    assert FailedInjection.objects.count() == 1


def test_the_row_limit_comes_from_global_settings(bulk):
    rules(bulk_row_limit=3)
    rows = [attrs(EmailAddress=f"p{i}@x.com") for i in range(4)]
    refused = bulk(rows)
    assert refused.status_code == 400
    assert refused.json()["ExceptionMessage"].endswith("4 rows; at most 3 rows per call")
    assert bulk(rows[:3]).status_code == 200
    assert Lead.objects.count() == 3


@pytest.mark.parametrize(
    ("raw", "message", "data"),
    [
        ("", "the body is empty", {"raw": ""}),
        ("[[{", "malformed JSON", {"raw": "[[{"}),
        ('{"Attribute": "EmailAddress"}', "must be a JSON array", {"Attribute": "EmailAddress"}),
        ('"rows"', "must be a JSON array", "rows"),
        ("[]", "the body holds no rows", []),
        (
            '[[{"Attribute": "FirstName", "Value": "a\\ud800"}]]',
            "lone surrogate",
            {"raw": '[[{"Attribute": "FirstName", "Value": "a\\ud800"}]]'},
        ),
    ],
    ids=["empty", "malformed", "object", "string", "no-rows", "lone-surrogate"],
)
def test_a_body_not_to_spec_is_a_400_with_one_log_row(bulk, raw, message, data):
    response = bulk(raw=raw)
    assert response.status_code == 400
    body = response.json()
    assert body["Status"] == "Error"
    assert body["ExceptionType"] == "MXInvalidJSONException"
    assert message in body["ExceptionMessage"]
    failure = FailedInjection.objects.get()
    assert (failure.reason_code, failure.data, failure.endpoint) == ("invalid_body", data, BULK)
    assert not Lead.objects.exists()


def test_an_escaped_surrogate_pair_is_a_character(bulk):
    response = bulk(
        raw='[[{"Attribute": "EmailAddress", "Value": "a@x.com"}, '
        '{"Attribute": "FirstName", "Value": "\\ud83d\\ude00"}]]'
    )
    assert response.json()[0]["LeadCreated"] is True
    assert Lead.objects.get().first_name == "\U0001f600"


def test_a_bad_update_behavior_refuses_the_call_with_one_log_row(bulk):
    rows = [attrs(EmailAddress="a@x.com"), attrs(EmailAddress="b@x.com")]
    response = bulk(rows, query="LeadUpdateBehavior=Sometimes")
    assert response.status_code == 400
    assert response.json()["ExceptionMessage"].startswith(
        "Invalid value for LeadUpdateBehavior: Sometimes"
    )
    failure = FailedInjection.objects.get()
    assert (failure.reason_code, failure.data) == ("invalid_value", rows)
    assert failure.query == {"LeadUpdateBehavior": "Sometimes"}
    assert not Lead.objects.exists()


def test_the_path_is_case_insensitive(bulk):
    path = "/v2/leadmanagement.svc/lead/bulk/createorupdate"
    response = bulk([attrs(EmailAddress="a@x.com")], path=path)
    assert response.status_code == 200
    assert response.json()[0]["LeadCreated"] is True


@pytest.mark.parametrize(
    "item",
    [
        {"Attribute": "mx_Note", "Value": "a\x00b"},
        {"Attribute": "FirstName", "Value": "a\x00b"},
        {"Attribute": "EmailAddress", "Value": "a\x00b@x.com"},
        {"Attribute": "mx_\x00", "Value": "a"},
        {"Attribute": "mx_KYC", "Value": "", "Fields": [{"Attribute": "S", "Value": "\x00"}]},
    ],
    ids=["custom-field", "field", "email", "attribute-name", "field-set"],
)
def test_a_nul_character_fails_its_row_not_the_call(bulk, item):
    # PostgreSQL cannot store NUL: without the check the whole call was a 500.
    rows = [[{"Attribute": "Phone", "Value": "2015550123"}, item], attrs(EmailAddress="b@x.com")]
    results = bulk(rows).json()
    assert results[0]["ExceptionType"] == "MXInvalidInputException"
    assert results[0]["ExceptionMessage"].endswith("contains a NUL character")
    assert results[1]["LeadCreated"] is True
    assert Lead.objects.get().email_normalized == "b@x.com"
    failure = FailedInjection.objects.get()
    assert failure.reason_code == "invalid_value"
    assert "\ufffd" in json.dumps(failure.data, ensure_ascii=False)  # kept, NUL shown as U+FFFD


# -- rows of one call that name the same person ----------------------------------------------


def test_the_second_row_for_a_person_updates_the_lead_the_first_created(bulk):
    response = bulk(
        [
            attrs(EmailAddress="ann@x.com", FirstName="Ann"),
            attrs(EmailAddress=" ANN@X.COM ", Company="Acme"),
        ]
    )
    lead = Lead.objects.get()
    assert response.json() == [ok(1, lead, created=True), ok(2, lead, created=False)]
    assert (lead.first_name, lead.company, lead.email) == ("Ann", "Acme", "ann@x.com")
    assert Activity.objects.filter(lead=lead, type=ActivityType.CREATED).count() == 1
    assert Activity.objects.filter(lead=lead, type=ActivityType.LEAD_CAPTURE).count() == 2


def test_rows_chained_by_email_then_phone_make_one_lead(bulk):
    response = bulk(
        [
            attrs(EmailAddress="ann@x.com"),
            attrs(EmailAddress="ann@x.com", Phone="+1 (201) 555-0123"),
            attrs(Phone="2015550123", FirstName="Ann"),
        ]
    )
    lead = Lead.objects.get()
    assert [r["LeadId"] for r in response.json()] == [str(lead.id)] * 3
    assert [r["LeadCreated"] for r in response.json()] == [True, False, False]
    assert (lead.phone_normalized, lead.first_name) == ("+12015550123", "Ann")


def test_rows_found_by_searchby_in_the_same_call_make_one_lead(bulk):
    response = bulk(
        [
            attrs(FirstName="Zed", EmailAddress="zed@x.com", SearchBy="FirstName"),
            attrs(FirstName="Zed", Phone="2015550123", mx_City="Pune", SearchBy="FirstName"),
            attrs(mx_City="Pune", Phone="2015550999", SearchBy="mx_City"),
        ]
    )
    lead = Lead.objects.get()
    assert [r["LeadId"] for r in response.json()] == [str(lead.id)] * 3
    assert lead.email_normalized == "zed@x.com"
    assert lead.phone_normalized == "+12015550999"


def test_two_rows_updating_a_held_lead_apply_in_order(bulk):
    held = LeadFactory(email="ann@x.com", company="Old Co")
    response = bulk(
        [
            attrs(EmailAddress="ann@x.com", Company="First", JobTitle="CTO"),
            attrs(EmailAddress="ann@x.com", Company="Second"),
        ]
    )
    assert response.json() == [ok(1, held, created=False), ok(2, held, created=False)]
    held.refresh_from_db()
    assert (held.company, held.job_title) == ("Second", "CTO")
    assert Lead.objects.count() == 1


def test_a_failed_row_between_two_rows_for_one_person_does_not_split_it(bulk):
    response = bulk(
        [
            attrs(EmailAddress="ann@x.com"),
            attrs(EmailAddress="ann@x.com", Phone="12"),
            attrs(EmailAddress="ann@x.com", Company="Acme"),
        ]
    )
    lead = Lead.objects.get()
    results = response.json()
    assert results[0] == ok(1, lead, created=True)
    assert results[1]["ExceptionType"] == "MXInvalidInputException"
    assert results[2] == ok(3, lead, created=False)
    assert (lead.company, lead.phone) == ("Acme", "")
    assert FailedInjection.objects.get().reason_code == "invalid_phone"


def test_similar_email_rule_sees_a_lead_created_earlier_in_the_call(bulk):
    rules(reject_duplicate_email_via_api=True)
    response = bulk(
        [
            attrs(FirstName="Zed", EmailAddress="zed@x.com", SearchBy="FirstName"),
            attrs(FirstName="Yan", EmailAddress="ZED@x.com", SearchBy="FirstName"),
        ]
    )
    lead = Lead.objects.get()
    assert response.json() == [
        ok(1, lead, created=True),
        failed(
            2,
            "MXDuplicateEntryException",
            "Duplicate email: a lead with a similar email already exists",
        ),
    ]
    assert FailedInjection.objects.get().reason_code == "duplicate_email"
    # The rejection is posted to the lead the email belongs to (rule 11).
    rejected = Activity.objects.filter(lead=lead, type=ActivityType.LEAD_CAPTURE)
    assert [bool(a.data.get("rejected")) for a in rejected.order_by("created_at")] == [
        False,
        True,
    ]


# -- custom fields and custom field sets ----------------------------------------------------

KYC = {
    "Attribute": "mx_KYC",
    "Value": "",
    "Fields": [
        {"Attribute": "Status", "Value": "Pending"},
        {"Attribute": "mx_CustomObject_1", "Value": "XYZ12345.png"},
        {"Attribute": "mx_CustomObject_2", "Value": "864563"},
    ],
}


def vendor_row(i):
    # The vendor's documented example row.
    return [
        {"Attribute": "EmailAddress", "Value": f"email{i}@gmail.com"},
        {"Attribute": "FirstName", "Value": f"F{i}Name"},
        {"Attribute": "LastName", "Value": f"L{i}Name"},
        {"Attribute": "mx_City", "Value": f"C{i}Name"},
        {"Attribute": "Company", "Value": f"C{i}Company"},
        KYC,
        {"Attribute": "SearchBy", "Value": "EmailAddress"},
    ]


def test_custom_fields_and_field_sets_are_kept_and_shown_by_get_by_id(bulk, client, ls_keys):
    response = bulk([vendor_row(i) for i in range(3)])
    assert response.status_code == 200
    results = response.json()
    assert [r["LeadCreated"] for r in results] == [True, True, True]
    for i, result in enumerate(results):
        shown = client.get(f"/v2/LeadManagement.svc/Leads.GetById?id={result['LeadId']}&{ls_keys}")
        (lead,) = shown.json()
        assert lead["EmailAddress"] == f"email{i}@gmail.com"
        assert lead["mx_City"] == f"C{i}Name"
        assert lead["mx_KYC"] == {"Value": "", "Fields": KYC["Fields"]}

    approved = {**KYC, "Fields": [{"Attribute": "Status", "Value": "Approved"}]}
    again = bulk([[*vendor_row(0)[:4], approved]])
    assert again.json()[0] == {**again.json()[0], "LeadUpdated": True, "LeadCreated": False}
    lead = Lead.objects.get(email_normalized="email0@gmail.com")
    assert lead.custom_field_sets == {"mx_KYC": {"Value": "", "Fields": approved["Fields"]}}
    assert lead.custom_fields == {"mx_City": "C0Name"}
    assert Lead.objects.count() == 3


# -- cost ------------------------------------------------------------------------------------


def mixed_rows(count):
    """count rows: creates, updates of held leads, an in-call repeat, a SearchBy, a failure."""
    rows = []
    for i in range(count - 3):
        if i % 2:
            rows.append(attrs(EmailAddress=f"held{i}@x.com", Company=f"C{count}"))
        else:
            rows.append(attrs(EmailAddress=f"new{count}-{i}@x.com", Phone=f"20155{count:02}{i:03}"))
    rows.append(attrs(EmailAddress=f"new{count}-0@x.com", FirstName="Again"))
    rows.append(attrs(mx_City="Pune", Phone=f"20166{count:02}000", SearchBy="mx_City"))
    rows.append(attrs(EmailAddress="bad@", FirstName="Bad"))
    return rows


def count_queries(bulk, rows):
    with CaptureQueriesContext(connection) as ctx:
        response = bulk(rows)
    assert response.status_code == 200, response.content
    return len(ctx.captured_queries), response.json()


# auth (1) + settings (3 reads with the in-process cache, 0 with Redis) + lock (PostgreSQL) +
# candidates (1) + insert leads (1) + update leads (1) + activities (1) + log rows (1), and the
# savepoint pair: 11 on SQLite, 12 on PostgreSQL.
MAX_QUERIES = 12


def test_a_call_costs_the_same_queries_for_5_rows_as_for_25(bulk):
    global_settings_get()  # the singleton exists from the first call on
    bulk([attrs(EmailAddress="warm@x.com")])  # the process has verified the keys from then on
    for i in range(22):
        LeadFactory(email=f"held{i}@x.com", custom_fields={"mx_City": "Pune"} if i == 0 else {})
    five, five_results = count_queries(bulk, mixed_rows(5))
    twenty_five, results = count_queries(bulk, mixed_rows(25))
    assert (five, twenty_five) == (five, five)
    assert five <= MAX_QUERIES
    for batch in (five_results, results):
        assert any(r["LeadCreated"] for r in batch)
        assert any(r["LeadUpdated"] for r in batch)
        assert batch[-3]["LeadId"] == batch[0]["LeadId"]  # the in-call repeat
        assert "ExceptionType" in batch[-1]
    assert FailedInjection.objects.count() == 2


# -- credentials, rate limit, retry ---------------------------------------------------------


def test_a_call_counts_once_against_the_rate_limit_and_429_writes_nothing(bulk):
    rules(rate_limit_calls=2, rate_limit_window_seconds=3600)  # no window turns mid-test
    rows = [attrs(EmailAddress=f"p{i}@x.com") for i in range(25)]
    assert bulk(rows[:20]).status_code == 200
    assert bulk(rows[20:]).status_code == 200
    limited = bulk([attrs(EmailAddress="late@x.com"), attrs(Phone="12")])
    assert limited.status_code == 429
    assert limited.json() == {
        "Status": "Error",
        "ExceptionType": "MXAPIRateLimitExceededException",
        "ExceptionMessage": "API calls exceeded the limit of 2 in 3600 second(s)",
    }
    assert "Retry-After" in limited
    assert Lead.objects.count() == 25
    assert not FailedInjection.objects.exists()


def test_bad_keys_are_a_401_and_write_nothing(client, credential):
    url = f"{BULK}?accessKey={credential.access_key}&secretKey=wrong"
    body = json.dumps([attrs(EmailAddress="a@x.com"), attrs(Phone="12")])
    response = client.post(url, body, content_type="application/json")
    assert response.status_code == 401
    assert response.json()["ExceptionType"] == "MXUnAuthorizedAccessException"
    assert not Lead.objects.exists()
    assert not FailedInjection.objects.exists()


def test_retry_injection_replays_a_bulk_row_as_create_or_update(bulk, staff):
    rules(reject_duplicate_email_via_api=True)
    held = LeadFactory(email="ann@x.com")
    row = attrs(FirstName="Zed", EmailAddress="ann@x.com", SearchBy="FirstName")
    assert "ExceptionType" in bulk([row, attrs(FirstName="Yan")]).json()[0]
    duplicate, no_unique = FailedInjection.objects.order_by("id")

    # Replayed as a bulk row: a row without a unique field is still refused, not created.
    lead, error = failure_retry(failure=no_unique, user=staff)
    assert (lead, error.code) == (None, "missing_field")
    no_unique.refresh_from_db()
    assert no_unique.resolved_at is None and no_unique.retry_count == 1

    rules(reject_duplicate_email_via_api=False)
    lead, error = failure_retry(failure=duplicate, user=staff)
    assert error is None
    assert lead.first_name == "Zed" and lead.id != held.id
    duplicate.refresh_from_db()
    assert duplicate.resolved_lead == lead
    assert FailedInjection.objects.count() == 2


def test_the_schema_documents_the_bulk_call(client):
    schema = client.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/v2/LeadManagement.svc/Lead/Bulk/CreateOrUpdate"]["post"]
    assert operation["tags"] == ["LeadSquared"]
    request = operation["requestBody"]["content"]["application/json"]["schema"]
    assert request["items"]["type"] == "array"
    result = operation["responses"]["200"]["content"]["application/json"]["schema"]["items"]
    assert set(result["required"]) == {
        "RowNumber",
        "LeadId",
        "LeadCreated",
        "LeadUpdated",
        "AffectedRows",
    }

"""Lead.Capture over HTTP: the JSON and the rows, for every rule and every error code."""

from __future__ import annotations

import json

import pytest

from injectionlogs.models import FailedInjection
from leads.models import Activity, ActivityType, Lead, Visitor
from settings_global.services import global_settings_update
from tests.factories import AccountFactory, LeadFactory, VisitorFactory
from tests.helpers import attrs

pytestmark = pytest.mark.django_db

CAPTURE = "/v2/LeadManagement.svc/Lead.Capture"


@pytest.fixture
def capture(client, ls_keys):
    def post(body, query="", path=CAPTURE, raw=None):
        url = f"{path}?{ls_keys}{'&' + query if query else ''}"
        data = raw if raw is not None else json.dumps(body)
        return client.post(url, data=data, content_type="application/json")

    return post


def rules(**changes):
    global_settings_update(changes=changes, user=None, via="test")


def test_capture_creates_a_lead_with_its_activity(capture, api_user):
    response = capture(
        attrs(
            FirstName="Wim",
            LastName="Wenders",
            EmailAddress="  Wim.Wenders@Example.COM ",
            Phone="+1 (201) 555-0123",
            Source="Web",
            mx_City="Berlin",
        )
    )
    assert response.status_code == 200
    body = response.json()
    assert body["Status"] == "Success"
    assert body["Message"]["IsCreated"] is True
    lead = Lead.objects.get()
    assert body["Message"]["Id"] == str(lead.id)
    assert lead.email_normalized == "wim.wenders@example.com"
    assert lead.phone_normalized == "+12015550123"
    assert lead.contact_name == "Wim Wenders"
    assert lead.source == "Web"
    assert lead.custom_fields == {"mx_City": "Berlin"}
    assert lead.created_by == api_user
    capture_activity = Activity.objects.get(lead=lead, type=ActivityType.LEAD_CAPTURE)
    assert body["Message"]["RelatedId"] == str(capture_activity.id)
    assert capture_activity.data["source"] == {"source": "Web"}


def test_the_same_person_written_differently_is_one_lead(capture):
    first = capture(attrs(EmailAddress="ann@x.com", Phone="+1 (201) 555-0123")).json()
    again = capture(attrs(Phone="2015550123", FirstName="Ann")).json()
    assert again["Message"] == {
        **again["Message"],
        "Id": first["Message"]["Id"],
        "IsCreated": False,
    }
    lead = Lead.objects.get()
    assert lead.first_name == "Ann"
    assert Activity.objects.filter(lead=lead, type=ActivityType.LEAD_CAPTURE).count() == 2


def test_email_match_is_trimmed_and_case_folded(capture):
    held = LeadFactory(email="ann@x.com")
    body = capture(attrs(EmailAddress="  ANN@X.COM ", LastName="Lee")).json()
    assert body["Message"]["Id"] == str(held.id)
    assert Lead.objects.count() == 1


def test_no_identifier_always_creates(capture):
    capture(attrs(FirstName="A"))
    capture(attrs(FirstName="A"))
    assert Lead.objects.count() == 2


def test_visitor_converts_to_a_lead_with_its_id(capture, client, ls_keys):
    visitor_id = "45b5fded-e696-45a6-9fbb-c6af6178229e"
    tracked = client.post(
        f"/v2/LeadManagement.svc/Visitor.Track?{ls_keys}",
        data=json.dumps({"ProspectID": visitor_id, "Source": "Google Ads"}),
        content_type="application/json",
    )
    assert tracked.status_code == 200
    assert Visitor.objects.get().source == "Google Ads"
    body = capture(attrs(ProspectID=visitor_id, EmailAddress="v@x.com")).json()
    assert body["Message"] == {**body["Message"], "Id": visitor_id, "IsCreated": True}
    lead = Lead.objects.get()
    assert str(lead.id) == visitor_id
    assert lead.source == "Google Ads"  # the tracked source stays the lead's
    assert Visitor.objects.get().converted_at is not None


def test_prospect_match_with_other_email_creates_new_lead(capture):
    held = LeadFactory(email="ann@x.com")
    body = capture(attrs(ProspectID=str(held.id), EmailAddress="other@x.com")).json()
    assert body["Message"]["IsCreated"] is True
    assert body["Message"]["Id"] != str(held.id)
    assert Lead.objects.count() == 2


def test_prospect_match_without_email_updates(capture):
    held = LeadFactory(email="ann@x.com")
    body = capture(attrs(ProspectID=str(held.id), Company="Acme")).json()
    assert body["Message"] == {**body["Message"], "Id": str(held.id), "IsCreated": False}
    held.refresh_from_db()
    assert held.company == "Acme"


def test_searchby_takes_priority(capture):
    by_email = LeadFactory(email="ann@x.com")
    by_phone = LeadFactory(email="bob@x.com", phone="2015550199", phone_normalized="+12015550199")
    body = capture(attrs(EmailAddress="ann@x.com", Phone="2015550199", SearchBy="Phone")).json()
    assert body["Message"]["Id"] == str(by_phone.id)
    assert by_email.id != by_phone.id


def test_searchby_is_ignored_when_all_three_keys_are_passed(capture):
    held = LeadFactory(email="ann@x.com")
    other = LeadFactory(email="bob@x.com", phone="2015550199", phone_normalized="+12015550199")
    body = capture(
        attrs(
            ProspectID=str(held.id), EmailAddress="ann@x.com", Phone="2015550199", SearchBy="Phone"
        )
    ).json()
    assert body["Message"]["Id"] == str(held.id)
    assert other.id != held.id


def test_searchby_custom_field(capture):
    held = LeadFactory(email="ann@x.com", custom_fields={"mx_City": "Pune"})
    body = capture(attrs(EmailAddress="new@x.com", mx_City="Pune", SearchBy="mx_City")).json()
    assert body["Message"]["Id"] == str(held.id)


@pytest.mark.parametrize(
    ("behavior", "company", "email"),
    [
        ("", "New Co", "ann.new@x.com"),
        ("DoNotUpdate", "Old Co", "ann@x.com"),
        ("UpdateOnlyEmptyFields", "Old Co", "ann@x.com"),
        ("DoNotUpdateUniqueFields", "New Co", "ann@x.com"),
    ],
)
def test_lead_update_behavior(capture, behavior, company, email):
    held = LeadFactory(email="ann@x.com", company="Old Co", job_title="")
    query = f"LeadUpdateBehavior={behavior}" if behavior else ""
    response = capture(
        attrs(
            ProspectID=str(held.id),
            EmailAddress="ann@x.com",
            Company="New Co",
            JobTitle="CTO",
        ),
        query=query,
    )
    assert response.status_code == 200
    # Change the email by a second call with ProspectID only, to test unique-field handling.
    capture(attrs(ProspectID=str(held.id), Company="New Co", Mobile="1"), query=query)
    held.refresh_from_db()
    assert held.company == company
    assert held.job_title == ("" if behavior == "DoNotUpdate" else "CTO")
    assert held.email == "ann@x.com"
    assert email  # the email is never changed by these calls: rule 4 guards it


def test_do_not_update_unique_fields_keeps_the_phone(capture):
    held = LeadFactory(email="ann@x.com", phone="2015550123", phone_normalized="+12015550123")
    capture(
        attrs(EmailAddress="ann@x.com", Phone="2015550999", FirstName="Zoe"),
        query="LeadUpdateBehavior=DoNotUpdateUniqueFields",
    )
    held.refresh_from_db()
    assert held.phone_normalized == "+12015550123"
    assert held.first_name == "Zoe"


def test_repeat_capture_never_overwrites_the_source(capture):
    capture(attrs(EmailAddress="ann@x.com", Source="Website", SourceCampaign="Spring"))
    capture(attrs(EmailAddress="ann@x.com", Source="Facebook", SourceCampaign="Fall"))
    lead = Lead.objects.get()
    assert (lead.source, lead.source_campaign) == ("Website", "Spring")
    latest = Activity.objects.filter(lead=lead, type=ActivityType.LEAD_CAPTURE).first()
    assert latest.data["source"] == {"source": "Facebook", "source_campaign": "Fall"}


def test_related_company_id_links_the_account(capture):
    account = AccountFactory(name="Acme")
    capture(attrs(EmailAddress="ann@x.com", RelatedCompanyId=str(account.id)))
    assert Lead.objects.get().account == account


def test_unknown_related_company_is_rejected_and_logged(capture):
    response = capture(
        attrs(EmailAddress="ann@x.com", RelatedCompanyId="82a19544-ef4f-4cef-a09c-d68b939742f9")
    )
    assert response.status_code == 400
    assert "No such account" in response.json()["ExceptionMessage"]
    assert FailedInjection.objects.get().reason_code == "not_found"
    assert not Lead.objects.exists()


def test_duplicate_rejection_posts_the_capture_to_the_existing_lead(capture):
    rules(reject_duplicate_email_via_api=True)
    held = LeadFactory(email="ann@x.com")
    other = LeadFactory(email="bob@x.com")
    response = capture(attrs(ProspectID=str(other.id), EmailAddress=" Ann@X.com"))
    assert response.status_code == 400
    assert response.json() == {
        "Status": "Error",
        "ExceptionType": "MXDuplicateEntryException",
        "ExceptionMessage": "Duplicate email: a lead with a similar email already exists",
    }
    assert Lead.objects.count() == 2
    activity = Activity.objects.get(lead=held, type=ActivityType.LEAD_CAPTURE)
    assert activity.data["rejected"]["reason_code"] == "duplicate_email"
    failure = FailedInjection.objects.get()
    assert failure.reason_code == "duplicate_email"
    assert failure.data == attrs(ProspectID=str(other.id), EmailAddress=" Ann@X.com")


def test_similar_email_rule_does_not_block_an_update(capture):
    rules(reject_duplicate_email_via_api=True)
    held = LeadFactory(email="ann@x.com")
    response = capture(attrs(EmailAddress="ANN@x.com", Company="Acme"))
    assert response.status_code == 200
    assert response.json()["Message"]["Id"] == str(held.id)


def test_contact_name_required_when_the_switch_is_on(capture):
    rules(require_contact_name=True)
    response = capture(attrs(EmailAddress="ann@x.com"))
    assert response.status_code == 400
    assert FailedInjection.objects.get().reason_code == "missing_contact_name"
    assert capture(attrs(EmailAddress="ann@x.com", FirstName="Ann")).status_code == 200
    assert Lead.objects.get().contact_name == "Ann"


# -- the single-lead calls ------------------------------------------------------------------


def test_lead_create_then_duplicate(client, ls_keys):
    url = f"/v2/LeadManagement.svc/Lead.Create?{ls_keys}"
    body = attrs(EmailAddress="ann@x.com", FirstName="Ann")
    first = client.post(url, json.dumps(body), content_type="application/json")
    assert first.json() == {"Status": "Success", "Message": {"Id": str(Lead.objects.get().id)}}
    again = client.post(url, json.dumps(body), content_type="application/json")
    assert again.status_code == 400
    assert again.json()["ExceptionType"] == "MXDuplicateEntryException"
    assert Lead.objects.count() == 1
    assert FailedInjection.objects.get().reason_code == "duplicate_email"


def test_lead_update_by_id(client, ls_keys):
    held = LeadFactory(email="ann@x.com")
    url = f"/v2/LeadManagement.svc/Lead.Update?{ls_keys}&leadId={held.id}"
    response = client.post(url, json.dumps(attrs(Company="Acme")), content_type="application/json")
    assert response.json() == {"Status": "Success", "Message": {"AffectedRows": 1}}
    held.refresh_from_db()
    assert held.company == "Acme"


def test_lead_update_unknown_id(client, ls_keys):
    url = (
        f"/v2/LeadManagement.svc/Lead.Update?{ls_keys}&leadId=82a19544-ef4f-4cef-a09c-d68b939742f9"
    )
    response = client.post(url, json.dumps(attrs(Company="A")), content_type="application/json")
    assert response.status_code == 400, response.content
    assert response.json() == {
        "Status": "Error",
        "ExceptionType": "MXInvalidEntityException",
        "ExceptionMessage": "Lead does not exist in the system",
    }
    assert FailedInjection.objects.get().reason_code == "not_found"


def test_lead_create_or_update(client, ls_keys):
    url = f"/v2/LeadManagement.svc/Lead.CreateOrUpdate?{ls_keys}&postUpdatedLead=false"
    created = client.post(
        url, json.dumps(attrs(EmailAddress="ann@x.com")), content_type="application/json"
    ).json()
    lead = Lead.objects.get()
    assert created == {"Status": "Success", "Message": {"Id": str(lead.id), "AffectedRows": 1}}
    updated = client.post(
        url,
        json.dumps(attrs(EmailAddress="ann@x.com", Company="Acme")),
        content_type="application/json",
    ).json()
    assert updated["Message"]["Id"] == str(lead.id)
    lead.refresh_from_db()
    assert lead.company == "Acme"
    no_key = client.post(url, json.dumps(attrs(Company="X")), content_type="application/json")
    assert no_key.status_code == 400
    assert FailedInjection.objects.get().reason_code == "missing_field"


def test_lead_convert(client, ls_keys):
    visitor = VisitorFactory()
    url = f"/v2/LeadManagement.svc/Lead.Convert?{ls_keys}&leadId={visitor.id}"
    response = client.post(
        url, json.dumps(attrs(EmailAddress="v@x.com")), content_type="application/json"
    )
    assert response.json() == {"Status": "Success", "Message": {"AffectedRows": 1}}
    assert Lead.objects.get().id == visitor.id


# -- reads --------------------------------------------------------------------------------


def test_get_by_id_shows_custom_fields_and_sets(capture, client, ls_keys):
    kyc = {
        "Attribute": "mx_KYC",
        "Value": "",
        "Fields": [{"Attribute": "Status", "Value": "Pending"}],
    }
    body = capture([*attrs(EmailAddress="ann@x.com", mx_City="Pune"), kyc]).json()
    lead_id = body["Message"]["Id"]
    rows = client.get(f"/v2/LeadManagement.svc/Leads.GetById?{ls_keys}&id={lead_id}").json()
    assert rows[0]["ProspectID"] == lead_id
    assert rows[0]["EmailAddress"] == "ann@x.com"
    assert rows[0]["mx_City"] == "Pune"
    assert rows[0]["mx_KYC"] == {
        "Value": "",
        "Fields": [{"Attribute": "Status", "Value": "Pending"}],
    }
    missing = client.get(
        f"/v2/LeadManagement.svc/Leads.GetById?{ls_keys}&id=82a19544-ef4f-4cef-a09c-d68b939742f9"
    )
    assert missing.json() == []
    bad = client.get(f"/v2/LeadManagement.svc/Leads.GetById?{ls_keys}&id=nope")
    assert bad.status_code == 400


def test_get_by_email(client, ls_keys):
    held = LeadFactory(email="ann@x.com")
    rows = client.get(
        f"/v2/LeadManagement.svc/Leads.GetByEmailaddress?{ls_keys}&emailaddress=ANN@x.com"
    ).json()
    assert [r["ProspectID"] for r in rows] == [str(held.id)]


def test_metadata_lists_standard_and_custom_fields(client, ls_keys, capture):
    assert capture(attrs(EmailAddress="pune@x.com", mx_City="Pune")).status_code == 200
    rows = client.get(f"/v2/LeadManagement.svc/LeadsMetaData.Get?{ls_keys}").json()
    names = {r["SchemaName"]: r for r in rows}
    assert names["EmailAddress"]["IsLeadIdentifier"] is True
    assert names["FirstName"]["IsLeadIdentifier"] is False
    assert names["mx_City"]["IsCustomField"] is True
    assert set(names["Phone"]) >= {
        "SchemaName",
        "DisplayName",
        "DataType",
        "IsMandatory",
        "MaxLength",
        "IsLeadIdentifier",
    }


def test_paths_are_case_insensitive(capture):
    response = capture(attrs(EmailAddress="a@x.com"), path="/v2/leadmanagement.svc/lead.capture")
    assert response.status_code == 200


# -- one test per error code ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "where"),
    [
        ('[{"Attribute":"EmailAddress","Value":"x', "Unterminated string starting at character 37"),
        ("[", "Expecting value at character 1"),
        ('[{"Attribute": "FirstName"} x]', "Expecting ',' delimiter at character 28"),
    ],
)
def test_malformed_json_says_where_it_stopped_in_plain_words(capture, raw, where):
    response = capture(None, raw=raw)
    assert response.status_code == 400
    message = response.json()["ExceptionMessage"]
    assert message == f"Body not to specification: malformed JSON ({where})"
    assert FailedInjection.objects.get().reason == message


@pytest.mark.parametrize(
    ("raw", "reason", "message"),
    [
        ('[{"Attribute":', "invalid_body", "malformed JSON"),
        ('{"Attribute": "EmailAddress"}', "invalid_body", "must be a JSON array"),
        ("[]", "invalid_body", "holds no attributes"),
        ('[{"Value": "x"}]', "invalid_body", "string Attribute"),
        ('[{"Attribute": "Nope", "Value": "x"}]', "invalid_value", "Nope is not a lead field"),
        (
            '[{"Attribute": "EmailAddress", "Value": "not-an-email"}]',
            "invalid_email",
            "not-an-email",
        ),
        ('[{"Attribute": "Phone", "Value": "12"}]', "invalid_phone", "Invalid phone number: 12"),
        ('[{"Attribute": "Phone", "Value": "call me"}]', "invalid_phone", "call me"),
        ('[{"Attribute": "SearchBy", "Value": "Shoe"}]', "invalid_value", "SearchBy"),
        ('[{"Attribute": "ProspectID", "Value": "zz"}]', "invalid_value", "ProspectID"),
        ('[{"Attribute": "FirstName", "Value": {"a": 1}}]', "invalid_body", "string or a number"),
    ],
)
def test_400_for_a_body_not_to_spec_logs_the_data(capture, raw, reason, message):
    response = capture(None, raw=raw)
    assert response.status_code == 400
    body = response.json()
    assert body["Status"] == "Error"
    assert message in body["ExceptionMessage"]
    failure = FailedInjection.objects.get()
    assert failure.reason_code == reason
    assert failure.family == "leadsquared"
    assert failure.endpoint == CAPTURE
    assert "secret" not in json.dumps(failure.data) + json.dumps(failure.query)
    assert not Lead.objects.exists()


def test_400_for_an_unknown_update_behavior(capture):
    response = capture(attrs(EmailAddress="a@x.com"), query="LeadUpdateBehavior=Sometimes")
    assert response.status_code == 400
    assert "LeadUpdateBehavior" in response.json()["ExceptionMessage"]
    assert FailedInjection.objects.get().query == {"LeadUpdateBehavior": "Sometimes"}


@pytest.mark.parametrize(
    "query",
    ["", "accessKey=ak_vendor", "accessKey=ak_vendor&secretKey=wrong", "accessKey=x&secretKey=y"],
)
def test_401_for_bad_keys_writes_no_row(client, credential, query):
    response = client.post(
        f"{CAPTURE}?{query}",
        json.dumps(attrs(EmailAddress="a@x.com")),
        content_type="application/json",
    )
    assert response.status_code == 401
    assert response.json()["Status"] == "Error"
    assert response.json()["ExceptionType"] == "MXUnAuthorizedAccessException"
    assert not FailedInjection.objects.exists()
    assert not Lead.objects.exists()


def test_401_after_revocation(capture, credential):
    from settings_global.services import api_credential_revoke

    assert capture(attrs(EmailAddress="a@x.com")).status_code == 200
    api_credential_revoke(credential=credential)
    assert capture(attrs(EmailAddress="b@x.com")).status_code == 401


def test_404_for_an_unknown_api(client, ls_keys):
    response = client.get(f"/v2/LeadManagement.svc/Lead.Teleport?{ls_keys}")
    assert response.status_code == 404
    assert response.json()["Status"] == "Error"


def test_429_with_retry_after_and_no_row(capture, client, ls_keys):
    rules(rate_limit_calls=3, rate_limit_window_seconds=3600)  # no window turns mid-test
    statuses = [capture(attrs(FirstName=f"n{i}")).status_code for i in range(5)]
    assert statuses[:3] == [200, 200, 200]
    assert statuses[3:] == [429, 429]
    limited = capture(attrs(FirstName="late"))
    assert limited.json() == {
        "Status": "Error",
        "ExceptionType": "MXAPIRateLimitExceededException",
        "ExceptionMessage": "API calls exceeded the limit of 3 in 3600 second(s)",
    }
    assert 1 <= int(limited["Retry-After"]) <= 3600
    assert Lead.objects.count() == 3
    assert not FailedInjection.objects.exists()


def test_rate_limit_is_per_credential(capture, client):
    from tests.factories import ApiCredentialFactory

    rules(rate_limit_calls=2)
    for _ in range(3):
        capture(attrs(FirstName="x"))
    other = ApiCredentialFactory(access_key="ak_other")
    response = client.post(
        f"{CAPTURE}?accessKey=ak_other&secretKey=secret-ak_other",
        json.dumps(attrs(FirstName="y")),
        content_type="application/json",
    )
    assert response.status_code == 200
    assert other.pk


def test_500_only_for_a_real_fault_in_the_family_format(capture, monkeypatch):
    import leads.api.leadsquared as module

    def broken(**kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(module, "lead_ingest", broken)
    response = capture(attrs(EmailAddress="a@x.com"))
    assert response.status_code == 500
    assert response.json()["Status"] == "Error"
    assert "disk on fire" not in response.json()["ExceptionMessage"]


def test_503_with_retry_after_when_the_database_is_down(capture, monkeypatch):
    from django.db import OperationalError

    import leads.api.leadsquared as module

    def down(**kwargs):
        raise OperationalError("connection refused")

    monkeypatch.setattr(module, "lead_ingest", down)
    response = capture(attrs(EmailAddress="a@x.com"))
    assert response.status_code == 503
    assert response["Retry-After"] == "5"
    assert response.json()["ExceptionMessage"] == "Service unavailable, retry later"
    assert not Lead.objects.exists()


def test_a_body_starting_with_a_byte_order_mark_is_read(capture):
    raw = "\ufeff" + json.dumps(attrs(EmailAddress="bom@x.com"))
    response = capture(None, raw=raw.encode("utf-8"))
    assert response.status_code == 200
    assert Lead.objects.get().email == "bom@x.com"


def test_keys_may_come_in_the_x_lsq_headers(client, credential):
    response = client.post(
        CAPTURE,
        json.dumps(attrs(EmailAddress="hdr@x.com")),
        content_type="application/json",
        HTTP_X_LSQ_ACCESSKEY="ak_vendor",
        HTTP_X_LSQ_SECRETKEY="secret-ak_vendor",
    )
    assert response.status_code == 200
    wrong = client.post(
        CAPTURE,
        json.dumps(attrs(EmailAddress="hdr2@x.com")),
        content_type="application/json",
        HTTP_X_LSQ_ACCESSKEY="ak_vendor",
        HTTP_X_LSQ_SECRETKEY="nope",
    )
    assert wrong.status_code == 401
    assert Lead.objects.count() == 1


@pytest.mark.parametrize(
    "raw",
    [
        '[{"Attribute": "FirstName", "Value": NaN}]',
        '[{"Attribute": "FirstName", "Value": -Infinity}]',
        '[{"Attribute": "FirstName", "Value": ' + "9" * 5000 + "}]",
        "[" * 100_000 + "]" * 100_000,
    ],
    ids=["nan", "infinity", "huge-int", "deep"],
)
def test_json_python_accepts_but_the_spec_does_not_is_a_logged_400(capture, raw):
    response = capture(None, raw=raw)
    assert response.status_code == 400
    assert response.json()["ExceptionType"] == "MXInvalidJSONException"
    assert FailedInjection.objects.get().reason_code == "invalid_body"

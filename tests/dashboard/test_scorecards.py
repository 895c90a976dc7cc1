"""Vendor scorecards: the arithmetic against a known mix of calls made through the real APIs."""

from __future__ import annotations

import csv
import io
import json
from collections import Counter

import pytest
from django.urls import reverse

from injectionlogs.models import FailedInjection, IntakeCount
from injectionlogs.selectors import intake_rows, vendor_scorecards
from leads.capture_requests import capture_request_process
from leads.models import CaptureRequest, Lead
from leads.replay import failure_retry
from leads.stats import intake_counts_rebuild
from settings_global.services import global_settings_update
from tests.admin_helpers import logged_in
from tests.factories import (
    ApiCredentialFactory,
    CampaignFactory,
    DncEntryFactory,
    ListFactory,
    UserFactory,
)
from tests.helpers import attrs

pytestmark = pytest.mark.django_db

LS = "/v2/LeadManagement.svc/"


def rules(**changes):
    global_settings_update(changes=changes, user=None, via="test")


class Calls:
    """One vendor's calls in every family; `expect` tallies what each should count as."""

    def __init__(self, client, access_key: str):
        self.client = client
        self.key = access_key
        self.expect: Counter = Counter()
        self.reasons: Counter = Counter()

    @property
    def ls_keys(self) -> str:
        return f"accessKey={self.key}&secretKey=secret-{self.key}"

    def tally(self, outcome: str, reason: str = "") -> None:
        self.expect[outcome] += 1
        if reason:
            self.reasons[reason] += 1

    def ls(self, call: str, body, query: str = "", status: int = 200):
        sep = "&" if "?" in call else "?"
        url = f"{LS}{call}{sep}{self.ls_keys}{'&' + query if query else ''}"
        raw = body if isinstance(body, str) else json.dumps(body)
        response = self.client.post(url, raw, content_type="application/json")
        assert response.status_code == status, response.content
        return response

    def convoso(self, data: dict, status: int = 200):
        response = self.client.post("/v1/leads/insert", {**data, "auth_token": f"token-{self.key}"})
        assert response.status_code == status, response.content
        return response

    def aninja(self, data: dict, status: int = 200):
        response = self.client.post(f"/api/v1/contactform/?apikey=aninja-{self.key}", data)
        assert response.status_code == status, response.content
        return response

    def accept_async(self, body) -> str:
        response = self.client.post(
            f"/lead/capture?{self.ls_keys}",
            json.dumps(body),
            content_type="application/json",
            HTTP_X_API_KEY=f"apikey-{self.key}",
        )
        assert response.status_code == 200, response.content
        return response.json()["RequestID"]


@pytest.fixture
def lst(db):
    return ListFactory(name="Solar March", campaign=CampaignFactory(name="Solar"))


def run_the_mix(client, credential, lst) -> Calls:
    rules(rate_limit_calls=1000)
    v = Calls(client, credential.access_key)

    # LeadSquared Lead.Capture: created, then the same email again updates it.
    v.ls("Lead.Capture", attrs(EmailAddress="ann@x.com", FirstName="Ann"))
    v.tally("created")
    v.ls("Lead.Capture", attrs(EmailAddress="ANN@x.com", Company="Acme"))
    v.tally("updated")
    v.ls("Lead.Capture", attrs(EmailAddress="not an email"), status=400)
    v.tally("rejected", "invalid_email")
    v.ls("Lead.Capture", '{"not": "an array"}', status=400)
    v.tally("rejected", "invalid_body")
    v.ls("Lead.Capture", attrs(EmailAddress="x@x.com", SearchBy="NoSuchField"), status=400)
    v.tally("rejected", "invalid_value")
    # Lead.Create of an address held, Lead.Update of no lead.
    v.ls("Lead.Create", attrs(EmailAddress="ann@x.com"), status=400)
    v.tally("rejected", "duplicate_email")
    v.ls(
        "Lead.Update?leadId=00000000-0000-0000-0000-000000000001",
        attrs(FirstName="Nobody"),
        status=400,
    )
    v.tally("rejected", "not_found")

    # Bulk: a new row, a found row and a row with no unique field: one count each.
    v.ls(
        "Lead/Bulk/CreateOrUpdate",
        [
            attrs(EmailAddress="bob@x.com", FirstName="Bob"),
            attrs(EmailAddress="ann@x.com", LastName="Lee"),
            attrs(FirstName="No keys"),
        ],
    )
    v.tally("created")
    v.tally("updated")
    v.tally("rejected", "missing_field")
    # A bulk call refused as a whole (too many rows) is one log row: it counts once.
    v.ls(
        "Lead/Bulk/CreateOrUpdate",
        [attrs(EmailAddress=f"r{i}@x.com") for i in range(26)],
        status=400,
    )
    v.tally("rejected", "invalid_body")

    # Convoso insert: created, found (update_if_found), and each of its rejections.
    v.convoso({"list_id": lst.id, "phone_number": "2015550101", "first_name": "Cy"})
    v.tally("created")
    v.convoso(
        {"list_id": lst.id, "phone_number": "2015550101", "update_if_found": "1", "city": "Rome"}
    )
    v.tally("updated")
    v.convoso({"list_id": lst.id, "phone_number": "2015550101", "check_dup": "1"}, status=400)
    v.tally("rejected", "duplicate_phone")
    DncEntryFactory(phone="+12015550199", campaign=None)
    v.convoso({"list_id": lst.id, "phone_number": "2015550199", "check_dnc": "1"}, status=400)
    v.tally("rejected", "dnc")
    v.convoso({"list_id": lst.id, "phone_number": "12"}, status=400)
    v.tally("rejected", "invalid_phone")
    v.convoso({"list_id": 999999, "phone_number": "2015550102"}, status=400)
    v.tally("rejected", "unknown_list")
    v.convoso({"list_id": lst.id}, status=400)
    v.tally("rejected", "missing_field")

    # aNinja contact form: created; no contact name; a similar email under the global rule.
    v.aninja({"contact_name": "Dee", "contact_email1": "dee@x.com"})
    v.tally("created")
    v.aninja({"contact_email1": "nameless@x.com"}, status=400)
    v.tally("rejected", "missing_contact_name")
    rules(reject_duplicate_email_via_api=True)
    v.aninja({"contact_name": "Dee Two", "contact_email1": " DEE@x.com"}, status=400)
    v.tally("rejected", "duplicate_email")
    rules(reject_duplicate_email_via_api=False)

    # Async: counted when the worker processes it, not when it is accepted.
    done = v.accept_async(attrs(EmailAddress="eve@x.com"))
    bad = v.accept_async(attrs(EmailAddress="eve@x.com", ProspectID="not-a-uuid"))
    v.accept_async(attrs(EmailAddress="late@x.com"))  # still queued: counts nowhere yet
    assert capture_request_process(request_id=done) == "Success"
    v.tally("created")
    assert capture_request_process(request_id=bad) == "FAILURE"
    v.tally("rejected", "invalid_value")

    # A 401 and a 429 count nowhere.
    bad_keys = client.post(
        f"{LS}Lead.Capture?accessKey={credential.access_key}&secretKey=wrong",
        json.dumps(attrs(EmailAddress="no@x.com")),
        content_type="application/json",
    )
    assert bad_keys.status_code == 401
    # A new limit starts a new count: one call passes, then 429. An hour's window: with the
    # default 5 s one, a window that turns between the two calls lets both pass.
    rules(rate_limit_calls=1, rate_limit_window_seconds=3600)
    v.ls("Lead.Capture", attrs(EmailAddress="fay@x.com"))
    v.tally("created")
    v.ls("Lead.Capture", attrs(EmailAddress="limited@x.com"), status=429)
    rules(rate_limit_calls=1000)
    return v


def expected_card(username: str, v: Calls) -> dict:
    created, updated, rejected = v.expect["created"], v.expect["updated"], v.expect["rejected"]
    return {
        "username": username,
        "received": created + updated + rejected,
        "accepted": created + updated,
        "created": created,
        "updated": updated,
        "rejected": rejected,
        "by_reason": dict(sorted(v.reasons.items())),
    }


def period():
    from django.utils import timezone

    now = timezone.now()
    return now - timezone.timedelta(hours=2), now + timezone.timedelta(hours=1)


def test_the_scorecard_counts_every_family_and_nothing_else(client, credential, api_user, lst):
    other = ApiCredentialFactory(user=UserFactory(username="acme"), access_key="ak_acme")
    v = run_the_mix(client, credential, lst)
    acme = Calls(client, other.access_key)
    acme.ls("Lead.Capture", attrs(EmailAddress="zed@x.com"))
    acme.tally("created")

    since, until = period()
    cards = [c.as_dict() for c in vendor_scorecards(since=since, until=until)]
    assert cards == [expected_card("acme", acme), expected_card("vendor", v)]
    # Counted by hand: 6 created, 3 updated, 15 rejected; the 401, the 429 and the request
    # still in the queue are not among them.
    mine = cards[1]
    assert (mine["created"], mine["updated"], mine["rejected"]) == (6, 3, 15)
    assert mine["received"] == mine["accepted"] + mine["rejected"] == 24
    # The rows the calls left agree: every rejection is one log row, every creation one lead.
    assert FailedInjection.objects.filter(api_user=api_user).count() == mine["rejected"]
    assert Lead.objects.filter(created_by=api_user).count() == mine["created"]
    assert CaptureRequest.objects.filter(status="In-Queue").count() == 1


def test_the_json_endpoint_and_the_csv_give_the_same_figures(
    client, credential, api_user, lst, staff
):
    v = run_the_mix(client, credential, lst)
    since, until = period()
    staff_api = logged_in(staff)
    response = staff_api.get(
        "/api/v1/stats/vendors/", {"since": since.isoformat(), "until": until.isoformat()}
    )
    assert response.status_code == 200
    assert response.json() == [expected_card("vendor", v)]

    page = staff_api.get(reverse("intake-scorecards"), {"period": "24h", "format": "csv"})
    assert page.status_code == 200 and page["Content-Type"] == "text/csv"
    rows = list(csv.DictReader(io.StringIO(page.content.decode())))
    assert len(rows) == 1 and rows[0]["username"] == "vendor"
    expected = expected_card("vendor", v)
    for name in ("received", "accepted", "created", "updated", "rejected"):
        assert int(rows[0][name]) == expected[name]
    for code, n in expected["by_reason"].items():
        assert int(rows[0][code]) == n


def test_the_rebuild_command_gives_back_the_live_counts(client, credential, lst):
    run_the_mix(client, credential, lst)
    since, until = period()
    live = [c.as_dict() for c in vendor_scorecards(since=since, until=until)]
    IntakeCount.objects.all().delete()
    assert vendor_scorecards(since=since, until=until) == []
    intake_counts_rebuild()
    assert [c.as_dict() for c in vendor_scorecards(since=since, until=until)] == live


def test_a_staff_retry_counts_as_native_and_not_for_the_vendor(client, credential, staff):
    v = Calls(client, credential.access_key)
    v.aninja({"contact_email1": "nameless@x.com"}, status=400)
    since, until = period()
    before = [c.as_dict() for c in vendor_scorecards(since=since, until=until)]
    assert before[0]["rejected"] == 1

    rules(require_contact_name=False)
    failure = FailedInjection.objects.get()
    failure.data["contact_name"] = "Named later"
    failure.save()
    lead, error = failure_retry(failure=failure, user=staff)
    assert error is None and lead is not None

    assert [c.as_dict() for c in vendor_scorecards(since=since, until=until)] == before
    native = [r for r in intake_rows(since=since, until=until) if r.family == "native"]
    assert [(r.api_user_id, r.outcome, r.count) for r in native] == [(0, "created", 1)]


def test_a_bad_period_is_a_400(staff):
    response = logged_in(staff).get("/api/v1/stats/vendors/", {"since": "yesterday"})
    assert response.status_code == 400
    assert "since" in response.json()["detail"] or "ISO" in response.json()["detail"]
    response = logged_in(staff).get(
        "/api/v1/stats/vendors/", {"since": "2026-02-02", "until": "2026-02-01"}
    )
    assert response.status_code == 400

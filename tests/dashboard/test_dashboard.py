"""The dashboard, the JSON endpoint's permissions, the rule preview and the plans at size."""

from __future__ import annotations

import json
import re
from datetime import timedelta

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from injectionlogs.models import IntakeCount
from injectionlogs.selectors import intake_rows, vendor_scorecards
from leads.models import CaptureRequest, Lead
from leads.selectors import async_queue_stats, rule_preview
from lists_hopper.models import HopperEntry
from lists_hopper.stats import hopper_depth_by_campaign
from settings_global.services import global_settings_update
from tests.admin_helpers import logged_in, settings_url, staff_with
from tests.factories import (
    ApiCredentialFactory,
    CampaignFactory,
    CaptureRequestFactory,
    LeadFactory,
    ListFactory,
    UserFactory,
)
from tests.helpers import ON_POSTGRES, attrs

pytestmark = pytest.mark.django_db

STATS = "/api/v1/stats/vendors/"


# -- the JSON endpoint's permissions ----------------------------------------------------------


def test_anonymous_is_refused(client):
    response = client.get(STATS)
    assert response.status_code in (401, 403)
    assert response.status_code == 401  # Basic first: a script is told to authenticate


def test_a_non_staff_user_is_403(db):
    c = Client()
    c.force_login(UserFactory(username="outsider"))
    assert c.get(STATS).status_code == 403


def test_an_api_vendor_with_basic_auth_is_403(api_user):
    api_user.set_password("pw")
    api_user.save()
    c = Client(HTTP_AUTHORIZATION="Basic dmVuZG9yOnB3")  # vendor:pw
    assert c.get(STATS).status_code == 403


def test_staff_get_the_figures(staff, client, ls_keys):
    client.post(
        f"/v2/LeadManagement.svc/Lead.Capture?{ls_keys}",
        json.dumps(attrs(EmailAddress="a@x.com")),
        content_type="application/json",
    )
    response = logged_in(staff).get(STATS)
    assert response.status_code == 200
    assert response.json() == [
        {
            "username": "vendor",
            "received": 1,
            "accepted": 1,
            "created": 1,
            "updated": 0,
            "rejected": 0,
            "by_reason": {},
        }
    ]


def test_a_period_before_the_calls_is_empty(staff, client, ls_keys):
    client.post(
        f"/v2/LeadManagement.svc/Lead.Capture?{ls_keys}",
        json.dumps(attrs(EmailAddress="a@x.com")),
        content_type="application/json",
    )
    response = logged_in(staff).get(STATS, {"since": "2020-01-01", "until": "2020-01-31"})
    assert response.status_code == 200 and response.json() == []


# -- the screens ------------------------------------------------------------------------------


def test_the_dashboard_renders_on_an_empty_database(staff):
    page = logged_in(staff).get(reverse("intake-dashboard"))
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('class="chart"') == 9  # 4 charts per window, and the hopper
    assert "No intake in this period" in html and "The hopper is empty" in html
    assert "http://" not in html.replace('xmlns="http://www.w3.org/2000/svg"', "")
    assert '<script src="http' not in html


def test_the_admin_index_links_the_dashboard(staff):
    page = logged_in(staff).get(reverse("admin:index"))
    assert reverse("intake-dashboard") in page.content.decode()


def test_the_dashboard_is_staff_only(db):
    c = Client()
    c.force_login(UserFactory(username="outsider"))
    response = c.get(reverse("intake-dashboard"))
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_the_dashboard_shows_the_figures(staff, client, ls_keys):
    url = f"/v2/LeadManagement.svc/Lead.Capture?{ls_keys}"
    for body in (
        attrs(EmailAddress="a@x.com"),
        attrs(EmailAddress="a@x.com", Company="Acme"),
        attrs(EmailAddress="b@x.com"),
        attrs(EmailAddress="not an email"),
    ):
        client.post(url, json.dumps(body), content_type="application/json")
    campaign = CampaignFactory(name="Solar")
    now = timezone.now()
    for minutes in (10, 50, 90, None):
        HopperEntry.objects.create(
            lead=LeadFactory(),
            campaign=campaign,
            expires_at=now + timedelta(minutes=minutes) if minutes else None,
        )
    CaptureRequestFactory()
    page = logged_in(staff).get(reverse("intake-dashboard"))
    html = page.content.decode()
    window = page.context["hours"]
    assert (window["received"], window["created"], window["updated"], window["rejected"]) == (
        4,
        2,
        1,
        1,
    )
    assert window["matched_share"] == pytest.approx(33.3)
    assert "Invalid email" in html
    assert [(d.campaign, d.live, d.expiring_next_hour) for d in page.context["hopper"]] == [
        ("Solar", 4, 2)
    ]
    assert page.context["queue"].depth == 1
    assert re.search(r"vendor: 4</title>", html)  # the vendor chart: received, this hour


def test_scorecards_link_to_the_filtered_leads_and_log(staff, client, ls_keys, api_user):
    url = f"/v2/LeadManagement.svc/Lead.Capture?{ls_keys}"
    client.post(url, json.dumps(attrs(EmailAddress="a@x.com")), content_type="application/json")
    client.post(url, json.dumps(attrs(EmailAddress="nope")), content_type="application/json")
    LeadFactory(email="other@x.com")  # not the vendor's
    admin = logged_in(staff)
    page = admin.get(reverse("intake-scorecards"), {"period": "24h"})
    row = page.context["rows"][0]
    leads = admin.get(row["links"]["leads"])
    assert leads.status_code == 200
    assert [lead.email for lead in leads.context["cl"].result_list] == ["a@x.com"]
    log = admin.get(row["links"]["log"])
    assert log.status_code == 200
    assert [f.api_user_id for f in log.context["cl"].result_list] == [api_user.pk]


def test_a_bad_period_on_the_scorecards_says_so(staff):
    page = logged_in(staff).get(reverse("intake-scorecards"), {"since": "soon"})
    assert page.status_code == 200 and "not an ISO date" in page.content.decode()


# -- the rule preview -------------------------------------------------------------------------


class Vendor:
    """A vendor's credentials and its calls, through the real APIs."""

    def __init__(self, client, username):
        self.client = client
        self.key = f"ak_{username}"
        ApiCredentialFactory(user=UserFactory(username=username), access_key=self.key)

    def capture(self, **fields):
        url = (
            f"/v2/LeadManagement.svc/Lead.Capture?accessKey={self.key}&secretKey=secret-{self.key}"
        )
        response = self.client.post(
            url, json.dumps(attrs(**fields)), content_type="application/json"
        )
        assert response.status_code == 200, response.content
        return response.json()["Message"]

    def insert(self, lst, **fields):
        data = {"auth_token": f"token-{self.key}", "list_id": lst.id, **fields}
        response = self.client.post("/v1/leads/insert", data)
        assert response.status_code == 200, response.content

    def contact(self, **fields):
        response = self.client.post(f"/api/v1/contactform/?apikey=aninja-{self.key}", fields)
        assert response.status_code == 200, response.content


def test_the_rule_preview_counts_what_each_rule_would_have_rejected(client):
    global_settings_update(changes={"rate_limit_calls": 1000}, user=None, via="test")
    acme, zed = Vendor(client, "acme"), Vendor(client, "zed")
    lst = ListFactory()
    first = acme.capture(EmailAddress="ann@x.com")["Id"]
    acme.capture(EmailAddress="bob@x.com")
    acme.capture(EmailAddress="ann@x.com", Company="Acme")  # an update: not the rule's business
    # Rule 4: the ProspectID's lead holds another email, so a new lead is made with an email
    # another lead holds: "reject similar email" would have refused it.
    assert acme.capture(ProspectID=first, EmailAddress="BOB@x.com")["IsCreated"] is True
    zed.contact(contact_name="Ann Again", contact_email1=" Ann@X.com")  # the form only creates
    zed.contact(contact_name="New", contact_email1="new@x.com")  # the first of its address

    zed.insert(lst, phone_number="2015550101")  # the first of its number
    zed.insert(lst, phone_number="201-555-0101")  # check_dup 0: a duplicate let through
    zed.insert(lst, phone_number="2015550101", update_if_found="1")  # found and updated
    acme.insert(lst, phone_number="2015550101", check_dup="2", update_if_found="1")  # updated
    acme.insert(lst, phone_number="2015550102", check_dup="1")  # no duplicate

    preview = rule_preview(days=7)
    assert preview.similar_email == [("acme", 1), ("zed", 1)]
    assert preview.insert_duplicates == [("zed", 2), ("acme", 1)]
    assert (preview.similar_email_total, preview.insert_duplicates_total) == (2, 3)
    # Out of the window, nothing.
    later = rule_preview(days=7, now=timezone.now() + timedelta(days=8))
    assert (later.similar_email, later.insert_duplicates) == ([], [])


def test_the_rule_preview_shows_on_global_settings(client):
    acme = Vendor(client, "acme")
    acme.contact(contact_name="Ann", contact_email1="ann@x.com")
    acme.contact(contact_name="Ann Two", contact_email1="ann@x.com")
    user = staff_with("settings_global.view_globalsettings")
    page = logged_in(user).get(settings_url())
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="rule-preview"' in html
    row = re.search(r'id="preview-similar-email">(.*?)</tr>', html, re.S).group(1)
    assert '<td class="total">1</td>' in row and "acme: 1" in row
    row = re.search(r'id="preview-insert-duplicates">(.*?)</tr>', html, re.S).group(1)
    assert '<td class="total">0</td>' in row and "none" in row


# -- at size: the plans use the indexes -------------------------------------------------------


def _plans(queries: list[str]) -> list[str]:
    plans = []
    with connection.cursor() as cursor:
        for sql in queries:
            cursor.execute("EXPLAIN " + sql)
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
    return plans


@pytest.mark.postgres
@pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL (set DATABASE_URL)")
def test_the_dashboard_queries_scan_no_big_table(staff):
    """With enough rows and fresh statistics, no query of the dashboard or the scorecards reads a
    big table sequentially: the rollup by its key, the hopper and the queue by their indexes."""
    campaign = CampaignFactory()
    leads = Lead.objects.bulk_create(Lead(email=f"p{i}@x.com") for i in range(2000))
    HopperEntry.objects.bulk_create(
        HopperEntry(lead=lead, campaign=campaign, state="taken") for lead in leads
    )
    hour = timezone.now().replace(minute=0, second=0, microsecond=0)
    IntakeCount.objects.bulk_create(
        IntakeCount(hour=hour - timedelta(hours=h), api_user_id=1, family="leadsquared", count=1)
        for h in range(20000)
    )
    long_ago = timezone.now() - timedelta(days=2)
    CaptureRequest.objects.bulk_create(
        CaptureRequest(body=[], status="Success", finished_at=long_ago) for _ in range(2000)
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    now = timezone.now()
    with CaptureQueriesContext(connection) as ctx:
        intake_rows(since=now - timedelta(days=30), until=now)
        vendor_scorecards(since=now - timedelta(days=7), until=now)
        hopper_depth_by_campaign(now=now)
        async_queue_stats(now=now)
    big = ("injectionlogs_intakecount", "lists_hopper_hopperentry", "leads_capturerequest")
    queries = [q["sql"] for q in ctx.captured_queries if any(t in q["sql"] for t in big)]
    assert len(queries) >= 5
    for sql, plan in zip(queries, _plans(queries), strict=True):
        for table in big:
            assert f"Seq Scan on {table}" not in plan, (sql, plan)

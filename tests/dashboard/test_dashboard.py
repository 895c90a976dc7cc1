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
from leads.models import Activity, ActivityType, CaptureRequest, Lead
from leads.selectors import async_queue_stats, rule_preview
from lists_hopper.models import HopperEntry
from lists_hopper.stats import hopper_depth_by_campaign
from settings_global.services import global_settings_update
from tests.admin_helpers import logged_in, settings_url, staff_with
from tests.factories import (
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


def _lead(email="", phone="", by=None, days_ago=0.0, family="", endpoint=""):
    lead = LeadFactory(email=email, phone=phone, created_by=by)
    when = timezone.now() - timedelta(days=days_ago)
    Lead.objects.filter(pk=lead.pk).update(
        email_normalized=email.lower(), phone_normalized=phone, created_at=when
    )
    if family:
        Activity.objects.create(
            lead=lead,
            type=ActivityType.CREATED,
            data={"family": family, "endpoint": endpoint},
            created_by=by,
        )
    return lead


def test_the_rule_preview_counts_what_each_rule_would_have_rejected(db):
    acme, zed = UserFactory(username="acme"), UserFactory(username="zed")
    _lead(email="ann@x.com", days_ago=30)  # held long before the week
    _lead(email="ANN@x.com", by=acme, days_ago=2)  # would have been rejected
    _lead(email="ann@x.com", by=zed, days_ago=1)  # too
    _lead(email="ann@x.com", by=zed, days_ago=9)  # before the week: not counted
    _lead(email="new@x.com", by=acme, days_ago=1)  # the first of its address
    ins = {"family": "convoso", "endpoint": "/v1/leads/insert"}
    _lead(phone="+12015550101", days_ago=20)
    _lead(phone="+12015550101", by=acme, days_ago=1, **ins)  # a duplicate by phone
    _lead(phone="+12015550102", by=acme, days_ago=1, **ins)  # the first of its number
    _lead(phone="+12015550101", by=zed, days_ago=1, family="leadsquared", endpoint="/x")
    # Two inserts that updated a found lead, from the rollup.
    IntakeCount.objects.create(
        hour=timezone.now().replace(minute=0, second=0, microsecond=0),
        api_user_id=zed.pk,
        family="convoso",
        operation="insert",
        outcome="updated",
        count=2,
    )
    preview = rule_preview(days=7)
    assert preview.similar_email == [("acme", 1), ("zed", 1)]
    assert preview.insert_duplicates == [("zed", 2), ("acme", 1)]
    assert (preview.similar_email_total, preview.insert_duplicates_total) == (2, 3)


def test_the_rule_preview_shows_on_global_settings(db):
    vendor = UserFactory(username="acme")
    _lead(email="ann@x.com", days_ago=3)
    _lead(email="ann@x.com", by=vendor, days_ago=1)
    user = staff_with("settings_global.view_globalsettings")
    page = logged_in(user).get(settings_url())
    assert page.status_code == 200
    html = page.content.decode()
    assert 'id="rule-preview"' in html
    row = re.search(r'id="preview-similar-email">(.*?)</tr>', html, re.S).group(1)
    assert '<td class="total">1</td>' in row and "acme: 1" in row


def test_the_preview_counts_through_the_real_apis(client, credential, api_user):
    global_settings_update(changes={"rate_limit_calls": 1000}, user=None, via="test")
    lst = ListFactory()
    insert = {"auth_token": f"token-{credential.access_key}", "list_id": lst.id}
    for extra in ({}, {}, {"update_if_found": "1"}):  # the second: check_dup 0, a duplicate
        response = client.post(
            "/v1/leads/insert", {**insert, "phone_number": "2015550101", **extra}
        )
        assert response.status_code == 200, response.content
    capture = f"/v2/LeadManagement.svc/Lead.Capture?accessKey={credential.access_key}"
    capture += f"&secretKey=secret-{credential.access_key}"

    def post(body):
        response = client.post(capture, json.dumps(body), content_type="application/json")
        assert response.status_code == 200, response.content
        return response.json()["Message"]

    first = post(attrs(EmailAddress="a@x.com"))["Id"]
    post(attrs(EmailAddress="b@x.com"))
    # Rule 4: the ProspectID's lead holds another email, so a new lead is made, with an email
    # another lead holds: "reject similar email" would have refused it.
    assert post(attrs(ProspectID=first, EmailAddress="B@x.com"))["IsCreated"] is True
    post(attrs(EmailAddress="a@x.com", Company="Acme"))  # an update: never the rule's business
    preview = rule_preview()
    assert preview.similar_email == [("vendor", 1)]
    # The second insert created a duplicate by phone; the third updated the found lead.
    assert preview.insert_duplicates == [("vendor", 2)]


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

"""Manage Leads in a real browser (headless Chromium): a phone typed as staff type it finds the
lead stored in E.164; its page shows its capture activity, in the browser's time zone."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still
# plain synchronous ones.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from leads.models import Lead  # noqa: E402
from tests.factories import LeadFactory, StaffFactory  # noqa: E402
from tests.test_admin_browser import browser_page  # noqa: E402

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SCREENSHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"


@pytest.fixture
def page():
    with browser_page(
        timezone_id="Asia/Kolkata", viewport={"width": 1366, "height": 768}
    ) as opened:
        yield opened


def test_staff_find_a_lead_by_phone_in_another_format(live_server, client, ls_keys, page):
    sync_api = pytest.importorskip("playwright.sync_api")
    StaffFactory(username="boss")  # password "pw"
    for n in range(5):
        LeadFactory(contact_name=f"Someone Else {n}", phone="3125550100", phone_normalized="")
    body = [
        {"Attribute": "FirstName", "Value": "Dana"},
        {"Attribute": "LastName", "Value": "Phoneless"},
        {"Attribute": "Phone", "Value": "2015550123"},
        {"Attribute": "Source", "Value": "Expo"},
    ]
    response = client.post(
        f"/v2/LeadManagement.svc/Lead.Capture?{ls_keys}",
        data=json.dumps(body),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    lead = Lead.objects.get(pk=response.json()["Message"]["Id"])
    assert lead.phone_normalized == "+12015550123"

    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")

    page.goto(f"{live_server.url}/admin/leads/lead/")
    page.fill("#searchbar", "(201) 555-0123")
    page.press("#searchbar", "Enter")
    rows = page.locator("#result_list tbody tr")
    sync_api.expect(rows).to_have_count(1)
    assert "Dana Phoneless" in rows.first.inner_text()
    # The columns fit a laptop screen: no horizontal scrolling of the list.
    width = page.evaluate("document.querySelector('#result_list').scrollWidth")
    assert width <= 1366

    page.get_by_role("link", name="Dana Phoneless").click()
    activities = page.locator("#activities-group")
    sync_api.expect(activities).to_contain_text("Lead Capture")
    sync_api.expect(activities).to_contain_text("Lead created")
    # Times in the browser's time zone (the cookie set by the admin's page, read by middleware).
    # (Chromium's ICU names India's zone by its older alias.)
    sync_api.expect(page.locator("#user-tools")).to_contain_text(
        re.compile("Asia/(Kolkata|Calcutta)")
    )
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / "manage_leads_lead_activity.png"), full_page=True)
    assert (SCREENSHOTS / "manage_leads_lead_activity.png").stat().st_size > 0

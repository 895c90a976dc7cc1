"""The dashboard and a vendor scorecard in a real browser (headless Chromium), with screenshots
in var/screenshots/ for a person to look at."""

from __future__ import annotations

import json
import os
import urllib.request
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; the test's ORM calls are synchronous.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from tests.factories import StaffFactory  # noqa: E402
from tests.helpers import attrs  # noqa: E402
from tests.test_admin_browser import page  # noqa: E402, F401 (the fixture)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"


def capture(base: str, body: list) -> int:
    request = urllib.request.Request(
        f"{base}/v2/LeadManagement.svc/Lead.Capture?accessKey=ak_vendor&secretKey=secret-ak_vendor",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as error:
        return error.code


def test_staff_open_the_dashboard_and_a_scorecard(live_server, credential, page):  # noqa: F811
    sync_api = pytest.importorskip("playwright.sync_api")
    SHOTS.mkdir(parents=True, exist_ok=True)
    StaffFactory(username="boss")  # password "pw"
    assert capture(live_server.url, attrs(EmailAddress="ann@x.com", FirstName="Ann")) == 200
    assert capture(live_server.url, attrs(EmailAddress="ann@x.com", Company="Acme")) == 200
    assert capture(live_server.url, attrs(EmailAddress="not an email")) == 400

    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")

    # The index links the dashboard at the top.
    page.get_by_role("link", name="Intake dashboard").click()
    sync_api.expect(page.locator("h1")).to_have_text("Intake dashboard")
    charts = page.locator("svg.chart")
    assert charts.count() == 9
    # The browser drew the bars: the hour's bar has a size on the page.
    bar = page.locator("svg.chart rect:has(title:text-matches('vendor: 3'))").first
    box = bar.bounding_box()
    assert box is not None and box["height"] > 0
    assert "Invalid email" in page.locator("#content-main").inner_text()
    page.screenshot(path=str(SHOTS / "dashboard.png"), full_page=True)

    # The scorecards, the vendor's row, and its drill-down into the log.
    page.get_by_role("link", name="Vendor scorecards").first.click()
    page.get_by_role("link", name="Last 24 hours").click()
    row = page.locator("tr.scorecard[data-username=vendor]")
    cells = row.locator("td.num").all_inner_texts()
    assert cells[:5] == ["3", "2", "1", "1", "1"]  # received, accepted, created, updated, rejected
    page.screenshot(path=str(SHOTS / "scorecards.png"), full_page=True)
    row.locator("a.drill-log").click()
    sync_api.expect(page.locator("#result_list")).to_contain_text("Invalid email")
    assert page.locator("#result_list tbody tr").count() == 1
    page.screenshot(path=str(SHOTS / "scorecard-drill-down.png"), full_page=True)

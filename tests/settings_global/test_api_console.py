"""The API console (Test Request tab): staff only; builds the request and runs it for real."""

from __future__ import annotations

import os

import pytest

from leads.models import Lead
from tests.factories import StaffFactory, UserFactory

# Playwright's sync API runs an event loop in this thread (see tests/test_admin_browser.py).
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = "/usr/bin/chromium"


@pytest.mark.django_db
def test_console_is_for_staff_only(client, credential):
    assert client.get("/admin/api-console/").status_code == 302
    client.force_login(UserFactory(username="clerk"))
    assert client.get("/admin/api-console/").status_code == 302
    client.force_login(StaffFactory(username="boss"))
    response = client.get("/admin/api-console/")
    assert response.status_code == 200
    assert b"ak_vendor" in response.content
    assert b"Show query" in response.content
    assert b"api-console" in client.get("/admin/").content


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_console_shows_the_query_and_runs_it(live_server, credential):
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api")
    StaffFactory(username="boss")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
            ],
        )
        page = browser.new_page()
        page.set_default_timeout(15_000)
        page.goto(f"{live_server.url}/admin/login/?next=/admin/api-console/")
        page.fill("#id_username", "boss")
        page.fill("#id_password", "pw")
        page.click("input[type=submit]")
        page.fill("#secret_key", "secret-ak_vendor")
        page.fill("#email", "console@example.com")
        query = page.inner_text("#query")
        assert "/v2/LeadManagement.svc/Lead.Capture?accessKey=ak_vendor" in query
        assert '"Attribute":"EmailAddress","Value":"console@example.com"' in query
        assert "curl -X POST" in page.inner_text("#curl")
        page.click("#run")
        page.wait_for_function("document.getElementById('response').textContent.startsWith('HTTP')")
        result = page.inner_text("#response")
        browser.close()
    assert result.startswith("HTTP 200")
    lead = Lead.objects.get(email_normalized="console@example.com")
    assert str(lead.id) in result

"""The admin in a real browser (headless Chromium): a rejected lead is found in Settings > Logs,
the rule is relaxed in Global Settings, and "Retry injection" turns the row into a lead."""

from __future__ import annotations

import os
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from django.db import connections

# Playwright's sync API runs an event loop in this thread; the test's own ORM calls are still
# plain synchronous ones.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from injectionlogs.models import FailedInjection  # noqa: E402
from leads.models import Lead  # noqa: E402
from settings_global.models import GlobalSettingsChange  # noqa: E402
from settings_global.services import global_settings_get, global_settings_update  # noqa: E402
from tests.factories import LeadFactory, StaffFactory  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@contextmanager
def browser_page(**context_options: Any) -> Iterator[Any]:
    """A page of headless Chromium, with context_options for its browser context."""
    if not os.path.exists(CHROMIUM):
        pytest.skip(f"no Chromium at {CHROMIUM}")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(**context_options)
        context.set_default_timeout(15_000)
        yield context.new_page()
        # Between its sync calls Playwright marks its event loop as running in this thread, and
        # asgiref then keeps Django's connections apart from the thread's usual ones: the test's
        # own connection is closed here, while that holds, or it stays open until the test
        # database is dropped ("being accessed by other users").
        connections.close_all()
        context.close()
        browser.close()


@pytest.fixture
def page():
    with browser_page() as opened:
        yield opened


def post_form(url: str, fields: dict[str, str]) -> tuple[int, bytes]:
    data = urllib.parse.urlencode(fields).encode()
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data), timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_staff_relax_the_rule_and_retry_a_rejected_lead(live_server, credential, page):
    sync_api = pytest.importorskip("playwright.sync_api")
    StaffFactory(username="boss")  # password "pw"
    holder = LeadFactory(email="ann@x.com", contact_name="Ann Holder")
    global_settings_update(changes={"reject_duplicate_email_via_api": True}, user=None, via="test")
    status, body = post_form(
        f"{live_server.url}/api/v1/contactform/?apikey=aninja-ak_vendor",
        {"contact_name": "Ann Newcomer", "contact_email1": "  ANN@X.COM ", "budget": "10k"},
    )
    assert status == 400, body
    row = FailedInjection.objects.get()

    # Log in.
    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")

    # Settings > Logs > Failed leads API injection: the row, its reason and its data.
    page.get_by_role("link", name="Failed leads API injection").first.click()
    table = page.locator("#result_list")
    assert "Duplicate email: a lead with a similar email already exists" in table.inner_text()
    assert "Ann Newcomer" in table.inner_text()

    # Settings > Global Settings: relax the rule and save.
    page.goto(f"{live_server.url}/admin/")
    page.get_by_role("link", name="Global Settings", exact=True).click()
    checkbox = page.locator("#id_reject_duplicate_email_via_api")
    assert checkbox.is_checked()
    checkbox.uncheck()
    page.click("input[name=_save]")
    sync_api.expect(page.locator(".messagelist .success")).to_contain_text("changed successfully")
    assert global_settings_get().reject_duplicate_email_via_api is False
    change = GlobalSettingsChange.objects.get(field="reject_duplicate_email_via_api", via="admin")
    assert (change.old_value, change.new_value, change.changed_by.username) == (
        "True",
        "False",
        "boss",
    )

    # Back to the log: select the row, run "Retry injection".
    page.goto(f"{live_server.url}/admin/")
    page.get_by_role("link", name="Failed leads API injection").first.click()
    page.check(f"input.action-select[value='{row.pk}']")
    page.select_option("select[name=action]", "retry_injection")
    page.click("button[name=index]")
    success = page.locator(".messagelist .success")
    sync_api.expect(success).to_contain_text("1 lead(s) injected")
    message = success.inner_text()

    lead = Lead.objects.exclude(pk=holder.pk).get()
    assert (lead.contact_name, lead.email_normalized) == ("Ann Newcomer", "ann@x.com")
    assert lead.custom_fields == {"budget": "10k"}
    row.refresh_from_db()
    assert row.resolved_lead == lead and row.resolved_at is not None
    assert row.resolved_by.username == "boss"
    assert str(lead.pk) in message

    # The detail page links the lead it became.
    page.goto(f"{live_server.url}/admin/injectionlogs/failedinjection/{row.pk}/change/")
    assert page.locator(f"#content a[href*='{lead.pk}']").count() >= 1

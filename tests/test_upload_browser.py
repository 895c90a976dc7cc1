"""Uploading a lead list in a real browser (headless Chromium): the file from the List's page,
the suggested mapping, the progress bar moving as batches commit, and the results file.
Screenshots of each step go to var/screenshots/."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

import pytest

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

from leads.models import Lead  # noqa: E402
from lists_hopper.models import Upload  # noqa: E402
from lists_hopper.uploads import upload_process_batch  # noqa: E402
from tests.factories import CampaignFactory, ListFactory, StaffFactory  # noqa: E402
from tests.test_admin_browser import page  # noqa: E402, F401

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"


def shot(page, name):  # noqa: F811
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"upload-{name}.png"
    page.screenshot(path=str(path), full_page=True)
    assert path.stat().st_size > 0


def test_staff_upload_a_list_watch_the_progress_and_download_the_results(
    live_server,
    page,  # noqa: F811
    tmp_path,
):
    sync_api = pytest.importorskip("playwright.sync_api")
    expect = sync_api.expect
    StaffFactory(username="boss")
    target = ListFactory(name="March leads", campaign=CampaignFactory(name="Solar"))
    lines = ["First Name;Phone Number;E-mail;Zip;mx_Budget"]
    lines += [
        f"Ann{i};+1201{5550000 + i:07d};ann{i}@example.com;7330{i % 10};{i}k" for i in range(28)
    ]
    lines += ["Bad;12;bad@example.com;;", "Dup;+12015550000;;;"]
    csv_path = tmp_path / "march.csv"
    csv_path.write_bytes(("\r\n".join(lines) + "\r\n").encode("utf-8-sig"))

    page.goto(f"{live_server.url}/admin/")
    page.fill("#id_username", "boss")
    page.fill("#id_password", "pw")
    page.click("input[type=submit]")

    # The List's page links to the upload form, with the list chosen.
    page.goto(f"{live_server.url}/admin/lists_hopper/list/{target.pk}/change/")
    page.click("a.upload-link")
    assert page.locator("#id_list").input_value() == str(target.pk)
    page.set_input_files("#id_file", str(csv_path))
    page.select_option("#id_check_dup", "2")
    page.check("#id_hopper")
    page.fill("#id_hopper_priority", "60")
    shot(page, "1-form")
    page.click("input[name=_upload]")

    # The mapping suggested from the headers.
    expect(page.locator("h1")).to_contain_text("Map the columns of march.csv")
    assert page.locator("#column_0").input_value() == "first_name"
    assert page.locator("#column_1").input_value() == "phone_number"
    assert page.locator("#column_2").input_value() == "email"
    assert page.locator("#column_3").input_value() == "postal_code"
    assert page.locator("#column_4").input_value() == "mx_Budget"
    page.select_option("#column_3", "")  # drop Zip
    shot(page, "2-mapping")
    page.click("input[name=_start]")

    upload = Upload.objects.defer("content").get()
    Upload.objects.filter(pk=upload.pk).update(batch_size=10)
    expect(page.locator("#upload-status")).to_have_text("Queued")

    # The worker's first batch commits: the bar moves without a reload.
    checkpoint = upload_process_batch(upload_id=upload.pk, checkpoint=0)
    expect(page.locator("#upload-processed")).to_have_text("10")
    expect(page.locator("#upload-bar")).to_have_attribute("aria-valuenow", "33")
    expect(page.locator("#upload-status")).to_have_text("Running")
    assert page.locator("#upload-results").is_hidden()
    shot(page, "3-running")

    while checkpoint is not None:
        checkpoint = upload_process_batch(upload_id=upload.pk, checkpoint=checkpoint)
    expect(page.locator("#upload-status")).to_have_text("Done")
    expect(page.locator("#upload-bar")).to_have_attribute("aria-valuenow", "100")
    expect(page.locator("#count-created")).to_have_text("28")
    expect(page.locator("#count-rejected")).to_have_text("2")
    expect(page.locator("#count-reasons")).to_contain_text("invalid_phone")
    expect(page.locator("#count-reasons")).to_contain_text("duplicate_phone")
    expect(page.locator("#upload-results")).to_be_visible()
    expect(page.locator("#upload-cancel")).to_be_hidden()
    shot(page, "4-done")

    with page.expect_download() as info:
        page.click("#results-link")
    download = info.value
    text = Path(download.path()).read_text()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0][:4] == ["row_number", "outcome", "lead_id", "reason"]
    assert len(rows) == 31
    assert [r[1] for r in rows[1:]].count("created") == 28
    assert rows[29][1:2] == ["rejected"] and rows[29][4] == "invalid_phone"
    assert rows[30][4] == "duplicate_phone"
    lead = Lead.objects.get(pk=rows[1][2])
    assert (lead.first_name, lead.postal_code, lead.custom_fields) == (
        "Ann0",
        "",
        {"mx_Budget": "0k"},
    )
    assert lead.list == target
    assert lead.hopper_entries.get().priority == 60

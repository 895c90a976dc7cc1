"""The upload's staff screens: the form, the mapping step, the progress JSON and the results."""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client

from lists_hopper.models import Upload
from tests.lists_hopper.upload_helpers import csv_bytes, run

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(staff):
    c = Client()
    c.force_login(staff)
    return c


def test_the_list_page_and_manage_leads_link_to_the_upload(admin_client, lst):
    page = admin_client.get(f"/admin/lists_hopper/list/{lst.pk}/change/").content.decode()
    assert f"/admin/lists_hopper/upload/add/?list={lst.pk}" in page
    assert (
        "/admin/lists_hopper/upload/add/" in admin_client.get("/admin/leads/lead/").content.decode()
    )
    form = admin_client.get(f"/admin/lists_hopper/upload/add/?list={lst.pk}").content.decode()
    assert f'<option value="{lst.pk}" selected>' in form


def test_upload_map_and_follow_the_progress(admin_client, lst, staff):
    data = "Vorname;Tel;E-mail;mx_City\r\nJürgen;2015550123;j@x.de;Köln\r\n".encode("cp1252")
    response = admin_client.post(
        "/admin/lists_hopper/upload/add/",
        {
            "file": SimpleUploadedFile("leute.csv", data),
            "list": lst.pk,
            "check_dup": "1",
            "hopper_priority": "99",
            "keep_unmapped": "1",
        },
    )
    upload = Upload.objects.get()
    assert response.status_code == 302
    assert upload.status == "draft" and upload.created_by == staff
    assert (upload.encoding, upload.delimiter) == ("cp1252", ";")
    page = admin_client.get(response["Location"]).content.decode()
    assert "Map the columns" in page and "Jürgen" in page
    assert upload.mapping == ["Vorname", "phone_number", "email", "mx_City"]

    # Dropping the phone column is refused; the draft stays a draft.
    refused = admin_client.post(
        response["Location"],
        {"column_0": "first_name", "column_1": "", "column_2": "email", "column_3": "mx_City"},
    )
    assert "No column is mapped to the phone number" in refused.content.decode()
    assert Upload.objects.get().status == "draft"

    started = admin_client.post(
        response["Location"],
        {
            "column_0": "first_name",
            "column_1": "phone_number",
            "column_2": "email",
            "column_3": "mx_City",
        },
    )
    assert started.status_code == 302
    upload.refresh_from_db()
    assert upload.status == "queued"
    assert upload.mapping == ["first_name", "phone_number", "email", "mx_City"]
    assert "upload-bar" in admin_client.get(started["Location"]).content.decode()

    run(upload)
    progress = admin_client.get(f"/admin/lists_hopper/upload/{upload.pk}/progress.json").json()
    assert progress["status"] == "done" and progress["percent"] == 100
    assert (progress["created"], progress["rejected"]) == (1, 0)
    results = admin_client.get(f"/admin/lists_hopper/upload/{upload.pk}/results.csv")
    assert b"1,created," in b"".join(results.streaming_content)


def test_an_unreadable_file_is_a_form_error_and_stores_nothing(admin_client, lst):
    response = admin_client.post(
        "/admin/lists_hopper/upload/add/",
        {
            "file": SimpleUploadedFile("x.csv", b"\x00\x00PK"),
            "list": lst.pk,
            "check_dup": "0",
            "hopper_priority": "99",
            "keep_unmapped": "1",
        },
    )
    assert response.status_code == 200
    assert "This is not a CSV file" in response.content.decode()
    assert not Upload.objects.exists()


def test_cancel_stops_an_unfinished_upload(admin_client, lst):
    from lists_hopper.uploads import upload_create, upload_process_batch

    upload = upload_create(
        list_id=lst.pk, data=csv_bytes(["Phone"], [["2015550123"]]), file_name="x", options={}
    )
    admin_client.post(f"/admin/lists_hopper/upload/{upload.pk}/cancel/")
    upload.refresh_from_db()
    assert upload.status == "cancelled"
    assert upload_process_batch(upload_id=upload.pk, checkpoint=0) is None

"""POST /api/v1/uploads/, GET /api/v1/uploads/<id>/ and .../results.csv: staff only; bad input is
a 400 with a message and stores nothing."""

from __future__ import annotations

import json

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django_tasks_db.models import DBTaskResult
from rest_framework.test import APIClient

from leads.models import Lead
from lists_hopper.models import Upload, UploadRow
from tests.factories import UserFactory
from tests.lists_hopper.upload_helpers import csv_bytes, run

pytestmark = pytest.mark.django_db

URL = "/api/v1/uploads/"


def a_file(data=None, name="leads.csv"):
    data = data if data is not None else csv_bytes(["Phone", "Name"], [["2015550123", "Ann"]])
    return SimpleUploadedFile(name, data, content_type="text/csv")


def test_staff_upload_answers_id_and_status_and_queues_the_first_batch(staff_client, lst, staff):
    response = staff_client.post(
        URL,
        {
            "file": a_file(csv_bytes(["Tel", "Who", "Colour"], [["2015550123", "Ann Lee", "red"]])),
            "list_id": lst.pk,
            "check_dup": "2",
            "check_dnc": "1",
            "hopper": "1",
            "hopper_priority": "40",
            "hopper_expire_in": "60",
            "update_if_found": "true",
            "mapping": json.dumps({"Tel": "phone_number", "Who": "contact_name", "Colour": None}),
        },
        format="multipart",
    )
    assert response.status_code == 202, response.content
    upload = Upload.objects.get()
    assert response.json() == {"id": upload.pk, "status": "queued"}
    assert upload.mapping == ["phone_number", "contact_name", ""]
    assert (upload.check_dup, upload.check_dnc, upload.hopper, upload.hopper_priority) == (
        2,
        True,
        True,
        40,
    )
    assert (upload.hopper_expire_in, upload.update_if_found, upload.created_by) == (60, True, staff)
    assert (upload.encoding, upload.delimiter, upload.total) == ("utf-8", ",", 1)
    task = DBTaskResult.objects.get()
    assert task.args_kwargs["kwargs"] == {"upload_id": upload.pk, "checkpoint": 0}

    progress = staff_client.get(f"{URL}{upload.pk}/")
    assert progress.json() == {
        "id": upload.pk,
        "status": "queued",
        "total": 1,
        "processed": 0,
        "accepted": 0,
        "rejected": 0,
    }
    run(upload)
    assert staff_client.get(f"{URL}{upload.pk}/").json() == {
        "id": upload.pk,
        "status": "done",
        "total": 1,
        "processed": 1,
        "accepted": 1,
        "rejected": 0,
    }
    lead = Lead.objects.get()
    assert (lead.contact_name, lead.custom_fields) == ("Ann Lee", {})
    results = staff_client.get(f"{URL}{upload.pk}/results.csv")
    assert results.status_code == 200
    assert results["Content-Type"] == "text/csv"
    body = b"".join(results.streaming_content).decode()
    assert body.splitlines()[1] == f"1,created,{lead.pk},,,"


def test_http_basic_staff_can_upload(lst, staff):
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Basic c3RhZmY6cHc=")  # staff:pw
    response = client.post(URL, {"file": a_file(), "list_id": lst.pk}, format="multipart")
    assert response.status_code == 202, response.content


def test_anonymous_and_non_staff_are_refused(client, lst):
    upload_file = a_file()
    assert client.post(URL, {"file": upload_file, "list_id": lst.pk}).status_code == 401
    user = UserFactory(username="plain")
    client.force_authenticate(user)
    assert client.post(URL, {"file": a_file(), "list_id": lst.pk}).status_code == 403
    assert client.get(f"{URL}1/").status_code == 403
    assert client.get(f"{URL}1/results.csv").status_code == 403
    assert not Upload.objects.exists()


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"list_id": "LIST"}, "attach the CSV file"),
        ({"file": "FILE"}, "list_id"),
        ({"file": "FILE", "list_id": "999999"}, "No such list: 999999"),
        ({"file": "FILE", "list_id": "abc"}, "a list id is a number"),
        (
            {"file": "FILE", "list_id": "LIST", "check_dup": "4"},
            "check_dup: 4 is out of range (0-3)",
        ),
        ({"file": "FILE", "list_id": "LIST", "hopper": "maybe"}, "hopper: use 1 or 0"),
        ({"file": "FILE", "list_id": "LIST", "hopper_priority": "100"}, "hopper_priority"),
        ({"file": "FILE", "list_id": "LIST", "mapping": "{not json"}, "mapping is not valid JSON"),
        (
            {"file": "FILE", "list_id": "LIST", "mapping": '{"Phone": null}'},
            "No column is mapped to the phone",
        ),
        ({"file": b"\x00\x01\x02binary", "list_id": "LIST"}, "not a CSV file"),
        ({"file": b"Phone\r\n\x81\x8d\r\n", "list_id": "LIST"}, "cannot be read"),
        (
            {"file": b"Name,City\r\nAnn,Oslo\r\n", "list_id": "LIST"},
            "No column is mapped to the phone",
        ),
        ({"file": b"", "list_id": "LIST"}, "empty"),
    ],
)
def test_bad_input_is_a_400_with_a_message_and_stores_nothing(staff_client, lst, fields, message):
    data = {}
    for key, value in fields.items():
        if value == "FILE":
            value = a_file()
        elif isinstance(value, bytes):
            value = a_file(value)
        elif value == "LIST":
            value = lst.pk
        data[key] = value
    response = staff_client.post(URL, data, format="multipart")
    assert response.status_code == 400, response.content
    assert message in response.json()["error"]
    assert not Upload.objects.exists()
    assert not DBTaskResult.objects.exists()


def test_a_file_over_the_limit_is_refused(staff_client, lst, monkeypatch):
    from lists_hopper.api import uploads

    monkeypatch.setattr(uploads, "MAX_UPLOAD_BYTES", 100)
    response = staff_client.post(
        URL,
        {"file": a_file(b"Phone\r\n" + b"2015550123\r\n" * 20), "list_id": lst.pk},
        format="multipart",
    )
    assert response.status_code == 400
    assert "limit" in response.json()["error"]
    assert not Upload.objects.exists()


def test_a_json_body_is_a_400_not_a_500(staff_client, lst):
    response = staff_client.post(URL, {"list_id": lst.pk}, format="json")
    assert response.status_code in (400, 415)
    assert not Upload.objects.exists()


def test_unknown_upload_is_a_404(staff_client):
    assert staff_client.get(f"{URL}424242/").status_code == 404
    assert staff_client.get(f"{URL}424242/results.csv").status_code == 404


def test_results_of_a_running_upload_list_the_rows_done_so_far(staff_client, lst):
    staff_client.post(
        URL,
        {
            "file": a_file(csv_bytes(["Phone"], [["2015550123"], ["2015550124"], ["2015550125"]])),
            "list_id": lst.pk,
        },
        format="multipart",
    )
    upload = Upload.objects.get()
    Upload.objects.filter(pk=upload.pk).update(batch_size=2)
    from lists_hopper.uploads import upload_process_batch

    upload_process_batch(upload_id=upload.pk, checkpoint=0)
    progress = staff_client.get(f"{URL}{upload.pk}/").json()
    assert (progress["status"], progress["processed"], progress["accepted"]) == ("running", 2, 2)
    body = b"".join(staff_client.get(f"{URL}{upload.pk}/results.csv").streaming_content).decode()
    assert len(body.splitlines()) == 3
    assert UploadRow.objects.count() == 2

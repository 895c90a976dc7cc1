"""Uploads run through the intake pipeline: leads, activities, results, log rows, options with
the insert API's own semantics, retry, and a batch that can run only once."""

from __future__ import annotations

import csv
import io
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from injectionlogs.models import FailedInjection
from leads.models import Activity, ActivityType, Lead
from leads.replay import failure_retry
from lists_hopper.models import HopperEntry, ListStatus, Upload, UploadRow
from lists_hopper.tasks import sweep_uploads, upload_submit
from lists_hopper.uploads import upload_create, upload_process_batch, upload_results_csv
from tests.factories import CampaignFactory, DncEntryFactory, LeadFactory, ListFactory
from tests.lists_hopper.conftest import rules
from tests.lists_hopper.upload_helpers import csv_bytes, upload_rows

pytestmark = pytest.mark.django_db

HEADER = ["First Name", "Last Name", "Phone Number", "E-mail", "Zip", "mx_Budget", "Shoe"]


def test_rows_become_leads_with_activities_results_and_log_rows(lst, staff):
    upload = upload_rows(
        lst,
        HEADER,
        [
            ["Ann", "Lee", "(201) 555-0123", "Ann@Example.com", "73301", "10k", "42"],
            ["Bo", "Ng", "not a phone", "bo@example.com", "", "", ""],
            ["Cy", "Oz", "201-555-0124", "", "", "", ""],
            ["Ann", "Again", "2015550123", "", "", "", ""],  # a duplicate within the file
        ],
        user=staff,
        check_dup="1",
        batch_size=2,
    )
    assert (upload.status, upload.total, upload.processed) == ("done", 4, 4)
    assert (upload.created, upload.updated, upload.rejected) == (2, 0, 2)
    assert upload.rejected_by_reason == {"invalid_phone": 1, "duplicate_phone": 1}

    ann = Lead.objects.get(phone_normalized="+12015550123")
    assert (ann.first_name, ann.email_normalized, ann.postal_code) == (
        "Ann",
        "ann@example.com",
        "73301",
    )
    assert ann.custom_fields == {"mx_Budget": "10k", "Shoe": "42"}
    assert ann.list == lst and ann.created_by == staff
    kinds = sorted(ann.activities.values_list("type", flat=True))
    # created + capture, and the duplicate row's capture posted to the lead it matched (rule 11)
    assert kinds == sorted(
        [ActivityType.CREATED, ActivityType.LEAD_CAPTURE, ActivityType.LEAD_CAPTURE]
    )
    assert ann.activities.filter(type=ActivityType.CREATED).get().data["family"] == "upload"

    rows = {r.row_number: r for r in UploadRow.objects.filter(upload=upload)}
    assert [rows[n].outcome for n in (1, 2, 3, 4)] == ["created", "rejected", "created", "rejected"]
    assert rows[1].lead == ann
    assert (rows[2].reason_code, rows[4].reason_code) == ("invalid_phone", "duplicate_phone")

    failures = FailedInjection.objects.order_by("id")
    assert [f.reason_code for f in failures] == ["invalid_phone", "duplicate_phone"]
    bad = failures[0]
    assert (bad.family, bad.endpoint, bad.api_user) == (
        "upload",
        f"/api/v1/uploads/{upload.pk}/",
        staff,
    )
    assert bad.data == {
        "first_name": "Bo",
        "last_name": "Ng",
        "phone_number": "not a phone",
        "email": "bo@example.com",
    }
    assert bad.query["row_number"] == 2 and bad.query["upload_id"] == upload.pk
    assert bad.query["check_dup"] == "1"
    assert rows[2].failure == bad


def test_results_file_has_one_line_per_row(lst, staff):
    upload = upload_rows(
        lst, ["Phone"], [["2015550123"], ["x"], ["2015550124"]], user=staff, batch_size=2
    )
    text = "".join(upload_results_csv(upload))
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0] == [
        "row_number",
        "outcome",
        "lead_id",
        "reason",
        "reason_code",
        "failed_injection",
    ]
    assert [line[:2] for line in lines[1:]] == [
        ["1", "created"],
        ["2", "rejected"],
        ["3", "created"],
    ]
    leads = {str(lead.pk) for lead in Lead.objects.all()}
    assert {lines[1][2], lines[3][2]} == leads
    assert lines[2][2] == "" and lines[2][4] == "invalid_phone"
    assert lines[2][3].startswith("Invalid phone")
    assert lines[2][5] == str(FailedInjection.objects.get().pk)


def test_a_batch_runs_once_however_often_it_is_queued(lst):
    upload = upload_create(
        list_id=lst.pk,
        data=csv_bytes(["Phone"], [[f"20155501{i:02d}"] for i in range(5)]),
        file_name="x.csv",
        options={},
        batch_size=2,
    )
    assert upload_process_batch(upload_id=upload.pk, checkpoint=0) == 2
    # The same batch queued again (a sweep, a redelivery): its checkpoint has moved on.
    assert upload_process_batch(upload_id=upload.pk, checkpoint=0) is None
    assert upload_process_batch(upload_id=upload.pk, checkpoint=2) == 4
    assert upload_process_batch(upload_id=upload.pk, checkpoint=4) is None
    assert upload_process_batch(upload_id=upload.pk, checkpoint=4) is None
    upload.refresh_from_db()
    assert (upload.status, upload.processed, upload.created) == ("done", 5, 5)
    assert Lead.objects.count() == 5 == UploadRow.objects.count()
    assert Activity.objects.count() == 10


def test_the_sweep_queues_again_an_upload_whose_lease_ran_out(lst):
    from django_tasks_db.models import DBTaskResult

    upload = upload_submit(
        list_id=lst.pk, data=csv_bytes(["Phone"], [["2015550123"]]), file_name="x", options={}
    )
    assert DBTaskResult.objects.count() == 1  # the first batch, queued with the upload
    assert sweep_uploads.call() == 0  # its lease still runs
    Upload.objects.filter(pk=upload.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert sweep_uploads.call() == 1
    assert sweep_uploads.call() == 0  # a new lease: not queued twice
    queued = DBTaskResult.objects.order_by("enqueued_at").last()
    assert queued.args_kwargs["kwargs"] == {"upload_id": upload.pk, "checkpoint": 0}


@pytest.mark.django_db(transaction=True)
def test_the_worker_runs_the_chained_batches_to_the_end(lst):
    upload = upload_submit(
        list_id=lst.pk,
        data=csv_bytes(["Phone"], [[f"20155501{i:02d}"] for i in range(7)]),
        file_name="x.csv",
        options={},
        batch_size=3,
    )
    call_command("db_worker", batch=True, interval=0, startup_delay=False, verbosity=0)
    upload.refresh_from_db()
    assert (upload.status, upload.processed, upload.created) == ("done", 7, 7)
    assert sorted(UploadRow.objects.values_list("row_number", flat=True)) == list(range(1, 8))


def test_a_rejected_row_is_retried_like_any_other(lst, staff):
    LeadFactory(phone="2015550123", phone_normalized="+12015550123")
    upload = upload_rows(
        lst, ["Phone", "First Name"], [["2015550123", "Ann"]], check_dup="1", user=staff
    )
    assert upload.rejected == 1
    failure = FailedInjection.objects.get()
    assert failure.reason_code == "duplicate_phone"
    # Still a duplicate: the row takes the new attempt's reason.
    lead, error = failure_retry(failure=failure, user=staff)
    assert lead is None and error.code == "duplicate_phone"
    Lead.objects.all().delete()
    lead, error = failure_retry(failure=failure, user=staff)
    assert error is None
    assert (lead.first_name, lead.phone_normalized, lead.list) == ("Ann", "+12015550123", lst)
    failure.refresh_from_db()
    assert failure.resolved_lead == lead and failure.family == "upload"


# -- the options mean what the insert API means -----------------------------------------------


def _scenario(name, lst):
    """State for a scenario; returns the options and the row's fields."""
    other_list = ListFactory(campaign=lst.campaign)
    other_campaign = ListFactory(campaign=CampaignFactory())
    phone = "2015550123"

    def held(in_list, **kwargs):
        return LeadFactory(phone=phone, phone_normalized="+12015550123", list=in_list, **kwargs)

    fields = {"phone_number": phone, "first_name": "Ann", "email": "ann@example.com"}
    if name == "no check, held elsewhere":
        held(other_campaign)
        return {"check_dup": "0"}, fields
    if name == "account check":
        held(other_campaign)
        return {"check_dup": "1"}, fields
    if name == "list check, held in another list":
        held(other_list)
        return {"check_dup": "2"}, fields
    if name == "list check, held in this list":
        held(lst)
        return {"check_dup": "2"}, fields
    if name == "campaign check, held in the campaign":
        held(other_list)
        return {"check_dup": "3"}, fields
    if name == "campaign check, held in another campaign":
        held(other_campaign)
        return {"check_dup": "3"}, fields
    if name in ("archived, not checked", "archived, checked"):
        archived = ListFactory(campaign=lst.campaign, status=ListStatus.ARCHIVED)
        held(archived)
        archive = "1" if name == "archived, checked" else "0"
        return {"check_dup": "1", "check_dup_archive": archive}, fields
    if name == "update if found":
        held(other_list, first_name="Old")
        return {"check_dup": "1", "update_if_found": "1"}, fields
    if name in ("dnc checked", "dnc not checked"):
        DncEntryFactory(phone="+12015550123", campaign=lst.campaign)
        return {"check_dnc": "1" if name == "dnc checked" else "0"}, fields
    if name == "dnc account-wide":
        DncEntryFactory(phone="+12015550123")
        return {"check_dnc": "1"}, fields
    if name == "hopper":
        return {"hopper": "1", "hopper_priority": "42", "hopper_expire_in": "30"}, fields
    if name == "hopper, found again":
        lead = held(other_list)
        HopperEntry.objects.create(lead=lead, campaign=lst.campaign, priority=5)
        return {
            "check_dup": "1",
            "update_if_found": "1",
            "hopper": "1",
            "hopper_priority": "7",
        }, fields
    if name == "invalid phone":
        return {}, {**fields, "phone_number": "12"}
    if name == "invalid email":
        return {}, {**fields, "email": "not-an-email"}
    if name == "global duplicate rule":
        held(other_campaign)
        rules(insert_reject_duplicates=True)
        return {"check_dup": "0"}, fields
    raise AssertionError(name)


def _outcome(lead_id, error_code, lst):
    if error_code:
        return {
            "rejected": error_code,
            "log": list(FailedInjection.objects.values_list("reason_code", flat=True)),
        }
    lead = Lead.objects.get(pk=lead_id)
    return {
        "leads": Lead.objects.count(),
        "first_name": lead.first_name,
        "in the target list": lead.list_id == lst.pk,
        "activities": sorted(lead.activities.values_list("type", flat=True)),
        "hopper": sorted(
            (e.campaign_id == lst.campaign_id, e.priority, e.expires_at is not None, e.state)
            for e in HopperEntry.objects.filter(lead=lead)
        ),
    }


SCENARIOS = [
    "no check, held elsewhere",
    "account check",
    "list check, held in another list",
    "list check, held in this list",
    "campaign check, held in the campaign",
    "campaign check, held in another campaign",
    "archived, not checked",
    "archived, checked",
    "update if found",
    "dnc checked",
    "dnc not checked",
    "dnc account-wide",
    "hopper",
    "hopper, found again",
    "invalid phone",
    "invalid email",
    "global duplicate rule",
]


@pytest.mark.parametrize("name", SCENARIOS)
def test_an_uploaded_row_ends_as_the_same_insert_would(name, lst, convoso, staff):
    outcomes = {}
    for way in ("insert", "upload"):
        with transaction.atomic():
            options, fields = _scenario(name, lst)
            if way == "insert":
                response = convoso("/v1/leads/insert", {"list_id": lst.pk, **options, **fields})
                body = response.json()
                outcome = _outcome(
                    body.get("id"),
                    None if body["success"] else FailedInjection.objects.get().reason_code,
                    lst,
                )
            else:
                header = list(fields)
                upload = upload_rows(
                    lst, header, [[fields[h] for h in header]], user=staff, **options
                )
                row = UploadRow.objects.get(upload=upload)
                outcome = _outcome(row.lead_id, row.reason_code, lst)
                if row.outcome != "rejected":
                    assert row.outcome == ("updated" if "found" in name else "created")
            outcomes[way] = outcome
            transaction.set_rollback(True)
    assert outcomes["upload"] == outcomes["insert"]


@pytest.mark.django_db(transaction=True)
def test_the_scheduler_runs_the_upload_sweep():
    from django_tasks_db.models import DBTaskResult

    call_command("run_scheduler", once=True)
    paths = set(DBTaskResult.objects.values_list("task_path", flat=True))
    assert "lists_hopper.tasks.sweep_uploads" in paths


def test_another_worker_resumes_at_the_stored_position_not_the_top(lst):
    from lists_hopper import uploads

    data = (
        b'Phone;Notes\r\n2015550100;"two\r\nlines; quoted"\r\n\r\n2015550101;x\r\n'
        b'2015550102;"""q"""\r\n2015550103;\r\n2015550104;"last\nrow"'
    )
    upload = upload_create(list_id=lst.pk, data=data, file_name="x", options={}, batch_size=2)
    checkpoint = 0
    while checkpoint is not None:
        uploads._READERS.clear()  # as if each batch ran on a fresh worker
        checkpoint = upload_process_batch(upload_id=upload.pk, checkpoint=checkpoint)
    upload.refresh_from_db()
    assert (upload.status, upload.processed, upload.created) == ("done", 5, 5)
    notes = dict(Lead.objects.values_list("phone_normalized", "notes"))  # Notes: a lead field
    assert notes == {
        "+12015550100": "two\r\nlines; quoted",
        "+12015550101": "x",
        "+12015550102": '"q"',
        "+12015550103": "",
        "+12015550104": "last\nrow",
    }
    numbers = UploadRow.objects.order_by("row_number").values_list("row_number", flat=True)
    assert list(numbers) == [1, 2, 3, 4, 5]


def test_a_row_the_pipeline_cannot_take_is_logged_and_the_rest_go_on(lst, staff, monkeypatch):
    import leads.services

    real = leads.services._prepare

    def failing(row, *, region):
        if row.request.fields.get("first_name") == "Boom":
            raise RuntimeError("a bug")
        return real(row, region=region)

    monkeypatch.setattr(leads.services, "_prepare", failing)
    upload = upload_rows(
        lst,
        ["Phone", "First Name"],
        [["2015550100", "Ann"], ["2015550101", "Boom"], ["2015550102", "Cy"]],
        user=staff,
    )
    assert (upload.status, upload.created, upload.rejected) == ("done", 2, 1)
    failure = FailedInjection.objects.get()
    assert failure.reason_code == "invalid_body" and "RuntimeError" in failure.reason
    assert failure.data == {"phone_number": "2015550101", "first_name": "Boom"}
    row = UploadRow.objects.get(row_number=2)
    assert (row.outcome, row.failure) == ("rejected", failure)


def test_notes_a_text_field_without_a_length_limit_is_taken_by_the_insert_api(convoso, lst):
    # Uploads suggest "Notes" columns for this field; the pipeline used to fail on it (a 500).
    response = convoso(
        "/v1/leads/insert", {"list_id": lst.pk, "phone_number": "2015550123", "notes": "x" * 5000}
    )
    assert response.status_code == 200, response.content
    assert Lead.objects.get().notes == "x" * 5000


def test_a_draft_mapping_naming_an_option_or_no_phone_is_refused_and_stays_a_draft(lst):
    from lists_hopper.upload_csv import FileError
    from lists_hopper.uploads import upload_confirm

    upload = upload_create(
        list_id=lst.pk,
        data=csv_bytes(["Phone", "X"], [["2015550123", "2"]]),
        file_name="x",
        options={},
        draft=True,
    )
    for mapping, message in (
        (["phone_number", "check_dup"], "is an option"),
        (["", "X"], "No column is mapped to the phone number"),
        (["phone_number", "x" * 101], "at most 100"),
    ):
        with pytest.raises(FileError, match=message):
            upload_confirm(upload=upload, mapping=mapping)
        upload.refresh_from_db()
        assert upload.status == "draft"
    upload_confirm(upload=upload, mapping=["phone_number", "mx_X"])
    upload.refresh_from_db()
    assert (upload.status, upload.mapping) == ("queued", ["phone_number", "mx_X"])

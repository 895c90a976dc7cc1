"""LeadSquared async capture: accept, the worker, retries, the lease, status and metrics."""

from __future__ import annotations

import json
import threading
from datetime import timedelta

import pytest
from django.conf import settings
from django.db import OperationalError, connection, transaction
from django.urls import reverse
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from injectionlogs.models import FailedInjection
from leads import capture_requests
from leads.capture_requests import ACCEPTED, MAX_ATTEMPTS, backoff
from leads.models import Activity, ActivityType, CaptureRequest, CaptureStatus, Lead
from leads.tasks import sweep_capture_requests
from leads.vocabulary import ReasonCode
from settings_global.services import global_settings_update
from tests.admin_helpers import logged_in
from tests.factories import (
    ApiCredentialFactory,
    CaptureRequestFactory,
    LeadFactory,
    StaffFactory,
)
from tests.helpers import attrs, postgres_only

pytestmark = pytest.mark.django_db

CAPTURE = "/lead/capture"
STATUS = "/lead/status"
METRICS = "/lead/capture/metrics"


@pytest.fixture
def api_key(credential):
    return {"HTTP_X_API_KEY": f"apikey-{credential.access_key}"}


@pytest.fixture
def accept(client, ls_keys, api_key):
    def post(body=None, query="", raw=None, headers=None):
        url = f"{CAPTURE}?{ls_keys}{'&' + query if query else ''}"
        data = raw if raw is not None else json.dumps(body)
        return client.post(
            url,
            data=data,
            content_type="application/json",
            **(api_key if headers is None else headers),
        )

    return post


@pytest.fixture
def status(client, api_key):
    def get(request_id, headers=None):
        return client.get(
            f"{STATUS}?RequestId={request_id}", **(api_key if headers is None else headers)
        )

    return get


def accepted_id(response) -> str:
    assert response.status_code == 200, response.content
    return response.json()["RequestID"]


def process(request_id) -> str:
    """What a worker does with one request: claim it if it is due, run it."""
    return capture_requests.capture_request_process(request_id=str(request_id))


def make_due(request_id):
    CaptureRequest.objects.filter(pk=request_id).update(
        next_attempt_at=timezone.now() - timedelta(seconds=1)
    )


def fail_with_operational_error(monkeypatch):
    def broken(*, requests):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr("leads.services.leads_ingest", broken)


# -- accept ----------------------------------------------------------------------------------


def test_accept_stores_the_request_in_queue_and_answers_its_id(accept, credential, api_user):
    body = attrs(FirstName="Bret", EmailAddress="bret@example.com", SearchBy="Phone")
    response = accept(body, query="LeadUpdateBehavior=DoNotUpdate")
    assert response.status_code == 200
    assert response.json() == {"Status": ACCEPTED, "RequestID": response.json()["RequestID"]}
    capture = CaptureRequest.objects.get()
    assert str(capture.pk) == response.json()["RequestID"]
    assert capture.status == CaptureStatus.IN_QUEUE
    assert capture.body == body
    assert capture.query == {"LeadUpdateBehavior": "DoNotUpdate"}  # no credentials kept
    assert capture.credential == credential
    assert capture.api_user == api_user
    assert capture.attempts == 0
    assert capture.remote_addr == "127.0.0.1"
    assert DBTaskResult.objects.count() == 0  # one insert: the table is the queue
    assert Lead.objects.count() == 0  # the worker captures it, not the request


@pytest.mark.parametrize(
    "headers, query",
    [
        ({}, None),  # no x-api-key
        ({"HTTP_X_API_KEY": "apikey-wrong"}, None),
        ({"HTTP_X_API_KEY": "apikey-ak_other"}, None),  # another user's api key
        (None, "accessKey=ak_other&secretKey=secret-ak_other"),  # another user's keys
        (None, "accessKey=ak_vendor&secretKey=secret-wrong"),
        (None, "accessKey=ak_vendor"),
    ],
)
def test_wrong_or_mismatched_keys_are_401_and_store_nothing(
    client, credential, api_key, headers, query
):
    ApiCredentialFactory(access_key="ak_other")
    query = query or f"accessKey=ak_vendor&secretKey=secret-{credential.access_key}"
    response = client.post(
        f"{CAPTURE}?{query}",
        data=json.dumps(attrs(EmailAddress="a@x.com")),
        content_type="application/json",
        **(api_key if headers is None else headers),
    )
    assert response.status_code == 401
    assert response.json()["ExceptionType"] == "MXUnAuthorizedAccessException"
    assert CaptureRequest.objects.count() == 0
    assert FailedInjection.objects.count() == 0
    assert DBTaskResult.objects.count() == 0


def test_the_keys_may_come_in_the_x_lsq_headers_instead_of_the_query(client, api_key, credential):
    headers = {
        **api_key,
        "HTTP_X_LSQ_ACCESSKEY": credential.access_key,
        "HTTP_X_LSQ_SECRETKEY": f"secret-{credential.access_key}",
    }
    body = json.dumps(attrs(EmailAddress="a@x.com"))
    response = client.post(CAPTURE, data=body, content_type="application/json", **headers)
    assert response.status_code == 200
    assert CaptureRequest.objects.get().credential == credential
    headers["HTTP_X_LSQ_SECRETKEY"] = "secret-wrong"
    wrong = client.post(CAPTURE, data=body, content_type="application/json", **headers)
    assert wrong.status_code == 401
    assert CaptureRequest.objects.count() == 1


def test_a_revoked_credential_is_401(accept, credential):
    credential.is_active = False
    credential.save()
    assert accept(attrs(EmailAddress="a@x.com")).status_code == 401
    assert CaptureRequest.objects.count() == 0


@pytest.mark.parametrize(
    "raw, logged",
    [
        (
            '[{"Attribute": "FirstName", "Value": "Bret"',
            '[{"Attribute": "FirstName", "Value": "Bret"',
        ),
        ("", ""),
        ('[{"Attribute": "FirstName", "Value": "a\\u0000b"}]', None),  # NUL: not storable
        ('[{"Attribute": "FirstName", "Value": NaN}]', None),
        ('[{"Attribute": "FirstName", "Value": 1e999}]', None),
        ('[{"Attribute": "FirstName", "Value": ' + "9" * 5000 + "}]", None),  # > int digit limit
        ("[" * 100_000 + "]" * 100_000, None),  # nested past the parser's recursion limit
    ],
    ids=["truncated", "empty", "nul", "nan", "infinity", "huge-int", "deep"],
)
def test_a_body_that_is_not_storable_json_is_400_logged_and_not_queued(accept, raw, logged):
    response = accept(raw=raw, query="LeadUpdateBehavior=DoNotUpdate")
    assert response.status_code == 400
    assert response.json()["Status"] == "Error"
    assert response.json()["ExceptionType"] == "MXInvalidJSONException"
    failure = FailedInjection.objects.get()
    assert failure.reason_code == ReasonCode.INVALID_BODY
    assert failure.family == "leadsquared"
    assert failure.endpoint == CAPTURE
    assert failure.query == {"LeadUpdateBehavior": "DoNotUpdate"}
    assert failure.api_user.username == "vendor"
    if logged is not None:
        assert failure.data == {"raw": logged}
    assert CaptureRequest.objects.count() == 0
    assert DBTaskResult.objects.count() == 0


def test_a_json_body_of_the_wrong_shape_is_refused_up_front_and_logged(accept):
    response = accept({"FirstName": "Bret"})
    assert response.status_code == 400
    assert "JSON array" in response.json()["ExceptionMessage"]
    assert not CaptureRequest.objects.exists()
    failure = FailedInjection.objects.get()
    assert failure.reason_code == ReasonCode.INVALID_BODY
    assert failure.data == {"FirstName": "Bret"}


def test_an_idempotency_key_retry_gets_the_same_request_id_and_stores_one(accept, api_key):
    headers = {**api_key, "HTTP_IDEMPOTENCY_KEY": "k-1"}
    first = accept(attrs(EmailAddress="a@x.com"), headers=headers)
    again = accept(attrs(EmailAddress="a@x.com"), headers=headers)
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true"
    assert CaptureRequest.objects.count() == 1


def test_over_the_rate_limit_is_429_and_stores_nothing(accept):
    # An hour's window: under a short one, a window turning between the calls lets both pass.
    global_settings_update(
        changes={"rate_limit_calls": 1, "rate_limit_window_seconds": 3600}, user=None, via="test"
    )
    assert accept(attrs(EmailAddress="a@x.com")).status_code == 200
    response = accept(attrs(EmailAddress="b@x.com"))
    assert response.status_code == 429
    assert response.json()["ExceptionType"] == "MXAPIRateLimitExceededException"
    assert CaptureRequest.objects.count() == 1
    assert FailedInjection.objects.count() == 0


def test_other_methods_and_paths_answer_in_the_leadsquared_format(client, api_key):
    assert client.get(CAPTURE, **api_key).status_code == 405
    missing = client.get("/lead/nothing-here", **api_key)
    assert missing.status_code == 404
    assert missing.json()["ExceptionType"] == "MXAPINotFoundException"


# -- the worker ------------------------------------------------------------------------------


def test_the_worker_runs_the_lead_capture_pipeline(accept, status, api_user):
    body = attrs(FirstName="Bret", EmailAddress="Bret@Example.com", Phone="+1 201 555 0123")
    request_id = accepted_id(accept(body))
    assert process(request_id) == CaptureStatus.SUCCESS
    capture = CaptureRequest.objects.get()
    lead = Lead.objects.get()
    activity = Activity.objects.get(lead=lead, type=ActivityType.LEAD_CAPTURE)
    assert capture.status == CaptureStatus.SUCCESS
    assert capture.attempts == 1
    assert capture.lead == lead
    assert capture.result == {
        "Status": "Success",
        "Message": {"Id": str(lead.id), "RelatedId": str(activity.id), "IsCreated": True},
    }
    assert capture.started_at is not None and capture.finished_at is not None
    assert capture.next_attempt_at is None
    assert lead.email_normalized == "bret@example.com"
    assert lead.phone_normalized == "+12015550123"
    assert lead.created_by == api_user
    assert status(request_id).json()["TaskStatus"]["Message"] == capture.result


def test_the_worker_applies_the_capture_rules_and_the_update_behavior(accept):
    held = LeadFactory(email="ann@x.com", first_name="Ann", company="")
    body = attrs(EmailAddress="ANN@x.com", FirstName="Anna", Company="Acme")
    request_id = accepted_id(accept(body, query="LeadUpdateBehavior=UpdateOnlyEmptyFields"))
    process(request_id)
    capture = CaptureRequest.objects.get()
    assert capture.result["Message"]["Id"] == str(held.id)
    assert capture.result["Message"]["IsCreated"] is False
    held.refresh_from_db()
    assert (held.first_name, held.company) == ("Ann", "Acme")
    assert Lead.objects.count() == 1


def test_a_rejected_lead_is_failure_logged_once_and_not_retried(accept, status):
    body = attrs(EmailAddress="not-an-email", FirstName="A")
    request_id = accepted_id(accept(body, query="LeadUpdateBehavior=DoNotUpdate"))
    assert process(request_id) == CaptureStatus.FAILURE
    capture = CaptureRequest.objects.get()
    assert capture.status == CaptureStatus.FAILURE
    assert capture.attempts == 1
    assert capture.next_attempt_at is None
    failure = FailedInjection.objects.get()
    assert failure.reason_code == ReasonCode.INVALID_EMAIL
    assert failure.endpoint == CAPTURE
    assert failure.data == body
    assert failure.query == {"LeadUpdateBehavior": "DoNotUpdate"}
    assert failure.remote_addr == "127.0.0.1"
    assert capture.status_reason == failure.reason
    # Neither another run nor the sweep, even much later, touch it again.
    assert process(request_id) == "skipped"
    CaptureRequest.objects.update(updated_at=timezone.now() - timedelta(hours=1))
    assert sweep_capture_requests.call()["requeued"] == 0
    assert FailedInjection.objects.count() == 1
    assert CaptureRequest.objects.get().attempts == 1
    task_status = status(request_id).json()["TaskStatus"]
    assert task_status["Status"] == "FAILURE"
    assert task_status["StatusReason"] == failure.reason
    assert task_status["Message"] is None


def test_a_system_fault_puts_the_request_back_in_the_queue_with_backoff(accept, monkeypatch):
    request_id = accepted_id(accept(attrs(EmailAddress="a@x.com")))
    fail_with_operational_error(monkeypatch)
    before = timezone.now()
    assert process(request_id) == CaptureStatus.IN_QUEUE
    capture = CaptureRequest.objects.get()
    assert capture.status == CaptureStatus.IN_QUEUE
    assert capture.attempts == 1
    assert before + timedelta(seconds=29) < capture.next_attempt_at
    assert capture.next_attempt_at < timezone.now() + timedelta(seconds=31)
    assert "OperationalError" in capture.status_reason
    assert Lead.objects.count() == 0
    assert FailedInjection.objects.count() == 0  # a system fault is not the lead's rejection
    # Claimed early, it waits for its time.
    assert process(request_id) == "skipped"
    assert CaptureRequest.objects.get().attempts == 1


def test_a_fault_after_the_pipeline_wrote_rolls_the_lead_back(accept, monkeypatch):
    request_id = accepted_id(accept(attrs(EmailAddress="a@x.com")))

    def broken(result):
        raise RuntimeError("lost the connection while saving the outcome")

    monkeypatch.setattr(capture_requests, "capture_message", broken)
    assert process(request_id) == CaptureStatus.IN_QUEUE
    assert Lead.objects.count() == 0  # no lead without its recorded outcome
    assert Activity.objects.count() == 0
    monkeypatch.undo()
    make_due(request_id)
    assert process(request_id) == CaptureStatus.SUCCESS
    assert CaptureRequest.objects.get().attempts == 2
    assert Lead.objects.count() == 1


def test_the_backoff_is_30s_2m_7m_then_15m():
    waits = [backoff(attempt).total_seconds() for attempt in range(1, MAX_ATTEMPTS)]
    assert waits == [30, 120, 420, 900, 900, 900, 900, 900, 900]


def test_after_ten_failed_attempts_the_request_is_error(accept, monkeypatch, status):
    request_id = accepted_id(accept(attrs(EmailAddress="a@x.com")))
    fail_with_operational_error(monkeypatch)
    for attempt in range(1, MAX_ATTEMPTS):
        assert process(request_id) == CaptureStatus.IN_QUEUE
        capture = CaptureRequest.objects.get()
        assert capture.attempts == attempt
        expected = timezone.now() + backoff(attempt)
        assert abs((capture.next_attempt_at - expected).total_seconds()) < 5
        make_due(request_id)
    assert process(request_id) == CaptureStatus.ERROR
    capture = CaptureRequest.objects.get()
    assert capture.status == CaptureStatus.ERROR
    assert capture.attempts == MAX_ATTEMPTS == 10
    assert capture.status_reason.startswith("Gave up after 10 attempts: OperationalError")
    assert capture.finished_at is not None
    assert process(request_id) == "skipped"
    task_status = status(request_id).json()["TaskStatus"]
    assert task_status["Status"] == "ERROR"
    assert task_status["Message"] is None
    assert FailedInjection.objects.count() == 0


def test_an_unknown_or_malformed_request_id_is_skipped():
    assert process("5b0b2a4c-1a5e-4c44-9d8e-5b0b2a4c1a5e") == "skipped"
    assert process("not-a-uuid") == "skipped"


# -- the sweep -------------------------------------------------------------------------------


def aged(*, minutes: float = 0, **fields) -> CaptureRequest:
    """A request last touched `minutes` ago."""
    capture = CaptureRequestFactory(**fields)
    touched = timezone.now() - timedelta(minutes=minutes)
    CaptureRequest.objects.filter(pk=capture.pk).update(created_at=touched, updated_at=touched)
    return capture


def test_the_sweep_puts_back_only_requests_whose_lease_ran_out(credential):
    now = timezone.now()
    queued = aged(minutes=2)
    retry_later = aged(minutes=5, attempts=3, next_attempt_at=now + timedelta(minutes=3))
    lease_over = aged(
        minutes=1,
        status=CaptureStatus.IN_PROCESS,
        attempts=1,
        started_at=now - timedelta(seconds=40),
        leased_until=now - timedelta(seconds=10),
    )
    working = aged(
        minutes=1,
        status=CaptureStatus.IN_PROCESS,
        attempts=1,
        started_at=now - timedelta(seconds=20),
        leased_until=now + timedelta(seconds=10),
    )
    done = aged(minutes=60, status=CaptureStatus.SUCCESS, attempts=1)
    assert sweep_capture_requests.call()["requeued"] == 1
    statuses = dict(CaptureRequest.objects.values_list("pk", "status"))
    assert statuses == {
        queued.pk: CaptureStatus.IN_QUEUE,
        retry_later.pk: CaptureStatus.IN_QUEUE,
        lease_over.pk: CaptureStatus.IN_QUEUE,
        working.pk: CaptureStatus.IN_PROCESS,
        done.pk: CaptureStatus.SUCCESS,
    }
    assert CaptureRequest.objects.get(pk=lease_over.pk).attempts == 1  # counted when claimed
    assert sweep_capture_requests.call()["requeued"] == 0


def test_a_stuck_request_is_taken_back_and_run(credential):
    lead_body = attrs(EmailAddress="stuck@x.com")
    stuck = aged(
        minutes=6,
        body=lead_body,
        credential=credential,
        api_user=credential.user,
        status=CaptureStatus.IN_PROCESS,
        attempts=1,
        started_at=timezone.now() - timedelta(minutes=6),
    )
    assert process(str(stuck.pk)) == CaptureStatus.SUCCESS
    stuck.refresh_from_db()
    assert stuck.attempts == 2
    assert stuck.lead.email_normalized == "stuck@x.com"


def test_an_in_process_request_that_is_not_stuck_is_left_to_its_worker():
    working = aged(
        minutes=1,
        status=CaptureStatus.IN_PROCESS,
        attempts=1,
        started_at=timezone.now() - timedelta(minutes=1),
        leased_until=timezone.now() + timedelta(seconds=20),  # its worker renews the lease
    )
    assert process(str(working.pk)) == "skipped"
    working.refresh_from_db()
    assert (working.status, working.attempts) == (CaptureStatus.IN_PROCESS, 1)


def test_a_request_whose_worker_died_on_every_attempt_ends_in_error():
    stuck = aged(
        minutes=6,
        status=CaptureStatus.IN_PROCESS,
        attempts=MAX_ATTEMPTS,
        started_at=timezone.now() - timedelta(minutes=6),
    )
    assert process(str(stuck.pk)) == "skipped"
    stuck.refresh_from_db()
    assert stuck.status == CaptureStatus.ERROR
    assert stuck.attempts == MAX_ATTEMPTS
    assert "worker stopped" in stuck.status_reason


def test_the_scheduler_runs_the_sweep_every_minute():
    assert ("leads.tasks.sweep_capture_requests", 60) in settings.SCHEDULED_TASKS


# -- status ----------------------------------------------------------------------------------

BODY = attrs(EmailAddress="a@x.com")
SUCCESS_RESULT = {"Status": "Success", "Message": {"Id": "x", "RelatedId": "y", "IsCreated": True}}


@pytest.mark.parametrize(
    "fields, expected",
    [
        (
            {},
            {
                "Status": "In-Queue",
                "StatusReason": None,
                "TaskCurrentStep": "In-Queue",
                "TaskLastStep": None,
                "Message": None,
            },
        ),
        (
            {"attempts": 2, "status_reason": "Attempt 2 of 10 failed: OperationalError"},
            {
                "Status": "In-Queue",
                "StatusReason": "Attempt 2 of 10 failed: OperationalError",
                "TaskCurrentStep": "Retry-Queue",
                "TaskLastStep": "In-Process-Queue",
                "Message": None,
            },
        ),
        (
            {"status": CaptureStatus.IN_PROCESS, "attempts": 1},
            {
                "Status": "In-Process",
                "StatusReason": None,
                "TaskCurrentStep": "In-Process-Queue",
                "TaskLastStep": "In-Queue",
                "Message": None,
            },
        ),
        (
            {
                "status": CaptureStatus.SUCCESS,
                "attempts": 1,
                "result": SUCCESS_RESULT,
                "status_reason": "Request was successfully completed",
            },
            {
                "Status": "Success",
                "StatusReason": "Request was successfully completed",
                "TaskCurrentStep": None,
                "TaskLastStep": "In-Process-Queue",
                "Message": SUCCESS_RESULT,
            },
        ),
        (
            {
                "status": CaptureStatus.FAILURE,
                "attempts": 1,
                "status_reason": "Invalid email",
                "result": {"Status": "Error"},
            },
            {
                "Status": "FAILURE",
                "StatusReason": "Invalid email",
                "TaskCurrentStep": None,
                "TaskLastStep": "In-Process-Queue",
                "Message": None,
            },
        ),
        (
            {"status": CaptureStatus.ERROR, "attempts": 10, "status_reason": "Gave up"},
            {
                "Status": "ERROR",
                "StatusReason": "Gave up",
                "TaskCurrentStep": None,
                "TaskLastStep": "In-Process-Queue",
                "Message": None,
            },
        ),
    ],
    ids=["queued", "retrying", "in-process", "success", "failure", "error"],
)
def test_status_reports_each_state(status, credential, fields, expected):
    capture = CaptureRequestFactory(credential=credential, body=BODY, **fields)
    response = status(capture.pk)
    assert response.status_code == 200
    answer = response.json()
    # The body as text, as LeadSquared shows it (PostgreSQL's jsonb may reorder an object's keys).
    assert json.loads(answer["TaskStatus"].pop("RequestBody")) == BODY
    assert answer == {
        "RequestId": str(capture.pk),
        "TaskStatus": {"TaskType": "Lead Capture", **expected},
    }


def test_status_of_an_unknown_or_anothers_request_does_not_exist(status, credential):
    other = CaptureRequestFactory(credential=ApiCredentialFactory(access_key="ak_other"))
    for request_id in (other.pk, "5b0b2a4c-1a5e-4c44-9d8e-5b0b2a4c1a5e", "not-a-uuid"):
        response = status(request_id)
        assert response.status_code == 400
        assert response.json() == {
            "Status": "Error",
            "ExceptionType": "MXInvalidEntityException",
            "ExceptionMessage": "Request does not exist",
        }
    assert status("").status_code == 400
    assert FailedInjection.objects.count() == 0  # a lookup is not a rejected lead


def test_status_needs_the_api_key_and_checks_any_keys_given(client, credential, api_key):
    capture = CaptureRequestFactory(credential=credential)
    url = f"{STATUS}?RequestId={capture.pk}"
    assert client.get(url).status_code == 401
    assert client.get(url, HTTP_X_API_KEY="apikey-wrong").status_code == 401
    assert client.get(url, **api_key).status_code == 200
    keys = f"&accessKey=ak_vendor&secretKey=secret-{credential.access_key}"
    assert client.get(url + keys, **api_key).status_code == 200
    assert client.get(url + "&accessKey=ak_vendor&secretKey=nope", **api_key).status_code == 401


# -- metrics ---------------------------------------------------------------------------------


def test_metrics_count_pending_the_oldest_delay_and_the_rate(client, api_key, credential):
    now = timezone.now()
    mine = {"credential": credential, "api_user": credential.user}
    aged(minutes=2, **mine)  # the oldest pending: 120 s
    aged(minutes=1, **mine)
    aged(minutes=0.5, status=CaptureStatus.IN_PROCESS, started_at=now, **mine)
    for finished_ago in (0.5, 3, 9):  # finished within the last 10 minutes
        aged(
            minutes=15,
            status=CaptureStatus.SUCCESS,
            finished_at=now - timedelta(minutes=finished_ago),
            **mine,
        )
    aged(minutes=15, status=CaptureStatus.FAILURE, finished_at=now - timedelta(minutes=1), **mine)
    aged(minutes=60, status=CaptureStatus.SUCCESS, finished_at=now - timedelta(minutes=30), **mine)
    response = client.get(METRICS, **api_key)
    assert response.status_code == 200
    metrics = response.json()
    assert metrics["PendingMessages"] == 3
    assert 120 <= metrics["MaxDelayInSeconds"] <= 125
    assert metrics["ProcessingRatePerMinute"] == 0.4  # 4 finished in 10 minutes


def test_metrics_of_an_empty_queue_and_without_the_api_key(client, api_key):
    assert client.get(METRICS, **api_key).json() == {
        "PendingMessages": 0,
        "MaxDelayInSeconds": 0,
        "ProcessingRatePerMinute": 0,
    }
    assert client.get(METRICS).status_code == 401


# -- admin -----------------------------------------------------------------------------------


def test_staff_see_async_requests_with_status_and_attempts(
    credential, django_assert_max_num_queries
):
    for number in range(3):
        CaptureRequestFactory(
            credential=credential,
            api_user=credential.user,
            status=CaptureStatus.ERROR,
            attempts=10,
            lead=LeadFactory(contact_name=f"Shown Lead {number}"),
        )
    client = logged_in(StaffFactory(username="boss"))
    url = reverse("admin:leads_capturerequest_changelist")
    client.get(url)  # the session and the content types, loaded once
    with django_assert_max_num_queries(6):  # not one query per row for its lead or user
        page = client.get(url)
    assert page.status_code == 200
    html = page.content.decode()
    assert html.count('class="field-status">Error<') == 3
    assert html.count('class="field-attempts">10<') == 3
    assert "Shown Lead 2" in html


# -- several workers (PostgreSQL row locks) --------------------------------------------------


def in_threads(*fns):
    """Run the functions at the same moment, each on its own connection; their results."""
    results: list = [None] * len(fns)
    barrier = threading.Barrier(len(fns))

    def run(i: int) -> None:
        try:
            barrier.wait()
            results[i] = fns[i]()
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(fns))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return results


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_workers_running_one_request_at_once_capture_it_once(credential):
    capture = CaptureRequestFactory(
        credential=credential, api_user=credential.user, body=attrs(EmailAddress="once@x.com")
    )

    def run() -> str:
        return process(str(capture.pk))

    results = in_threads(*[run] * 8)
    assert sorted(results) == ["Success"] + ["skipped"] * 7
    capture.refresh_from_db()
    assert (capture.status, capture.attempts) == (CaptureStatus.SUCCESS, 1)
    assert Lead.objects.count() == 1
    assert Activity.objects.filter(type=ActivityType.LEAD_CAPTURE).count() == 1


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_request_a_live_worker_holds_is_neither_taken_over_nor_swept():
    stuck = aged(
        minutes=6,
        status=CaptureStatus.IN_PROCESS,
        attempts=1,
        started_at=timezone.now() - timedelta(minutes=6),
    )
    locked, release = threading.Event(), threading.Event()

    def worker_holding_the_row() -> None:
        try:
            with transaction.atomic():
                CaptureRequest.objects.select_for_update().get(pk=stuck.pk)
                locked.set()
                release.wait(30)
        finally:
            connection.close()

    holder = threading.Thread(target=worker_holding_the_row)
    holder.start()
    try:
        assert locked.wait(10)
        assert process(str(stuck.pk)) == "skipped"
        assert sweep_capture_requests.call()["requeued"] == 0  # skipped, not waited for
    finally:
        release.set()
        holder.join(30)
    stuck.refresh_from_db()
    assert stuck.attempts == 1
    assert sweep_capture_requests.call()["requeued"] == 1  # its worker is gone now

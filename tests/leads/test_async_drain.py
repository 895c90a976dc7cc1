"""The async capture queue: batch claims, leases, a worker that outlives the database, per-vendor
metrics, and the task rows a dead worker leaves behind."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest
from django.db import OperationalError, connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tasks_db.models import DBTaskResult

from injectionlogs.models import FailedInjection
from leads import capture_requests, services
from leads.capture_requests import (
    LEASE,
    capture_requests_claim,
    capture_requests_drain,
    capture_requests_run,
    drain_forever,
)
from leads.models import Activity, ActivityType, CaptureRequest, CaptureStatus, Lead
from leads.tasks import prune_housekeeping, sweep_capture_requests
from settings_global.management.commands.run_worker import Command as RunWorker
from tests.factories import ApiCredentialFactory, CaptureRequestFactory, UserFactory
from tests.helpers import attrs, postgres_only

pytestmark = pytest.mark.django_db

METRICS = "/lead/capture/metrics"
NOBODY_LISTENS = 1  # a TCP port where no database answers


def queued(credential, n: int, **fields) -> list[CaptureRequest]:
    return [
        CaptureRequestFactory(
            credential=credential,
            api_user=credential.user,
            body=attrs(EmailAddress=f"lead{i}@x.com", FirstName=f"L{i}"),
            **fields,
        )
        for i in range(n)
    ]


def test_one_drain_runs_a_whole_batch_through_one_pipeline_call(credential, monkeypatch):
    good = queued(credential, 5)
    bad = CaptureRequestFactory(
        credential=credential, api_user=credential.user, body=attrs(EmailAddress="nope")
    )
    calls = []
    real = services.leads_ingest

    def counted(*, requests):
        calls.append(len(requests))
        return real(requests=requests)

    monkeypatch.setattr(services, "leads_ingest", counted)
    assert capture_requests_drain(worker_id="w1") == 6
    assert calls == [6]
    for capture in good:
        capture.refresh_from_db()
        assert capture.status == CaptureStatus.SUCCESS
        assert capture.attempts == 1
        assert capture.leased_until is None
        assert capture.result["Message"]["Id"] == str(capture.lead_id)
    bad.refresh_from_db()
    assert bad.status == CaptureStatus.FAILURE
    failure = FailedInjection.objects.get()
    assert failure.data == attrs(EmailAddress="nope")
    assert bad.result["Status"] == "Error"
    assert bad.status_reason == failure.reason
    assert Lead.objects.count() == 5
    assert Activity.objects.filter(type=ActivityType.LEAD_CAPTURE).count() == 5
    assert capture_requests_drain(worker_id="w1") == 0  # nothing left


def queue_statements(ctx) -> list[str]:
    return [q["sql"] for q in ctx.captured_queries if "leads_capturerequest" in q["sql"]]


@postgres_only
def test_a_batch_reads_and_writes_the_queue_in_as_many_statements_whatever_its_size(credential):
    """The claim (with its look for spent requests), the rows' lock and read, and the outcomes:
    as many statements for 3 requests as for 40, none of them sent once per request (the
    outcomes were an executemany, and a rejected request's row was read again for its lead)."""
    statements = []
    for good_ones, bad_ones in ((2, 1), (37, 3)):
        good = queued(credential, good_ones)
        bad = [
            CaptureRequestFactory(
                credential=credential, api_user=credential.user, body=attrs(EmailAddress="nope")
            )
            for _ in range(bad_ones)
        ]
        with CaptureQueriesContext(connection) as ctx:
            assert capture_requests_drain(worker_id="w1") == good_ones + bad_ones
        statements.append(queue_statements(ctx))
        for capture in good:
            capture.refresh_from_db()
            assert capture.status == CaptureStatus.SUCCESS
            assert capture.status_reason == capture_requests.SUCCEEDED
            assert capture.result["Message"]["Id"] == str(capture.lead_id)
            assert capture.finished_at is not None
            assert (capture.leased_until, capture.next_attempt_at) == (None, None)
        for capture in bad:
            capture.refresh_from_db()
            assert (capture.status, capture.lead_id, capture.result["Status"]) == (
                CaptureStatus.FAILURE,
                None,
                "Error",
            )
            assert capture.status_reason == FailedInjection.objects.latest("created_at").reason
    assert [len(sent) for sent in statements] == [4, 4]
    assert not [sql for sent in statements for sql in sent if " times: " in sql]


def test_a_request_that_breaks_the_pipeline_holds_back_none_of_its_batch(credential, monkeypatch):
    good = queued(credential, 3)
    poison = CaptureRequestFactory(
        credential=credential, api_user=credential.user, body=attrs(EmailAddress="poison@x.com")
    )
    real = services.leads_ingest

    def breaks_on_poison(*, requests):
        if any(r.fields.get("email") == "poison@x.com" for r in requests):
            raise ValueError("a bug this request triggers")
        return real(requests=requests)

    monkeypatch.setattr(services, "leads_ingest", breaks_on_poison)
    assert capture_requests_drain(worker_id="w1") == 4
    assert {c.status for c in CaptureRequest.objects.filter(pk__in=[g.pk for g in good])} == {
        CaptureStatus.SUCCESS
    }
    poison.refresh_from_db()
    assert poison.status == CaptureStatus.IN_QUEUE
    assert poison.attempts == 1
    assert "ValueError" in poison.status_reason
    assert poison.next_attempt_at > timezone.now()
    assert Lead.objects.count() == 3


def test_a_dead_workers_claim_is_recovered_once_its_lease_runs_out(credential):
    [capture] = queued(credential, 1)
    dead = capture_requests_claim(worker_id="dead-1-aaaaaa")  # claimed, then its worker died
    assert [c.pk for c in dead] == [capture.pk]
    capture.refresh_from_db()
    assert capture.status == CaptureStatus.IN_PROCESS
    assert capture.claimed_by == "dead-1-aaaaaa"
    assert timezone.now() < capture.leased_until <= timezone.now() + LEASE
    # Within its lease, no one else takes it.
    assert capture_requests_drain(worker_id="live-2-bbbbbb") == 0
    CaptureRequest.objects.filter(pk=capture.pk).update(
        leased_until=timezone.now() - timedelta(seconds=1)
    )
    assert capture_requests_drain(worker_id="live-2-bbbbbb") == 1
    capture.refresh_from_db()
    assert (capture.status, capture.attempts) == (CaptureStatus.SUCCESS, 2)
    assert capture.claimed_by == "live-2-bbbbbb"
    # The dead worker's claim, run late (a stall, not a death), writes nothing.
    assert capture_requests_run(claims=dead, worker_id="dead-1-aaaaaa") == {}
    assert Lead.objects.count() == 1


def test_the_heartbeat_renews_the_lease_of_the_workers_own_claims(credential):
    queued(credential, 2)
    claims = capture_requests_claim(worker_id="w1")
    CaptureRequest.objects.update(leased_until=timezone.now() + timedelta(seconds=1))
    assert capture_requests.capture_requests_renew(claims=claims, worker_id="w1") == 2
    assert capture_requests.capture_requests_renew(claims=claims, worker_id="w2") == 0
    for capture in CaptureRequest.objects.all():
        assert capture.leased_until > timezone.now() + LEASE - timedelta(seconds=5)


def test_metrics_report_only_the_callers_own_queue(client, credential):
    other = ApiCredentialFactory(user=UserFactory(username="rival"), access_key="ak_rival")
    queued(credential, 2)
    queued(other, 5)
    queued(other, 3, status=CaptureStatus.SUCCESS, finished_at=timezone.now())
    mine = client.get(METRICS, HTTP_X_API_KEY=f"apikey-{credential.access_key}").json()
    theirs = client.get(METRICS, HTTP_X_API_KEY="apikey-ak_rival").json()
    assert mine["PendingMessages"] == 2
    assert mine["ProcessingRatePerMinute"] == 0
    assert theirs["PendingMessages"] == 5
    assert theirs["ProcessingRatePerMinute"] == 0.3


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_the_sweep_clears_task_rows_left_running_by_dead_workers():
    host = socket.gethostname()[:40]
    orphan = prune_housekeeping.enqueue()
    alive = prune_housekeeping.enqueue()
    DBTaskResult.objects.filter(pk=orphan.id).update(
        status="RUNNING", started_at=timezone.now(), worker_ids=[f"{host}-{_dead_pid()}-abcdef"]
    )
    DBTaskResult.objects.filter(pk=alive.id).update(
        status="RUNNING", started_at=timezone.now(), worker_ids=[f"{host}-{os.getpid()}-abcdef"]
    )
    assert sweep_capture_requests.call()["orphaned_tasks"] == 1
    gone = DBTaskResult.objects.get(pk=orphan.id)
    assert gone.status == "FAILED"
    assert gone.finished_at is not None
    assert "stopped while running" in gone.traceback
    assert DBTaskResult.objects.get(pk=alive.id).status == "RUNNING"
    assert sweep_capture_requests.call()["orphaned_tasks"] == 0


# -- against a real PostgreSQL (threads and connections of their own) -----------------------


def in_thread(fn):
    def run():
        try:
            fn()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_two_workers_claiming_with_skip_locked_never_run_a_request_twice(credential):
    captures = queued(credential, 120)

    def worker(name):
        def drain():
            while capture_requests_drain(worker_id=name, limit=7):
                pass

        return drain

    threads = [in_thread(worker(f"w{i}")) for i in range(2)]
    for thread in threads:
        thread.join(120)
    assert set(CaptureRequest.objects.values_list("status", "attempts")) == {
        (CaptureStatus.SUCCESS, 1)
    }
    assert Lead.objects.count() == len(captures)
    assert Activity.objects.filter(type=ActivityType.LEAD_CAPTURE).count() == len(captures)


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_drain_loop_outlives_a_database_it_cannot_reach(credential):
    [capture] = queued(credential, 1)
    reached = threading.Event()
    done = threading.Event()
    errors = []

    def loop():
        real_port = connection.settings_dict["PORT"]
        connection.settings_dict["PORT"] = NOBODY_LISTENS  # this thread's connection only
        try:
            connection.ensure_connection()
        except OperationalError:
            errors.append("down")
        connection.settings_dict["PORT"] = real_port  # restored below, after the outage

        def stopping():
            if not reached.is_set():
                connection.settings_dict["PORT"] = NOBODY_LISTENS
                reached.set()
                return False
            if time.monotonic() > deadline:
                return True
            if not restored.is_set() and time.monotonic() > outage_ends:
                connection.settings_dict["PORT"] = real_port
                restored.set()
            return (
                CaptureRequest.objects.filter(pk=capture.pk, status=CaptureStatus.SUCCESS).exists()
                if restored.is_set()
                else False
            )

        drain_forever(worker_id="w-outage", stopping=stopping, idle=0.1, max_backoff=0.5)
        done.set()

    restored = threading.Event()
    deadline = time.monotonic() + 60
    outage_ends = time.monotonic() + 2
    thread = in_thread(loop)
    thread.join(70)
    assert errors == ["down"]  # the port really refused
    assert restored.is_set() and done.is_set()
    capture.refresh_from_db()
    assert capture.status == CaptureStatus.SUCCESS
    assert Lead.objects.count() == 1


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_the_task_worker_restarts_after_the_database_went_away_and_runs_its_tasks():
    task = prune_housekeeping.enqueue()
    real_port = connection.settings_dict["PORT"]
    connection.close()
    connection.settings_dict["PORT"] = NOBODY_LISTENS

    def database_back_then_stop():
        time.sleep(1.5)
        connection.settings_dict["PORT"] = real_port  # noqa: B023 - the main thread's settings
        for _ in range(100):
            if DBTaskResult.objects.filter(pk=task.id, status="SUCCESSFUL").exists():
                break
            time.sleep(0.2)
        os.kill(os.getpid(), signal.SIGTERM)

    previous = signal.getsignal(signal.SIGTERM)
    helper = in_thread(database_back_then_stop)
    try:
        RunWorker()._tasks_forever("w-tasks", threading.Event())
    finally:
        connection.settings_dict["PORT"] = real_port
        signal.signal(signal.SIGTERM, previous)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        helper.join(30)
    assert DBTaskResult.objects.get(pk=task.id).status == "SUCCESSFUL"


def test_the_drain_loop_lingers_after_a_small_batch_and_never_behind_a_backlog(monkeypatch):
    """A trickle is drained in fewer, bigger batches; a full batch is followed at once."""
    claims = iter([3, capture_requests.BATCH_SIZE, capture_requests.LINGER_BELOW, 0])
    naps: list[tuple[int, float]] = []
    drained: list[int] = []

    def drain(*, worker_id, limit):
        drained.append(next(claims))
        return drained[-1]

    monkeypatch.setattr(capture_requests, "capture_requests_drain", drain)
    monkeypatch.setattr(
        capture_requests, "_sleep", lambda seconds, stopping: naps.append((drained[-1], seconds))
    )
    drain_forever(worker_id="w-linger", stopping=lambda: len(drained) == 4, idle=0.5, linger=0.2)
    assert naps == [(3, 0.2), (0, 0.5)]

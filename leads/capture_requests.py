"""Async Lead.Capture (LeadSquared's /lead/capture): the CaptureRequest row is the truth.

- accept: the row and its task commit in one transaction, before the 200 is sent;
- process: a worker claims the row, runs the Lead.Capture pipeline, records the outcome; a
  lead-level rejection is final (FAILURE, logged by the pipeline), a system fault is retried with
  back-off;
- sweep: re-enqueues what a lost task or a dead worker left behind.

A task may run twice for one request (the sweep cannot tell a slow queue from a lost task): the
claim under a row lock makes the extra run a no-op.
"""

from __future__ import annotations

import json
import logging
import uuid
from datetime import datetime, timedelta
from typing import Any

from django.db import connection, transaction
from django.db.models import Count, Min, Q
from django.utils import timezone
from django_tasks_db import DatabaseBackend

from injectionlogs.errors import IntakeError
from leads import services
from leads.api.leadsquared import EXCEPTION_TYPES, build_request
from leads.matching import Operation
from leads.models import CaptureRequest, CaptureStatus
from settings_global.models import ApiCredential

log = logging.getLogger(__name__)

ENDPOINT = "/lead/capture"
TASK_TYPE = "Lead Capture"
ACCEPTED = "Request accepted. Please use below request id to check the status"
SUCCEEDED = "Request was successfully completed"
MAX_ATTEMPTS = 10
BACKOFF_SECONDS = (30, 120, 420, 900)  # after the 1st, 2nd, 3rd failure; 15 minutes from then on
STUCK_AFTER = timedelta(minutes=5)  # In-Process this long: its worker died
SWEEP_IDLE = timedelta(seconds=60)  # a due request nobody touched for this long lost its task
SWEEP_BATCH = 1000
CLOCK_SLACK = timedelta(seconds=5)  # run_after is checked on the worker's clock, set on another's
RATE_WINDOW_MINUTES = 10  # LeadSquared: "per minute (for the previous 10 mins)"
PENDING = (CaptureStatus.IN_QUEUE, CaptureStatus.IN_PROCESS)

# The steps the status API reports (TaskCurrentStep / TaskLastStep).
STEP_QUEUE = "In-Queue"
STEP_RETRY = "Retry-Queue"
STEP_PROCESS = "In-Process-Queue"


def backoff(attempt: int) -> timedelta:
    """The wait after the attempt-th failed attempt (1-based)."""
    return timedelta(seconds=BACKOFF_SECONDS[min(attempt, len(BACKOFF_SECONDS)) - 1])


def capture_request_enqueue(request_id: Any, *, run_after: datetime | None = None) -> bool:
    """Queue the worker task for a request, committing with the caller's transaction: in it with
    the database backend, after it with any other. False when the backend cannot run it later
    (the sweep picks the request up once it is due)."""
    from leads.tasks import process_capture_request

    task = process_capture_request
    backend = task.get_backend()
    if run_after is not None:
        if not backend.supports_defer:
            return False
        task = task.using(run_after=run_after)
    if isinstance(backend, DatabaseBackend):
        task.enqueue(str(request_id))
    else:
        # robust: the row is committed; a queue that is down is the sweep's to make up for.
        transaction.on_commit(lambda: task.enqueue(str(request_id)), robust=True)
    return True


def capture_request_accept(
    *, body: Any, query: dict[str, Any], credential: ApiCredential, remote_addr: str | None
) -> CaptureRequest:
    """Store an async capture and queue it; durable once this returns."""
    with transaction.atomic():
        capture = CaptureRequest.objects.create(
            credential=credential,
            api_user_id=credential.user_id,
            body=body,
            query=query,
            remote_addr=remote_addr,
        )
        capture_request_enqueue(capture.pk)
    return capture


def _claimable(now: datetime) -> Q:
    queued = Q(status=CaptureStatus.IN_QUEUE) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now + CLOCK_SLACK)
    )
    stuck = Q(status=CaptureStatus.IN_PROCESS, started_at__lte=now - STUCK_AFTER)
    return queued | stuck


def _claim(pk: uuid.UUID) -> int | None:
    """Mark the request In-Process (committed, so the status API shows it) and count the attempt.
    Returns the attempt number, or None when it is not ours to run: finished, not yet due, or held
    by a live worker."""
    now = timezone.now()
    with transaction.atomic():
        capture = (
            CaptureRequest.objects.select_for_update(skip_locked=True)
            .filter(_claimable(now), pk=pk)
            .first()
        )
        if capture is None:
            return None
        if capture.attempts >= MAX_ATTEMPTS:
            # Only a request whose worker died on each of its attempts gets here.
            capture.status = CaptureStatus.ERROR
            capture.status_reason = (
                f"Gave up after {capture.attempts} attempts: the worker stopped while "
                "processing the request"
            )
            capture.finished_at = now
            capture.save(update_fields=["status", "status_reason", "finished_at", "updated_at"])
            return None
        capture.status = CaptureStatus.IN_PROCESS
        capture.attempts += 1
        capture.started_at = now
        capture.save(update_fields=["status", "attempts", "started_at", "updated_at"])
        return capture.attempts


def capture_message(result: services.IntakeResult) -> dict[str, Any]:
    """What Lead.Capture answers for the same lead."""
    return {
        "Status": "Success",
        "Message": {
            "Id": str(result.lead.id),
            "RelatedId": str(result.activity.id),
            "IsCreated": result.created,
        },
    }


def _error_body(error: IntakeError) -> dict[str, Any]:
    return {
        "Status": "Error",
        "ExceptionType": EXCEPTION_TYPES.get(error.code, "MXInvalidInputException"),
        "ExceptionMessage": error.message,
    }


def _run(pk: uuid.UUID, attempt: int) -> str | None:
    """The pipeline and the outcome commit together, under the row lock (so a sweep does not
    take over a request that is being worked on). A rejection's log row commits with them."""
    with transaction.atomic():
        capture = (
            CaptureRequest.objects.select_for_update(of=("self",))
            .select_related("api_user")
            .filter(pk=pk, status=CaptureStatus.IN_PROCESS, attempts=attempt)
            .first()
        )
        if capture is None:  # taken over by another worker after a long stall
            return None
        intake = build_request(
            operation=Operation.CAPTURE,
            endpoint=ENDPOINT,
            body=capture.body,
            query=capture.query or {},
            api_user=capture.api_user,
            remote_addr=capture.remote_addr,
        )
        try:
            result = services.lead_ingest(request=intake)
        except IntakeError as error:  # lead-level: final, and already logged by the pipeline
            capture.status = CaptureStatus.FAILURE
            capture.status_reason = error.message
            capture.result = _error_body(error)
        else:
            capture.status = CaptureStatus.SUCCESS
            capture.status_reason = SUCCEEDED
            capture.result = capture_message(result)
            capture.lead = result.lead
        capture.next_attempt_at = None
        capture.finished_at = timezone.now()
        capture.save(
            update_fields=[
                "status",
                "status_reason",
                "result",
                "lead",
                "next_attempt_at",
                "finished_at",
                "updated_at",
            ]
        )
        return capture.status


def _retry_later(pk: uuid.UUID, attempt: int, fault: BaseException) -> str:
    """After a system fault: back to the queue with back-off, or ERROR after the last attempt."""
    reason = f"{type(fault).__name__}: {fault}".strip()[:2000]
    if (
        not connection.in_atomic_block
        and connection.connection is not None
        and not connection.is_usable()
    ):
        connection.close()  # a dropped connection: the next query reconnects
    now = timezone.now()
    mine = CaptureRequest.objects.filter(pk=pk, status=CaptureStatus.IN_PROCESS, attempts=attempt)
    try:
        with transaction.atomic():
            if attempt >= MAX_ATTEMPTS:
                mine.update(
                    status=CaptureStatus.ERROR,
                    status_reason=f"Gave up after {attempt} attempts: {reason}",
                    next_attempt_at=None,
                    finished_at=now,
                    updated_at=now,
                )
                return CaptureStatus.ERROR
            due = now + backoff(attempt)
            if mine.update(
                status=CaptureStatus.IN_QUEUE,
                status_reason=(
                    f"Attempt {attempt} of {MAX_ATTEMPTS} failed: {reason}; "
                    f"retrying at {due:%Y-%m-%d %H:%M:%S} UTC"
                ),
                next_attempt_at=due,
                updated_at=now,
            ):
                capture_request_enqueue(pk, run_after=due)
            return CaptureStatus.IN_QUEUE
    except Exception:
        # The database is still away: the row stays In-Process and the sweep takes it back.
        log.exception("could not schedule the retry of capture request %s", pk)
        return CaptureStatus.IN_PROCESS


def capture_request_process(*, request_id: str) -> str:
    """The worker: run one queued request. Returns the status it left the request in, or
    "skipped" when the request was not there to run."""
    try:
        pk = uuid.UUID(str(request_id))
    except ValueError:
        return "skipped"
    attempt = _claim(pk)
    if attempt is None:
        return "skipped"
    try:
        return _run(pk, attempt) or "skipped"
    except Exception as fault:  # a system fault, not the lead's: retried
        log.warning("capture request %s, attempt %s: %r", pk, attempt, fault, exc_info=True)
        return _retry_later(pk, attempt, fault)


def capture_requests_sweep() -> dict[str, int]:
    """Re-enqueue queued requests that are due and that nobody touched for a minute (a lost task),
    and In-Process ones whose worker died. Rows a live worker holds are skipped, not waited for."""
    now = timezone.now()
    idle = now - SWEEP_IDLE
    due = Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now)
    lost = (Q(status=CaptureStatus.IN_QUEUE) & due) | Q(
        status=CaptureStatus.IN_PROCESS, started_at__lte=now - STUCK_AFTER
    )
    with transaction.atomic():
        ids = list(
            CaptureRequest.objects.select_for_update(skip_locked=True)
            .filter(lost, updated_at__lte=idle)
            .order_by("created_at")
            .values_list("pk", flat=True)[:SWEEP_BATCH]
        )
        # Touched, so that a slow queue gets one extra task a minute per request, not one a sweep.
        CaptureRequest.objects.filter(pk__in=ids).update(updated_at=now)
        for pk in ids:
            capture_request_enqueue(pk)
    if ids:
        log.info("re-enqueued %d capture requests", len(ids))
    return {"requeued": len(ids)}


# -- reads ----------------------------------------------------------------------------------


def _steps(capture: CaptureRequest) -> tuple[str | None, str | None]:
    """(TaskCurrentStep, TaskLastStep)."""
    if capture.status == CaptureStatus.IN_QUEUE:
        return (STEP_RETRY, STEP_PROCESS) if capture.attempts else (STEP_QUEUE, None)
    if capture.status == CaptureStatus.IN_PROCESS:
        return STEP_PROCESS, STEP_RETRY if capture.attempts > 1 else STEP_QUEUE
    return None, STEP_PROCESS


def capture_request_status(*, request_id: str, credential: ApiCredential) -> dict | None:
    """The status API's answer for one of the credential's requests, or None if it has none."""
    try:
        pk = uuid.UUID(request_id)
    except ValueError:
        return None
    capture = CaptureRequest.objects.filter(pk=pk, credential=credential).first()
    if capture is None:
        return None
    current, last = _steps(capture)
    return {
        "RequestId": str(capture.pk),
        "TaskStatus": {
            "TaskType": TASK_TYPE,
            "Status": capture.status,
            "StatusReason": capture.status_reason or None,
            "TaskCurrentStep": current,
            "TaskLastStep": last,
            # As LeadSquared shows it: the body that was sent, as a JSON string.
            "RequestBody": json.dumps(capture.body, ensure_ascii=False, separators=(",", ":")),
            "Message": capture.result if capture.status == CaptureStatus.SUCCESS else None,
        },
    }


def capture_requests_metrics() -> dict[str, Any]:
    """The queue as the metrics API reports it."""
    now = timezone.now()
    pending = CaptureRequest.objects.filter(status__in=PENDING).aggregate(
        count=Count("pk"), oldest=Min("created_at")
    )
    finished = CaptureRequest.objects.filter(
        finished_at__gte=now - timedelta(minutes=RATE_WINDOW_MINUTES)
    ).count()
    oldest = pending["oldest"]
    return {
        "PendingMessages": pending["count"],
        "MaxDelayInSeconds": int((now - oldest).total_seconds()) if oldest else 0,
        "ProcessingRatePerMinute": round(finished / RATE_WINDOW_MINUTES, 1),
    }

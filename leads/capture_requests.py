"""Async Lead.Capture (LeadSquared's /lead/capture): the CaptureRequest row is the truth, and the
CaptureRequest table is the queue.

- accept: one insert, committed before the 200;
- claim: a worker takes due requests in batches (PostgreSQL: FOR UPDATE SKIP LOCKED; SQLite: the
  IMMEDIATE transaction's write lock), marks them In-Process with a lease and counts the attempt;
- run: the whole batch goes through leads_ingest, and each request's outcome commits with the
  leads it wrote, under the rows' locks. A lead-level rejection is final (FAILURE, logged by the
  pipeline); a system fault is retried with back-off;
- recover: a request whose worker died is claimable again once its lease runs out (seconds, not
  minutes). While a batch runs its rows are locked, so a slow batch is never taken over: only a
  dead worker's connection lets go of them.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import socket
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import psycopg
from django.contrib.auth import get_user_model
from django.db import InterfaceError, OperationalError, connection, transaction
from django.db.models import Count, F, Min, Q
from django.utils import timezone

from config.postgresql.base import wrapped_cursor
from leads import services
from leads.errors import IntakeError
from leads.give_way import STEP as GIVE_WAY_STEP
from leads.give_way import GiveWay
from leads.matching import Operation
from leads.models import CaptureRequest, CaptureStatus
from leads.wire import leadsquared as wire
from leads.wire.leadsquared import build_request
from leads.writes import model_new, rows_insert
from settings_global.models import ApiCredential

log = logging.getLogger(__name__)

ENDPOINT = "/lead/capture"
TASK_TYPE = "Lead Capture"
ACCEPTED = "Request accepted. Please use below request id to check the status"
SUCCEEDED = "Request was successfully completed"
MAX_ATTEMPTS = 10
BACKOFF_SECONDS = (30, 120, 420, 900)  # after the 1st, 2nd, 3rd failure; 15 minutes from then on
LEASE = timedelta(seconds=30)  # a claim not confirmed by a batch's row locks outlives its worker
BATCH_SIZE = 500
# SQLite: a batch holds the one write lock while it runs; smaller, so that accepts wait less.
SQLITE_BATCH_SIZE = 100
# A batch's fixed cost (claim, one pipeline call, the outcomes) is paid per batch: one process
# drained 440 requests/s in batches of 10, 900/s in batches of 30 and 1,250/s in batches of 100
# (bench/async_drain.py). While requests trickle in, a worker that took a small batch lingers
# this long before claiming again, so the next batch is bigger; a backlog never waits.
LINGER_BELOW = 100
LINGER_SECONDS = 0.25
CLOCK_SLACK = timedelta(seconds=5)  # next_attempt_at: set on one clock, checked on another
RATE_WINDOW_MINUTES = 10  # LeadSquared: "per minute (for the previous 10 mins)"
PENDING = (CaptureStatus.IN_QUEUE, CaptureStatus.IN_PROCESS)
# Faults of the connection, not of the batch: no use trying its requests one by one.
OUTAGE_ERRORS: tuple[type[BaseException], ...] = (OperationalError, InterfaceError)

# The steps the status API reports (TaskCurrentStep / TaskLastStep).
STEP_QUEUE = "In-Queue"
STEP_RETRY = "Retry-Queue"
STEP_PROCESS = "In-Process-Queue"

SKIPPED = "skipped"


def worker_id_new() -> str:
    """A name for one worker process: host, pid and a nonce (at most 64 characters)."""
    return f"{socket.gethostname()[:40]}-{os.getpid()}-{secrets.token_hex(3)}"


def backoff(attempt: int) -> timedelta:
    """The wait after the attempt-th failed attempt (1-based)."""
    return timedelta(seconds=BACKOFF_SECONDS[min(attempt, len(BACKOFF_SECONDS)) - 1])


def capture_request_accept(
    *, body: Any, query: dict[str, Any], credential: ApiCredential, remote_addr: str | None
) -> CaptureRequest:
    """Store an async capture; durable once this returns (one insert: the row is the queue)."""
    request = model_new(
        CaptureRequest,
        credential_id=credential.pk,
        api_user_id=credential.user_id,
        body=body,
        query=query,
        remote_addr=remote_addr,
    )
    rows_insert(CaptureRequest, [request])  # autocommit: committed when it returns
    return request


# -- claim ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    pk: uuid.UUID
    attempt: int


def _claimable(now: datetime) -> Q:
    queued = Q(status=CaptureStatus.IN_QUEUE) & (
        Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now + CLOCK_SLACK)
    )
    lease_over = Q(status=CaptureStatus.IN_PROCESS) & (
        Q(leased_until__isnull=True) | Q(leased_until__lt=now)
    )
    return queued | lease_over


def capture_requests_due() -> bool:
    """Whether a request is due to be claimed (one indexed read; nothing is claimed or locked)."""
    return CaptureRequest.objects.filter(_claimable(timezone.now())).exists()


def capture_requests_claim(
    *, worker_id: str, limit: int = BATCH_SIZE, ids: list[uuid.UUID] | None = None
) -> list[Claim]:
    """Take up to `limit` due requests (or those of `ids` that are due) for this worker: In-Process,
    leased, the attempt counted; committed, so the status API shows them. Rows another worker holds
    are skipped, not waited for. A request whose worker died on its last attempt ends in ERROR."""
    now = timezone.now()
    with transaction.atomic():
        due = CaptureRequest.objects.select_for_update(skip_locked=True).filter(_claimable(now))
        if ids is not None:
            due = due.filter(pk__in=ids)
        spent = list(due.filter(attempts__gte=MAX_ATTEMPTS).values_list("pk", flat=True)[:limit])
        if spent:
            # Only a request whose worker died on each of its attempts gets here.
            CaptureRequest.objects.filter(pk__in=spent).update(
                status=CaptureStatus.ERROR,
                status_reason=(
                    f"Gave up after {MAX_ATTEMPTS} attempts: the worker stopped while "
                    "processing the request"
                ),
                leased_until=None,
                finished_at=now,
                updated_at=now,
            )
        due = due.filter(attempts__lt=MAX_ATTEMPTS)
        if connection.vendor == "postgresql":
            return _claim_returning(due, worker_id=worker_id, limit=limit, now=now)
        rows = list(due.order_by().values_list("pk", "attempts")[:limit])
        claims = [Claim(pk, attempts + 1) for pk, attempts in rows]
        if claims:
            CaptureRequest.objects.filter(pk__in=[c.pk for c in claims]).update(
                status=CaptureStatus.IN_PROCESS,
                attempts=F("attempts") + 1,
                claimed_by=worker_id,
                leased_until=now + LEASE,
                started_at=now,
                updated_at=now,
            )
    return claims


def _claim_returning(due: Any, *, worker_id: str, limit: int, now: datetime) -> list[Claim]:
    """PostgreSQL: pick and mark in one statement (UPDATE ... WHERE id IN (SELECT ... FOR UPDATE
    SKIP LOCKED) RETURNING), one round trip whatever the batch size."""
    pick, pick_params = due.order_by().values("pk")[:limit].query.sql_with_params()
    table = CaptureRequest._meta.db_table
    dates = CaptureRequest._meta.get_field("started_at")
    sql = (
        f'UPDATE "{table}" SET "status" = %s, "attempts" = "attempts" + 1, "claimed_by" = %s, '
        f'"leased_until" = %s, "started_at" = %s, "updated_at" = %s '
        f'WHERE "id" IN ({pick}) RETURNING "id", "attempts"'
    )
    params = [
        CaptureStatus.IN_PROCESS.value,
        worker_id,
        dates.get_db_prep_value(now + LEASE, connection),
        dates.get_db_prep_value(now, connection),
        dates.get_db_prep_value(now, connection),
        *pick_params,
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [Claim(pk, attempts) for pk, attempts in cursor.fetchall()]


def capture_requests_renew(*, claims: list[Claim], worker_id: str) -> int:
    """The heartbeat: extend the lease of this worker's claims that are still In-Process."""
    now = timezone.now()
    return CaptureRequest.objects.filter(
        pk__in=[c.pk for c in claims], status=CaptureStatus.IN_PROCESS, claimed_by=worker_id
    ).update(leased_until=now + LEASE)


# -- run ------------------------------------------------------------------------------------


def capture_message(result: services.IntakeResult) -> dict[str, Any]:
    """What Lead.Capture answers for the same lead."""
    return {
        "Status": "Success",
        "Message": wire.capture_message(result),
    }


def _error_body(error: IntakeError) -> dict[str, Any]:
    return wire.error_body(error)


@dataclass(frozen=True)
class Outcome:
    """What a run of one request wrote back to its row."""

    pk: uuid.UUID
    status: str
    reason: str
    result: dict[str, Any]
    lead_id: uuid.UUID | None


def _outcomes_save(outcomes: list[Outcome], now: datetime) -> None:
    """Write the batch's outcomes. PostgreSQL: one UPDATE joined to the outcomes sent as one
    JSON document, one statement whatever the batch size; elsewhere one executemany."""
    table = CaptureRequest._meta.db_table
    finished = CaptureRequest._meta.get_field("finished_at").get_db_prep_value(now, connection)
    if connection.vendor == "postgresql":
        sql = (
            f'UPDATE "{table}" AS r SET "status" = o.status, "status_reason" = o.reason, '
            '"result" = o.result, "lead_id" = o.lead, "next_attempt_at" = NULL, '
            '"leased_until" = NULL, "finished_at" = %s, "updated_at" = %s '
            "FROM jsonb_to_recordset(%s::jsonb) "
            "AS o(id uuid, status varchar, reason text, result jsonb, lead uuid) "
            'WHERE r."id" = o.id'
        )
        # The outcomes as one JSON document: json's C encoder writes it, where psycopg would
        # dump arrays of them element by element in Python.
        document = json.dumps(
            [
                {
                    "id": str(o.pk),
                    "status": o.status,
                    "reason": o.reason,
                    "result": o.result,
                    "lead": str(o.lead_id) if o.lead_id is not None else None,
                }
                for o in outcomes
            ],
            ensure_ascii=False,
        )
        with wrapped_cursor(psycopg.Cursor) as cursor:
            cursor.execute(sql, [finished, finished, document])
        return
    field = CaptureRequest._meta.get_field
    sql = (
        f'UPDATE "{table}" SET "status" = %s, "status_reason" = %s, "result" = %s, '
        '"lead_id" = %s, "next_attempt_at" = NULL, "leased_until" = NULL, "finished_at" = %s, '
        '"updated_at" = %s WHERE "id" = %s'
    )
    params = [
        (
            o.status,
            o.reason,
            json.dumps(o.result, ensure_ascii=False),
            field("lead").get_db_prep_value(o.lead_id, connection),
            finished,
            finished,
            field("id").get_db_prep_value(o.pk, connection),
        )
        for o in outcomes
    ]
    with connection.cursor() as cursor:
        cursor.executemany(sql, params)


def _outcome(pk: uuid.UUID, result: services.IntakeResult) -> Outcome:
    if result.error is not None:  # lead-level: final, and logged by the pipeline
        return Outcome(
            pk, CaptureStatus.FAILURE, result.error.message, _error_body(result.error), None
        )
    return Outcome(pk, CaptureStatus.SUCCESS, SUCCEEDED, capture_message(result), result.lead.pk)


def _run(claims: list[Claim], worker_id: str) -> dict[uuid.UUID, str]:
    """Run claimed requests through leads_ingest in one call; their outcomes commit with the leads
    they wrote, under the rows' locks (so nobody takes over a batch that is running). A request no
    longer ours (taken over after a long stall) is left alone."""
    attempt = {c.pk: c.attempt for c in claims}
    with transaction.atomic():
        rows = [
            row
            for row in CaptureRequest.objects.select_for_update()
            .filter(pk__in=list(attempt), status=CaptureStatus.IN_PROCESS, claimed_by=worker_id)
            .order_by("created_at")
            .values_list(
                "pk", "attempts", "body", "query", "remote_addr", "api_user_id", named=True
            )
            if row.attempts == attempt[row.pk]
        ]
        if not rows:
            return {}
        users = get_user_model().objects.in_bulk({row.api_user_id for row in rows} - {None})
        intakes = [
            build_request(
                operation=Operation.CAPTURE,
                endpoint=ENDPOINT,
                body=row.body,
                query=row.query or {},
                api_user=users.get(row.api_user_id),
                remote_addr=row.remote_addr,
            )
            for row in rows
        ]
        results = services.leads_ingest(requests=intakes)
        outcomes = [_outcome(row.pk, result) for row, result in zip(rows, results, strict=True)]
        _outcomes_save(outcomes, timezone.now())
    return {outcome.pk: outcome.status for outcome in outcomes}


def _close_if_broken() -> None:
    if (
        not connection.in_atomic_block
        and connection.connection is not None
        and not connection.is_usable()
    ):
        connection.close()  # a dropped connection: the next query reconnects


def _retry_later(claims: list[Claim], worker_id: str, fault: BaseException) -> dict[uuid.UUID, str]:
    """After a system fault: back to the queue with back-off, or ERROR after the last attempt. When
    the database is still away the rows stay In-Process, and their lease brings them back."""
    reason = f"{type(fault).__name__}: {fault}".strip()[:2000]
    _close_if_broken()
    now = timezone.now()
    outcome: dict[uuid.UUID, str] = {}
    by_attempt: dict[int, list[uuid.UUID]] = {}
    for claim in claims:
        by_attempt.setdefault(claim.attempt, []).append(claim.pk)
    try:
        with transaction.atomic():
            for attempt, pks in by_attempt.items():
                mine = CaptureRequest.objects.filter(
                    pk__in=pks,
                    status=CaptureStatus.IN_PROCESS,
                    claimed_by=worker_id,
                    attempts=attempt,
                )
                if attempt >= MAX_ATTEMPTS:
                    mine.update(
                        status=CaptureStatus.ERROR,
                        status_reason=f"Gave up after {attempt} attempts: {reason}",
                        next_attempt_at=None,
                        leased_until=None,
                        finished_at=now,
                        updated_at=now,
                    )
                    outcome.update(dict.fromkeys(pks, CaptureStatus.ERROR))
                    continue
                due = now + backoff(attempt)
                mine.update(
                    status=CaptureStatus.IN_QUEUE,
                    status_reason=(
                        f"Attempt {attempt} of {MAX_ATTEMPTS} failed: {reason}; "
                        f"retrying at {due:%Y-%m-%d %H:%M:%S} UTC"
                    ),
                    next_attempt_at=due,
                    leased_until=None,
                    updated_at=now,
                )
                outcome.update(dict.fromkeys(pks, CaptureStatus.IN_QUEUE))
    except Exception:
        log.exception("could not schedule the retry of %d capture requests", len(claims))
        _close_if_broken()
        return dict.fromkeys((c.pk for c in claims), CaptureStatus.IN_PROCESS)
    return outcome


def capture_requests_run(*, claims: list[Claim], worker_id: str) -> dict[uuid.UUID, str]:
    """Run a claimed batch; the status each request was left in. A fault that is not the
    connection's sends the batch through again one request at a time, so that one request that
    breaks the pipeline holds back none of the others."""
    if not claims:
        return {}
    try:
        return _run(claims, worker_id)
    except Exception as fault:  # a system fault, not the leads': retried
        log.warning("capture batch of %d: %r", len(claims), fault, exc_info=True)
        if len(claims) == 1 or isinstance(fault, OUTAGE_ERRORS):
            return _retry_later(claims, worker_id, fault)
    outcome: dict[uuid.UUID, str] = {}
    renewed = time.monotonic()
    for index, claim in enumerate(claims):
        if time.monotonic() - renewed > LEASE.total_seconds() / 3:
            capture_requests_renew(claims=claims[index:], worker_id=worker_id)
            renewed = time.monotonic()
        try:
            outcome.update(_run([claim], worker_id))
        except Exception as fault:
            log.warning("capture request %s: %r", claim.pk, fault, exc_info=True)
            outcome.update(_retry_later([claim], worker_id, fault))
    return outcome


def _batch_limit() -> int:
    return BATCH_SIZE if connection.vendor == "postgresql" else SQLITE_BATCH_SIZE


def capture_requests_drain(*, worker_id: str, limit: int | None = None) -> int:
    """Claim one batch and run it; how many requests it claimed (0: the queue has nothing due)."""
    if limit is None:
        limit = _batch_limit()
    claims = capture_requests_claim(worker_id=worker_id, limit=limit)
    capture_requests_run(claims=claims, worker_id=worker_id)
    return len(claims)


def capture_request_process(*, request_id: str, worker_id: str | None = None) -> str:
    """Run one request now, if it is due: the status it was left in, or "skipped" when it was not
    there to run (unknown, finished, not yet due, or held by a live worker)."""
    try:
        pk = uuid.UUID(str(request_id))
    except ValueError:
        return SKIPPED
    worker_id = worker_id or worker_id_new()
    claims = capture_requests_claim(worker_id=worker_id, limit=1, ids=[pk])
    return capture_requests_run(claims=claims, worker_id=worker_id).get(pk, SKIPPED)


def drain_forever(
    *,
    worker_id: str,
    stopping: Callable[[], bool],
    idle: float = 0.5,
    max_backoff: float = 30.0,
    linger: float = LINGER_SECONDS,
    give_way: GiveWay | None = None,
) -> None:
    """The worker's loop: drain batches while there is work, linger after a small batch (see
    LINGER_BELOW), nap when there is none, give way while the host is busy (leads/give_way.py),
    and ride out a database or cache outage (back off, drop the broken connection, go on)."""
    failures = 0
    while not stopping():
        try:
            if give_way is not None and give_way.now():
                _sleep(GIVE_WAY_STEP, stopping)
                continue
            limit = _batch_limit()
            claimed = capture_requests_drain(worker_id=worker_id, limit=limit)
            failures = 0
        except Exception as fault:  # noqa: BLE001 - nothing may stop the loop
            failures += 1
            wait = min(max_backoff, 0.5 * 2 ** min(failures, 8))
            log.warning("capture drain failed (%r); retrying in %.1f s", fault, wait)
            connection.close()
            _sleep(wait, stopping)
            continue
        if give_way is not None:
            give_way.drained(claimed=claimed, limit=limit)
        if not claimed:
            _sleep(idle, stopping)
        elif claimed < LINGER_BELOW:
            _sleep(linger, stopping)


def _sleep(seconds: float, stopping: Callable[[], bool]) -> None:
    end = time.monotonic() + seconds
    while not stopping() and time.monotonic() < end:
        time.sleep(min(0.1, max(0.0, end - time.monotonic())))


def capture_requests_sweep() -> dict[str, int]:
    """Put back in the queue In-Process requests whose lease ran out (their worker died), so the
    status API shows them queued again; any worker's claim would take them anyway. Rows a live
    worker holds are skipped, not waited for."""
    now = timezone.now()
    with transaction.atomic():
        ids = list(
            CaptureRequest.objects.select_for_update(skip_locked=True)
            .filter(status=CaptureStatus.IN_PROCESS)
            .filter(Q(leased_until__isnull=True) | Q(leased_until__lt=now))
            .values_list("pk", flat=True)[:1000]
        )
        if ids:
            CaptureRequest.objects.filter(pk__in=ids).update(
                status=CaptureStatus.IN_QUEUE, leased_until=None, updated_at=now
            )
    if ids:
        log.info("put back %d capture requests whose worker stopped", len(ids))
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


def capture_requests_metrics(*, credential: ApiCredential) -> dict[str, Any]:
    """The queue of the credential's API user, as the metrics API reports it (never another
    vendor's)."""
    now = timezone.now()
    own = CaptureRequest.objects.filter(api_user_id=credential.user_id)
    pending = own.filter(status__in=PENDING).aggregate(count=Count("pk"), oldest=Min("created_at"))
    finished = own.filter(finished_at__gte=now - timedelta(minutes=RATE_WINDOW_MINUTES)).count()
    oldest = pending["oldest"]
    return {
        "PendingMessages": pending["count"],
        "MaxDelayInSeconds": int((now - oldest).total_seconds()) if oldest else 0,
        "ProcessingRatePerMinute": round(finished / RATE_WINDOW_MINUTES, 1),
    }

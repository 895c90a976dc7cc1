"""Async drain rate (B3): insert N queued capture requests, then time one worker process draining
them (claim a batch, one leads_ingest per batch, record the outcomes) until the queue is empty.

    DATABASE_URL=postgres://postgres@127.0.0.1/bench .venv/bin/python bench/async_drain.py 20000

Migrates the database first. Every run uses fresh e-mail addresses, so each request creates a
lead (the costlier path); half of the requests carry a phone as well.
"""

from __future__ import annotations

import os
import sys
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def main() -> None:
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0, interactive=False)

    from django.contrib.auth import get_user_model
    from django.db import connection

    from leads.capture_requests import BATCH_SIZE, capture_requests_drain
    from leads.models import CaptureRequest, CaptureStatus
    from settings_global.models import ApiCredential

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    batch = int(os.environ.get("DRAIN_BATCH", BATCH_SIZE))
    user, _ = get_user_model().objects.get_or_create(username="bench-drain")
    credential = ApiCredential.objects.filter(user=user).first()
    run = uuid.uuid4().hex[:8]
    rows = []
    for i in range(n):
        body = [
            {"Attribute": "FirstName", "Value": f"Drain{i}"},
            {"Attribute": "EmailAddress", "Value": f"drain-{run}-{i}@example.com"},
        ]
        if i % 2:
            body.append({"Attribute": "Phone", "Value": f"+1201{i % 10_000_000:07d}"})
        rows.append(CaptureRequest(credential=credential, api_user=user, body=body, query={}))
    started = time.perf_counter()
    CaptureRequest.objects.bulk_create(rows, batch_size=2000)
    inserted = time.perf_counter() - started
    ids = [r.pk for r in rows]

    # Time inside the pipeline, to tell the queue's own cost from leads_ingest's.
    from leads import services

    pipeline = [0.0]
    ingest = services.leads_ingest

    def timed(*, requests):
        t = time.perf_counter()
        try:
            return ingest(requests=requests)
        finally:
            pipeline[0] += time.perf_counter() - t

    services.leads_ingest = timed

    started = time.perf_counter()
    drained = 0
    while True:
        claimed = capture_requests_drain(worker_id=f"bench-{run}", limit=batch)
        if not claimed:
            break
        drained += claimed
    seconds = time.perf_counter() - started
    statuses = dict.fromkeys(CaptureStatus.values, 0)
    for status in CaptureRequest.objects.filter(pk__in=ids).values_list("status", flat=True):
        statuses[status] += 1
    print(
        f"{connection.vendor}: {n} requests inserted in {inserted:.1f} s; "
        f"drained {drained} in {seconds:.2f} s by one process (batch {batch}): "
        f"{drained / seconds:,.0f} requests/s; outcomes {statuses}"
    )
    print(
        f"  of which leads_ingest {pipeline[0]:.2f} s ({pipeline[0] / seconds:.0%}); the queue "
        f"(claim, load, record) {seconds - pipeline[0]:.2f} s; the pipeline alone would run "
        f"{drained / pipeline[0]:,.0f} requests/s"
    )


if __name__ == "__main__":
    main()

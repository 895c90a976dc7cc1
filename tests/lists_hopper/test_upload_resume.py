"""A worker killed (SIGKILL) mid-upload: the upload resumes at its checkpoint on another worker,
and no lead, activity, log row or result is written twice (PostgreSQL, real processes)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from django.db import connection
from django.utils import timezone

from injectionlogs.models import FailedInjection
from leads.models import Activity, Lead
from lists_hopper.models import Upload, UploadRow
from lists_hopper.tasks import sweep_uploads, upload_submit
from tests.lists_hopper.upload_helpers import csv_bytes

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
ROWS = 4000


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (several processes share the database)")


def start_worker():
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{db['NAME']}",
        "TASKS_BACKEND": "db",
    }
    return subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--interval", "0.1", "--no-startup-delay"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wait_for(condition, seconds=120):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        upload = Upload.objects.defer("content").get()
        if condition(upload):
            return upload
        time.sleep(0.05)
    raise AssertionError(f"timed out; upload at {upload.processed}/{upload.total}")


def test_a_killed_worker_s_upload_resumes_with_no_row_written_twice(lst):
    rows = [
        ["Ann", "12" if i % 50 == 7 else f"+1201{5550000 + i:07d}", f"a{i}@example.com"]
        for i in range(ROWS)
    ]
    upload = upload_submit(
        list_id=lst.pk,
        data=csv_bytes(["First Name", "Phone", "Email"], rows),
        file_name="big.csv",
        options={"check_dup": "1"},
        batch_size=200,
    )
    worker = start_worker()
    try:
        wait_for(lambda u: u.processed >= 600)
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(timeout=10)
    finally:
        if worker.poll() is None:
            worker.kill()
    stopped = Upload.objects.defer("content").get()
    assert stopped.status == "running"
    assert 600 <= stopped.processed < ROWS
    # Nothing half-written: the checkpoint and the rows, leads and log rows agree.
    assert UploadRow.objects.count() == stopped.processed
    assert Lead.objects.count() == stopped.created
    assert FailedInjection.objects.count() == stopped.rejected

    # The lease runs out (the scheduler's sweep finds it), and another worker takes over.
    Upload.objects.filter(pk=upload.pk).update(
        lease_expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert sweep_uploads.call() == 1
    worker = start_worker()
    try:
        done = wait_for(lambda u: u.status == "done")
    finally:
        worker.terminate()
        worker.wait(timeout=30)

    rejected = sum(1 for i in range(ROWS) if i % 50 == 7)
    assert (done.processed, done.created, done.rejected) == (ROWS, ROWS - rejected, rejected)
    numbers = list(UploadRow.objects.values_list("row_number", flat=True))
    assert sorted(numbers) == list(range(1, ROWS + 1))
    assert Lead.objects.count() == ROWS - rejected
    assert Lead.objects.values("phone_normalized").distinct().count() == ROWS - rejected
    per_lead = Counter(Activity.objects.values_list("lead_id", flat=True))
    assert set(per_lead.values()) == {2}  # created + lead capture, once each
    assert FailedInjection.objects.count() == rejected
    assert Counter(FailedInjection.objects.values_list("reason_code", flat=True)) == {
        "invalid_phone": rejected
    }

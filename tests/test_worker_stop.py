"""The Procfile's worker, stopped as honcho stops it: the batch it is running commits first.

honcho signals the whole process group, and bin/forever passes the signal on to the worker too,
so the worker gets SIGTERM twice. The second used to reach the task worker's own handler, which
exits at once: the drain thread died mid-batch, and its claims waited out their lease (30 s)
In-Process before any worker could take them again. With TASKS_BACKEND=redis the task worker is
RQ's, which takes a second signal within a second as the same stop: its running job finishes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db.models import Count

from leads.models import CaptureRequest, CaptureStatus
from tests.factories import CaptureRequestFactory
from tests.helpers import ON_POSTGRES, attrs
from tests.servers import ROOT, procfile_command
from tests.servers import test_database_env as database_env

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL (the worker shares the test DB)"),
    pytest.mark.django_db(transaction=True),
]


def _in_process() -> int:
    return CaptureRequest.objects.filter(status=CaptureStatus.IN_PROCESS).count()


def _stopped_mid_run(env: dict[str, str], log: Path, running, *, poll: float) -> int:
    """Start the Procfile's worker, wait until running() says it is at work, then stop it as
    honcho does (SIGTERM to its process group, so it gets the signal twice); its exit code."""
    with log.open("wb") as sink:
        worker = subprocess.Popen(
            procfile_command("worker", env),
            cwd=ROOT,
            env=env,
            stdout=sink,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a process group of its own, as honcho starts it
        )
    try:
        deadline = time.monotonic() + 60
        while not running():
            assert worker.poll() is None, log.read_text()
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(poll)
        os.killpg(worker.pid, signal.SIGTERM)
        return worker.wait(60)
    finally:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
            worker.wait(10)


def test_a_stopped_worker_finishes_its_batch_and_leaves_no_claim(credential, tmp_path):
    CaptureRequest.objects.bulk_create(
        CaptureRequestFactory.build(
            credential=credential,
            api_user=credential.user,
            body=attrs(EmailAddress=f"stop{i}@example.com", FirstName="Stop"),
        )
        for i in range(1500)
    )
    log = tmp_path / "worker.log"
    # Stopped once a batch is claimed and running.
    _stopped_mid_run(database_env(), log, lambda: _in_process() > 0, poll=0.005)
    counts = dict(
        CaptureRequest.objects.values("status").annotate(n=Count("pk")).values_list("status", "n")
    )
    assert counts.get(CaptureStatus.IN_PROCESS, 0) == 0, (counts, log.read_text())
    assert counts.get(CaptureStatus.SUCCESS, 0) > 0, json.dumps(counts)
    assert set(counts) <= {CaptureStatus.SUCCESS, CaptureStatus.IN_QUEUE}, counts


@pytest.mark.skipif(not settings.REDIS_URL, reason="needs Redis (the RQ task backend)")
def test_with_the_rq_backend_a_stopped_worker_lets_its_running_job_finish(tmp_path):
    import django_rq

    marker = tmp_path / "job"
    env = {**database_env(), "TASKS_BACKEND": "redis"}
    log = tmp_path / "worker.log"
    job = django_rq.get_queue("default").enqueue("tests.stop_jobs.slow_job", str(marker), 3.0)
    try:  # stopped once the job is running
        returncode = _stopped_mid_run(env, log, marker.with_suffix(".started").exists, poll=0.05)
    finally:
        job.delete()
    assert marker.with_suffix(".done").exists(), log.read_text()
    assert returncode == 0, log.read_text()

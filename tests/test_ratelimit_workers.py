"""The per-credential limit holds across several gunicorn workers when REDIS_URL is set."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from tests.helpers import ON_POSTGRES, attrs

pytestmark = [
    pytest.mark.skipif(
        not (ON_POSTGRES and settings.REDIS_URL),
        reason="needs PostgreSQL and Redis (DATABASE_URL and REDIS_URL)",
    ),
    pytest.mark.django_db(transaction=True),
]

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url: str, body: list) -> int:
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code


def test_limit_holds_across_three_gunicorn_workers(ls_keys):
    from leads.models import Lead
    from settings_global.services import global_settings_update

    global_settings_update(
        changes={"rate_limit_calls": 10, "rate_limit_window_seconds": 60}, user=None, via="test"
    )
    port = free_port()
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
        f"{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "3",
            "--threads",
            "1",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}/v2/LeadManagement.svc/Lead.Capture?{ls_keys}"
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("gunicorn did not start")
                time.sleep(0.2)
        # Fresh connections, so that the calls spread over the three workers.
        statuses = [post(url, attrs(FirstName=f"n{i}")) for i in range(30)]
    finally:
        server.terminate()
        server.wait(10)
    # A window may roll over once during the run: at most two windows' worth get through.
    accepted = statuses.count(200)
    assert statuses.count(429) >= 10
    assert 10 <= accepted <= 20
    assert Lead.objects.count() == accepted

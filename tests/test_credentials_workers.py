"""A revoke in one process is refused at once by every gunicorn worker (the credentials version)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

from tests.helpers import ON_POSTGRES, attrs
from tests.test_ratelimit_workers import free_port, post

pytestmark = [
    pytest.mark.skipif(
        not (ON_POSTGRES and settings.REDIS_URL),
        reason="needs PostgreSQL and Redis (DATABASE_URL and REDIS_URL)",
    ),
    pytest.mark.django_db(transaction=True),
]

ROOT = Path(__file__).resolve().parent.parent


def test_revoke_is_refused_at_once_by_every_gunicorn_worker():
    from leads.models import Lead
    from settings_global.services import api_user_create, api_user_revoke, global_settings_update

    global_settings_update(changes={"rate_limit_calls": 100000}, user=None, via="test")
    issued = api_user_create(name="acme")
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
        url = (
            f"http://127.0.0.1:{port}/v2/LeadManagement.svc/Lead.Capture"
            f"?accessKey={issued.access_key}&secretKey={issued.secret_key}"
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail("gunicorn did not start")
                time.sleep(0.2)
        # Fresh connections spread over the three workers: each verifies and keeps the keys.
        before = [post(url, attrs(FirstName=f"a{i}")) for i in range(24)]
        api_user_revoke(name="acme")
        after = [post(url, attrs(FirstName=f"b{i}")) for i in range(24)]
    finally:
        server.terminate()
        server.wait(10)
    assert before == [200] * 24
    assert after == [401] * 24
    assert Lead.objects.count() == 24

"""The first request after the database drops its connections (a restart) still succeeds."""

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
    pytest.mark.postgres,
    pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL (DATABASE_URL)"),
    pytest.mark.django_db(transaction=True),
]

ROOT = Path(__file__).resolve().parent.parent
APP_NAME = "leadintake-reconnect-test"


@pytest.mark.parametrize("pool", ["0", "1"], ids=["persistent", "pool"])
def test_a_request_after_the_connections_die_succeeds(pool):
    from leads.models import Lead
    from settings_global.services import api_user_create

    issued = api_user_create(name="acme")
    port = free_port()
    db = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
        f"{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
        "DATABASE_POOL": pool,
        # libpq names the server's connections, so that only they are dropped below (not the
        # live server's or another test's on the same database).
        "PGAPPNAME": APP_NAME,
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
            "1",
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
        assert post(url, attrs(FirstName="before")) == 200
        # What a restart does to the server's open connections.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE datname = current_database() AND application_name = %s",
                [APP_NAME],
            )
            assert cursor.fetchone()[0] >= 1
        statuses = [post(url, attrs(FirstName=f"after{i}")) for i in range(3)]
    finally:
        server.terminate()
        server.wait(10)
    assert statuses == [200, 200, 200]
    assert Lead.objects.count() == 4

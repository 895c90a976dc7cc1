"""The first request after the database drops its connections (a restart) still succeeds."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.db import connection

from tests.helpers import ON_POSTGRES, attrs
from tests.servers import gunicorn, post

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
    # libpq names the server's connections, so that only they are dropped below (not the live
    # server's or another test's on the same database).
    env = {"DATABASE_POOL": pool, "PGAPPNAME": APP_NAME}
    with gunicorn(env=env) as port:
        url = (
            f"http://127.0.0.1:{port}/v2/LeadManagement.svc/Lead.Capture"
            f"?accessKey={issued.access_key}&secretKey={issued.secret_key}"
        )
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
    assert statuses == [200, 200, 200]
    assert Lead.objects.count() == 4

"""The per-credential limit holds across several gunicorn workers when REDIS_URL is set."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.conf import settings

from tests.helpers import ON_POSTGRES, attrs
from tests.servers import gunicorn, post

pytestmark = [
    pytest.mark.skipif(
        not (ON_POSTGRES and settings.REDIS_URL),
        reason="needs PostgreSQL and Redis (DATABASE_URL and REDIS_URL)",
    ),
    pytest.mark.django_db(transaction=True),
]

ROOT = Path(__file__).resolve().parent.parent


def test_limit_holds_across_three_gunicorn_workers(ls_keys):
    from leads.models import Lead
    from settings_global.services import global_settings_update

    global_settings_update(
        changes={"rate_limit_calls": 10, "rate_limit_window_seconds": 60}, user=None, via="test"
    )
    with gunicorn(workers=3) as port:
        url = f"http://127.0.0.1:{port}/v2/LeadManagement.svc/Lead.Capture?{ls_keys}"
        # Fresh connections, so that the calls spread over the three workers.
        statuses = [post(url, attrs(FirstName=f"n{i}")) for i in range(30)]
    # A window may roll over once during the run: at most two windows' worth get through.
    accepted = statuses.count(200)
    assert statuses.count(429) >= 10
    assert 10 <= accepted <= 20
    assert Lead.objects.count() == accepted

"""A revoke in one process is refused at once by every gunicorn worker (the credentials version)."""

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


def test_revoke_is_refused_at_once_by_every_gunicorn_worker():
    from leads.models import Lead
    from settings_global.services import api_user_create, api_user_revoke, global_settings_update

    global_settings_update(changes={"rate_limit_calls": 100000}, user=None, via="test")
    issued = api_user_create(name="acme")
    with gunicorn(workers=3) as port:
        url = (
            f"http://127.0.0.1:{port}/v2/LeadManagement.svc/Lead.Capture"
            f"?accessKey={issued.access_key}&secretKey={issued.secret_key}"
        )
        # Fresh connections spread over the three workers: each verifies and keeps the keys.
        before = [post(url, attrs(FirstName=f"a{i}")) for i in range(24)]
        api_user_revoke(name="acme")
        after = [post(url, attrs(FirstName=f"b{i}")) for i in range(24)]
    assert before == [200] * 24
    assert after == [401] * 24
    assert Lead.objects.count() == 24

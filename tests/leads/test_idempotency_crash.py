"""One Idempotency-Key never yields two writes, even when the process dies right after the lead's
write: the crash is real (a subprocess exits between the write and the key's answer)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection
from django.utils import timezone

from leads.idempotency import STALE_AFTER
from leads.models import IdempotencyKey, Lead
from tests.helpers import ON_POSTGRES, attrs

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not ON_POSTGRES, reason="needs PostgreSQL (the crashing process shares it)"),
    pytest.mark.django_db(transaction=True),
]

ROOT = Path(__file__).resolve().parent.parent.parent

# Runs one call in another process and kills that process the moment the pipeline returns: after
# the lead's write, before the view answers and the key's answer is stored.
CRASHING_CALL = textwrap.dedent(
    """
    import os, sys
    import django
    django.setup()
    from django.test import Client
    import {module} as family

    real = family.{name}

    def ingest_then_die(**kwargs):
        real(**kwargs)
        os._exit(17)

    family.{name} = ingest_then_die
    path, key, body, content_type = sys.argv[1:5]
    Client().post(path, data=body, content_type=content_type, HTTP_IDEMPOTENCY_KEY=key)
    os._exit(0)  # not reached when the pipeline ran
    """
)


def _crash_during(module: str, name: str, path: str, key: str, body: str, content_type: str):
    db = connection.settings_dict
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "PYTHONPATH": str(ROOT),
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:"
        f"{db['PORT'] or 5432}/{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
    }
    script = CRASHING_CALL.format(module=module, name=name)
    done = subprocess.run(
        [sys.executable, "-c", script, path, key, body, content_type],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 17, done.stderr.decode()[-2000:]


def _after_the_take_over_window():
    IdempotencyKey.objects.update(created_at=timezone.now() - STALE_AFTER - timedelta(minutes=1))


@pytest.mark.parametrize(
    ("module", "name", "path", "body", "content_type"),
    [
        (
            "leads.api.leadsquared",
            "lead_ingest",
            "/v2/LeadManagement.svc/Lead.Create?{ls_keys}",
            json.dumps(attrs(EmailAddress="crash@example.com", FirstName="Ann")),
            "application/json",
        ),
        (
            "leads.api.aninja",
            "lead_ingest",
            "/api/v1/contactform/?apikey=aninja-{access_key}",
            "contact_name=Ann&contact_email1=crash@example.com",
            "application/x-www-form-urlencoded",
        ),
    ],
)
def test_a_crash_after_the_write_then_a_retry_makes_one_lead(
    client, credential, ls_keys, module, name, path, body, content_type
):
    path = path.format(ls_keys=ls_keys, access_key=credential.access_key)
    _crash_during(module, name, path, "key-1", body, content_type)
    _after_the_take_over_window()

    retry = client.post(path, data=body, content_type=content_type, HTTP_IDEMPOTENCY_KEY="key-1")
    assert retry.status_code == 200, retry.content
    assert Lead.objects.filter(email="crash@example.com").count() == 1

    again = client.post(path, data=body, content_type=content_type, HTTP_IDEMPOTENCY_KEY="key-1")
    assert again.status_code == 200
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == retry.json()
    assert Lead.objects.filter(email="crash@example.com").count() == 1
    assert IdempotencyKey.objects.get(key="key-1").status_code == 200

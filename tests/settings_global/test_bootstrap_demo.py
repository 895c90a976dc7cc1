"""bootstrap_demo prints keys that work against the database it ran on."""

from __future__ import annotations

import io
import json

import pytest
from django.core.management import call_command
from django.test import override_settings

from settings_global.models import ApiCredential

pytestmark = pytest.mark.django_db


def _bootstrap(tmp_path) -> dict:
    with override_settings(BASE_DIR=tmp_path):
        call_command("bootstrap_demo", stdout=io.StringIO())
    return json.loads((tmp_path / "var" / "demo_api_credential.json").read_text())


def test_keys_saved_for_another_database_are_replaced(tmp_path):
    first = _bootstrap(tmp_path)
    assert ApiCredential.objects.get(access_key=first["access_key"]).is_active
    assert _bootstrap(tmp_path) == first  # kept while they are this database's
    # The file now holds another database's keys (an earlier DATABASE_URL, a new SQLite file).
    stale = {**first, "access_key": "ak_from_another_database"}
    (tmp_path / "var" / "demo_api_credential.json").write_text(json.dumps(stale))
    fresh = _bootstrap(tmp_path)
    assert fresh["access_key"] != stale["access_key"]
    assert ApiCredential.objects.get(access_key=fresh["access_key"]).is_active
    assert not ApiCredential.objects.get(access_key=first["access_key"]).is_active
    (tmp_path / "var" / "demo_api_credential.json").write_text("not json")
    assert ApiCredential.objects.get(access_key=_bootstrap(tmp_path)["access_key"]).is_active

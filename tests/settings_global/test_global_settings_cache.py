"""Global Settings are never served from a stale per-process copy: the next call sees a change."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.db import transaction

from settings_global.models import (
    GLOBAL_SETTINGS_CACHE_KEY,
    GLOBAL_SETTINGS_GENERATION_KEY,
    GlobalSettings,
)
from settings_global.services import global_settings_get, global_settings_update

pytestmark = pytest.mark.django_db


@pytest.fixture
def shared_cache(monkeypatch):
    """The code path of a shared cache (Redis in production), on whatever cache the run has."""
    monkeypatch.setattr("settings_global.services._cache_is_shared", lambda: True)


def test_without_a_shared_cache_every_call_reads_the_database(monkeypatch):
    monkeypatch.setattr("settings_global.services._cache_is_shared", lambda: False)
    assert global_settings_get().bulk_row_limit == 25
    # Another process changes the row (no save() in this one, so no invalidation here).
    GlobalSettings.objects.filter(pk=1).update(bulk_row_limit=7)
    assert global_settings_get().bulk_row_limit == 7


def test_a_shared_cache_serves_the_copy_until_a_save(shared_cache, django_assert_num_queries):
    global_settings_get()
    with django_assert_num_queries(0):
        assert global_settings_get().bulk_row_limit == 25
    global_settings_update(changes={"bulk_row_limit": 9}, user=None, via="test")
    assert global_settings_get().bulk_row_limit == 9


def test_a_copy_read_before_the_commit_is_retired_by_it(
    shared_cache, django_capture_on_commit_callbacks
):
    """Worker B reads the old row while worker A's save is not yet committed, and caches it.
    A's commit retires that copy: B's next call reads the new value."""
    global_settings_get()
    stale = GlobalSettings.objects.get(pk=1)
    with django_capture_on_commit_callbacks(execute=True):
        with transaction.atomic():
            global_settings_update(
                changes={"reject_duplicate_email_via_api": True}, user=None, via="t"
            )
            # B, meanwhile: it saw the generation of before the commit and the old row.
            generation = cache.get(GLOBAL_SETTINGS_GENERATION_KEY)
            cache.set(GLOBAL_SETTINGS_CACHE_KEY, (generation, stale))
            assert global_settings_get().reject_duplicate_email_via_api is False
    assert global_settings_get().reject_duplicate_email_via_api is True


def test_patch_through_the_api_is_seen_by_the_next_call(
    shared_cache, staff_client, django_capture_on_commit_callbacks
):
    assert global_settings_get().require_contact_name is False
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.patch(
            "/api/v1/settings/global/", {"require_contact_name": True}, format="json"
        )
    assert response.status_code == 200
    assert global_settings_get().require_contact_name is True

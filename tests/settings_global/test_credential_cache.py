"""Verified credentials are kept per process while the shared credentials version holds."""

from __future__ import annotations

import pytest
from django.conf import settings

from settings_global.models import ApiCredential
from settings_global.selectors import (
    credential_by_api_key,
    credential_by_auth_token,
    credential_by_keys,
)
from settings_global.services import api_credential_revoke, api_user_create, api_user_revoke

pytestmark = pytest.mark.django_db

needs_redis = pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL")


@needs_redis
def test_a_verified_credential_is_checked_again_without_a_query(django_assert_num_queries):
    issued = api_user_create(name="acme")
    assert credential_by_keys(issued.access_key, issued.secret_key) is not None
    with django_assert_num_queries(0):
        found = credential_by_keys(issued.access_key, issued.secret_key)
    assert found.pk == issued.credential.pk


@needs_redis
def test_a_wrong_secret_is_refused_even_when_the_access_key_is_kept():
    issued = api_user_create(name="acme")
    assert credential_by_keys(issued.access_key, issued.secret_key) is not None
    assert credential_by_keys(issued.access_key, issued.secret_key + "x") is None


def test_without_a_shared_cache_every_check_is_a_query(django_assert_num_queries, settings):
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "t"}
    }
    issued = api_user_create(name="acme")
    credential_by_api_key(issued.api_key)
    with django_assert_num_queries(1):
        assert credential_by_api_key(issued.api_key) is not None


def test_revoking_a_user_refuses_its_kept_credentials_at_once():
    issued = api_user_create(name="acme")
    assert credential_by_keys(issued.access_key, issued.secret_key) is not None
    assert credential_by_auth_token(issued.auth_token) is not None
    api_user_revoke(name="acme")
    assert credential_by_keys(issued.access_key, issued.secret_key) is None
    assert credential_by_auth_token(issued.auth_token) is None


def test_the_admin_revoke_refuses_the_kept_credential_at_once():
    issued = api_user_create(name="acme")
    assert credential_by_api_key(issued.api_key) is not None
    api_credential_revoke(credential=issued.credential)
    assert credential_by_api_key(issued.api_key) is None


def test_a_credential_saved_inactive_is_refused_at_once():
    issued = api_user_create(name="acme")
    assert credential_by_api_key(issued.api_key) is not None
    credential = ApiCredential.objects.get(pk=issued.credential.pk)
    credential.is_active = False
    credential.save()
    assert credential_by_api_key(issued.api_key) is None

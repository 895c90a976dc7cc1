from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from config.redis_pause import redis_waits_reset
from tests.factories import ApiCredentialFactory, StaffFactory, UserFactory


@pytest.fixture(autouse=True)
def _fresh_cache():
    # Rate-limit counters, the settings cache and a pause after a Redis timeout must not leak
    # between tests.
    redis_waits_reset()
    cache.clear()
    yield
    redis_waits_reset()
    cache.clear()


@pytest.fixture
def api_user(db):
    return UserFactory(username="vendor", first_name="System API User")


@pytest.fixture
def credential(api_user):
    return ApiCredentialFactory(user=api_user, access_key="ak_vendor")


@pytest.fixture
def ls_keys(credential):
    """The LeadSquared query string of the test credential."""
    return f"accessKey={credential.access_key}&secretKey=secret-{credential.access_key}"


@pytest.fixture
def client():
    return APIClient()


@pytest.fixture
def staff(db):
    return StaffFactory(username="staff")


@pytest.fixture
def staff_client(staff):
    c = APIClient()
    c.force_authenticate(staff)
    return c

"""The Redis rate limit: one counter per credential and window, which expires with the window."""

from __future__ import annotations

import pytest
from django.conf import settings
from django_redis import get_redis_connection

from settings_global.services import global_settings_update
from tests.helpers import attrs

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL"),
]

CAPTURE = "/v2/LeadManagement.svc/Lead.Capture"


def test_the_counter_counts_each_call_and_expires_with_its_window(client, ls_keys, credential):
    global_settings_update(
        changes={"rate_limit_calls": 2, "rate_limit_window_seconds": 30}, user=None, via="test"
    )
    for name in ("a", "b", "c"):
        client.post(f"{CAPTURE}?{ls_keys}", attrs(FirstName=name), format="json")
    redis = get_redis_connection("default")
    keys = redis.keys(f"*{settings.RATELIMIT_CACHE_PREFIX}{credential.pk}:*")
    assert len(keys) == 1
    assert int(redis.get(keys[0])) == 3
    assert 0 < redis.ttl(keys[0]) <= 31


def test_over_the_limit_is_the_429_body_with_retry_after(client, ls_keys):
    global_settings_update(
        changes={"rate_limit_calls": 1, "rate_limit_window_seconds": 30}, user=None, via="test"
    )
    assert (
        client.post(f"{CAPTURE}?{ls_keys}", attrs(FirstName="a"), format="json").status_code == 200
    )
    response = client.post(f"{CAPTURE}?{ls_keys}", attrs(FirstName="b"), format="json")
    assert response.status_code == 429
    assert response.json() == {
        "Status": "Error",
        "ExceptionType": "MXAPIRateLimitExceededException",
        "ExceptionMessage": "API calls exceeded the limit of 1 in 30 second(s)",
    }
    assert 1 <= int(response["Retry-After"]) <= 30

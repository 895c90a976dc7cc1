"""A vendor call the process already knows costs one Redis round trip: the credentials version,
the rules and the rate-limit count together (settings_global.ratelimit), and decodes the rules
only when their stored copy changed."""

from __future__ import annotations

import pytest
import redis
from django.conf import settings
from django_redis import get_redis_connection
from django_redis.client.default import DefaultClient

from settings_global import ratelimit
from settings_global.selectors import credentials_version
from settings_global.services import (
    global_settings_get,
    global_settings_pinned,
    global_settings_update,
)
from tests.helpers import attrs

pytestmark = [
    pytest.mark.django_db,
    pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL"),
]

CAPTURE = "/v2/LeadManagement.svc/Lead.Capture"


@pytest.fixture
def commands(monkeypatch):
    """The commands sent to Redis: every one is packed by its connection, whichever way it goes
    (redis-py's client, or settings_global.ratelimit's own connection)."""
    sent: list[str] = []
    original = redis.connection.AbstractConnection.pack_command

    def counted(self, *args):
        sent.append(str(args[0]))
        return original(self, *args)

    monkeypatch.setattr(redis.connection.AbstractConnection, "pack_command", counted)
    return sent


def test_a_known_credential_is_checked_and_counted_in_one_round_trip(client, ls_keys, commands):
    global_settings_update(
        changes={"rate_limit_calls": 4, "rate_limit_window_seconds": 60}, user=None, via="test"
    )
    url = f"{CAPTURE}?{ls_keys}"
    # The first call reads the credential from the database; the second loads the script into
    # Redis if it is not there yet (redis-py's EVALSHA, SCRIPT LOAD, EVALSHA).
    for name in ("a", "b"):
        assert client.post(url, attrs(FirstName=name), format="json").status_code == 200
    commands.clear()
    assert client.post(url, attrs(FirstName="c"), format="json").status_code == 200
    assert commands == ["EVALSHA"], commands
    # Still counted: the fourth call is the last under the limit, the fifth is refused.
    assert client.post(url, attrs(FirstName="d"), format="json").status_code == 200
    assert client.post(url, attrs(FirstName="e"), format="json").status_code == 429


def test_a_changed_limit_is_counted_under_its_own_key(client, ls_keys, credential):
    url = f"{CAPTURE}?{ls_keys}"
    global_settings_update(
        changes={"rate_limit_calls": 5, "rate_limit_window_seconds": 60}, user=None, via="test"
    )
    client.post(url, attrs(FirstName="a"), format="json")
    client.post(url, attrs(FirstName="b"), format="json")
    global_settings_update(
        changes={"rate_limit_calls": 1, "rate_limit_window_seconds": 60}, user=None, via="test"
    )
    # The process guessed the old rule for this call; the new rule still counts it, once.
    assert client.post(url, attrs(FirstName="c"), format="json").status_code == 200
    assert client.post(url, attrs(FirstName="d"), format="json").status_code == 429
    r = get_redis_connection("default")
    counts = {
        key.decode().rsplit(":", 2)[-2]: int(r.get(key))
        for key in r.keys(f"*{settings.RATELIMIT_CACHE_PREFIX}{credential.pk}:*")
    }
    assert counts["1/60"] == 2


@pytest.fixture
def rules_decoded(monkeypatch):
    """How many times the rules (the cached (generation, GlobalSettings) pair) were unpickled."""
    decoded: list[object] = []
    original = DefaultClient.decode

    def counted(self, value):
        result = original(self, value)
        if isinstance(result, tuple):
            decoded.append(result)
        return result

    monkeypatch.setattr(DefaultClient, "decode", counted)
    return decoded


def test_the_rules_are_decoded_once_per_stored_copy(client, ls_keys, rules_decoded):
    global_settings_update(
        changes={"rate_limit_calls": 3, "rate_limit_window_seconds": 3600}, user=None, via="test"
    )
    url = f"{CAPTURE}?{ls_keys}"
    for name in ("a", "b"):  # the credential from the database, then the script
        assert client.post(url, attrs(FirstName=name), format="json").status_code == 200
    rules_decoded.clear()
    # The same stored rules: not unpickled again, and still the rules in force (the third call
    # is the last under the limit).
    assert client.post(url, attrs(FirstName="c"), format="json").status_code == 200
    assert rules_decoded == []
    # Saved rules are new bytes: decoded afresh, and in force at once.
    global_settings_update(changes={"rate_limit_calls": 10}, user=None, via="test")
    assert client.post(url, attrs(FirstName="d"), format="json").status_code == 200
    assert client.post(url, attrs(FirstName="e"), format="json").status_code == 200
    assert len(rules_decoded) == 1


def test_a_call_that_changes_its_rules_changes_no_other_call(credential):
    global_settings_update(changes={"bulk_row_limit": 20}, user=None, via="test")
    global_settings_get()  # stores the rules in the shared cache
    ratelimit.rule_seen(1000, 60)  # as after a call: the credential round trip brings the rules

    def call_rules():
        with global_settings_pinned():
            credentials_version(count_for=credential.pk)
            rules = global_settings_get()
            limit = rules.bulk_row_limit
            rules.bulk_row_limit = 1  # what a careless call might do to its own rules
            return rules, limit

    first, first_limit = call_rules()
    second, second_limit = call_rules()
    assert first_limit == second_limit == 20
    assert second is not first

"""The rate-limit scripts' own connection (settings_global.ratelimit._run), against the real Redis:
a lost script, a killed connection, a reply that never came and a forked process each leave the
count right."""

from __future__ import annotations

import os
import time
import uuid

import pytest
import redis
from django.conf import settings
from django.core.cache import cache
from django_redis import get_redis_connection

from config.redis_pause import redis_waits_reset
from settings_global import ratelimit

pytestmark = pytest.mark.skipif(not settings.REDIS_URL, reason="needs REDIS_URL")


@pytest.fixture
def key():
    name = f"test-rl:{uuid.uuid4().hex}"
    yield name
    cache.delete(name)


@pytest.fixture
def r():
    return get_redis_connection("default")


def test_calls_are_counted_on_one_kept_connection(key):
    assert [ratelimit.count(key, 60) for _ in range(3)] == [1, 2, 3]
    held = ratelimit._held.conn
    assert ratelimit.count(key, 60) == 4
    assert ratelimit._held.conn is held


def test_the_counter_expires_with_its_window(key, r):
    ratelimit.count(key, 60)
    assert 0 < r.ttl(cache.make_key(key)) <= 61


def test_a_script_redis_lost_is_loaded_again(key, r):
    assert ratelimit.count(key, 60) == 1
    r.script_flush()
    assert ratelimit.count(key, 60) == 2
    assert ratelimit.count(key, 60) == 3


def test_a_killed_connection_is_replaced_within_the_call(key, r):
    assert ratelimit.count(key, 60) == 1
    host, port = ratelimit._held.conn._sock.getsockname()[:2]
    assert r.client_kill_filter(_type=None, addr=f"{host}:{port}") == 1
    # As after a Redis restart: the call finds the connection dead and sends once more.
    assert ratelimit.count(key, 60) == 2


def test_after_a_restart_the_call_connects_again_and_loads_the_script(key, r):
    assert ratelimit.count(key, 60) == 1
    host, port = ratelimit._held.conn._sock.getsockname()[:2]
    # What a restart leaves: the connection closed by Redis and the scripts gone.
    r.client_kill_filter(_type=None, addr=f"{host}:{port}")
    r.script_flush()
    assert ratelimit.count(key, 60) == 2


def test_a_reply_not_read_is_never_taken_for_the_next_call(key, r):
    assert ratelimit.count(key, 60) == 1
    pool = r.connection_pool
    impatient = pool.connection_class(**{**pool.connection_kwargs, "socket_timeout": 0.05})
    ratelimit._held.conn = impatient
    r.client_pause(400)  # Redis answers nobody for 0.4 s
    with pytest.raises(redis.exceptions.TimeoutError):
        ratelimit.count(key, 60)
    time.sleep(0.5)  # the paused call's reply, if Redis sends one, is on the closed connection
    redis_waits_reset()  # the timeout left Redis alone for a while (config.redis_pause)
    # A counter of its own: on the same connection, this call would read the reply to the
    # first counter's call (2), not its own (1).
    other = f"{key}:other"
    try:
        assert ratelimit.count(other, 60) == 1
    finally:
        cache.delete(other)


def test_a_forked_process_opens_its_own_connection(key):
    assert ratelimit.count(key, 60) == 1
    parent = ratelimit._held.conn
    pid = os.fork()
    if pid == 0:  # the child: only Redis, then out without running pytest's teardown
        ok = ratelimit.count(key, 60) == 2 and ratelimit._held.conn is not parent
        os._exit(0 if ok else 1)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    # The parent's connection is its own still: its replies are its own.
    assert ratelimit.count(key, 60) == 3
    assert ratelimit._held.conn is parent

"""The vendor rate limit's counters in the shared cache: fixed windows aligned on the clock (as
django-ratelimit's), one key per credential, rule and window (a new limit starts a new count).

The credential check reads the credentials version and the rules from Redis in one round trip
(settings_global.selectors); when it already knows the credential (kept in this process) it counts
the call in that same round trip, under the rule this process saw last. leads.api.base's rate
limit check then takes that count if its own key is the same (the same credential, rule and
window), and counts the call itself otherwise (the first call of a process, a changed rule, a
window that turned in between).
"""

from __future__ import annotations

import os
import threading
import time
from contextvars import ContextVar
from typing import Any

from django.conf import settings
from django.core.cache import cache
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import NoScriptError

# (key, count) counted in this call's credential round trip; set by every credential check.
_precounted: ContextVar[tuple[str, int] | None] = ContextVar("rate_precounted", default=None)
# The (calls, window) this process last counted under.
_last_rule: list[tuple[int, int] | None] = [None]


# Count under the last key (KEYS[#KEYS]); a new counter expires with its window (ARGV[1]).
_COUNT = (
    "local n = redis.call('INCR', KEYS[#KEYS]) "
    "if n == 1 then redis.call('EXPIRE', KEYS[#KEYS], ARGV[1]) end "
)
_COUNT_ONLY = _COUNT + "return n"
# MGET every key but the last, and count under the last: the values, then the count.
_READ_AND_COUNT = (
    "local found = redis.call('MGET', unpack(KEYS, 1, #KEYS - 1)) "
    + _COUNT
    + "found[#KEYS] = n return found"
)
_scripts: dict[str, Any] = {}


def _script(source: str) -> Any:
    script = _scripts.get(source)
    if script is None:
        from django_redis import get_redis_connection

        script = _scripts[source] = get_redis_connection("default").register_script(source)
    return script


# This thread's own Redis connection for the scripts, and the process it was made in.
_held = threading.local()


def _run(source: str, keys: list[str], args: list[Any]) -> Any:
    """EVALSHA of a registered script on this thread's own connection to the cache's Redis.

    Every vendor call makes this one round trip. Through redis-py's client it cost some 120 us
    of CPU, most of it the command layer around the wire: the pool's checkout and its readiness
    poll, the retry wrapper, the reply callbacks, the metrics hooks. Here it is the packed
    command and the parsed reply; an accept costs 30-50 us less (docs/performance.md). What the
    layer did is kept: the connection closes itself on any error while sending or reading (so a
    reply not read is never taken for the next call's), a call that found the connection dead
    (Redis restarted) is sent once more on a new one, as redis-py's retry would, and a script
    Redis lost (SCRIPT FLUSH, a restart) goes through redis-py's Script, which loads it again."""
    script = _script(source)
    conn = getattr(_held, "conn", None)
    if conn is None or _held.pid != os.getpid():  # never a connection a parent process opened
        pool = script.registered_client.connection_pool
        conn = pool.connection_class(**pool.connection_kwargs)  # the pool's settings, not lent
        _held.conn, _held.pid = conn, os.getpid()
    packed = conn.pack_command("EVALSHA", script.sha, len(keys), *keys, *args)
    try:
        return _evalsha(conn, packed, script, keys, args)
    except RedisConnectionError:
        return _evalsha(conn, packed, script, keys, args)  # on a new socket


def _evalsha(conn: Any, packed: list[bytes], script: Any, keys: list[str], args: list[Any]) -> Any:
    try:
        conn.send_packed_command(packed, check_health=False)  # connects if it is not
        return conn.read_response()
    except NoScriptError:
        return script(keys=keys, args=args)


def count(key: str, window: int) -> int:
    """One round trip: count the call in this window's counter, which expires with the window."""
    return int(_run(_COUNT_ONLY, [cache.make_key(key)], [window + 1]))


def read_and_count(names: list[str], counter: tuple[str, int]) -> dict[str, Any]:
    """cache.get_many(names) and the count under counter (key, window) in one round trip; the
    count is offered to this call's rate-limit check (precount_take)."""
    key, window = counter
    keys = [cache.make_key(name) for name in names] + [cache.make_key(key)]
    values = _run(_READ_AND_COUNT, keys, [window + 1])
    precount_offer((key, int(values[-1])))
    return {
        name: _decoded(value)
        for name, value in zip(names, values[:-1], strict=True)
        if value is not None
    }


# What read_and_count decoded, by the bytes it was stored as. The same bytes always decode to the
# same value, so a changed value (a revoke's new credentials version, a saved rule's new
# generation and copy) is new bytes, decoded afresh: nothing here can be stale. It spares every
# vendor call unpickling the rules (a model instance), 5-15% of an accept's CPU in a gunicorn
# worker. The values are shared by the calls of this process: global_settings_offer
# pins a copy of the rules, and the versions are strings.
_DECODED: dict[bytes, Any] = {}
_DECODED_MAX = 32  # a few versions and rules at a time; more means they are changing: start over


def _decoded(stored: bytes) -> Any:
    value = _DECODED.get(stored, _DECODED)
    if value is _DECODED:
        value = cache.client.decode(stored)
        if len(_DECODED) >= _DECODED_MAX:
            _DECODED.clear()
        _DECODED[stored] = value
    return value


def counter_key(credential_pk: int, calls: int, window: int, now: float) -> tuple[str, int]:
    """The counter's key (before the cache's own prefix) and its window's start."""
    now = int(now)
    start = now - now % window
    return f"{settings.RATELIMIT_CACHE_PREFIX}{credential_pk}:{calls}/{window}:{start}", start


def counter_guess(credential_pk: int | None) -> tuple[str, int] | None:
    """The key and window a call of this credential will most likely count under, or None."""
    rule = _last_rule[0]
    if credential_pk is None or rule is None:
        return None
    calls, window = rule
    return counter_key(credential_pk, calls, window, time.time())[0], window


def precount_offer(counted: tuple[str, int] | None) -> None:
    _precounted.set(counted)


def precount_take(key: str) -> int | None:
    """The count made in the credential round trip under this key, once; else None."""
    counted = _precounted.get()
    _precounted.set(None)
    if counted is not None and counted[0] == key:
        return counted[1]
    return None


def rule_seen(calls: int, window: int) -> None:
    _last_rule[0] = (calls, window)

"""A Redis that did not answer in time is left alone for a few seconds by the whole process.

A call gives up on a Redis that hangs (paused, swapping, or behind a network that drops packets)
after REDIS_TIMEOUT_SECONDS (config.env.cache_config). Each call that went to it after that
waited as long: with 3 web workers, three vendor calls a second, the rest of a burst queued behind
them, and every staff page and admin change as slow. Here the connection itself keeps the pause: a
timeout (connecting, sending or reading) marks Redis hung for this process for
REDIS_HUNG_PAUSE_SECONDS, and until then every command on every connection of the cache (the
rate limit's kept connection too) raises redis-py's TimeoutError at once, without touching the
socket. What each caller does with a timeout is unchanged: a vendor call answers 503 with
Retry-After, a staff read falls back to the database, a change every worker must hear of fails
whole. The first command after the pause tries Redis again.

A refused connection costs no wait and starts no pause: the call after Redis is back goes
through at once. No Django import: config.env builds the cache settings with these classes
(leads.errors, for the Retry-After, imports none either).
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlparse

from redis.connection import Connection, SSLConnection, UnixDomainSocketConnection
from redis.exceptions import TimeoutError as RedisTimeoutError

from leads.errors import RETRY_AFTER_SECONDS

# The Retry-After a 503 gives while Redis is away: a caller told to come back then finds the
# pause over.
REDIS_HUNG_PAUSE_SECONDS = RETRY_AFTER_SECONDS
_hung_until = [0.0]


def redis_wait_allowed() -> None:
    """Raise redis-py's TimeoutError at once while a Redis that did not answer is left alone."""
    left = _hung_until[0] - time.monotonic()
    if left > 0:
        raise RedisTimeoutError(f"it did not answer; not waited for again for {left:.1f} s")


def redis_did_not_answer() -> None:
    """A command waited for Redis in vain: leave it alone for REDIS_HUNG_PAUSE_SECONDS."""
    _hung_until[0] = time.monotonic() + REDIS_HUNG_PAUSE_SECONDS


def redis_waits_reset() -> None:
    _hung_until[0] = 0.0


def _pausing_on_timeout(call: Any, *args: Any, **kwargs: Any) -> Any:
    """call(*args, **kwargs); a timeout in it starts the pause."""
    try:
        return call(*args, **kwargs)
    except RedisTimeoutError:
        redis_did_not_answer()
        raise


class PausingConnectionMixin:
    """redis-py's connection, which neither connects nor sends while the pause lasts, and starts
    it when connecting, sending or reading timed out."""

    def connect(self, *args: Any, **kwargs: Any) -> Any:
        redis_wait_allowed()
        return _pausing_on_timeout(super().connect, *args, **kwargs)

    def send_packed_command(self, *args: Any, **kwargs: Any) -> Any:
        redis_wait_allowed()
        return _pausing_on_timeout(super().send_packed_command, *args, **kwargs)

    def read_response(self, *args: Any, **kwargs: Any) -> Any:
        return _pausing_on_timeout(super().read_response, *args, **kwargs)


class PausingConnection(PausingConnectionMixin, Connection):
    pass


class PausingSSLConnection(PausingConnectionMixin, SSLConnection):
    pass


class PausingUnixDomainSocketConnection(PausingConnectionMixin, UnixDomainSocketConnection):
    pass


def pausing_connection_class(redis_url: str) -> type[Connection]:
    """The connection class redis-py would pick for this URL's scheme, with the pause."""
    scheme = urlparse(redis_url).scheme
    if scheme == "rediss":
        return PausingSSLConnection
    if scheme == "unix":
        return PausingUnixDomainSocketConnection
    return PausingConnection

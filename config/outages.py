"""The errors that mean a backing service is away, and what staff and scripts are told then.

Redis (REDIS_URL) holds the rate-limit counters, the rules' cache and the credentials version
every worker checks its verified credentials against. Reads fall back to the database while it is
away; a change that must reach every worker (Global Settings, a credential created or revoked)
fails whole instead, since a worker that still trusts its copy when Redis comes back would never
hear of it. A call gives up on a Redis that does not answer after REDIS_TIMEOUT_SECONDS
(config.env.cache_config); the process's vendor calls then leave that Redis alone for
REDIS_HUNG_PAUSE_SECONDS and answer 503 at once, rather than each holding a worker for the timeout.
"""

from __future__ import annotations

import logging
import time

from django.db import InterfaceError, OperationalError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError
from rest_framework.response import Response
from rest_framework.views import exception_handler

from leads.errors import RETRY_AFTER_SECONDS

log = logging.getLogger(__name__)

# redis-py's own errors, whether raised through the cache (django-redis lets them out as they are)
# or the rate limit's own connection.
REDIS_AWAY = (RedisConnectionError, RedisTimeoutError)
DATABASE_AWAY = (OperationalError, InterfaceError)


# How long a process's vendor calls leave alone a Redis that did not answer in time. A hung
# Redis (paused, swapping, or behind a network that drops packets) made every call wait
# REDIS_TIMEOUT_SECONDS before its 503: with 3 workers, three calls a second, and the rest queued
# behind them. Now one call waits, and the calls after it are answered at once with the
# Retry-After they are told anyway; the first call after the pause tries Redis again. A Redis
# that refuses connections is no wait, and is not paused for: the call after it is back goes
# through.
REDIS_HUNG_PAUSE_SECONDS = RETRY_AFTER_SECONDS
_redis_hung_until = [0.0]


def redis_wait_allowed() -> None:
    """Raise redis-py's TimeoutError at once (a 503, as after the wait) while a Redis that did
    not answer is left alone."""
    left = _redis_hung_until[0] - time.monotonic()
    if left > 0:
        raise RedisTimeoutError(f"it did not answer; not waited for again for {left:.1f} s")


def redis_did_not_answer() -> None:
    """A call waited for Redis in vain: leave it alone for REDIS_HUNG_PAUSE_SECONDS."""
    _redis_hung_until[0] = time.monotonic() + REDIS_HUNG_PAUSE_SECONDS


def redis_waits_reset() -> None:
    _redis_hung_until[0] = 0.0


REDIS_AWAY_CHANGE = (
    "Redis (REDIS_URL) cannot be reached, and every worker must hear of this change through it: "
    "nothing was changed. Try again once Redis is back."
)


def staff_api_exception_handler(exc: Exception, context: dict) -> Response | None:
    """DRF's own answers, and 503 with Retry-After while Redis or the database is away (the
    staff API's format: {"detail": ...}), instead of a 500."""
    response = exception_handler(exc, context)
    if response is not None:
        return response
    if isinstance(exc, REDIS_AWAY):
        log.warning("Redis unavailable: %s", exc)
        detail = REDIS_AWAY_CHANGE
    elif isinstance(exc, DATABASE_AWAY):
        log.warning("database unavailable: %s", exc)
        detail = "The database cannot be reached. Try again shortly."
    else:
        return None
    return Response(
        {"detail": detail}, status=503, headers={"Retry-After": str(RETRY_AFTER_SECONDS)}
    )

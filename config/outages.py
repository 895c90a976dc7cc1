"""The errors that mean a backing service is away, and what staff and scripts are told then.

Redis (REDIS_URL) holds the rate-limit counters, the rules' cache and the credentials version
every worker checks its verified credentials against. Reads fall back to the database while it is
away; a change that must reach every worker (Global Settings, a credential created or revoked)
fails whole instead, since a worker that still trusts its copy when Redis comes back would never
hear of it. A call gives up on a Redis that does not answer after REDIS_TIMEOUT_SECONDS
(config.env.cache_config); the process then leaves that Redis alone for a few seconds, and its
calls meanwhile are told at once what they would have been told after the wait
(config.redis_pause).
"""

from __future__ import annotations

import logging

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

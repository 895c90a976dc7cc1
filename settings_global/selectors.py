"""Credential checks. Secrets are compared as hashes in constant time.

Each process keeps the credentials it has verified, keyed by the hash of what was presented, and
trusts them while the shared credentials version (one cache read) is the one it saw: revoking
bumps the version, so every worker drops its copies at its next request. With the per-process
memory cache (the embedded default) a revoke in another process could not reach this one, so
nothing is kept and every check is a query.
"""

from __future__ import annotations

import hmac
import logging
import threading
import time
import uuid

from django.conf import settings
from django.core.cache import cache

from config.outages import REDIS_AWAY
from settings_global import ratelimit
from settings_global.models import CREDENTIALS_VERSION_KEY, ApiCredential, hash_secret
from settings_global.services import GLOBAL_SETTINGS_KEYS, global_settings_offer

log = logging.getLogger(__name__)

_CREDENTIALS = ApiCredential.objects.select_related("user")

# Even with the version unchanged, a copy is re-read after this long (a user deactivated in the
# admin without a revoke, a row changed by hand).
LOCAL_TTL_SECONDS = 60.0
_local: dict[tuple[str, ...], tuple[str, float, ApiCredential]] = {}
_local_lock = threading.Lock()


def _shared_cache() -> bool:
    return "locmem" not in settings.CACHES["default"]["BACKEND"].lower()


def credentials_version(count_for: int | None = None) -> str | None:
    """The shared version, created on first use; None when what the cache holds cannot be read.
    Redis away raises (config.outages): the call could not be counted against its rate limit
    either, so it is answered 503 at once rather than after a second wait on Redis. A Redis that
    did not answer in time is not waited for again for a few seconds: the calls meanwhile raise
    at once (config.redis_pause).

    count_for: the pk of the credential this call most likely presents (kept in this process);
    the call is then counted against the rate limit in the same round trip."""
    ratelimit.precount_offer(None)
    try:
        # The call's rules come along in the same round trip (see global_settings_offer).
        names = [CREDENTIALS_VERSION_KEY, *GLOBAL_SETTINGS_KEYS]
        counter = ratelimit.counter_guess(count_for)
        if counter is None:
            found = cache.get_many(names)
        else:
            found = ratelimit.read_and_count(names, counter)
        global_settings_offer(found)
        version = found.get(CREDENTIALS_VERSION_KEY)
        if version is None:
            cache.add(CREDENTIALS_VERSION_KEY, uuid.uuid4().hex, timeout=None)
            version = cache.get(CREDENTIALS_VERSION_KEY)
    except REDIS_AWAY:
        raise
    except Exception:  # fall back to the database, never to a stale copy
        log.warning("credentials version unreadable; checking credentials in the database")
        return None
    return version


def _cached(key: tuple[str, ...], load) -> ApiCredential | None:
    if not _shared_cache():
        return load()
    hit = _local.get(key)
    version = credentials_version(count_for=hit[2].pk if hit is not None else None)
    if version is None:
        return load()
    if hit is not None and hit[0] == version and time.monotonic() - hit[1] < LOCAL_TTL_SECONDS:
        return hit[2]
    credential = load()
    if credential is not None:
        # Stored under the version read before the query: a revoke that commits in between
        # bumps the version, and this copy is never trusted.
        with _local_lock:
            if len(_local) > 10_000:
                _local.clear()
            _local[key] = (version, time.monotonic(), credential)
    return credential


def credential_by_keys(access_key: str | None, secret_key: str | None) -> ApiCredential | None:
    """LeadSquared: the public access key finds the row, the secret key proves it."""
    if not access_key or not secret_key:
        return None
    return _cached(
        ("keys", access_key, hash_secret(secret_key)),
        lambda: _by_keys(access_key, secret_key),
    )


def _by_keys(access_key: str, secret_key: str) -> ApiCredential | None:
    credential = _CREDENTIALS.filter(access_key=access_key, is_active=True).first()
    if credential is None or not credential.check_secret_key(secret_key):
        return None
    if not credential.user.is_active:
        return None
    return credential


def _by_token(field: str, token: str | None) -> ApiCredential | None:
    if not token:
        return None
    digest = hash_secret(token)
    return _cached((field, digest), lambda: _by_digest(field, digest))


def _by_digest(field: str, digest: str) -> ApiCredential | None:
    credential = _CREDENTIALS.filter(**{field: digest, "is_active": True}).first()
    if credential is None or not credential.user.is_active:
        return None
    if not hmac.compare_digest(getattr(credential, field), digest):
        return None
    return credential


def credential_by_api_key(api_key: str | None) -> ApiCredential | None:
    """LeadSquared async: the x-api-key header."""
    return _by_token("api_key_hash", api_key)


def credential_by_auth_token(token: str | None) -> ApiCredential | None:
    """Convoso: auth_token."""
    return _by_token("auth_token_hash", token)


def credential_by_aninja_apikey(apikey: str | None) -> ApiCredential | None:
    """aNinja: apikey."""
    return _by_token("aninja_apikey_hash", apikey)

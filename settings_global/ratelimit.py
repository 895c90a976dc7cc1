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

import time
from contextvars import ContextVar

from django.conf import settings

# (key, count) counted in this call's credential round trip; set by every credential check.
_precounted: ContextVar[tuple[str, int] | None] = ContextVar("rate_precounted", default=None)
# The (calls, window) this process last counted under.
_last_rule: list[tuple[int, int] | None] = [None]


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

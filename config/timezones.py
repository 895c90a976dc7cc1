"""Show times in the staff member's own time zone.

The admin's pages set a `tz` cookie from the browser's time zone (Intl API, see
templates/admin/base_site.html); this middleware activates it for the request, so every date the
admin renders is in that zone. Dates are still stored in UTC; without the cookie (scripts, the
APIs) TIME_ZONE applies.
"""

from __future__ import annotations

import zoneinfo
from collections.abc import Callable
from functools import lru_cache
from typing import Any
from urllib.parse import unquote

from django.utils import timezone

COOKIE = "tz"


@lru_cache(maxsize=256)
def _zone(name: str) -> zoneinfo.ZoneInfo | None:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return None


class BrowserTimeZoneMiddleware:
    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        name = unquote(request.COOKIES.get(COOKIE, ""))  # the page sets it URI-encoded
        zone = _zone(name) if 0 < len(name) <= 64 else None
        if zone is not None:
            timezone.activate(zone)
        else:
            timezone.deactivate()
        try:
            return self.get_response(request)
        finally:
            timezone.deactivate()

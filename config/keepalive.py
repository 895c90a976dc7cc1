"""Keep-alive connections survive a response to a request whose body was never read.

A 405, 401, 403 or 404 answers before the view reads the body; gunicorn then drains at most 64 KiB
of what is left and closes the connection it had just told the client stays open, so the vendor's
next request on it fails and it cannot tell whether that request went through. This WSGI wrapper
reads and discards the rest of the body (bounded) before the response is sent; a body too large to
drain is answered with `Connection: close` instead, which the client can act on.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

# Above the largest body the app reads in memory (DATA_UPLOAD_MAX_MEMORY_SIZE, 5 MiB).
DRAIN_LIMIT = 8 * 1024 * 1024
CHUNK = 64 * 1024


def _drain(stream: Any, limit: int) -> bool:
    """Read and discard up to limit bytes; True if the body ended within them."""
    remaining = limit
    while remaining > 0:
        data = stream.read(min(CHUNK, remaining))
        if not data:
            return True
        remaining -= len(data)
    return not stream.read(1)


def _declared_length(environ: dict[str, Any]) -> int:
    try:
        return int(environ.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return 0


def drain_unread_body(app: Callable) -> Callable:
    def wrapped(environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        result = app(environ, start_response)
        # Only where reading to the end of the input is safe (gunicorn says so); a server that
        # hands over the raw socket (wsgiref) would block.
        if environ.get("wsgi.input_terminated"):
            stream = environ["wsgi.input"]
            if _declared_length(environ) > DRAIN_LIMIT or not _drain(stream, DRAIN_LIMIT):
                # The headers go out on the first write: gunicorn's response can still say close.
                response = getattr(start_response, "__self__", None)
                force_close = getattr(response, "force_close", None)
                if force_close is not None:
                    force_close()
        return result

    return wrapped

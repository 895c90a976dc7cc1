"""Wire formats: each API family's request -> IntakeRequests, and results and errors -> its body.

Views, services, replayers and the upload code import these; nothing here imports a view.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def client_addr(request: Any) -> str | None:
    return request.META.get("REMOTE_ADDR") or None


def query_dict(request: Any) -> dict[str, str]:
    """The query string as a plain dict (the last value of a repeated name wins)."""
    return {key: request.GET.get(key) for key in request.GET.keys()}


def get_ci(params: Mapping[str, Any], name: str, default: Any = None) -> Any:
    """A parameter by name, case-insensitively (vendors write accessKey and accesskey)."""
    if name in params:
        return params[name]
    lowered = name.lower()
    for key, value in params.items():
        if key.lower() == lowered:
            return value
    return default

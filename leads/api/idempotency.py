"""Idempotency-Key on the write APIs: a retry with the same key and request gets the first answer
without writing again; the same key with another request is a 409. This is the HTTP side (the
header and the request's digest); the keys themselves are leads.idempotency's."""

from __future__ import annotations

import hashlib
import json
from typing import Any

from django.http.request import RawPostDataException

from leads.errors import IdempotencyConflict
from leads.idempotency import idempotency_claim
from leads.models import IdempotencyKey
from leads.vocabulary import CREDENTIAL_KEYS

HEADER = "HTTP_IDEMPOTENCY_KEY"
MAX_KEY_LENGTH = 255


def request_hash(request: Any) -> str:
    """The method, path, query (credentials left out) and body of a request."""
    django_request = getattr(request, "_request", request)
    try:
        body = django_request.body
    except RawPostDataException:  # a multipart body already streamed into request.POST
        body = json.dumps(sorted(django_request.POST.lists())).encode()
    query = sorted(
        (k, v) for k, v in django_request.GET.lists() if k.lower() not in CREDENTIAL_KEYS
    )
    digest = hashlib.sha256()
    for part in (django_request.method, django_request.path, json.dumps(query)):
        digest.update(part.encode() + b"\0")
    digest.update(body)
    return digest.hexdigest()


def idempotency_begin(request: Any, credential: Any) -> IdempotencyKey | None:
    """Claim the request's key, if it sent one, or raise IdempotentReplay / IdempotencyConflict."""
    key = (request.META.get(HEADER) or "").strip()
    if not key:
        return None
    if len(key) > MAX_KEY_LENGTH:
        raise IdempotencyConflict(f"Idempotency-Key is longer than {MAX_KEY_LENGTH} characters")
    return idempotency_claim(credential=credential, key=key, digest=request_hash(request))

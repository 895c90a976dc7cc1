"""Idempotency-Key on the write APIs: a retry with the same key and request gets the first answer
without writing again; the same key with another request is a 409."""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.http.request import RawPostDataException
from django.utils import timezone

from leads.errors import IdempotencyConflict, IdempotentReplay
from leads.models import IdempotencyKey
from leads.vocabulary import CREDENTIAL_KEYS

HEADER = "HTTP_IDEMPOTENCY_KEY"
STALE_AFTER = timedelta(minutes=2)
MAX_KEY_LENGTH = 255
# Final answers are kept; 401, 429 and server faults are not, so the sender's retry runs again.
STORED_STATUSES = {200, 400, 404}


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
    """Claim the key for this request, or raise IdempotentReplay / IdempotencyConflict."""
    key = (request.META.get(HEADER) or "").strip()
    if not key:
        return None
    if len(key) > MAX_KEY_LENGTH:
        raise IdempotencyConflict(f"Idempotency-Key is longer than {MAX_KEY_LENGTH} characters")
    digest = request_hash(request)
    try:
        with transaction.atomic():
            return IdempotencyKey.objects.create(
                credential=credential, key=key, request_hash=digest
            )
    except IntegrityError:
        pass
    record = IdempotencyKey.objects.filter(credential=credential, key=key).first()
    if record is None:  # released by a failed first call in the meantime
        return idempotency_begin(request, credential)
    if record.status_code is None and record.created_at < timezone.now() - STALE_AFTER:
        # A key claimed without its answer (the families commit both with the write, in one
        # transaction; this is a claim left by an older release): run it again.
        IdempotencyKey.objects.filter(pk=record.pk, status_code__isnull=True).delete()
        return idempotency_begin(request, credential)
    if record.request_hash != digest:
        raise IdempotencyConflict("Idempotency-Key was already used with another request")
    if record.status_code is None:
        raise IdempotencyConflict("A request with this Idempotency-Key is still in progress")
    raise IdempotentReplay(record)


def idempotency_finish(record: IdempotencyKey, status_code: int, data: Any) -> None:
    """Keep a final answer; release the key after anything the sender should retry."""
    if status_code in STORED_STATUSES:
        IdempotencyKey.objects.filter(pk=record.pk).update(status_code=status_code, response=data)
    else:
        IdempotencyKey.objects.filter(pk=record.pk).delete()

"""Idempotency keys: a key claimed for one request, then its final answer kept, or the key
released so that the sender's retry runs again. The HTTP side (the Idempotency-Key header and the
request's digest) is leads.api.idempotency; the vendor views call it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from leads.errors import IdempotencyConflict, IdempotentReplay
from leads.models import IdempotencyKey

STALE_AFTER = timedelta(minutes=2)
# Final answers are kept; 401, 429 and server faults are not, so the sender's retry runs again.
STORED_STATUSES = {200, 400, 404}


def idempotency_claim(*, credential: Any, key: str, digest: str) -> IdempotencyKey:
    """Claim the key for the request with this digest, or raise IdempotentReplay (the first
    answer) or IdempotencyConflict (another request, or the first still in progress)."""
    try:
        with transaction.atomic():
            return IdempotencyKey.objects.create(
                credential=credential, key=key, request_hash=digest
            )
    except IntegrityError:
        pass
    record = IdempotencyKey.objects.filter(credential=credential, key=key).first()
    if record is None:  # released by a failed first call in the meantime
        return idempotency_claim(credential=credential, key=key, digest=digest)
    if record.status_code is None and record.created_at < timezone.now() - STALE_AFTER:
        # A key claimed without its answer (the families commit both with the write, in one
        # transaction; this is a claim left by an older release): run it again.
        IdempotencyKey.objects.filter(pk=record.pk, status_code__isnull=True).delete()
        return idempotency_claim(credential=credential, key=key, digest=digest)
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

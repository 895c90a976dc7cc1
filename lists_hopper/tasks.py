from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

from django.db import transaction
from django.utils import timezone
from django_tasks import task

from lists_hopper.models import HopperEntry, Upload, UploadStatus, WorkflowRule
from lists_hopper.services import (
    EXPIRY_BATCH,
    hopper_expire_due,
    webhook_attempt_record,
    webhook_payload,
    webhook_post,
)
from lists_hopper.uploads import (
    upload_confirm,
    upload_create,
    upload_process_batch,
    uploads_expired,
)

log = logging.getLogger(__name__)

WEBHOOK_MAX_ATTEMPTS = 5
# The wait before attempt 2, 3, 4 and 5.
WEBHOOK_BACKOFF_SECONDS = (30, 120, 600, 1800)


@task()
def expire_hopper_entries() -> int:
    """Remove live hopper entries past their expiry and fire the "Hopper Expire" workflow rules.

    Enqueued by the scheduler every 30 s. The webhook deliveries are enqueued in the same
    transaction as the expiry, so that with the database backend neither goes without the other.
    """
    total = 0
    while True:
        with transaction.atomic():
            count, deliveries = hopper_expire_due()
            for delivery in deliveries:
                deliver_hopper_webhook.enqueue(
                    rule_id=delivery.rule_id, entry_id=delivery.entry_id, attempt=1
                )
        total += count
        if count < EXPIRY_BATCH:
            return total


@task()
def deliver_hopper_webhook(rule_id: int, entry_id: int, attempt: int = 1) -> bool:
    """POST the expired entry's lead to the rule's webhook; on failure try again with back-off.

    Every attempt is an activity on the lead. Returns whether this attempt was delivered.
    """
    rule = WorkflowRule.objects.filter(pk=rule_id, is_active=True).first()
    entry = HopperEntry.objects.filter(pk=entry_id).first()
    if rule is None or entry is None or not rule.webhook_url:
        return False  # the rule was switched off or deleted since: nothing to deliver
    status, error = webhook_post(
        url=rule.webhook_url, payload=webhook_payload(rule=rule, entry=entry)
    )
    if not error and status is not None and not 200 <= status < 300:
        error = f"HTTP {status}"
    retry_at = None
    if error and attempt < WEBHOOK_MAX_ATTEMPTS:
        delay = WEBHOOK_BACKOFF_SECONDS[min(attempt, len(WEBHOOK_BACKOFF_SECONDS)) - 1]
        retry_at = timezone.now() + timedelta(seconds=delay)
    webhook_attempt_record(
        rule=rule,
        entry=entry,
        attempt=attempt,
        max_attempts=WEBHOOK_MAX_ATTEMPTS,
        status=status,
        error=error,
        retry_at=retry_at,
    )
    if retry_at is not None:
        again = deliver_hopper_webhook
        if again.get_backend().supports_defer:
            again = again.using(run_after=retry_at)
        else:
            log.info("task backend cannot defer: retrying the webhook for rule %s now", rule_id)
        again.enqueue(rule_id=rule_id, entry_id=entry_id, attempt=attempt + 1)
    return not error


# -- lead list uploads -------------------------------------------------------------------------


def upload_submit(**kwargs: Any) -> Upload:
    """upload_create, and the first batch queued in the same transaction (a draft waits)."""
    with transaction.atomic():
        upload = upload_create(**kwargs)
        if upload.status == UploadStatus.QUEUED:
            process_upload.enqueue(upload_id=upload.pk, checkpoint=0)
    return upload


def upload_start(*, upload: Upload, mapping: list[str]) -> Upload:
    """A draft's confirmed mapping, and its first batch queued."""
    with transaction.atomic():
        upload = upload_confirm(upload=upload, mapping=mapping)
        process_upload.enqueue(upload_id=upload.pk, checkpoint=0)
    return upload


@task()
def process_upload(upload_id: int, checkpoint: int) -> int | None:
    """One batch of an upload; the next batch is queued in the same transaction as this one's
    results (with the database backend both commit or neither)."""
    with transaction.atomic():
        after = upload_process_batch(upload_id=upload_id, checkpoint=checkpoint)
        if after is not None:
            process_upload.enqueue(upload_id=upload_id, checkpoint=after)
    return after


@task()
def sweep_uploads() -> int:
    """Queue again the uploads whose worker died mid-way (their lease ran out). Scheduled."""
    with transaction.atomic():
        due = uploads_expired()
        for upload_id, checkpoint in due:
            log.info("upload %s: lease expired at row %s, queued again", upload_id, checkpoint)
            process_upload.enqueue(upload_id=upload_id, checkpoint=checkpoint)
    return len(due)

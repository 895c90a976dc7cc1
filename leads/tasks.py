from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_tasks import task

from leads import capture_requests
from leads.models import IdempotencyKey


@task()
def prune_housekeeping() -> dict[str, int]:
    """Forget Idempotency-Keys after a day, and finished background-task results after a week
    (the scheduler alone adds thousands a day)."""
    now = timezone.now()
    keys, _ = IdempotencyKey.objects.filter(created_at__lt=now - timedelta(days=1)).delete()
    results = 0
    if settings.TASKS["default"]["BACKEND"] == "django_tasks_db.DatabaseBackend":
        from django_tasks_db.models import DBTaskResult

        results, _ = DBTaskResult.objects.filter(finished_at__lt=now - timedelta(days=7)).delete()
    return {"idempotency_keys": keys, "task_results": results}


@task()
def process_capture_request(request_id: str) -> str:
    """Run one async capture (POST /lead/capture) through the Lead.Capture pipeline."""
    return capture_requests.capture_request_process(request_id=request_id)


@task()
def sweep_capture_requests() -> dict[str, int]:
    """Re-enqueue async captures a lost task or a dead worker left behind (scheduled)."""
    return capture_requests.capture_requests_sweep()

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.utils import timezone
from django_tasks import task

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

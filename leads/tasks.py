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
def sweep_capture_requests() -> dict[str, int]:
    """Put back in the queue the async captures of workers that died, and clear the task rows
    they left RUNNING (scheduled every minute)."""
    from settings_global.workers import task_results_orphaned_clear

    swept = capture_requests.capture_requests_sweep()
    return {**swept, "orphaned_tasks": task_results_orphaned_clear()}


@task()
def analyze_intake_tables() -> list[str]:
    """Keep the planner's statistics of the intake tables fresh (scheduled every 15 s; see
    leads.statistics)."""
    from leads.statistics import intake_tables_analyze

    return intake_tables_analyze()

"""Which background worker processes are alive, so that what a dead one left behind is cleared.

A worker's id is `host-pid-nonce`. On this host the pid answers for it; a worker on another host
keeps a heartbeat key in the shared cache (Redis) while it runs.
"""

from __future__ import annotations

import os
import socket
from datetime import timedelta

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

HEARTBEAT_EVERY = 10  # seconds
HEARTBEAT_TTL = 60
# Without a shared cache a worker on another host cannot be seen: only a task that has run this
# long is taken for an orphan.
UNSEEN_AFTER = timedelta(hours=1)


def _key(worker_id: str) -> str:
    return f"worker-alive:{worker_id}"


def worker_heartbeat(worker_id: str) -> None:
    """Say that this worker is alive for the next minute (best effort: the cache may be down)."""
    try:
        cache.set(_key(worker_id), 1, HEARTBEAT_TTL)
    except Exception:  # noqa: BLE001 - a cache outage must not stop the worker
        pass


def _shared_cache() -> bool:
    return "redis" in settings.CACHES["default"]["BACKEND"].lower()


def worker_alive(worker_id: str) -> bool | None:
    """True or False when it can be told, None when it cannot (another host, no shared cache)."""
    host, _, rest = worker_id.rpartition("-")
    host, _, pid = host.rpartition("-")
    if host == socket.gethostname()[:40] and pid.isdigit():
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    if _shared_cache():
        try:
            return cache.get(_key(worker_id)) is not None
        except Exception:  # noqa: BLE001 - cannot tell while the cache is away
            return None
    return None


def task_results_orphaned_clear() -> int:
    """Mark FAILED the database backend's task rows left RUNNING by workers that are gone."""
    if settings.TASKS["default"]["BACKEND"] != "django_tasks_db.DatabaseBackend":
        return 0  # rq keeps its own registry of abandoned jobs
    from django_tasks_db.models import DBTaskResult

    now = timezone.now()
    cleared = 0
    for result in DBTaskResult.objects.running().only(
        "id", "status", "worker_ids", "started_at", "task_path"
    ):
        worker_id = (result.worker_ids or [""])[-1]
        alive = worker_alive(worker_id) if worker_id else False
        if alive is None:
            alive = result.started_at is not None and result.started_at > now - UNSEEN_AFTER
        if alive:
            continue
        # Only if it is still RUNNING: the worker may have finished it since we read it.
        cleared += DBTaskResult.objects.filter(pk=result.pk, status=result.status).update(
            status="FAILED",
            finished_at=now,
            exception_class_path="settings_global.workers.WorkerStopped",
            traceback=f"The worker {worker_id or '(unknown)'} stopped while running the task.",
        )
    return cleared

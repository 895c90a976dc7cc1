import logging
import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections, connection
from django.utils.module_loading import import_string

log = logging.getLogger(__name__)
RETRY_AFTER = 5  # seconds, after a job could not be enqueued


class Command(BaseCommand):
    help = "Enqueue the periodic jobs (settings.SCHEDULED_TASKS) on their intervals, forever."

    def add_arguments(self, parser):
        parser.add_argument("--once", action="store_true", help="enqueue every job once and exit")

    def handle(self, *args, once: bool = False, **options):
        jobs = [(import_string(path), path, every) for path, every in settings.SCHEDULED_TASKS]
        jobs.append((import_string("lists_hopper.tasks.sweep_uploads"), "uploads sweep", 15))
        due = {path: 0.0 for _, path, _ in jobs}
        stopping = False

        def stop(*_):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        while not stopping:
            now = time.monotonic()
            for task, path, every in jobs:
                if now >= due[path]:
                    due[path] = now + every
                    try:
                        task.enqueue()
                    except Exception as fault:  # noqa: BLE001 - an outage must not stop us
                        # The database or Redis is away: try again soon, not every second.
                        due[path] = now + min(every, RETRY_AFTER)
                        log.warning("could not enqueue %s: %r", path, fault)
            try:
                close_old_connections()  # drops a connection the outage broke
            except Exception:  # noqa: BLE001
                connection.close()
            if once:
                return
            time.sleep(1)

import logging
import signal
import time

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import close_old_connections
from django.utils.module_loading import import_string

log = logging.getLogger(__name__)


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
                    except Exception:  # the next round tries again; a DB blip must not kill us
                        log.exception("could not enqueue %s", path)
            close_old_connections()
            if once:
                return
            time.sleep(1)

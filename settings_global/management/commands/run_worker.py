"""The background worker: drains the async capture queue (the CaptureRequest table) in batches, and
runs the other background tasks of the configured TASKS_BACKEND (db or redis).

It outlives database and Redis outages: any failure is logged, the broken connection dropped, and
the loop goes on after a back-off. Only SIGTERM / SIGINT stop it.
"""

import logging
import signal
import threading
import time

from django.conf import settings
from django.core.management import call_command
from django.core.management.base import BaseCommand
from django.db import connection

from leads.capture_requests import capture_requests_due, drain_forever, worker_id_new
from leads.give_way import GiveWay
from settings_global.workers import HEARTBEAT_EVERY, worker_heartbeat

log = logging.getLogger(__name__)
MAX_BACKOFF = 10.0  # seconds: back within 10 s of the database


def _exit(*_):
    raise SystemExit(0)


def _already_stopping(*_):
    log.info("stopping: the running capture batch finishes first")


def _on_stop_signals(handler) -> None:
    """What SIGTERM and SIGINT do from now on (honcho and bin/forever send either, or both)."""
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, handler)


class Command(BaseCommand):
    help = "Run the background worker: the async capture drain and the TASKS_BACKEND's tasks."

    def add_arguments(self, parser):
        parser.add_argument(
            "--no-tasks",
            action="store_true",
            help="only drain the async capture queue (no TASKS_BACKEND worker)",
        )

    def handle(self, *args, no_tasks: bool = False, **options):
        worker_id = worker_id_new()
        stop = threading.Event()
        drain = threading.Thread(
            target=self._drain, args=(worker_id, stop), name="capture-drain", daemon=True
        )
        beat = threading.Thread(
            target=self._heartbeat, args=(worker_id, stop), name="heartbeat", daemon=True
        )
        drain.start()
        beat.start()
        log.info("worker %s started", worker_id)
        try:
            if no_tasks:
                self._wait_for_signal(stop)
            else:
                self._tasks_forever(worker_id, stop)
        finally:
            # From here on a signal only says "stop" again. honcho signals the whole process
            # group and bin/forever passes the signal on, so the worker gets it twice; the task
            # worker's own handler exits at the second, which killed the drain mid-batch and
            # left its claims In-Process until their lease ran out (30 s).
            _on_stop_signals(_already_stopping)
            stop.set()
            drain.join(60)  # let the running batch commit

    @staticmethod
    def _drain(worker_id: str, stop: threading.Event) -> None:
        try:
            drain_forever(
                worker_id=worker_id,
                stopping=stop.is_set,
                max_backoff=MAX_BACKOFF,
                give_way=GiveWay(
                    longest=settings.DRAIN_GIVE_WAY_SECONDS, pending=capture_requests_due
                ),
            )
        finally:
            connection.close()

    @staticmethod
    def _heartbeat(worker_id: str, stop: threading.Event) -> None:
        while not stop.is_set():
            worker_heartbeat(worker_id)
            stop.wait(HEARTBEAT_EVERY)

    @staticmethod
    def _wait_for_signal(stop: threading.Event) -> None:
        _on_stop_signals(lambda *_: stop.set())
        while not stop.is_set():
            stop.wait(1)

    def _tasks_forever(self, worker_id: str, stop: threading.Event) -> None:
        """The backend's own worker, restarted after any failure. It exits with SystemExit(0) or
        returns when told to stop (a signal); anything else is a fault to back off from."""
        failures = 0
        while not stop.is_set():
            # Between two runs of the backend's worker (which installs its own handlers), a
            # signal stops us at once, even in the back-off's sleep.
            _on_stop_signals(_exit)
            started = time.monotonic()
            try:
                self._tasks_once(worker_id)
                return  # stopped by a signal
            except SystemExit as exit_:
                if exit_.code in (0, None):
                    return
                fault: BaseException = exit_
            except Exception as error:  # noqa: BLE001 - the worker outlives any outage
                fault = error
            if time.monotonic() - started > 60:
                failures = 0  # it ran a good while: start the back-off over
            failures += 1
            wait = min(MAX_BACKOFF, 0.5 * 2 ** min(failures, 8))
            log.warning("task worker stopped (%r); restarting in %.1f s", fault, wait)
            connection.close()
            time.sleep(wait)

    @staticmethod
    def _tasks_once(worker_id: str) -> None:
        if settings.TASKS_BACKEND == "redis":
            call_command("rqworker", "default", with_scheduler=True)
        else:
            from django_tasks_db.management.commands.db_worker import Worker

            worker = Worker(
                queue_names=["default"],
                interval=0.5,
                batch=False,
                backend_name="default",
                startup_delay=False,
                max_tasks=None,
                worker_id=worker_id,
                excluded_queue_names=[],
            )
            worker.configure_signals()
            # Its own handler exits at once when idle and at a second signal; this one lets the
            # loop end after the running task, however many signals come.
            _on_stop_signals(lambda *_: setattr(worker, "running", False))
            worker.run()

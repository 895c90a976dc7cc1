"""gunicorn settings for the Procfile's web process (`gunicorn -c config/gunicorn.py`).

Bind, workers and threads stay on the command line (BIND, WEB_CONCURRENCY, WEB_THREADS); this file
adds what must hold in every deployment: an access log and an error log with no credential in them,
and a cap of a few connections per thread in each worker, so that a burst spreads over the workers.
"""

from __future__ import annotations

import logging

from gunicorn.glogging import Logger

from config.redact import RedactingFormatter

accesslog = "-"


class RedactingLogger(Logger):
    """gunicorn's logger, whose access and error lines pass through the credential redaction.

    The access log's request line carries the query string (secretKey, auth_token, apikey, ...),
    and an error line the request's URI: both are redacted after formatting, tracebacks included.
    """

    def _set_handler(self, log, output, fmt, stream=None):
        super()._set_handler(log, output, fmt, stream)
        for handler in log.handlers:
            formatter = handler.formatter or logging.Formatter()
            if not isinstance(formatter, RedactingFormatter):
                redacting = RedactingFormatter(formatter._fmt, formatter.datefmt)
                redacting._style = formatter._style
                handler.setFormatter(redacting)


logger_class = RedactingLogger


# Connections a worker holds per thread (unless --worker-connections says otherwise).
CONNECTIONS_PER_THREAD = 4


def post_fork(server, worker):
    """Each worker holds at most CONNECTIONS_PER_THREAD connections per thread (unless
    --worker-connections says otherwise). gthread's default (1,000) let the first worker to wake
    accept every keep-alive connection of a burst while the others sat idle: measured with
    16 wrk connections and 2 workers, one worker at 88% CPU, the other at 0%, 106 captures/s;
    capped, both busy and 150/s. A connection past the cap waits in the listen backlog for the
    next free worker. A worker's requests beyond its threads wait their turn in its queue rather
    than in more threads: threads of one process take turns on the GIL at every socket wait, and
    with 8 threads each serving a connection the tail grew (docs/performance.md, round five)."""
    setting = worker.cfg.settings["worker_connections"]
    if setting.value == setting.default and hasattr(worker, "worker_connections"):
        worker.worker_connections = max(1, worker.cfg.threads) * CONNECTIONS_PER_THREAD

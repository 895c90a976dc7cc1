"""gunicorn settings for the Procfile's web process (`gunicorn -c config/gunicorn.py`).

Bind, workers and threads stay on the command line (BIND, WEB_CONCURRENCY, WEB_THREADS); this file
adds what must hold in every deployment: an access log and an error log with no credential in them,
and, for threaded workers, a cap of a few connections per thread in each worker.

One thread a worker (the Procfile's default) is gunicorn's sync worker: a worker takes one
connection, answers one request on it, closes it (`Connection: close`) and takes the next, so
every request goes to whichever worker is free. Measured against 2 threads a worker (gthread, with
keep-alive), 16 connections, two alternating runs each: Lead.Capture 304-310 against 248-264/s,
p99 88-90 against 115-123 ms, 5.8-6.0 against 7.2-7.5 ms of the machine's CPU a capture; the
async accept 470-510 against 387-459/s, p99 68 against 97-119 ms. A gthread worker keeps the
keep-alive connections it accepted: 16 connections to 3 workers settled as 8, 6 and 2, and the
worker with 8 queued them behind its 2 threads while another had 2. Behind a proxy that buffers
requests (the usual deployment), a sync worker never waits on a slow client; serving slow clients
directly, or to keep connections alive, set WEB_THREADS to 2 or more (gthread).
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
    """A threaded (gthread) worker holds at most CONNECTIONS_PER_THREAD connections per thread
    (unless --worker-connections says otherwise). gthread's default (1,000) let the first worker
    to wake accept every keep-alive connection of a burst while the others sat idle: measured
    with 16 wrk connections and 2 workers, one worker at 88% CPU, the other at 0%, 106 captures/s;
    capped, both busy and 150/s. A connection past every worker's cap waits unread in the listen
    backlog until a worker closes one (an idle keep-alive connection after 2 s). A worker's
    requests beyond its threads wait their turn in its queue rather than in more threads:
    threads of one process take turns on the GIL at every socket wait, and with 8 threads each
    serving a connection the tail grew (docs/performance.md, round five)."""
    setting = worker.cfg.settings["worker_connections"]
    if setting.value == setting.default and hasattr(worker, "worker_connections"):
        worker.worker_connections = max(1, worker.cfg.threads) * CONNECTIONS_PER_THREAD

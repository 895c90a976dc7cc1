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
import traceback

from gunicorn.glogging import Logger, SafeAtoms

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

    def access(self, resp, req, environ, request_time):
        """gunicorn's access line, its atoms computed as the format asks for them."""
        if not self.access_log_enabled:
            return
        try:
            self.access_log.info(
                self.cfg.access_log_format, LazyAtoms(self, resp, req, environ, request_time)
            )
        except Exception:
            self.error(traceback.format_exc())


class LazyAtoms(dict):
    """gunicorn's SafeAtoms for one access line, each atom computed when the format asks for it.

    gunicorn builds all of them for every request (some sixty: every request and response
    header and every environ entry, each escaped) and the default format reads nine: 61 us a
    line, of which 25 us the atoms. The nine are computed here as gunicorn's Logger.atoms
    computes them; any other atom comes from gunicorn's own atoms, built on the first ask."""

    def __init__(self, logger, resp, req, environ, request_time):
        # Not empty: logging takes a lone non-empty mapping as the format's arguments.
        super().__init__(_="-")
        self.logger, self.resp, self.req = logger, resp, req
        self.environ, self.request_time = environ, request_time
        self.rest = None

    def __getitem__(self, key):
        environ = self.environ
        if key == "h":
            value = environ.get("REMOTE_ADDR", "-")
        elif key == "l":
            value = "-"
        elif key == "u":
            value = self.logger._get_user(environ) or "-"
        elif key == "t":
            value = self.logger.now()
        elif key == "r":
            value = f"{environ['REQUEST_METHOD']} {environ['RAW_URI']} {environ['SERVER_PROTOCOL']}"
        elif key == "s":
            value = self.resp.status
            if isinstance(value, str):
                value = value.split(None, 1)[0]
        elif key == "b":
            sent = getattr(self.resp, "sent", None)
            value = sent is not None and str(sent) or "-"
        elif key == "f":
            value = environ.get("HTTP_REFERER", "-")
        elif key == "a":
            value = environ.get("HTTP_USER_AGENT", "-")
        else:
            if self.rest is None:
                atoms = self.logger.atoms(self.resp, self.req, environ, self.request_time)
                self.rest = SafeAtoms(atoms)
            return self.rest[key]
        return value.replace('"', '\\"') if isinstance(value, str) else value  # as SafeAtoms


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

"""gunicorn settings for the Procfile's web process (`gunicorn -c config/gunicorn.py`).

Bind, workers and threads stay on the command line (BIND, WEB_CONCURRENCY, WEB_THREADS); this file
adds what must hold in every deployment: an access log and an error log with no credential in them.
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

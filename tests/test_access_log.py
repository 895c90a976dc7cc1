"""The access line's atoms, computed as the format asks for them, read as gunicorn's own do."""

from __future__ import annotations

import datetime as dt
import logging

import pytest
from gunicorn.config import Config
from gunicorn.glogging import Logger, SafeAtoms

from config.gunicorn import LazyAtoms, RedactingLogger


class _Response:
    status = "201 Created"
    sent = 61
    headers = [("Content-Type", "application/json"), ("X-Request-Id", "abc")]


class _Request:
    headers = [("HOST", "127.0.0.1:8000"), ("X-API-KEY", "k"), ("USER-AGENT", 'wrk "4"')]


ENVIRON = {
    "REQUEST_METHOD": "POST",
    "RAW_URI": "/lead/capture?accessKey=a&secretKey=s",
    "PATH_INFO": "/lead/capture",
    "QUERY_STRING": "accessKey=a&secretKey=s",
    "SERVER_PROTOCOL": "HTTP/1.1",
    "REMOTE_ADDR": "10.0.0.7",
    "HTTP_USER_AGENT": 'wrk "4"',
    "HTTP_AUTHORIZATION": "Basic dXNlcjpwdw==",
}
FORMATS = [
    Config().access_log_format,  # gunicorn's default
    '%(h)s %(u)s "%(r)s" %(s)s %(b)s %(m)s %(U)s %(q)s %(H)s %(B)s %(L)s %(p)s',
    '%({x-api-key}i)s %({content-type}o)s %({remote_addr}e)s %({missing}i)s %(nope)s "%(a)s"',
]


@pytest.mark.parametrize("fmt", FORMATS)
def test_lazy_atoms_format_as_gunicorns(fmt, monkeypatch):
    logger = Logger(Config())
    monkeypatch.setattr(logger, "now", lambda: "[24/Nov/2026:07:00:00 +0000]")
    elapsed = dt.timedelta(seconds=1, microseconds=2345)
    expected = fmt % SafeAtoms(logger.atoms(_Response, _Request, ENVIRON, elapsed))
    assert fmt % LazyAtoms(logger, _Response, _Request, ENVIRON, elapsed) == expected


def test_the_access_line_goes_out_redacted(monkeypatch):
    config = Config()
    config.set("accesslog", "-")
    logger = RedactingLogger(config)
    lines = []

    class Keep(logging.Handler):
        def emit(self, record):
            lines.append(self.format(record))

    handler = logger.access_log.handlers[0]
    keep = Keep()
    keep.setFormatter(handler.formatter)
    monkeypatch.setattr(logger.access_log, "handlers", [keep])
    logger.access(_Response, _Request, ENVIRON, dt.timedelta(milliseconds=3))
    assert len(lines) == 1
    request = '"POST /lead/capture?accessKey=[redacted]&secretKey=[redacted] HTTP/1.1"'
    assert f"{request} 201 61" in lines[0]
    assert "10.0.0.7 - user [" in lines[0]

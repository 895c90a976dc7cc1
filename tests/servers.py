"""The app under a real gunicorn, for the tests that need processes of their own (several
workers sharing Redis, a dropped database connection): on a free port, against the test database."""

from __future__ import annotations

import json
import os
import re
import shlex
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent


def procfile_command(name: str, env: dict[str, str]) -> list[str]:
    """A Procfile line's command, with ${VAR:-default} expanded as honcho's shell would."""
    line = next(
        line for line in (ROOT / "Procfile").read_text().splitlines() if line.startswith(f"{name}:")
    )
    command = line.split(":", 1)[1]
    command = re.sub(r"\$\{(\w+):-([^}]*)\}", lambda m: env.get(m[1]) or m[2], command)
    return shlex.split(command)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_port(port: int, *, timeout: float = 30) -> None:
    """Until something listens on the port; the test fails when nothing does in time."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            if time.monotonic() > deadline:
                pytest.fail(f"nothing listened on port {port} within {timeout:.0f} s")
            time.sleep(0.2)


def test_database_env() -> dict[str, str]:
    """The environment that points a child process at this test run's database and Redis."""
    db = connection.settings_dict
    return {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
        f"{db['NAME']}",
        "REDIS_URL": settings.REDIS_URL,
    }


@contextmanager
def gunicorn(
    *, workers: int = 1, threads: int = 1, env: dict[str, str] | None = None
) -> Iterator[int]:
    """gunicorn serving the app on the test database; yields its port, stops it at the end."""
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
        ],
        cwd=ROOT,
        env={**test_database_env(), **(env or {})},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port)
        yield port
    finally:
        server.terminate()
        server.wait(10)


def post(url: str, body: list) -> int:
    """POST a JSON body on a fresh connection; the status code."""
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code

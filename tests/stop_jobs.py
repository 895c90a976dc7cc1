"""A job for the RQ case of tests/test_worker_stop.py: it marks its start, sleeps, marks its end."""

from __future__ import annotations

import time
from pathlib import Path


def slow_job(marker: str, seconds: float) -> None:
    Path(f"{marker}.started").touch()
    time.sleep(seconds)
    Path(f"{marker}.done").touch()

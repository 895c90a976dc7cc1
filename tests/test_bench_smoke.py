"""`make bench` in smoke mode: every scenario runs end to end without an error (no timing)."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlparse, urlunparse

import pytest
from django.conf import settings
from django.db import connection

from tests.helpers import ON_POSTGRES

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not (ON_POSTGRES and settings.REDIS_URL),
        reason="needs PostgreSQL and Redis (DATABASE_URL and REDIS_URL)",
    ),
    pytest.mark.skipif(not shutil.which("wrk"), reason="needs wrk (apt-get install wrk)"),
]

ROOT = Path(__file__).resolve().parent.parent


def test_bench_smoke_runs_every_scenario_without_errors(tmp_path):
    db = connection.settings_dict
    redis = urlparse(settings.REDIS_URL)
    own_db = int(redis.path.strip("/") or 0)
    # A Redis database of its own: the harness flushes it.
    bench_redis = urlunparse(redis._replace(path=f"/{14 if own_db != 14 else 13}"))
    results = tmp_path / "results.json"
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/"
        "postgres",
        "BENCH_REDIS_URL": bench_redis,
    }
    done = subprocess.run(
        [
            sys.executable,
            "bench/run.py",
            "--smoke",
            "--database",
            f"{db['NAME']}_smoke",
            "--results",
            str(results),
        ],
        cwd=ROOT,
        env=env,
        timeout=300,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    report = json.loads(results.read_text())
    rows = report["rows"]
    assert {row["scenario"] for row in rows} >= {"B0", "B1", "B2", "B3", "B4"}
    paths = {row["path"] for row in rows}
    assert {"Lead.Capture", "Lead.Create", "/api/v1/contactform/"} <= paths
    assert "async drain, one worker" in paths
    assert [row for row in rows if row["errors"]] == []
    assert all(row["requests"] > 0 for row in rows if row["scenario"] != "staff")
    assert all(row["ratio_to_b0"] > 0 for row in rows if row["scenario"] in {"B1", "B2"})

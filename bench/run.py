"""Benchmark harness (`make bench`): server and load in one run, on this machine.

Starts gunicorn on a database of its own, fires Lead.Capture calls from several client processes
over keep-alive connections, and prints throughput and latency percentiles. On PostgreSQL it also
runs the same database work through raw psycopg (lock, candidate lookup, insert lead, insert
activity, one transaction per capture), the physical limit the API is quoted against.

    make bench                                   # SQLite under var/, no server needed
    DATABASE_URL=postgres://postgres@127.0.0.1/bench REDIS_URL=redis://127.0.0.1:6379/9 make bench

Figures vary with the machine's load: quote ratios measured in one run.
"""

from __future__ import annotations

import http.client
import json
import multiprocessing
import os
import socket
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlparse

ROOT = Path(__file__).resolve().parent.parent
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "3000"))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", "16"))
WORKERS = os.environ.get("BENCH_WEB_WORKERS")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def bench_env() -> dict[str, str]:
    env = dict(os.environ)
    if not env.get("DATABASE_URL"):
        (ROOT / "var").mkdir(exist_ok=True)
        path = ROOT / "var" / "bench.sqlite3"
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        env["DATABASE_URL"] = f"sqlite:///{path}"
    return env


def setup(env: dict[str, str]) -> dict[str, str]:
    python = sys.executable
    subprocess.run([python, "manage.py", "migrate", "-v0"], cwd=ROOT, env=env, check=True)
    script = (
        "import json, uuid\n"
        "from settings_global.services import api_user_create, global_settings_update\n"
        "global_settings_update(changes={'rate_limit_calls': 1000000}, user=None, via='bench')\n"
        "issued = api_user_create(name='bench-' + uuid.uuid4().hex[:8])\n"
        "print(json.dumps(issued.as_dict()))\n"
    )
    out = subprocess.run(
        [python, "manage.py", "shell", "-c", script],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def client(args: tuple[int, str, int, int]) -> list[float]:
    port, path, start, count = args
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    latencies = []
    for i in range(start, start + count):
        # Two calls in three create a lead; the third updates the lead made just before.
        n = i - (i % 3 == 2)
        body = json.dumps(
            [
                {"Attribute": "FirstName", "Value": f"Bench{i}"},
                {"Attribute": "EmailAddress", "Value": f"bench{n}@example.com"},
                {"Attribute": "Phone", "Value": f"+1201{5550000 + n % 9000000:07d}"},
                {"Attribute": "Source", "Value": "Bench"},
            ]
        )
        t0 = time.perf_counter()
        conn.request("POST", path, body, {"Content-Type": "application/json"})
        response = conn.getresponse()
        response.read()
        latencies.append(time.perf_counter() - t0)
        if response.status != 200:
            raise SystemExit(f"capture failed with {response.status}")
    conn.close()
    return latencies


def run_load(port: int, keys: dict[str, str]) -> tuple[float, list[float]]:
    path = (
        "/v2/LeadManagement.svc/Lead.Capture"
        f"?accessKey={keys['access_key']}&secretKey={keys['secret_key']}"
    )
    per = REQUESTS // CLIENTS
    jobs = [(port, path, c * per, per) for c in range(CLIENTS)]
    with multiprocessing.Pool(CLIENTS) as pool:
        t0 = time.perf_counter()
        results = pool.map(client, jobs)
        elapsed = time.perf_counter() - t0
    return elapsed, [x for r in results for x in r]


def raw_psycopg(database_url: str) -> tuple[float, list[float]] | None:
    """The same database work per capture, with nothing but psycopg."""
    if urlparse(database_url).scheme not in {"postgres", "postgresql"}:
        return None
    per = REQUESTS // CLIENTS
    with multiprocessing.Pool(CLIENTS) as pool:
        t0 = time.perf_counter()
        results = pool.map(_raw_worker, [(database_url, c * per, per) for c in range(CLIENTS)])
        elapsed = time.perf_counter() - t0
    return elapsed, [x for r in results for x in r]


def _raw_worker(args: tuple[str, int, int]) -> list[float]:
    import psycopg

    url, start, count = args
    latencies = []
    with psycopg.connect(url) as conn:
        for i in range(start, start + count):
            email, phone = f"raw{i}@example.com", f"+1301{5550000 + i % 9000000:07d}"
            t0 = time.perf_counter()
            with conn.transaction():
                conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [email])
                rows = conn.execute(
                    "SELECT id FROM leads_lead "
                    "WHERE email_normalized = %s OR phone_normalized = %s",
                    [email, phone],
                ).fetchall()
                lead_id = rows[0][0] if rows else uuid.uuid4()
                if not rows:
                    conn.execute(
                        "INSERT INTO leads_lead (id, first_name, last_name, contact_name, email, "
                        "email_normalized, phone, phone_normalized, phone_code, mobile, alt_phone, "
                        "company, job_title, address1, address2, city, state, postal_code, "
                        "country, website, notes, source, source_medium, source_campaign, "
                        "source_content, source_referrer, status, custom_fields, "
                        "custom_field_sets, created_at, updated_at) VALUES (%s, %s, '', %s, %s, "
                        "%s, %s, %s, '', '', '', '', '', '', '', '', '', '', '', '', '', 'Bench', "
                        "'', '', '', '', 'New', '{}', '{}', now(), now())",
                        [lead_id, f"Raw{i}", f"Raw{i}", email, email, phone, phone],
                    )
                conn.execute(
                    "INSERT INTO leads_activity (id, lead_id, type, note, data, created_at) "
                    "VALUES (%s, %s, 'lead_capture', '', '{}', now())",
                    [uuid.uuid4(), lead_id],
                )
            latencies.append(time.perf_counter() - t0)
    return latencies


def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000


def main() -> None:
    env = bench_env()
    keys = setup(env)
    port = free_port()
    on_sqlite = env["DATABASE_URL"].startswith("sqlite")
    workers = WORKERS or ("1" if on_sqlite or not env.get("REDIS_URL") else "2")
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            workers,
            "--threads",
            "4",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        elapsed, latencies = run_load(port, keys)
    finally:
        server.terminate()
        server.wait(10)
    rows = [("Lead.Capture via HTTP", elapsed, latencies)]
    raw = raw_psycopg(env["DATABASE_URL"])
    if raw is not None:
        rows.append(("same DB work, raw psycopg", *raw))
    db = "SQLite" if on_sqlite else "PostgreSQL"
    print(
        f"\n{REQUESTS} captures, {CLIENTS} clients, gunicorn {workers} worker(s) x 4 threads, {db}"
    )
    print(f"{'what':<28}{'per s':>10}{'p50 ms':>10}{'p99 ms':>10}{'mean ms':>10}")
    for name, seconds, values in rows:
        rate = len(values) / seconds
        print(
            f"{name:<28}{rate:>10.0f}{pct(values, 0.5):>10.1f}{pct(values, 0.99):>10.1f}"
            f"{statistics.mean(values) * 1000:>10.1f}"
        )
    if raw is not None:
        ratio = (len(latencies) / elapsed) / (len(raw[1]) / raw[0])
        print(f"ratio HTTP / raw throughput: {ratio:.2f}")


if __name__ == "__main__":
    main()

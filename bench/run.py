"""Benchmark harness (`make bench`): server and load in one run, on this machine.

Creates a scratch PostgreSQL database, starts web (gunicorn), worker and scheduler as the Procfile
runs them, drives load with wrk (bench/wrk/post.lua makes every body unique) and prints one table:

    B0  raw psycopg doing the same database work (the physical limit every row is a ratio to)
    B1  Lead.Capture, Lead.Create, the Convoso insert (check_dup=1, check_dnc=1), the contact form
    B2  bulk create-or-update, 25 rows a call (leads/s)
    B3  async accept (POST /lead/capture) and async drain by one worker process (requests/s)
    B4  capture p99 and LeadsMetaData.Get at two sizes (seeded by COPY), then bench/staff_reads.py

Beside each rate, "CPU ms": the machine's CPU spent per request (per lead for bulk) during that
run, by gunicorn, worker, scheduler, PostgreSQL and Redis (B0: its own clients and PostgreSQL),
not wrk (bench/cpu.py). It moves far less between runs than the rates do.

    make bench                          # everything, B4 at 10,000 and 1,000,000 leads
    make bench BENCH_ARGS="--quick"     # shorter runs, B4 at 1,000 and 10,000
    python bench/run.py --smoke         # a few seconds, tiny sizes (CI)
    python bench/run.py --only B1,B3 --duration 20 --web-workers 3

Needs DATABASE_URL's server (PostgreSQL) and Redis (BENCH_REDIS_URL, else database 13 on
REDIS_URL's server or 127.0.0.1:6379; that Redis database is flushed). Figures vary with the
machine's load: quote ratios measured in one run.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import multiprocessing
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))  # the project, for its ids

import cpu  # noqa: E402
from seed import insert_sql, seed_leads  # noqa: E402

from leads.ids import new_id  # noqa: E402  (the application's own keys: version 7 UUIDs)

ROOT = Path(__file__).resolve().parent.parent
LUA = ROOT / "bench" / "wrk" / "post.lua"
RESULTS = ROOT / "bench" / "results.json"
SCENARIOS = ["B0", "B1", "B2", "B3", "B4", "staff"]
START_PG = "pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start"
START_REDIS = (
    'redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" '
    "--appendonly no --dir /var/lib/redis --logfile /var/log/redis/ci.log"
)
LS = "/v2/LeadManagement.svc/"


# --- options ---------------------------------------------------------------------------------


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--quick", action="store_true", help="5 s runs, B4 at 1,000 and 10,000")
    mode.add_argument("--smoke", action="store_true", help="1 s runs, tiny sizes (CI)")
    p.add_argument("--only", default=os.environ.get("BENCH_ONLY", ""), help="e.g. B0,B1,B3")
    p.add_argument("--duration", type=float, default=float(os.environ.get("BENCH_DURATION", 0)))
    p.add_argument("--sizes", default=os.environ.get("BENCH_SIZES", ""), help="B4, e.g. 10000,1e6")
    p.add_argument("--connections", type=int, default=int(os.environ.get("BENCH_CONNECTIONS", 16)))
    p.add_argument("--web-workers", default=os.environ.get("BENCH_WEB_WORKERS", "3"))
    p.add_argument("--web-threads", default=os.environ.get("BENCH_WEB_THREADS", "1"))
    p.add_argument(
        "--drain",
        type=int,
        default=int(os.environ.get("BENCH_DRAIN", 0)),
        help="async requests to drain in B3 (at least what accept left queued); -1 skips",
    )
    p.add_argument("--database", default=os.environ.get("BENCH_DATABASE", ""))
    p.add_argument("--results", default=os.environ.get("BENCH_RESULTS", str(RESULTS)))
    p.add_argument("--keep-db", action="store_true", help="keep the scratch database")
    args = p.parse_args(argv)
    if args.smoke:
        args.duration = args.duration or 1
        sizes, drain = "100,300", 20
        if "BENCH_CONNECTIONS" not in os.environ and args.connections == 16:
            args.connections = 2  # a smoke proves the paths work; few requests drain fast
    elif args.quick:
        args.duration = args.duration or 5
        sizes, drain = "1000,10000", 1000
    else:
        args.duration = args.duration or 10
        sizes, drain = "10000,1000000", 3000
    args.sizes = [int(float(s)) for s in (args.sizes or sizes).split(",") if s]
    args.drain = args.drain or drain
    args.only = [s.strip() for s in args.only.split(",") if s.strip()] or SCENARIOS
    unknown = set(args.only) - set(SCENARIOS)
    if unknown:
        p.error(f"unknown scenarios {sorted(unknown)}; pick from {SCENARIOS}")
    return args


# --- servers ---------------------------------------------------------------------------------


_T0 = time.monotonic()


def log(message: str) -> None:
    if os.environ.get("BENCH_VERBOSE"):
        print(f"[{time.monotonic() - _T0:6.1f} s] {message}", file=sys.stderr, flush=True)


def with_db(url: str, name: str) -> str:
    return urlunparse(urlparse(url)._replace(path="/" + name))


def check_servers(database_url: str, redis_url: str) -> None:
    import psycopg
    import redis

    problems = []
    try:
        psycopg.connect(with_db(database_url, "postgres"), connect_timeout=3).close()
    except psycopg.Error as exc:
        problems.append(f"PostgreSQL is not reachable ({exc}). Start it:\n  {START_PG}")
    try:
        redis.Redis.from_url(redis_url, socket_timeout=3).ping()
    except redis.RedisError as exc:
        problems.append(f"Redis is not reachable ({exc}). Start it:\n  {START_REDIS}")
    if not shutil.which("wrk"):
        problems.append("wrk is not installed:\n  apt-get install -y wrk")
    if problems:
        raise SystemExit("\n".join(problems))


def create_scratch(server_url: str, name: str) -> str:
    import psycopg

    with psycopg.connect(with_db(server_url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    return with_db(server_url, name)


def drop_scratch(server_url: str, name: str) -> None:
    import psycopg

    with psycopg.connect(with_db(server_url, "postgres"), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def manage(env: dict[str, str], *args: str, capture: bool = False) -> str:
    out = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=capture,
        text=True,
    )
    return out.stdout or ""


SETUP = """
import json
from settings_global.services import api_user_create, global_settings_update
from lists_hopper.services import campaign_create, list_create
global_settings_update(changes={'rate_limit_calls': 1000000000}, user=None, via='bench')
issued = api_user_create(name='bench')
campaign = campaign_create(name='Bench')
lst = list_create(name='Bench', campaign=campaign)
print('BENCH_SETUP ' + json.dumps({**issued.as_dict(), 'list_id': lst.pk}))
"""


def setup(env: dict[str, str]) -> dict[str, str]:
    manage(env, "migrate", "-v0")
    out = manage(env, "shell", "-c", SETUP, capture=True)
    line = next(x for x in out.splitlines() if x.startswith("BENCH_SETUP "))
    return json.loads(line.removeprefix("BENCH_SETUP "))


def procfile() -> dict[str, str]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return dict(line.split(":", 1) for line in lines if ":" in line and not line.startswith("#"))


class Procs:
    """web, worker and scheduler, started from the Procfile's own command lines."""

    def __init__(self, env: dict[str, str], port: int) -> None:
        self.env, self.port, self.procs = env, port, {}
        self.lines = procfile()

    def start(self, name: str) -> None:
        self.procs[name] = subprocess.Popen(
            ["bash", "-c", "exec " + self.lines[name].strip()],
            cwd=ROOT,
            env=self.env,
            stdout=subprocess.DEVNULL,
            stderr=None if os.environ.get("BENCH_VERBOSE") else subprocess.DEVNULL,
            start_new_session=True,
        )
        if name == "web":
            deadline = time.monotonic() + 60
            while True:
                try:
                    socket.create_connection(("127.0.0.1", self.port), timeout=1).close()
                    break
                except OSError:
                    if time.monotonic() > deadline or self.procs[name].poll() is not None:
                        raise SystemExit("gunicorn did not start") from None
                    time.sleep(0.2)

    def stop(self, name: str) -> None:
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        t0 = time.monotonic()
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)
        except ProcessLookupError:
            pass
        log(f"stopped {name} in {time.monotonic() - t0:.1f} s")

    def sessions(self) -> dict[int, str]:
        """Each running process's session id (it leads its own), for the CPU meter."""
        return {proc.pid: name for name, proc in self.procs.items()}

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.stop(name)


# --- wrk -------------------------------------------------------------------------------------

_base = [0]


def wrk(port: int, path: str, kind: str, args: argparse.Namespace, **extra: str) -> dict:
    _base[0] += 1
    env = {
        **os.environ,
        "BENCH_KIND": kind,
        "BENCH_PATH": path,
        "BENCH_BASE": str(_base[0] * 100_000_000),
        **extra,
    }
    threads = min(2, args.connections)
    cmd = [
        "wrk",
        f"-t{threads}",
        f"-c{args.connections}",
        f"-d{max(1, round(args.duration))}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        f"http://127.0.0.1:{port}",
    ]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout
    line = next(x for x in out.splitlines() if x.startswith("BENCH_RESULT "))
    r = json.loads(line.removeprefix("BENCH_RESULT "))
    seconds = r["duration_us"] / 1e6
    return {
        "requests": r["requests"],
        "rate": r["requests"] / seconds if seconds else 0.0,
        "p50_ms": r["p50_us"] / 1000,
        "p99_ms": r["p99_us"] / 1000,
        "errors": r["status_errors"] + r["socket_errors"],
    }


# --- B0: raw psycopg -------------------------------------------------------------------------

B0_CLIENTS = 8


def _b0_worker(job: tuple[str, str, int, float]) -> tuple[int, list[float]]:
    import psycopg

    url, kind, worker, seconds = job
    latencies: list[float] = []
    rows = 0
    with psycopg.connect(url) as conn:
        lead_sql = insert_sql(
            conn,
            "leads_lead",
            [
                "id",
                "first_name",
                "email",
                "email_normalized",
                "phone",
                "phone_normalized",
                "source",
                "status",
                "custom_fields",
                "created_at",
                "updated_at",
            ],
        )
        activity_sql = insert_sql(conn, "leads_activity", ["id", "lead_id", "type", "created_at"])
        request_sql = insert_sql(
            conn,
            "leads_capturerequest",
            ["id", "body", "query", "status", "attempts", "created_at", "updated_at"],
        )
        lead_sql, activity_sql = _with_now(lead_sql, 2), _with_now(activity_sql, 1)
        request_sql = _with_now(request_sql, 2)
        lead_many = _unnest(lead_sql, ["uuid", *["text"] * 7, "jsonb"])
        activity_many = _unnest(activity_sql, ["uuid", "uuid", "text"])
        conn.commit()
        body = json.dumps([{"Attribute": "FirstName", "Value": "Raw"}])
        n = worker * 100_000_000
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            t0 = time.perf_counter()
            batch = 25 if kind == "bulk" else 1
            idents = []
            for _ in range(batch):
                n += 1
                idents.append((f"raw{n}@raw.example.com", f"+1{4000000000 + n}"))
            with conn.transaction():
                if kind == "insert":
                    # Finished, so that the worker and the drain measurement ignore these rows.
                    conn.execute(request_sql, [new_id(), body, "{}", "Success", 0])
                else:
                    conn.execute(
                        "SELECT pg_advisory_xact_lock(hashtext(k)) FROM unnest(%s::text[]) k "
                        "ORDER BY k",
                        [sorted(e for e, _ in idents)],
                    )
                    found = conn.execute(
                        "SELECT id, email_normalized, phone_normalized FROM leads_lead "
                        "WHERE email_normalized = ANY(%s) OR phone_normalized = ANY(%s)",
                        [[e for e, _ in idents], [p for _, p in idents]],
                    ).fetchall()
                    known = {e: i for i, e, _ in found} | {p: i for i, _, p in found}
                    leads, activities = [], []
                    for email, phone in idents:
                        lead_id = known.get(email) or known.get(phone)
                        if lead_id is None:
                            lead_id = new_id()
                            leads.append(
                                [lead_id, "Raw", email, email, phone, phone, "Raw", "New", "{}"]
                            )
                        activities.append([new_id(), lead_id, "lead_capture"])
                    with conn.cursor() as cur:
                        # One statement per table for all rows, their values as arrays.
                        if leads:
                            cur.execute(lead_many, [list(col) for col in zip(*leads, strict=True)])
                        cur.execute(
                            activity_many, [list(col) for col in zip(*activities, strict=True)]
                        )
            latencies.append(time.perf_counter() - t0)
            rows += batch
    return rows, latencies


def _unnest(sql: str, types: list[str]) -> str:
    """INSERT ... VALUES (%s, ...) as INSERT ... SELECT FROM unnest(arrays): many rows at once."""
    head, _, tail = sql.partition(" VALUES (")
    values, n = [], 0
    for value in tail[:-1].split(", "):
        if value == "%s":
            values.append(f"u.c{n}::{types[n]}")
            n += 1
        else:
            values.append(value)
    arrays = ", ".join("%s::text[]" for _ in range(n))
    names = ", ".join(f"c{i}" for i in range(n))
    return f"{head} SELECT {', '.join(values)} FROM unnest({arrays}) AS u({names})"


def _with_now(sql: str, count: int) -> str:
    """Turn the last `count` %s placeholders into now() (the timestamp columns)."""
    head, _, tail = sql.partition(" VALUES (")
    values = tail[:-1].split(", ")
    idx = [i for i, v in enumerate(values) if v == "%s"][-count:]
    for i in idx:
        values[i] = "now()"
    return f"{head} VALUES ({', '.join(values)})"


def b0(url: str, kind: str, seconds: float) -> dict:
    jobs = [(url, kind, w + 1, seconds) for w in range(B0_CLIENTS)]
    # fork: no connection is open in this process here, and spawn costs seconds under load.
    with multiprocessing.get_context("fork").Pool(B0_CLIENTS) as pool:
        t0 = time.perf_counter()
        results = pool.map(_b0_worker, jobs)
        elapsed = time.perf_counter() - t0
    latencies = sorted(x for _, r in results for x in r)
    rows = sum(r for r, _ in results)
    # Measured from the first to the last transaction of the slowest client, not pool start-up.
    return {
        "requests": len(latencies),
        "rate": rows / min(elapsed, seconds * 1.05),
        "p50_ms": pct(latencies, 0.5),
        "p99_ms": pct(latencies, 0.99),
        "errors": 0,
    }


def settle(url: str, after: str) -> None:
    """B0 adds some 100,000 leads in seconds, B4's seeding up to a million: autovacuum would
    vacuum and analyze the tables within a minute (its naptime), and a checkpoint write out what
    they dirtied, while the next run measures. Do what they would, now, so that each run measures
    the path and not the previous run's upkeep."""
    import psycopg

    t0 = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        for table in ("leads_lead", "leads_activity", "leads_capturerequest"):
            conn.execute(f"VACUUM ANALYZE {table}")
        try:
            conn.execute("CHECKPOINT")
        except psycopg.errors.InsufficientPrivilege:
            log("CHECKPOINT needs a superuser (or pg_checkpoint): skipped")
    log(f"vacuumed, analyzed and checkpointed after {after} in {time.perf_counter() - t0:.1f} s")


def pct(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * p))] * 1000


# --- B3 drain, B4 helpers ----------------------------------------------------------------------

PENDING = "SELECT count(*) FROM leads_capturerequest WHERE status IN ('In-Queue', 'In-Process')"


def caught_up(url: str, limit: float = 120) -> dict:
    """Right after an accept run: what the worker left pending (it gives way to a busy host for a
    while: leads/give_way.py), and how long it then took to drain it."""
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        t0 = time.perf_counter()
        backlog = pending = conn.execute(PENDING).fetchone()[0]
        while pending and time.perf_counter() - t0 < limit:
            time.sleep(0.05)
            pending = conn.execute(PENDING).fetchone()[0]
        seconds = time.perf_counter() - t0
    done = f"none pending {seconds:.1f} s later" if not pending else f"{pending} after {limit:g} s"
    return {
        "backlog": backlog,
        "caught_up_s": None if pending else round(seconds, 2),
        "note": f"{backlog} requests pending at the end of the run, {done}",
    }


def drain(procs: Procs, url: str, port: int, path: str, args: argparse.Namespace, keys) -> dict:
    """Stop the worker, enqueue a burst, start one worker process, time until none is pending."""
    import psycopg

    procs.stop("worker")
    with psycopg.connect(url, autocommit=True) as conn:
        before = conn.execute(PENDING).fetchone()[0]
        saved = args.duration
        while conn.execute(PENDING).fetchone()[0] < args.drain:
            args.duration = 1
            wrk(port, path, "async", args, BENCH_API_KEY=keys["api_key"])
        args.duration = saved
        total = conn.execute(PENDING).fetchone()[0]
        # Claimed by the stopped worker and not finished: their lease (30 s) must run out first.
        held = conn.execute(
            "SELECT count(*) FROM leads_capturerequest WHERE status = 'In-Process'"
        ).fetchone()[0]
        procs.start("worker")
        t0 = None
        deadline = time.monotonic() + max(120, total / 5)
        progress: list[int] = []  # pending, once a second from the first drained request
        while True:
            pending = conn.execute(PENDING).fetchone()[0]
            now = time.perf_counter()
            if t0 is not None and now - t0 >= len(progress):
                progress.append(pending)
            if t0 is None and pending < total:
                t0 = now
                # From the first drained request: not the worker's start-up (imports).
                cpu_before, drained_before = cpu.snapshot(procs.sessions()), total - pending
            if pending == 0:
                break
            if time.monotonic() > deadline:
                break
            time.sleep(0.02)
        cpu_after = cpu.snapshot(procs.sessions())
        failed = conn.execute(
            "SELECT count(*) FROM leads_capturerequest WHERE status IN ('FAILURE', 'ERROR')"
        ).fetchone()[0]
    done = total - pending
    seconds = (now - t0) if t0 else 0.0
    costs = cpu.spent(cpu_before, cpu_after, done - drained_before) if t0 else {}
    return {
        **costs,
        "requests": done,
        "rate": done / seconds if seconds else 0.0,
        "p50_ms": None,
        "p99_ms": None,
        "errors": failed + pending,
        "note": f"{total} queued ({before} left from accept, {held} of them In-Process), "
        "one worker process",
        "pending_each_second": progress,
    }


def lead_count(url: str) -> int:
    import psycopg

    with psycopg.connect(url) as conn:
        return conn.execute("SELECT count(*) FROM leads_lead").fetchone()[0]


def seed_to(env: dict[str, str], url: str, target: int) -> str:
    """COPY leads in until the table holds target: manage.py seed_leads if the tree has it."""
    missing = target - lead_count(url)
    if missing <= 0:
        return "none"
    if (ROOT / "leads" / "management" / "commands" / "seed_leads.py").exists():
        manage(env, "seed_leads", "--count", str(missing), capture=True)
        return "manage.py seed_leads"
    seed_leads(url, missing, start=lead_count(url) * 7 + 1)
    return "bench/seed.py"


def timed_get(port: int, path: str, tries: int = 5) -> dict:
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    times, errors = [], 0
    for _ in range(tries):
        t0 = time.perf_counter()
        conn.request("GET", path)
        response = conn.getresponse()
        response.read()
        times.append(time.perf_counter() - t0)
        errors += response.status != 200
    conn.close()
    median = statistics.median(times)
    return {
        "requests": tries,
        "rate": 1 / median if median else 0.0,
        "p50_ms": median * 1000,
        "p99_ms": max(times) * 1000,
        "errors": errors,
    }


def staff_reads(ctx: dict) -> list[dict]:
    """The staff reads of bench/staff_reads.py (admin lists, searches, filters, the native API,
    the log, LeadsMetaData.Get) on the leads the scratch database already holds, topped up to
    the largest size asked for; one row per read."""
    path = ROOT / "bench" / "staff_reads.py"
    spec = importlib.util.spec_from_file_location("bench_staff_reads", path)
    module = importlib.util.module_from_spec(spec)
    count = max([*ctx["sizes"], ctx["lead_count"]])
    try:
        spec.loader.exec_module(module)
        figures = module.run(ctx["database_url"], count=count, repeat=1 if ctx["smoke"] else 5)
    except Exception as exc:  # a broken scenario is a row with an error, not a lost run
        return [{"scenario": "staff", "path": "staff reads", "errors": 1, "note": repr(exc)}]
    rows = []
    for read, row in figures.items():
        rows.append(
            {
                "scenario": "staff",
                "path": f"{read} @{count:,} leads",
                "rate": 1000 / row["median_ms"] if row.get("median_ms") else 0.0,
                "p50_ms": row.get("median_ms"),
                "p99_ms": row.get("max_ms"),
                "errors": 0 if row.get("status") == 200 else 1,
                "note": "median and max of the timed requests",
            }
        )
    return rows


# --- the run -----------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> dict:
    args = parse_args(argv)
    server_url = os.environ.get("DATABASE_URL") or "postgres://postgres@127.0.0.1:5432/postgres"
    if urlparse(server_url).scheme not in {"postgres", "postgresql"}:
        raise SystemExit("make bench needs PostgreSQL: set DATABASE_URL=postgres://...")
    # A Redis database of its own (it is flushed): never the one REDIS_URL's tests or server use.
    redis_url = os.environ.get("BENCH_REDIS_URL") or urlunparse(
        urlparse(os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379")._replace(path="/13")
    )
    check_servers(server_url, redis_url)
    import redis

    redis.Redis.from_url(redis_url).flushdb()
    name = args.database or (urlparse(server_url).path.strip("/") or "leadintake") + "_bench"
    url = create_scratch(server_url, name)
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "REDIS_URL": redis_url,
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": str(args.web_workers),
        "WEB_THREADS": str(args.web_threads),
        "DEBUG": "false",
    }
    keys = setup(env)
    log("migrated and set up")
    q = f"accessKey={keys['access_key']}&secretKey={keys['secret_key']}"
    paths = {
        "capture": f"{LS}Lead.Capture?{q}",
        "create": f"{LS}Lead.Create?{q}",
        "convoso": f"/v1/leads/insert?auth_token={keys['auth_token']}&list_id={keys['list_id']}"
        "&check_dup=1&check_dnc=1",
        "contact": f"/api/v1/contactform/?apikey={keys['aninja_apikey']}",
        "bulk": f"{LS}Lead/Bulk/CreateOrUpdate?{q}",
        "async": f"/lead/capture?{q}",
        "meta": f"{LS}LeadsMetaData.Get?{q}",
    }
    procs = Procs(env, port)
    rows: list[dict] = []
    b0_rates: dict[str, float] = {}

    def metered(run, per_request: int = 1, reaped: str = cpu.LOAD) -> dict:
        """run() under the CPU meter: its result with CPU ms per unit (request, or lead)."""
        before = cpu.snapshot(procs.sessions(), reaped=reaped)
        result = run()
        after = cpu.snapshot(procs.sessions(), reaped=reaped)
        return {**result, **cpu.spent(before, after, result["requests"] * per_request)}

    def add(scenario: str, path: str, result: dict, base: str | None, unit: str = "req/s"):
        log(f"{scenario} {path} done")
        row = {"scenario": scenario, "path": path, "unit": unit, **result}
        if base and b0_rates.get(base):
            row["ratio_to_b0"] = round(result["rate"] / b0_rates[base], 3)
            row["b0"] = base
        rows.append(row)
        print(f"  {scenario:<6}{path:<44}{fmt_row(row)}", flush=True)

    print(
        f"bench: scratch database {name}, gunicorn {args.web_workers} worker(s) x "
        f"{args.web_threads} threads on :{port}, wrk {args.connections} connections, "
        f"{args.duration:g} s a run",
        flush=True,
    )
    try:
        for p in ("web", "worker", "scheduler"):
            procs.start(p)
        log("processes started")
        # Warm every gunicorn worker and thread (imports, URLconf, connections) off the record.
        saved, args.duration = args.duration, 2
        wrk(port, paths["capture"], "capture", args)
        args.duration = saved
        if "B0" in args.only:
            for kind, label, unit in (
                ("capture", "raw capture transaction (8 clients)", "req/s"),
                ("bulk", "raw 25-row upsert (8 clients)", "leads/s"),
                ("insert", "raw async accept insert (8 clients)", "req/s"),
            ):
                result = metered(
                    lambda kind=kind: b0(url, kind, args.duration),
                    25 if kind == "bulk" else 1,
                    reaped="bench",  # the raw clients are this program's processes
                )
                b0_rates[kind] = result["rate"]
                add("B0", label, result, None, unit)
            if os.environ.get("BENCH_ANALYZE_AFTER_B0", "1") == "1":
                settle(url, "B0")
        if "B1" in args.only:
            for kind, label in (
                ("capture", "Lead.Capture"),
                ("create", "Lead.Create"),
                ("convoso", "/v1/leads/insert check_dup=1 check_dnc=1"),
                ("contact", "/api/v1/contactform/"),
            ):
                result = metered(lambda kind=kind: wrk(port, paths[kind], kind, args))
                add("B1", label, result, "capture")
        if "B2" in args.only:
            result = metered(lambda: wrk(port, paths["bulk"], "bulk", args), 25)
            result["rate"] *= 25
            add("B2", "Lead/Bulk/CreateOrUpdate (25 rows)", result, "bulk", "leads/s")
            if os.environ.get("BENCH_SETTLE_AFTER_B2", "1") == "1":
                settle(url, "B2")  # as many new rows as B0's
        if "B3" in args.only:
            result = metered(
                lambda: wrk(port, paths["async"], "async", args, BENCH_API_KEY=keys["api_key"])
            )
            result.update(caught_up(url))
            add("B3", "POST /lead/capture (accept)", result, "insert")
            print(f"{'':<8}{result['note']}", flush=True)
            if args.drain >= 0:
                result = drain(procs, url, port, paths["async"], args, keys)
                add("B3", "async drain, one worker", result, "capture")
        if "B4" in args.only:
            procs.stop("worker")
            import psycopg

            with psycopg.connect(url, autocommit=True) as conn:
                conn.execute("TRUNCATE leads_lead CASCADE")
            procs.start("worker")
            for size in args.sizes:
                how = seed_to(env, url, size)
                settle(url, f"seeding {size:,} leads")
                label = f"@{size:,} leads"
                result = metered(lambda: wrk(port, paths["capture"], "capture", args))
                result["note"] = f"seeded by {how}"
                add("B4", f"Lead.Capture {label}", result, "capture")
                add("B4", f"LeadsMetaData.Get {label}", timed_get(port, paths["meta"]), None)
        if "staff" in args.only:
            ctx = {
                "base_url": f"http://127.0.0.1:{port}",
                "database_url": url,
                "env": env,
                "keys": keys,
                "duration": args.duration,
                "smoke": args.smoke,
                "sizes": args.sizes,
                "lead_count": lead_count(url),
            }
            for row in staff_reads(ctx):
                rows.append(row)
                print(f"  {'staff':<6}{str(row['path']):<44}{fmt_row(row)}", flush=True)
    finally:
        procs.stop_all()
        if not args.keep_db:
            drop_scratch(server_url, name)
    report = {
        "machine": machine(),
        "settings": {
            "web_workers": args.web_workers,
            "web_threads": args.web_threads,
            "connections": args.connections,
            "duration_s": args.duration,
            "sizes": args.sizes,
            "mode": "smoke" if args.smoke else "quick" if args.quick else "full",
        },
        "rows": rows,
    }
    b4 = [r for r in rows if r["scenario"] == "B4" and r["path"].startswith("Lead.Capture")]
    if len(b4) >= 2 and b4[0]["p99_ms"]:
        report["b4_p99_ratio"] = round(b4[-1]["p99_ms"] / b4[0]["p99_ms"], 2)
    Path(args.results).write_text(json.dumps(report, indent=2) + "\n")
    print_table(report)
    return report


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def machine() -> str:
    cpu = ""
    try:
        text = Path("/proc/cpuinfo").read_text()
        found = re.search(r"model name\s*:\s*(.+)", text)
        cpu = found.group(1).strip() if found else ""
    except OSError:
        pass
    return f"{os.cpu_count()} cores {cpu}".strip()


def _num(value, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:,.{max(digits, 2 if value < 10 else 0)}f}"


def fmt_row(row: dict) -> str:
    ratio = row.get("ratio_to_b0")
    return (
        f"{_num(row.get('rate')):>10} {row.get('unit', ''):<8}{_num(row.get('p50_ms'), 1):>9}"
        f"{_num(row.get('p99_ms'), 1):>9}{row.get('errors', 0):>7}"
        f"{'-' if ratio is None else f'{ratio:.2f}':>8}{_num(row.get('cpu_ms'), 2):>9}"
    )


def print_table(report: dict) -> None:
    print(f"\n{report['machine']}; {json.dumps(report['settings'])}")
    print(
        f"{'':<6}{'path':<44}{'rate':>10} {'':<8}{'p50 ms':>9}{'p99 ms':>9}{'errors':>7}{'/ B0':>8}"
        f"{'CPU ms':>9}"
    )
    for row in report["rows"]:
        print(f"{row['scenario']:<6}{str(row['path']):<44}{fmt_row(row)}")
    if "b4_p99_ratio" in report:
        print(f"B4 capture p99, largest / smallest size: {report['b4_p99_ratio']:.2f}x")


if __name__ == "__main__":
    main()

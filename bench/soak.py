"""Long fault scenarios against real processes (`make soak`; not part of `make test`).

Runs the Procfile (web, worker, scheduler under honcho) on a PostgreSQL cluster of the soak's own
(initdb under /tmp, its own port: the machine's shared cluster is never stopped) and Redis, then:

  a. database outage: async captures keep arriving while the soak's PostgreSQL is stopped and
     started again; every process must still be running afterwards, and every accepted RequestID
     must end Success with no restart by hand;
  b. worker SIGKILL mid-batch: the worker process is killed while it holds claimed requests; each
     of them must end Success within 60 s, and no request may run twice;
  c. mixed randomized load: Lead.Capture, bulk, async capture and the contact form, good and bad
     bodies at random; it must end with sent = accepted + logged.

    make soak                       # SOAK_PORT=5499 SOAK_REDIS_URL=redis://127.0.0.1:6379/2
    SOAK_REQUESTS=3000 make soak    # more load

It prints the figures of each scenario and exits non-zero when a check fails.
"""

from __future__ import annotations

import http.client
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urlencode

ROOT = Path(__file__).resolve().parent.parent
PY = str(ROOT / ".venv" / "bin" / "python")
PG_PORT = int(os.environ.get("SOAK_PORT", "5499"))
REDIS_URL = os.environ.get(
    "SOAK_REDIS_URL", os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/2")
)
REQUESTS = int(os.environ.get("SOAK_REQUESTS", "1500"))
RECOVERY_LIMIT = 60.0  # seconds: a dead worker's requests must be done within this
RUN = uuid.uuid4().hex[:8]
FAILED: list[str] = []


def say(text: str) -> None:
    print(text, flush=True)


def check(ok: bool, what: str) -> None:
    say(f"  {'ok  ' if ok else 'FAIL'} {what}")
    if not ok:
        FAILED.append(what)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# -- the soak's own PostgreSQL cluster -------------------------------------------------------


class Cluster:
    """initdb under /tmp, run as the postgres user when we are root (initdb refuses root)."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.dir = Path(tempfile.mkdtemp(prefix="soak-pg-"))
        self.data = self.dir / "data"
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_postgres:
            shutil.chown(self.dir, "postgres", "postgres")

    def run(self, *args: str) -> None:
        subprocess.run([*self.as_postgres, *args], check=True, stdout=subprocess.DEVNULL)

    def init(self) -> None:
        self.run("initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "--no-sync")
        self.start()
        self.run("createdb", "-h", "127.0.0.1", "-p", str(self.port), "-U", "postgres", "soak")

    def start(self) -> None:
        options = f"-p {self.port} -k {self.dir} -c listen_addresses=127.0.0.1 -c fsync=off"
        self.run(
            "pg_ctl",
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.dir / "log"),
            "-w",
            "start",
        )

    def stop(self) -> None:
        self.run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")

    def destroy(self) -> None:
        try:
            self.stop()
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)

    @property
    def url(self) -> str:
        return f"postgres://postgres@127.0.0.1:{self.port}/soak"


# -- HTTP ------------------------------------------------------------------------------------


class Api:
    def __init__(self, port: int, keys: dict[str, str]) -> None:
        self.port = port
        self.keys = keys
        self.local = threading.local()

    def _conn(self) -> http.client.HTTPConnection:
        if getattr(self.local, "conn", None) is None:
            self.local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        return self.local.conn

    def call(
        self,
        method: str,
        path: str,
        body: str | None = None,
        *,
        query=None,
        headers=None,
        form: bool = False,
    ) -> tuple[int, object]:
        url = path + ("?" + urlencode(query) if query else "")
        kind = "application/x-www-form-urlencoded" if form else "application/json"
        for attempt in range(2):
            conn = self._conn()
            try:
                conn.request(
                    method, url, body=body, headers={"Content-Type": kind, **(headers or {})}
                )
                response = conn.getresponse()
                raw = response.read()
                if response.getheader("Connection", "").lower() == "close":
                    conn.close()
                    self.local.conn = None
                try:
                    return response.status, json.loads(raw or b"null")
                except ValueError:
                    return response.status, raw.decode(errors="replace")
            except (ConnectionError, http.client.HTTPException, OSError):
                conn.close()
                self.local.conn = None
                if attempt:
                    return 0, None
        return 0, None

    def ls(self) -> dict[str, str]:
        return {"accessKey": self.keys["access_key"], "secretKey": self.keys["secret_key"]}

    def async_capture(self, body: object) -> tuple[int, object]:
        return self.call(
            "POST",
            "/lead/capture",
            json.dumps(body),
            query=self.ls(),
            headers={"x-api-key": self.keys["api_key"]},
        )


def attrs(**fields: str) -> list[dict[str, str]]:
    return [{"Attribute": k, "Value": v} for k, v in fields.items()]


def wait_for(predicate, timeout: float, every: float = 0.5) -> float | None:
    """Seconds until predicate() held, or None after timeout."""
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        try:
            if predicate():
                return time.monotonic() - start
        except Exception:  # noqa: BLE001 - the database may be coming back
            pass
        time.sleep(every)
    return None


# -- the app's processes ---------------------------------------------------------------------


def processes_of_run(name: str) -> list[int]:
    """Pids of this soak's processes whose command line holds `name` (found by the SOAK_RUN env)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            environ = (entry / "environ").read_bytes()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if f"SOAK_RUN={RUN}".encode() in environ and name.encode() in cmdline:
            if b"forever" not in cmdline and b"/bin/sh" not in cmdline:
                pids.append(int(entry.name))
    return pids


def main() -> int:
    cluster = Cluster(PG_PORT)
    honcho = None
    say(f"soak {RUN}: PostgreSQL of its own on port {PG_PORT} ({cluster.dir}), Redis {REDIS_URL}")
    try:
        cluster.init()
        env = {
            **os.environ,
            "DATABASE_URL": cluster.url,
            "REDIS_URL": REDIS_URL,
            "SOAK_RUN": RUN,
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "PYTHONUNBUFFERED": "1",
        }
        os.environ.update(
            {k: env[k] for k in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")}
        )
        subprocess.run(
            [PY, "manage.py", "migrate", "--noinput", "-v", "0"], cwd=ROOT, env=env, check=True
        )
        keys = json.loads(
            subprocess.run(
                [PY, "manage.py", "create_api_user", f"soak-{RUN}", "--json"],
                cwd=ROOT,
                env=env,
                check=True,
                capture_output=True,
                text=True,
            ).stdout
        )
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.db import connection

        from injectionlogs.models import FailedInjection
        from leads.models import CaptureRequest, CaptureStatus, Lead
        from settings_global.models import GlobalSettings

        GlobalSettings.objects.get_or_create(pk=1)
        GlobalSettings.objects.filter(pk=1).update(rate_limit_calls=1_000_000)
        from django.core.cache import cache

        cache.clear()

        port = free_port()
        log_path = Path(tempfile.gettempdir()) / f"soak-{RUN}-honcho.log"
        log = open(log_path, "w")  # noqa: SIM115 - kept open while honcho runs
        honcho = subprocess.Popen(
            [str(ROOT / ".venv" / "bin" / "honcho"), "start", "-f", "Procfile"],
            cwd=ROOT,
            env={**env, "BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "2"},
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        api = Api(port, keys)
        up = wait_for(
            lambda: (
                api.call("GET", "/lead/capture/metrics", headers={"x-api-key": keys["api_key"]})[0]
                == 200
            ),
            60,
        )
        check(up is not None, f"web answers on 127.0.0.1:{port} (honcho log {log_path})")
        if up is None:
            return 1

        def status_counts(ids) -> dict[str, int]:
            connection.close()
            counts: dict[str, int] = {}
            for status in CaptureRequest.objects.filter(pk__in=ids).values_list(
                "status", flat=True
            ):
                counts[status] = counts.get(status, 0) + 1
            return counts

        def all_alive() -> bool:
            return (
                honcho.poll() is None
                and bool(processes_of_run("gunicorn"))
                and bool(processes_of_run("run_worker"))
                and bool(processes_of_run("run_scheduler"))
            )

        # -- a. database outage ------------------------------------------------------------
        say("\na. database outage under the Procfile's processes")
        accepted: list[str] = []
        codes: dict[int, int] = {}
        stop_sending = threading.Event()

        def sender(n: int) -> None:
            i = 0
            while not stop_sending.is_set():
                i += 1
                code, body = api.async_capture(
                    attrs(EmailAddress=f"a-{RUN}-{n}-{i}@example.com", FirstName=f"A{i}")
                )
                codes[code] = codes.get(code, 0) + 1
                if code == 200:
                    accepted.append(body["RequestID"])
                time.sleep(0.01)

        senders = [threading.Thread(target=sender, args=(n,)) for n in range(4)]
        for thread in senders:
            thread.start()
        time.sleep(3)
        outage_start = time.monotonic()
        cluster.stop()
        say("  PostgreSQL stopped")
        time.sleep(6)
        cluster.start()
        say(f"  PostgreSQL started again after {time.monotonic() - outage_start:.1f} s")
        time.sleep(3)
        stop_sending.set()
        for thread in senders:
            thread.join()
        back = time.monotonic()
        done = wait_for(
            lambda: status_counts(accepted).get(CaptureStatus.SUCCESS, 0) == len(accepted), 240
        )
        say(f"  sent {sum(codes.values())}: responses {dict(sorted(codes.items()))}")
        say(f"  accepted {len(accepted)}; statuses now {status_counts(accepted)}")
        check(
            done is not None,
            f"every accepted RequestID ended Success "
            f"({time.monotonic() - back:.1f} s after the database returned)",
        )
        check(codes.get(500, 0) == 0, "no 500 during the outage")
        check(all_alive(), "honcho, web, worker and scheduler all still running")

        # -- b. worker SIGKILL mid-batch --------------------------------------------------
        say("\nb. worker SIGKILL mid-batch")
        n = REQUESTS
        ids: list[str] = []
        lock = threading.Lock()

        def burst(part: int) -> None:
            for i in range(part, n, 8):
                code, body = api.async_capture(
                    attrs(EmailAddress=f"b-{RUN}-{i}@example.com", Phone=f"+1201555{i % 10000:04d}")
                )
                if code == 200:
                    with lock:
                        ids.append(body["RequestID"])

        # Paused while the burst arrives, so that its first claim after SIGCONT is a full batch.
        workers = processes_of_run("run_worker")
        for pid in workers:
            os.kill(pid, signal.SIGSTOP)
        threads = [threading.Thread(target=burst, args=(p,)) for p in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        held: list = []

        def caught_in_process() -> bool:
            connection.close()
            held[:] = list(
                CaptureRequest.objects.filter(
                    pk__in=list(ids), status=CaptureStatus.IN_PROCESS
                ).values_list("pk", flat=True)
            )
            return len(held) > 0

        for pid in workers:
            os.kill(pid, signal.SIGCONT)
        caught = wait_for(caught_in_process, 60, every=0.005)
        for pid in workers:
            os.kill(pid, signal.SIGKILL)
        killed_at = time.monotonic()
        say(f"  SIGKILLed worker {workers} holding {len(held)} claimed requests")
        check(caught is not None and bool(workers), "the worker was killed mid-batch")
        recovered = wait_for(
            lambda: status_counts(held).get(CaptureStatus.SUCCESS, 0) == len(held), 120, 0.2
        )
        took = time.monotonic() - killed_at
        say(f"  the killed worker's {len(held)} requests done {took:.1f} s after the kill")
        check(
            recovered is not None and took <= RECOVERY_LIMIT,
            f"recovered within {RECOVERY_LIMIT:.0f} s",
        )
        finished = wait_for(
            lambda: status_counts(ids).get(CaptureStatus.SUCCESS, 0) == len(ids), 240
        )
        counts = status_counts(ids)
        leads = Lead.objects.filter(email_normalized__startswith=f"b-{RUN}-").count()
        twice = CaptureRequest.objects.filter(pk__in=ids, attempts__gt=1).count()
        say(f"  accepted {len(ids)}; statuses {counts}; leads {leads}; claimed twice: {twice}")
        check(finished is not None and leads == len(ids), "every request Success, one lead each")
        check(all_alive(), "the worker came back (bin/forever) and the others kept running")

        # -- c. mixed randomized load -----------------------------------------------------
        say("\nc. mixed randomized load")
        rng = random.Random(RUN)
        tally = {"sent": 0, "sync_ok": 0, "async_ids": [], "other": {}}
        before_logged = FailedInjection.objects.count()

        def email(i: int) -> str:
            return rng.choice(
                [f"c-{RUN}-{i}@example.com", "not-an-email", f"C-{RUN}-{i % 50}@Example.com"]
            )

        def one(i: int) -> None:
            kind = rng.choice(["capture", "capture", "bulk", "async", "form", "broken"])
            if kind == "capture":
                code, _ = api.call(
                    "POST",
                    "/v2/LeadManagement.svc/Lead.Capture",
                    json.dumps(attrs(EmailAddress=email(i), FirstName="C")),
                    query=api.ls(),
                )
                count = 1
            elif kind == "bulk":
                rows = [
                    attrs(EmailAddress=email(i * 10 + r), FirstName="B")
                    for r in range(rng.randint(1, 5))
                ]
                code, body = api.call(
                    "POST",
                    "/v2/LeadManagement.svc/Lead/Bulk/CreateOrUpdate",
                    json.dumps(rows),
                    query=api.ls(),
                )
                count = len(rows)
                if code == 200:
                    ok = sum(1 for row in body if "ExceptionType" not in row)
                    with lock:
                        tally["sent"] += count
                        tally["sync_ok"] += ok
                    return
            elif kind == "async":
                code, body = api.async_capture(attrs(EmailAddress=email(i), FirstName="A"))
                count = 1
                if code == 200:
                    with lock:
                        tally["sent"] += 1
                        tally["async_ids"].append(body["RequestID"])
                    return
            elif kind == "form":
                fields = {"contact_name": rng.choice(["Cee", ""]), "contact_email1": email(i)}
                code, _ = api.call(
                    "POST",
                    "/api/v1/contactform/",
                    urlencode(fields),
                    query={"apikey": keys["aninja_apikey"]},
                    form=True,
                )
                count = 1
            else:
                code, _ = api.call(
                    "POST",
                    "/v2/LeadManagement.svc/Lead.Capture",
                    '[{"Attribute": "EmailAddress", "Value"',
                    query=api.ls(),
                )
                count = 1
            with lock:
                if code in (401, 429, 0):
                    tally["other"][code] = tally["other"].get(code, 0) + 1
                    return
                tally["sent"] += count
                if code == 200:
                    tally["sync_ok"] += count

        def load(part: int) -> None:
            for i in range(part, REQUESTS, 8):
                one(i)

        threads = [threading.Thread(target=load, args=(p,)) for p in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        async_ids = tally["async_ids"]
        wait_for(
            lambda: (
                status_counts(async_ids).get(CaptureStatus.IN_QUEUE, 0)
                + status_counts(async_ids).get(CaptureStatus.IN_PROCESS, 0)
                == 0
            ),
            240,
        )
        counts = status_counts(async_ids)
        accepted_total = tally["sync_ok"] + counts.get(CaptureStatus.SUCCESS, 0)
        logged = FailedInjection.objects.count() - before_logged
        say(
            f"  sent {tally['sent']} leads (async {len(async_ids)}: {counts}); "
            f"accepted {accepted_total}; logged {logged}; not counted {tally['other']}"
        )
        check(tally["sent"] == accepted_total + logged, "sent = accepted + logged")
        check(all_alive(), "every process still running")
    finally:
        if honcho is not None and honcho.poll() is None:
            os.killpg(honcho.pid, signal.SIGTERM)
            try:
                honcho.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(honcho.pid, signal.SIGKILL)
        for pid in processes_of_run("manage.py") + processes_of_run("gunicorn"):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        cluster.destroy()
    say("\nsoak: " + ("all checks passed" if not FAILED else f"{len(FAILED)} check(s) failed"))
    return 1 if FAILED else 0


if __name__ == "__main__":
    sys.exit(main())

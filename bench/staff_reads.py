"""Staff reads at size: Manage Leads, its searches and filters, the native API, the failed
injection log and LeadsMetaData.Get, timed over HTTP against gunicorn on a scratch database.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/scratch python bench/staff_reads.py 1000000

It seeds the leads the database lacks (manage.py seed_leads, COPY on PostgreSQL), starts gunicorn on
a free port, logs in to the admin as a staff user and times each read (a warm-up, then `repeat`
timed requests; the median and the worst). bench/run.py calls run(); it returns a dict.
The database should be a scratch one: it gets leads, users and an API credential.
"""

from __future__ import annotations

import http.cookiejar
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BUDGET_MS = 300

SETUP = """
import json, secrets
from django.contrib.auth import get_user_model
from leads.models import Lead
from lists_hopper.models import Campaign
from settings_global.services import api_user_create, global_settings_update

global_settings_update(changes={"rate_limit_calls": 1000000}, user=None, via="bench")
User = get_user_model()
password = secrets.token_hex(12)
staff, _ = User.objects.get_or_create(username="bench_staff")
staff.is_staff = staff.is_superuser = True
staff.set_password(password)
staff.save()
issued = api_user_create(name="bench-staff-reads")
held = Lead.objects.count()
lead = Lead.objects.order_by("-created_at", "-id")[min(1234, held - 1)] if held else None
digits = (lead.phone_normalized or "+10000000000")[-10:] if lead else "2015550123"
print(json.dumps({
    "password": password,
    "access_key": issued.access_key,
    "secret_key": issued.secret_key,
    "lead_id": str(lead.pk) if lead else "",
    "name_part": (lead.last_name or "Smith")[:5] if lead else "Smith",
    "email": (lead.email or "").upper() if lead else "NOBODY@EXAMPLE.COM",
    "phone": f"({digits[:3]}) {digits[3:6]}-{digits[6:]}",
    "campaign": Campaign.objects.order_by("pk").values_list("pk", flat=True).first() or 0,
}))
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _manage(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=ROOT,
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stderr[-3000:]}")
    return done.stdout


def _held_leads(env: dict[str, str]) -> int:
    out = _manage(
        env,
        "shell",
        "-c",
        "from leads.models import Lead; print(Lead.objects.count())",
    )
    return int(out.strip().splitlines()[-1])


def _login(base: str, password: str) -> urllib.request.OpenerDirector:
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    page = opener.open(f"{base}/admin/login/", timeout=30).read().decode()
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode(
        {
            "username": "bench_staff",
            "password": password,
            "csrfmiddlewaretoken": token,
            "next": "/admin/",
        }
    ).encode()
    request = urllib.request.Request(
        f"{base}/admin/login/", data=data, headers={"Referer": f"{base}/admin/login/"}
    )
    opener.open(request, timeout=30).read()
    if not any(cookie.name == "sessionid" for cookie in jar):
        raise RuntimeError("could not log in to the admin")
    return opener


def _time(opener: urllib.request.OpenerDirector, url: str, repeat: int) -> dict[str, float]:
    timings, status = [], 0
    for attempt in range(repeat + 1):
        started = time.perf_counter()
        try:
            with opener.open(url, timeout=120) as response:
                response.read()
                status = response.status
        except urllib.error.HTTPError as error:
            error.read()
            status = error.code
        if attempt:  # the first is a warm-up
            timings.append((time.perf_counter() - started) * 1000)
    return {
        "status": status,
        "median_ms": round(statistics.median(timings), 1),
        "max_ms": round(max(timings), 1),
    }


def run(
    database_url: str | None = None, *, count: int = 1_000_000, repeat: int = 5
) -> dict[str, dict[str, float]]:
    """Seed up to `count` leads, start the app, time every staff read; {read: figures}."""
    env = dict(os.environ)
    if database_url:
        env["DATABASE_URL"] = database_url
    env.setdefault("SECRET_KEY", "bench-staff-reads")
    _manage(env, "migrate", "-v0")
    held = _held_leads(env)
    if held < count:
        started = time.monotonic()
        print(_manage(env, "seed_leads", "--count", str(count - held)).strip())
        print(f"seed_leads --count {count - held}: {time.monotonic() - started:.1f} s")
        held = count
    facts = json.loads(_manage(env, "shell", "-c", SETUP).strip().splitlines()[-1])
    keys = urllib.parse.urlencode(
        {"accessKey": facts["access_key"], "secretKey": facts["secret_key"]}
    )
    q = urllib.parse.quote
    reads = {
        "Manage Leads, first page": "/admin/leads/lead/",
        "Manage Leads, search by name": f"/admin/leads/lead/?q={q(facts['name_part'])}",
        "Manage Leads, search by email": f"/admin/leads/lead/?q={q(facts['email'])}",
        "Manage Leads, search by phone": f"/admin/leads/lead/?q={q(facts['phone'])}",
        "Manage Leads, created by API user": "/admin/leads/lead/?created_by=api",
        "Manage Leads, source": "/admin/leads/lead/?source=Website",
        "Manage Leads, status": "/admin/leads/lead/?status=Qualified",
        "Manage Leads, campaign": f"/admin/leads/lead/?campaign={facts['campaign']}",
        "Manage Leads, a lead's page": f"/admin/leads/lead/{facts['lead_id']}/change/",
        "native API, list": "/api/v1/leads/",
        "native API, search by phone": f"/api/v1/leads/?search={q(facts['phone'])}",
        "native API, search by name": f"/api/v1/leads/?search={q(facts['name_part'])}",
        "native API, source + created by": "/api/v1/leads/?source=website&created_by=api",
        "injection log, first page": "/admin/injectionlogs/failedinjection/",
        "injection log, by reason": "/admin/injectionlogs/failedinjection/?reason_code__exact=dnc",
        "injection log API": "/api/v1/injection-logs/",
        "LeadsMetaData.Get": f"/v2/LeadManagement.svc/LeadsMetaData.Get?{keys}",
    }
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "gunicorn",
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            "1",
            "--threads",
            "4",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        for _ in range(300):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        opener = _login(base, facts["password"])
        results = {name: _time(opener, base + path, repeat) for name, path in reads.items()}
    finally:
        server.terminate()
        server.wait(10)
    print(f"\nStaff reads at {held:,} leads ({repeat} timed requests each, after a warm-up)")
    print(f"{'read':<38}{'status':>7}{'median ms':>11}{'max ms':>9}  under {BUDGET_MS} ms")
    for name, row in results.items():
        ok = "yes" if row["median_ms"] < BUDGET_MS and row["status"] == 200 else "NO"
        print(f"{name:<38}{row['status']:>7}{row['median_ms']:>11.1f}{row['max_ms']:>9.1f}  {ok}")
    return results


if __name__ == "__main__":
    size = int(sys.argv[1]) if len(sys.argv) > 1 else 1_000_000
    if not os.environ.get("DATABASE_URL"):
        sys.exit("set DATABASE_URL to a scratch database")
    run(count=size)

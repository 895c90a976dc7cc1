"""In-process profile of the intake pipeline: per-call milliseconds with no server or load noise.

    DATABASE_URL=postgres://... REDIS_URL=redis://.../N .venv/bin/python bench/profile_ingest.py
    .venv/bin/python bench/profile_ingest.py --calls 500 --batches 25,500 --profile capture

Runs on DATABASE_URL's database as it is (migrate it first): 500 Lead.Capture calls through
django.test.Client and as many async accepts through config.wsgi's application, then
leads_ingest with bulk batches of each size and, for batches the API allows, the same rows
through Lead/Bulk/CreateOrUpdate (httpN). Prints ms per call, wall and this process's CPU (the
Python side alone: steadier than wall on a shared machine), and per lead for batches;
--profile <capture|accept|bulk25|http25|...> prints cProfile's top functions for that part.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--batches", default="25,500")
    parser.add_argument("--rounds", type=int, default=20, help="leads_ingest calls per batch size")
    parser.add_argument("--profile", default="", help="capture, accept, bulk25, http25, ...")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--by-package", action="store_true", help="own time summed per package")
    parser.add_argument("--dump", default="", help="also write the profile to this file (pstats)")
    parser.add_argument(
        "--cpu", action="store_true", help="profile CPU time (process_time), not wall time"
    )
    args = parser.parse_args()

    import django

    django.setup()
    from django.test import Client

    from leads.matching import Operation
    from leads.services import IntakeRequest, leads_ingest
    from settings_global.services import (
        api_user_create,
        global_settings_pinned,
        global_settings_update,
    )

    # This database is a scratch one (the rate limit would refuse the loop).
    global_settings_update(changes={"rate_limit_calls": 1_000_000_000}, user=None, via="bench")
    issued = api_user_create(name=f"profile-{uuid.uuid4().hex[:8]}")
    user = issued.credential.user
    run = uuid.uuid4().hex[:8]
    base = int(run, 16) % 10**7  # phones new to this run too: every row creates a lead
    client = Client()
    url = (
        "/v2/LeadManagement.svc/Lead.Capture?"
        f"accessKey={issued.access_key}&secretKey={issued.secret_key}"
    )

    def capture(n: int) -> None:
        for i in range(n):
            body = json.dumps(
                [
                    {"Attribute": "EmailAddress", "Value": f"c{run}-{i}@example.com"},
                    {"Attribute": "FirstName", "Value": "Pat"},
                    {"Attribute": "Phone", "Value": f"+1201{(base + i) % 10**7:07d}"},
                    {"Attribute": "Source", "Value": "bench"},
                ]
            )
            response = client.post(url, body, content_type="application/json")
            assert response.status_code == 200, response.content

    def bulk(size: int, rounds: int, tag: str) -> None:
        for r in range(rounds):
            requests = [
                IntakeRequest(
                    family="leadsquared",
                    endpoint="Lead/Bulk/CreateOrUpdate",
                    operation=Operation.CREATE_OR_UPDATE,
                    fields={
                        "email": f"b{run}{tag}-{r}-{i}@example.com",
                        "first_name": "Pat",
                        "phone": f"+1202{(base + r * size + i) % 10**7:07d}",
                        "source": "bench",
                    },
                    custom_fields={"mx_Plan": "gold"},
                    require_unique_field=True,
                    api_user=user,
                    data={"row": i},
                )
                for i in range(size)
            ]
            with global_settings_pinned():
                results = leads_ingest(requests=requests)
            assert all(res.ok for res in results), [res.error for res in results if not res.ok]

    bulk_url = (
        "/v2/LeadManagement.svc/Lead/Bulk/CreateOrUpdate?"
        f"accessKey={issued.access_key}&secretKey={issued.secret_key}"
    )

    def bulk_http(size: int, rounds: int) -> None:
        """The same rows as bulk(), through the bulk API: the wire and view layers' share."""
        for r in range(rounds):
            body = json.dumps(
                [
                    [
                        {"Attribute": "EmailAddress", "Value": f"h{run}{size}-{r}-{i}@example.com"},
                        {"Attribute": "FirstName", "Value": "Pat"},
                        {
                            "Attribute": "Phone",
                            "Value": f"+1203{(base + r * size + i) % 10**7:07d}",
                        },
                        {"Attribute": "Source", "Value": "bench"},
                        {"Attribute": "mx_Plan", "Value": "gold"},
                    ]
                    for i in range(size)
                ]
            )
            response = client.post(bulk_url, body, content_type="application/json")
            assert response.status_code == 200, response.content

    accept_url = f"/lead/capture?accessKey={issued.access_key}&secretKey={issued.secret_key}"

    from django.test import RequestFactory

    from config.wsgi import application as wsgi_application

    factory = RequestFactory()

    def accept(n: int) -> None:
        """The async capture's accept (the keys, the rate limit, one insert), through the WSGI
        callable gunicorn runs: its own path ahead of Django's handler (leads.api.accept_wsgi)."""
        for i in range(n):
            body = json.dumps(
                [
                    {"Attribute": "EmailAddress", "Value": f"a{run}-{i}@example.com"},
                    {"Attribute": "Phone", "Value": f"+1204{(base + i) % 10**7:07d}"},
                ]
            )
            environ = factory.post(
                accept_url, body, content_type="application/json", HTTP_X_API_KEY=issued.api_key
            ).environ
            statuses: list[str] = []
            result = wsgi_application(
                environ, lambda status, headers, seen=statuses: seen.append(status)
            )
            content = b"".join(result)
            result.close()
            assert statuses[0].startswith("200"), content

    capture(20)  # warm: keys kept, settings cached
    accept(20)
    parts = [
        ("capture", lambda: capture(args.calls), args.calls, 1),
        ("accept", lambda: accept(args.calls), args.calls, 1),
    ]
    for size in (int(s) for s in args.batches.split(",") if s):
        rounds = max(1, args.rounds if size <= 100 else args.rounds // 4)
        parts.append((f"bulk{size}", lambda s=size, r=rounds: bulk(s, r, f"{s}"), rounds, size))
        if size <= 25:  # the API's bulk row limit
            parts.append((f"http{size}", lambda s=size, r=rounds: bulk_http(s, r), rounds, size))
    for name, fn, calls, size in parts:
        timer = (time.process_time,) if args.cpu else ()
        profiler = cProfile.Profile(*timer) if name == args.profile else None
        start, cpu_start = time.perf_counter(), time.process_time()
        if profiler:
            profiler.enable()
        fn()
        if profiler:
            profiler.disable()
        elapsed = time.perf_counter() - start
        cpu = (time.process_time() - cpu_start) / calls * 1000
        per_call = elapsed / calls * 1000
        line = f"{name:10} {calls:5} calls  {per_call:8.2f} ms/call ({cpu:6.2f} ms CPU here)"
        if size > 1:
            line += f"  {per_call / size:6.3f} ms/lead  {calls * size / elapsed:8.0f} leads/s"
        print(line, flush=True)
        if profiler and args.dump:
            profiler.dump_stats(args.dump)
        if profiler and args.by_package:
            print_by_package(pstats.Stats(profiler), calls)
        elif profiler:
            stats = pstats.Stats(profiler).sort_stats("cumulative")
            stats.print_stats(args.top)
            stats.sort_stats("tottime").print_stats(args.top)


def print_by_package(stats: pstats.Stats, calls: int) -> None:
    """Own time per call, summed by package (django.db, rest_framework, psycopg, leads, ...)."""
    totals: dict[str, float] = {}
    for (filename, _line, function), row in stats.stats.items():
        path = filename.replace("\\", "/")
        if "site-packages/" in path:
            parts = path.split("site-packages/", 1)[1].split("/")
            key = "/".join(parts[:3] if parts[0] == "django" else parts[:1])
        elif "/work/" in path or path.startswith(str(Path(__file__).resolve().parent.parent)):
            key = "project/" + "/".join(Path(path).parts[-2:])
        elif filename == "~":
            key = "builtin " + function.split(" of ")[0][:40]
        else:
            key = "stdlib/" + Path(path).stem
        totals[key] = totals.get(key, 0.0) + row[2]
    for key, seconds in sorted(totals.items(), key=lambda kv: -kv[1])[:40]:
        print(f"{seconds / calls * 1000:8.3f} ms/call  {key}")


if __name__ == "__main__":
    main()

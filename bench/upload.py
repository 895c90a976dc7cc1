"""Lead list upload benchmark: a 100,000-row CSV into a list, run by a real worker process.

    DATABASE_URL=postgres://postgres@127.0.0.1/upload_bench .venv/bin/python bench/upload.py

Migrates the database (it should be a scratch one), makes a list, submits the file (the same
call the API makes), starts `manage.py db_worker` and reports the rows per second from the
upload's first batch to its last. BENCH_UPLOAD_ROWS and BENCH_UPLOAD_BATCH change the sizes; a
tenth of the rows repeat an earlier phone (rejected as duplicates under check_dup=1).
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROWS = int(os.environ.get("BENCH_UPLOAD_ROWS", "100000"))
BATCH = int(os.environ.get("BENCH_UPLOAD_BATCH", "1000"))


def make_csv(rows: int) -> bytes:
    lines = ["First Name,Last Name,Phone Number,E-mail,Zip,mx_Budget"]
    for i in range(rows):
        n = i if i % 10 else max(i - 7, 0)  # every tenth row repeats a phone
        lines.append(f"Ann{i},Lee{i},+1212{5550000 + n:07d},ann{i}@example.com,1000{i % 10},{i}")
    return ("\r\n".join(lines) + "\r\n").encode()


def main() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    from lists_hopper.models import Campaign, List, Upload
    from lists_hopper.tasks import upload_submit

    campaign = Campaign.objects.create(name="bench")
    target = List.objects.create(name="bench", campaign=campaign)
    data = make_csv(ROWS)
    t0 = time.perf_counter()
    upload = upload_submit(
        list_id=target.pk,
        data=data,
        file_name="bench.csv",
        options={"check_dup": "1"},
        batch_size=BATCH,
    )
    submitted = time.perf_counter() - t0
    worker = subprocess.Popen(
        [sys.executable, "manage.py", "db_worker", "--interval", "0.1", "--no-startup-delay"],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        while True:
            time.sleep(0.5)
            u = Upload.objects.defer("content").get(pk=upload.pk)
            if u.status in ("done", "cancelled"):
                break
            if worker.poll() is not None:
                raise SystemExit("the worker died")
    finally:
        worker.terminate()
        worker.wait()
    seconds = (u.finished_at - u.started_at).total_seconds()
    print(f"rows            {u.total}")
    print(
        f"file            {len(data) / 1_048_576:.1f} MB, checked and stored in {submitted:.2f} s"
    )
    print(f"created/updated/rejected {u.created}/{u.updated}/{u.rejected}")
    print(f"batches         {BATCH} rows")
    print(f"run (worker)    {seconds:.1f} s, {u.total / seconds:.0f} rows/s")
    print(f"wall (submit to done, poll 0.5 s) {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()

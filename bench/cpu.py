"""CPU seconds per process group, read from /proc: what a benchmark run cost the machine.

A rate on a shared 2-core machine moves 30-60% between runs of the same code; the CPU each request
costs moves far less, because it does not depend on what else got the cores. The bench reads these
counters around each measured run and reports milliseconds of CPU per request (per lead for bulk),
split by who spent them: web (gunicorn), worker, scheduler, postgres, redis, bench (B0's raw psycopg
clients) and wrk (the load generator, never counted in the total).

Linux only: elsewhere every figure is None and the table leaves the column empty.
"""

from __future__ import annotations

import os
from pathlib import Path

PROC = Path("/proc")
LOAD = "wrk"  # what drives the load, not part of what the work cost


def snapshot(sessions: dict[int, str], *, reaped: str = LOAD) -> dict[str, float] | None:
    """CPU seconds used so far by each group of processes.

    sessions maps a session id (the Procfile processes are started in their own sessions) to its
    group name; postgres, redis-server and wrk are found by their command name; any other process
    of this program's own session is "bench". What this program's ended children spent counts
    as `reaped`: wrk's runs, or B0's client processes ("bench").
    """
    if not PROC.is_dir():
        return None
    tick = os.sysconf("SC_CLK_TCK")
    own, me = os.getsid(0), os.getpid()
    used: dict[str, float] = {}
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:  # gone meanwhile
            continue
        comm = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        session = int(fields[3])
        if session in sessions:
            group = sessions[session]
        elif comm == "postgres":
            group = "postgres"
        elif comm.startswith("redis-server"):
            group = "redis"
        elif comm == LOAD:
            group = LOAD
        elif session == own:
            group = "bench"
        else:
            continue
        # utime, stime, cutime, cstime: fields 14-17 of stat, counted from the state (field 3)
        # here. The children's times hold what processes that ended spent once their parent
        # reaped them: PostgreSQL's backends of closed connections (in the postmaster's).
        own_time, children = int(fields[11]) + int(fields[12]), int(fields[13]) + int(fields[14])
        if int(entry.name) == me:
            used[reaped] = used.get(reaped, 0.0) + children / tick
            children = 0
        used[group] = used.get(group, 0.0) + (own_time + children) / tick
    return used


def spent(before: dict[str, float] | None, after: dict[str, float] | None, units: float) -> dict:
    """Milliseconds of CPU per unit (request, or lead for bulk) by group, and their total without
    the load generator. A process that ended between the two readings counts once its parent
    reaped it."""
    if before is None or after is None or not units:
        return {}
    per = {
        group: round((seconds - before.get(group, 0.0)) * 1000 / units, 3)
        for group, seconds in after.items()
        if seconds - before.get(group, 0.0) > 0
    }
    total = sum(ms for group, ms in per.items() if group != LOAD)
    return {"cpu_ms": round(total, 3), "cpu_ms_by": per}

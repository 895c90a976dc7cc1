"""The async drain gives way to a busy host: the accepts first, their leads right after.

The async accept is one short write, there to absorb a vendor's burst (LeadSquared's "peak usage
protection"). When the worker shares a host with the web (`make run`, or the Procfile on one
machine), each request it drains during a burst takes CPU the accepts need: on the bench's 2-core
machine the accept's rate fell by a fifth and its p99 nearly doubled (docs/performance.md, round
thirteen).

So before each batch the worker reads the host's CPU pressure: the share of the last quarter
second in which some runnable task waited for a CPU (Linux's pressure stall information, the
"some" line of /proc/pressure/cpu). Above PRESSURE it waits a step and reads again, until the host
is quiet (QUIET) or it has waited `longest` seconds in a row. After that it drains until it has
caught up (a claim smaller than a full batch) before it gives way again. So a request accepted
during a burst waits at most about `longest` seconds, plus the drain of what came before it.

It gives way only to requests that are there: while the queue is empty and the host busy, it
looks whether any are due (one indexed read, nothing claimed) at its usual pace, and begins to
give way when there are, before it claims any.

On a host of its own, the worker's own load stays under PRESSURE (0.0-0.16 while it drained a
backlog alone on 2 cores, against 0.45-0.65 under a burst of accepts), and where the kernel has
no pressure file it never gives way.
"""

from __future__ import annotations

import logging
import re
import time
from collections import deque
from collections.abc import Callable
from pathlib import Path

log = logging.getLogger(__name__)

PSI_CPU = Path("/proc/pressure/cpu")
PRESSURE = 0.3  # share of the time some task waited for a CPU, above which the drain waits
QUIET = 0.1  # and once it waits, the share at or under which it goes on
STEP = 0.05  # seconds between two readings while it waits
WINDOW = 0.25  # seconds of the host's recent past each reading spans, at least
_SOME_TOTAL = re.compile(r"^some\b.*?\btotal=(\d+)\b", re.MULTILINE)


class CpuPressure:
    """Each call: the share of the last WINDOW seconds or so (since the previous call, if longer
    ago) in which at least one runnable task on this host waited for a CPU (0.0-1.0), or None
    when there is nothing to read (no such file, PSI switched off) or no time has passed.

    A reading of one STEP alone is mostly noise: under a steady burst of accepts, single 50 ms
    readings fell under PRESSURE often enough that the drain stopped giving way several times a
    second."""

    def __init__(
        self,
        path: Path = PSI_CPU,
        clock: Callable[[], float] = time.monotonic,
        window: float = WINDOW,
    ) -> None:
        self.path, self.clock, self.window = path, clock, window
        first = self._read()
        self.readings: deque[tuple[float, int]] = deque([first] if first else [])

    def _read(self) -> tuple[float, int] | None:
        """(when, microseconds some task has waited since boot)."""
        try:
            text = self.path.read_text()
        except OSError:  # absent, or EOPNOTSUPP when the kernel was booted with psi=0
            return None
        found = _SOME_TOTAL.search(text)
        return (self.clock(), int(found[1])) if found else None

    def __call__(self) -> float | None:
        now = self._read()
        if now is None:
            self.readings.clear()
            return None
        readings = self.readings
        readings.append(now)
        # The base: the newest reading at least a window old (or the oldest there is).
        while len(readings) > 2 and now[0] - readings[1][0] >= self.window:
            readings.popleft()
        base = readings[0]
        if now[0] <= base[0]:
            return None
        return min(1.0, max(0.0, (now[1] - base[1]) / 1e6 / (now[0] - base[0])))


class GiveWay:
    """Whether the drain waits instead of claiming its next batch (see the module docstring)."""

    def __init__(
        self,
        *,
        longest: float,
        pressure: Callable[[], float | None] | None = None,
        pending: Callable[[], bool] | None = None,
        threshold: float = PRESSURE,
        quiet: float = QUIET,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.longest, self.threshold, self.quiet, self.clock = longest, threshold, quiet, clock
        self.pressure = pressure if pressure is not None else CpuPressure(clock=clock)
        self.pending = pending  # whether requests are due, without claiming them
        self.since: float | None = None  # when it began to give way, until it has caught up
        self.waiting = False
        self.empty = True  # the last claim found nothing

    def now(self) -> bool:
        """True: wait a STEP and ask again. False: claim a batch."""
        if self.longest <= 0:
            return False
        share = self.pressure()  # read every time, so that each reading covers a short while
        # Once giving way, only a quiet host ends it: under a burst the pressure moves around
        # PRESSURE from one reading to the next, and the burst's end takes it near 0 at once.
        busy = share is not None and share > (self.quiet if self.waiting else self.threshold)
        if busy and self.empty:
            # The last claim found nothing: give way only to requests that have come since, so
            # that a host busy with other work does not use up `longest` before they come. Without
            # a way to look, the next claim looks (and drains the batch it finds).
            if self.pending is None or not self.pending():
                return False
            self.empty = False
        t = self.clock()
        if busy and self.since is None:
            self.since = t
        wait = busy and t - self.since < self.longest
        if wait and not self.waiting:
            log.info("the host is busy (CPU pressure %.2f): the drain gives way", share)
        elif self.waiting and not wait:
            log.info("the drain goes on after giving way for %.1f s", t - self.since)
        self.waiting = wait
        return wait

    def drained(self, *, claimed: int, limit: int) -> None:
        """After a claim of `limit` at most. Once the queue is caught up (a claim smaller than
        `limit`), the drain may give way again; while it is empty (nothing claimed), the worker
        looks again at its usual pace instead, so that a busy host with no requests waiting does
        not use up the time it may give way for before a burst of them comes."""
        self.empty = claimed == 0
        if claimed < limit:
            self.since = None

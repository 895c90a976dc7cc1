"""The async drain gives way to a busy host (leads/give_way.py): the pressure reading, the rule
(at most `longest` seconds in a row, then until caught up), and the worker's loop obeying it."""

from __future__ import annotations

import logging
import multiprocessing
import time

import pytest
from django.db import OperationalError
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from leads import capture_requests
from leads.capture_requests import capture_requests_due, drain_forever
from leads.give_way import PRESSURE, PSI_CPU, QUIET, STEP, CpuPressure, GiveWay
from leads.models import CaptureRequest, CaptureStatus, Lead
from tests.factories import CaptureRequestFactory
from tests.helpers import attrs

SOME = (
    "some avg10=1.00 avg60=2.00 avg300=3.00 total={}\n"
    "full avg10=0.00 avg60=0.00 avg300=0.00 total=0\n"
)


class Clock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t


def test_pressure_is_the_share_of_time_some_task_waited(tmp_path):
    psi, clock = tmp_path / "cpu", Clock()
    psi.write_text(SOME.format(5_000_000))
    pressure = CpuPressure(psi, clock)
    clock.t += 2.0
    psi.write_text(SOME.format(5_000_000 + 1_100_000))  # 1.1 s of waiting in 2 s
    assert pressure() == pytest.approx(0.55)
    clock.t += 0.5
    psi.write_text(SOME.format(6_100_000 + 2_000_000))  # several tasks waiting: still at most 1
    assert pressure() == 1.0
    clock.t += 1.0
    assert pressure() == 0.0  # nothing waited


def test_pressure_spans_the_last_window_not_one_step(tmp_path):
    """Read every STEP, each figure covers the last WINDOW seconds: one quiet step under a busy
    stretch does not read as a quiet host."""
    psi, clock = tmp_path / "cpu", Clock()
    total = 0
    psi.write_text(SOME.format(total))
    pressure = CpuPressure(psi, clock, window=0.25)
    shares = []
    for waited in [0.04] * 6 + [0.0] + [0.04] * 3:  # 80% busy, one quiet step
        clock.t += 0.05
        total += round(waited * 1e6)
        psi.write_text(SOME.format(total))
        shares.append(pressure())
    # The quiet step is one of the last 5 or 6 (the base is the newest reading a window old).
    assert 0.8 * 4 / 5 <= shares[6] <= 0.8 * 5 / 6 + 1e-9
    assert min(shares) > PRESSURE


@pytest.mark.parametrize(
    "content",
    [
        None,
        "",
        "\n\n",
        "full avg10=0.00 total=12\n",
        "some avg10=0.00 total=many\n",
        "some avg10 total\n",
        "some avg10=0.00 subtotal=12\n",
    ],
)
def test_pressure_is_unknown_without_a_readable_some_line(tmp_path, content):
    psi, clock = tmp_path / "cpu", Clock()
    if content is not None:
        psi.write_text(content)
    pressure = CpuPressure(psi, clock)
    clock.t += 1.0
    assert pressure() is None


# Anything, or a "some" line with any total (a smaller second total too) and anything after it.
PSI_TEXT = st.one_of(
    st.text(),
    st.builds("some avg10=0.00 total={}{}\n".format, st.integers(0, 10**15), st.text(max_size=20)),
)


@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(first=PSI_TEXT, second=PSI_TEXT)
def test_pressure_never_fails_on_what_the_file_holds(tmp_path, first, second):
    """Whatever the kernel (or anything else) put there: a share between 0 and 1, or None."""
    psi, clock = tmp_path / "cpu", Clock()
    psi.write_text(first)
    pressure = CpuPressure(psi, clock)
    clock.t += 0.5
    psi.write_text(second)
    share = pressure()
    assert share is None or 0.0 <= share <= 1.0


def test_pressure_is_unknown_when_no_time_has_passed(tmp_path):
    psi, clock = tmp_path / "cpu", Clock()
    psi.write_text(SOME.format(1))
    pressure = CpuPressure(psi, clock)
    assert pressure() is None


def _spin(seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        pass


@pytest.mark.skipif(not PSI_CPU.is_file(), reason="this kernel has no /proc/pressure/cpu")
def test_the_hosts_own_pressure_rises_above_the_threshold_when_its_cpus_are_oversubscribed():
    """Twice as many busy processes as CPUs: some task always waits for one."""
    pressure = CpuPressure()
    if pressure() is None:
        pytest.skip("PSI is switched off on this kernel")
    spinners = [
        multiprocessing.get_context("fork").Process(target=_spin, args=(1.5,))
        for _ in range(2 * multiprocessing.cpu_count())
    ]
    for spinner in spinners:
        spinner.start()
    try:
        time.sleep(0.5)
        pressure()  # from here on, all of them are running
        time.sleep(0.5)
        share = pressure()
    finally:
        for spinner in spinners:
            spinner.join()
    assert share is not None and share > PRESSURE


class Busy:
    """A pressure reading that says whatever the test sets, and counts its reads."""

    def __init__(self, share: float | None) -> None:
        self.share, self.reads = share, 0

    def __call__(self) -> float | None:
        self.reads += 1
        return self.share


def found_work(rule: GiveWay) -> GiveWay:
    rule.drained(claimed=1, limit=500)  # the last claim found a request
    return rule


def test_give_way_waits_while_busy_for_at_most_longest_then_until_caught_up():
    clock, busy = Clock(), Busy(0.9)
    rule = found_work(GiveWay(longest=10, pressure=busy, clock=clock))
    assert rule.now()  # busy: wait
    clock.t += 9.9
    assert rule.now()
    clock.t += 0.2
    assert not rule.now()  # waited 10 s in a row: drain, busy or not
    rule.drained(claimed=500, limit=500)
    clock.t += 1
    assert not rule.now()  # a backlog: keep draining
    rule.drained(claimed=20, limit=500)
    clock.t += 1
    assert rule.now()  # caught up: the next burst is given way to again


def test_give_way_does_not_spend_its_time_while_the_queue_is_empty():
    """A host busy with other work and no requests waiting: the worker keeps looking at its usual
    pace, and the whole `longest` is left for when a burst of requests comes."""
    clock, busy = Clock(), Busy(0.9)
    rule = GiveWay(longest=10, pressure=busy, clock=clock)
    for _ in range(30):
        assert not rule.now()  # claim (nothing there) and nap as usual
        rule.drained(claimed=0, limit=500)
        clock.t += 1
    assert busy.reads == 30  # each reading covers only the last while
    rule.drained(claimed=100, limit=500)  # a burst begins
    assert rule.now()
    clock.t += 9.9
    assert rule.now()


def test_a_busy_host_with_nothing_due_keeps_all_of_longest_for_the_burst():
    """With a look at the queue, the drain gives way as soon as requests are due, before any
    claim, and not before."""
    clock, busy, due = Clock(), Busy(0.9), [False]
    rule = GiveWay(longest=10, pressure=busy, pending=lambda: due[0], clock=clock)
    for _ in range(30):
        assert not rule.now()  # nothing due: claim (nothing) and nap as usual
        rule.drained(claimed=0, limit=500)
        clock.t += 1
    due[0] = True  # a burst begins
    assert rule.now()
    clock.t += 9.9
    assert rule.now()
    clock.t += 0.2
    assert not rule.now()


def test_the_queue_is_not_looked_at_when_the_host_is_not_busy():
    looks = []
    rule = GiveWay(longest=10, pressure=Busy(0.1), pending=lambda: looks.append(1) or True)
    assert not rule.now()
    assert looks == []


def test_give_way_drains_at_once_when_the_host_is_not_busy_or_the_pressure_unknown():
    for share in (0.0, PRESSURE, None):
        assert not found_work(GiveWay(longest=10, pressure=Busy(share), clock=Clock())).now()


def test_once_it_gives_way_only_a_quiet_host_ends_it():
    clock, busy = Clock(), Busy(0.5)
    rule = found_work(GiveWay(longest=10, pressure=busy, clock=clock))
    assert rule.now()
    for share in (0.25, QUIET + 0.01, 0.2):  # a burst's readings move around PRESSURE
        busy.share = share
        clock.t += STEP
        assert rule.now()
    busy.share = QUIET  # the burst is over
    assert not rule.now()
    rule.drained(claimed=500, limit=500)
    busy.share = 0.25  # not busy enough to begin giving way again
    assert not rule.now()


def test_a_quiet_moment_in_a_burst_does_not_restart_the_count():
    clock, busy = Clock(), Busy(0.9)
    rule = found_work(GiveWay(longest=10, pressure=busy, clock=clock))
    assert rule.now()
    clock.t += 6
    busy.share = 0.05
    assert not rule.now()  # a lull: one batch
    rule.drained(claimed=500, limit=500)  # and there is more
    busy.share = 0.9
    clock.t += 3
    assert rule.now()  # 9 s since it began to give way
    clock.t += 1.5
    assert not rule.now()  # 10.5 s: no longer


def test_longest_zero_never_gives_way_nor_reads_the_pressure():
    busy = Busy(1.0)
    assert not found_work(GiveWay(longest=0, pressure=busy, clock=Clock())).now()
    assert busy.reads == 0


def test_giving_way_is_logged_when_it_begins_and_when_it_ends(caplog):
    clock, busy = Clock(), Busy(0.8)
    rule = found_work(GiveWay(longest=10, pressure=busy, clock=clock))
    with caplog.at_level(logging.INFO, logger="leads.give_way"):
        for _ in range(5):
            rule.now()
            clock.t += 1
        busy.share = 0.0
        rule.now()
        rule.now()
    assert [r.getMessage() for r in caplog.records] == [
        "the host is busy (CPU pressure 0.80): the drain gives way",
        "the drain goes on after giving way for 5.0 s",
    ]


def queue(credential, n: int, prefix: str) -> None:
    for i in range(n):
        CaptureRequestFactory(
            credential=credential,
            api_user=credential.user,
            body=attrs(EmailAddress=f"{prefix}{i}@example.com"),
        )


def queued() -> int:
    return CaptureRequest.objects.filter(status=CaptureStatus.IN_QUEUE).count()


@pytest.fixture
def batches_of_two(monkeypatch):
    monkeypatch.setattr(capture_requests, "BATCH_SIZE", 2)
    monkeypatch.setattr(capture_requests, "SQLITE_BATCH_SIZE", 2)


@pytest.mark.django_db
def test_the_worker_loop_leaves_the_queue_alone_while_it_gives_way(
    credential, monkeypatch, batches_of_two
):
    """The real drain on the real queue: while the host is busy nothing is claimed, not even a
    first batch (the worker looks whether requests are due); the requests are drained, with their
    leads, once it is not."""
    queue(credential, 5, "g")
    busy, waits = Busy(0.9), []

    def sleep(seconds, stopping):
        waits.append((seconds, queued()))
        if len(waits) == 4:
            busy.share = 0.0  # the burst is over

    monkeypatch.setattr(capture_requests, "_sleep", sleep)
    drain_forever(
        worker_id="w-give-way",
        stopping=lambda: not queued(),
        give_way=GiveWay(longest=3600, pressure=busy, pending=capture_requests_due),
    )
    linger = capture_requests.LINGER_SECONDS
    assert waits[:4] == [(STEP, 5)] * 4  # gave way, nothing claimed
    assert waits[4:] == [(linger, 3), (linger, 1), (linger, 0)]  # then batches of two
    assert set(CaptureRequest.objects.values_list("status", flat=True)) == {CaptureStatus.SUCCESS}
    assert Lead.objects.count() == 5


@pytest.mark.django_db
def test_without_a_look_at_the_queue_the_first_claim_finds_the_requests(
    credential, monkeypatch, batches_of_two
):
    """GiveWay with no `pending`: a busy host with an empty queue cannot tell a burst has begun
    until a claim finds it; that batch is drained, then the drain gives way."""
    queue(credential, 5, "f")
    busy, waits = Busy(0.9), []

    def sleep(seconds, stopping):
        waits.append((seconds, queued()))
        if len(waits) == 5:
            busy.share = 0.0

    monkeypatch.setattr(capture_requests, "_sleep", sleep)
    drain_forever(
        worker_id="w-no-look",
        stopping=lambda: not queued(),
        give_way=GiveWay(longest=3600, pressure=busy),
    )
    linger = capture_requests.LINGER_SECONDS
    assert waits[:5] == [(linger, 3)] + [(STEP, 3)] * 4
    assert waits[5:] == [(linger, 1), (linger, 0)]


@pytest.mark.django_db
def test_the_look_at_the_queue_failing_is_ridden_out_like_any_drain_fault(monkeypatch, caplog):
    """The look is a query: while the database is away it fails, and the loop backs off and goes
    on, as after a failed claim."""
    looks, naps = [], []

    def pending():
        looks.append(1)
        if len(looks) == 1:
            raise OperationalError("the database is away")
        return False

    monkeypatch.setattr(capture_requests, "_sleep", lambda seconds, stopping: naps.append(seconds))
    drain_forever(
        worker_id="w-look-fails",
        stopping=lambda: len(naps) == 2,
        max_backoff=0.5,
        give_way=GiveWay(longest=10, pressure=Busy(0.9), pending=pending),
    )
    assert naps == [0.5, 0.5]  # the back-off, then the idle nap after an empty claim
    assert "capture drain failed" in caplog.text


@pytest.mark.django_db
def test_the_worker_loop_drains_a_long_burst_after_longest(credential, monkeypatch, batches_of_two):
    """The host stays busy: the requests still wait no longer than `longest`."""
    queue(credential, 4, "l")
    clock, steps = Clock(), []

    def sleep(seconds, stopping):
        steps.append(seconds)
        clock.t += seconds

    monkeypatch.setattr(capture_requests, "_sleep", sleep)
    drain_forever(
        worker_id="w-long-burst",
        stopping=lambda: not queued(),
        give_way=GiveWay(longest=1.0, pressure=Busy(1.0), clock=clock),
    )
    linger = capture_requests.LINGER_SECONDS
    first, *gave_way, last = steps
    assert first == linger == last  # after each small batch
    # Given way for one second of steps, then drained.
    assert set(gave_way) == {STEP}
    assert 1.0 <= len(gave_way) * STEP <= 1.0 + STEP
    assert set(CaptureRequest.objects.values_list("status", flat=True)) == {CaptureStatus.SUCCESS}

"""The benchmarks' fixed arrival rate: users start at random phases and keep a schedule that does not drift."""

from __future__ import annotations

from types import SimpleNamespace

from loadtests.processes import fixed_rate, stagger_start


class FakeClock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def test_users_started_together_begin_at_different_phases_within_one_interval():
    clock = FakeClock()
    starts = []
    for _ in range(20):
        user = SimpleNamespace()
        began = clock.now
        stagger_start(user, 2.0, clock=clock, sleep=clock.sleep)
        starts.append(user.paced_due_s - began)
    assert all(0 <= phase <= 0.5 for phase in starts)
    assert len({round(phase, 6) for phase in starts}) == 20  # not in lockstep


def test_calls_are_due_every_interval_from_the_start_and_a_late_call_does_not_shift_the_schedule():
    clock = FakeClock()
    user = SimpleNamespace(paced_due_s=clock.now)
    wait_time = fixed_rate(4.0, clock=clock)  # every 0.25 s
    clock.now += 0.05  # the first call took 50 ms
    assert abs(wait_time(user) - 0.20) < 1e-9
    clock.now += 0.20 + 0.40  # slept until due, then a call that took 400 ms: it is late
    assert wait_time(user) == 0.0  # the next is sent at once...
    assert abs(user.paced_due_s - (100.0 + 0.50)) < 1e-9  # ...and the schedule stays on its 0.25 s grid
    clock.now += 0.01
    assert abs(wait_time(user) - (100.75 - 100.66)) < 1e-9

"""The adaptive window (`engine/_limiter.py`): its control law on an injected clock, and its gate for tasks.

Nothing sleeps: the clock is a number the tests move, and the gate's pacing sleep only moves it.
"""

from __future__ import annotations

import asyncio

import pytest

from publitrac.engine._limiter import (
    BACKOFF,
    FIRST_BACKOFF,
    LATENCY_WARMUP,
    MIN_LIMIT,
    AdaptiveGate,
    AdaptiveLimit,
    Permit,
    Signal,
)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0
        self.slept: list[float] = []

    def __call__(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.now += seconds


def answer(limit: AdaptiveLimit, clock: Clock, signal: Signal, latency: float = 0.01) -> None:
    """One request through the window: a slot, `latency` seconds, the answer."""
    permit = limit.start()
    clock.now += latency
    limit.finish(permit, signal)


def saturated(
    limit: AdaptiveLimit, clock: Clock, answers: int, signal: Signal, latency: float = 0.01
) -> None:
    """Many workers with rows to send: every free slot is taken at once; the oldest request is answered next.

    Each request takes `latency`; with the window full, answers come `latency / slots` apart.
    """
    permits: list[Permit] = []
    for _ in range(answers):
        while limit.delay() == 0.0:
            permits.append(limit.start())
        clock.now += latency / max(1, len(permits))
        limit.finish(permits.pop(0), signal, latency)
    for permit in permits:
        limit.finish(permit, Signal.NEUTRAL)


def test_slow_start_adds_one_per_good_answer_doubling_the_window_each_round_trip() -> None:
    clock = Clock()
    limit = AdaptiveLimit(64, clock=clock, initial=4)
    saturated(limit, clock, 4, Signal.GOOD)  # a round trip's worth of answers
    assert limit.limit == 8
    saturated(limit, clock, 8, Signal.GOOD)
    assert limit.limit == 16
    saturated(limit, clock, 500, Signal.GOOD)
    assert limit.limit == 64 and limit.slow_start  # the ceiling


def test_an_overload_cuts_the_window_once_per_round_trip() -> None:
    clock = Clock()
    limit = AdaptiveLimit(64, clock=clock, initial=20)
    permits = [limit.start() for _ in range(20)]
    clock.now += 0.01
    for permit in permits:  # twenty 429s from one round trip: one cut, which ends slow start (halved)
        limit.finish(permit, Signal.OVERLOAD)
    assert limit.limit == pytest.approx(20 * FIRST_BACKOFF)
    assert limit.decreases == 1 and not limit.slow_start
    # a request sent after the cut and refused too: a second cut, a gentler one
    answer(limit, clock, Signal.OVERLOAD)
    assert limit.limit == pytest.approx(20 * FIRST_BACKOFF * BACKOFF)
    permits = [limit.start() for _ in range(limit.slots)]
    clock.now += 0.01
    for permit in permits:
        limit.finish(permit, Signal.OVERLOAD)
    assert limit.limit == pytest.approx(20 * FIRST_BACKOFF * BACKOFF**2)


def test_a_cut_lands_near_what_got_through_at_a_rate_limit() -> None:
    clock = Clock()
    limit = AdaptiveLimit(64, clock=clock, initial=30)
    limit.slow_start = False
    for _ in range(
        50
    ):  # half a second of round trips of 10 ms; the server takes 5 a round trip, refuses the rest
        permits = [limit.start() for _ in range(limit.slots)]
        for number, permit in enumerate(permits):
            clock.now += 0.01 / len(permits)
            limit.finish(permit, Signal.GOOD if number < 5 else Signal.OVERLOAD, latency=0.01)
    # 5 a round trip got through: the window sits just above, not at 0.9^n of 30 nor at the floor
    assert 5 <= limit.limit <= 6.5


def test_a_paced_window_lands_near_what_got_through_too() -> None:
    clock = Clock()
    limit = AdaptiveLimit(64, clock=clock, initial=1)
    limit.slow_start = False
    # a server answering in 1 ms that takes one call every 10 ms: 0.1 a round trip
    next_token = 0.0
    for _ in range(400):
        delay = limit.delay()
        assert delay is not None
        clock.now += delay
        permit = limit.start()
        clock.now += 0.001
        admitted = clock.now >= next_token
        if admitted:
            next_token = clock.now + 0.01
        limit.finish(permit, Signal.GOOD if admitted else Signal.OVERLOAD, latency=0.001)
    assert 0.05 <= limit.limit <= 0.2


def test_random_refusals_leave_the_cut_to_the_factor() -> None:
    clock = Clock()
    limit = AdaptiveLimit(64, clock=clock, initial=20)
    limit.slow_start = False
    saturated(limit, clock, 60, Signal.GOOD, latency=0.01)  # three round trips, all good
    window = limit.limit
    limit.finish(limit.start(), Signal.OVERLOAD, latency=0.01)  # one refusal among the answers
    assert limit.limit == pytest.approx(window * BACKOFF)


def test_after_a_cut_the_window_grows_by_one_per_round_trip() -> None:
    clock = Clock()
    limit = AdaptiveLimit(64, clock=clock, initial=10)
    answer(limit, clock, Signal.OVERLOAD)
    assert limit.limit == pytest.approx(5.0)
    saturated(limit, clock, 5 + 6 + 7, Signal.GOOD)  # three round trips' worth of answers
    assert limit.limit == pytest.approx(8.0, abs=0.3)  # additive: one a round trip, not doubling


def test_the_window_grows_only_while_it_is_used() -> None:
    clock = Clock()
    limit = AdaptiveLimit(64, clock=clock, initial=10)
    for _ in range(50):
        answer(limit, clock, Signal.GOOD)  # one request at a time: the window of 10 is never full
    assert limit.limit == 10


def test_requests_waiting_for_a_slot_count_as_use() -> None:
    clock = Clock()
    limit = AdaptiveLimit(64, clock=clock, initial=10)
    limit.slow_start = False
    limit.waiting = 9  # answers handled together: the waiters have not yet taken the slots they free
    for _ in range(10):
        answer(limit, clock, Signal.GOOD)
    assert limit.limit > 10.5


def test_neutral_answers_change_nothing() -> None:
    clock = Clock()
    limit = AdaptiveLimit(16, clock=clock, initial=16)
    saturated(limit, clock, 50, Signal.NEUTRAL)
    assert limit.limit == 16 and limit.in_flight == 0 and limit.slow_start


def test_the_window_never_leaves_its_bounds() -> None:
    clock = Clock()
    limit = AdaptiveLimit(3, clock=clock)
    assert limit.limit == 3  # the initial window is capped by the ceiling
    saturated(limit, clock, 50, Signal.GOOD)
    assert limit.limit == 3
    for _ in range(200):
        answer(limit, clock, Signal.OVERLOAD)
    assert limit.limit == MIN_LIMIT
    with pytest.raises(ValueError):
        AdaptiveLimit(0, clock=clock)


def test_slots_are_taken_and_given_back() -> None:
    clock = Clock()
    limit = AdaptiveLimit(8, clock=clock, initial=2.9)
    assert limit.slots == 2 and limit.delay() == 0.0
    first, second = limit.start(), limit.start()
    assert limit.delay() is None  # both slots taken
    limit.finish(first, Signal.NEUTRAL)
    assert limit.delay() == 0.0
    limit.finish(second, Signal.NEUTRAL)
    assert limit.in_flight == 0


def test_below_one_the_single_slot_is_paced_by_the_round_trip() -> None:
    clock = Clock()
    limit = AdaptiveLimit(8, clock=clock, initial=1)
    answer(limit, clock, Signal.GOOD, latency=0.01)  # srtt 10 ms
    while limit.limit >= 1:
        answer(limit, clock, Signal.OVERLOAD, latency=0.01)
    window = limit.limit
    start = clock.now
    limit.finish(limit.start(), Signal.NEUTRAL)  # a request just started and ended
    assert limit.delay() == pytest.approx(0.01 / window)  # the next one may start srtt / limit after it
    clock.now = start + 0.01 / window
    assert limit.delay() == 0.0


def test_below_one_good_answers_grow_the_window_slowly() -> None:
    clock = Clock()
    limit = AdaptiveLimit(8, clock=clock, initial=0.5)
    limit.slow_start = False
    for _ in range(10):
        answer(limit, clock, Signal.GOOD)
    assert limit.limit == pytest.approx(0.5 * 1.01**10)  # 1% an answer
    for _ in range(60):
        answer(limit, clock, Signal.GOOD)
    assert limit.limit == 1.0  # up to one, then one a round trip
    answer(limit, clock, Signal.GOOD)
    assert limit.limit == 2.0


def test_a_rising_latency_cuts_the_window_a_steady_one_does_not() -> None:
    clock = Clock()
    limit = AdaptiveLimit(64, clock=clock, initial=8)
    limit.slow_start = False
    for _ in range(LATENCY_WARMUP + 100):
        answer(limit, clock, Signal.GOOD, latency=0.02)
    assert limit.decreases == 0
    steady = limit.limit
    for _ in range(20):
        answer(limit, clock, Signal.GOOD, latency=0.2)  # ten times slower
    assert limit.decreases >= 1 and limit.limit < steady


def test_the_first_answers_do_not_judge_the_latency() -> None:
    clock = Clock()
    limit = AdaptiveLimit(64, clock=clock, initial=8)
    answer(limit, clock, Signal.GOOD, latency=0.001)
    for _ in range(LATENCY_WARMUP - 1):
        answer(limit, clock, Signal.GOOD, latency=0.5)  # the token fetch, the first connections
    assert limit.decreases == 0


def test_an_explicit_latency_replaces_the_time_since_the_slot_was_taken() -> None:
    clock = Clock()
    limit = AdaptiveLimit(8, clock=clock)
    permit = limit.start()
    clock.now += 5.0  # e.g. waiting for the hard rate cap
    limit.finish(permit, Signal.GOOD, latency=0.02)
    assert limit.srtt == pytest.approx(0.02)


# -- the gate -------------------------------------------------------------------------------------------------


async def test_the_gate_keeps_requests_in_flight_within_the_window() -> None:
    clock = Clock()
    gate = AdaptiveGate(AdaptiveLimit(4, clock=clock, initial=2), sleep=clock.sleep)
    in_flight, most = 0, 0

    async def request(signal: Signal) -> None:
        nonlocal in_flight, most
        permit = await gate.acquire()
        in_flight += 1
        most = max(most, in_flight)
        await asyncio.sleep(0)
        in_flight -= 1
        gate.release(permit, signal)

    await asyncio.gather(*(request(Signal.NEUTRAL) for _ in range(20)))
    assert most == 2
    await asyncio.gather(*(request(Signal.GOOD) for _ in range(40)))
    assert most == 4  # slow start opened it up to the ceiling, not past it
    assert gate.limit.in_flight == 0


async def test_waiters_are_served_first_come_first_served() -> None:
    clock = Clock()
    gate = AdaptiveGate(AdaptiveLimit(1, clock=clock), sleep=clock.sleep)
    holder = await gate.acquire()
    order: list[int] = []

    async def request(number: int) -> None:
        permit = await gate.acquire()
        order.append(number)
        gate.release(permit, Signal.NEUTRAL)

    tasks = [asyncio.create_task(request(n)) for n in range(5)]
    await asyncio.sleep(0)
    gate.release(holder, Signal.NEUTRAL)
    await asyncio.gather(*tasks)
    assert order == [0, 1, 2, 3, 4]


async def test_a_cancelled_waiter_passes_its_turn_on() -> None:
    clock = Clock()
    gate = AdaptiveGate(AdaptiveLimit(1, clock=clock), sleep=clock.sleep)
    holder = await gate.acquire()
    first = asyncio.create_task(gate.acquire())
    second = asyncio.create_task(gate.acquire())
    await asyncio.sleep(0)
    gate.release(holder, Signal.NEUTRAL)  # wakes `first`...
    first.cancel()  # ...which is stopped before it takes the slot
    await asyncio.gather(first, return_exceptions=True)
    permit = await asyncio.wait_for(second, timeout=5)
    assert isinstance(permit, Permit) and gate.limit.in_flight == 1


async def test_a_waiter_cancelled_in_line_leaves_it() -> None:
    clock = Clock()
    gate = AdaptiveGate(AdaptiveLimit(1, clock=clock), sleep=clock.sleep)
    holder = await gate.acquire()
    waiting = asyncio.create_task(gate.acquire())
    await asyncio.sleep(0)
    waiting.cancel()
    await asyncio.gather(waiting, return_exceptions=True)
    gate.release(holder, Signal.NEUTRAL)
    assert gate.limit.in_flight == 0 and not gate._waiters and gate.limit.waiting == 0
    assert isinstance(await gate.acquire(), Permit)


async def test_the_gate_paces_a_window_below_one() -> None:
    clock = Clock()
    limit = AdaptiveLimit(4, clock=clock, initial=1)
    gate = AdaptiveGate(limit, sleep=clock.sleep)
    permit = await gate.acquire()
    clock.now += 0.01
    gate.release(permit, Signal.GOOD)  # srtt 10 ms
    while limit.limit >= 1:
        permit = await gate.acquire()
        gate.release(permit, Signal.OVERLOAD)
    window = limit.limit
    starts = []
    for _ in range(3):
        permit = await gate.acquire()
        starts.append(clock.now)
        gate.release(permit, Signal.NEUTRAL)
    gaps = [b - a for a, b in zip(starts, starts[1:], strict=False)]
    assert gaps == [pytest.approx(0.01 / window)] * 2

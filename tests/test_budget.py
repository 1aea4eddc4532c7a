"""One rate limit shared by several engines (`engine/_budget.py`): the bucket, and the engines' side of it.

The shared run on a real Dask cluster against the sandbox's token bucket is in `tests/test_dask.py`.
"""

from __future__ import annotations

import asyncio
import pickle
import threading
from collections.abc import Awaitable, Callable

import pytest

from publitrac.engine._budget import BUCKET_SECONDS, RateBudget, SharedRate, slice_size


class Clock:
    """Seconds the tests move; sleeping moves them."""

    def __init__(self) -> None:
        self.now = 0.0
        self.lock = threading.Lock()

    def __call__(self) -> float:
        with self.lock:
            return self.now


def test_the_bucket_starts_full_then_charges_each_reservation() -> None:
    clock = Clock()
    budget = RateBudget(200, clock=clock)
    assert budget.reserve(20) == 0.0  # a tenth of a second's worth, at once
    assert budget.reserve(10) == pytest.approx(10 / 200)
    assert budget.reserve(10) == pytest.approx(20 / 200)  # behind the one before
    clock.now = 10.0  # a long pause refills the bucket, no further than its size
    assert budget.reserve(20) == 0.0
    assert budget.reserve(1) == pytest.approx(1 / 200)


def test_reservations_from_many_threads_are_all_counted() -> None:
    clock = Clock()
    budget = RateBudget(100, clock=clock)
    delays: list[float] = []
    lock = threading.Lock()

    def reserve_many() -> None:
        for _ in range(250):
            delay = budget.reserve(2)
            with lock:
                delays.append(delay)

    threads = [threading.Thread(target=reserve_many) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 4,000 requests reserved at time 0 from a bucket of 10: the last waits for 3,990 of them to be earned.
    assert budget.reserved == 4000
    assert max(delays) == pytest.approx((4000 - 100 * BUCKET_SECONDS) / 100)


def test_a_budget_refuses_to_be_copied_to_another_process() -> None:
    with pytest.raises(TypeError, match="cannot be copied to another process"):
        pickle.dumps(RateBudget(10))


@pytest.mark.parametrize("rate", [0, -1, float("inf"), float("nan")])
def test_a_rate_must_be_positive_and_finite(rate: float) -> None:
    with pytest.raises(ValueError, match="requests per second"):
        RateBudget(rate)


async def test_engines_sharing_a_budget_start_no_more_than_it_allows() -> None:
    """Three engines' requests over simulated time: together within the budget, each getting a share."""
    clock = Clock()
    rate = 100.0
    budget = RateBudget(rate, clock=clock)
    starts: dict[int, list[float]] = {0: [], 1: [], 2: []}

    async def engine(number: int) -> None:
        shared = SharedRate(budget, clock=clock, sleep=sleeping(clock))
        for _ in range(200):
            await shared.acquire()
            starts[number].append(clock())

    await asyncio.gather(*(engine(number) for number in starts))
    every = sorted(time for times in starts.values() for time in times)
    assert len(every) == 600
    # 600 requests at 100 a second: not before the budget has earned them (the bucket's and the last slices'
    # worth aside), and every engine got some of the budget all along.
    allowance = rate * BUCKET_SECONDS + 3 * slice_size(rate)
    assert every[-1] >= (600 - allowance) / rate
    for second in range(int(every[-1])):
        within = sum(1 for time in every if second <= time < second + 1)
        assert within <= rate + allowance, (second, within)
    for times in starts.values():
        assert times[len(times) // 2] < every[-1] * 0.75  # each engine advanced with the others


async def test_a_slice_left_unspent_for_a_second_is_dropped() -> None:
    clock = Clock()
    budget = RateBudget(100, clock=clock)
    shared = SharedRate(budget, clock=clock, sleep=sleeping(clock))
    await shared.acquire()  # reserves a slice of 5
    assert budget.reserved == slice_size(100) == 5
    await shared.acquire()
    assert budget.reserved == 5
    clock.now += 1.5  # idle: what is left of the slice would be a burst
    await shared.acquire()
    assert budget.reserved == 10


def sleeping(clock: Clock) -> Callable[[float], Awaitable[None]]:
    """A sleep that moves the clock to `seconds` after it was called (never back: sleeps overlap)."""

    async def sleep(seconds: float) -> None:
        until = clock() + seconds
        await asyncio.sleep(0)
        with clock.lock:
            clock.now = max(clock.now, until)

    return sleep

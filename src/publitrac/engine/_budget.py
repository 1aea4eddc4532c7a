"""One rate limit shared by several engines: the partitions of a Dask run send `rate_limit` requests per second in
all, not each.

`RateBudget` is a token bucket that hands out slices of itself: `reserve(count)` takes `count` requests'
worth and says how long to wait before they are paid for. One object serves every engine: shared by reference
between the threads of one process (Dask's local scheduler), or held by a Dask actor on one worker, which every
partition calls (`syncs/_dask.py`). `SharedRate` is an engine's side: it reserves a slice (a twentieth of a
second's worth, at most 64 requests), spends it one request at a time, and reserves the next when it is used
up. A slice not spent within a second is dropped, so that an engine that was idle does not burst.

What it guarantees: in any span of `T` seconds the engines together start at most `rate * T` requests, plus
the bucket's size (a tenth of a second's worth) and one slice per engine. The wait is taken by the engine
that reserves; the budget itself never sleeps, so one actor serves any number of workers.
"""

from __future__ import annotations

import asyncio
import math
import threading
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Protocol

# How much of the budget an engine reserves at once, in seconds' worth, and at most how many requests.
SLICE_SECONDS = 0.05
MAX_SLICE = 64
# The bucket's size, in seconds' worth (at least one request): the burst a budget left unused allows.
BUCKET_SECONDS = 0.1
# A slice not spent within this many seconds is dropped (an engine idle that long does not burst).
SLICE_LIFETIME = 1.0


class Budget(Protocol):
    """What an engine reserves from: `RateBudget`, or a handle that calls one elsewhere (a Dask actor)."""

    @property
    def rate(self) -> float:
        """Requests per second, for every engine together."""
        ...

    def reserve(self, count: int) -> float:
        """Take `count` requests' worth; return the seconds to wait before sending them."""
        ...


class RateBudget:
    """A token bucket shared by several engines; thread-safe, never sleeps.

    Args:
        rate: requests per second in all.
        clock: monotonic seconds (injected by tests).

    Example:
        >>> now = [0.0]
        >>> budget = RateBudget(100, clock=lambda: now[0])
        >>> budget.reserve(10)  # the bucket starts full: a tenth of a second's worth
        0.0
        >>> budget.reserve(5)   # in debt: paid for in 0.05 s
        0.05
        >>> now[0] = 1.0; budget.reserve(5)
        0.0
    """

    def __init__(self, rate: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        if not 0 < rate < math.inf:
            raise ValueError(f"rate must be a positive number of requests per second, got {rate!r}")
        self._rate = float(rate)
        self._size = max(1.0, rate * BUCKET_SECONDS)
        self._clock = clock
        self._tokens = self._size
        self._updated = clock()
        self._lock = threading.Lock()
        self._identity = uuid.uuid4().hex
        self.reserved = 0

    @property
    def rate(self) -> float:
        return self._rate

    def reserve(self, count: int) -> float:
        if count < 1:
            raise ValueError(f"count must be at least 1, got {count!r}")
        with self._lock:
            now = self._clock()
            self._tokens = min(self._size, self._tokens + (now - self._updated) * self._rate)
            self._updated = now
            self._tokens -= count  # below zero: the debt the reserving engine waits out
            self.reserved += count
            return max(0.0, -self._tokens / self._rate)

    def __dask_tokenize__(self) -> tuple[str, str]:
        # Dask names the tasks that take this budget by it (it is shared, never copied: see `__reduce__`).
        return ("publitrac.RateBudget", self._identity)

    def __reduce__(self) -> tuple[object, ...]:
        # A copy in another process would be a second budget: the limit would be exceeded without a word.
        raise TypeError(
            "a shared rate_limit cannot be copied to another process: on Dask, run on a distributed.Client "
            "(its workers share one budget through an actor) or on the threaded scheduler"
        )


def slice_size(rate: float) -> int:
    """Requests an engine reserves at once at `rate` per second.

    Example:
        >>> slice_size(300), slice_size(2), slice_size(10_000)
        (15, 1, 64)
    """
    return max(1, min(MAX_SLICE, round(rate * SLICE_SECONDS)))


class SharedRate:
    """An engine's hard cap taken from a shared `Budget`: `await acquire()` before each request.

    Args:
        budget: the shared budget; its `reserve` may block (a call to a Dask actor): it runs in a thread.
        clock, sleep: injected by tests.
    """

    def __init__(
        self,
        budget: Budget,
        *,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._budget = budget
        self._slice = slice_size(budget.rate)
        self._clock = clock
        self._sleep = sleep
        self._left = 0
        self._expires = -math.inf
        # One reservation at a time; the tasks behind it take from the slice it brings.
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        """Wait until one more request is within the budget."""
        async with self._lock:
            if self._left == 0 or self._clock() > self._expires:
                delay = await asyncio.to_thread(self._budget.reserve, self._slice)
                if delay > 0:
                    await self._sleep(delay)
                self._left = self._slice
                self._expires = self._clock() + SLICE_LIFETIME
            self._left -= 1

"""Adaptive concurrency: how many requests may be in flight, learnt from the answers (AIMD with a latency check).

No well-kept library fits (see `docs/guides/speed.md`): the Python ones found run the caller's work for it
(`adaptive-concurrency`), adapt a rate only (`aimd-limiter`), follow CPU load (`ace-concurrency`), or are a fixed
semaphore or bucket (`aiometer`, `aiolimiter`, `pyrate-limiter`). The hard cap in requests per second stays with
`aiolimiter`; this module only decides the window.

`AdaptiveLimit` is the control law, a plain object read by an injected clock (tested without sleeping);
`AdaptiveGate` makes asyncio tasks wait for it.

- **Window.** `limit` requests may be in flight (a float: `int(limit)` slots, at least one). Below one, the
  single slot is paced: a request starts no sooner than `srtt / limit` after the previous one, so that a server
  whose rate limit is below one request per round trip can still be slowed down.
- **Decrease, quickly:** an overload answer (429, 503, no answer in time) multiplies the window by `backoff`
  (0.9; the first time, ending slow start, by 0.5), a latency that has risen past `latency_tolerance` (2x) times
  its slow average by `latency_backoff` (0.9); at most once per round trip: an answer to a request that started
  before the last decrease was caused by the window already cut, and does not cut it again. An overload cut
  goes no higher than the good answers per round trip of late (over two round trips or a quarter second,
  whichever is longer) plus a quarter, at most one: at a rate limit, that lands near the limit at once.
- **Increase, slowly:** after the first decrease, each good answer adds `1 / limit` (one request per round trip
  of answers); below one, the window grows by 1% an answer. Before any decrease (slow start) each good answer
  adds one, doubling the window every round trip from `initial` to the ceiling. The window grows only while it
  is used: with fewer requests in flight (or waiting) than it allows, a good answer proves nothing about a
  larger one.
"""

from __future__ import annotations

import asyncio
import enum
import math
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

MIN_LIMIT = 1 / 64
# Slow start doubles the window each round trip, so it has overshot by up to twice when the first refusal comes.
FIRST_BACKOFF = 0.5
# Then gently, as Netflix's concurrency-limits AIMD does by default (0.9): a 429 that the load did not cause (5%
# of calls refused at random) would otherwise keep the window far below what the server takes; a real overload
# still halves it within seven round trips.
BACKOFF = 0.9
LATENCY_BACKOFF = 0.9
LATENCY_TOLERANCE = 2.0
# Smoothing of the latency: the recent one (about the last 8 answers) against the slow average (about 200).
SHORT_WEIGHT = 1 / 8
LONG_WEIGHT = 1 / 200
# Answers before the latency is trusted: the first ones include the token fetch and the connections' set-up.
LATENCY_WARMUP = 32
PACED_GROWTH = 1.01
# Good answers are counted over the last two round trips, or the last quarter second when that is longer (a
# paced window gets less than one answer a round trip), for the ceiling of a cut (see `_decrease`).
DELIVERY_WINDOW = 2
DELIVERY_SPAN = 0.25


class Signal(enum.Enum):
    """What an answer says about the server's load."""

    GOOD = "good"  # answered, not overloaded: its latency counts
    OVERLOAD = "overload"  # 429, 503, or no answer in time
    NEUTRAL = "neutral"  # says nothing about load (a connection refused, a stopped request)


@dataclass(frozen=True, slots=True)
class Permit:
    """One request's slot: when it started, for its latency and to tell old answers from new ones."""

    started: float


class AdaptiveLimit:
    """The window of requests in flight, moved by each answer; no asyncio, no sleeping.

    Args:
        ceiling: the most requests ever in flight (the run's `concurrency`).
        clock: monotonic seconds.
        initial: the starting window (default: 8, or the ceiling when lower).
        backoff: the factor applied on an overload answer.
        latency_backoff: the factor applied when the latency has risen.
        latency_tolerance: how many times its slow average the recent latency may reach.

    Example:
        >>> now = [0.0]
        >>> limit = AdaptiveLimit(16, clock=lambda: now[0], initial=4)
        >>> permit = limit.start(); now[0] += 0.01; limit.finish(permit, Signal.OVERLOAD)
        >>> limit.limit  # the first refusal ends slow start: halved
        2.0
        >>> permit = limit.start(); now[0] += 0.01; limit.finish(permit, Signal.OVERLOAD)
        >>> round(limit.limit, 2)
        1.8
    """

    def __init__(
        self,
        ceiling: int,
        *,
        clock: Callable[[], float],
        initial: float | None = None,
        backoff: float = BACKOFF,
        latency_backoff: float = LATENCY_BACKOFF,
        latency_tolerance: float = LATENCY_TOLERANCE,
    ) -> None:
        if ceiling < 1:
            raise ValueError(f"the ceiling must be at least 1, got {ceiling!r}")
        if not 0 < backoff < 1 or not 0 < latency_backoff < 1:
            raise ValueError("backoff factors must be between 0 and 1")
        self.ceiling = ceiling
        self._clock = clock
        self.limit = float(min(ceiling, 8) if initial is None else max(MIN_LIMIT, min(ceiling, initial)))
        self._backoff = backoff
        self._latency_backoff = latency_backoff
        self._tolerance = latency_tolerance
        self.in_flight = 0
        # Requests waiting for a slot (kept by `AdaptiveGate`): demand beyond the window.
        self.waiting = 0
        self.slow_start = True
        self._last_decrease = -math.inf
        self._last_start = -math.inf
        self._short: float | None = None
        self._long: float | None = None
        self._samples = 0
        self.decreases = 0
        self._answered: deque[float] = deque()  # when the recent good answers came
        self._first_answer: float | None = None

    @property
    def slots(self) -> int:
        """Requests that may be in flight now."""
        return max(1, int(self.limit))

    @property
    def srtt(self) -> float:
        """The recent latency of good answers in seconds (0 before the first)."""
        return self._short or 0.0

    def delay(self) -> float | None:
        """Seconds before a request may start: 0 now, None while every slot is taken (wait for an answer)."""
        if self.in_flight >= self.slots:
            return None
        if self.limit >= 1 or self._short is None:
            return 0.0
        return max(0.0, self._last_start + self._short / self.limit - self._clock())

    def start(self) -> Permit:
        """Take a slot (call when `delay()` is 0)."""
        now = self._clock()
        self.in_flight += 1
        self._last_start = now
        return Permit(now)

    def finish(self, permit: Permit, signal: Signal, latency: float | None = None) -> None:
        """Give the slot back and learn from the answer.

        Args:
            permit: the slot, from `start`.
            signal: what the answer says about the server's load.
            latency: the request's own time in seconds (default: since the slot was taken), without any wait
                of the caller's between taking the slot and sending.
        """
        self.in_flight -= 1
        now = self._clock()
        if signal is Signal.OVERLOAD:
            self._decrease(permit, self._backoff, now)
        elif signal is Signal.GOOD:
            if self._first_answer is None:
                self._first_answer = now
            self._answered.append(now)
            self._delivered(now)  # keeps only the last round trips' answers
            if self._latency_rose(now - permit.started if latency is None else latency):
                self._decrease(permit, self._latency_backoff, now)
            else:
                self._increase()

    def _latency_rose(self, latency: float) -> bool:
        if self._short is None or self._long is None:
            self._short = self._long = latency
        else:
            self._short += SHORT_WEIGHT * (latency - self._short)
            self._long += LONG_WEIGHT * (latency - self._long)
        self._samples += 1
        return self._samples > LATENCY_WARMUP and self._short > self._tolerance * self._long

    def _decrease(self, permit: Permit, factor: float, now: float) -> None:
        if permit.started < self._last_decrease:
            return  # sent before the last cut: its answer reflects the window before it
        if self.slow_start:
            factor = min(factor, FIRST_BACKOFF)
        limit = self.limit * factor
        delivered = self._delivered(now)
        if delivered > 0:
            # A rate limit refuses what a window takes beyond it: a cut to one more than got through (per round
            # trip, of late) lands near the limit at once; random refusals let nearly all through and leave the
            # factor to decide.
            limit = min(limit, delivered + min(1.0, delivered / 4))
        self.limit = max(MIN_LIMIT, limit)
        self._last_decrease = now
        self.slow_start = False
        self.decreases += 1

    def _delivered(self, now: float) -> float:
        """Good answers per round trip of late (0 before any)."""
        srtt = self.srtt
        span = max(DELIVERY_WINDOW * srtt, DELIVERY_SPAN)
        answered = self._answered
        while answered and answered[0] < now - span:
            answered.popleft()
        if self._first_answer is not None:
            span = min(span, now - self._first_answer)  # a run younger than the span: what it has seen
        return len(answered) * srtt / span if span > 0 and srtt > 0 else 0.0

    def _increase(self) -> None:
        # Counted with this answer's request, and with the requests waiting for a slot: answers that come
        # together are handled before the waiters take the slots they free. In slow start half the window is
        # enough (as TCP's cwnd validation has it): it doubles each round trip, so half was in use a moment ago.
        used = self.in_flight + 1 + self.waiting
        if used < (self.slots / 2 if self.slow_start else self.slots):
            return
        if self.slow_start:
            self.limit = min(float(self.ceiling), self.limit + 1.0)
        elif self.limit < 1:
            self.limit = min(1.0, self.limit * PACED_GROWTH)
        else:
            self.limit = min(float(self.ceiling), self.limit + 1.0 / self.limit)


class AdaptiveGate:
    """Asyncio tasks wait here for a slot of an `AdaptiveLimit`, first come, first served.

    Args:
        limit: the window.
        sleep: awaits a number of seconds (injected by tests), for the paced window below one.

    Example (not run by the doctests: `await` needs a running event loop):
        >>> permit = await gate.acquire()                       # doctest: +SKIP
        >>> gate.release(permit, Signal.GOOD)                  # doctest: +SKIP
    """

    def __init__(self, limit: AdaptiveLimit, *, sleep: Callable[[float], Awaitable[None]]) -> None:
        self.limit = limit
        self._sleep = sleep
        self._waiters: deque[asyncio.Future[None]] = deque()

    async def acquire(self) -> Permit:
        """Wait for a slot and take it."""
        loop = asyncio.get_running_loop()
        woken = False  # a woken task goes first: it was at the head of the line
        while True:
            delay = self.limit.delay()
            if delay is not None and (woken or not self._waiters):
                if delay == 0.0:
                    return self.limit.start()
                await self._sleep(delay)
                woken = True
                continue
            waiter: asyncio.Future[None] = loop.create_future()
            if woken:
                self._waiters.appendleft(waiter)  # woken for a slot another task took first
            else:
                self._waiters.append(waiter)
            self.limit.waiting += 1
            try:
                await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    self._wake()  # woken, then cancelled: the slot goes to the next in line
                else:
                    self._discard(waiter)
                raise
            finally:
                self.limit.waiting -= 1
            woken = True

    def release(self, permit: Permit, signal: Signal, latency: float | None = None) -> None:
        """Give a slot back with what its answer said (see `AdaptiveLimit.finish`); wake a waiter per free slot."""
        self.limit.finish(permit, signal, latency)
        self._wake()

    def _wake(self) -> None:
        free = self.limit.slots - self.limit.in_flight
        while free > 0 and self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                free -= 1

    def _discard(self, waiter: asyncio.Future[None]) -> None:
        try:
            self._waiters.remove(waiter)
        except ValueError:
            pass

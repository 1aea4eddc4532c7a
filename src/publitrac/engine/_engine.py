"""The engine of every sync: `(rows, position, body)` items sent concurrently, each outcome recorded in `rows`.

How it sends (the in-memory sync, the streaming sync and each Dask partition all use it):

- Workers pull items and send them through the generated client, on one pooled connection. How many requests
  are in flight adapts to the answers (`_limiter`: AIMD with a latency check): it drops quickly on 429, 503, a
  call not answered in time or a rising latency, and grows slowly while answers are good, never past
  `concurrency`, the ceiling. There are more workers than that (`WORKERS_PER_SLOT`), so that rows waiting for
  their retry do not leave the window unused; at most `concurrency` rows are taken that are not waiting so. An
  optional rate limit (requests per second, `aiolimiter`) is a hard cap on every attempt; engines that share
  one (the partitions of a Dask run) take it from a `Budget` instead (`_budget`).
- A row is accepted only when the answer says so: a 2xx whose body is the API's JSON with `status` "success". A
  2xx whose body reports an error counts by the body's `code`; one whose body is not understood is retried.
  Transport errors, 408, 429 and 5xx (except 501 and 505) are retried with exponential backoff and full jitter,
  never sooner than the server's `Retry-After`, capped by `max_attempts` and `max_retry_time` (tenacity). Other
  4xx answers are final for their row.
- A try that gets no answer within the connection's timeout, begun after another got none either and with
  nothing answered in between, stops the run (`ConnectionFailed`): the server takes connections but does not
  answer. So many rows in a row without any answer stop it too (the host is gone). A 429 or 503 with
  `Retry-After` delays the retry of the row that got it, not the other rows: the smaller window slows everyone.
- `adaptive=False` (internal, for the benchmark's side-by-side) is the engine as it was before: `concurrency`
  requests in flight at all times, and a `Retry-After` holds back every worker.
- Each item names where its outcome goes: `rows` (a `SyncReport`, or one batch of a stream) and the row's
  position in it; the engine writes status, HTTP status, attempts, time and error there, and calls `on_done` once
  a row has its final status.
- Rows that share an email (trimmed, case-insensitive) are sent one after another, in the order the items come,
  never concurrently: the later row always reaches Publitrac last, so it wins.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator
from typing import Any, Protocol

import numpy as np
import tenacity
from aiolimiter import AsyncLimiter
from publitrac_client import AuthenticatedClient
from publitrac_client.models import LeadSyncRequest

from ..connection._client import TRANSPORT_ERROR, BackoffWait, LeadAnswer, Transient, post_lead, request_left
from .._exceptions import ConnectionFailed
from ._budget import Budget, SharedRate
from ._limiter import AdaptiveGate, AdaptiveLimit, Signal
from ._report import ACCEPTED, FAILED, IN_FLIGHT, NOT_SENT, RETRY_WAIT

BACKOFF_INITIAL = 0.25
BACKOFF_MAX = 10.0
PROGRESS_INTERVAL = 0.2
# So many rows in a row failing without any HTTP answer means the host is gone: stop rather than wait out the
# retry budget of every remaining row.
UNREACHABLE_AFTER = 64
# Workers per slot of the window: a row waiting out its Retry-After holds a worker but no slot.
WORKERS_PER_SLOT = 4
# Whether engines adapt their window when not told (`adaptive=None`): a switch for the benchmark's fixed mode.
ADAPTIVE = True

logger = logging.getLogger("publitrac")
# Whether the current worker's row holds one of the engine's `concurrency` places (each worker is a task).
_holds_place: contextvars.ContextVar[bool] = contextvars.ContextVar("publitrac_holds_place", default=False)


class Rows(Protocol):
    """Where the engine records outcomes: arrays by position, as a `SyncReport` has them."""

    _status: np.ndarray
    _http_status: np.ndarray
    _attempts: np.ndarray
    _elapsed_ms: np.ndarray
    _errors: np.ndarray
    _sent_at: np.ndarray


Item = tuple[Rows, int, dict[str, Any]]


class Engine:
    """Sends `(rows, position, body)` items with bounded concurrency and records each outcome in its rows.

    Args (besides the run settings):
        client: the generated client, open for the run.
        redact: hides secrets in error texts.
        progress: the number of rows to send, for a progress bar; None: no bar.
        sleep, clock: injected by tests.
        on_done: called with `(rows, position, accepted)` once a row has its final status.
        adaptive: adapt the number of requests in flight (the default, `ADAPTIVE`); False: always
            `concurrency`, and a `Retry-After` holds back every worker (the engine before adaptive concurrency).
        wall_clock: seconds since the epoch, for each row's `sent_at` (tests inject one).
        budget: the rate limit shared with other engines (a Dask run's partitions), in place of `rate_limit`.
    """

    def __init__(
        self,
        client: AuthenticatedClient,
        *,
        redact: Callable[[str], str],
        concurrency: int,
        rate_limit: float | None,
        max_attempts: int,
        max_retry_time: float,
        progress: int | None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        on_done: Callable[[Rows, int, bool], None] | None = None,
        adaptive: bool | None = None,
        wall_clock: Callable[[], float] = time.time,
        budget: Budget | None = None,
    ) -> None:
        self._client = client
        self._wall_clock = wall_clock
        self._on_done = on_done
        self._redact = redact
        self._concurrency = concurrency
        adaptive = ADAPTIVE if adaptive is None else adaptive
        self.window = AdaptiveLimit(concurrency, clock=clock) if adaptive else None
        self._gate = AdaptiveGate(self.window, sleep=sleep) if self.window is not None else None
        # At most `concurrency` rows taken and not waiting for a retry, as with one worker each before: rows are
        # read no further ahead than that, whatever the number of workers.
        self._intake = asyncio.Semaphore(concurrency) if self._gate is not None else None
        self._limiter: AsyncLimiter | SharedRate | None = (
            rate_limiter(rate_limit) if budget is None else SharedRate(budget, clock=clock, sleep=sleep)
        )
        self._max_attempts = max_attempts
        self._max_retry_time = max_retry_time
        self._progress = progress
        self._sleep = sleep
        self._wait = BackoffWait(BACKOFF_INITIAL, BACKOFF_MAX)
        self._clock = clock
        self._resume_at = 0.0
        self._chains: dict[str, asyncio.Future[None]] = {}
        self._items: Iterator[Item] = iter(())
        self._serial: np.ndarray | None = None
        self.done = 0
        self.failed = 0
        self._unreachable = 0
        # A timeout starts a silence, which any answer ends; a try begun in a silence that times out too means
        # the server takes connections and does not answer: the run stops (see `_attempt`).
        self._silence: int | None = None
        self._silences = 0
        self._stopping = False

    async def run(self, items: Iterable[Item], serial: np.ndarray | None = None) -> None:
        """Send every item; return when all are answered, raise what stops the run.

        Args:
            items: `(rows, position, body)`, in the order to send them: the outcome goes to `rows` at `position`.
            serial: boolean mask by position of the rows whose email is shared with another row (they are
                chained by email); None chains every row by email.
        """
        self._items = iter(items)
        self._serial = serial
        count = self._concurrency * (WORKERS_PER_SLOT if self._gate is not None else 1)
        workers = [asyncio.create_task(self._worker()) for _ in range(count)]
        progress = asyncio.create_task(self._show_progress()) if self._progress is not None else None
        try:
            done, pending = await asyncio.wait(workers, return_when=asyncio.FIRST_EXCEPTION)
            errors = [task.exception() for task in done if not task.cancelled() and task.exception()]
            if errors:
                raise errors[0]  # type: ignore[misc]
            if any(task.cancelled() for task in done):
                # The items raised CancelledError: the thread that reads them stopped (Ctrl-C in a notebook
                # while it read a batch). The items are over, but the run did not end: it was stopped.
                raise asyncio.CancelledError
        finally:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            if progress is not None:
                progress.cancel()
                await asyncio.gather(progress, return_exceptions=True)
            if self.window is not None:
                logger.debug(
                    "window at the end: %.2f requests in flight, %d decreases",
                    self.window.limit,
                    self.window.decreases,
                )

    async def _worker(self) -> None:
        try:
            await self._work()
        except BaseException:
            # The run stops: workers that have not yet had their turn take no more rows.
            self._stopping = True
            raise

    async def _work(self) -> None:
        items = self._items
        serial = self._serial
        chains = self._chains
        loop = asyncio.get_running_loop()
        while not self._stopping:
            if self._intake is not None:
                await self._intake.acquire()
                _holds_place.set(True)
            try:
                item = next(items, None)
                if item is None:
                    return
                rows, position, body = item
                if serial is not None and not serial[position]:
                    await self._send(rows, position, body)
                    continue
                # Registered before any await, so chains follow the iteration order, which is the row order.
                key = str(body["leadInfo"].get("email", "")).lower()
                previous = chains.get(key)
                mine: asyncio.Future[None] = loop.create_future()
                chains[key] = mine
                try:
                    if previous is not None:
                        await asyncio.shield(previous)
                    await self._send(rows, position, body)
                finally:
                    if not mine.done():
                        mine.set_result(None)
                    if chains.get(key) is mine:
                        del chains[key]
            finally:
                self._leave_place()

    def _leave_place(self) -> None:
        """This worker's row no longer needs its place among the `concurrency` rows taken: done, or waiting."""
        if self._intake is not None and _holds_place.get():
            _holds_place.set(False)
            self._intake.release()

    async def _attempt(self, report: Rows, position: int, request: LeadSyncRequest) -> LeadAnswer:
        if self._gate is None:
            return await self._attempt_fixed(report, position, request)
        permit = await self._gate.acquire()
        signal, latency = Signal.NEUTRAL, None
        try:
            if self._limiter is not None:
                await self._limiter.acquire()
            started = self._clock()
            outcome = await self._post(report, position, request)
            signal, latency = answer_signal(outcome), self._clock() - started
            return outcome
        finally:
            self._gate.release(permit, signal, latency)

    async def _attempt_fixed(self, report: Rows, position: int, request: LeadSyncRequest) -> LeadAnswer:
        if self._resume_at:
            # The server asked everyone to hold back (429 or 503 with Retry-After): sending before then would
            # only collect more refusals and burn attempts.
            delay = self._resume_at - self._clock()
            if delay > 0:
                await self._sleep(delay)
        if self._limiter is not None:
            await self._limiter.acquire()
        outcome = await self._post(report, position, request)
        retry_after = outcome.retry_after
        if retry_after is not None and outcome.code in (429, 503):
            self._resume_at = max(self._resume_at, self._clock() + min(retry_after, self._max_retry_time))
        return outcome

    async def _post(self, report: Rows, position: int, request: LeadSyncRequest) -> LeadAnswer:
        report._status[position] = IN_FLIGHT
        report._attempts[position] += 1
        sent_before = report._sent_at[position]
        report._sent_at[position] = self._wall_clock()
        silence = self._silence
        try:
            outcome = await post_lead(self._client, request, self._redact)
        except BaseException:
            if not request_left():
                # Stopped (a refused key, a cancellation) while waiting for a token: this attempt never left.
                report._sent_at[position] = sent_before
                report._attempts[position] -= 1
                report._status[position] = NOT_SENT if report._attempts[position] == 0 else RETRY_WAIT
            raise
        if outcome.timed_out:
            if silence is not None and silence == self._silence:
                self._stop_silent(report, position, outcome)
            if self._silence is None:
                self._silences += 1
                self._silence = self._silences
        elif outcome.status_code != TRANSPORT_ERROR:
            self._silence = None
        return outcome

    def _stop_silent(self, report: Rows, position: int, outcome: LeadAnswer) -> None:
        """Stop the run: this try timed out, as one before it did, with no answer to anything in between."""
        report._status[position] = FAILED
        report._errors[position] = outcome.error
        report._http_status[position] = TRANSPORT_ERROR
        self.done += 1
        self.failed += 1
        if self._on_done is not None:
            self._on_done(report, position, False)
        error = outcome.error or "no answer"
        hint = " (the server takes connections but does not answer)" if error.startswith("no answer") else ""
        raise ConnectionFailed(
            f"Stopped: {error} on two tries in a row, with no answer to any request in between{hint}"
        )

    async def _send(self, report: Rows, position: int, body: dict[str, Any]) -> None:
        started = time.perf_counter()
        try:
            request = LeadSyncRequest.from_dict(body)
            answer = await self._attempt(report, position, request)
            code, error = answer.status_code, answer.error
            if error is not None and self._max_attempts > 1 and answer.retryable:
                first = Transient(code, error, answer.retry_after)
                code, error = await self._retry(report, position, request, first)
        except (KeyError, TypeError, ValueError) as exc:
            code, error = TRANSPORT_ERROR, f"not sent: malformed body: {type(exc).__name__}: {exc}"[:300]
        finally:
            report._elapsed_ms[position] = (time.perf_counter() - started) * 1000.0
        report._http_status[position] = code
        self.done += 1
        if error is None:
            report._status[position] = ACCEPTED
            # A retried row keeps the error of its failed attempt until here.
            report._errors[position] = None
            self._unreachable = 0
            if self._on_done is not None:
                self._on_done(report, position, True)
            return
        report._status[position] = FAILED
        report._errors[position] = error
        self.failed += 1
        if self._on_done is not None:
            self._on_done(report, position, False)
        if code != TRANSPORT_ERROR:
            self._unreachable = 0  # an answer, even a refusal, means the host is reachable
        elif not error.startswith("not sent"):
            self._unreachable += 1
            if self._unreachable >= UNREACHABLE_AFTER:
                raise ConnectionFailed(f"Stopped: {self._unreachable} rows in a row got no answer ({error})")

    async def _retry(
        self, report: Rows, position: int, request: LeadSyncRequest, first: Transient
    ) -> tuple[int, str | None]:
        """Attempts 2..max_attempts of one row; `first` is the transient failure of attempt 1."""
        pending: Transient | None = first

        def before_sleep(state: tenacity.RetryCallState) -> None:
            self._leave_place()  # waiting for its retry, the row lets another one be taken
            failure = state.outcome.exception() if state.outcome is not None else None
            if isinstance(failure, Transient):
                report._status[position] = RETRY_WAIT
                report._http_status[position] = failure.status_code
                report._errors[position] = failure.error
                logger.debug(
                    "row %d: %s; attempt %d in %.2f s",
                    position,
                    failure.error,
                    state.attempt_number + 1,
                    state.upcoming_sleep,
                )

        retrying = tenacity.AsyncRetrying(
            retry=tenacity.retry_if_exception_type(Transient),
            stop=tenacity.stop_after_attempt(self._max_attempts)
            | tenacity.stop_before_delay(self._max_retry_time),
            wait=self._wait,
            sleep=self._sleep,
            before_sleep=before_sleep,
            reraise=True,
        )
        try:
            async for attempt in retrying:
                with attempt:
                    if pending is not None:
                        # Replays attempt 1's outcome, so that tenacity counts it and waits before attempt 2.
                        failure, pending = pending, None
                        raise failure
                    answer = await self._attempt(report, position, request)
                    if answer.error is not None and answer.retryable:
                        raise Transient(answer.status_code, answer.error, answer.retry_after)
                    return answer.status_code, answer.error
        except Transient as exc:
            return exc.status_code, exc.error
        raise AssertionError("unreachable")

    async def _show_progress(self) -> None:
        from tqdm.auto import tqdm

        bar = tqdm(total=self._progress, unit="row", desc="publitrac sync", dynamic_ncols=True)
        shown_failed = 0
        try:
            while True:
                await asyncio.sleep(PROGRESS_INTERVAL)
                self._update(bar, shown_failed)
                shown_failed = self.failed
        finally:
            self._update(bar, shown_failed)
            bar.close()

    def _update(self, bar: Any, shown_failed: int) -> None:
        if self.failed != shown_failed:
            bar.set_postfix(failed=self.failed, refresh=False)
        bar.update(self.done - bar.n)


def answer_signal(outcome: LeadAnswer) -> Signal:
    """What an answer says about the server's load, for the window.

    Example:
        >>> answer_signal(LeadAnswer(429, "HTTP 429: slow down", retry_after=1.0))
        <Signal.OVERLOAD: 'overload'>
        >>> answer_signal(LeadAnswer(400, "HTTP 400: invalid lead"))
        <Signal.GOOD: 'good'>
    """
    if outcome.timed_out or outcome.code in (429, 503):
        return Signal.OVERLOAD
    if outcome.status_code == TRANSPORT_ERROR:
        return Signal.NEUTRAL  # refused or reset: the host may be gone, which the unreachable count handles
    if outcome.error is None or not outcome.retryable:
        return Signal.GOOD  # accepted, or refused for the lead's own sake: the server is answering well
    return Signal.NEUTRAL


def rate_limiter(rate_limit: float | None) -> AsyncLimiter | None:
    if rate_limit is None:
        return None
    if rate_limit >= 1:
        return AsyncLimiter(rate_limit, 1.0)
    # Below one request a second: one request per 1/rate seconds, no burst.
    return AsyncLimiter(1, 1.0 / rate_limit)


def interactive() -> bool:
    """Whether a progress bar helps: a terminal on stderr, or a Jupyter kernel."""
    ipython = sys.modules.get("IPython")
    if ipython is not None:
        shell = ipython.get_ipython()
        if shell is not None and "IPKernelApp" in getattr(shell, "config", {}):
            return True
    stream = sys.stderr
    return bool(stream is not None and hasattr(stream, "isatty") and stream.isatty())

"""The sync: every valid row of a DataFrame sent to `delayedSync`, concurrently, with an exact report.

How a run goes:

1. The columns are mapped once (`map_columns`) and every row validated (`_validation.check`, which also finds
   the rows sharing an email); invalid rows are marked `invalid` in the report and never sent.
2. With a ledger (`_incremental`, `_ledger`), rows whose body Publitrac already accepted for their email at
   this destination are marked `unchanged` and not sent; each acceptance is recorded as it happens.
3. Bodies are built lazily, a chunk of rows at a time (`_bodies.build_bodies`), as the workers ask for them.
4. `concurrency` workers pull rows and send them through the generated client, on one pooled aiohttp
   connection pool; an optional rate limit (requests per second, `aiolimiter`) applies to every attempt.
5. A row is accepted only when the answer says so: a 2xx whose body is the API's JSON with `status`
   "success". A 2xx whose body reports an error counts by the body's `code`; one whose body is not understood
   is retried. Transport errors, 408, 429 and 5xx (except 501 and 505) are retried with exponential backoff
   and full jitter, never sooner than the server's `Retry-After`, capped by `max_attempts` and
   `max_retry_time` (tenacity). Other 4xx answers are final for their row. A try that gets no answer within
   the connection's timeout, begun after another got none either and with nothing answered in between, stops
   the run (`ConnectionFailed`): the server takes connections but does not answer. A 429 or 503 with
   `Retry-After` also holds back the other workers until then, so that a rate-limited run does not spend its
   attempts on more refusals.
6. Rows that share an email (trimmed, case-insensitive) are sent one after another, in row order, never
   concurrently: the later row always reaches Publitrac last, so it wins.

Interrupting a run never loses a row: each ends `accepted`, `unchanged`, `failed`, `invalid`, `in_flight` (sent, answer
unknown) or `not_sent`. The blocking `sync` raises `SyncInterrupted` (with `.report`) on Ctrl-C; a cancelled
`sync_async` re-raises the cancellation, and `last_report()` holds its report. An error that stops the run (a
refused API key, an unreachable host) carries the report too, as `.report`.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import logging
import os
import sys
import time
from collections.abc import Awaitable, Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal, cast

import numpy as np
import pandas as pd
import tenacity
from aiolimiter import AsyncLimiter
from publitrac_client import AuthenticatedClient
from publitrac_client.models import LeadSyncRequest

from ._bodies import build_bodies
from ._client import TRANSPORT_ERROR, BackoffWait, LeadAnswer, Publitrac, Transient, post_lead, request_left
from ._dask import is_dask_frame
from ._exceptions import ConfigurationError, ConnectionFailed, PublitracError, SyncInterrupted
from ._incremental import IncrementalRun
from ._ledger import Ledger, destination_for, open_ledger
from ._mapping import LeadMapping, map_columns
from ._settings import DEFAULT_CONCURRENCY, DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_RETRY_TIME, check_settings
from ._report import ACCEPTED, FAILED, IN_FLIGHT, INVALID, NOT_SENT, RETRY_WAIT, UNCHANGED, SyncReport
from ._validation import check

BACKOFF_INITIAL = 0.25
BACKOFF_MAX = 10.0
PROGRESS_INTERVAL = 0.2
# So many rows in a row failing without any HTTP answer means the host is gone: stop rather than wait out the
# retry budget of every remaining row.
UNREACHABLE_AFTER = 64

logger = logging.getLogger("publitrac")
_last_report: SyncReport | None = None


def last_report() -> SyncReport | None:
    """The report of the latest sync started in this process: finished, interrupted, cancelled or running.

    Returns:
        The SyncReport, or None before the first sync.

    Example (not run by the doctests: it needs a running event loop, a frame `df` and a connection `pt`):
        >>> task = asyncio.create_task(publitrac.sync_async(df, pt))   # doctest: +SKIP
        >>> publitrac.last_report().summary                              # doctest: +SKIP
    """
    return _last_report


class _Engine:
    """Sends `(position, body)` items with bounded concurrency and records each outcome in a SyncReport."""

    def __init__(
        self,
        client: AuthenticatedClient,
        report: SyncReport,
        *,
        redact: Callable[[str], str],
        concurrency: int,
        rate_limit: float | None,
        max_attempts: int,
        max_retry_time: float,
        progress: bool,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
        on_accepted: Callable[[int], None] | None = None,
    ) -> None:
        self._client = client
        self._on_accepted = on_accepted
        self._report = report
        self._redact = redact
        self._concurrency = concurrency
        self._limiter = _limiter(rate_limit)
        self._max_attempts = max_attempts
        self._max_retry_time = max_retry_time
        self._progress = progress
        self._sleep = sleep
        self._wait = BackoffWait(BACKOFF_INITIAL, BACKOFF_MAX)
        self._clock = clock
        self._resume_at = 0.0
        self._chains: dict[str, asyncio.Future[None]] = {}
        self._items: Iterator[tuple[int, dict[str, Any]]] = iter(())
        self._serial: np.ndarray | None = None
        self.done = 0
        self.failed = 0
        self._unreachable = 0
        # A timeout starts a silence, which any answer ends; a try begun in a silence that times out too means
        # the server takes connections and does not answer: the run stops (see `_attempt`).
        self._silence: int | None = None
        self._silences = 0

    async def run(
        self, items: Iterable[tuple[int, dict[str, Any]]], serial: np.ndarray | None = None
    ) -> None:
        """Send every item; return when all are answered, raise what stops the run.

        Args:
            items: `(position, body)` pairs, in the order to send them.
            serial: boolean mask by position of the rows whose email is shared with another row (they are
                chained by email); None chains every row by email.
        """
        self._items = iter(items)
        self._serial = serial
        workers = [asyncio.create_task(self._worker()) for _ in range(self._concurrency)]
        progress = asyncio.create_task(self._show_progress()) if self._progress else None
        try:
            done, pending = await asyncio.wait(workers, return_when=asyncio.FIRST_EXCEPTION)
            errors = [task.exception() for task in done if not task.cancelled() and task.exception()]
            if errors:
                raise errors[0]  # type: ignore[misc]
        finally:
            for task in workers:
                task.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            if progress is not None:
                progress.cancel()
                await asyncio.gather(progress, return_exceptions=True)

    async def _worker(self) -> None:
        items = self._items
        serial = self._serial
        chains = self._chains
        loop = asyncio.get_running_loop()
        while True:
            item = next(items, None)
            if item is None:
                return
            position, body = item
            if serial is not None and not serial[position]:
                await self._send(position, body)
                continue
            # Registered before any await, so chains follow the iteration order, which is the row order.
            key = str(body["leadInfo"].get("email", "")).lower()
            previous = chains.get(key)
            mine: asyncio.Future[None] = loop.create_future()
            chains[key] = mine
            try:
                if previous is not None:
                    await asyncio.shield(previous)
                await self._send(position, body)
            finally:
                if not mine.done():
                    mine.set_result(None)
                if chains.get(key) is mine:
                    del chains[key]

    async def _attempt(self, position: int, request: LeadSyncRequest) -> LeadAnswer:
        report = self._report
        if self._resume_at:
            # The server asked everyone to hold back (429 or 503 with Retry-After): sending before then would
            # only collect more refusals and burn attempts.
            delay = self._resume_at - self._clock()
            if delay > 0:
                await self._sleep(delay)
        if self._limiter is not None:
            await self._limiter.acquire()
        report._status[position] = IN_FLIGHT
        report._attempts[position] += 1
        silence = self._silence
        try:
            outcome = await post_lead(self._client, request, self._redact)
        except BaseException:
            if not request_left():
                # Stopped (a refused key, a cancellation) while waiting for a token: this attempt never left.
                report._attempts[position] -= 1
                report._status[position] = NOT_SENT if report._attempts[position] == 0 else RETRY_WAIT
            raise
        if outcome.timed_out:
            if silence is not None and silence == self._silence:
                self._stop_silent(position, outcome)
            if self._silence is None:
                self._silences += 1
                self._silence = self._silences
        elif outcome.status_code != TRANSPORT_ERROR:
            self._silence = None
        retry_after = outcome.retry_after
        if retry_after is not None and outcome.code in (429, 503):
            self._resume_at = max(self._resume_at, self._clock() + min(retry_after, self._max_retry_time))
        return outcome

    def _stop_silent(self, position: int, outcome: LeadAnswer) -> None:
        """Stop the run: this try timed out, as one before it did, with no answer to anything in between."""
        report = self._report
        report._status[position] = FAILED
        report._errors[position] = outcome.error
        report._http_status[position] = TRANSPORT_ERROR
        self.done += 1
        self.failed += 1
        error = outcome.error or "no answer"
        hint = " (the server takes connections but does not answer)" if error.startswith("no answer") else ""
        raise ConnectionFailed(
            f"Stopped: {error} on two tries in a row, with no answer to any request in between{hint}"
        )

    async def _send(self, position: int, body: dict[str, Any]) -> None:
        report = self._report
        started = time.perf_counter()
        try:
            request = LeadSyncRequest.from_dict(body)
            answer = await self._attempt(position, request)
            code, error = answer.status_code, answer.error
            if error is not None and self._max_attempts > 1 and answer.retryable:
                code, error = await self._retry(position, request, Transient(code, error, answer.retry_after))
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
            if self._on_accepted is not None:
                self._on_accepted(position)
            return
        report._status[position] = FAILED
        report._errors[position] = error
        self.failed += 1
        if code != TRANSPORT_ERROR:
            self._unreachable = 0  # an answer, even a refusal, means the host is reachable
        elif not error.startswith("not sent"):
            self._unreachable += 1
            if self._unreachable >= UNREACHABLE_AFTER:
                raise ConnectionFailed(f"Stopped: {self._unreachable} rows in a row got no answer ({error})")

    async def _retry(
        self, position: int, request: LeadSyncRequest, first: Transient
    ) -> tuple[int, str | None]:
        """Attempts 2..max_attempts of one row; `first` is the transient failure of attempt 1."""
        report = self._report
        pending: Transient | None = first

        def before_sleep(state: tenacity.RetryCallState) -> None:
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
                    answer = await self._attempt(position, request)
                    if answer.error is not None and answer.retryable:
                        raise Transient(answer.status_code, answer.error, answer.retry_after)
                    return answer.status_code, answer.error
        except Transient as exc:
            return exc.status_code, exc.error
        raise AssertionError("unreachable")

    async def _show_progress(self) -> None:
        from tqdm.auto import tqdm

        total = int((~np.isin(self._report._status, (INVALID, UNCHANGED))).sum())
        bar = tqdm(total=total, unit="row", desc="publitrac sync", dynamic_ncols=True)
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


def _limiter(rate_limit: float | None) -> AsyncLimiter | None:
    if rate_limit is None:
        return None
    if rate_limit >= 1:
        return AsyncLimiter(rate_limit, 1.0)
    # Below one request a second: one request per 1/rate seconds, no burst.
    return AsyncLimiter(1, 1.0 / rate_limit)


def _interactive() -> bool:
    """Whether a progress bar helps: a terminal on stderr, or a Jupyter kernel."""
    ipython = sys.modules.get("IPython")
    if ipython is not None:
        shell = ipython.get_ipython()
        if shell is not None and "IPKernelApp" in getattr(shell, "config", {}):
            return True
    stream = sys.stderr
    return bool(stream is not None and hasattr(stream, "isatty") and stream.isatty())


def _prepare(
    df: pd.DataFrame,
    *,
    email: str | None,
    mapping: Mapping[str, str | None] | LeadMapping | None,
    custom_fields: Sequence[str] | Mapping[str, str] | str | None,
    dry_run: bool,
) -> tuple[SyncReport, LeadMapping, np.ndarray, np.ndarray]:
    """Map, validate, and set up the report. Returns (report, mapping, positions to send, serial mask)."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(df).__name__}")
    lead_mapping = map_columns(df, email=email, mapping=mapping, custom_fields=custom_fields)
    # the validation finds the rows sharing an email once: they are the rows sent one after another
    checked = check(df, lead_mapping)
    emails = df[lead_mapping.email]
    report = SyncReport(
        df, emails=emails, problems=checked.problems, invalid=checked.invalid, dry_run=dry_run
    )
    return report, lead_mapping, np.flatnonzero(~checked.invalid), checked.shared_email


class _Run:
    """What the blocking sync needs to stop a run from another thread: its loop, its task, its report."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.task: asyncio.Task[Any] | None = None
        self.report: SyncReport | None = None
        self.cancelled = False

    def cancel(self) -> None:
        self.cancelled = True
        if self.loop is not None and self.task is not None and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.task.cancel)


async def _sync(
    df: pd.DataFrame,
    client: Publitrac | None,
    run: _Run,
    *,
    email: str | None,
    mapping: Mapping[str, str | None] | LeadMapping | None,
    custom_fields: Sequence[str] | Mapping[str, str] | str | None,
    concurrency: int,
    rate_limit: float | None,
    max_attempts: int,
    max_retry_time: float,
    progress: bool | None,
    dry_run: bool,
    ledger: str | os.PathLike[str] | Ledger | Literal[False] | None,
    resend: Literal["changed", "all"],
    input_name: str | None,
) -> SyncReport:
    global _last_report
    run.loop = asyncio.get_running_loop()
    run.task = asyncio.current_task()
    if run.cancelled:
        raise asyncio.CancelledError
    check_settings(concurrency, rate_limit, max_attempts, max_retry_time)
    if resend not in ("changed", "all"):
        raise ConfigurationError(f"resend must be 'changed' or 'all', got {resend!r}")
    if client is None and not dry_run:
        client = Publitrac()
    if client is None and ledger is not False:
        # A dry run reports the unchanged rows when the environment names a destination.
        with contextlib.suppress(ConfigurationError):
            client = Publitrac()
    if client is not None and not isinstance(client, Publitrac):
        raise TypeError(f"client must be a publitrac.Publitrac connection, got {type(client).__name__}")
    report, lead_mapping, positions, serial = _prepare(
        df, email=email, mapping=mapping, custom_fields=custom_fields, dry_run=dry_run
    )
    run.report = _last_report = report
    incremental = _incremental(ledger, client)
    try:
        if incremental is not None:
            positions = incremental.decide(df, lead_mapping, positions, serial, report, resend=resend)
            if not dry_run:
                incremental.start(report, input_name=input_name)
        if dry_run or len(positions) == 0:
            report._finish()
            return report
        assert client is not None
        await _send(
            df,
            client,
            report,
            lead_mapping,
            positions,
            serial,
            incremental,
            progress=progress,
            concurrency=concurrency,
            rate_limit=rate_limit,
            max_attempts=max_attempts,
            max_retry_time=max_retry_time,
        )
    finally:
        if incremental is not None:
            incremental.finish(report)
    logger.info("sync done: %s", report.describe())
    return report


def _incremental(
    ledger: str | os.PathLike[str] | Ledger | Literal[False] | None, client: Publitrac | None
) -> IncrementalRun | None:
    """The ledger side of a sync, or None (no ledger, or no destination)."""
    if ledger is False or client is None:
        return None
    store = open_ledger(ledger)
    if store is None:
        return None
    return IncrementalRun(store, destination_for(client), owns_ledger=store is not ledger)


async def _send(
    df: pd.DataFrame,
    client: Publitrac,
    report: SyncReport,
    lead_mapping: LeadMapping,
    positions: np.ndarray,
    serial: np.ndarray,
    incremental: IncrementalRun | None,
    *,
    progress: bool | None,
    concurrency: int,
    rate_limit: float | None,
    max_attempts: int,
    max_retry_time: float,
) -> None:
    show = _interactive() if progress is None else bool(progress)
    flusher = asyncio.create_task(incremental.flush_periodically()) if incremental is not None else None
    try:
        async with client.async_client(max_connections=concurrency) as generated:
            engine = _Engine(
                generated,
                report,
                redact=client.redact,
                concurrency=min(concurrency, len(positions)),
                rate_limit=rate_limit,
                max_attempts=max_attempts,
                max_retry_time=max_retry_time,
                progress=show,
                on_accepted=incremental.accepted if incremental is not None else None,
            )
            await engine.run(build_bodies(df, lead_mapping, positions), serial)
    except PublitracError as exc:
        report._finish(interrupted=True)
        exc.report = report
        logger.info("sync stopped: %s; %s", exc, report.describe())
        raise
    except BaseException:
        report._finish(interrupted=True)
        logger.info("sync interrupted: %s", report.describe())
        raise
    finally:
        if flusher is not None:
            flusher.cancel()
            await asyncio.gather(flusher, return_exceptions=True)
    report._finish()


async def sync_async(
    df: pd.DataFrame,
    client: Publitrac | None = None,
    *,
    email: str | None = None,
    mapping: Mapping[str, str | None] | LeadMapping | None = None,
    custom_fields: Sequence[str] | Mapping[str, str] | Literal["all"] | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    rate_limit: float | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    max_retry_time: float = DEFAULT_MAX_RETRY_TIME,
    progress: bool | None = None,
    dry_run: bool = False,
    ledger: str | os.PathLike[str] | Ledger | Literal[False] | None = None,
    resend: Literal["changed", "all"] = "changed",
    input_name: str | None = None,
) -> SyncReport:
    """Send every valid row of `df` to Publitrac; the awaitable form of `sync` (same arguments).

    Cancelling the task stops the run: the cancellation propagates, and `publitrac.last_report()` holds the
    report, in which every row is accepted, failed, invalid, `in_flight` or `not_sent`.

    Example (not run by the doctests: `await` needs a running event loop, as in a notebook cell):
        >>> report = await publitrac.sync_async(df, pt, email="E-mail")    # doctest: +SKIP
    """
    return await _sync(
        df,
        client,
        _Run(),
        email=email,
        mapping=mapping,
        custom_fields=custom_fields,
        concurrency=concurrency,
        rate_limit=rate_limit,
        max_attempts=max_attempts,
        max_retry_time=max_retry_time,
        progress=progress,
        dry_run=dry_run,
        ledger=ledger,
        resend=resend,
        input_name=input_name,
    )


def sync(
    df: pd.DataFrame,
    client: Publitrac | None = None,
    *,
    email: str | None = None,
    mapping: Mapping[str, str | None] | LeadMapping | None = None,
    custom_fields: Sequence[str] | Mapping[str, str] | Literal["all"] | None = None,
    concurrency: int = DEFAULT_CONCURRENCY,
    rate_limit: float | None = None,
    max_attempts: int = DEFAULT_MAX_ATTEMPTS,
    max_retry_time: float = DEFAULT_MAX_RETRY_TIME,
    progress: bool | None = None,
    dry_run: bool = False,
    ledger: str | os.PathLike[str] | Ledger | Literal[False] | None = None,
    resend: Literal["changed", "all"] = "changed",
    input_name: str | None = None,
) -> SyncReport:
    """Send every valid row of `df` to Publitrac's delayed sync and report what happened to each row.

    Works in scripts and in Jupyter (where an event loop already runs, the sync runs in a worker thread with
    its own loop). Rows that share an email are sent one after another in row order: the later row wins.

    Args:
        df: the leads; never modified. A `dask.dataframe.DataFrame` is synced on Dask, each partition on a
            worker, and gives a `DaskSyncReport` (see `publitrac.sync_dask`, which has its extra options). An
            iterable of DataFrames (batches of one stream, e.g. `pd.read_csv(..., chunksize=)`) is synced
            batch by batch and gives a `StreamReport` (see `publitrac.sync_file`).
        client: the connection; default: `Publitrac()` from the environment (not needed for a dry run).
        email: the email column; detected from the column names when omitted.
        mapping: `{column: leadInfo field}` overrides (`None` drops a column), or a `LeadMapping`.
        custom_fields: columns to send as custom fields: a list, a dict `{column: name}`, or `"all"`.
        concurrency: requests in flight at once.
        rate_limit: at most this many requests per second (retries included); None: no limit.
        max_attempts: attempts per row for transient errors (1: no retry).
        max_retry_time: seconds a row may spend retrying before it is given up as failed.
        progress: show a progress bar; None: when interactive (a terminal or a notebook).
        dry_run: validate and report without sending: invalid rows `invalid`, unchanged rows `unchanged`, the
            others `not_sent` (they would be sent).
        ledger: where to remember what Publitrac accepted, so that rows it already has are `unchanged` and not
            sent again: None for the default file (`PUBLITRAC_LEDGER`, else the user's data directory), a
            path for another SQLite file, a `Ledger`, or False for none (every row is sent).
        resend: "changed" sends only rows whose body differs from the one last accepted for their email at this
            destination; "all" sends every valid row and refreshes the ledger.
        input_name: the name recorded with the run in the ledger (the CLI gives the file's name).

    Returns:
        A SyncReport: `.results` (one row per input row, aligned to `df.index`), `.summary`, `.failed_rows()`,
        `.invalid_rows()`, `.rows_to_retry()`, `.problems`, `.to_csv(path)`, `.run_id` (the run in the ledger).

    Raises:
        ConfigurationError: a bad mapping or setting, or a missing API key or base URL.
        AuthenticationError: the API key was refused (nothing is retried).
        ConnectionFailed: the API could not be reached.
        SyncInterrupted: Ctrl-C; its `.report` accounts for every row.

    Example (against a local sandbox; `publitrac.Publitrac()` reads your account from the environment):
        >>> import pandas as pd, publitrac
        >>> from publitrac.sandbox import run_sandbox
        >>> df = pd.DataFrame({"E-mail": ["ada@example.com", "bad"], "Company": ["ACME", "Initech"]})
        >>> with run_sandbox() as sandbox:
        ...     pt = publitrac.Publitrac(api_key=sandbox.api_key, base_url=sandbox.base_url)
        ...     report = publitrac.sync(df, pt, email="E-mail", custom_fields=["Company"], progress=False)
        ...     sandbox.wait_until_applied(timeout=10)
        ...     sandbox.lead("ada@example.com")["leadCustomField"]
        {'Company': 'ACME'}
        >>> report.counts["accepted"], report.counts["invalid"]
        (1, 1)
    """
    if is_dask_frame(df):
        from ._dask import sync_dask

        return sync_dask(  # type: ignore[return-value]
            cast(Any, df),
            client,
            email=email,
            mapping=mapping,
            custom_fields=custom_fields,
            concurrency=concurrency,
            rate_limit=rate_limit,
            max_attempts=max_attempts,
            max_retry_time=max_retry_time,
            dry_run=dry_run,
            ledger=ledger,
            resend=resend,
            input_name=input_name,
        )
    if not isinstance(df, pd.DataFrame) and isinstance(df, Iterable) and not isinstance(df, str | bytes):
        from ._stream import sync_stream

        return sync_stream(
            df,
            client,
            email=email,
            mapping=mapping,
            custom_fields=custom_fields,
            concurrency=concurrency,
            rate_limit=rate_limit,
            max_attempts=max_attempts,
            max_retry_time=max_retry_time,
            progress=progress,
            dry_run=dry_run,
            ledger=ledger,
            resend=resend,
            input_name=input_name,
        )
    run = _Run()
    coroutine = _sync(
        df,
        client,
        run,
        email=email,
        mapping=mapping,
        custom_fields=custom_fields,
        concurrency=concurrency,
        rate_limit=rate_limit,
        max_attempts=max_attempts,
        max_retry_time=max_retry_time,
        progress=progress,
        dry_run=dry_run,
        ledger=ledger,
        resend=resend,
        input_name=input_name,
    )
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        try:
            # asyncio.run turns Ctrl-C into a cancellation of the run, so the report is finished first.
            return asyncio.run(coroutine)
        except KeyboardInterrupt as exc:
            if run.report is None:
                raise
            raise SyncInterrupted(run.report) from exc
    # An event loop runs in this thread (Jupyter): run the sync on its own loop in a worker thread.
    with concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="publitrac-sync") as pool:
        future = pool.submit(asyncio.run, coroutine)
        try:
            return future.result()
        except KeyboardInterrupt as exc:
            run.cancel()
            with contextlib.suppress(BaseException):  # the cancellation we just asked for
                future.result()
            if run.report is None:
                raise
            raise SyncInterrupted(run.report) from exc

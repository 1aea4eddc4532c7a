"""The sync of one DataFrame in memory: every valid row sent to `delayedSync`, with an exact report.

How a run goes:

1. The columns are mapped once (`map_columns`) and every row validated (`lead._validation.check`, which also finds
   the rows sharing an email); invalid rows are marked `invalid` in the report and never sent.
2. With a ledger (`ledger._incremental`, `ledger._store`), rows whose body Publitrac already accepted for their email at
   this destination are marked `unchanged` and not sent; each acceptance is recorded as it happens.
3. Bodies are built lazily, a chunk of rows at a time (`lead._bodies.build_bodies`), as the workers ask for them.
4. The engine (`engine._engine`) sends them concurrently, retries what is worth retrying, and sends the rows that
   share an email one after another, in row order: the later row wins.

Interrupting a run never loses a row: each ends `accepted`, `unchanged`, `failed`, `invalid`, `in_flight` (sent,
answer unknown) or `not_sent`. The blocking `sync_frame` raises `SyncInterrupted` (with `.report`) on Ctrl-C
(`_blocking`); a cancelled `sync_async` re-raises the cancellation, and `last_report()` holds its report. An error
that stops the run (a refused API key, an unreachable host) carries the report too, as `.report`.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Iterator
from typing import Any, Unpack

import numpy as np
import pandas as pd

from ._blocking import run_blocking
from ..lead._bodies import build_bodies
from ..connection._client import Publitrac
from ..engine._budget import Budget
from ..engine._engine import Engine, Rows, interactive
from .._exceptions import PublitracError, RunRefused, SyncInterrupted
from ._guards import canary_refusal, column_refusal, invalid_refusal
from ..ledger._incremental import IncrementalRun, key_rows, open_for_run
from ..lead._mapping import LeadMapping, map_columns
from ..engine._report import ACCEPTED, FAILED, SyncReport
from ._provenance import run_source
from ._settings import LedgerSetting, RunSettings, SyncOptions, run_connection, with_run_settings
from ..lead._validation import check

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


def _prepare(
    df: pd.DataFrame, settings: RunSettings
) -> tuple[SyncReport, LeadMapping, np.ndarray, np.ndarray]:
    """Map, validate, and set up the report. Returns (report, mapping, positions to send, serial mask)."""
    if not isinstance(df, pd.DataFrame):
        raise TypeError(f"expected a pandas DataFrame, got {type(df).__name__}")
    lead_mapping = map_columns(
        df, email=settings.email, mapping=settings.mapping, custom_fields=settings.custom_fields
    )
    # the validation finds the rows sharing an email once: they are the rows sent one after another
    checked = check(df, lead_mapping)
    emails = df[lead_mapping.email]
    report = SyncReport(
        df, emails=emails, problems=checked.problems, invalid=checked.invalid, dry_run=bool(settings.dry_run)
    )
    return report, lead_mapping, np.flatnonzero(~checked.invalid), checked.shared_email


async def _sync(
    df: pd.DataFrame,
    client: Publitrac | None,
    settings: RunSettings,
    started: Callable[[SyncReport], None] | None = None,
    budget: Budget | None = None,
) -> SyncReport:
    global _last_report
    dry_run = settings.dry_run
    client = run_connection(client, dry_run=bool(dry_run), ledger=settings.ledger)
    report, lead_mapping, positions, serial = _prepare(df, settings)
    _last_report = report
    if started is not None:
        started(report)
    incremental = _incremental(settings.ledger, client, keep_bodies=settings.keep_bodies)
    try:
        _guard(report, invalid_refusal(len(df) - len(positions), len(df), settings.max_invalid))
        if incremental is not None:
            positions = incremental.decide(
                df, lead_mapping, positions, serial, report, resend=settings.resend
            )
            if incremental.bodies_kept and (dry_run == "diff" or not settings.allow_mass_change):
                changes = incremental.changes(examples=dry_run == "diff")
                if dry_run == "diff":
                    report.diff = changes
                if not settings.allow_mass_change:
                    last = incremental.last_run()
                    _guard(
                        report,
                        column_refusal(
                            df,
                            None if last is None else last.mapping,
                            changes.changed,
                            changes.known,
                            settings.max_changed,
                            run_id=None if last is None else last.id,
                        ),
                    )
            if not dry_run:
                incremental.start(
                    report,
                    input_name=settings.input_name,
                    mapping=lead_mapping,
                    source=run_source(settings, lead_mapping),
                )
        elif not dry_run:  # the results' body_key; a dry run without a ledger (validate) is spared the cost
            key_rows(df, lead_mapping, positions, serial, report)
        if dry_run or len(positions) == 0:
            report._finish()
            return report
        assert client is not None
        await _send(df, client, settings, report, lead_mapping, positions, serial, incremental, budget)
    finally:
        if incremental is not None:
            incremental.finish(report)
    logger.info("sync done: %s", report.describe())
    return report


def _guard(report: SyncReport, refusal: RunRefused | None) -> None:
    """Stop the run on a guard's refusal (a dry run, which sends nothing, keeps it as `report.refusal`)."""
    if refusal is None:
        return
    if report.dry_run:
        if report.refusal is None:
            report.refusal = refusal
        return
    report._finish(interrupted=True)
    refusal.report = report
    logger.info("sync refused: %s", refusal)
    raise refusal


def _incremental(
    ledger: LedgerSetting, client: Publitrac | None, *, keep_bodies: bool = True
) -> IncrementalRun | None:
    """The ledger side of a sync, or None (no ledger, or no destination)."""
    opened = open_for_run(ledger, client)
    if opened is None:
        return None
    store, destination, owned = opened
    return IncrementalRun(store, destination, owns_ledger=owned, keep_bodies=keep_bodies)


async def _send(
    df: pd.DataFrame,
    client: Publitrac,
    settings: RunSettings,
    report: SyncReport,
    lead_mapping: LeadMapping,
    positions: np.ndarray,
    serial: np.ndarray,
    incremental: IncrementalRun | None,
    budget: Budget | None = None,
) -> None:
    show = interactive() if settings.progress is None else bool(settings.progress)
    flusher = asyncio.create_task(incremental.flush_periodically()) if incremental is not None else None
    try:
        async with client.async_client(max_connections=settings.concurrency) as generated:
            engine = Engine(
                generated,
                redact=client.redact,
                concurrency=min(settings.concurrency, len(positions)),
                rate_limit=settings.rate_limit,
                max_attempts=settings.max_attempts,
                max_retry_time=settings.max_retry_time,
                progress=len(positions) if show else None,
                on_done=None if incremental is None else _recorder(incremental),
                budget=budget,
            )

            def items(chosen: np.ndarray) -> Iterator[tuple[SyncReport, int, dict[str, Any]]]:
                return ((report, position, body) for position, body in build_bodies(df, lead_mapping, chosen))

            canary = settings.canary
            if canary is not None and len(positions) > canary:
                # the canary's rows are answered before any other row leaves
                first, positions = positions[:canary], positions[canary:]
                await engine.run(items(first), serial)
                codes = report._codes()[first]
                sent = int(np.isin(codes, (ACCEPTED, FAILED)).sum())
                failed = int((codes == FAILED).sum())
                refusal = canary_refusal(
                    failed, sent, settings.stop_if_failing, canary=canary, left=len(positions)
                )
                if refusal is not None:
                    raise refusal
            await engine.run(items(positions), serial)
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


def _recorder(incremental: IncrementalRun) -> Callable[[Rows, int, bool], None]:
    """The engine's `on_done`: each accepted row goes to the ledger's queue."""

    def done(rows: Rows, position: int, accepted: bool) -> None:
        if accepted:
            incremental.accepted(position)

    return done


@with_run_settings
async def sync_async(
    df: pd.DataFrame, client: Publitrac | None = None, **options: Unpack[SyncOptions]
) -> SyncReport:
    """Send every valid row of `df` to Publitrac; the awaitable form of `sync` (same arguments).

    Cancelling the task stops the run: the cancellation propagates, and `publitrac.last_report()` holds the
    report, in which every row is accepted, failed, invalid, `in_flight` or `not_sent`.

    Example (not run by the doctests: `await` needs a running event loop, as in a notebook cell):
        >>> report = await publitrac.sync_async(df, pt, email="E-mail")    # doctest: +SKIP
    """
    return await _sync(df, client, RunSettings.of(options, entry="sync_async"))


@with_run_settings
def sync_frame(
    df: pd.DataFrame, client: Publitrac | None = None, **options: Unpack[SyncOptions]
) -> SyncReport:
    """`publitrac.sync` for a pandas DataFrame (see its arguments), blocking, in a script as in Jupyter.

    Raises:
        SyncInterrupted: Ctrl-C; its `.report` accounts for every row.
    """
    return run_frame(df, client, RunSettings.of(options, entry="sync"))


def run_frame(
    df: pd.DataFrame, client: Publitrac | None, settings: RunSettings, *, budget: Budget | None = None
) -> SyncReport:
    """`sync_frame` with the settings already checked (the sync on Dask runs each partition so, with the
    run's shared `budget` of requests per second in place of `settings.rate_limit`).

    Raises:
        SyncInterrupted: Ctrl-C; its `.report` accounts for every row.
    """
    started: list[SyncReport] = []
    try:
        return run_blocking(_sync(df, client, settings, started.append, budget))
    except KeyboardInterrupt as exc:
        if not started:
            raise
        raise SyncInterrupted(started[0]) from exc

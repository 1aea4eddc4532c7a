"""The streaming sync: rows read, validated, sent and recorded batch by batch, memory bounded by the batch size.

`sync_file(path, client)` reads a file with `read_batches`; `publitrac.sync(iterable_of_frames)` takes any
iterable of DataFrames. Either way:

1. The columns are mapped on the first batch; every later batch must have the same columns.
2. Each batch is validated as it is read (`lead._validation.check`), and its valid rows' bodies are built lazily.
3. All batches feed **one** stream of `(batch, position in the batch, body)` items into the engine (`engine._engine`),
   and every row is chained by email (the engine's `serial=None` path): a row never overtakes an earlier row with
   the same email, even one from an earlier batch.
4. The engine writes each row's outcome into its batch's own small `SyncReport`; `_Window` keeps the batches in
   memory in order. A batch is flushed once all its rows have their final status and every earlier batch is
   flushed: its lines go to the results file (one line per input row, in input order, as the run goes), its
   counts to the totals, and the batch is dropped. Batches are read only as the workers ask for rows, so what is
   in memory is the batches from the oldest unfinished row to the newest row read.

With a ledger (as `publitrac.sync`: the default SQLite file, a path, a `postgresql://` URL, or False), each batch's
rows that Publitrac already has are `unchanged` and not sent, and acceptances are recorded as they happen; the
whole stream is one run in the ledger.

Stopping part way (Ctrl-C, SIGTERM, or an error that ends the run: a refused key, an unreachable host): the rows
read get their status as usual (`in_flight`, `not_sent`...). For a file source (`sync_file(path)`, the command
line), the rows never read are then listed too, so that the results file still has one line per input row: the
rest of the file is read batch by batch (memory bounded as before), only the email column is kept, and each row
is written as `not_sent` (never validated, never sent) and counted in `counts["not_sent"]` and `rows`
(`StreamReport.not_read` says how many). A second Ctrl-C or SIGTERM stops that listing at once: the file then ends
at the last row listed and `StreamReport.results_complete` is False. Nothing is listed without a results file. An
iterable of DataFrames (`publitrac.sync(frames)`) is never drained: it may be endless or a generator with effects
of its own, so the rows not yet taken from it are not listed (`results_complete` False when it was not exhausted).
The ledger's run records the counts of every row listed, read or not.

Duplicate emails are warned about within a batch only. Across batches the ledger cannot see ahead: a row that the
ledger calls unchanged is sent all the same when an earlier batch sent a row of its email, so that the later row
still wins (a rerun re-sends such a pair rather than leave the older row last).
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import csv
import io
import itertools
import logging
import os
import signal
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from os import PathLike
from pathlib import Path
from types import FrameType
from typing import IO, TYPE_CHECKING, Any, Literal, Unpack, cast

import numpy as np
import pandas as pd

from ..files._batches import DEFAULT_BATCH_ROWS, LeadBatches, read_batches
from ..files._reader import InputFile
from ..files._tables import ArrowStreamExportable, is_table
from ._blocking import CallerThread, run_blocking
from ..lead._bodies import build_bodies
from ..connection._client import Publitrac
from ..engine._engine import Engine, Item, Rows, interactive
from ..ledger._fingerprints import KeySet, email_keys
from .._exceptions import ConfigurationError, PublitracError, RunRefused, SyncInterrupted
from ..ledger._incremental import (
    IncrementalRun,
    key_rows,
    mapping_targets,
    open_for_run,
    record_source,
    store_errors,
)
from ..ledger._store import BodyLedger, Destination, Ledger
from ..lead._diff import LeadDiff
from ._guards import canary_refusal, column_refusal, invalid_refusal
from ..lead._mapping import LeadMapping, map_columns
from ..engine._report import (
    CSV_COLUMNS,
    FAILED,
    NOT_SENT,
    STATUSES,
    SUMMARY_ORDER,
    ChangeCounts,
    SyncReport,
    iso_times,
)
from ._provenance import run_source
from ._settings import LedgerSetting, RunSettings, SyncOptions, run_connection, with_run_settings
from ..lead._validation import check
from ._tables import open_mapped

if TYPE_CHECKING:
    import duckdb
    import polars as pl

logger = logging.getLogger("publitrac")
KEPT_PROBLEMS = 1000
KEPT_FAILURES = 100


class StreamReport:
    """The outcome of a streaming sync: counts, the first problems and failures, the results file.

    The per-row results are not kept in memory: they go to `results_path` as the run goes (one line per input
    row, in input order: row, email, status, http_status, attempts, error, run_id, sent_at, body_key).

    Attributes:
        counts: rows per status, every status present, in the order accepted, invalid, failed, in_flight,
            not_sent.
        rows: rows read.
        batches: batches read.
        problems: the first validation problems (`position` counts from the start of the stream).
        problem_count: how many problems were found in all.
        failures: the first failed rows, as `(position, email, error)`.
        results_path: the results file, or None.
        interrupted, dry_run, run_id, ledger: as in a SyncReport.
        diff: with `dry_run="diff"`, what would change field by field, over every batch (a `LeadDiff`).
        refusal: in a dry run, the guard that would refuse the run (`RunRefused`), or None.
        not_read: rows of a file listed as `not_sent` after a stop without being validated (see the module's
            docstring); they are in `rows` and `counts["not_sent"]`.
        results_complete: False when the results file may lack rows after the last one listed (the listing of
            the unread rows was stopped, the file could not be read further, or the rows were in a user's
            iterable, which is not drained).
        elapsed: seconds the run took (so far, while it runs).
        source: what was read (the file's name and what was detected), or None for frames.

    Example (not run by the doctests: it needs a file `leads.csv` and a connection `pt`):
        >>> report = publitrac.sync_file("leads.csv", pt, results_path="results.csv")   # doctest: +SKIP
        >>> report.summary                                                            # doctest: +SKIP
    """

    def __init__(self, *, dry_run: bool, results_path: str | None, source: str | None = None) -> None:
        self.counts = dict.fromkeys(SUMMARY_ORDER, 0)
        self.rows = 0
        self.batches = 0
        self.problems = pd.DataFrame()
        self.problem_count = 0
        self.failures: list[tuple[int, Any, str]] = []
        # Live counters for progress lines: rows answered (accepted or failed) and failed, so far.
        self.answered = 0
        self.failed_so_far = 0
        self.results_path = results_path
        self.dry_run = dry_run
        self.interrupted = False
        self.source = source
        self.not_read = 0
        self.results_complete = True
        self._email_column: Any = None
        self.run_id: int | None = None
        self.ledger: str | None = None
        self.diff: LeadDiff | None = None
        self.refusal: RunRefused | None = None
        self.changes: ChangeCounts | None = None
        self._started = time.perf_counter()
        self._finished: float | None = None

    def __len__(self) -> int:
        return self.rows

    @property
    def counts_by_change(self) -> dict[str, int] | None:
        """What the run changed at the destination, by the ledger (see `SyncReport.counts_by_change`)."""
        return None if self.changes is None else self.changes.as_dict()

    @property
    def elapsed(self) -> float:
        end = self._finished if self._finished is not None else time.perf_counter()
        return end - self._started

    @property
    def summary(self) -> pd.Series:
        """Rows per status (accepted, invalid, failed, in_flight, not_sent), zeros included."""
        return pd.Series(self.counts, name="rows", dtype="int64")

    @property
    def ok(self) -> bool:
        """True when every row was accepted or unchanged (Publitrac already had it)."""
        return self.counts["accepted"] + self.counts.get("unchanged", 0) == self.rows

    @property
    def results(self) -> pd.DataFrame:
        """The results file read back (text columns as written); needs `results_path`.

        Raises:
            ConfigurationError: the run wrote no results file.
        """
        if self.results_path is None:
            raise ConfigurationError("this run kept no per-row results: pass results_path= to write them")
        return pd.read_csv(
            self.results_path,
            dtype={"email": str, "error": str, "sent_at": str, "run_id": str, "body_key": str},
            keep_default_na=False,
        )

    def describe(self) -> str:
        """One line: the row counts by status and the time taken."""
        parts = ", ".join(
            f"{count:,} {name.replace('_', ' ')}" for name, count in self.counts.items() if count
        )
        sent = self.counts["accepted"] + self.counts["failed"]
        seconds = self.elapsed
        rate = f", {sent / seconds:,.0f} rows/s" if sent and seconds > 0 else ""
        flags = " (dry run)" if self.dry_run else " (interrupted)" if self.interrupted else ""
        changes = f"; {self.changes.sentence()}" if self.changes is not None and not self.dry_run else ""
        return f"{self.rows:,} rows: {parts or 'no rows'} in {seconds:.1f} s{rate}{flags}{changes}"

    def __repr__(self) -> str:
        return f"StreamReport: {self.describe()}"

    def _add(self, start: int, batch: SyncReport) -> None:
        for name, count in batch.counts.items():
            self.counts[name] += count
        problems = batch.problems
        if len(problems):
            self.problem_count += len(problems)
            room = KEPT_PROBLEMS - len(self.problems)
            if room > 0:
                shifted = problems.head(room).assign(position=problems["position"].head(room) + start)
                self.problems = shifted if self.problems.empty else pd.concat([self.problems, shifted])
        if batch.counts["failed"] and len(self.failures) < KEPT_FAILURES:
            codes = batch._codes()
            for local in np.flatnonzero(codes == FAILED)[: KEPT_FAILURES - len(self.failures)].tolist():
                self.failures.append((start + local, batch._emails[local], str(batch._errors[local])))


class _Batch:
    """One batch in memory: its own small SyncReport, whose per-row arrays the engine writes to directly."""

    __slots__ = (
        "_attempts",
        "_elapsed_ms",
        "_errors",
        "_http_status",
        "_sent_at",
        "_status",
        "incremental",
        "pending",
        "read",
        "report",
        "start",
    )

    def __init__(self, start: int, report: SyncReport) -> None:
        self.start = start
        self.report = report
        self._status = report._status
        self._http_status = report._http_status
        self._attempts = report._attempts
        self._elapsed_ms = report._elapsed_ms
        self._errors = report._errors
        self._sent_at = report._sent_at
        self.pending = 0  # rows to send without a final status
        self.read = False  # every item of the batch handed to the engine
        self.incremental: IncrementalRun | None = None


class _Window:
    """The batches in memory, in order, from the oldest with a row unanswered to the newest read."""

    def __init__(self, report: StreamReport, results: IO[str] | None) -> None:
        self._report = report
        self._results = results
        self._batches: collections.deque[_Batch] = collections.deque()

    def done(self, rows: Rows, local: int, accepted: bool) -> None:
        """The engine's `on_done`: a row of a batch has its final status (its ledger queue records an acceptance)."""
        batch = cast(_Batch, rows)  # the items name their batch as their rows
        batch.pending -= 1
        report = self._report
        report.answered += 1
        if accepted:
            if batch.incremental is not None:
                batch.incremental.accepted(local)
        else:
            report.failed_so_far += 1

    def flush_ledger(self) -> None:
        for batch in self._batches:
            if batch.incremental is not None:
                batch.incremental.flush()

    def add(self, batch: _Batch) -> None:
        self._batches.append(batch)

    def flush(self, *, everything: bool = False) -> None:
        """Record and drop the finished batches at the front (every batch, whatever its state, at the end)."""
        while self._batches and (everything or (self._batches[0].read and self._batches[0].pending <= 0)):
            batch = self._batches.popleft()
            report = self._report
            if batch.incremental is not None:
                batch.incremental.flush()
                if not report.dry_run and batch.incremental.run_id is not None:
                    changes = batch.incremental.change_counts(batch.report)
                    report.changes = changes if report.changes is None else report.changes + changes
                    batch.incremental.record_outcomes(batch.report)
            report._add(batch.start, batch.report)
            if self._results is not None:
                _write_lines(self._results, batch.start, batch.report, report.run_id)


def _write_lines(handle: IO[str], start: int, report: SyncReport, run_id: int | None) -> None:
    codes = report._codes()
    http = report._http_status
    writer = csv.writer(handle, lineterminator="\n")
    names = STATUSES
    run = "" if run_id is None else run_id
    keys = np.where(report._keyed, report._body_keys, 0).tolist()
    writer.writerows(
        (
            start + local,
            "" if _missing(email) else email,
            names[code],
            "" if status == 0 else int(status),
            int(attempts),
            "" if error is None else error,
            run,
            sent,
            key if keyed else "",
        )
        for local, (email, code, status, attempts, error, sent, key, keyed) in enumerate(
            zip(
                report._emails,
                codes.tolist(),
                http.tolist(),
                report._attempts.tolist(),
                report._errors,
                iso_times(report._sent_at),
                keys,
                report._keyed.tolist(),
                strict=True,
            )
        )
    )


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value) or value is pd.NA


class _Ledgered:
    """The ledger side of a stream: one run, and one `IncrementalRun` per batch (its rows' keys)."""

    def __init__(
        self,
        store: Ledger,
        destination: Destination,
        *,
        owns: bool,
        resend: Literal["changed", "all"],
        keep_bodies: bool = True,
    ):
        self.store = store
        self.keep_bodies = keep_bodies
        self.destination = destination
        self.owns = owns
        self.resend = resend
        self.run_id: int | None = None
        self._sent = KeySet()  # email keys of the rows sent so far

    def start(self, report: StreamReport, input_name: str | None) -> None:
        self.run_id = report.run_id = self.store.start_run(self.destination, input_name=input_name, rows=0)

    def unread(self, emails: list[Any]) -> None:
        """Remember the emails of rows a stopped run never read as left unsent (never raises: logged)."""
        method = getattr(self.store, "record_outcomes", None)
        present = [email for email in emails if not _missing(email) and str(email).strip()]
        if method is None or self.run_id is None or not present:
            return
        keys = email_keys(present)
        try:
            method(
                self.destination,
                self.run_id,
                np.zeros(0, dtype=np.int64),
                keys,
                np.full(len(keys), "not_sent", dtype=object),
            )
        except store_errors(self.store) as exc:
            logger.warning("ledger: could not record the rows run %s did not read (%s)", self.run_id, exc)

    def record_source(self, settings: RunSettings, mapping: LeadMapping) -> None:
        """Record where the stream's rows come from, once its mapping is known (the first batch)."""
        if self.run_id is not None:
            record_source(self.store, self.run_id, run_source(settings, mapping))

    def decide(
        self,
        frame: pd.DataFrame,
        mapping: LeadMapping,
        positions: np.ndarray,
        serial: np.ndarray,
        batch: _Batch,
    ) -> np.ndarray:
        """Mark the batch's unchanged rows; return the positions still to send.

        `serial` is the validation's mask of the valid rows sharing an email within the batch.
        """
        incremental = IncrementalRun(
            self.store, self.destination, owns_ledger=False, keep_bodies=self.keep_bodies
        )
        to_send = incremental.decide(frame, mapping, positions, serial, batch.report, resend=self.resend)
        incremental.run_id = self.run_id
        batch.incremental = incremental
        keys = incremental._emails
        if len(self._sent) and len(to_send) < len(positions):
            # An earlier batch sends a row of this email: a later row that the ledger calls unchanged is sent
            # too, after it (the engine chains them), or the earlier row would end up winning.
            held = positions[np.isin(positions, to_send, invert=True)]
            forced = held[self._sent.contains(keys[held])]
            if len(forced):
                batch.report._status[forced] = NOT_SENT
                incremental._recorded[forced] = False
                incremental._sendable[forced] = True
                to_send = np.union1d(to_send, forced)
        if len(to_send):
            self._sent.add(keys[to_send])
        return to_send

    def record_mapping(self, mapping: LeadMapping) -> None:
        """Keep the run's mapping (the next run's column guard compares with it)."""
        if self.run_id is not None and isinstance(self.store, BodyLedger):
            try:
                self.store.record_mapping(self.run_id, mapping_targets(mapping))
            except store_errors(self.store) as exc:
                logger.warning("ledger: could not record the mapping of run %s (%s)", self.run_id, exc)

    def finish(self, report: StreamReport) -> None:
        try:
            if self.run_id is not None:
                try:
                    counts = {**report.counts, "rows": report.rows}
                    self.store.finish_run(self.run_id, counts=counts, interrupted=report.interrupted)
                except store_errors(self.store) as exc:
                    logger.warning("ledger: could not record the end of run %s (%s)", self.run_id, exc)
        finally:
            if self.owns:
                self.store.close()


def _ledger_side(
    ledger: LedgerSetting,
    client: Publitrac | None,
    resend: Literal["changed", "all"],
    keep_bodies: bool = True,
) -> _Ledgered | None:
    opened = open_for_run(ledger, client)
    if opened is None:
        return None
    store, destination, owned = opened
    return _Ledgered(store, destination, owns=owned, resend=resend, keep_bodies=keep_bodies)


async def _stream(
    batches: Iterable[pd.DataFrame],
    client: Publitrac | None,
    report: StreamReport,
    results: IO[str] | None,
    ledgered: _Ledgered | None,
    settings: RunSettings,
) -> StreamReport:
    dry_run = settings.dry_run
    window = _Window(report, results)
    lead_mapping: list[LeadMapping] = []
    invalid_so_far = [0]
    # a guard's refusal: the items stop, the rows out are answered, then it is raised
    refused: list[RunRefused] = []

    def items() -> Iterator[Item]:
        start = 0
        columns: list[Any] | None = None
        for frame in batches:
            if not isinstance(frame, pd.DataFrame):
                raise TypeError(
                    f"expected DataFrames, got {type(frame).__name__} in batch {report.batches + 1}"
                )
            if columns is None:
                columns = list(frame.columns)
                lead_mapping.append(
                    map_columns(
                        frame,
                        email=settings.email,
                        mapping=settings.mapping,
                        custom_fields=settings.custom_fields,
                    )
                )
                report._email_column = lead_mapping[0].email
                if ledgered is not None:
                    ledgered.record_source(settings, lead_mapping[0])
            elif list(frame.columns) != columns:
                raise ConfigurationError(
                    f"batch {report.batches + 1} has other columns than the first: {list(frame.columns)}"
                )
            chosen = lead_mapping[0]
            # every batch has the first one's columns (checked above): its mapping holds, and the validation
            # finds the rows sharing an email once
            checked = check(frame, chosen)
            problems, invalid = checked.problems, checked.invalid
            shell = frame.iloc[:, :0]  # the index only: the report needs no other column
            batch_report = SyncReport(
                shell, emails=frame[chosen.email], problems=problems, invalid=invalid, dry_run=bool(dry_run)
            )
            batch = _Batch(start, batch_report)
            first = report.batches == 0
            report.rows += len(frame)
            report.batches += 1
            window.add(batch)
            positions = np.flatnonzero(~invalid)
            invalid_so_far[0] += len(frame) - len(positions)
            refusal = invalid_refusal(
                invalid_so_far[0],
                report.rows,
                settings.max_invalid,
                first_batch=first,
                sent=0 if first else report.answered,
            )
            if ledgered is not None and len(positions) and refusal is None:
                positions = ledgered.decide(frame, chosen, positions, checked.shared_email, batch)
                incremental = batch.incremental
                if incremental is not None and incremental.bodies_kept and (first or dry_run == "diff"):
                    changes = incremental.changes(examples=dry_run == "diff")
                    if dry_run == "diff":
                        report.diff = changes if report.diff is None else report.diff.add(changes)
                    if first and not settings.allow_mass_change:
                        last = incremental.last_run()
                        refusal = column_refusal(
                            frame,
                            None if last is None else last.mapping,
                            changes.changed,
                            changes.known,
                            settings.max_changed,
                            run_id=None if last is None else last.id,
                            first_batch=True,
                        )
            elif not dry_run and refusal is None:  # the results' body_key; `validate` (a dry run without a
                key_rows(frame, chosen, positions, checked.shared_email, batch_report)  # ledger) is spared it
            if refusal is not None:
                if dry_run:
                    report.refusal = report.refusal or refusal
                else:
                    refused.append(refusal)
                    batch.read = True
                    window.flush()
                    return
            if first and ledgered is not None and not dry_run:
                ledgered.record_mapping(chosen)
            if not dry_run:
                batch.pending = len(positions)
                for local, body in build_bodies(frame, chosen, positions):
                    yield batch, local, body
            del frame
            batch.read = True
            window.flush()
            start += len(batch_report)

    try:
        if dry_run:
            for _ in items():
                pass
        else:
            assert client is not None
            show = interactive() if settings.progress is None else bool(settings.progress)
            async with client.async_client(max_connections=settings.concurrency) as generated:
                engine = Engine(
                    generated,
                    redact=client.redact,
                    concurrency=settings.concurrency,
                    rate_limit=settings.rate_limit,
                    max_attempts=settings.max_attempts,
                    max_retry_time=settings.max_retry_time,
                    progress=None,
                    on_done=window.done,
                )
                ticker = asyncio.create_task(_show_progress(engine, report)) if show else None
                flusher = asyncio.create_task(_flush_periodically(window)) if ledgered is not None else None
                try:
                    source = items()
                    canary = settings.canary
                    if canary is not None:
                        # the canary's rows are answered before any other row leaves
                        await engine.run(itertools.islice(source, canary), None)
                        refusal = canary_refusal(
                            report.failed_so_far,
                            report.answered,
                            settings.stop_if_failing,
                            canary=canary,
                            left=None,
                        )
                        following = None if refused else next(source, None)
                        if following is not None:  # the canary was not the whole stream
                            source = itertools.chain([following], source)
                            if refusal is not None:
                                refused.append(refusal)
                    if not refused:
                        await engine.run(source, None)
                    if refused:
                        raise refused[0]
                finally:
                    for task in (ticker, flusher):
                        if task is not None:
                            task.cancel()
                            await asyncio.gather(task, return_exceptions=True)
    except BaseException as exc:
        window.flush(everything=True)
        report.interrupted = True
        report._finished = time.perf_counter()
        if isinstance(exc, PublitracError):
            exc.report = report  # type: ignore[assignment]
        raise
    window.flush(everything=True)
    report.interrupted = not dry_run and bool(report.counts["in_flight"] or report.counts["not_sent"])
    report._finished = time.perf_counter()
    return report


async def _flush_periodically(window: _Window) -> None:
    """Commit the acceptances queued in the batches in memory every second (a crash re-sends at most that)."""
    from ..ledger._incremental import FLUSH_INTERVAL

    while True:
        await asyncio.sleep(FLUSH_INTERVAL)
        window.flush_ledger()


async def _show_progress(engine: Any, report: StreamReport) -> None:
    from tqdm.auto import tqdm

    bar = tqdm(unit="row", desc="publitrac sync", dynamic_ncols=True)
    try:
        while True:
            await asyncio.sleep(0.2)
            bar.set_postfix(read=f"{report.rows:,}", failed=engine.failed, refresh=False)
            bar.update(engine.done - bar.n)
    finally:
        bar.update(engine.done - bar.n)
        bar.close()


class _Source:
    """The batches, taken one at a time on the caller's thread; says whether they ran out (`ended`) or broke off
    (`failed`).

    In Jupyter the run goes on a worker thread, but a user's iterable may be tied to the thread that made it (a
    `sqlite3` connection behind `pd.read_sql(..., chunksize=)` refuses any other): each batch is taken on the
    thread that called the sync (`CallerThread`)."""

    def __init__(self, batches: Iterable[pd.DataFrame], caller: CallerThread) -> None:
        self._batches = iter(batches)
        self._caller = caller
        self.ended = False
        self.failed = False

    def __iter__(self) -> _Source:
        return self

    def __next__(self) -> pd.DataFrame:
        taken = False

        def take() -> pd.DataFrame:
            nonlocal taken
            taken = True
            return next(self._batches)

        try:
            return self._caller.call(take)
        except StopIteration:
            self.ended = True
            raise
        except BaseException:
            # A generator that raised is finished: nothing more can be read from it. A call refused before it
            # ran (the run stopping) leaves the source as it was: a file's rest can still be listed.
            self.failed = taken
            raise


def _list_unread(
    source: _Source,
    report: StreamReport,
    handle: IO[str] | None,
    *,
    listable: bool,
    announce: Callable[[str], None] | None,
    unsent: Callable[[list[Any]], None] | None = None,
) -> bool:
    """After a stop, write the rows never read as `not_sent` (see the module's docstring); `unsent` is told
    each listed batch's emails (the ledger remembers them as left unsent).

    Returns:
        True when a second Ctrl-C (or SIGTERM) stopped the listing.
    """
    if not report.interrupted or source.ended or handle is None:
        return False
    column = report._email_column
    if not listable or source.failed or column is None:
        report.results_complete = False
        return False
    start = report.rows
    run = "" if report.run_id is None else report.run_id
    message = (
        f"Listing the rows not read (from row {start:,} on) as not_sent in {report.results_path}... "
        "(Ctrl-C again to stop there)"
    )
    if announce is not None:
        announce(message)
    else:
        logger.warning("publitrac: %s", message)
    stop = threading.Event()
    with _stop_on_signal(stop):
        try:
            for frame in source:
                if stop.is_set():
                    break
                if column not in frame.columns:
                    report.results_complete = False
                    break
                emails = frame[column].tolist()
                text = io.StringIO()
                csv.writer(text, lineterminator="\n").writerows(
                    (start + local, "" if _missing(value) else value, "not_sent", "", 0, "", run, "", "")
                    for local, value in enumerate(emails)
                )
                handle.write(text.getvalue())  # whole batches: the counts say what the file holds
                if unsent is not None:
                    unsent(emails)
                start += len(emails)
                report.rows += len(emails)
                report.not_read += len(emails)
                report.counts["not_sent"] += len(emails)
        except KeyboardInterrupt:  # raised where no handler of ours could be installed (not the main thread)
            stop.set()
        except Exception as exc:  # the file cannot be read further: the lines so far stand
            report.results_complete = False
            logger.warning("publitrac: the rows after row %s could not be listed (%s)", f"{start:,}", exc)
        finally:
            handle.flush()
    if stop.is_set():
        report.results_complete = False
    return stop.is_set()


@contextlib.contextmanager
def _stop_on_signal(stop: threading.Event) -> Iterator[None]:
    """While the unread rows are listed, Ctrl-C (and SIGTERM where a handler of Python code takes it, as the
    command line's) sets `stop` instead of raising: the listing stops after the batch at hand, with the counts
    matching the lines written. Outside the main thread nothing is changed."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    previous: dict[signal.Signals, Any] = {}
    for number in (signal.SIGINT, signal.SIGTERM):
        if callable(signal.getsignal(number)):  # a default SIGTERM (the process ends) is left as it is
            previous[number] = signal.signal(number, handler)
    try:
        yield
    finally:
        for number, old in previous.items():
            signal.signal(number, old)


def _open_results(path: str | PathLike[str] | None) -> tuple[IO[str] | None, str | None]:
    if path is None:
        return None, None
    target = Path(path)
    if target.is_dir():
        raise ConfigurationError(f"results_path is a directory: {target}")
    handle = target.open("w", encoding="utf-8", newline="")
    csv.writer(handle, lineterminator="\n").writerow(CSV_COLUMNS)
    return handle, os.fspath(target)


@with_run_settings
def sync_stream(
    batches: Iterable[pd.DataFrame],
    client: Publitrac | None = None,
    *,
    results_path: str | PathLike[str] | None = None,
    source: str | None = None,
    report: StreamReport | None = None,
    list_unread: bool = False,
    announce: Callable[[str], None] | None = None,
    **options: Unpack[SyncOptions],
) -> StreamReport:
    """Sync an iterable of DataFrames (batches of one stream of rows); see `sync_file` for the arguments.

    `report`: a StreamReport to fill (so that a caller can watch its counters while the run goes).
    `list_unread`: the batches are a file's (the rest may be read after a stop): a stopped run lists the rows
    not read as `not_sent` in the results file. False for a user's iterable, which is never drained.
    `announce`: called with the line that says the listing starts (default: a warning in the log).
    """
    return run_stream(
        batches,
        client,
        RunSettings.of(options, entry="sync_stream"),
        results_path=results_path,
        source=source,
        report=report,
        list_unread=list_unread,
        announce=announce,
    )


def run_stream(
    batches: Iterable[pd.DataFrame],
    client: Publitrac | None,
    settings: RunSettings,
    *,
    results_path: str | PathLike[str] | None = None,
    source: str | None = None,
    report: StreamReport | None = None,
    list_unread: bool = False,
    announce: Callable[[str], None] | None = None,
) -> StreamReport:
    """`sync_stream` with the settings already checked (`publitrac.sync` on an iterable comes here)."""
    dry_run = settings.dry_run
    client = run_connection(client, dry_run=bool(dry_run), ledger=settings.ledger)
    handle, path = _open_results(results_path)
    if report is None:
        report = StreamReport(dry_run=bool(dry_run), results_path=path, source=source)
    caller = CallerThread()
    rows = _Source(batches, caller)
    with contextlib.ExitStack() as stack:
        if handle is not None:
            stack.callback(handle.close)
        ledgered = _ledger_side(settings.ledger, client, settings.resend, settings.keep_bodies)
        if ledgered is not None:
            # the run's record is finished last: its counts include the rows listed after a stop
            stack.callback(ledgered.finish, report)
            report.ledger = ledgered.store.location
            if not dry_run:
                ledgered.start(report, settings.input_name)
        coroutine = _stream(rows, client, report, handle, ledgered, settings)

        def finish() -> bool:
            unsent = None if ledgered is None or dry_run else ledgered.unread
            return _list_unread(rows, report, handle, listable=list_unread, announce=announce, unsent=unsent)

        try:
            result = run_blocking(coroutine, caller)
        except KeyboardInterrupt as exc:
            finish()
            raise SyncInterrupted(report) from exc  # type: ignore[arg-type]
        except BaseException:
            finish()  # a second Ctrl-C here stops the listing; the run's own error is the one raised
            raise
        if finish():
            raise SyncInterrupted(report)  # type: ignore[arg-type]
        return result


@with_run_settings
def sync_file(
    path: str
    | PathLike[str]
    | Iterable[pd.DataFrame]
    | pl.DataFrame
    | pl.LazyFrame
    | duckdb.DuckDBPyRelation
    | ArrowStreamExportable,
    client: Publitrac | None = None,
    *,
    results_path: str | PathLike[str] | None = None,
    batch_rows: int = DEFAULT_BATCH_ROWS,
    sep: str | None = None,
    encoding: str | None = None,
    **options: Unpack[SyncOptions],
) -> StreamReport:
    """Sync a file of leads of any size, batch by batch: memory bounded by the batch, not the file.

    CSV (and other delimited text), JSON Lines and Parquet are read in batches (a JSON array and Excel are read
    whole first). Rows that share an email are sent one after another in file order, across batches too.

    Args:
        path: the file (its encoding and delimiter are detected as `read_leads` does), an iterable of
            DataFrames with the same columns, the batches of one stream of rows, or a table of another library
            (a Polars DataFrame or LazyFrame, an Arrow Table or RecordBatchReader, a DuckDB relation, any object
            with `__arrow_c_stream__`), converted to pandas a batch of `batch_rows` rows at a time (an Arrow
            reader or stream keeps its own batches).
        client: the connection; default: `Publitrac()` from the environment (not needed for a dry run).
        results_path: write one line per input row there, in input order, as the run goes: row (0-based),
            email, status, http_status, attempts, error, run_id, sent_at, body_key.
        batch_rows: rows read, validated and recorded together.
        sep: the delimiter of a text file (detected when None).
        encoding: the encoding of a text or JSON file (detected when None).
        **options: the run settings, as for `publitrac.sync` (email, mapping, custom_fields, concurrency,
            rate_limit, max_attempts, max_retry_time, progress, dry_run, ledger, resend, input_name); the whole
            stream is one run in the ledger, named after the file unless `input_name` is given.

    Returns:
        A StreamReport: `.counts`, `.summary`, `.problems` (the first ones), `.failures`, `.results` (the
        results file read back).

    Raises:
        LeadFileError: the file cannot be read (also part way through: the rows before are recorded).
        ConfigurationError, AuthenticationError, ConnectionFailed: as `publitrac.sync`; `.report` is the
            StreamReport of the rows read so far.
        SyncInterrupted: Ctrl-C; `.report` is the StreamReport.

    After a stop, a file's rows never read are listed as `not_sent` in `results_path` before the error is
    raised (`report.not_read`; a second Ctrl-C stops that listing); an iterable's rows not yet taken are not.

    Example (not run by the doctests: it needs a file `leads.csv` and a connection `pt`):
        >>> report = publitrac.sync_file("leads.csv", pt, results_path="results.csv")   # doctest: +SKIP
        >>> report                                                                    # doctest: +SKIP
        StreamReport: 1,000,000 rows: 999,412 accepted, 588 invalid in 331.0 s, 3,020 rows/s
    """
    settings = RunSettings.of(options, entry="sync_file")
    source: str | None = None
    batches: Iterable[pd.DataFrame]
    if isinstance(path, str | PathLike):
        opened: LeadBatches = read_batches(path, batch_rows=batch_rows, sep=sep, encoding=encoding)
        batches, source = opened, f"{opened.name} ({opened.details()})"
    elif is_table(path):
        table, lead_mapping = open_mapped(
            path,
            email=settings.email,
            mapping=settings.mapping,
            custom_fields=settings.custom_fields,
            batch_rows=batch_rows,
        )
        batches = table.batches(sent=lead_mapping.columns, batch_rows=batch_rows)
    elif isinstance(path, Iterable) and not isinstance(path, bytes | pd.DataFrame):
        batches = path
    else:
        raise TypeError(
            f"expected a file path, an iterable of DataFrames or a table, got {type(path).__name__}"
        )
    if settings.input_name is None and source is not None:
        settings = settings.replace(input_name=Path(os.fspath(path)).name)  # type: ignore[arg-type]
    if settings.input_file is None and source is not None:
        settings = settings.replace(
            input_file=InputFile(path, sep=opened.delimiter, encoding=opened.encoding)  # type: ignore[arg-type]
        )
    return run_stream(
        batches,
        client,
        settings,
        list_unread=source is not None,
        results_path=results_path,
        source=source,
    )

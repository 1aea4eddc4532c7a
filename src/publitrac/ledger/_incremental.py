"""Incremental sync: which rows the ledger says are unchanged, and the acceptances written as they happen.

One `IncrementalRun` per sync with a ledger:

1. `decide` computes every valid row's keys in bulk (`_fingerprints`), looks them up in one go, marks the rows
   whose body Publitrac already accepted `unchanged`, and returns the positions left to send. With
   `resend="all"` nothing is unchanged, and the ledger is refreshed as rows are accepted.
2. `start` records the run (`report.run_id`).
3. `accepted` (called by the engine for each accepted row) queues the row; the queue is written in one short
   transaction at least every `flush_interval` seconds (`flush_periodically`, in a thread, so that the write and
   the kept bodies' packing leave the event loop to the requests) and at the end, whatever ends
   the run (completion, Ctrl-C, SIGTERM, an error): a crash re-sends at most the last interval's rows, which is
   harmless because the API upserts.
4. `finish` writes what is queued and the run's counts, and closes a ledger it opened.

Rows that share an email are sent in row order and their keys are chained (see `chain_groups`): a row is
recorded only when the row before it with that email is in the ledger too, so a gap (a failed row) is never
hidden behind a later acceptance; on a rerun, the group's rows up to the last one recorded are `unchanged`.

A failing ledger never fails the sync: the error is logged, and the rows it could not record are sent again
next time.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from os import PathLike
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import pandas as pd

from ._fingerprints import chain_groups, lead_keys
from ._packing import pack_body, unpack_body
from ._records import LEFT_UNSENT, RunRecord, RunSource
from ._store import BodyLedger, Destination, Ledger, destination_for, open_ledger
from ..lead._bodies import build_bodies
from ..lead._diff import EXAMPLE_ROWS, LeadDiff, compare_bodies
from ..lead._mapping import LeadMapping
from ..engine._report import (
    ACCEPTED,
    FAILED,
    IN_FLIGHT,
    NOT_SENT,
    STATUSES,
    UNCHANGED,
    ChangeCounts,
    SyncReport,
)

if TYPE_CHECKING:
    from ..connection._client import Publitrac

__all__ = [
    "FLUSH_INTERVAL",
    "IncrementalRun",
    "key_rows",
    "mapping_targets",
    "open_for_run",
    "record_source",
    "store_errors",
]

FLUSH_INTERVAL = 1.0
logger = logging.getLogger("publitrac")


class IncrementalRun:
    """The ledger side of one sync.

    Args:
        ledger: the store.
        destination: where this sync sends.
        owns_ledger: close the ledger in `finish` (it was opened for this sync).
        flush_interval: at most this many seconds between a row's acceptance and its commit.
        clock: monotonic seconds (tests inject one).
        keep_bodies: keep each accepted row's body (packed) in a ledger that can (`BodyLedger`), for the diff
            and the column guard of the next runs.

    Example (not run by the doctests: it needs a `ledger`, a connection `pt` and a run's data):
        >>> run = IncrementalRun(ledger, destination_for(pt), owns_ledger=False)   # doctest: +SKIP
        >>> to_send = run.decide(df, mapping, positions, serial, report, resend="changed")   # doctest: +SKIP
    """

    def __init__(
        self,
        ledger: Ledger,
        destination: Destination,
        *,
        owns_ledger: bool,
        flush_interval: float = FLUSH_INTERVAL,
        clock: Callable[[], float] = time.monotonic,
        keep_bodies: bool = True,
    ) -> None:
        self.ledger = ledger
        self._body_store: BodyLedger | None = (
            ledger if keep_bodies and isinstance(ledger, BodyLedger) else None
        )
        self._frame: pd.DataFrame | None = None
        self._mapping: LeadMapping | None = None
        self._known_changed = np.zeros(0, dtype=np.int64)  # positions to send whose lead the ledger knows
        self._unchanged = 0
        self._unknown = 0
        self.destination = destination
        self._owns = owns_ledger
        self._interval = flush_interval
        self._clock = clock
        self._last_flush = clock()
        self._pending: deque[int] = deque()
        self._flush_lock = threading.Lock()
        self._flushing_periodically = False
        self._emails = np.zeros(0, dtype=np.int64)
        self._bodies = np.zeros(0, dtype=np.int64)
        self._previous = np.zeros(0, dtype=np.int64)  # the previous row with the same email, or -1
        self._recorded = np.zeros(0, dtype=bool)
        # By position, what the ledger knew before this run: the email at this destination, with this very
        # body, and as left unsent by an earlier run (for the summary's counts by change).
        self._known = np.zeros(0, dtype=bool)
        self._same = np.zeros(0, dtype=bool)
        self._failed_before = np.zeros(0, dtype=bool)
        self._sendable = np.zeros(0, dtype=bool)
        self.run_id: int | None = None
        self.recorded = 0

    def decide(
        self,
        df: pd.DataFrame,
        mapping: LeadMapping,
        positions: np.ndarray,
        serial: np.ndarray,
        report: SyncReport,
        *,
        resend: Literal["changed", "all"],
    ) -> np.ndarray:
        """Mark the unchanged rows in `report`; return the positions still to send (in row order).

        Args:
            df: the leads.
            mapping: the column mapping.
            positions: positions of the valid rows.
            serial: mask by position of the rows sharing their email with another row.
            report: the run's report (its `unchanged` rows are set here).
            resend: "changed" (skip unchanged rows) or "all" (send every valid row).

        Returns:
            The positions to send.
        """
        n = len(df)
        self._previous = np.full(n, -1, dtype=np.int64)
        self._recorded = np.zeros(n, dtype=bool)
        self._known = np.zeros(n, dtype=bool)
        self._same = np.zeros(n, dtype=bool)
        self._failed_before = np.zeros(n, dtype=bool)
        self._sendable = np.zeros(n, dtype=bool)
        report.ledger = self.ledger.location
        self._frame, self._mapping = df, mapping
        self._emails, self._bodies = key_rows(df, mapping, positions, serial, report)
        if not len(positions):
            return positions
        if serial.any():
            last_of: dict[int, int] = {}
            for position in np.flatnonzero(serial).tolist():
                email = int(self._emails[position])
                self._previous[position] = last_of.get(email, -1)
                last_of[email] = position
        if resend not in ("changed", "all"):
            raise ValueError(f"resend must be 'changed' or 'all', got {resend!r}")
        # looked up with resend="all" too: the summary tells the leads added from those changed
        found, stored = self.ledger.lookup(self.destination, self._emails[positions])
        same = found & (stored == self._bodies[positions])
        self._known[positions] = found
        self._same[positions] = same
        self._failed_before[positions] = self._failed_before_run(self._emails[positions])
        self._sendable[positions] = True
        if serial.any():
            same = self._group_prefixes(positions, same, serial)
        if resend == "all":
            same[:] = False
        self._known_changed = positions[found & ~same]
        self._unchanged = int(same.sum())
        self._unknown = int((~found).sum())
        unchanged = positions[same]
        report._status[unchanged] = UNCHANGED
        self._recorded[unchanged] = True
        self._sendable[unchanged] = False
        to_send: np.ndarray = positions[~same]
        return to_send

    def _failed_before_run(self, keys: np.ndarray) -> np.ndarray:
        """Which emails an earlier run left unsent; none when the ledger cannot say (or fails: logged)."""
        method = getattr(self.ledger, "failed_before", None)
        if method is None:
            return np.zeros(len(keys), dtype=bool)
        try:
            found: np.ndarray = np.asarray(method(self.destination, keys), dtype=bool)
        except store_errors(self.ledger) as exc:
            logger.warning("ledger: could not look up the rows earlier runs left unsent (%s)", exc)
            return np.zeros(len(keys), dtype=bool)
        return found

    def change_counts(self, report: SyncReport) -> ChangeCounts:
        """What this run changed at the destination (rows), from the ledger as it was before the run."""
        return counted_changes(*self.row_changes(report))

    def row_changes(self, report: SyncReport) -> tuple[np.ndarray, np.ndarray]:
        """By position, what this run changed: `added`, `changed`, `resent`, `unchanged` or None (a row not
        accepted), and whether an accepted row was left unsent by an earlier run (a Dask run adds them up)."""
        codes = report._codes()
        accepted = codes == ACCEPTED
        labels = np.full(len(codes), None, dtype=object)
        labels[codes == UNCHANGED] = "unchanged"
        if len(self._known) != len(codes):  # decided nothing (no valid row)
            return labels, np.zeros(len(codes), dtype=bool)
        labels[accepted & ~self._known] = "added"
        labels[accepted & self._known & ~self._same] = "changed"
        labels[accepted & self._same] = "resent"
        return labels, accepted & self._failed_before

    def record_outcomes(self, report: SyncReport) -> None:
        """Tell the ledger which emails this run left unsent (failed, in flight, not sent) and which it got
        accepted, so that a later run can say "previously failed now sent"."""
        if self.run_id is None or len(self._sendable) != len(report):
            return
        codes = report._codes()
        sent = self._sendable
        unsent = sent & np.isin(codes, (FAILED, IN_FLIGHT, NOT_SENT))
        accepted = sent & (codes == ACCEPTED)
        names = np.array(STATUSES, dtype=object)
        assert set(names[[FAILED, IN_FLIGHT, NOT_SENT]]) == set(LEFT_UNSENT)
        method = getattr(self.ledger, "record_outcomes", None)
        if method is None:
            return
        errors = store_errors(self.ledger)
        try:
            method(
                self.destination,
                self.run_id,
                self._emails[accepted],
                self._emails[unsent],
                names[codes[unsent]],
            )
        except errors as exc:
            logger.warning("ledger: could not record the rows left unsent by run %s (%s)", self.run_id, exc)

    def _group_prefixes(self, positions: np.ndarray, same: np.ndarray, serial: np.ndarray) -> np.ndarray:
        """For emails shared by several rows: the rows up to the one the ledger holds are unchanged."""
        same = same.copy()
        for i in np.flatnonzero(serial[positions] & same).tolist():
            previous = int(self._previous[positions[i]])
            while previous >= 0:
                at = int(np.searchsorted(positions, previous))
                if same[at]:
                    break
                same[at] = True
                previous = int(self._previous[previous])
        return same

    @property
    def bodies_kept(self) -> bool:
        """Whether this run keeps the accepted bodies (and so can compare with the last ones: `changes`)."""
        return self._body_store is not None

    def changes(self, *, examples: bool = False) -> LeadDiff:
        """What the rows to send (after `decide`) change, field by field, against the bodies last accepted.

        Args:
            examples: keep the old and new values of the first rows that change (`LeadDiff.examples`).
        """
        store, frame, mapping = self._body_store, self._frame, self._mapping
        candidates = self._known_changed
        if store is None or frame is None or mapping is None or not len(candidates):
            return LeadDiff(known=self._unchanged, unknown=self._unknown, unchanged=self._unchanged)
        packed = store.bodies(self.destination, self._emails[candidates])
        emails = frame[mapping.email]
        labels = frame.index

        def pairs() -> Iterator[tuple[Any, Any, dict[str, Any] | None, dict[str, Any]]]:
            for (position, body), old in zip(build_bodies(frame, mapping, candidates), packed, strict=True):
                yield labels[position], emails.iloc[position], _unpacked(old), body

        changed, known, missing, table = compare_bodies(pairs(), examples=EXAMPLE_ROWS if examples else 0)
        return LeadDiff(
            known=self._unchanged + known,
            unknown=self._unknown + missing,
            unchanged=self._unchanged,
            changed=changed,
            examples=table,
        )

    def last_run(self) -> RunRecord | None:
        """The latest run to this destination whose mapping the ledger kept (None: none, or a plain `Ledger`)."""
        if self._body_store is None:
            return None
        errors = store_errors(self.ledger)
        try:
            return self._body_store.last_run(self.destination)
        except errors as exc:
            logger.warning("ledger: could not read the last run (%s); the column guard is skipped", exc)
            return None

    def start(
        self,
        report: SyncReport,
        *,
        input_name: str | None,
        mapping: LeadMapping | None = None,
        source: RunSource | None = None,
    ) -> None:
        """Record the run's start (its mapping, when the ledger keeps it, and where its rows came from); sets
        `report.run_id`."""
        self.run_id = report.run_id = self.ledger.start_run(
            self.destination, input_name=input_name, rows=len(report)
        )
        if mapping is not None and isinstance(self.ledger, BodyLedger):
            self.ledger.record_mapping(self.run_id, mapping_targets(mapping))
        if source is not None:
            record_source(self.ledger, self.run_id, source)

    def accepted(self, position: int) -> None:
        """The engine's callback for an accepted row: queue it, and commit when the interval has passed (twice
        the interval while `flush_periodically` commits in its thread: this commit is the fallback)."""
        previous = int(self._previous[position]) if len(self._previous) else -1
        if previous >= 0 and not self._recorded[previous]:
            return  # an earlier row with this email is not in the ledger: recording this one would hide it
        self._recorded[position] = True
        self._pending.append(position)
        interval = self._interval * (2 if self._flushing_periodically else 1)
        if self._clock() - self._last_flush >= interval:
            self.flush()

    def flush(self) -> None:
        """Commit the queued acceptances (one transaction); thread-safe: the periodic commit runs in a thread
        while the engine queues more."""
        with self._flush_lock:
            self._last_flush = self._clock()
            pending = self._pending
            # deque.popleft is atomic: a row queued meanwhile stays for the next commit, none is lost.
            count = len(pending)
            if not count:
                return
            rows = np.fromiter((pending.popleft() for _ in range(count)), dtype=np.int64, count=count)
            errors = store_errors(self.ledger)
            try:
                self.ledger.record_accepted(
                    self.destination, self.run_id, self._emails[rows], self._bodies[rows]
                )
            except errors as exc:
                logger.warning(
                    "ledger: could not record %d accepted rows (%s); they will be sent again", len(rows), exc
                )
                return
            self.recorded += len(rows)
            self._record_bodies(rows)

    def _record_bodies(self, rows: np.ndarray) -> None:
        store, frame, mapping = self._body_store, self._frame, self._mapping
        if store is None or frame is None or mapping is None:
            return
        errors = store_errors(self.ledger)
        try:
            packed = [pack_body(body) for _, body in build_bodies(frame, mapping, rows)]
            store.record_bodies(self.destination, self._emails[rows], packed)
        except errors as exc:
            logger.warning("ledger: could not keep %d accepted bodies (%s)", len(rows), exc)

    async def flush_periodically(self) -> None:
        """Commit the queue every `flush_interval` seconds until cancelled, in a thread: the database's write
        and the packing of the kept bodies do not hold up the event loop (SQLite and zlib release the GIL)."""
        self._flushing_periodically = True
        try:
            while True:
                await asyncio.sleep(self._interval)
                await asyncio.to_thread(self.flush)
        finally:
            self._flushing_periodically = False

    def finish(self, report: SyncReport) -> None:
        """Commit what is queued, record the run's end (counts, interrupted), close an owned ledger."""
        try:
            self.flush()
            if self.run_id is not None and not report.dry_run:
                report._row_changes = self.row_changes(report)
                report.changes = counted_changes(*report._row_changes)
                self.record_outcomes(report)
            if self.run_id is not None:
                errors = store_errors(self.ledger)
                try:
                    self.ledger.finish_run(self.run_id, counts=report.counts, interrupted=report.interrupted)
                except errors as exc:
                    logger.warning("ledger: could not record the end of run %s (%s)", self.run_id, exc)
        finally:
            if self._owns:
                self.ledger.close()


def counted_changes(labels: np.ndarray, previously_failed: np.ndarray) -> ChangeCounts:
    """The counts of `IncrementalRun.row_changes`."""
    counted = pd.Series(labels, dtype=object).value_counts()
    return ChangeCounts(
        **{name: int(counted.get(name, 0)) for name in ("added", "changed", "resent", "unchanged")},
        previously_failed_now_sent=int(previously_failed.sum()),
    )


def _unpacked(packed: bytes | None) -> dict[str, Any] | None:
    if packed is None:
        return None
    try:
        return unpack_body(packed)
    except ValueError as exc:
        logger.warning("ledger: a stored body cannot be read (%s); its lead counts as new", exc)
        return None


def mapping_targets(mapping: LeadMapping) -> dict[str, str]:
    """A mapping as a run record keeps it: `{column: target}`, `leadInfo.x` or `leadCustomField.y`.

    Example:
        >>> from publitrac.lead._mapping import map_columns
        >>> mapping_targets(map_columns(["Email", "Plan"], custom_fields=["Plan"]))
        {'Email': 'leadInfo.email', 'Plan': 'leadCustomField.Plan'}
    """
    targets = {str(column): f"leadInfo.{field}" for column, field in mapping.fields.items()}
    targets.update({str(column): f"leadCustomField.{name}" for column, name in mapping.custom.items()})
    return targets


def record_source(ledger: Ledger, run_id: int, source: RunSource) -> None:
    """Record a run's provenance, when the ledger keeps it (a failure is logged, never raised)."""
    method = getattr(ledger, "record_source", None)
    if method is None:
        return
    try:
        method(run_id, source)
    except store_errors(ledger) as exc:
        logger.warning("ledger: could not record where run %s came from (%s)", run_id, exc)


def key_rows(
    df: pd.DataFrame, mapping: LeadMapping, positions: np.ndarray, serial: np.ndarray, report: SyncReport
) -> tuple[np.ndarray, np.ndarray]:
    """The email and body keys of the valid rows, by position (0 elsewhere), rows sharing an email chained as
    the ledger records them; the body keys also go to the report (`results["body_key"]`).

    Returns:
        `(email_keys, body_keys)`, int64 arrays as long as `df`.
    """
    n = len(df)
    emails = np.zeros(n, dtype=np.int64)
    bodies = np.zeros(n, dtype=np.int64)
    if len(positions):
        emails[positions], bodies[positions] = lead_keys(df, mapping, positions)
        if serial.any():
            bodies = chain_groups(emails, bodies, serial)
        report._body_keys[positions] = bodies[positions]
        report._keyed[positions] = True
    return emails, bodies


def store_errors(ledger: Ledger) -> tuple[type[BaseException], ...]:
    """What a failing store raises: sqlite3's and OS errors, and a server database's driver errors
    (`PostgresLedger.errors`)."""
    own = getattr(ledger, "errors", ())
    return (sqlite3.Error, OSError, *(own if isinstance(own, tuple) else ()))


def open_for_run(
    ledger: str | PathLike[str] | Ledger | Literal[False] | None, client: Publitrac | None
) -> tuple[Ledger, Destination, bool] | None:
    """The ledger a run uses, its destination, and whether the run opened it (and so closes it at the end).

    Returns:
        None without a ledger (`ledger=False`, or none configured) or without a destination (`client` None).
    """
    if ledger is False or client is None:
        return None
    store = open_ledger(ledger)
    if store is None:
        return None
    return store, destination_for(client), store is not ledger

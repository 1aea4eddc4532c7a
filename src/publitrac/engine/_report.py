"""`SyncReport`: what happened to every row of a sync.

The engine writes into preallocated numpy arrays (one slot per input row, by position), which costs next to
nothing per row; the DataFrame views (`results`, `summary`, the row selections) are built when asked for.

Statuses, per row:

- `accepted`: the API answered 2xx (accepted; Publitrac applies the lead a little later);
- `unchanged`: not sent, because the ledger says Publitrac already accepted this exact body for this email at
  this destination;
- `invalid`: the row failed validation and was never sent (see `problems`);
- `failed`: the API refused the row, or every attempt failed (transient errors past the retry budget);
- `in_flight`: the run stopped while the row's request was out: sent, answer unknown;
- `not_sent`: the run stopped (or was a dry run) before the row was sent.
"""

from __future__ import annotations

import html
import time
from collections.abc import Sequence
from os import PathLike
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from ..lead._diff import LeadDiff
from ..lead._values import normalised_emails

STATUSES: tuple[str, ...] = ("not_sent", "in_flight", "accepted", "failed", "invalid", "unchanged")
NOT_SENT, IN_FLIGHT, ACCEPTED, FAILED, INVALID, UNCHANGED = range(6)
_STATUS_DTYPE = pd.CategoricalDtype(list(STATUSES))
# Internal: the row got a transient error and waits to be tried again; reported as `failed` if the run stops.
RETRY_WAIT = 6
SUMMARY_ORDER: tuple[str, ...] = ("accepted", "unchanged", "invalid", "failed", "in_flight", "not_sent")
CSV_COLUMNS: tuple[str, ...] = (
    "row",
    "email",
    "status",
    "http_status",
    "attempts",
    "error",
    "run_id",
    "sent_at",
    "body_key",
)
#: The provenance columns of `results` and of the results file: the run (`publitrac runs show`), when the row's
#: last attempt was sent (UTC), and the fingerprint of its body as the ledger keeps it (empty for invalid rows).
PROVENANCE_COLUMNS: tuple[str, ...] = ("run_id", "sent_at", "body_key")
_SHOWN_ROWS = 5


class SyncReport:
    """The outcome of a sync, one entry per input row, aligned to the input frame's index.

    Args:
        frame: the input DataFrame (kept by reference, never modified).
        emails: the email of each row, as shown in `results` (None: left empty).
        problems: the validation problems (`publitrac.validate`'s frame); rows with an `error` are invalid.
        invalid: boolean mask by position of the rows that will not be sent.
        dry_run: whether this report comes from a dry run (nothing sent).

    Attributes:
        problems: the validation problems found before sending.
        interrupted: True when the run stopped before every row had its answer.
        dry_run: True for a dry run.
        run_id: the run's id in the ledger (`publitrac runs show ID`); None without a ledger or in a dry run.
        diff: with `dry_run="diff"` and a ledger that keeps bodies, what would change, field by field
            (a `LeadDiff`: `.fields`, `.examples`); else None.
        refusal: in a dry run, the guard that would refuse the run (a `RunRefused`), or None.
        ledger: where the ledger is (a path), or None when no ledger was used.
        elapsed: seconds the run took (so far, while it runs).

    Example (not run by the doctests: it needs a frame `df` and a connection `pt`; see `publitrac.sync`):
        >>> report = publitrac.sync(df, pt, email="E-mail")    # doctest: +SKIP
        >>> report.summary                                        # doctest: +SKIP
        accepted     297
        invalid        3
        ...
        >>> fixed = report.invalid_rows()                         # doctest: +SKIP
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        *,
        emails: Sequence[Any] | np.ndarray | pd.Series | None = None,
        problems: pd.DataFrame | None = None,
        invalid: np.ndarray | None = None,
        dry_run: bool = False,
    ) -> None:
        n = len(frame)
        self._frame = frame
        self._status = np.full(n, NOT_SENT, dtype=np.int8)
        self._http_status = np.zeros(n, dtype=np.int16)
        self._attempts = np.zeros(n, dtype=np.int16)
        self._elapsed_ms = np.full(n, np.nan, dtype=np.float32)
        self._errors = np.full(n, None, dtype=object)
        self._sent_at = np.full(n, np.nan, dtype=np.float64)  # seconds since the epoch of the last attempt
        self._body_keys = np.zeros(n, dtype=np.int64)
        self._keyed = np.zeros(n, dtype=bool)  # rows whose body key is known (the valid ones)
        # A Series keeps its own (often pyarrow) storage: an object copy of a million emails costs ~80 MB.
        self._emails: Any = (
            np.full(n, None, dtype=object)
            if emails is None
            else emails.array
            if isinstance(emails, pd.Series)
            else np.asarray(emails, dtype=object)
        )
        self.problems = problems if problems is not None else pd.DataFrame()
        if invalid is not None and invalid.any():
            self._status[invalid] = INVALID
            self._errors[invalid] = _problem_texts(self.problems, np.flatnonzero(invalid))
        self.dry_run = dry_run
        self.interrupted = False
        self.run_id: int | None = None
        self.ledger: str | None = None
        self.diff: LeadDiff | None = None
        self.refusal: Exception | None = None  # a RunRefused (named loosely: _exceptions names this module)
        self.changes: ChangeCounts | None = None
        # By position, what the run changed and whether a row was left unsent before (`IncrementalRun`).
        self._row_changes: tuple[np.ndarray, np.ndarray] | None = None
        self._started = time.perf_counter()
        self._finished: float | None = None

    # -- written by the engine -----------------------------------------------------------------------------

    def _finish(self, *, interrupted: bool = False) -> None:
        self.interrupted = interrupted or bool(
            np.isin(self._status, (IN_FLIGHT, RETRY_WAIT)).any()
            or (not self.dry_run and (self._status == NOT_SENT).any())
        )
        if self._finished is None:
            self._finished = time.perf_counter()

    # -- views ---------------------------------------------------------------------------------------------

    def __len__(self) -> int:
        return len(self._status)

    @property
    def elapsed(self) -> float:
        """Seconds from the start of the run to its end (or to now, while it runs)."""
        end = self._finished if self._finished is not None else time.perf_counter()
        return end - self._started

    def _codes(self) -> npt.NDArray[np.int8]:
        return np.where(self._status == RETRY_WAIT, FAILED, self._status).astype(np.int8)

    @property
    def results(self) -> pd.DataFrame:
        """One row per input row, on the input's index: email, status, http_status, attempts, error,
        elapsed_ms, run_id, sent_at, body_key.

        `http_status` is missing when no HTTP answer was received (not sent, in flight, connection errors);
        `error` is missing for accepted rows. `run_id` is the run in the ledger (missing without one);
        `sent_at` when the row's last attempt was sent (UTC; missing when never sent); `body_key` the
        fingerprint of the row's body as the ledger keeps it (missing for invalid rows, and in a dry run
        without a ledger).

        Example (not run by the doctests: it needs a `report`):
            >>> report.results.query("status == 'failed'")    # doctest: +SKIP
        """
        http = pd.array(self._http_status, dtype="Int16")
        http[self._http_status == 0] = pd.NA
        return pd.DataFrame(
            {
                "email": self._emails,
                "status": pd.Categorical.from_codes(self._codes(), dtype=_STATUS_DTYPE),
                "http_status": http,
                "attempts": self._attempts.astype(np.int64),
                "error": self._errors,
                "elapsed_ms": self._elapsed_ms.astype(np.float64).round(1),
                **provenance(len(self), self.run_id, self._sent_at, self._body_keys, self._keyed),
            },
            index=self._frame.index,
        )

    @property
    def counts(self) -> dict[str, int]:
        """Rows per status, every status present (zero included), in SUMMARY_ORDER."""
        tally = np.bincount(self._codes(), minlength=len(STATUSES))
        return {name: int(tally[STATUSES.index(name)]) for name in SUMMARY_ORDER}

    @property
    def summary(self) -> pd.Series:
        """Rows per status (accepted, unchanged, invalid, failed, in_flight, not_sent), zeros included."""
        return pd.Series(self.counts, name="rows", dtype="int64")

    @property
    def ok(self) -> bool:
        """True when every row was accepted or unchanged (Publitrac already had it)."""
        return bool(np.isin(self._status, (ACCEPTED, UNCHANGED)).all())

    def _rows(self, *codes: int) -> pd.DataFrame:
        return self._frame.iloc[np.flatnonzero(np.isin(self._codes(), codes))].copy()

    def accepted_rows(self) -> pd.DataFrame:
        """The input rows that were accepted (a copy, original index)."""
        return self._rows(ACCEPTED)

    def unchanged_rows(self) -> pd.DataFrame:
        """The input rows not sent because Publitrac already accepted them as they are (a copy)."""
        return self._rows(UNCHANGED)

    def failed_rows(self) -> pd.DataFrame:
        """The input rows that failed (a copy, original index): fix or simply send them again."""
        return self._rows(FAILED)

    def invalid_rows(self) -> pd.DataFrame:
        """The input rows that were invalid and not sent (a copy, original index); see `problems` for why."""
        return self._rows(INVALID)

    def rows_to_retry(self) -> pd.DataFrame:
        """The valid input rows not known to be accepted (failed, in flight or not sent), with every valid row
        sharing an email with one of them (a copy).

        Re-sending them is harmless: the API upserts by email. The whole email group goes again so that, sent
        in row order, the later row still wins, and the ledger records the group as one sequence.

        Example (not run by the doctests: it needs a `report` and a connection `pt`):
            >>> report = publitrac.sync(report.rows_to_retry(), pt)    # doctest: +SKIP
        """
        codes = self._codes()
        left = np.isin(codes, (FAILED, IN_FLIGHT, NOT_SENT))
        positions = with_email_groups(left, self._emails, codes != INVALID)
        return self._frame.iloc[positions].copy()

    def to_csv(self, path: str | PathLike[str], *, rows: npt.ArrayLike | None = None) -> None:
        """Write one line per input row, in input order: row (0-based position), email, status, http_status,
        attempts, error, run_id, sent_at (ISO 8601, UTC), body_key.

        Args:
            path: the file to write (UTF-8).
            rows: the row number to write for each row (default: its position); a retry writes the original
                file's row numbers.

        Example (not run by the doctests: it needs a `report`, and writes a file):
            >>> report.to_csv("results.csv")    # doctest: +SKIP
        """
        table = self.results.reset_index(drop=True)
        table.insert(0, "row", np.arange(len(table)) if rows is None else np.asarray(rows))
        table["sent_at"] = iso_times(self._sent_at)
        table[list(CSV_COLUMNS)].to_csv(path, index=False, encoding="utf-8")

    @property
    def counts_by_change(self) -> dict[str, int] | None:
        """What the run changed at the destination, by the ledger: `added` (accepted rows whose email the
        ledger did not know there), `changed` (accepted rows whose email it knew with another body),
        `resent` (accepted rows it knew with this very body: `resend="all"`), `unchanged` (not sent), and
        `previously_failed_now_sent` (accepted rows whose email an earlier run to this destination left
        failed, in flight or not sent). None without a ledger, or in a dry run.

        Example (not run by the doctests: it needs a `report`):
            >>> report.counts_by_change    # doctest: +SKIP
            {'added': 12, 'changed': 3, 'resent': 0, 'unchanged': 280, 'previously_failed_now_sent': 2}
        """
        return None if self.changes is None else self.changes.as_dict()

    # -- display -------------------------------------------------------------------------------------------

    def describe(self) -> str:
        """One line: the row counts by status and the time taken."""
        counts = {name: count for name, count in self.counts.items() if count}
        parts = (
            ", ".join(f"{count:,} {name.replace('_', ' ')}" for name, count in counts.items()) or "no rows"
        )
        seconds = self.elapsed
        sent = int(np.isin(self._codes(), (ACCEPTED, FAILED)).sum())
        rate = f", {sent / seconds:,.0f} rows/s" if sent and seconds > 0 else ""
        if self.dry_run:
            would = int((self._status == NOT_SENT).sum())
            flags = f" (dry run: {would:,} would be sent)"
        else:
            flags = " (interrupted)" if self.interrupted else ""
        changes = f"; {self.changes.sentence()}" if self.changes is not None and not self.dry_run else ""
        return f"{len(self):,} rows: {parts} in {seconds:.1f} s{rate}{flags}{changes}"

    def _attention(self) -> pd.DataFrame:
        """The first failed, invalid or unfinished rows, for display."""
        table = self.results
        table = table[~table["status"].isin(["accepted", "unchanged"])]
        if self.dry_run:
            table = table[table["status"] != "not_sent"]
        return table[["email", "status", "http_status", "attempts", "error"]].head(_SHOWN_ROWS)

    def __repr__(self) -> str:
        lines = [f"SyncReport: {self.describe()}"]
        attention = self._attention()
        if len(attention):
            lines.append("First rows needing attention (report.results has them all):")
            lines.extend("  " + line for line in attention.to_string(max_colwidth=60).splitlines())
        return "\n".join(lines)

    def _repr_html_(self) -> str:
        counts = "".join(
            f"<tr><th style='text-align:left'>{html.escape(name.replace('_', ' '))}</th>"
            f"<td style='text-align:right'>{count:,}</td></tr>"
            for name, count in self.counts.items()
        )
        parts = [
            f"<div><strong>SyncReport</strong>: {html.escape(self.describe())}",
            f"<table>{counts}</table>",
        ]
        attention = self._attention()
        if len(attention):
            parts.append("<p>First rows needing attention (<code>report.results</code> has them all):</p>")
            parts.append(attention.to_html(escape=True, na_rep="", max_rows=_SHOWN_ROWS))
        parts.append("</div>")
        return "".join(parts)


class ChangeCounts:
    """What a run changed at its destination, counted by the ledger (see `SyncReport.counts_by_change`).

    Example:
        >>> counts = ChangeCounts(added=2, changed=1, unchanged=5, previously_failed_now_sent=1)
        >>> counts.sentence()
        '2 added, 1 changed, 5 unchanged, 1 previously failed now sent'
        >>> (counts + ChangeCounts(resent=3)).sentence()
        '2 added, 1 changed, 3 resent, 5 unchanged, 1 previously failed now sent'
    """

    __slots__ = ("added", "changed", "previously_failed_now_sent", "resent", "unchanged")

    def __init__(
        self,
        *,
        added: int = 0,
        changed: int = 0,
        resent: int = 0,
        unchanged: int = 0,
        previously_failed_now_sent: int = 0,
    ) -> None:
        self.added = added
        self.changed = changed
        self.resent = resent
        self.unchanged = unchanged
        self.previously_failed_now_sent = previously_failed_now_sent

    def as_dict(self) -> dict[str, int]:
        """The counts by name, in the order of the sentence."""
        return {name: int(getattr(self, name)) for name in _CHANGE_ORDER}

    def __add__(self, other: ChangeCounts) -> ChangeCounts:
        return ChangeCounts(**{name: getattr(self, name) + getattr(other, name) for name in _CHANGE_ORDER})

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ChangeCounts) and self.as_dict() == other.as_dict()

    def __repr__(self) -> str:
        return f"ChangeCounts({self.sentence()})"

    def sentence(self) -> str:
        """`N added, N changed, N unchanged, N previously failed now sent` (`N resent` too, when there are)."""
        counts = self.as_dict()
        return ", ".join(
            f"{count:,} {name.replace('_', ' ')}"
            for name, count in counts.items()
            if name != "resent" or count
        )


_CHANGE_ORDER: tuple[str, ...] = ("added", "changed", "resent", "unchanged", "previously_failed_now_sent")


def provenance(
    n: int, run_id: int | None, sent_at: np.ndarray, body_keys: np.ndarray, keyed: np.ndarray
) -> dict[str, Any]:
    """The provenance columns of `results` (run_id, sent_at, body_key), as nullable columns."""
    run = pd.array(np.full(n, run_id if run_id is not None else 0, dtype=np.int64), dtype="Int64")
    if run_id is None:
        run[:] = pd.NA
    keys = pd.array(body_keys, dtype="Int64")
    keys[~keyed] = pd.NA
    return {
        "run_id": run,
        # milliseconds, as the results file writes them, whatever the values (pandas picks a unit by value)
        "sent_at": _utc_milliseconds(sent_at),
        "body_key": keys,
    }


def _utc_milliseconds(seconds: np.ndarray) -> pd.DatetimeIndex:
    values = np.asarray(seconds, dtype=np.float64)
    missing = np.isnan(values)
    stamps = np.where(missing, 0, np.round(values * 1000.0)).astype(np.int64).astype("datetime64[ms]")
    stamps[missing] = np.datetime64("NaT")
    return pd.DatetimeIndex(stamps).tz_localize("UTC")


def iso_times(seconds: np.ndarray) -> list[str]:
    """Times (seconds since the epoch; NaN for none) as ISO 8601 UTC text with milliseconds; empty for none.

    Example:
        >>> iso_times(np.array([0.25, np.nan]))
        ['1970-01-01T00:00:00.250Z', '']
    """
    values = np.asarray(seconds, dtype=np.float64)
    missing = np.isnan(values)
    milliseconds = np.where(missing, 0, np.round(values * 1000.0)).astype(np.int64)
    # A run sends a few thousand rows a second: each distinct second is formatted once (numpy), and a row's
    # text is its second's and its milliseconds', joined; pandas' strftime takes 15 s for a million rows.
    whole, fraction = np.divmod(milliseconds, 1000)
    distinct, which = np.unique(whole, return_inverse=True)
    names = np.datetime_as_string(distinct.astype("datetime64[s]"), unit="s").tolist()
    texts = [names[second] + _MILLISECONDS[part] for second, part in zip(which.tolist(), fraction.tolist())]
    for position in np.flatnonzero(missing).tolist():
        texts[position] = ""
    return texts


_MILLISECONDS: list[str] = [f".{part:03d}Z" for part in range(1000)]


def _problem_texts(problems: pd.DataFrame, positions: np.ndarray) -> list[str | None]:
    """For each position, its validation errors joined in one text."""
    if problems.empty or "position" not in problems.columns:
        return ["invalid row"] * len(positions)
    errors = problems
    if "severity" in errors.columns:
        errors = errors[errors["severity"] == "error"]
    labels = errors["problem"].astype(str)
    if "column" in errors.columns:
        labels = errors["column"].astype(str).where(errors["column"].notna(), "") + ": " + labels
        labels = labels.str.removeprefix(": ")
    joined = labels.groupby(errors["position"].to_numpy()).agg("; ".join)
    return [joined.get(position, "invalid row") for position in positions.tolist()]


def with_email_groups(
    left: npt.NDArray[np.bool_], emails: Any, sendable: npt.NDArray[np.bool_]
) -> npt.NDArray[np.intp]:
    """The positions of the rows in `left` and of every sendable row sharing an email with one of them.

    Resending a row alone could let an earlier row of its email arrive last and win; resending its whole group,
    in row order, keeps the file's order (the later row wins) and lets the ledger record the group whole.

    Args:
        left: by position, the rows to send again.
        emails: by position, the emails (any array-like; missing values allowed).
        sendable: by position, the rows that may be sent (not invalid).

    Returns:
        Sorted positions.

    Example:
        >>> with_email_groups(np.array([False, True, False]), ["a@x.fr", "b@x.fr", " A@x.fr"],
        ...                   np.array([True, True, True])).tolist()
        [1]
        >>> with_email_groups(np.array([False, False, True]), ["a@x.fr", "b@x.fr", " A@x.fr"],
        ...                   np.array([True, True, True])).tolist()
        [0, 2]
    """
    if not left.any():
        return np.flatnonzero(left)
    keys = normalised_emails(pd.Series(np.asarray(emails, dtype=object)).astype("string"))
    groups = keys[left].dropna().unique()
    same = keys.isin(groups).to_numpy(dtype=bool, na_value=False) & sendable
    return np.flatnonzero(left | same)

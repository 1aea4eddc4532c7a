"""`RunOutcome`: one overall view of a push and the retries that followed it, as an analyst reads it.

A retry is a sync of some rows of the same file; its report covers those rows only, numbered from 0. The outcome
puts each retry's answers back on the rows they belong to, so that the whole file has one status per row, with
the file's own row numbers, while `.reports` keeps every attempt. It also says what the numbers mean: counts per
status (rows being retried apart from rows that failed for good), one sentence for the run, errors grouped by
kind in plain words, and the duplicates that make "accepted" and "leads" differ.

Presentation of facts the engine already recorded: nothing here sends, validates or retries.
"""

from __future__ import annotations

import re
from os import PathLike
from typing import Any

import numpy as np
import pandas as pd

from ._report import RETRY_WAIT, STATUSES, SyncReport, with_email_groups
from ..lead._values import normalised_emails

#: Every status an overall view can count, in the order the app shows them.
TILE_STATUSES: tuple[str, ...] = (
    "accepted",
    "unchanged",
    "invalid",
    "failed",
    "retrying",
    "in_flight",
    "not_sent",
)
#: The columns of the results download, one line per row of the file, in file order.
CSV_COLUMNS: tuple[str, ...] = ("row", "email", "status", "http_status", "attempts", "error")
_LEFT_TO_RETRY = ("failed", "in_flight", "not_sent")
# The engine's status codes by number, the internal "waiting for another attempt" included.
_CODE_NAMES: tuple[str, ...] = (*STATUSES, "retrying")
assert _CODE_NAMES.index("retrying") == RETRY_WAIT
# Plain words for what an HTTP status says about a failed row.
_HTTP_WORDS = {
    0: "No answer from Publitrac (the connection failed or timed out)",
    400: "Publitrac refused the lead as malformed",
    401: "The key stopped being accepted during the run",
    403: "Publitrac refused access",
    404: "Publitrac has no such address: check that the Base URL ends in /v2",
    408: "Publitrac took too long to read the request",
    413: "The lead was too large for Publitrac",
    422: "Publitrac refused the lead's values",
    429: "Publitrac asked to slow down (too many requests)",
    500: "Publitrac had an internal error",
    502: "A gateway in front of Publitrac got no answer",
    503: "Publitrac was busy",
    504: "A gateway in front of Publitrac timed out",
}


class RunOutcome:
    """The overall view of one push of `frame` and of the retries that followed it.

    Args:
        frame: the leads of the whole file, as pushed.
        report: the first push's report (a dry run is accepted too: nothing sent yet).

    Attributes:
        frame: the leads.
        reports: every report, the first push then each retry, in order (the history of attempts).
        retries: how many retries were merged.

    Example:
        >>> import pandas as pd, publitrac
        >>> frame = pd.DataFrame({"email": ["ana@example.com", "nope"]})
        >>> outcome = RunOutcome(frame, publitrac.sync(frame, dry_run=True))
        >>> outcome.counts()["invalid"], outcome.counts()["not_sent"]
        (1, 1)
    """

    def __init__(self, frame: pd.DataFrame, report: SyncReport) -> None:
        if len(report) != len(frame):
            raise ValueError(f"the report has {len(report)} rows, the frame {len(frame)}")
        self.frame = frame
        self.reports: list[SyncReport] = [report]
        self.retries = 0
        table = report.results.reset_index(drop=True)
        self._status = table["status"].astype(str).to_numpy(dtype=object)
        self._http = report._http_status.astype(np.int64).copy()
        self._attempts = report._attempts.astype(np.int64).copy()
        self._errors = report._errors.copy()
        self._emails = report._emails
        self._elapsed = report._elapsed_ms.astype(np.float64).copy()
        self._running: tuple[np.ndarray, SyncReport] | None = None

    # -- retries ---------------------------------------------------------------------------------------------

    def positions_to_retry(self) -> np.ndarray:
        """The positions (0-based, in the file) of the rows to send again: the valid rows not known to be
        accepted (failed, in flight or not sent), and every other valid row sharing an email with one of them.

        The whole email group goes again although Publitrac took some of its rows: sent alone, an earlier row
        would arrive last and win, where the file's order says the later row wins; and the ledger records a
        group only as one sequence, so a group resent in part would be sent again on the next run. Empty after
        a dry run: nothing was pushed yet.

        Example (not run by the doctests: it needs an `outcome` of a real run):
            >>> outcome.positions_to_retry()    # doctest: +SKIP
            array([17, 42])
        """
        if self.reports[0].dry_run:
            return np.empty(0, dtype=np.int64)
        left = np.isin(self._status, _LEFT_TO_RETRY)
        return with_email_groups(left, self._emails, self._status != "invalid")

    def rows_to_retry(self) -> pd.DataFrame:
        """The rows to send again, as they are in `frame` (their index kept)."""
        return self.frame.iloc[self.positions_to_retry()]

    def start_retry(self, positions: np.ndarray, report: SyncReport) -> None:
        """Count the running `report` (of the rows at `positions`) in the live view until `add_retry`."""
        self._running = (np.asarray(positions, dtype=np.int64), report)

    def add_retry(self, positions: np.ndarray, report: SyncReport) -> None:
        """Put a retry's answers on the rows it resent; earlier attempts stay in `reports`.

        Args:
            positions: the positions in the file of the rows the retry sent, in the order it got them.
            report: the retry's report.

        Raises:
            ValueError: the report does not cover exactly those rows.
        """
        positions = np.asarray(positions, dtype=np.int64)
        if len(report) != len(positions):
            raise ValueError(f"the retry's report has {len(report)} rows for {len(positions)} positions")
        table = report.results
        self._status[positions] = table["status"].astype(str).to_numpy(dtype=object)
        self._http[positions] = report._http_status
        self._attempts[positions] += report._attempts
        self._errors[positions] = report._errors
        self._elapsed[positions] = report._elapsed_ms
        self.reports.append(report)
        self.retries += 1
        self._running = None

    # -- counts and sentences --------------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        """Rows per status over the whole file, every status of `TILE_STATUSES` present (zeros included).

        A retry started with `start_retry` is counted as it goes: `retrying` counts rows waiting for another
        attempt, `failed` only rows whose attempts are spent.
        """
        statuses = self._status.copy()
        retrying = np.zeros(len(statuses), dtype=bool)
        if self._running is not None:
            positions, report = self._running
            running, waiting = _live_statuses(report)
            statuses[positions] = running
            retrying[positions] = waiting
        return _tally(statuses, retrying)

    @property
    def valid_rows(self) -> int:
        """Rows that passed validation (every row but the invalid ones)."""
        return int(len(self._status) - (self._status == "invalid").sum())

    def sentence(self) -> str:
        """The run in one sentence, e.g. "295 of 295 valid rows accepted (after 1 retry)".

        Example (not run by the doctests: it needs an `outcome` of a real run):
            >>> outcome.sentence()    # doctest: +SKIP
            '295 of 295 valid rows accepted (after 1 retry); 5 invalid rows not sent'
        """
        counts = self.counts()
        valid = self.valid_rows
        if self.reports[0].dry_run:
            head = f"Dry run: {valid} of {len(self._status)} rows would be sent"
        elif counts["unchanged"]:
            head = (
                f"{counts['accepted'] + counts['unchanged']} of {valid} valid rows accepted or already in "
                f"Publitrac ({counts['unchanged']} unchanged, not sent again)"
            )
        else:
            head = f"{counts['accepted']} of {valid} valid rows accepted"
        if self.retries:
            head += f" (after {self.retries} retr{'y' if self.retries == 1 else 'ies'})"
        tail = []
        for status, words in (
            ("failed", "failed"),
            ("in_flight", "sent without an answer"),
            ("not_sent", "not sent"),
        ):
            if counts[status] and not (status == "not_sent" and self.reports[0].dry_run):
                tail.append(f"{counts[status]} {words}")
        if counts["invalid"]:
            tail.append(f"{counts['invalid']} invalid row{'s' if counts['invalid'] != 1 else ''} not sent")
        return "; ".join([head, *tail])

    def duplicates_sentence(self) -> str:
        """Why accepted rows and leads differ, e.g. "295 accepted, 294 leads: 2 rows share an email; the later
        one wins" ('' when no accepted rows share an email)."""
        done = np.isin(self._status, ("accepted", "unchanged"))
        if not done.any():
            return ""
        emails = normalised_emails(pd.Series(np.asarray(self._emails, dtype=object)[done]).astype("string"))
        sizes = emails.value_counts()
        shared = sizes[sizes > 1]
        if shared.empty:
            return ""
        rows, groups = int(shared.sum()), len(shared)
        leads = len(sizes)
        shares = "share an email" if groups == 1 else f"share {groups} emails"
        wins = "the later one wins" if groups == 1 else "in each group the later row wins"
        kept = "accepted" if not (self._status == "unchanged").any() else "accepted or unchanged"
        return f"{int(done.sum())} {kept}, {leads} leads: {rows} rows {shares}; {wins}"

    # -- rows ------------------------------------------------------------------------------------------------

    def results(self) -> pd.DataFrame:
        """One row per row of the file, in file order: row (the file's 0-based row number), email, status,
        http_status (empty without an answer), attempts (over every run), error ('' when none), elapsed_ms."""
        http = pd.array(self._http, dtype="Int64")
        http[self._http == 0] = pd.NA
        errors = pd.Series(self._errors, dtype=object).where(pd.notna(self._errors), "").astype(str)
        emails = pd.Series(np.asarray(self._emails, dtype=object)).astype("string").fillna("")
        return pd.DataFrame(
            {
                "row": np.arange(len(self._status)),
                "email": emails.astype(object).to_numpy(),
                "status": self._status.copy(),
                "http_status": http,
                "attempts": self._attempts.copy(),
                "error": errors.to_numpy(dtype=object),
                "elapsed_ms": np.round(self._elapsed, 1),
            }
        )

    def to_csv(self, path: str | PathLike[str]) -> None:
        """Write the overall results, one line per row of the file with its own row number, in file order."""
        self.results()[list(CSV_COLUMNS)].to_csv(path, index=False, encoding="utf-8")

    def csv_bytes(self) -> bytes:
        """The same as `to_csv`, as UTF-8 bytes (for a download button)."""
        text: str = self.results()[list(CSV_COLUMNS)].to_csv(index=False)
        return text.encode("utf-8")

    def error_groups(self) -> pd.DataFrame:
        """The rows that need attention, grouped by kind, with a plain explanation and what to do.

        Returns:
            One row per kind: `status` (failed, invalid, in_flight, not_sent), `explanation`, `rows`, `example`
            (the first row number and email), `what_to_do`; the largest groups first.
        """
        table = self.results()
        groups: list[dict[str, Any]] = []
        failed = table[table["status"] == "failed"]
        for code, rows in failed.groupby(failed["http_status"].fillna(0).astype(int), sort=False):
            tries = rows["attempts"]
            tried = f"{tries.min()}" if tries.min() == tries.max() else f"{tries.min()} to {tries.max()}"
            explanation = explain_status(int(code), message=_message(rows["error"].iloc[0]))
            transient = int(code) in (0, 401, 408, 429) or 500 <= int(code) <= 599
            groups.append(
                {
                    "status": "failed",
                    "explanation": f"{explanation}: tried {tried} time{'s' if tries.max() != 1 else ''}",
                    "rows": len(rows),
                    "example": _example(rows),
                    "what_to_do": "Retry these rows: sending a lead again is harmless."
                    if transient
                    else "Fix these rows in the file; retrying will not change the answer.",
                }
            )
        invalid = table[table["status"] == "invalid"]
        if len(invalid):
            kinds = invalid["error"].map(_problem_kind)
            for kind, rows in invalid.groupby(kinds, sort=False):
                groups.append(
                    {
                        "status": "invalid",
                        "explanation": f"{kind}: not sent",
                        "rows": len(rows),
                        "example": _example(rows),
                        "what_to_do": "Fix these rows in the file, then load it again.",
                    }
                )
        for status, words, todo in (
            ("in_flight", "Sent when the run stopped; the answer never came", "Retry: a resend is harmless."),
            ("not_sent", "Not sent: the run stopped first", "Retry to send them."),
        ):
            rows = table[table["status"] == status]
            if len(rows) and not self.reports[0].dry_run:
                groups.append(
                    {
                        "status": status,
                        "explanation": words,
                        "rows": len(rows),
                        "example": _example(rows),
                        "what_to_do": todo,
                    }
                )
        frame = pd.DataFrame(groups, columns=["status", "explanation", "rows", "example", "what_to_do"])
        return frame.sort_values("rows", ascending=False, kind="stable").reset_index(drop=True)


def explain_status(code: int, *, message: str = "") -> str:
    """Plain words for the HTTP status of a failed row, e.g. "Publitrac was busy (HTTP 503)".

    Args:
        code: the HTTP status, 0 when no answer came back.
        message: the API's own message, if it sent one (shown for refusals).

    Example:
        >>> explain_status(503)
        'Publitrac was busy (HTTP 503)'
    """
    words = _HTTP_WORDS.get(code)
    if words is None:
        words = "Publitrac refused the lead" if 400 <= code < 500 else "Publitrac answered with an error"
    if code == 0:
        return words
    said = f": {message}" if message and 400 <= code < 500 and code not in (401, 429) else ""
    return f"{words} (HTTP {code}){said}"


def live_counts(report: SyncReport) -> dict[str, int]:
    """Rows per status of one report, read while its run goes on (`retrying` apart from `failed`).

    Cheap enough to call several times a second on a million rows: one pass over the engine's status codes.

    Example (not run by the doctests: it needs a run under way, `publitrac.last_report()`):
        >>> live_counts(publitrac.last_report())["retrying"]    # doctest: +SKIP
        3
    """
    tally = np.bincount(report._status, minlength=len(_CODE_NAMES))
    counts = {status: 0 for status in TILE_STATUSES}
    for code, name in enumerate(_CODE_NAMES):
        counts[name] = counts.get(name, 0) + int(tally[code])
    return counts


def _tally(statuses: np.ndarray, retrying: np.ndarray) -> dict[str, int]:
    tally = {status: 0 for status in TILE_STATUSES}
    values, numbers = np.unique(statuses[~retrying].astype(str), return_counts=True)
    for value, number in zip(values.tolist(), numbers.tolist(), strict=True):
        tally[str(value)] = tally.get(str(value), 0) + int(number)
    tally["retrying"] = int(retrying.sum())
    return tally


def _live_statuses(report: SyncReport) -> tuple[np.ndarray, np.ndarray]:
    """The statuses of a running report as names, and the mask of rows waiting to be retried."""
    names = np.asarray(_CODE_NAMES, dtype=object)[report._status]
    return names, report._status == RETRY_WAIT


def _message(error: object) -> str:
    text = str(error)
    match = re.match(r"HTTP \d+: (.*)", text)
    return match.group(1) if match else ""


def _problem_kind(error: object) -> str:
    """ "E-mail Address: not a valid email address: An email ..." -> "Not a valid email address (E-mail Address)"."""
    text = str(error).split(";")[0]
    column, sep, rest = text.partition(": ")
    if not sep:
        return text[:1].upper() + text[1:]
    kind = rest.split(":")[0].strip()
    return f"{kind[:1].upper()}{kind[1:]} ({column})"


def _example(rows: pd.DataFrame) -> str:
    first = rows.iloc[0]
    email = str(first["email"]) or "no email"
    return f"row {int(first['row'])}: {email}"

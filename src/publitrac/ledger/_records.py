"""The records a ledger keeps and gives back: `Destination`, `RunRecord`, `LedgerStats`.

Shared by every store (`_store`'s `SQLiteLedger`, `_postgres`'s `PostgresLedger`), below all of them.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Destination", "LedgerStats", "RunRecord", "RunSource", "file_sha256", "utc_time"]

#: The statuses of a valid row that leave its lead unsent for sure: `publitrac retry` resends them, and the
#: ledger remembers their emails per destination until a later run gets them accepted.
LEFT_UNSENT: tuple[str, ...] = ("failed", "in_flight", "not_sent")


@dataclass(frozen=True)
class Destination:
    """Where leads go: a base URL and a fingerprint of the API key (never the key).

    Example:
        >>> print(Destination("http://127.0.0.1:8765/v2", "1f0c9a2b"))
        http://127.0.0.1:8765/v2 (key 1f0c9a2b)
    """

    base_url: str
    key_fingerprint: str

    def __str__(self) -> str:
        return f"{self.base_url} (key {self.key_fingerprint})"


@dataclass(frozen=True)
class RunSource:
    """Where a run's rows came from and how it ran, for `publitrac retry` (no secrets).

    Attributes:
        input_path: the input file's absolute path, or None (a DataFrame).
        input_sha256: the file's SHA-256 (hex) when the run started, or None.
        settings: the settings to run it again with (the resolved mapping, concurrency, ...), JSON-ready.
        retry_of: the run this one retries, or None.
    """

    input_path: str | None = None
    input_sha256: str | None = None
    settings: dict[str, Any] = field(default_factory=dict)
    retry_of: int | None = None


@dataclass(frozen=True)
class RunRecord:
    """One sync run as the ledger remembers it (no secrets)."""

    id: int
    destination: str
    input_name: str | None
    rows: int
    started_at: dt.datetime
    finished_at: dt.datetime | None
    counts: dict[str, int] = field(default_factory=dict)
    interrupted: bool = False
    base_url: str = ""
    key_fingerprint: str = ""
    source: RunSource = field(default_factory=RunSource)
    mapping: dict[str, str] | None = None
    """`{column: target}` (`leadInfo.email`, `leadCustomField.Company`); None for runs before it was kept."""

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> RunRecord:
        """A run from a store's row: id, base URL, key fingerprint, input name, rows, started, finished (epoch
        seconds), counts (JSON), interrupted; then, where kept, input path, input SHA-256, settings (JSON), retry
        of, mapping (JSON)."""
        run_id, base_url, fingerprint, input_name, rows, started, finished, counts, interrupted = row[:9]
        input_path, input_sha256, settings, retry_of, mapping = (list(row[9:14]) + [None] * 5)[:5]
        started_at = utc_time(started)
        assert started_at is not None
        return cls(
            id=int(run_id),
            destination=str(Destination(base_url, fingerprint)),
            input_name=input_name,
            rows=int(rows),
            started_at=started_at,
            finished_at=utc_time(finished),
            counts=json.loads(counts) if counts else {},
            interrupted=bool(interrupted),
            base_url=base_url,
            key_fingerprint=fingerprint,
            source=RunSource(
                input_path=input_path,
                input_sha256=input_sha256,
                settings=json.loads(settings) if settings else {},
                retry_of=None if retry_of is None else int(retry_of),
            ),
            mapping=json.loads(mapping) if mapping else None,
        )

    def as_dict(self) -> dict[str, Any]:
        """The record as plain values (times in ISO 8601)."""
        return {
            "id": self.id,
            "destination": self.destination,
            "input": self.input_name,
            "rows": self.rows,
            "started": self.started_at.isoformat(timespec="seconds"),
            "finished": self.finished_at.isoformat(timespec="seconds") if self.finished_at else None,
            **self.counts,
            "interrupted": self.interrupted,
            "input_path": self.source.input_path,
            "input_sha256": self.source.input_sha256,
            "retry_of": self.source.retry_of,
            "mapping": self.mapping,
        }


@dataclass(frozen=True)
class LedgerStats:
    """What the ledger holds for one destination."""

    destination: str
    leads: int
    runs: int
    first_accepted: dt.datetime | None
    last_accepted: dt.datetime | None
    location: str

    @classmethod
    def from_counts(
        cls, destination: Destination, leads: Sequence[Any] | None, runs: int, location: str
    ) -> LedgerStats:
        """The stats from a store's counts: `leads` is (count, first accepted, last accepted) or None."""
        count, first, last = leads if leads is not None else (0, None, None)
        return cls(
            destination=str(destination),
            leads=int(count),
            runs=int(runs),
            first_accepted=utc_time(first),
            last_accepted=utc_time(last),
            location=location,
        )


def utc_time(seconds: float | None) -> dt.datetime | None:
    """A stored time (seconds since the epoch) as an aware UTC datetime; None stays None.

    Example:
        >>> utc_time(0).isoformat()
        '1970-01-01T00:00:00+00:00'
    """
    return None if seconds is None else dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc)


def file_sha256(path: str | os.PathLike[str]) -> str:
    """The SHA-256 of a file's bytes, in hex (read in 1 MiB blocks).

    Example (not run by the doctests: it reads a file):
        >>> file_sha256("leads.csv")    # doctest: +SKIP
        '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08'
    """
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "sha256").hexdigest()

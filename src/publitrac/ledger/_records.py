"""The records a ledger keeps and gives back: `Destination`, `RunRecord`, `LedgerStats`.

Shared by every store (`_store`'s `SQLiteLedger`, `_postgres`'s `PostgresLedger`), below all of them.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Destination", "LedgerStats", "RunRecord", "utc_time"]


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
    mapping: dict[str, str] | None = None
    """`{column: target}` (`leadInfo.email`, `leadCustomField.Company`); None for runs before it was kept."""

    @classmethod
    def from_row(cls, row: Sequence[Any]) -> RunRecord:
        """A run from a store's row: id, base URL, key fingerprint, input name, rows, started, finished (epoch
        seconds), counts (JSON), interrupted, and optionally the mapping (JSON)."""
        run_id, base_url, fingerprint, input_name, rows, started, finished, counts, interrupted = row[:9]
        mapping = row[9] if len(row) > 9 else None
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

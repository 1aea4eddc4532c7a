"""The ledger: what Publitrac has accepted, per destination and per lead, and the history of runs.

The API has no read endpoint, so the client's own record is the only way to know what Publitrac already has. A
sync looks every valid row up here (in bulk, by the keys of `_fingerprints`): a row whose body is the one last
accepted for its email at this destination is `unchanged` and not sent. Each acceptance is written as it
happens (batched, at least every second), so an interrupted run resumes by being run again.

"Accepted" means accepted by the delayed sync (HTTP 2xx, `status: success`), not applied: Publitrac applies the
lead later, out of sight.

The store sits behind a small interface, `Ledger`; `SQLiteLedger` is the embedded default (standard library
`sqlite3`, WAL, short transactions, a busy timeout, so that several processes can share one file). A server
database for teams implements the same interface: `PostgresLedger` (`_postgres`), which `open_ledger`
recognises by its `postgresql://` URL.

A destination is the base URL plus a fingerprint of the API key (HMAC-SHA256 keyed with the API key,
truncated): two accounts, or a sandbox and an account, never share entries, and the key itself is never stored.

Example (not run by the doctests: it needs a connection `pt`, and writes `ledger.sqlite3`):
    >>> with open_ledger("ledger.sqlite3") as ledger:                        # doctest: +SKIP
    ...     ledger.stats(destination_for(pt))
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Final, Literal, Protocol, runtime_checkable

import numpy as np

from .._exceptions import ConfigurationError
from ._records import Destination, LedgerStats, RunRecord, RunSource

if TYPE_CHECKING:
    import pandas as pd

    from ..connection._client import Publitrac

__all__ = [
    "LEDGER_ENV",
    "BodyLedger",
    "Destination",
    "Ledger",
    "LedgerStats",
    "RunRecord",
    "SQLiteLedger",
    "default_ledger_path",
    "destination_for",
    "open_ledger",
    "recent_runs",
    "run_duration",
    "runs_frame",
]

LEDGER_ENV: Final = "PUBLITRAC_LEDGER"
"""Environment variable: the ledger to use instead of the file in the user's data directory (a path, or a
`postgresql://` URL)."""
_KEY_FINGERPRINT_MESSAGE: Final = b"publitrac ledger destination v1"
# Bulk lookups: below this many keys, indexed `IN (...)` queries; above, one scan of the destination's leads
# (sorted by key in a WITHOUT ROWID table), searched with numpy.
_LOOKUP_SCAN_FROM: Final = 50_000
_IN_CHUNK: Final = 900  # under SQLite's historical limit of 999 host parameters


def key_fingerprint(api_key: str) -> str:
    """A non-reversible fingerprint of an API key: HMAC-SHA256 keyed with it, first 16 hex digits.

    Example:
        >>> key_fingerprint("sandbox-demo-key") == key_fingerprint("sandbox-demo-key ")
        True
    """
    return hmac.new(api_key.strip().encode(), _KEY_FINGERPRINT_MESSAGE, hashlib.sha256).hexdigest()[:16]


def destination_for(client: Publitrac) -> Destination:
    """The destination a connection sends to.

    Args:
        client: a `Publitrac` connection.

    Returns:
        Its base URL and its key's fingerprint.

    Example:
        >>> from publitrac import Publitrac
        >>> destination_for(Publitrac(api_key="k", base_url="http://127.0.0.1:8765/v2")).base_url
        'http://127.0.0.1:8765/v2'
    """
    return Destination(client.base_url.rstrip("/"), key_fingerprint(client._api_key))


@runtime_checkable
class Ledger(Protocol):
    """The store behind incremental syncs. Keys and fingerprints are int64 arrays (see `_fingerprints`).

    Implementations: `SQLiteLedger` (embedded, the default); `PostgresLedger` (a server, `_postgres`),
    which also names its driver's exception types as `errors`, so that a failing write is logged, not raised.
    `publitrac.sync` takes any object with these methods as `ledger=`. Each call is one short transaction;
    lookups and records come in bulk (arrays), never one row per call.

    Both stores also have three methods a ledger may lack (one written for an earlier version then syncs as
    before, without them): `record_source(run_id, source)` (a run's `RunSource`: input file, SHA-256,
    settings, retry of; `publitrac retry` reads it back through `run`), `failed_before(destination,
    email_keys)` (a boolean array: emails an earlier run to this destination left failed, in flight or not
    sent) and `record_outcomes(destination, run_id, accepted_keys, unsent_keys, unsent_statuses)` (forget
    the failures of the emails now accepted, remember those left unsent): the summary's "previously failed
    now sent".

    Example (not run by the doctests: it writes `ledger.sqlite3` in the current directory):
        >>> with publitrac.open_ledger("ledger.sqlite3") as ledger:    # doctest: +SKIP
        ...     [(run.id, run.counts) for run in ledger.runs(limit=3)]
    """

    location: str

    def lookup(self, destination: Destination, email_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`(found, body_keys)`, aligned to `email_keys`: whether each email has an accepted body here, and
        that body's key (0 where not found)."""
        ...

    def record_accepted(
        self, destination: Destination, run_id: int | None, email_keys: np.ndarray, body_keys: np.ndarray
    ) -> None:
        """Remember that these bodies were accepted (one commit; later entries for an email win)."""
        ...

    def start_run(self, destination: Destination, *, input_name: str | None, rows: int) -> int:
        """Record the start of a run; returns its id."""
        ...

    def finish_run(self, run_id: int, *, counts: Mapping[str, int], interrupted: bool) -> None:
        """Record the end of a run with its counts by status."""
        ...

    def runs(self, destination: Destination | None = None, *, limit: int = 20) -> list[RunRecord]:
        """The latest runs, newest first (of every destination when None)."""
        ...

    def run(self, run_id: int) -> RunRecord | None:
        """One run, or None."""
        ...

    def stats(self, destination: Destination) -> LedgerStats:
        """How many leads and runs the ledger holds for a destination."""
        ...

    def forget(self, destination: Destination, email_keys: np.ndarray | None = None) -> int:
        """Forget some leads (by key) or, with None, every lead of a destination; returns how many."""
        ...

    def close(self) -> None:
        """Release the connection."""
        ...

    def __enter__(self) -> Ledger: ...

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None: ...


@runtime_checkable
class BodyLedger(Ledger, Protocol):
    """A ledger that also keeps the last accepted body of each lead (compressed, `_packing`) and the mapping of
    each run: what `dry_run="diff"` and the column guard (`max_changed`) compare with. `SQLiteLedger` and
    `PostgresLedger` are; a `Ledger` that is not simply has no diff and no column guard.
    """

    def record_bodies(
        self, destination: Destination, email_keys: np.ndarray, bodies: Sequence[bytes | None]
    ) -> None:
        """Keep these packed bodies as the leads' last accepted ones (None: forget the body, keep the lead)."""
        ...

    def bodies(self, destination: Destination, email_keys: np.ndarray) -> list[bytes | None]:
        """The packed last accepted body of each lead, aligned to `email_keys` (None where none is kept)."""
        ...

    def record_mapping(self, run_id: int, mapping: Mapping[str, str]) -> None:
        """Keep a run's mapping, `{column: target}` (`leadInfo.x` or `leadCustomField.y`)."""
        ...

    def last_run(self, destination: Destination) -> RunRecord | None:
        """The latest run to `destination` whose mapping is known, or None."""
        ...

    def compact(self, destination: Destination | None = None, *, before: float | None = None) -> int:
        """Drop the bodies kept for leads last accepted before `before` (epoch seconds; None: every body), of
        one destination or all; the fingerprints stay, so reruns still skip unchanged leads. Returns how many
        bodies were dropped."""
        ...


_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS destinations (
    id INTEGER PRIMARY KEY,
    base_url TEXT NOT NULL,
    key_fingerprint TEXT NOT NULL,
    UNIQUE (base_url, key_fingerprint)
);
CREATE TABLE IF NOT EXISTS leads (
    destination INTEGER NOT NULL,
    email_key INTEGER NOT NULL,
    body_key INTEGER NOT NULL,
    accepted_at INTEGER NOT NULL,
    run_id INTEGER,
    PRIMARY KEY (destination, email_key)
) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    destination INTEGER NOT NULL,
    input_name TEXT,
    rows INTEGER NOT NULL,
    started_at REAL NOT NULL,
    finished_at REAL,
    counts TEXT,
    interrupted INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS runs_by_destination ON runs (destination, id);
"""
# Migration step "bodies" (additive: a ledger file of an earlier version gains them when opened): the last
# accepted body of each lead, packed (`_packing`), apart from the keys so that the bulk lookup's scan stays
# small; and each run's mapping.
_BODIES_SCHEMA: Final = """
CREATE TABLE IF NOT EXISTS lead_bodies (
    destination INTEGER NOT NULL,
    email_key INTEGER NOT NULL,
    body BLOB NOT NULL,
    PRIMARY KEY (destination, email_key)
) WITHOUT ROWID;
"""


def _add_bodies(db: sqlite3.Connection) -> None:
    """Migration step "bodies": the `lead_bodies` table and the `runs.mapping` column, when missing."""
    db.execute(_BODIES_SCHEMA)
    columns = {row[1] for row in db.execute("PRAGMA table_info(runs)")}
    if "mapping" not in columns:
        db.execute("ALTER TABLE runs ADD COLUMN mapping TEXT")


# Additive migration steps, applied in order to every ledger opened (new or older), each idempotent: a column
# is added only when missing (SQLite has no ADD COLUMN IF NOT EXISTS), a table only when absent. No version
# number: another step appended by another change merges without renumbering.
_ADDED_COLUMNS: Final = (
    # provenance of a run, for `publitrac retry` (issue 17, part 5)
    ("runs", "input_path", "TEXT"),
    ("runs", "input_sha256", "TEXT"),
    ("runs", "settings", "TEXT"),
    ("runs", "retry_of", "INTEGER"),
)
_ADDED_TABLES: Final = (
    # The emails each destination's runs left failed, in flight or not sent, until a run gets them accepted:
    # "previously failed now sent" in the summary. Only unresolved emails are kept (none when every run went
    # well), keyed as the leads are (16 bytes of keys a row, WITHOUT ROWID).
    """CREATE TABLE IF NOT EXISTS failed_leads (
    destination INTEGER NOT NULL,
    email_key INTEGER NOT NULL,
    last_status TEXT NOT NULL,
    run_id INTEGER,
    PRIMARY KEY (destination, email_key)
) WITHOUT ROWID""",
)


def migrate(db: sqlite3.Connection) -> None:
    """Bring a ledger file of any earlier schema up to this one (inside the caller's write transaction)."""
    for table, column, declaration in _ADDED_COLUMNS:
        present = {row[1] for row in db.execute(f"PRAGMA table_info({table})")}
        if column not in present:
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {declaration}")
    for statement in _ADDED_TABLES:
        db.execute(statement)


def default_ledger_path() -> Path:
    """The ledger file: `PUBLITRAC_LEDGER` when set, else `ledger.sqlite3` in the user's data directory.

    Example (not run by the doctests: the answer depends on `PUBLITRAC_LEDGER` in the environment):
        >>> default_ledger_path().name                     # doctest: +SKIP
        'ledger.sqlite3'
    """
    configured = os.environ.get(LEDGER_ENV)
    if configured:
        return Path(configured).expanduser()
    import platformdirs

    return platformdirs.user_data_path("publitrac", appauthor=False) / "ledger.sqlite3"


class SQLiteLedger:
    """The ledger in one SQLite file (WAL; safe to share between processes).

    Args:
        path: the database file (created with its folders when missing).
        busy_timeout: seconds to wait for another process's write to end.
        clock: the wall clock, in seconds since the epoch (tests inject one).

    Example (not run by the doctests: it writes `ledger.sqlite3` in the current directory):
        >>> with SQLiteLedger("ledger.sqlite3") as ledger:              # doctest: +SKIP
        ...     ledger.runs(limit=5)
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.path = Path(path).expanduser()
        self.location = str(self.path)
        self._clock = clock
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            # isolation_level=None: transactions are explicit (BEGIN IMMEDIATE), and kept short.
            self._db = sqlite3.connect(
                self.path, timeout=busy_timeout, isolation_level=None, check_same_thread=False
            )
            self._db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            self._db.execute("PRAGMA journal_mode = WAL")
            self._db.execute("PRAGMA synchronous = NORMAL")
            with self._write():
                for statement in _SCHEMA.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                migrate(self._db)
                _add_bodies(self._db)
        except sqlite3.Error as exc:
            raise ConfigurationError(f"cannot open the ledger {self.path}: {exc}") from exc
        self._lock = threading.Lock()
        self._destinations: dict[Destination, int] = {}

    def __repr__(self) -> str:
        return f"SQLiteLedger({self.location!r})"

    # -- plumbing ------------------------------------------------------------------------------------------

    class _Transaction:
        def __init__(self, db: sqlite3.Connection) -> None:
            self._db = db

        def __enter__(self) -> sqlite3.Connection:
            self._db.execute("BEGIN IMMEDIATE")
            return self._db

        def __exit__(self, kind: type[BaseException] | None, *rest: object) -> None:
            self._db.execute("COMMIT" if kind is None else "ROLLBACK")

    def _write(self) -> SQLiteLedger._Transaction:
        return SQLiteLedger._Transaction(self._db)

    def _destination_id(self, destination: Destination, *, create: bool) -> int | None:
        known = self._destinations.get(destination)
        if known is not None:
            return known
        query = "SELECT id FROM destinations WHERE base_url = ? AND key_fingerprint = ?"
        params = (destination.base_url, destination.key_fingerprint)
        row = self._db.execute(query, params).fetchone()
        if row is None:
            if not create:
                return None
            with self._write() as db:
                db.execute(
                    "INSERT OR IGNORE INTO destinations (base_url, key_fingerprint) VALUES (?, ?)", params
                )
            row = self._db.execute(query, params).fetchone()
        self._destinations[destination] = int(row[0])
        return int(row[0])

    # -- leads ---------------------------------------------------------------------------------------------

    def lookup(self, destination: Destination, email_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`(found, body_keys)` aligned to `email_keys` (int64); one query per 900 keys, or one scan.

        Example (not run by the doctests: it needs an open `ledger` and a `destination`):
            >>> found, bodies = ledger.lookup(destination, np.array([1, 2]))    # doctest: +SKIP
        """
        keys = np.asarray(email_keys, dtype=np.int64)
        found = np.zeros(len(keys), dtype=bool)
        bodies = np.zeros(len(keys), dtype=np.int64)
        with self._lock:
            dest = self._destination_id(destination, create=False)
            if dest is None or not len(keys):
                return found, bodies
            if len(keys) >= _LOOKUP_SCAN_FROM:
                cursor = self._db.execute(
                    "SELECT email_key, body_key FROM leads WHERE destination = ? ORDER BY email_key", (dest,)
                )
                # Streamed into numpy: no list of a million tuples.
                known = np.fromiter(itertools.chain.from_iterable(cursor), dtype=np.int64).reshape(-1, 2)
            else:
                parts = []
                distinct = np.unique(keys).tolist()
                for start in range(0, len(distinct), _IN_CHUNK):
                    chunk = distinct[start : start + _IN_CHUNK]
                    marks = ",".join("?" * len(chunk))
                    parts.extend(
                        self._db.execute(
                            f"SELECT email_key, body_key FROM leads WHERE destination = ? AND email_key IN ({marks})",
                            (dest, *chunk),
                        ).fetchall()
                    )
                known = np.array(parts, dtype=np.int64).reshape(-1, 2)
                known = known[np.argsort(known[:, 0], kind="stable")]
        if not len(known):
            return found, bodies
        at = np.searchsorted(known[:, 0], keys)
        at[at == len(known)] = 0
        found = known[at, 0] == keys
        bodies = np.where(found, known[at, 1], 0)
        return found, bodies

    def record_accepted(
        self, destination: Destination, run_id: int | None, email_keys: np.ndarray, body_keys: np.ndarray
    ) -> None:
        """Remember these acceptances in one short transaction; for a repeated email the last entry wins.

        Example (not run by the doctests: it needs an open `ledger`, a `destination` and a `run_id`):
            >>> ledger.record_accepted(destination, run_id, np.array([1]), np.array([7]))    # doctest: +SKIP
        """
        if not len(email_keys):
            return
        now = int(self._clock())
        rows = zip(
            np.asarray(email_keys, dtype=np.int64).tolist(),
            np.asarray(body_keys, dtype=np.int64).tolist(),
            strict=True,
        )
        with self._lock:
            dest = self._destination_id(destination, create=True)
            with self._write() as db:
                db.executemany(
                    "INSERT OR REPLACE INTO leads (destination, email_key, body_key, accepted_at, run_id) "
                    "VALUES (?, ?, ?, ?, ?)",
                    ((dest, email, body, now, run_id) for email, body in rows),
                )

    def forget(self, destination: Destination, email_keys: np.ndarray | None = None) -> int:
        """Forget leads of a destination: those with these keys, or all of them (None). Returns how many.

        Example (not run by the doctests: it needs an open `ledger` and a `destination`):
            >>> ledger.forget(destination)    # doctest: +SKIP
            300
        """
        with self._lock:
            dest = self._destination_id(destination, create=False)
            if dest is None:
                return 0
            with self._write() as db:
                if email_keys is None:
                    db.execute("DELETE FROM lead_bodies WHERE destination = ?", (dest,))
                    return db.execute("DELETE FROM leads WHERE destination = ?", (dest,)).rowcount
                keys = np.asarray(email_keys, dtype=np.int64).tolist()
                db.executemany(
                    "DELETE FROM lead_bodies WHERE destination = ? AND email_key = ?",
                    ((dest, k) for k in keys),
                )
                return sum(
                    db.execute(
                        "DELETE FROM leads WHERE destination = ? AND email_key = ?", (dest, key)
                    ).rowcount
                    for key in keys
                )

    def record_bodies(
        self, destination: Destination, email_keys: np.ndarray, bodies: Sequence[bytes | None]
    ) -> None:
        """Keep these packed bodies as the leads' last accepted ones, in one short transaction (a later entry for
        an email wins; None drops the email's body).

        Example (not run by the doctests: it needs an open `ledger` and a `destination`):
            >>> ledger.record_bodies(destination, np.array([1]), [pack_body(body)])    # doctest: +SKIP
        """
        keys = np.asarray(email_keys, dtype=np.int64).tolist()
        if not keys:
            return
        with self._lock:
            dest = self._destination_id(destination, create=True)
            with self._write() as db:
                db.executemany(
                    "INSERT OR REPLACE INTO lead_bodies (destination, email_key, body) VALUES (?, ?, ?)",
                    ((dest, key, body) for key, body in zip(keys, bodies, strict=True) if body is not None),
                )
                dropped = [(dest, key) for key, body in zip(keys, bodies, strict=True) if body is None]
                if dropped:
                    db.executemany("DELETE FROM lead_bodies WHERE destination = ? AND email_key = ?", dropped)

    def bodies(self, destination: Destination, email_keys: np.ndarray) -> list[bytes | None]:
        """The packed last accepted body of each lead, aligned to `email_keys`; one query per 900 keys."""
        keys = np.asarray(email_keys, dtype=np.int64).tolist()
        found: dict[int, bytes] = {}
        with self._lock:
            dest = self._destination_id(destination, create=False)
            if dest is None:
                return [None] * len(keys)
            distinct = list(dict.fromkeys(keys))
            for start in range(0, len(distinct), _IN_CHUNK):
                chunk = distinct[start : start + _IN_CHUNK]
                marks = ",".join("?" * len(chunk))
                found.update(
                    self._db.execute(
                        f"SELECT email_key, body FROM lead_bodies WHERE destination = ? AND email_key IN ({marks})",
                        (dest, *chunk),
                    ).fetchall()
                )
        return [found.get(key) for key in keys]

    def compact(self, destination: Destination | None = None, *, before: float | None = None) -> int:
        """Drop the bodies of leads last accepted before `before` (epoch seconds; None: every body), of one
        destination (None: all), then give the space back to the file system (`VACUUM`). Returns how many.

        Example (not run by the doctests: it needs an open `ledger`):
            >>> ledger.compact(before=time.time() - 90 * 86400)    # doctest: +SKIP
            120000
        """
        where, params = "1 = 1", []
        with self._lock:
            if destination is not None:
                dest = self._destination_id(destination, create=False)
                if dest is None:
                    return 0
                where, params = "destination = ?", [dest]
            if before is not None:
                where += (
                    " AND email_key IN (SELECT l.email_key FROM leads l WHERE l.destination = "
                    "lead_bodies.destination AND l.accepted_at < ?)"
                )
                params.append(int(before))
            with self._write() as db:
                dropped = int(db.execute(f"DELETE FROM lead_bodies WHERE {where}", params).rowcount)
            if dropped:
                self._db.execute("VACUUM")
        return dropped

    # -- runs ----------------------------------------------------------------------------------------------

    def start_run(self, destination: Destination, *, input_name: str | None, rows: int) -> int:
        """Record the start of a run; returns its id.

        Example (not run by the doctests: it needs an open `ledger` and a `destination`):
            >>> run_id = ledger.start_run(destination, input_name="leads.csv", rows=300)    # doctest: +SKIP
        """
        with self._lock:
            dest = self._destination_id(destination, create=True)
            with self._write() as db:
                cursor = db.execute(
                    "INSERT INTO runs (destination, input_name, rows, started_at) VALUES (?, ?, ?, ?)",
                    (dest, input_name, int(rows), float(self._clock())),
                )
            assert cursor.lastrowid is not None
            return int(cursor.lastrowid)

    def record_mapping(self, run_id: int, mapping: Mapping[str, str]) -> None:
        """Keep a run's mapping, `{column: target}`; the column guard compares the next run with it."""
        with self._lock, self._write() as db:
            db.execute("UPDATE runs SET mapping = ? WHERE id = ?", (json.dumps(dict(mapping)), int(run_id)))

    def last_run(self, destination: Destination) -> RunRecord | None:
        """The latest run to `destination` whose mapping is known, or None."""
        with self._lock:
            dest = self._destination_id(destination, create=False)
            if dest is None:
                return None
            row = self._db.execute(
                f"{self._RUN_COLUMNS} WHERE r.destination = ? AND r.mapping IS NOT NULL "
                "ORDER BY r.id DESC LIMIT 1",
                (dest,),
            ).fetchone()
        return None if row is None else RunRecord.from_row(row)

    def finish_run(self, run_id: int, *, counts: Mapping[str, int], interrupted: bool) -> None:
        """Record the end of a run.

        Example (not run by the doctests: it needs an open `ledger` and a `run_id`):
            >>> ledger.finish_run(run_id, counts={"accepted": 300}, interrupted=False)    # doctest: +SKIP
        """
        with self._lock, self._write() as db:
            db.execute(
                "UPDATE runs SET finished_at = ?, counts = ?, interrupted = ? WHERE id = ?",
                (float(self._clock()), json.dumps(dict(counts)), int(interrupted), int(run_id)),
            )

    def record_source(self, run_id: int, source: RunSource) -> None:
        """Record where a run's rows came from and how it ran.

        Example (not run by the doctests: it needs an open `ledger` and a `run_id`):
            >>> ledger.record_source(run_id, RunSource(input_path="/data/leads.csv"))    # doctest: +SKIP
        """
        with self._lock, self._write() as db:
            db.execute(
                "UPDATE runs SET input_path = ?, input_sha256 = ?, settings = ?, retry_of = ? WHERE id = ?",
                (
                    source.input_path,
                    source.input_sha256,
                    json.dumps(source.settings),
                    source.retry_of,
                    int(run_id),
                ),
            )

    def failed_before(self, destination: Destination, email_keys: np.ndarray) -> np.ndarray:
        """Whether each email was left unsent by an earlier run to this destination (one query per 900 keys).

        Example (not run by the doctests: it needs an open `ledger` and a `destination`):
            >>> ledger.failed_before(destination, np.array([1, 2]))    # doctest: +SKIP
            array([False,  True])
        """
        keys = np.asarray(email_keys, dtype=np.int64)
        with self._lock:
            dest = self._destination_id(destination, create=False)
            if dest is None or not len(keys):
                return np.zeros(len(keys), dtype=bool)
            found: list[int] = []
            distinct = np.unique(keys).tolist()
            if len(distinct) >= _LOOKUP_SCAN_FROM:  # one scan of the destination's (usually few) failures
                cursor = self._db.execute("SELECT email_key FROM failed_leads WHERE destination = ?", (dest,))
                found = [row[0] for row in cursor]
                distinct = []
            for start in range(0, len(distinct), _IN_CHUNK):
                chunk = distinct[start : start + _IN_CHUNK]
                marks = ",".join("?" * len(chunk))
                found.extend(
                    row[0]
                    for row in self._db.execute(
                        f"SELECT email_key FROM failed_leads WHERE destination = ? AND email_key IN ({marks})",
                        (dest, *chunk),
                    )
                )
        return np.isin(keys, np.array(found, dtype=np.int64))

    def record_outcomes(
        self,
        destination: Destination,
        run_id: int | None,
        accepted_keys: np.ndarray,
        unsent_keys: np.ndarray,
        unsent_statuses: np.ndarray,
    ) -> None:
        """Forget the failures of the emails now accepted, remember those left unsent (one transaction).

        Example (not run by the doctests: it needs an open `ledger`, a `destination` and a `run_id`):
            >>> ledger.record_outcomes(destination, 3, np.array([1]), np.array([2]), np.array(["failed"]))  # doctest: +SKIP
        """
        if not len(accepted_keys) and not len(unsent_keys):
            return
        accepted = np.unique(np.asarray(accepted_keys, dtype=np.int64)).tolist()
        unsent = zip(np.asarray(unsent_keys, dtype=np.int64).tolist(), list(unsent_statuses), strict=True)
        with self._lock:
            dest = self._destination_id(destination, create=True)
            with self._write() as db:
                db.executemany(
                    "DELETE FROM failed_leads WHERE destination = ? AND email_key = ?",
                    ((dest, key) for key in accepted),
                )
                db.executemany(
                    "INSERT OR REPLACE INTO failed_leads (destination, email_key, last_status, run_id) "
                    "VALUES (?, ?, ?, ?)",
                    ((dest, key, str(status), run_id) for key, status in unsent),
                )

    _RUN_COLUMNS: Final = (
        "SELECT r.id, d.base_url, d.key_fingerprint, r.input_name, r.rows, r.started_at, r.finished_at, "
        "r.counts, r.interrupted, r.input_path, r.input_sha256, r.settings, r.retry_of, r.mapping "
        "FROM runs r JOIN destinations d ON d.id = r.destination"
    )

    def runs(self, destination: Destination | None = None, *, limit: int = 20) -> list[RunRecord]:
        """The latest runs, newest first.

        Example (not run by the doctests: it needs an open `ledger` with runs recorded):
            >>> [run.id for run in ledger.runs(limit=3)]    # doctest: +SKIP
            [12, 11, 10]
        """
        with self._lock:
            if destination is None:
                rows = self._db.execute(
                    f"{self._RUN_COLUMNS} ORDER BY r.id DESC LIMIT ?", (limit,)
                ).fetchall()
            else:
                dest = self._destination_id(destination, create=False)
                if dest is None:
                    return []
                rows = self._db.execute(
                    f"{self._RUN_COLUMNS} WHERE r.destination = ? ORDER BY r.id DESC LIMIT ?", (dest, limit)
                ).fetchall()
        return [RunRecord.from_row(row) for row in rows]

    def run(self, run_id: int) -> RunRecord | None:
        """One run by id, or None.

        Example (not run by the doctests: it needs an open `ledger` with run 12 recorded):
            >>> ledger.run(12).counts    # doctest: +SKIP
        """
        with self._lock:
            row = self._db.execute(f"{self._RUN_COLUMNS} WHERE r.id = ?", (int(run_id),)).fetchone()
        return None if row is None else RunRecord.from_row(row)

    def stats(self, destination: Destination) -> LedgerStats:
        """Leads and runs held for a destination.

        Example (not run by the doctests: it needs an open `ledger` and a `destination`):
            >>> ledger.stats(destination).leads    # doctest: +SKIP
            295
        """
        with self._lock:
            dest = self._destination_id(destination, create=False)
            leads, runs = None, 0
            if dest is not None:
                leads = self._db.execute(
                    "SELECT COUNT(*), MIN(accepted_at), MAX(accepted_at) FROM leads WHERE destination = ?",
                    (dest,),
                ).fetchone()
                (runs,) = self._db.execute(
                    "SELECT COUNT(*) FROM runs WHERE destination = ?", (dest,)
                ).fetchone()
        return LedgerStats.from_counts(destination, leads, runs, self.location)

    # -- lifetime ------------------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection (a WAL checkpoint happens when the last one closes)."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> SQLiteLedger:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def open_ledger(target: str | os.PathLike[str] | Ledger | Literal[False] | None = None) -> Ledger | None:
    """The ledger a setting names.

    Args:
        target: None for the default (`PUBLITRAC_LEDGER`: a file or a `postgresql://` URL; else a file in
            the user's data directory); a path for
            that SQLite file; a `postgresql://` URL for a PostgreSQL database (`PostgresLedger`, the
            `postgres` extra); a `Ledger` as is; False for none.

    Returns:
        The ledger, or None when turned off.

    Raises:
        ConfigurationError: the file or the database cannot be opened, or the target names an unsupported
            database.
        ImportError: a PostgreSQL URL without psycopg installed (the message names the extra).

    Example (not run by the doctests: it needs a folder `tmp_path`, and writes a file):
        >>> with open_ledger(tmp_path / "ledger.sqlite3") as ledger:    # doctest: +SKIP
        ...     ledger.runs()
    """
    if target is False:
        return None
    if target is None:
        configured = os.environ.get(LEDGER_ENV, "")
        if configured.lower().startswith(("postgresql://", "postgres://")):
            from ._postgres import PostgresLedger

            return PostgresLedger(configured)
        return SQLiteLedger(default_ledger_path())
    if isinstance(target, Ledger):
        return target
    if isinstance(target, (str, os.PathLike)):
        text = os.fspath(target)
        from ._postgres import PostgresLedger, is_postgres_url

        if is_postgres_url(text):
            return PostgresLedger(text)
        if "://" in text:
            raise ConfigurationError(
                f"unsupported ledger {text.split('://', 1)[0]}://...: give the path of a SQLite file"
            )
        return SQLiteLedger(text)
    raise ConfigurationError(f"ledger must be a path, a Ledger, None or False, got {type(target).__name__}")


_COUNT_COLUMNS: Final = ("accepted", "unchanged", "invalid", "failed", "in_flight", "not_sent")


def runs_frame(runs: list[RunRecord]) -> pd.DataFrame:
    """Runs as a table, one row each: id, start (UTC), duration, input, rows, counts by status, interrupted,
    destination; what `publitrac runs` prints and the push panel shows.

    Args:
        runs: run records (`Ledger.runs`).

    Returns:
        The table (empty, with its columns, when there is no run).

    Example:
        >>> runs_frame([]).columns[:3].tolist()
        ['id', 'started (UTC)', 'took']
    """
    import pandas as pd

    columns = ["id", "started (UTC)", "took", "input", "rows"]
    columns += [name.replace("_", " ") for name in _COUNT_COLUMNS] + ["interrupted", "destination"]
    rows = [
        [
            run.id,
            run.started_at.strftime("%Y-%m-%d %H:%M:%S"),
            run_duration(run),
            run.input_name or "",
            run.rows,
            *[run.counts.get(name, 0) for name in _COUNT_COLUMNS],
            "yes" if run.interrupted else ("" if run.finished_at else "unfinished"),
            run.destination,
        ]
        for run in runs
    ]
    return pd.DataFrame(rows, columns=columns)


def run_duration(run: RunRecord) -> str:
    """How long a run took, as text (`12.3 s`); empty while unfinished."""
    if run.finished_at is None:
        return ""
    return f"{(run.finished_at - run.started_at).total_seconds():.1f} s"


def recent_runs(target: str | os.PathLike[str] | Ledger | None = None, *, limit: int = 20) -> pd.DataFrame:
    """The latest runs of a ledger as a table (`runs_frame`), newest first; empty when there is no ledger file.

    Args:
        target: the ledger (see `open_ledger`; None: the default one).
        limit: how many runs.

    Returns:
        The table.

    Example (not run by the doctests: it needs a `report`):
        >>> recent_runs(report.ledger, limit=5)    # doctest: +SKIP
    """
    if target is None:
        target = default_ledger_path()
    if isinstance(target, (str, os.PathLike)) and not Path(target).expanduser().is_file():
        return runs_frame([])
    ledger = open_ledger(target)
    assert ledger is not None
    try:
        return runs_frame(ledger.runs(limit=limit))
    finally:
        if ledger is not target:
            ledger.close()

"""The ledger on a PostgreSQL server, for teams and clusters: the `Ledger` interface of `_store`, over psycopg 3.

Named by URL (`ledger="postgresql://user@host/db"`, `--ledger postgresql://...`); the password, when the URL
holds one, is never shown (`location` masks it). Several processes and machines share one database: every
write is one short transaction, an acceptance is an upsert (`INSERT ... ON CONFLICT DO UPDATE`), and the tables
are created once under an advisory lock, so that workers starting together do not race. The tables are
prefixed `publitrac_` so that the ledger can live in a database that holds other things.

Install the driver with the extra: `pip install "publitrac[postgres]"` (psycopg 3 with its binary build).

Example (not run by the doctests: it needs a PostgreSQL server):
    >>> with PostgresLedger("postgresql://publitrac@db.internal/leads") as ledger:   # doctest: +SKIP
    ...     ledger.runs(limit=5)
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from types import TracebackType
from typing import Any, Final
from urllib.parse import urlsplit, urlunsplit

import numpy as np

from .._exceptions import ConfigurationError
from ._records import Destination, LedgerStats, RunRecord, RunSource

__all__ = ["PostgresLedger", "is_postgres_url", "mask_url"]

SCHEMES: Final = ("postgresql://", "postgres://")
_LOOKUP_CHUNK: Final = 50_000
_SCHEMA_LOCK: Final = 0x70756274  # an arbitrary, fixed advisory lock id ("pubt")
_SCHEMA: Final = (
    """CREATE TABLE IF NOT EXISTS publitrac_destinations (
        id BIGSERIAL PRIMARY KEY,
        base_url TEXT NOT NULL,
        key_fingerprint TEXT NOT NULL,
        UNIQUE (base_url, key_fingerprint)
    )""",
    """CREATE TABLE IF NOT EXISTS publitrac_leads (
        destination BIGINT NOT NULL REFERENCES publitrac_destinations (id),
        email_key BIGINT NOT NULL,
        body_key BIGINT NOT NULL,
        accepted_at BIGINT NOT NULL,
        run_id BIGINT,
        PRIMARY KEY (destination, email_key)
    )""",
    """CREATE TABLE IF NOT EXISTS publitrac_runs (
        id BIGSERIAL PRIMARY KEY,
        destination BIGINT NOT NULL REFERENCES publitrac_destinations (id),
        input_name TEXT,
        rows BIGINT NOT NULL,
        started_at DOUBLE PRECISION NOT NULL,
        finished_at DOUBLE PRECISION,
        counts TEXT,
        interrupted BOOLEAN NOT NULL DEFAULT FALSE
    )""",
    "CREATE INDEX IF NOT EXISTS publitrac_runs_by_destination ON publitrac_runs (destination, id)",
)
# Migration step "bodies" (additive; run after `_SCHEMA` under the same advisory lock): the last accepted body of
# each lead, packed (`_packing`), and each run's mapping. See `_store` for why the bodies have their own table.
_BODIES_SCHEMA: Final = (
    """CREATE TABLE IF NOT EXISTS publitrac_lead_bodies (
        destination BIGINT NOT NULL REFERENCES publitrac_destinations (id),
        email_key BIGINT NOT NULL,
        body BYTEA NOT NULL,
        PRIMARY KEY (destination, email_key)
    )""",
    "ALTER TABLE publitrac_runs ADD COLUMN IF NOT EXISTS mapping TEXT",
)
# Additive migration steps (see `_store`), idempotent, run under the schema's advisory lock on every open.
_MIGRATION: Final = (
    # provenance of a run, for `publitrac retry` (issue 17, part 5)
    "ALTER TABLE publitrac_runs ADD COLUMN IF NOT EXISTS input_path TEXT",
    "ALTER TABLE publitrac_runs ADD COLUMN IF NOT EXISTS input_sha256 TEXT",
    "ALTER TABLE publitrac_runs ADD COLUMN IF NOT EXISTS settings TEXT",
    "ALTER TABLE publitrac_runs ADD COLUMN IF NOT EXISTS retry_of BIGINT",
    # the emails each destination's runs left unsent, until a run gets them accepted
    """CREATE TABLE IF NOT EXISTS publitrac_failed_leads (
        destination BIGINT NOT NULL REFERENCES publitrac_destinations (id),
        email_key BIGINT NOT NULL,
        last_status TEXT NOT NULL,
        run_id BIGINT,
        PRIMARY KEY (destination, email_key)
    )""",
)
_RUN_COLUMNS: Final = (
    "SELECT r.id, d.base_url, d.key_fingerprint, r.input_name, r.rows, r.started_at, r.finished_at, "
    "r.counts, r.interrupted, r.input_path, r.input_sha256, r.settings, r.retry_of, r.mapping "
    "FROM publitrac_runs r JOIN publitrac_destinations d ON d.id = r.destination"
)


def is_postgres_url(target: str) -> bool:
    """Whether a ledger setting names a PostgreSQL database.

    Example:
        >>> is_postgres_url("postgresql://db/leads"), is_postgres_url("ledger.sqlite3")
        (True, False)
    """
    return target.lower().startswith(SCHEMES)


def mask_url(url: str) -> str:
    """The URL with its password, if any, replaced by `***`.

    Example:
        >>> mask_url("postgresql://ana:s3cret@db:5432/leads")
        'postgresql://ana:***@db:5432/leads'
    """
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    netloc = f"{parts.username or ''}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


class PostgresLedger:
    """The ledger in a PostgreSQL database (several processes and machines may share it).

    Args:
        url: a libpq URL, `postgresql://user[:password]@host[:port]/database[?options]`.
        connect_timeout: seconds to wait for the server.
        clock: the wall clock, in seconds since the epoch (tests inject one).

    Raises:
        ImportError: psycopg is not installed (the message names the extra).
        ConfigurationError: the server cannot be reached or refuses the connection (the password masked).

    Example (not run by the doctests: it needs a PostgreSQL server and a connection `pt`):
        >>> with PostgresLedger("postgresql://publitrac@127.0.0.1:5432/leads") as ledger:   # doctest: +SKIP
        ...     ledger.stats(destination_for(pt)).leads
    """

    def __init__(
        self, url: str, *, connect_timeout: float = 10.0, clock: Callable[[], float] = time.time
    ) -> None:
        try:
            import psycopg
        except ImportError as exc:
            raise ImportError(
                'a PostgreSQL ledger needs psycopg, which is not installed: pip install "publitrac[postgres]"'
            ) from exc
        self.location = mask_url(url)
        self._clock = clock
        self._errors: tuple[type[BaseException], ...] = (psycopg.Error,)
        try:
            self._db: Any = psycopg.connect(
                url, autocommit=True, connect_timeout=max(1, round(connect_timeout))
            )
            with self._db.transaction():
                self._db.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
                for statement in (*_SCHEMA, *_MIGRATION, *_BODIES_SCHEMA):
                    self._db.execute(statement)
        except psycopg.Error as exc:
            message = str(exc).replace(url, self.location)
            raise ConfigurationError(f"cannot open the ledger {self.location}: {message}") from None
        self._lock = threading.Lock()
        self._destinations: dict[Destination, int] = {}

    def __repr__(self) -> str:
        return f"PostgresLedger({self.location!r})"

    @property
    def errors(self) -> tuple[type[BaseException], ...]:
        """The exception types a failing database raises (psycopg.Error)."""
        return self._errors

    def _destination_id(self, destination: Destination, *, create: bool) -> int | None:
        known = self._destinations.get(destination)
        if known is not None:
            return known
        params = (destination.base_url, destination.key_fingerprint)
        query = "SELECT id FROM publitrac_destinations WHERE base_url = %s AND key_fingerprint = %s"
        row = self._db.execute(query, params).fetchone()
        if row is None:
            if not create:
                return None
            self._db.execute(
                "INSERT INTO publitrac_destinations (base_url, key_fingerprint) VALUES (%s, %s) "
                "ON CONFLICT DO NOTHING",
                params,
            )
            row = self._db.execute(query, params).fetchone()
        self._destinations[destination] = int(row[0])
        return int(row[0])

    # -- leads ---------------------------------------------------------------------------------------------

    def lookup(self, destination: Destination, email_keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """`(found, body_keys)` aligned to `email_keys` (int64); one query per 50,000 distinct keys.

        Example (not run by the doctests: it needs a PostgreSQL `ledger` and a `destination`):
            >>> found, bodies = ledger.lookup(destination, np.array([1, 2]))    # doctest: +SKIP
        """
        keys = np.asarray(email_keys, dtype=np.int64)
        found = np.zeros(len(keys), dtype=bool)
        bodies = np.zeros(len(keys), dtype=np.int64)
        with self._lock:
            dest = self._destination_id(destination, create=False)
            if dest is None or not len(keys):
                return found, bodies
            distinct = np.unique(keys)
            parts: list[np.ndarray] = []
            for start in range(0, len(distinct), _LOOKUP_CHUNK):
                chunk = distinct[start : start + _LOOKUP_CHUNK].tolist()
                rows = self._db.execute(
                    "SELECT email_key, body_key FROM publitrac_leads "
                    "WHERE destination = %s AND email_key = ANY(%s::bigint[])",
                    (dest, chunk),
                ).fetchall()
                parts.append(np.array(rows, dtype=np.int64).reshape(-1, 2))
        known = np.concatenate(parts) if parts else np.zeros((0, 2), dtype=np.int64)
        if not len(known):
            return found, bodies
        known = known[np.argsort(known[:, 0], kind="stable")]
        at = np.searchsorted(known[:, 0], keys)
        at[at == len(known)] = 0
        found = known[at, 0] == keys
        bodies = np.where(found, known[at, 1], 0)
        return found, bodies

    def record_accepted(
        self, destination: Destination, run_id: int | None, email_keys: np.ndarray, body_keys: np.ndarray
    ) -> None:
        """Remember these acceptances in one transaction (an upsert); for a repeated email the last entry wins.

        Example (not run by the doctests: it needs a PostgreSQL `ledger`, a `destination` and a `run_id`):
            >>> ledger.record_accepted(destination, run_id, np.array([1]), np.array([7]))    # doctest: +SKIP
        """
        emails = np.asarray(email_keys, dtype=np.int64)
        bodies = np.asarray(body_keys, dtype=np.int64)
        if not len(emails):
            return
        # One upsert may touch a row once only: keep each email's last entry. Sorted keys also keep two
        # writers from locking rows in opposite orders.
        reversed_emails = emails[::-1]
        distinct, first_in_reversed = np.unique(reversed_emails, return_index=True)
        last = bodies[::-1][first_in_reversed]
        now = int(self._clock())
        with self._lock:
            dest = self._destination_id(destination, create=True)
            self._db.execute(
                "INSERT INTO publitrac_leads (destination, email_key, body_key, accepted_at, run_id) "
                "SELECT %s, e, b, %s, %s FROM unnest(%s::bigint[], %s::bigint[]) AS t (e, b) "
                "ON CONFLICT (destination, email_key) DO UPDATE SET body_key = EXCLUDED.body_key, "
                "accepted_at = EXCLUDED.accepted_at, run_id = EXCLUDED.run_id",
                (dest, now, run_id, distinct.tolist(), last.tolist()),
            )

    def forget(self, destination: Destination, email_keys: np.ndarray | None = None) -> int:
        """Forget leads of a destination: those with these keys, or all of them (None). Returns how many.

        Example (not run by the doctests: it needs a PostgreSQL `ledger` and a `destination`):
            >>> ledger.forget(destination)    # doctest: +SKIP
            300
        """
        with self._lock:
            dest = self._destination_id(destination, create=False)
            if dest is None:
                return 0
            with self._db.transaction():
                if email_keys is None:
                    self._db.execute("DELETE FROM publitrac_lead_bodies WHERE destination = %s", (dest,))
                    cursor = self._db.execute("DELETE FROM publitrac_leads WHERE destination = %s", (dest,))
                else:
                    keys = np.unique(np.asarray(email_keys, dtype=np.int64)).tolist()
                    self._db.execute(
                        "DELETE FROM publitrac_lead_bodies WHERE destination = %s "
                        "AND email_key = ANY(%s::bigint[])",
                        (dest, keys),
                    )
                    cursor = self._db.execute(
                        "DELETE FROM publitrac_leads WHERE destination = %s AND email_key = ANY(%s::bigint[])",
                        (dest, keys),
                    )
            return int(cursor.rowcount)

    def record_bodies(
        self, destination: Destination, email_keys: np.ndarray, bodies: Sequence[bytes | None]
    ) -> None:
        """Keep these packed bodies as the leads' last accepted ones, in one transaction (an upsert; a later
        entry for an email wins; None drops the email's body)."""
        keys = np.asarray(email_keys, dtype=np.int64).tolist()
        if not keys:
            return
        last: dict[int, bytes | None] = dict(zip(keys, bodies, strict=True))
        kept = sorted(key for key, body in last.items() if body is not None)
        dropped = sorted(key for key, body in last.items() if body is None)
        with self._lock:
            dest = self._destination_id(destination, create=True)
            with self._db.transaction():
                if kept:
                    self._db.execute(
                        "INSERT INTO publitrac_lead_bodies (destination, email_key, body) "
                        "SELECT %s, e, b FROM unnest(%s::bigint[], %s::bytea[]) AS t (e, b) "
                        "ON CONFLICT (destination, email_key) DO UPDATE SET body = EXCLUDED.body",
                        (dest, kept, [last[key] for key in kept]),
                    )
                if dropped:
                    self._db.execute(
                        "DELETE FROM publitrac_lead_bodies WHERE destination = %s "
                        "AND email_key = ANY(%s::bigint[])",
                        (dest, dropped),
                    )

    def bodies(self, destination: Destination, email_keys: np.ndarray) -> list[bytes | None]:
        """The packed last accepted body of each lead, aligned to `email_keys`."""
        keys = np.asarray(email_keys, dtype=np.int64).tolist()
        found: dict[int, bytes] = {}
        with self._lock:
            dest = self._destination_id(destination, create=False)
            if dest is None:
                return [None] * len(keys)
            distinct = list(dict.fromkeys(keys))
            for start in range(0, len(distinct), _LOOKUP_CHUNK):
                rows = self._db.execute(
                    "SELECT email_key, body FROM publitrac_lead_bodies "
                    "WHERE destination = %s AND email_key = ANY(%s::bigint[])",
                    (dest, distinct[start : start + _LOOKUP_CHUNK]),
                ).fetchall()
                found.update((int(key), bytes(body)) for key, body in rows)
        return [found.get(key) for key in keys]

    def compact(self, destination: Destination | None = None, *, before: float | None = None) -> int:
        """Drop the bodies of leads last accepted before `before` (epoch seconds; None: every body), of one
        destination (None: all). Returns how many (the server's autovacuum gives the space back)."""
        where, params = "TRUE", []
        with self._lock:
            if destination is not None:
                dest = self._destination_id(destination, create=False)
                if dest is None:
                    return 0
                where, params = "b.destination = %s", [dest]
            if before is not None:
                where += (
                    " AND EXISTS (SELECT 1 FROM publitrac_leads l WHERE l.destination = b.destination "
                    "AND l.email_key = b.email_key AND l.accepted_at < %s)"
                )
                params.append(int(before))
            cursor = self._db.execute(f"DELETE FROM publitrac_lead_bodies b WHERE {where}", params)
            return int(cursor.rowcount)

    # -- runs ----------------------------------------------------------------------------------------------

    def start_run(self, destination: Destination, *, input_name: str | None, rows: int) -> int:
        """Record the start of a run; returns its id."""
        with self._lock:
            dest = self._destination_id(destination, create=True)
            row = self._db.execute(
                "INSERT INTO publitrac_runs (destination, input_name, rows, started_at) "
                "VALUES (%s, %s, %s, %s) RETURNING id",
                (dest, input_name, int(rows), float(self._clock())),
            ).fetchone()
        return int(row[0])

    def record_mapping(self, run_id: int, mapping: Mapping[str, str]) -> None:
        """Keep a run's mapping, `{column: target}`; the column guard compares the next run with it."""
        with self._lock:
            self._db.execute(
                "UPDATE publitrac_runs SET mapping = %s WHERE id = %s",
                (json.dumps(dict(mapping)), int(run_id)),
            )

    def last_run(self, destination: Destination) -> RunRecord | None:
        """The latest run to `destination` whose mapping is known, or None."""
        with self._lock:
            dest = self._destination_id(destination, create=False)
            if dest is None:
                return None
            row = self._db.execute(
                f"{_RUN_COLUMNS} WHERE r.destination = %s AND r.mapping IS NOT NULL ORDER BY r.id DESC LIMIT 1",
                (dest,),
            ).fetchone()
        return None if row is None else RunRecord.from_row(row)

    def finish_run(self, run_id: int, *, counts: Mapping[str, int], interrupted: bool) -> None:
        """Record the end of a run with its counts by status."""
        with self._lock:
            self._db.execute(
                "UPDATE publitrac_runs SET finished_at = %s, counts = %s, interrupted = %s WHERE id = %s",
                (float(self._clock()), json.dumps(dict(counts)), bool(interrupted), int(run_id)),
            )

    def record_source(self, run_id: int, source: RunSource) -> None:
        """Record where a run's rows came from and how it ran."""
        with self._lock:
            self._db.execute(
                "UPDATE publitrac_runs SET input_path = %s, input_sha256 = %s, settings = %s, retry_of = %s "
                "WHERE id = %s",
                (
                    source.input_path,
                    source.input_sha256,
                    json.dumps(source.settings),
                    source.retry_of,
                    int(run_id),
                ),
            )

    def failed_before(self, destination: Destination, email_keys: np.ndarray) -> np.ndarray:
        """Whether each email was left unsent by an earlier run to this destination."""
        keys = np.asarray(email_keys, dtype=np.int64)
        with self._lock:
            dest = self._destination_id(destination, create=False)
            if dest is None or not len(keys):
                return np.zeros(len(keys), dtype=bool)
            rows = self._db.execute(
                "SELECT email_key FROM publitrac_failed_leads "
                "WHERE destination = %s AND email_key = ANY(%s::bigint[])",
                (dest, np.unique(keys).tolist()),
            ).fetchall()
        return np.isin(keys, np.array([row[0] for row in rows], dtype=np.int64))

    def record_outcomes(
        self,
        destination: Destination,
        run_id: int | None,
        accepted_keys: np.ndarray,
        unsent_keys: np.ndarray,
        unsent_statuses: np.ndarray,
    ) -> None:
        """Forget the failures of the emails now accepted, remember those left unsent (one transaction)."""
        if not len(accepted_keys) and not len(unsent_keys):
            return
        accepted = np.unique(np.asarray(accepted_keys, dtype=np.int64)).tolist()
        # one upsert touches a row once only: each email's last status
        keys = np.asarray(unsent_keys, dtype=np.int64)
        statuses = np.asarray(unsent_statuses, dtype=object)
        distinct, last = np.unique(keys[::-1], return_index=True)
        with self._lock:
            dest = self._destination_id(destination, create=True)
            with self._db.transaction():
                self._db.execute(
                    "DELETE FROM publitrac_failed_leads WHERE destination = %s AND email_key = ANY(%s::bigint[])",
                    (dest, accepted),
                )
                self._db.execute(
                    "INSERT INTO publitrac_failed_leads (destination, email_key, last_status, run_id) "
                    "SELECT %s, e, s, %s FROM unnest(%s::bigint[], %s::text[]) AS t (e, s) "
                    "ON CONFLICT (destination, email_key) DO UPDATE SET last_status = EXCLUDED.last_status, "
                    "run_id = EXCLUDED.run_id",
                    (dest, run_id, distinct.tolist(), [str(s) for s in statuses[::-1][last]]),
                )

    def runs(self, destination: Destination | None = None, *, limit: int = 20) -> list[RunRecord]:
        """The latest runs, newest first (of every destination when None)."""
        with self._lock:
            if destination is None:
                rows = self._db.execute(f"{_RUN_COLUMNS} ORDER BY r.id DESC LIMIT %s", (limit,)).fetchall()
            else:
                dest = self._destination_id(destination, create=False)
                if dest is None:
                    return []
                rows = self._db.execute(
                    f"{_RUN_COLUMNS} WHERE r.destination = %s ORDER BY r.id DESC LIMIT %s", (dest, limit)
                ).fetchall()
        return [RunRecord.from_row(row) for row in rows]

    def run(self, run_id: int) -> RunRecord | None:
        """One run by id, or None."""
        with self._lock:
            row = self._db.execute(f"{_RUN_COLUMNS} WHERE r.id = %s", (int(run_id),)).fetchone()
        return None if row is None else RunRecord.from_row(row)

    def stats(self, destination: Destination) -> LedgerStats:
        """How many leads and runs the ledger holds for a destination."""
        with self._lock:
            dest = self._destination_id(destination, create=False)
            leads, runs = None, 0
            if dest is not None:
                leads = self._db.execute(
                    "SELECT COUNT(*), MIN(accepted_at), MAX(accepted_at) FROM publitrac_leads "
                    "WHERE destination = %s",
                    (dest,),
                ).fetchone()
                (runs,) = self._db.execute(
                    "SELECT COUNT(*) FROM publitrac_runs WHERE destination = %s", (dest,)
                ).fetchone()
        return LedgerStats.from_counts(destination, leads, runs, self.location)

    # -- lifetime ------------------------------------------------------------------------------------------

    def close(self) -> None:
        """Close the connection."""
        with self._lock:
            self._db.close()

    def __enter__(self) -> PostgresLedger:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

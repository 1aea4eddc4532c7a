"""Where the sandbox keeps leads: SQLite, in memory by default or in a file.

A lead is keyed by its email, compared case-insensitively: the key is the address trimmed and lower-cased (the
request validation already refuses addresses with surrounding spaces). Applying a lead is an upsert:

* standard fields (`leadInfo`): each field given replaces the stored value; fields not given are kept;
* custom fields (`leadCustomField`): merged the same way (new names added, given names updated, others kept).

`leadInfo.email` keeps the spelling of the latest sync.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

_SCHEMA = """
CREATE TABLE IF NOT EXISTS leads (
    email_key     TEXT PRIMARY KEY,
    lead_info     TEXT NOT NULL,
    custom_fields TEXT NOT NULL,
    syncs         INTEGER NOT NULL
)
"""
_UPSERT = """
INSERT INTO leads (email_key, lead_info, custom_fields, syncs) VALUES (?, ?, ?, ?)
ON CONFLICT (email_key) DO UPDATE SET
    lead_info = excluded.lead_info, custom_fields = excluded.custom_fields, syncs = excluded.syncs
"""
# Far below SQLite's limit on bound parameters.
_CHUNK = 500

#: One accepted lead: (email key, leadInfo, leadCustomField).
Lead = tuple[str, dict[str, Any], dict[str, Any]]


def email_key(email: str) -> str:
    """The store's key for an email address: trimmed and lower-cased.

    Example:
        >>> email_key(" John.Doe@Provider.com ")
        'john.doe@provider.com'
    """
    return email.strip().lower()


class LeadStore:
    """Leads in SQLite, upserted by batch.

    Not thread-safe: the sandbox uses it from its event loop thread only.

    Args:
        path: A file to keep the leads in (created if missing, reopened with its leads if present), or `None`
            for a private in-memory database.

    Example:
        >>> store = LeadStore()
        >>> store.apply([("a@b.com", {"email": "a@b.com", "firstName": "Ann"}, {"tier": "gold"})])
        1
        >>> store.apply([("a@b.com", {"email": "A@b.com", "lastName": "Lee"}, {"size": "10"})])
        1
        >>> store.get("A@B.COM")["leadInfo"]
        {'email': 'A@b.com', 'firstName': 'Ann', 'lastName': 'Lee'}
        >>> store.get("a@b.com")["leadCustomField"]
        {'tier': 'gold', 'size': '10'}
    """

    def __init__(self, path: str | None = None) -> None:
        self.path = path
        # The sandbox builds the store in one thread and serves it from the event loop's thread.
        self._conn = sqlite3.connect(path or ":memory:", check_same_thread=False, isolation_level=None)
        if path:
            self._conn.execute("PRAGMA journal_mode=WAL")
            self._conn.execute("PRAGMA synchronous=NORMAL")
        self._conn.execute(_SCHEMA)

    def apply(self, batch: Sequence[Lead]) -> int:
        """Upsert a batch of leads in one transaction, in order (a later sync of the same email wins).

        Args:
            batch: Accepted leads, oldest first.

        Returns:
            How many distinct leads the batch touched.

        Raises:
            sqlite3.Error: If the database refuses the batch (nothing of it is kept).
        """
        merged: dict[str, list[Any]] = {}
        for key, info, custom in batch:
            entry = merged.get(key)
            if entry is None:
                merged[key] = [dict(info), dict(custom), 1]
            else:
                entry[0].update(info)
                entry[1].update(custom)
                entry[2] += 1
        self._conn.execute("BEGIN")
        try:
            for key, (info, custom, syncs) in self._existing(merged).items():
                entry = merged[key]
                entry[0] = {**info, **entry[0]}
                entry[1] = {**custom, **entry[1]}
                entry[2] += syncs
            self._conn.executemany(
                _UPSERT,
                ((key, _dumps(info), _dumps(custom), syncs) for key, (info, custom, syncs) in merged.items()),
            )
        except BaseException:
            self._conn.execute("ROLLBACK")
            raise
        self._conn.execute("COMMIT")
        return len(merged)

    def get(self, email: str) -> dict[str, Any] | None:
        """One lead as `{"email", "leadInfo", "leadCustomField", "syncs"}`, or `None` if unknown.

        Args:
            email: The lead's email, in any case.
        """
        row = self._conn.execute(
            "SELECT email_key, lead_info, custom_fields, syncs FROM leads WHERE email_key = ?",
            (email_key(email),),
        ).fetchone()
        return None if row is None else _lead(row)

    def all(self) -> list[dict[str, Any]]:
        """Every lead, ordered by email key, each as `get` returns it."""
        rows = self._conn.execute(
            "SELECT email_key, lead_info, custom_fields, syncs FROM leads ORDER BY email_key"
        ).fetchall()
        return [_lead(row) for row in rows]

    def count(self) -> int:
        """How many distinct leads are stored."""
        return int(self._conn.execute("SELECT count(*) FROM leads").fetchone()[0])

    def close(self) -> None:
        """Close the database (a file database keeps its leads)."""
        self._conn.close()

    def __repr__(self) -> str:
        return f"LeadStore(path={self.path!r})"

    def _existing(self, keys: Iterable[str]) -> dict[str, tuple[dict[str, Any], dict[str, Any], int]]:
        found: dict[str, tuple[dict[str, Any], dict[str, Any], int]] = {}
        wanted = list(keys)
        for start in range(0, len(wanted), _CHUNK):
            chunk = wanted[start : start + _CHUNK]
            marks = ",".join("?" * len(chunk))
            query = (
                f"SELECT email_key, lead_info, custom_fields, syncs FROM leads WHERE email_key IN ({marks})"
            )
            for key, info, custom, syncs in self._conn.execute(query, chunk):
                found[key] = (json.loads(info), json.loads(custom), syncs)
        return found


def _dumps(value: dict[str, Any]) -> str:
    # ASCII escapes keep lone surrogates (valid in JSON, not in UTF-8) storable and readable back.
    return json.dumps(value, ensure_ascii=True, allow_nan=False, separators=(",", ":"))


def _lead(row: tuple[str, str, str, int]) -> dict[str, Any]:
    key, info, custom, syncs = row
    return {"email": key, "leadInfo": json.loads(info), "leadCustomField": json.loads(custom), "syncs": syncs}

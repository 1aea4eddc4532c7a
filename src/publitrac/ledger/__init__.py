"""The ledger: what Publitrac has accepted, per destination and per lead, and the history of runs.

- `_records`: what a ledger keeps and gives back (`Destination`, `RunRecord`, `LedgerStats`).
- `_store`: the `Ledger` interface, the SQLite store and `open_ledger`.
- `_postgres`: the ledger on a PostgreSQL server.
- `_fingerprints`: a 64-bit key per email and per request body, column by column.
- `_incremental`: which rows are unchanged, and the acceptances written as they happen.

May import: `base`, `lead/`, `connection/`, `engine/` (the order is checked by `tests/test_structure.py`).
"""

from __future__ import annotations

__all__: list[str] = []

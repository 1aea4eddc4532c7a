"""The syncs: one set of run settings, and an entry for every kind of lead data.

- `_settings`: the run settings' defaults and checks.
- `_provenance`: where a run's rows came from (input file, SHA-256, mapping, settings), for the ledger.
- `_blocking`: running a sync's coroutine from a script as in Jupyter.
- `_frame`: a DataFrame in memory (`sync_async`, `last_report`).
- `_stream`: a file in batches (`sync_file`, `StreamReport`).
- `_dask`: a Dask DataFrame, partition by partition (`sync_dask`).
- `_sync`: `publitrac.sync`, which hands each kind of data to its sync.
- `_tables`: tables of other libraries (Polars, Arrow, DuckDB) for the syncs, `validate` and `preview`: the run's
  mapping decides which columns are converted (`files._tables` converts them).
- `_accessor`: `df.publitrac`.
- `_polars`: `pl.DataFrame.publitrac` and `pl.LazyFrame.publitrac`, registered without importing Polars.

May import: `base`, `files/`, `lead/`, `connection/`, `engine/`, `ledger/` (the order is checked by
`tests/test_structure.py`).
"""

from __future__ import annotations

__all__: list[str] = []

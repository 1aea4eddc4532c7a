"""Reading a file of leads, as CRMs and Excel write it: one reader for the command line, Python and the widgets.

- `_encoding`: which text encoding a file is in, decided from what people write.
- `_reader`: `read_leads` and `LeadFile`: the whole file, its delimiter and encoding detected.
- `_batches`: a file larger than memory, read in batches of rows.
- `_tables`: any table in, pandas frames out: Polars, Arrow, DuckDB and Arrow PyCapsule streams, converted once
  through Arrow (in memory, or batch by batch for lazy ones), values exact.

May import: `base` (the order is checked by `tests/test_structure.py`).
"""

from __future__ import annotations

__all__: list[str] = []

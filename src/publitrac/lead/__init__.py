"""The lead itself: what a row's cells are sent as, where each column goes, what is wrong with a row, the request bodies.

- `_values`: value conversion, column by column.
- `_mapping`: which column goes where (`LeadMapping`, `map_columns`).
- `_validation`: the rows Publitrac would drop, found before anything is sent (`validate`).
- `_bodies`: request bodies, chunk by chunk.
- `_preview`: the first bodies a sync would send (`preview`).

May import: `base` (the order is checked by `tests/test_structure.py`).
"""

from __future__ import annotations

__all__: list[str] = []

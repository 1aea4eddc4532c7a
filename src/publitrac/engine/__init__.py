"""The engine every sync sends through, and its report.

- `_engine`: rows sent concurrently, with retries, each outcome recorded.
- `_limiter`: the adaptive window of requests in flight.
- `_budget`: one rate limit shared by several engines (a Dask run's partitions).
- `_report`: `SyncReport`: what happened to every row.
- `_outcome`: `RunOutcome`: a push and its retries as one view.

May import: `base`, `lead/`, `connection/` (the order is checked by `tests/test_structure.py`).
"""

from __future__ import annotations

__all__: list[str] = []

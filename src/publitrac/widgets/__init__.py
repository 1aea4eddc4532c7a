"""Jupyter widgets that take a lead file from "what is in here?" to "pushed, and what happened to each row".

Install them with the `notebooks` extra (`pip install "publitrac[notebooks]"`).

- `LeadExplorer`: completeness per column, invalid and duplicate emails, a filterable table, two charts.
- `MappingEditor`: one dropdown per column, prefilled by the sync's detection; `sync` takes its `.mapping`.
- `PushApp`: the whole push as one page of steps (Load, Explore, Map, Connect, Dry run, Push, Results,
  History), composing the others; `publitrac app` serves it in the browser.
- `PushPanel`: connection (the environment, a password field, or the local sandbox), dry run, push with
  confirmation and progress, the report filterable by status, retry of failed rows, results download.

They hold no business logic: they call `publitrac.map_columns`, `validate`, `preview` and `sync`, as the
accessor and the command line do.

Example:
    >>> import pandas as pd
    >>> from publitrac.widgets import MappingEditor
    >>> MappingEditor(pd.DataFrame({"Email": ["ana@example.com"]})).mapping.email
    'Email'

May import: `base`, `files/`, `lead/`, `connection/`, `engine/`, `ledger/`, `syncs/`, `publitrac/`, `sandbox/`
(the order is checked by `tests/test_structure.py`).
"""

from __future__ import annotations

try:
    import ipywidgets  # noqa: F401
except ImportError as exc:  # pragma: no cover - depends on the environment
    raise ImportError('publitrac.widgets needs ipywidgets: pip install "publitrac[notebooks]"') from exc

from ._app import PushApp
from ._common import running_in_voila
from ._explorer import LeadExplorer
from ._mapping_editor import MappingEditor
from ._push_panel import PushPanel

__all__ = ["LeadExplorer", "MappingEditor", "PushApp", "PushPanel", "running_in_voila"]

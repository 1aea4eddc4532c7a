"""The `publitrac` command line (`main`, the console script's entry point).

- `_main`: the parser and the commands `sync`, `validate`, `sandbox`, `app`.
- `_common`: what the command line's modules share.
- `_ledger`: `publitrac runs` and `publitrac ledger`.
- `_output`: `--output json`, the JSON document of a command (its schema: `output_schema.json`).
- `_retry`: `publitrac retry`, the rows a run left unsent sent again.
- `_profiles`: `publitrac login`, `profiles`, `logout` (saved accounts) and the `--profile` flag.
- `_stream`: `sync` and `validate` on files too big to hold.

May import: `base`, `files/`, `lead/`, `connection/`, `engine/`, `ledger/`, `syncs/`, `publitrac/`,
`sandbox/`, `app/` (the order is checked by `tests/test_structure.py`).
"""

from __future__ import annotations

from ._main import main

__all__ = ["main"]

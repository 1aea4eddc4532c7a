"""The connection to Publitrac: the client, its transport and its tokens.

- `_auth`: one `httpx.Auth` that keeps a valid token in every request.
- `_transport`: httpx's API on aiohttp's connection pool, for the engine.
- `_client`: `Publitrac`: settings, the token source, the calls made through the generated client.
- `_verify`: checking a key before anything is sent.
- `_profiles`: saved accounts (`publitrac login`): the key in the OS keyring, the rest in a TOML file.

May import: `base` (the order is checked by `tests/test_structure.py`).
"""

from __future__ import annotations

__all__: list[str] = []

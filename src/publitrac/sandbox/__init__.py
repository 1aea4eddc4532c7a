"""A local Publitrac-compatible server for tests, notebooks, demos and benchmarks.

It serves the API of `openapi.yaml` on 127.0.0.1 over real HTTP, validates every request with the spec's schemas,
applies leads to SQLite after a short delay (as the delayed sync does), and injects faults on demand.

Example:
    >>> import httpx
    >>> from publitrac.sandbox import run_sandbox
    >>> with run_sandbox(apply_delay=0) as sandbox:
    ...     token = httpx.get(f"{sandbox.base_url}/auth/getToken",
    ...                       headers={"Authorization": sandbox.api_key}).json()["token"]
    ...     answer = httpx.post(f"{sandbox.base_url}/lead/delayedSync", headers={"Token": token},
    ...                         json={"leadInfo": {"email": "ann@example.com"}})
    ...     sandbox.wait_until_applied(timeout=10)
    ...     answer.json(), sandbox.lead("ANN@example.com")["leadInfo"]
    ({'status': 'success', 'code': 200}, {'email': 'ann@example.com'})

May import: `base` (the order is checked by `tests/test_structure.py`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._app import SandboxApp, create_app
    from ._clock import ManualClock
    from ._server import SandboxServer, run_sandbox
    from ._tokens import DEFAULT_API_KEY

__all__ = ["DEFAULT_API_KEY", "ManualClock", "SandboxApp", "SandboxServer", "create_app", "run_sandbox"]

# Imported on first use: the server's dependencies take seconds to import, and `publitrac --help` (which reaches
# this package for the `sandbox` options) should not pay for them.
_HOMES = {
    "DEFAULT_API_KEY": "._tokens",
    "ManualClock": "._clock",
    "SandboxApp": "._app",
    "SandboxServer": "._server",
    "create_app": "._app",
    "run_sandbox": "._server",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})

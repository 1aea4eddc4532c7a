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
"""

from __future__ import annotations

from ._app import DEFAULT_API_KEY, SandboxApp, create_app
from ._clock import ManualClock
from ._server import SandboxServer, run_sandbox

__all__ = ["DEFAULT_API_KEY", "ManualClock", "SandboxApp", "SandboxServer", "create_app", "run_sandbox"]

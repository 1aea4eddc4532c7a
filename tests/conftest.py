"""Shared fixtures: a sandbox on a free port over real HTTP.

* `sandbox`: a sandbox with default settings (demo key, no faults); yields its `SandboxServer` handle.
* `make_sandbox(**options)`: starts sandboxes with the options of `publitrac.sandbox.run_sandbox`
  (`error_429=0.2`, `clock=ManualClock()`, ...); every one stops after the test.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from publitrac.sandbox import SandboxServer, run_sandbox


@pytest.fixture
def make_sandbox() -> Iterator[Callable[..., SandboxServer]]:
    with contextlib.ExitStack() as stack:

        def start(**options: Any) -> SandboxServer:
            return stack.enter_context(run_sandbox(**options))

        yield start


@pytest.fixture
def sandbox(make_sandbox: Callable[..., SandboxServer]) -> SandboxServer:
    return make_sandbox()

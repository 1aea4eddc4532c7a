"""Shared fixtures: a sandbox on a free port over real HTTP.

* `sandbox`: a sandbox with default settings (demo key, no faults); yields its `SandboxServer` handle.
* `make_sandbox(**options)`: starts sandboxes with the options of `publitrac.sandbox.run_sandbox`
  (`error_429=0.2`, `clock=ManualClock()`, ...); every one stops after the test.
* `postgres_server`: one PostgreSQL server for the session (tests/_postgres.py); `postgres_url`: a fresh,
  empty database on it for one test. Without PostgreSQL's binaries they skip, with the reason, except under CI
  (`CI` set), where they fail: CI installs PostgreSQL.

Every test, and every docstring example, gets its own default ledger: see the `conftest.py` at the root.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from _postgres import PostgresServer, find_bindir, running_postgres
from publitrac.sandbox import SandboxServer, run_sandbox

# A suite started as a background job (`.ci/run &`, nohup) has SIGINT ignored, and every process it starts inherits
# that: the tests of Ctrl-C need SIGINT as a terminal gives it. (A handler, unlike "ignored", is not inherited.)
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def make_sandbox() -> Iterator[Callable[..., SandboxServer]]:
    with contextlib.ExitStack() as stack:

        def start(**options: Any) -> SandboxServer:
            return stack.enter_context(run_sandbox(**options))

        yield start


@pytest.fixture
def sandbox(make_sandbox: Callable[..., SandboxServer]) -> SandboxServer:
    return make_sandbox()


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    bindir = find_bindir()
    if bindir is None:
        reason = "PostgreSQL's server binaries (initdb, pg_ctl) are not installed: apt-get install postgresql"
        if os.environ.get("CI"):
            pytest.fail(f"{reason} (.ci/run installs them)")
        pytest.skip(reason)
    with running_postgres(bindir) as server:
        yield server


@pytest.fixture
def postgres_url(postgres_server: PostgresServer) -> Iterator[str]:
    name = f"test_{uuid.uuid4().hex[:12]}"
    where = ["-h", postgres_server.host, "-p", str(postgres_server.port), "-U", postgres_server.user]
    subprocess.run([str(postgres_server.bindir / "createdb"), *where, name], check=True, timeout=60)
    yield postgres_server.url(name)
    subprocess.run([str(postgres_server.bindir / "dropdb"), "--force", *where, name], check=False, timeout=60)

"""Schemathesis runs `openapi.yaml` against the running sandbox with its default checks: the sandbox must answer
exactly as the contract says (statuses, bodies, headers, content types), accept every valid request, reject every
invalid one, and enforce auth on both operations.

No check is excluded. Auth: the API key for `getToken` (its `Authorization` header) and a token fetched from the
sandbox for `delayedSync` (its `Token` header), through schemathesis auth providers; schemathesis itself removes or
spoils them to check that auth is enforced (`ignored_auth`).
"""

from __future__ import annotations

import atexit
import contextlib

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import schemathesis

import publitrac
from publitrac.sandbox import SandboxServer, run_sandbox

# The copy shipped in the package: the one `publitrac._spec` loads (a drift test keeps it equal to the root one).
SPEC = Path(publitrac.__file__).with_name("openapi.yaml")
MAX_EXAMPLES = 40


schema = schemathesis.openapi.from_path(SPEC)
schema.config.generation.update(max_examples=MAX_EXAMPLES, deterministic=True)


class LazySandbox:
    """The sandbox under test, started on first use.

    schemathesis asks the auth providers for credentials while it collects the tests, before any fixture runs, so the
    sandbox cannot simply be a fixture (and `schemathesis.pytest.from_fixture` does not run under pytest 9: its lazy
    loader writes `node._nodeid`, which pytest 9 removed). It starts when first needed and stops with the module.
    """

    def __init__(self) -> None:
        self._stack = contextlib.ExitStack()
        self._server: SandboxServer | None = None

    def get(self) -> SandboxServer:
        if self._server is None:
            self._server = self._stack.enter_context(run_sandbox(apply_delay=0))
            self._stack.callback(setattr, self, "_server", None)
        return self._server

    def close(self) -> None:
        self._stack.close()


LAZY_SANDBOX = LazySandbox()
atexit.register(LAZY_SANDBOX.close)  # if the module is collected but its tests are deselected


@schema.auth().apply_to(operation_id="getToken")
class ApiKey:
    """The sandbox's API key in `Authorization`."""

    def get(self, case: Any, context: Any) -> str:
        return LAZY_SANDBOX.get().api_key

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers = {**(case.headers or {}), "Authorization": data}


@schema.auth().apply_to(operation_id="delayedSync")
class Token:
    """A token from the sandbox in `Token`."""

    def get(self, case: Any, context: Any) -> str:
        sandbox = LAZY_SANDBOX.get()
        response = httpx.get(f"{sandbox.base_url}/auth/getToken", headers={"Authorization": sandbox.api_key})
        response.raise_for_status()
        return str(response.json()["token"])

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers = {**(case.headers or {}), "Token": data}


@pytest.fixture(scope="module")
def conformance_sandbox() -> Iterator[SandboxServer]:
    try:
        yield LAZY_SANDBOX.get()
    finally:
        LAZY_SANDBOX.close()


@schema.parametrize()
def test_the_sandbox_conforms_to_the_spec(case: Any, conformance_sandbox: SandboxServer) -> None:
    case.call_and_validate(base_url=conformance_sandbox.base_url)


def test_conformance_really_exercised_the_sandbox(conformance_sandbox: SandboxServer) -> None:
    # Runs after the parametrized tests (same module, file order): proves that requests reached the server and that
    # valid and invalid requests alike were tried.
    stats = conformance_sandbox.stats()
    assert stats["calls"].get("getToken", 0) > 0
    assert stats["calls"].get("delayedSync", 0) > 0
    assert stats["accepted"] > 0
    assert stats["bad_requests"] > 0
    assert stats["unauthorized"] > 0
    assert stats["responses"].get("500", 0) == 0

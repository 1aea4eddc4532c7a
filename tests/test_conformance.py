"""Schemathesis runs `openapi.yaml` against the running sandbox with its default checks: the sandbox must answer
exactly as the contract says (statuses, bodies, headers, content types), accept every valid request, reject every
invalid one, and enforce auth on both operations.

No check is excluded. Auth: the API key for `getToken` (its `Authorization` header) and a token fetched from the
sandbox for `delayedSync` (its `Token` header), through schemathesis auth providers; schemathesis itself removes or
spoils them to check that auth is enforced (`ignored_auth`).

A second run has the sandbox's faults on (429s, 500/503 JSON errors, 502/504 HTML proxy pages, 200s with an error
body, revoked tokens): every answer, faults included, must be one the spec documents, with a documented content
type, body and headers.
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

from publitrac import _spec
from publitrac.sandbox import SandboxServer, run_sandbox

# The spec that `publitrac._spec` loads: the one in the package (a wheel), or the repository's (editable install).
SPEC = Path(str(_spec.spec_file()))
MAX_EXAMPLES = 40


schema = schemathesis.openapi.from_path(SPEC)
schema.config.generation.update(max_examples=MAX_EXAMPLES, deterministic=True)


class LazySandbox:
    """The sandbox under test, started on first use.

    schemathesis asks the auth providers for credentials while it collects the tests, before any fixture runs, so the
    sandbox cannot simply be a fixture (and `schemathesis.pytest.from_fixture` does not run under pytest 9: its lazy
    loader writes `node._nodeid`, which pytest 9 removed). It starts when first needed and stops with the module.
    """

    def __init__(self, **options: Any) -> None:
        self._options = {"apply_delay": 0, **options}
        self._stack = contextlib.ExitStack()
        self._server: SandboxServer | None = None

    def get(self) -> SandboxServer:
        if self._server is None:
            self._server = self._stack.enter_context(run_sandbox(**self._options))
            self._stack.callback(setattr, self, "_server", None)
        return self._server

    def close(self) -> None:
        self._stack.close()


LAZY_SANDBOX = LazySandbox()
atexit.register(LAZY_SANDBOX.close)  # if the module is collected but its tests are deselected
FAULTY_SANDBOX = LazySandbox(
    error_429=0.15, error_5xx=0.3, error_200=0.1, revoke_every=25, retry_after=0, seed=5
)
atexit.register(FAULTY_SANDBOX.close)


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


faulty_schema = schemathesis.openapi.from_path(SPEC)
faulty_schema.config.generation.update(max_examples=MAX_EXAMPLES, deterministic=True)


@faulty_schema.auth().apply_to(operation_id="getToken")
class FaultyApiKey(ApiKey):
    """The faulty sandbox's API key in `Authorization`."""

    def get(self, case: Any, context: Any) -> str:
        return FAULTY_SANDBOX.get().api_key


@faulty_schema.auth().apply_to(operation_id="delayedSync")
class FaultyToken(Token):
    """A token from the faulty sandbox, asked again until a fault lets it through."""

    def get(self, case: Any, context: Any) -> str:
        sandbox = FAULTY_SANDBOX.get()
        for _ in range(100):
            response = httpx.get(
                f"{sandbox.base_url}/auth/getToken", headers={"Authorization": sandbox.api_key}
            )
            if response.status_code == 200:
                return str(response.json()["token"])
        raise AssertionError("the faulty sandbox never answered getToken with a token")


# What "answers as the contract says" means when the server is unwell on purpose: the answers are documented
# (status, content type, body, headers). The checks left out judge the server's health or its handling of the
# request (a valid lead answered 503, say), which injected faults break by design.
CONFORMANCE_CHECKS = [
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.response_headers_conformance,
]


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


@pytest.fixture(scope="module")
def faulty_sandbox() -> Iterator[SandboxServer]:
    try:
        yield FAULTY_SANDBOX.get()
    finally:
        FAULTY_SANDBOX.close()


@faulty_schema.parametrize()
def test_every_answer_of_the_faulty_sandbox_is_documented(case: Any, faulty_sandbox: SandboxServer) -> None:
    case.call_and_validate(base_url=faulty_sandbox.base_url, checks=CONFORMANCE_CHECKS)


def test_the_faulty_run_met_every_kind_of_fault(faulty_sandbox: SandboxServer) -> None:
    faults = faulty_sandbox.stats()["faults"]
    assert faults.get("429", 0) > 0
    assert faults.get("502", 0) + faults.get("504", 0) > 0  # HTML proxy pages
    assert faults.get("500", 0) + faults.get("503", 0) > 0  # JSON errors
    assert faults.get("revoke", 0) > 0
    assert any(name.startswith("200error") for name in faults)  # a 200 with an error body, as the doc allows

"""The generated client (`publitrac_client`) against the sandbox over real HTTP: `get_token` and `delayed_sync`, in
`sync_detailed` and `asyncio_detailed` forms, with the lead arriving in the store.

The generator ignores `securitySchemes`, so each call gets an `AuthenticatedClient` sending its one static header:
the API key raw in `Authorization` for `get_token`, the token raw in `Token` for `delayed_sync` (prefix ""), each
with `Accept: application/json`. The section "Using the generated client directly" of docs/regenerating.md is run
as written.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from http import HTTPStatus
from pathlib import Path
from typing import Any

import httpx
import pytest

from publitrac_client import AuthenticatedClient
from publitrac_client.types import UNSET
from publitrac_client.api.auth import get_token
from publitrac_client.api.lead import delayed_sync
from publitrac_client.models import (
    ErrorResponse,
    LeadCustomField,
    LeadInfo,
    LeadSyncRequest,
    SyncResponse,
    TokenResponse,
)

from publitrac.sandbox import ManualClock, SandboxServer


GUIDE = Path(__file__).resolve().parent.parent / "docs" / "regenerating.md"


def key_client(sandbox: SandboxServer, key: str | None = None, **options: Any) -> AuthenticatedClient:
    return AuthenticatedClient(
        base_url=sandbox.base_url,
        token=key or sandbox.api_key,
        prefix="",
        auth_header_name="Authorization",
        headers={"Accept": "application/json"},
        **options,
    )


def token_client(sandbox: SandboxServer, token: str, **options: Any) -> AuthenticatedClient:
    return AuthenticatedClient(
        base_url=sandbox.base_url,
        token=token,
        prefix="",
        auth_header_name="Token",
        headers={"Accept": "application/json"},
        **options,
    )


def recording(sent: list[httpx.Request]) -> dict[str, Any]:
    """`httpx_args` that keep every request the generated client sends."""
    return {"event_hooks": {"request": [sent.append], "response": []}}


def lead_request(email: str = "john.doe@provider.com") -> LeadSyncRequest:
    info = LeadInfo(email=email, crm_lead_id=12387, job_title="Awesome Programmer", first_name="John")
    info["phone"] = "+1 555 0100"  # a standard field the spec does not name passes through
    custom = LeadCustomField.from_dict({"customField1": "Value", "score": 7, "optIn": True})
    return LeadSyncRequest(lead_info=info, lead_custom_field=custom)


def fetch_token(sandbox: SandboxServer) -> str:
    with key_client(sandbox) as client:
        parsed = get_token.sync_detailed(client=client).parsed
    assert isinstance(parsed, TokenResponse)
    return parsed.token


def assert_stored(sandbox: SandboxServer, email: str = "john.doe@provider.com") -> None:
    sandbox.wait_until_applied(timeout=10)
    lead = sandbox.lead(email)
    assert lead is not None
    assert lead["leadInfo"] == {
        "email": email,
        "crmLeadId": 12387,
        "jobTitle": "Awesome Programmer",
        "firstName": "John",
        "phone": "+1 555 0100",
    }
    assert lead["leadCustomField"] == {"customField1": "Value", "score": 7, "optIn": True}


def test_get_token_sync_detailed(sandbox: SandboxServer) -> None:
    with key_client(sandbox) as client:
        response = get_token.sync_detailed(client=client)
    assert response.status_code == HTTPStatus.OK
    assert isinstance(response.parsed, TokenResponse)
    assert response.parsed.ttl == "900"
    assert "!" in response.parsed.token


async def test_get_token_asyncio_detailed(sandbox: SandboxServer) -> None:
    async with key_client(sandbox) as client:
        response = await get_token.asyncio_detailed(client=client)
    assert response.status_code == HTTPStatus.OK
    assert isinstance(response.parsed, TokenResponse)
    assert response.parsed.ttl == "900"


def test_get_token_with_a_wrong_key_parses_the_401(sandbox: SandboxServer) -> None:
    with key_client(sandbox, key="wrong-key") as client:
        response = get_token.sync_detailed(client=client)
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert isinstance(response.parsed, ErrorResponse)
    assert response.parsed.code == 401


def test_delayed_sync_sync_detailed_stores_the_lead(sandbox: SandboxServer) -> None:
    with token_client(sandbox, fetch_token(sandbox)) as client:
        response = delayed_sync.sync_detailed(client=client, body=lead_request())
    assert response.status_code == HTTPStatus.OK
    assert isinstance(response.parsed, SyncResponse)
    assert (response.parsed.status, response.parsed.code) == ("success", 200)
    assert_stored(sandbox)


async def test_delayed_sync_asyncio_detailed_stores_the_lead(sandbox: SandboxServer) -> None:
    async with token_client(sandbox, fetch_token(sandbox)) as client:
        response = await delayed_sync.asyncio_detailed(client=client, body=lead_request("ann@example.com"))
    assert response.status_code == HTTPStatus.OK
    assert isinstance(response.parsed, SyncResponse)
    assert_stored(sandbox, "ann@example.com")


def test_delayed_sync_parses_a_400_naming_the_field(sandbox: SandboxServer) -> None:
    body = LeadSyncRequest(lead_info=LeadInfo(email="not-an-email"))
    with token_client(sandbox, fetch_token(sandbox)) as client:
        response = delayed_sync.sync_detailed(client=client, body=body)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert isinstance(response.parsed, ErrorResponse)
    assert response.parsed.message.startswith("leadInfo.email:")
    assert sandbox.stats()["accepted"] == 0


def test_delayed_sync_with_an_expired_token_parses_the_401(
    make_sandbox: Callable[..., SandboxServer],
) -> None:
    clock = ManualClock()
    sandbox = make_sandbox(ttl=5, clock=clock)
    token = fetch_token(sandbox)
    clock.advance(5)
    with token_client(sandbox, token) as client:
        response = delayed_sync.sync_detailed(client=client, body=lead_request())
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert isinstance(response.parsed, ErrorResponse)


def test_a_5xx_of_any_media_type_is_returned_as_text_never_raised(
    make_sandbox: Callable[..., SandboxServer],
) -> None:
    # The spec declares 5XX bodies as `*/*` (a proxy's HTML page), which the generator config reads as text: the
    # generated calls return the body, HTML or JSON, instead of raising on a page that is not JSON.
    sandbox = make_sandbox(error_5xx=1.0, seed=3)
    html = json_bodies = 0
    with key_client(sandbox) as client:
        for _ in range(12):
            response = get_token.sync_detailed(client=client)
            assert 500 <= response.status_code <= 599
            assert isinstance(response.parsed, str) and response.parsed == response.content.decode()
            if response.headers["content-type"].startswith("text/html"):
                assert "<html>" in response.parsed
                html += 1
            else:
                assert response.parsed.startswith("{")
                json_bodies += 1
    faults = sandbox.stats()["faults"]
    assert faults.get("502", 0) + faults.get("504", 0) == html > 0
    assert json_bodies > 0


def test_the_calls_send_the_raw_key_the_raw_token_and_accept_json(sandbox: SandboxServer) -> None:
    sent: list[httpx.Request] = []
    with key_client(sandbox, httpx_args=recording(sent)) as client:
        parsed = get_token.sync_detailed(client=client).parsed
    assert isinstance(parsed, TokenResponse)
    with token_client(sandbox, parsed.token, httpx_args=recording(sent)) as client:
        response = delayed_sync.sync_detailed(client=client, body=lead_request())
    assert response.status_code == HTTPStatus.OK
    key_request, sync_request = sent
    assert key_request.headers["Authorization"] == sandbox.api_key  # raw: no "Bearer "
    assert key_request.headers["Accept"] == "application/json"
    assert "Token" not in key_request.headers
    assert sync_request.headers["Token"] == parsed.token
    assert sync_request.headers["Accept"] == "application/json"
    assert "Authorization" not in sync_request.headers  # the API key stays with getToken
    assert_stored(sandbox)


def test_the_generated_default_bearer_prefix_is_refused(sandbox: SandboxServer) -> None:
    # What a developer gets without `prefix=""`: `Authorization: Bearer <key>`, `Token: Bearer <token>`. The
    # vendor's page sends both raw, and the sandbox refuses the prefixed forms, so the tests above would fail
    # if the generated client were built with its default prefix.
    with AuthenticatedClient(base_url=sandbox.base_url, token=sandbox.api_key) as client:
        response = get_token.sync_detailed(client=client)
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert isinstance(response.parsed, ErrorResponse)
    with AuthenticatedClient(
        base_url=sandbox.base_url, token=fetch_token(sandbox), auth_header_name="Token"
    ) as client:
        response = delayed_sync.sync_detailed(client=client, body=lead_request())
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert sandbox.stats()["accepted"] == 0


def _guide_example() -> str:
    text = GUIDE.read_text(encoding="utf-8")
    section = text[text.index("## Using the generated client directly") :]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match is not None
    return match.group(1)


def test_the_guide_example_runs_against_the_sandbox(
    sandbox: SandboxServer, capsys: pytest.CaptureFixture[str]
) -> None:
    code = _guide_example()
    settings = 'base_url, api_key = "https://your-publitrac-host/v2", "..."'
    assert settings in code
    exec(code.replace(settings, f"base_url, api_key = {sandbox.base_url!r}, {sandbox.api_key!r}"), {})  # noqa: S102
    assert "SyncResponse(status='success', code=200" in capsys.readouterr().out
    sandbox.wait_until_applied(timeout=10)
    lead = sandbox.lead("zoë.müller@beispiel.de")
    assert lead is not None
    assert lead["leadInfo"] == {"email": "zoë.müller@beispiel.de", "crmLeadId": "00Q5e00000ABCdE"}


@pytest.mark.parametrize("crm_lead_id", [12387, "12387", "007", "00Q5e00000ABCdE"])
def test_the_generated_model_round_trips_integer_and_text_ids(crm_lead_id: int | str) -> None:
    body = {"leadInfo": {"email": "zoë.müller@beispiel.de", "crmLeadId": crm_lead_id}}
    request = LeadSyncRequest.from_dict(body)
    assert request.lead_info.crm_lead_id == crm_lead_id
    assert type(request.lead_info.crm_lead_id) is type(crm_lead_id)
    assert request.to_dict() == body


def test_a_doc_literal_error_body_parses() -> None:
    # A server that follows the vendor's page answers errors with its `status` and `code` only.
    error = ErrorResponse.from_dict({"status": "error", "code": 401})
    assert (error.status, error.code, error.message) == ("error", 401, UNSET)
    assert error.to_dict() == {"status": "error", "code": 401}

"""The sandbox over real HTTP on 127.0.0.1: the documented API, the assumed errors, the delayed upsert, every fault
flag, the file database and the `publitrac sandbox` command."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import jsonschema
import pytest

from publitrac import _spec
from publitrac.sandbox import DEFAULT_API_KEY, ManualClock, SandboxServer, create_app

MakeSandbox = Callable[..., SandboxServer]
LEAD = {
    "leadInfo": {"email": "john.doe@provider.com", "firstName": "John"},
    "leadCustomField": {"tier": "gold"},
}


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=10) as client:
        yield client


def get_token(client: httpx.Client, sandbox: SandboxServer) -> str:
    response = client.get(f"{sandbox.base_url}/auth/getToken", headers={"Authorization": sandbox.api_key})
    assert response.status_code == 200, response.text
    return str(response.json()["token"])


def sync(client: httpx.Client, sandbox: SandboxServer, token: str | None, body: Any = LEAD) -> httpx.Response:
    headers = {} if token is None else {"Token": token}
    if isinstance(body, bytes):
        return client.post(f"{sandbox.base_url}/lead/delayedSync", headers=headers, content=body)
    return client.post(f"{sandbox.base_url}/lead/delayedSync", headers=headers, json=body)


def assert_error(response: httpx.Response, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    body = response.json()
    jsonschema.validate(body, _spec.schema("ErrorResponse"))
    assert body["code"] == status
    return dict(body)


# -- tokens -------------------------------------------------------------------------------------------------------


def test_get_token_answers_an_opaque_token_and_a_string_ttl(
    sandbox: SandboxServer, client: httpx.Client
) -> None:
    response = client.get(f"{sandbox.base_url}/auth/getToken", headers={"Authorization": DEFAULT_API_KEY})
    assert response.status_code == 200
    body = response.json()
    jsonschema.validate(body, _spec.schema("TokenResponse"))
    assert body["ttl"] == "900"
    assert "!" in body["token"]
    assert response.headers["cache-control"] == "no-store"
    assert get_token(client, sandbox) != body["token"]
    assert sandbox.stats()["tokens_issued"] == 2


@pytest.mark.parametrize(
    "headers",
    [{}, {"Authorization": "wrong-key-123"}, {"Authorization": f"Bearer {DEFAULT_API_KEY}"}],
    ids=["missing", "wrong", "bearer-prefix"],
)
def test_a_missing_or_wrong_api_key_is_401(
    sandbox: SandboxServer, client: httpx.Client, headers: dict[str, str]
) -> None:
    body = assert_error(client.get(f"{sandbox.base_url}/auth/getToken", headers=headers), 401)
    assert "wrong-key-123" not in body["message"]
    assert DEFAULT_API_KEY not in body["message"]
    assert sandbox.stats()["unauthorized"] == 1


def test_several_api_keys_can_be_configured(make_sandbox: MakeSandbox, client: httpx.Client) -> None:
    sandbox = make_sandbox(api_key=["first-key", "second-key"])
    assert sandbox.api_key == "first-key"
    for key, status in [("first-key", 200), ("second-key", 200), (DEFAULT_API_KEY, 401)]:
        response = client.get(f"{sandbox.base_url}/auth/getToken", headers={"Authorization": key})
        assert response.status_code == status


def test_the_ttl_slides_with_every_call(make_sandbox: MakeSandbox, client: httpx.Client) -> None:
    clock = ManualClock()
    sandbox = make_sandbox(ttl=10, clock=clock)
    token = get_token(client, sandbox)
    for _ in range(3):
        clock.advance(9)  # 27 s after the token was issued, but never 10 s idle
        assert sync(client, sandbox, token).status_code == 200
    clock.advance(9.9)
    assert sync(client, sandbox, token).status_code == 200


def test_a_token_expires_after_idling_ttl_seconds(make_sandbox: MakeSandbox, client: httpx.Client) -> None:
    clock = ManualClock()
    sandbox = make_sandbox(ttl=1, clock=clock)
    token = get_token(client, sandbox)
    assert sync(client, sandbox, token).status_code == 200
    clock.advance(1)
    assert_error(sync(client, sandbox, token), 401)
    assert_error(sync(client, sandbox, token), 401)  # expired for good, even if the clock stands still
    assert sync(client, sandbox, get_token(client, sandbox)).status_code == 200


@pytest.mark.parametrize("token", [None, "", "unknown-token!"], ids=["missing", "empty", "unknown"])
def test_a_missing_or_unknown_token_is_401(
    sandbox: SandboxServer, client: httpx.Client, token: str | None
) -> None:
    body = assert_error(sync(client, sandbox, token), 401)
    assert body["message"] == "Token missing, unknown or expired."
    assert sandbox.stats()["accepted"] == 0


def test_revoke_every_n_calls_revokes_all_tokens(make_sandbox: MakeSandbox, client: httpx.Client) -> None:
    sandbox = make_sandbox(revoke_every=3)
    token = get_token(client, sandbox)  # call 1
    assert sync(client, sandbox, token).status_code == 200  # call 2
    assert_error(sync(client, sandbox, token), 401)  # call 3: every token revoked first
    token = get_token(client, sandbox)  # call 4
    assert sync(client, sandbox, token).status_code == 200  # call 5
    stats = sandbox.stats()
    assert stats["faults"]["revoke"] == 1
    assert stats["tokens_live"] == 1


# -- validation and routing ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "where"),
    [
        (b"{not json", "body"),
        (b"", "body"),
        (b'{"leadInfo": {"email": "a@b.com", "crmLeadId": NaN}}', "body"),
        ({"leadCustomField": {"a": "b"}}, "body"),
        ({"leadInfo": {"firstName": "John"}}, "leadInfo"),
        ({"leadInfo": {"email": "not-an-email"}}, "leadInfo.email"),
        ({"leadInfo": {"email": "two@at@signs.com"}}, "leadInfo.email"),
        ({"leadInfo": {"email": "zo\u00eb..m\u00fcller@beispiel.de"}}, "leadInfo.email"),
        ({"leadInfo": {"email": "zo\u00eb@m\u00fcller@beispiel.de"}}, "leadInfo.email"),
        ({"leadInfo": {"email": "a@b.com", "crmLeadId": True}}, "leadInfo.crmLeadId"),
        ({"leadInfo": {"email": "a@b.com", "crmLeadId": 1.5}}, "leadInfo.crmLeadId"),
        (
            {"leadInfo": {"email": "a@b.com"}, "leadCustomField": {"nested": {"x": 1}}},
            "leadCustomField.nested",
        ),
        ([LEAD], "body"),
    ],
    ids=[
        "not-json",
        "empty",
        "nan",
        "no-leadInfo",
        "no-email",
        "bad-email",
        "two-at-signs",
        "idn-email-two-dots",
        "idn-email-two-at-signs",
        "crmLeadId-boolean",
        "crmLeadId-float",
        "custom-not-scalar",
        "array",
    ],
)
def test_bad_bodies_are_400_naming_the_failing_path(
    sandbox: SandboxServer, client: httpx.Client, body: Any, where: str
) -> None:
    token = get_token(client, sandbox)
    message = assert_error(sync(client, sandbox, token, body), 400)["message"]
    assert message.startswith(f"{where}:"), message
    assert token not in message
    stats = sandbox.stats()
    assert (stats["bad_requests"], stats["accepted"]) == (1, 0)


def test_unnamed_standard_fields_pass_through(sandbox: SandboxServer, client: httpx.Client) -> None:
    body = {"leadInfo": {"email": "a@b.com", "crmLeadId": 7, "phone": "+1 555", "score": 3.5}}
    assert sync(client, sandbox, get_token(client, sandbox), body).status_code == 200
    sandbox.wait_until_applied(timeout=10)
    lead = sandbox.lead("a@b.com")
    assert lead is not None
    assert lead["leadInfo"] == body["leadInfo"]


@pytest.mark.parametrize("crm_lead_id", [12387, "12387", "007", "00Q5e00000ABCdE", "12-34"])
@pytest.mark.parametrize(
    "email",
    ["zo\u00eb.m\u00fcller@beispiel.de", "\u7528\u6237@\u4f8b\u5b50.\u4e2d\u56fd", "ana@b\u00fccher.de"],
)
def test_internationalised_emails_and_text_ids_are_accepted_as_sent(
    sandbox: SandboxServer, client: httpx.Client, email: str, crm_lead_id: int | str
) -> None:
    body = {"leadInfo": {"email": email, "crmLeadId": crm_lead_id}}
    assert sync(client, sandbox, get_token(client, sandbox), body).status_code == 200
    sandbox.wait_until_applied(timeout=10)
    lead = sandbox.lead(email)
    assert lead is not None
    assert lead["leadInfo"] == body["leadInfo"]
    assert type(lead["leadInfo"]["crmLeadId"]) is type(crm_lead_id)


def test_an_unknown_path_is_404(sandbox: SandboxServer, client: httpx.Client) -> None:
    assert_error(client.get(f"{sandbox.base_url}/lead/nothing"), 404)
    assert_error(client.get(f"{sandbox.root_url}/auth/getToken"), 404)  # the API lives under /v2 only


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("POST", "/auth/getToken", "GET"),
        ("DELETE", "/auth/getToken", "GET"),
        ("GET", "/lead/delayedSync", "POST"),
        ("PUT", "/lead/delayedSync", "POST"),
    ],
)
def test_a_wrong_method_is_405_with_allow(
    sandbox: SandboxServer, client: httpx.Client, method: str, path: str, allow: str
) -> None:
    response = client.request(method, sandbox.base_url + path)
    assert_error(response, 405)
    assert response.headers["allow"] == allow


# -- the delayed upsert -------------------------------------------------------------------------------------------


def test_a_lead_is_accepted_at_once_and_applied_after_the_delay(
    make_sandbox: MakeSandbox, client: httpx.Client
) -> None:
    sandbox = make_sandbox(apply_delay=0.5)
    response = sync(client, sandbox, get_token(client, sandbox))
    assert response.status_code == 200
    assert response.json() == {"status": "success", "code": 200}
    jsonschema.validate(response.json(), _spec.schema("SyncResponse"))
    assert sandbox.lead("john.doe@provider.com") is None
    assert (sandbox.stats()["accepted"], sandbox.stats()["pending"]) == (1, 1)
    sandbox.wait_until_applied(timeout=10)
    assert sandbox.lead("john.doe@provider.com") == {
        "email": "john.doe@provider.com",
        "leadInfo": LEAD["leadInfo"],
        "leadCustomField": LEAD["leadCustomField"],
        "syncs": 1,
    }
    assert (sandbox.stats()["applied"], sandbox.stats()["pending"]) == (1, 0)


def test_wait_until_applied_times_out(make_sandbox: MakeSandbox, client: httpx.Client) -> None:
    sandbox = make_sandbox(apply_delay=30)
    sync(client, sandbox, get_token(client, sandbox))
    with pytest.raises(TimeoutError, match="1 leads still pending"):
        sandbox.wait_until_applied(timeout=0.2)


def test_the_upsert_is_keyed_by_email_and_merges_fields(sandbox: SandboxServer, client: httpx.Client) -> None:
    token = get_token(client, sandbox)
    first = {
        "leadInfo": {"email": "ann.lee@example.com", "firstName": "Ann", "jobTitle": "CTO", "crmLeadId": 1},
        "leadCustomField": {"tier": "gold", "size": 10, "active": True},
    }
    second = {
        "leadInfo": {"email": "Ann.Lee@Example.com", "firstName": "Anne", "lastName": "Lee"},
        "leadCustomField": {"size": 12, "region": "EU"},
    }
    third = {"leadInfo": {"email": "ANN.LEE@EXAMPLE.COM", "crmLeadId": 2}}
    assert sync(client, sandbox, token, first).status_code == 200
    sandbox.wait_until_applied(timeout=10)
    # The second and third most likely share a batch: the order of arrival must still decide.
    assert sync(client, sandbox, token, second).status_code == 200
    assert sync(client, sandbox, token, third).status_code == 200
    sandbox.wait_until_applied(timeout=10)
    leads = sandbox.leads()
    assert len(leads) == 1
    assert leads[0] == {
        "email": "ann.lee@example.com",
        "leadInfo": {
            "email": "ANN.LEE@EXAMPLE.COM",
            "firstName": "Anne",
            "jobTitle": "CTO",
            "crmLeadId": 2,
            "lastName": "Lee",
        },
        "leadCustomField": {"tier": "gold", "size": 12, "active": True, "region": "EU"},
        "syncs": 3,
    }
    assert sandbox.lead("ann.lee@EXAMPLE.com") == leads[0]
    assert sandbox.lead("someone.else@example.com") is None


def test_later_syncs_of_one_email_win_within_a_batch(make_sandbox: MakeSandbox, client: httpx.Client) -> None:
    sandbox = make_sandbox(apply_delay=0.3)
    token = get_token(client, sandbox)
    for value in range(20):
        body = {
            "leadInfo": {"email": "same@example.com", "crmLeadId": value},
            "leadCustomField": {f"k{value}": "v"},
        }
        assert sync(client, sandbox, token, body).status_code == 200
    sandbox.wait_until_applied(timeout=10)
    lead = sandbox.lead("same@example.com")
    assert lead is not None
    assert lead["leadInfo"]["crmLeadId"] == 19
    assert lead["leadCustomField"] == {f"k{value}": "v" for value in range(20)}
    assert lead["syncs"] == 20


def test_json_the_store_cannot_encode_as_utf8_is_kept(sandbox: SandboxServer, client: httpx.Client) -> None:
    body = (
        b'{"leadInfo": {"email": "odd@example.com", "note": "\\ud800"}, "leadCustomField": {"c": "\\udfff"}}'
    )
    assert sync(client, sandbox, get_token(client, sandbox), body).status_code == 200
    sandbox.wait_until_applied(timeout=10)
    lead = sandbox.lead("odd@example.com")
    assert lead is not None
    assert (lead["leadInfo"]["note"], lead["leadCustomField"]["c"]) == ("\ud800", "\udfff")
    assert sandbox.stats()["failed"] == 0


def test_a_file_database_keeps_leads_across_restarts(
    make_sandbox: MakeSandbox, client: httpx.Client, tmp_path: Path
) -> None:
    db = tmp_path / "leads.sqlite"
    from publitrac.sandbox import run_sandbox

    # A long delay: the leads accepted before the stop must still reach the file.
    with run_sandbox(db_path=str(db), apply_delay=60) as first:
        assert sync(client, first, get_token(client, first)).status_code == 200
        assert first.stats()["pending"] == 1
    assert db.exists()
    second = make_sandbox(db_path=str(db))
    lead = second.lead("JOHN.DOE@provider.com")
    assert lead is not None
    assert lead["leadInfo"] == LEAD["leadInfo"]
    update = {"leadInfo": {"email": "john.doe@provider.com"}, "leadCustomField": {"more": "yes"}}
    assert sync(client, second, get_token(client, second), update).status_code == 200
    second.wait_until_applied(timeout=10)
    assert second.lead("john.doe@provider.com")["leadCustomField"] == {"tier": "gold", "more": "yes"}  # type: ignore[index]


# -- faults -------------------------------------------------------------------------------------------------------


def test_injected_429_carries_retry_after(make_sandbox: MakeSandbox, client: httpx.Client) -> None:
    sandbox = make_sandbox(error_429=1.0, retry_after=7)
    response = client.get(f"{sandbox.base_url}/auth/getToken", headers={"Authorization": sandbox.api_key})
    assert_error(response, 429)
    assert response.headers["retry-after"] == "7"
    assert sandbox.stats()["faults"] == {"429": 1}


def test_injected_5xx_include_html_proxy_pages(make_sandbox: MakeSandbox, client: httpx.Client) -> None:
    sandbox = make_sandbox(error_5xx=1.0, seed=3)
    seen: dict[int, httpx.Response] = {}
    for _ in range(40):
        response = client.get(f"{sandbox.base_url}/auth/getToken", headers={"Authorization": sandbox.api_key})
        seen.setdefault(response.status_code, response)
    assert sorted(seen) == [500, 502, 503, 504]
    for status in (500, 503):
        assert_error(seen[status], status)
    for status in (502, 504):
        assert seen[status].headers["content-type"].startswith("text/html")
        assert f"<title>{status} " in seen[status].text
    faults = sandbox.stats()["faults"]
    assert sum(faults.values()) == 40
    assert set(faults) == {"500", "502", "503", "504"}


def test_a_dropped_connection_is_a_transport_error(make_sandbox: MakeSandbox, client: httpx.Client) -> None:
    sandbox = make_sandbox(drop=1.0)
    for _ in range(3):  # on fresh and reused connections alike
        with pytest.raises(httpx.RemoteProtocolError):
            client.get(f"{sandbox.base_url}/auth/getToken", headers={"Authorization": sandbox.api_key})
    stats = sandbox.stats()  # the inspection endpoints are never faulted
    assert stats["faults"] == {"drop": 3}
    assert stats["calls"] == {"getToken": 3}
    assert stats["tokens_issued"] == 0


async def test_a_drop_without_a_transport_raises_in_the_app() -> None:
    from publitrac.sandbox._faults import ConnectionDropped

    transport = httpx.ASGITransport(app=create_app(drop=1.0))
    async with httpx.AsyncClient(transport=transport, base_url="http://sandbox/v2") as client:
        with pytest.raises(ConnectionDropped):
            await client.get("/auth/getToken")


def test_faults_never_touch_the_inspection_endpoints(make_sandbox: MakeSandbox, client: httpx.Client) -> None:
    sandbox = make_sandbox(error_429=0.5, error_5xx=0.5, latency_ms=500, revoke_every=1, rate_limit=0.001)
    started = time.monotonic()
    for path in ("/_sandbox/leads", "/_sandbox/stats", "/_sandbox/wait?timeout=0"):
        assert client.get(sandbox.root_url + path).status_code == 200
    assert time.monotonic() - started < 0.5
    assert sandbox.stats()["calls"] == {}


def test_the_rate_limit_answers_429_beyond_r_per_second(
    make_sandbox: MakeSandbox, client: httpx.Client
) -> None:
    clock = ManualClock()
    sandbox = make_sandbox(rate_limit=2, retry_after=0, clock=clock)
    url, headers = f"{sandbox.base_url}/auth/getToken", {"Authorization": sandbox.api_key}
    assert [client.get(url, headers=headers).status_code for _ in range(2)] == [200, 200]
    limited = client.get(url, headers=headers)
    assert_error(limited, 429)
    assert limited.headers["retry-after"] == "0"
    clock.advance(0.5)  # one slot back
    assert [client.get(url, headers=headers).status_code for _ in range(2)] == [200, 429]
    assert sandbox.stats()["faults"] == {"rate_limit": 2}


def test_the_burst_sizes_the_rate_limits_bucket(make_sandbox: MakeSandbox, client: httpx.Client) -> None:
    clock = ManualClock()
    sandbox = make_sandbox(rate_limit=10, burst=3, retry_after=1, clock=clock)
    url, headers = f"{sandbox.base_url}/auth/getToken", {"Authorization": sandbox.api_key}
    # a full bucket of 3 after an idle spell, not one second's worth (10)
    assert [client.get(url, headers=headers).status_code for _ in range(4)] == [200, 200, 200, 429]
    clock.advance(0.1)  # 10 a second: one token back
    assert [client.get(url, headers=headers).status_code for _ in range(2)] == [200, 429]
    clock.advance(60)  # idle: the bucket refills to its size, no further
    assert [client.get(url, headers=headers).status_code for _ in range(4)] == [200, 200, 200, 429]
    assert sandbox.stats()["faults"] == {"rate_limit": 3}


def test_a_call_over_the_bucket_gets_429_with_retry_after_on_delayed_sync(
    make_sandbox: MakeSandbox, client: httpx.Client
) -> None:
    clock = ManualClock()
    sandbox = make_sandbox(rate_limit=1, burst=2, retry_after=1, clock=clock, apply_delay=0)
    token = get_token(client, sandbox)  # takes one of the two tokens
    url = f"{sandbox.base_url}/lead/delayedSync"
    body = {"leadInfo": {"email": "ann@example.com"}}
    assert client.post(url, headers={"Token": token}, json=body).status_code == 200
    refused = client.post(url, headers={"Token": token}, json=body)
    assert_error(refused, 429)
    assert refused.headers["retry-after"] == "1"
    clock.advance(1.0)
    assert client.post(url, headers={"Token": token}, json=body).status_code == 200
    assert sandbox.stats()["accepted"] == 2


def test_the_bucket_and_the_random_429s_are_counted_apart(
    make_sandbox: MakeSandbox, client: httpx.Client
) -> None:
    clock = ManualClock()
    sandbox = make_sandbox(rate_limit=5, burst=5, error_429=1.0, retry_after=0, clock=clock)
    url, headers = f"{sandbox.base_url}/auth/getToken", {"Authorization": sandbox.api_key}
    assert {client.get(url, headers=headers).status_code for _ in range(8)} == {429}
    assert sandbox.stats()["faults"] == {"429": 5, "rate_limit": 3}


def test_the_command_takes_a_rate_limit_with_a_burst(client: httpx.Client) -> None:
    process, _, base_url = start_cli("--rate-limit", "0.001", "--burst", "2", "--retry-after", "7")
    try:
        url, headers = f"{base_url}/auth/getToken", {"Authorization": DEFAULT_API_KEY}
        answers = [client.get(url, headers=headers) for _ in range(3)]
        assert [answer.status_code for answer in answers] == [200, 200, 429]
        assert answers[2].headers["retry-after"] == "7"
    finally:
        stop_cli(process)


def test_latency_is_added_to_every_api_call(make_sandbox: MakeSandbox, client: httpx.Client) -> None:
    def elapsed(sandbox: SandboxServer) -> float:
        get_token(client, sandbox)  # a warm connection
        started = time.perf_counter()
        get_token(client, sandbox)
        return time.perf_counter() - started

    assert elapsed(make_sandbox(latency_ms=300)) >= 0.29
    assert elapsed(make_sandbox()) < 0.29


def outcomes(sandbox: SandboxServer, calls: int) -> list[int | str]:
    seen: list[int | str] = []
    with httpx.Client(timeout=10) as client:
        for _ in range(calls):
            try:
                response = client.get(
                    f"{sandbox.base_url}/auth/getToken", headers={"Authorization": sandbox.api_key}
                )
            except httpx.TransportError:
                seen.append("drop")
            else:
                seen.append(response.status_code)
    return seen


def test_the_same_seed_gives_the_same_faults(make_sandbox: MakeSandbox) -> None:
    faults = {"error_429": 0.25, "error_5xx": 0.25, "drop": 0.1}
    first = outcomes(make_sandbox(seed=42, **faults), 40)
    assert first == outcomes(make_sandbox(seed=42, **faults), 40)
    assert first != outcomes(make_sandbox(seed=43, **faults), 40)
    assert {200, 429, "drop"} <= set(first)


def test_a_200_with_an_error_body_does_not_take_the_lead(
    make_sandbox: MakeSandbox, client: httpx.Client
) -> None:
    sandbox = make_sandbox(error_200=1.0, retry_after=2, seed=1, apply_delay=0.0)
    token = get_token(client, sandbox)  # getToken is never answered so: its token is real
    codes: dict[int, httpx.Response] = {}
    for _ in range(30):
        response = sync(client, sandbox, token)
        assert response.status_code == 200
        body = response.json()
        assert body["status"] == "error" and "injected by the sandbox" in body["message"]
        codes.setdefault(body["code"], response)
    assert sorted(codes) == [400, 429, 503]  # final and retryable codes alike
    assert codes[429].headers["retry-after"] == "2"
    assert "retry-after" not in codes[400].headers
    sandbox.wait_until_applied(timeout=10)
    assert sandbox.leads() == []  # none was taken
    faults = sandbox.stats()["faults"]
    assert sum(faults.values()) == 30 and set(faults) == {"200error:400", "200error:429", "200error:503"}


def test_a_200_with_an_html_page_or_an_empty_body(make_sandbox: MakeSandbox, client: httpx.Client) -> None:
    sandbox = make_sandbox(junk_200=1.0, seed=2, apply_delay=0.0)
    token = get_token(client, sandbox)
    bodies = {sync(client, sandbox, token).content[:15] for _ in range(20)}
    assert bodies == {b"", b"<!DOCTYPE html>"}
    sandbox.wait_until_applied(timeout=10)
    assert sandbox.leads() == []
    assert set(sandbox.stats()["faults"]) == {"200html", "200empty"}


def test_a_hang_is_never_answered_until_the_client_gives_up(
    make_sandbox: MakeSandbox, client: httpx.Client
) -> None:
    sandbox = make_sandbox(hang=1.0)
    started = time.monotonic()
    with pytest.raises(httpx.ReadTimeout):
        client.get(
            f"{sandbox.base_url}/auth/getToken", headers={"Authorization": sandbox.api_key}, timeout=0.3
        )
    assert 0.3 <= time.monotonic() - started < 5
    stats = sandbox.stats()
    assert stats["faults"] == {"hang": 1} and stats["tokens_issued"] == 0 and stats["responses"] == {}


def test_a_stopping_sandbox_hangs_up_on_held_calls(client: httpx.Client) -> None:
    process, _, base_url = start_cli("--fault", "hang=1")
    port = int(base_url.split(":")[2].split("/")[0])
    with socket.create_connection(("127.0.0.1", port)) as raw:
        try:
            raw.sendall(b"GET /v2/auth/getToken HTTP/1.1\r\nHost: x\r\nAuthorization: k\r\n\r\n")
            while client.get(base_url.replace("/v2", "/_sandbox/stats")).json()["faults"] != {"hang": 1}:
                time.sleep(0.01)
        finally:
            started = time.monotonic()
            _, err = stop_cli(process)
        # at once, not after uvicorn's graceful-shutdown timeout (5 s) and a cancellation's traceback
        assert time.monotonic() - started < 3
        assert "Traceback" not in err and "Cancel" not in err, err
        raw.settimeout(10)
        assert raw.recv(100) == b""  # hung up, unanswered


def test_the_same_seed_gives_the_same_answers_with_every_fault(make_sandbox: MakeSandbox) -> None:
    faults = {"error_429": 0.1, "error_5xx": 0.1, "drop": 0.1, "error_200": 0.2, "junk_200": 0.2}

    def answers(sandbox: SandboxServer) -> list[str]:
        seen = []
        with httpx.Client(timeout=10) as client:
            for _ in range(40):
                try:
                    response = client.post(f"{sandbox.base_url}/lead/delayedSync", json=LEAD)
                except httpx.TransportError:
                    seen.append("drop")
                else:
                    seen.append(f"{response.status_code} {response.content[:20]!r}")
        return seen

    first = answers(make_sandbox(seed=9, **faults))
    assert first == answers(make_sandbox(seed=9, **faults))
    for kind in ("drop", "200 b''", '200 b\'{"status":"error', "429 ", "200 b'<!DOCTYPE"):
        assert any(answer.startswith(kind) for answer in first), (kind, first)


def test_a_client_that_disconnects_mid_request_leaves_no_traceback(client: httpx.Client) -> None:
    process, _, base_url = start_cli("--latency-ms", "300")
    try:
        port = int(base_url.split(":")[2].split("/")[0])
        token = client.get(f"{base_url}/auth/getToken", headers={"Authorization": DEFAULT_API_KEY}).json()[
            "token"
        ]
        body = json.dumps(LEAD).encode()
        head = f"POST /v2/lead/delayedSync HTTP/1.1\r\nHost: x\r\nToken: {token}\r\n"
        head += "Content-Type: application/json\r\n"
        requests = [
            # the whole request, then gone before the answer (a Ctrl-C'd run)
            (head + f"Content-Length: {len(body)}\r\n\r\n").encode() + body,
            # part of the body, then gone
            (head + "Content-Length: 1000\r\n\r\n").encode() + body,
        ]
        for request in requests:
            with socket.create_connection(("127.0.0.1", port)) as raw:
                raw.sendall(request)
                time.sleep(0.05)
        # and a client that gives up waiting (its read timeout), as the engine does
        with pytest.raises(httpx.ReadTimeout):
            client.post(f"{base_url}/lead/delayedSync", headers={"Token": token}, json=LEAD, timeout=0.1)
        time.sleep(0.6)  # let the sandbox come back to each request after its latency
        answer = client.post(f"{base_url}/lead/delayedSync", headers={"Token": token}, json=LEAD)
        assert answer.json() == {"status": "success", "code": 200}  # still serving
        stats = client.get(base_url.replace("/v2", "/_sandbox/stats")).json()
        assert stats["responses"] == {"200": 2}  # getToken and the last call: no 500 for the ones gone
    finally:
        _, err = stop_cli(process)
    assert "Traceback" not in err and "Exception" not in err, err


@pytest.mark.parametrize(
    "options",
    [
        {"error_429": 1.5},
        {"drop": -0.1},
        {"error_429": 0.6, "error_5xx": 0.6},
        {"hang": 0.5, "error_200": 0.3, "junk_200": 0.3},
        {"error_200": -0.1},
        {"revoke_every": 0},
        {"rate_limit": 0},
        {"rate_limit": 10, "burst": 0.5},
        {"burst": 5},
        {"ttl": 0},
        {"apply_delay": -1},
        {"api_key": []},
    ],
)
def test_out_of_range_settings_are_refused(options: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        create_app(**options)


# -- stats, repr, secrets -----------------------------------------------------------------------------------------


def test_stats_count_calls_responses_and_leads(sandbox: SandboxServer, client: httpx.Client) -> None:
    token = get_token(client, sandbox)
    for index in range(3):
        sync(client, sandbox, token, {"leadInfo": {"email": f"lead{index}@example.com"}})
    sync(client, sandbox, token, {"leadInfo": {}})
    sync(client, sandbox, "nope")
    client.get(f"{sandbox.base_url}/auth/getToken", headers={"Authorization": "nope"})
    sandbox.wait_until_applied(timeout=10)
    stats = sandbox.stats()
    assert stats["calls"] == {"getToken": 2, "delayedSync": 5}
    assert stats["responses"] == {"200": 4, "400": 1, "401": 2}
    assert (stats["bad_requests"], stats["unauthorized"], stats["tokens_issued"]) == (1, 2, 1)
    assert (stats["accepted"], stats["applied"], stats["pending"], stats["leads_stored"]) == (3, 3, 0, 3)


def test_the_handle_never_shows_the_key(make_sandbox: MakeSandbox) -> None:
    sandbox = make_sandbox(api_key="s3cret-key-value")
    assert "s3cret" not in repr(sandbox)
    assert "s3cret" not in repr(sandbox.app)
    assert "s3cret" not in repr(sandbox.app.api_keys)
    assert sandbox.base_url.startswith("http://127.0.0.1:") and sandbox.base_url.endswith("/v2")


# -- the command --------------------------------------------------------------------------------------------------


def start_cli(*args: str, api_key: str | None = None) -> tuple[subprocess.Popen[str], list[str], str]:
    """Starts `publitrac sandbox --port 0 ARGS`; returns the process, its first three lines and its API base URL."""
    env = {key: value for key, value in os.environ.items() if key != "PUBLITRAC_API_KEY"}
    if api_key is not None:
        env["PUBLITRAC_API_KEY"] = api_key
    process = subprocess.Popen(
        [sys.executable, "-m", "publitrac.cli", "sandbox", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None
    lines = [process.stdout.readline() for _ in range(3)]
    match = re.search(r"(http://127\.0\.0\.1:\d+/v2)$", lines[0].strip())
    if match is None:
        process.kill()
        pytest.fail(f"unexpected start: {lines} {process.communicate()}")
    return process, lines, match.group(1)


def stop_cli(process: subprocess.Popen[str]) -> tuple[str, str]:
    process.send_signal(signal.SIGINT)  # Ctrl-C
    out, err = process.communicate(timeout=30)
    assert process.returncode == 0, err
    return out, err


def test_the_command_starts_prints_the_demo_key_and_stops_on_ctrl_c(client: httpx.Client) -> None:
    process, lines, base_url = start_cli("--ttl", "60", "--fault", "429=0", "--fault", "revoke=100")
    try:
        assert lines[1].strip() == f"API key: {DEFAULT_API_KEY}"
        response = client.get(f"{base_url}/auth/getToken", headers={"Authorization": DEFAULT_API_KEY})
        assert response.status_code == 200
        assert response.json()["ttl"] == "60"
    finally:
        out, _ = stop_cli(process)
    assert "Stopped: 1 API calls" in out


def test_the_command_never_prints_a_key_of_your_own(client: httpx.Client) -> None:
    secret = "my-own-key-0123456789"
    process, lines, base_url = start_cli(api_key=secret)
    try:
        assert lines[1].strip() == "API key: (your key)"
        assert client.get(f"{base_url}/auth/getToken", headers={"Authorization": secret}).status_code == 200
        assert (
            client.get(f"{base_url}/auth/getToken", headers={"Authorization": DEFAULT_API_KEY}).status_code
            == 401
        )
    finally:
        out, err = stop_cli(process)
    assert secret not in "".join(lines) + out + err


def test_the_command_refuses_bad_settings() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "publitrac.cli", "sandbox", "--port", "0", "--fault", "drop=3"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 2
    assert "drop must be a probability" in done.stderr

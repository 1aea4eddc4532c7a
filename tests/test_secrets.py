"""The API key and tokens never appear in a repr, a log record, an exception message, a traceback or the
progress bar: checked with every logger at DEBUG, through re-authentications, retries and failures."""

from __future__ import annotations

import json
import logging
import traceback
from typing import Any

import attrs
import httpx
import pandas as pd
import pytest

import publitrac

KEY = "KEY-do-not-leak-7f3a"
TOKENS = ("TOKEN-do-not-leak-1!", "TOKEN-do-not-leak-2!", "TOKEN-do-not-leak-3!")
WRONG_KEY = "wrong-do-not-leak"
SECRETS = (KEY, *TOKENS, WRONG_KEY, "do-not-leak")
LOGGERS = ("", "httpx", "httpcore", "aiohttp", "asyncio", "publitrac", "stamina", "tenacity", "urllib3")


def assert_clean(text: str) -> None:
    for secret in SECRETS:
        assert secret not in text, f"a secret leaked: ...{text[max(0, text.find(secret) - 80) :][:200]}"


class LeakyApi:
    """Issues tokens, revokes them, answers with errors that echo the token back."""

    def __init__(self) -> None:
        self.issued = 0
        self.calls = 0

    async def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/auth/getToken"):
            if request.headers["authorization"] != KEY:
                return httpx.Response(401, json={"status": "error", "code": 401, "message": "bad key"})
            self.issued += 1
            return httpx.Response(200, json={"token": TOKENS[min(self.issued, 3) - 1], "ttl": "900"})
        self.calls += 1
        token = request.headers.get("token", "")
        email = json.loads(request.content)["leadInfo"]["email"]
        if self.calls == 5 and self.issued == 1:
            return httpx.Response(401, json={"status": "error", "code": 401, "message": f"{token} revoked"})
        if email.startswith("echo"):
            return httpx.Response(
                403, json={"status": "error", "code": 403, "message": f"token {token} refused"}
            )
        self.dropped = getattr(self, "dropped", 0)
        if email.startswith("drop") and not self.dropped:
            self.dropped += 1
            raise httpx.ReadError(f"connection lost while sending {token}")
        if email.startswith("html"):
            return httpx.Response(502, content=f"<html>proxy saw Token: {token}</html>".encode())
        return httpx.Response(200, json={"status": "success", "code": 200})


def frame() -> pd.DataFrame:
    emails = [f"lead{i}@example.com" for i in range(20)] + [
        "echo@example.com",
        "drop@example.com",
        "html@x.io",
    ]
    return pd.DataFrame({"Email": emails, "First Name": ["Ann"] * len(emails)})


def connection(api: LeakyApi, key: str = KEY) -> publitrac.Publitrac:
    pt = publitrac.Publitrac(
        api_key=key, base_url="http://127.0.0.1:9/v2", async_transport=httpx.MockTransport(api.handle)
    )

    async def no_wait(seconds: float) -> None:
        return None

    pt._retry_asleep = no_wait
    return pt


@pytest.fixture
def everything_logged(caplog: pytest.LogCaptureFixture) -> pytest.LogCaptureFixture:
    for name in LOGGERS:
        caplog.set_level(logging.DEBUG, logger=name or None)
    return caplog


def all_log_text(caplog: pytest.LogCaptureFixture) -> str:
    parts = []
    for record in caplog.records:
        parts.append(record.getMessage())
        parts.append(repr(record.__dict__))
        if record.exc_info:
            parts.append("".join(traceback.format_exception(*record.exc_info)))
    return "\n".join(parts)


def test_a_sync_with_reauthentication_retries_and_echoed_errors_leaks_nothing(
    everything_logged: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    api = LeakyApi()
    pt = connection(api)
    report = publitrac.sync(frame(), pt, concurrency=4, max_attempts=2, max_retry_time=0.5, progress=True)
    assert api.issued == 2  # the 401 was followed by one re-authentication
    statuses = report.results["status"].tolist()
    assert statuses.count("accepted") == 21 and statuses.count("failed") == 2
    assert any(record.name.startswith("httpx") for record in everything_logged.records)  # logging was on
    assert_clean(all_log_text(everything_logged))
    captured = capsys.readouterr()
    assert "publitrac sync" in captured.err  # the progress bar was drawn
    assert_clean(captured.out + captured.err)
    assert_clean(repr(report) + report._repr_html_() + report.results.to_string())
    assert_clean(repr(pt) + repr(pt.auth) + repr(pt.client) + str(attrs.asdict(pt.client, recurse=False)))


def test_errors_and_their_tracebacks_leak_nothing(everything_logged: pytest.LogCaptureFixture) -> None:
    api = LeakyApi()
    with pytest.raises(publitrac.AuthenticationError) as refused:
        publitrac.sync(frame(), connection(api, key=WRONG_KEY), progress=False)
    text = "".join(traceback.format_exception(refused.value))
    assert "getToken answered 401" in text
    assert_clean(text + repr(refused.value) + repr(refused.value.report))
    assert_clean(all_log_text(everything_logged))


def test_unreachable_host_error_leaks_nothing() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"refused {request.headers.get('authorization')}")

    pt = publitrac.Publitrac(
        api_key=KEY, base_url="http://127.0.0.1:9/v2", transport=httpx.MockTransport(refuse)
    )
    pt._retry_sleep = lambda seconds: None
    with pytest.raises(publitrac.ConnectionFailed) as caught:
        pt.client.get_httpx_client().post("/lead/delayedSync", json={})
    assert_clean("".join(traceback.format_exception(caught.value)))


def test_configuration_errors_leak_nothing() -> None:
    with pytest.raises(publitrac.ConfigurationError) as caught:
        publitrac.Publitrac(api_key=KEY, base_url="http://api.example.com/v2")
    assert_clean("".join(traceback.format_exception(caught.value)))


def test_a_real_run_over_aiohttp_leaks_nothing(
    make_sandbox: Any, everything_logged: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    sandbox = make_sandbox(api_key=KEY, revoke_every=50, error_5xx=0.05, drop=0.03, retry_after=0, seed=5)
    pt = publitrac.Publitrac(api_key=KEY, base_url=sandbox.base_url)
    issued: list[str] = []
    fetch = pt.auth._afetch
    assert fetch is not None

    async def recording_fetch() -> Any:
        token = await fetch()
        issued.append(token.value)
        return token

    pt.auth._afetch = recording_fetch
    emails = [f"lead{i}@example.com" for i in range(300)]
    report = publitrac.sync(
        pd.DataFrame({"Email": emails}), pt, concurrency=16, max_attempts=8, progress=True
    )
    assert report.ok
    stats = sandbox.stats()
    assert stats["faults"]["revoke"] >= 5 and stats["tokens_issued"] == len(issued) >= 5
    text = (
        all_log_text(everything_logged) + capsys.readouterr().err + repr(report) + report.results.to_string()
    )
    assert any(record.name.startswith("httpx") for record in everything_logged.records)
    for secret in (KEY, *issued):
        assert secret not in text


def test_a_profiles_key_leaks_nowhere(
    make_sandbox: Any,
    tmp_path: Any,
    monkeypatch: pytest.MonkeyPatch,
    everything_logged: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A key saved by `publitrac login` (keyring) is in no repr, log, error, listing or config file."""
    import keyring
    from keyrings.alt.file import PlaintextKeyring

    from publitrac.cli._main import main
    from publitrac.connection._profiles import Profile, config_path, save_profile, store_key

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # the keyring file: the test's own
    previous = keyring.get_keyring()
    keyring.set_keyring(PlaintextKeyring())
    try:
        sandbox = make_sandbox(api_key=KEY)
        for name, key in (("ci", KEY), ("bad", WRONG_KEY)):
            save_profile(Profile(name, sandbox.base_url))
            store_key(name, key)
        pt = publitrac.Publitrac(profile="ci")
        report = publitrac.sync(frame().head(20), pt, progress=True)
        assert report.ok
        with pytest.raises(publitrac.AuthenticationError) as refused:
            publitrac.sync(frame(), publitrac.Publitrac(profile="bad"), progress=False)
        text = "".join(traceback.format_exception(refused.value))
        assert "Check the key of profile 'bad' (publitrac login --profile bad)" in text
        assert main(["profiles"]) == 0 and main(["profiles", "--output", "json"]) == 0
        captured = capsys.readouterr()
        assert "ci" in captured.out and "keyring" in captured.out
        # --output json: the destination is the base URL and the profile's name, the error its message
        leads = tmp_path / "leads.csv"
        frame().head(20).to_csv(leads, index=False)
        for name, status, error in (("ci", 0, None), ("bad", 2, "AuthenticationError")):
            assert (
                main(["sync", str(leads), "--profile", name, "--output", "json", "--no-progress"]) == status
            )
            json_output = capsys.readouterr()
            document = json.loads(json_output.out)
            assert document["destination"] == {
                "base_url": sandbox.base_url,
                "profile": name,
                "sandbox": False,
            }
            assert (document["error"] or {}).get("type") == error
            assert_clean(json_output.out + json_output.err)
        for command, arguments in (("runs", []), ("ledger stats", ["--profile", "ci"])):
            assert main([*command.split(), *arguments, "--output", "json"]) == 0
            json_output = capsys.readouterr()
            assert json.loads(json_output.out)["command"] == command
            assert_clean(json_output.out + json_output.err)
        assert_clean(text + repr(pt) + repr(report) + captured.out + captured.err)
        assert_clean(config_path().read_text(encoding="utf-8"))
        assert_clean(all_log_text(everything_logged))
    finally:
        keyring.set_keyring(previous)

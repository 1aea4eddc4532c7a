"""Unit tests of the connection (`publitrac.connection._client`): settings, URL safety, answer classification, the lean
httpx client. The real transport is exercised against the sandbox in test_sync.py."""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import time
from collections.abc import Iterator

import httpx
import pytest
from publitrac_client.models import LeadSyncRequest

from publitrac import ConfigurationError, Publitrac
from publitrac.connection._client import (
    TRANSPORT_ERROR,
    LeadAnswer,
    check_base_url,
    describe_exception,
    is_timeout,
    is_transient,
    judge_2xx,
    post_lead,
    retry_after_seconds,
)
from publitrac.connection._transport import LeanAsyncClient

KEY = "SECRET-key-123"


def test_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLITRAC_API_KEY", KEY)
    monkeypatch.setenv("PUBLITRAC_BASE_URL", "http://127.0.0.1:8765/v2/")
    pt = Publitrac()
    assert pt.base_url == "http://127.0.0.1:8765/v2"
    assert KEY not in repr(pt)


def test_arguments_beat_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PUBLITRAC_BASE_URL", "http://127.0.0.1:8765/v2")
    assert (
        Publitrac(api_key=KEY, base_url="https://api.example.com/v2").base_url == "https://api.example.com/v2"
    )


def test_missing_settings_are_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PUBLITRAC_API_KEY", raising=False)
    monkeypatch.delenv("PUBLITRAC_BASE_URL", raising=False)
    with pytest.raises(ConfigurationError) as caught:
        Publitrac()
    assert "PUBLITRAC_API_KEY" in str(caught.value) and "PUBLITRAC_BASE_URL" in str(caught.value)
    with pytest.raises(ConfigurationError, match="PUBLITRAC_BASE_URL") as caught:
        Publitrac(api_key=KEY)
    assert "PUBLITRAC_API_KEY" not in str(caught.value)
    with pytest.raises(ConfigurationError, match="PUBLITRAC_API_KEY"):
        Publitrac(api_key="  ", base_url="https://api.example.com/v2")


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1:8765/v2", "http://localhost/v2", "http://[::1]:8000/v2", "https://api.example.com/v2"],
)
def test_safe_urls_are_accepted(url: str) -> None:
    assert check_base_url(url) == url


@pytest.mark.parametrize("url", ["http://api.example.com/v2", "http://10.0.0.5/v2"])
def test_plain_http_to_a_remote_host_needs_an_explicit_opt_in(url: str) -> None:
    with pytest.raises(ConfigurationError, match="allow_insecure_http"):
        Publitrac(api_key=KEY, base_url=url)
    assert Publitrac(api_key=KEY, base_url=url, allow_insecure_http=True).base_url == url


@pytest.mark.parametrize("url", ["ftp://example.com/v2", "example.com/v2", "http://"])
def test_malformed_urls_are_configuration_errors(url: str) -> None:
    with pytest.raises(ConfigurationError):
        check_base_url(url)


def test_transient_statuses() -> None:
    transient = [TRANSPORT_ERROR, 401, 408, 429, 500, 502, 503, 504, 599]
    final = [400, 403, 404, 405, 409, 422, 501, 505]
    assert all(is_transient(code) for code in transient)
    assert not any(is_transient(code) for code in final)


def test_retry_after_in_seconds_and_as_a_date() -> None:
    assert retry_after_seconds(httpx.Headers({"Retry-After": "3"})) == 3.0
    assert retry_after_seconds(httpx.Headers({})) is None
    assert retry_after_seconds(httpx.Headers({"Retry-After": "soon"})) is None
    now = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC)
    later = email.utils.format_datetime(now + dt.timedelta(seconds=7), usegmt=True)
    assert retry_after_seconds(httpx.Headers({"Retry-After": later}), now=now.timestamp) == pytest.approx(7.0)
    assert retry_after_seconds(httpx.Headers({"Retry-After": "-4"})) == 0.0


@pytest.fixture
def local_time_far_from_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local time zone set to UTC-10 (so a date read as local time is 10 hours off)."""
    monkeypatch.setenv("TZ", "Pacific/Honolulu")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


@pytest.mark.usefixtures("local_time_far_from_utc")
@pytest.mark.parametrize("zone", ["GMT", "+0000", "-0000", "UT"])
def test_a_retry_after_date_is_utc_however_the_zone_is_written(zone: str) -> None:
    assert time.localtime(0).tm_gmtoff == -10 * 3600  # the fixture took effect
    now = dt.datetime(2026, 1, 1, 12, 0, 0, tzinfo=dt.UTC)
    header = f"Thu, 01 Jan 2026 12:00:07 {zone}"  # RFC 5322: -0000 is UTC "with no zone information"
    assert retry_after_seconds(httpx.Headers({"Retry-After": header}), now=now.timestamp) == pytest.approx(
        7.0
    )


@pytest.mark.parametrize(
    ("body", "accepted", "error", "body_code"),
    [
        (b'{"status":"success","code":200}', True, None, None),
        (b'{"status": "success", "code": 200, "extra": 1}', True, None, None),
        (b'{"status": "success"}', True, None, None),
        (b'{"status": "Success", "code": "200"}', True, None, None),
        (
            b'{"status":"error","code":400,"message":"invalid lead"}',
            False,
            "HTTP 200, body code 400: invalid lead",
            400,
        ),
        (b'{"status":"error","code":503}', False, "HTTP 200, body code 503 (Service Unavailable)", 503),
        (b'{"status":"success","code":429}', False, "HTTP 200, body code 429 (Too Many Requests)", 429),
        (b'{"status":"error","message":"no"}', False, "HTTP 200, body status error: no", None),
        (b'{"status":"error","code":200}', False, "HTTP 200, body status error (code 200)", None),
        (b"", False, "HTTP 200: answer not understood (an empty body)", None),
        (b"  \n", False, "HTTP 200: answer not understood (an empty body)", None),
        (
            b"<!doctype html><html>Sign in</html>",
            False,
            "HTTP 200: answer not understood (an HTML page)",
            None,
        ),
        (b"[1, 2]", False, "HTTP 200: answer not understood (not the API's JSON)", None),
        (
            b'{"status": "success", "code": 2',
            False,
            "HTTP 200: answer not understood (not the API's JSON)",
            None,
        ),
        (
            b'{"status": "queued", "code": 200}',
            False,
            "HTTP 200: answer not understood (not the API's JSON)",
            None,
        ),
        (b'{"code": 200}', False, "HTTP 200: answer not understood (not the API's JSON)", None),
        (b'{"status": "success", "code": "ok"}', False, "HTTP 200: answer not understood", None),
        (b'{"status": "success", "code": true}', False, "HTTP 200: answer not understood", None),
    ],
)
def test_a_2xx_is_accepted_only_when_its_body_says_so(
    body: bytes, accepted: bool, error: str | None, body_code: int | None
) -> None:
    verdict = judge_2xx(200, body)
    if accepted:
        assert verdict == (None, None)
    else:
        assert verdict[0] is not None and verdict[0].startswith(str(error)), verdict
        assert verdict[1] == body_code


def _connection(handler) -> Publitrac:  # type: ignore[no-untyped-def]
    def route(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/auth/getToken"):
            return httpx.Response(200, json={"token": "T0KEN-secret!", "ttl": "900"})
        return handler(request)

    return Publitrac(
        api_key=KEY, base_url="http://127.0.0.1:9/v2", async_transport=httpx.MockTransport(route)
    )


BODY = LeadSyncRequest.from_dict({"leadInfo": {"email": "ana@exemple.fr"}})


@pytest.mark.parametrize(
    ("answer", "expected_code", "error_part", "retry_after"),
    [
        (httpx.Response(200, json={"status": "success", "code": 200}), 200, None, None),
        (
            httpx.Response(400, json={"status": "error", "code": 400, "message": "no email"}),
            400,
            "no email",
            None,
        ),
        (
            httpx.Response(
                429,
                json={"status": "error", "code": 429, "message": "slow down"},
                headers={"Retry-After": "2"},
            ),
            429,
            "slow down",
            2.0,
        ),
        (httpx.Response(502, content=b"<html><body>Bad gateway</body></html>"), 502, "HTTP 502", None),
        (httpx.Response(599, content=b"<html>?</html>"), 599, "HTTP 599", None),
        (httpx.Response(201, json={"status": "success"}), 201, None, None),
        (
            httpx.Response(299, content=b"ok"),
            299,
            "HTTP 299: answer not understood (not the API's JSON)",
            None,
        ),
    ],
)
async def test_post_lead_classifies_answers_without_losing_the_status(
    answer: httpx.Response, expected_code: int, error_part: str | None, retry_after: float | None
) -> None:
    pt = _connection(lambda request: answer)
    async with pt.async_client() as client:
        code, error, wait, _, timed_out = await post_lead(client, BODY, pt.redact)
    assert code == expected_code
    assert wait == retry_after
    assert not timed_out
    if error_part is None:
        assert error is None
    else:
        assert error is not None and error_part in error


async def test_post_lead_reports_transport_errors_and_redacts_secrets() -> None:
    def boom(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadError(f"peer reset while sending token {request.headers['token']}")

    pt = _connection(boom)
    async with pt.async_client() as client:
        code, error, *_ = await post_lead(client, BODY, pt.redact)
    assert code == TRANSPORT_ERROR
    assert error is not None and "ReadError" in error
    assert "T0KEN-secret!" not in error


async def test_server_error_text_is_redacted() -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        message = f"bad token {request.headers['token']}"
        return httpx.Response(403, json={"status": "error", "code": 403, "message": message})

    pt = _connection(echo)
    async with pt.async_client() as client:
        code, error, *_ = await post_lead(client, BODY, pt.redact)
    assert code == 403
    assert error == "HTTP 403: bad token ***"


async def test_lean_client_merges_the_base_url_once_and_ignores_cookies() -> None:
    seen: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(str(request.url))
        return httpx.Response(200, headers={"Set-Cookie": "session=abc"}, json={})

    async with LeanAsyncClient(
        base_url="http://127.0.0.1:9/v2", transport=httpx.MockTransport(handler)
    ) as http:
        first = await http.post("/lead/delayedSync", json={})
        await http.post("/lead/delayedSync", json={})
        await http.get("/auth/getToken")
        assert http._merge_url("/lead/delayedSync") is http._merge_url("/lead/delayedSync")  # cached
        assert first.request.url == "http://127.0.0.1:9/v2/lead/delayedSync"
        assert len(http.cookies) == 0
    assert seen == ["http://127.0.0.1:9/v2/lead/delayedSync"] * 2 + ["http://127.0.0.1:9/v2/auth/getToken"]


def test_blocking_client_uses_the_generated_functions() -> None:
    from publitrac_client.api.lead import delayed_sync
    from publitrac_client.models import SyncResponse

    def route(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/auth/getToken"):
            assert request.headers["authorization"] == KEY
            assert request.headers["accept"] == "application/json"
            return httpx.Response(200, json={"token": "T0KEN-secret!", "ttl": "900"})
        assert request.headers["token"] == "T0KEN-secret!"
        assert "authorization" not in request.headers
        return httpx.Response(200, json={"status": "success", "code": 200})

    with Publitrac(api_key=KEY, base_url="http://127.0.0.1:9/v2", transport=httpx.MockTransport(route)) as pt:
        answer = delayed_sync.sync(client=pt.client, body=BODY)
    assert isinstance(answer, SyncResponse) and answer.code == 200


@pytest.mark.parametrize(
    ("answer", "retryable", "code"),
    [
        (httpx.Response(200, json={"status": "error", "code": 400, "message": "invalid lead"}), False, 400),
        (httpx.Response(200, json={"status": "error", "code": 404, "message": "gone"}), False, 404),
        (httpx.Response(200, json={"status": "error", "code": 501, "message": "no"}), False, 501),
        (httpx.Response(200, json={"status": "error", "code": 503, "message": "busy"}), True, 503),
        (httpx.Response(200, json={"status": "error", "code": 429}, headers={"Retry-After": "3"}), True, 429),
        (httpx.Response(200, json={"status": "error", "code": 500, "message": "oops"}), True, 500),
        (httpx.Response(200, content=b"<html><body>Welcome</body></html>"), True, 200),
        (httpx.Response(200, content=b""), True, 200),
        (httpx.Response(200, json={"status": "success"}), False, 200),
    ],
)
async def test_a_2xx_with_an_error_body_is_classified_by_the_body_code(
    answer: httpx.Response, retryable: bool, code: int
) -> None:
    pt = _connection(lambda request: answer)
    async with pt.async_client() as client:
        outcome = await post_lead(client, BODY, pt.redact)
    assert outcome.status_code == 200  # the row's http_status stays the real one
    assert outcome.code == code
    assert outcome.retryable is retryable
    if code == 200 and retryable:
        assert outcome.error is not None and "answer not understood" in outcome.error
    elif code != 200:
        assert outcome.error is not None and outcome.error.startswith(f"HTTP 200, body code {code}")
    if code == 429:
        assert outcome.retry_after == 3.0


def test_an_accepted_answer_is_never_retried() -> None:
    outcome = LeadAnswer(200, None)
    assert outcome.code == 200 and not outcome.retryable


async def test_a_2xx_error_body_never_shows_the_token() -> None:
    def echo(request: httpx.Request) -> httpx.Response:
        message = f"bad token {request.headers['token']}"
        return httpx.Response(200, json={"status": "error", "code": 401, "message": message})

    pt = _connection(echo)
    async with pt.async_client() as client:
        outcome = await post_lead(client, BODY, pt.redact)
    assert outcome.error == "HTTP 200, body code 401: bad token ***"


async def test_a_timeout_is_no_answer_within_the_timeout() -> None:
    def slow(request: httpx.Request) -> httpx.Response:
        raise httpx.ReadTimeout("timed out")

    pt = Publitrac(
        api_key=KEY,
        base_url="http://127.0.0.1:9/v2",
        timeout=2.5,
        async_transport=httpx.MockTransport(
            lambda request: (
                httpx.Response(200, json={"token": "T", "ttl": "900"})
                if request.url.path.endswith("/auth/getToken")
                else slow(request)
            )
        ),
    )
    async with pt.async_client() as client:
        outcome = await post_lead(client, BODY, pt.redact)
    assert outcome == (TRANSPORT_ERROR, "no answer within 2.5 s", None, None, True)
    assert outcome.retryable


def test_timeouts_are_told_from_other_transport_errors() -> None:
    import aiohttp
    import httpcore

    def chained(outer: BaseException, cause: BaseException) -> BaseException:
        outer.__cause__ = cause
        return outer

    assert is_timeout(chained(httpx.ReadTimeout("t"), aiohttp.SocketTimeoutError("t")))
    assert is_timeout(chained(httpx.ReadTimeout("t"), httpcore.ReadTimeout("t")))
    assert is_timeout(asyncio.TimeoutError())
    # httpx_aiohttp maps a server that closed the connection to ConnectTimeout: that is no timeout.
    assert not is_timeout(chained(httpx.ConnectTimeout("t"), aiohttp.ServerDisconnectedError()))
    assert not is_timeout(httpx.ConnectError("refused"))
    connect = chained(httpx.ConnectTimeout("t"), aiohttp.ConnectionTimeoutError("t"))
    assert describe_exception(connect, timeout=3) == "no connection within 3 s"
    assert describe_exception(httpx.ReadTimeout("t")) == "no answer in time"


@pytest.mark.parametrize("timeout", [0, -1, float("inf"), float("nan"), "5", True])
def test_a_timeout_must_be_a_positive_number_of_seconds(timeout: object) -> None:
    with pytest.raises(ConfigurationError, match="timeout"):
        Publitrac(api_key=KEY, base_url="http://127.0.0.1:9/v2", timeout=timeout)  # type: ignore[arg-type]

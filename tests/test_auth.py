"""Unit tests of the token handling (`publitrac.connection._auth.TokenAuth`), driven through httpx.MockTransport.

A fake Publitrac (`FakeApi`) issues numbered tokens, can revoke them, and counts getToken calls. The clock is
injected: nothing sleeps.
"""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from publitrac import AuthenticationError, ConnectionFailed, Publitrac
from publitrac.connection._auth import ApiKeyAuth, Token, TokenAuth, parse_ttl
from publitrac._exceptions import ApiError

API_KEY = "k3y-SECRET-4242"
BASE_URL = "http://127.0.0.1:9/v2"


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class FakeApi:
    """getToken and delayedSync with revocable numbered tokens."""

    def __init__(self, *, ttl: str = "60", token_status: int = 200, token_body: bytes | None = None) -> None:
        self.ttl = ttl
        self.token_status = token_status
        self.token_body = token_body
        self.token_calls = 0
        self.valid: set[str] = set()
        self.sync_calls: list[tuple[str | None, dict]] = []
        self.slow_token = False

    def _token(self, request: httpx.Request) -> httpx.Response:
        self.token_calls += 1
        if request.headers.get("authorization") != API_KEY:
            return httpx.Response(401, json={"status": "error", "code": 401, "message": "API key refused"})
        if self.token_body is not None or self.token_status != 200:
            return httpx.Response(self.token_status, content=self.token_body or b"{}")
        token = f"tok{self.token_calls}!"
        self.valid.add(token)
        return httpx.Response(200, json={"token": token, "ttl": self.ttl})

    def _sync(self, request: httpx.Request) -> httpx.Response:
        token = request.headers.get("token")
        self.sync_calls.append((token, json.loads(request.content)))
        if token not in self.valid:
            return httpx.Response(401, json={"status": "error", "code": 401, "message": "Token expired"})
        return httpx.Response(200, json={"status": "success", "code": 200})

    def handle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/auth/getToken":
            return self._token(request)
        return self._sync(request)

    async def ahandle(self, request: httpx.Request) -> httpx.Response:
        if request.url.path == "/v2/auth/getToken" and self.slow_token:
            for _ in range(5):  # let every concurrent request reach the lock while this fetch is out
                await asyncio.sleep(0)
        return self.handle(request)

    def revoke_all(self) -> None:
        self.valid.clear()


def connect(api: FakeApi, clock: Clock | None = None, *, api_key: str = API_KEY) -> Publitrac:
    pt = Publitrac(
        api_key=api_key,
        base_url=BASE_URL,
        clock=clock or Clock(),
        refresh_margin=5.0,
        transport=httpx.MockTransport(api.handle),
        async_transport=httpx.MockTransport(api.ahandle),
    )

    async def no_wait(seconds: float) -> None:
        return None

    pt._retry_sleep = lambda seconds: None
    pt._retry_asleep = no_wait
    return pt


BODY = {"leadInfo": {"email": "ana@exemple.fr"}}


def post(pt: Publitrac) -> httpx.Response:
    return pt.client.get_httpx_client().post("/lead/delayedSync", json=BODY)


async def apost(pt: Publitrac) -> httpx.Response:
    async with pt.async_client() as client:
        return await client.get_async_httpx_client().post("/lead/delayedSync", json=BODY)


def test_token_is_fetched_lazily_once_and_reused() -> None:
    api = FakeApi()
    pt = connect(api)
    assert api.token_calls == 0
    assert post(pt).status_code == 200
    assert post(pt).status_code == 200
    assert api.token_calls == 1
    assert [token for token, _ in api.sync_calls] == ["tok1!", "tok1!"]


def test_ttl_slides_with_each_successful_call() -> None:
    api, clock = FakeApi(ttl="60"), Clock()
    pt = connect(api, clock)
    for _ in range(5):
        assert post(pt).status_code == 200
        clock.now += 50  # less than ttl - margin after the previous call, far more than ttl after the first
    assert api.token_calls == 1


def test_idle_token_is_replaced_before_the_call() -> None:
    api, clock = FakeApi(ttl="60"), Clock()
    pt = connect(api, clock)
    post(pt)
    clock.now += 56  # past ttl - margin (60 - 5): refresh first, no 401 round trip
    assert post(pt).status_code == 200
    assert api.token_calls == 2
    assert [token for token, _ in api.sync_calls] == ["tok1!", "tok2!"]


def test_margin_is_capped_for_short_ttls() -> None:
    api, clock = FakeApi(ttl="2"), Clock()
    pt = connect(api, clock)  # refresh_margin=5 would make a 2 s token useless; at most ttl/5 is used
    post(pt)
    clock.now += 1.5
    post(pt)
    assert api.token_calls == 1


def test_401_reauthenticates_once_and_replays_the_request() -> None:
    api = FakeApi()
    pt = connect(api)
    post(pt)
    api.revoke_all()
    response = post(pt)
    assert response.status_code == 200
    assert api.token_calls == 2
    assert [token for token, _ in api.sync_calls] == ["tok1!", "tok1!", "tok2!"]
    assert api.sync_calls[1][1] == api.sync_calls[2][1] == BODY  # the same body, replayed


def test_second_401_is_returned_not_retried_forever() -> None:
    api = FakeApi()
    pt = connect(api)
    post(pt)
    api.valid = _NeverValid()
    response = post(pt)
    assert response.status_code == 401
    assert api.token_calls == 2  # one re-authentication only
    assert len(api.sync_calls) == 3


class _NeverValid(set):
    def add(self, item: object) -> None:
        return None


async def test_async_flow_lazy_fetch_and_replay() -> None:
    api = FakeApi()
    pt = connect(api)
    assert (await apost(pt)).status_code == 200
    api.revoke_all()
    assert (await apost(pt)).status_code == 200
    assert api.token_calls == 2


async def test_concurrent_requests_on_an_expired_token_share_one_fetch() -> None:
    api, clock = FakeApi(ttl="60"), Clock()
    api.slow_token = True
    pt = connect(api, clock)
    async with pt.async_client() as client:
        http = client.get_async_httpx_client()
        answers = await asyncio.gather(*(http.post("/lead/delayedSync", json=BODY) for _ in range(50)))
        assert {a.status_code for a in answers} == {200}
        assert api.token_calls == 1  # lazy first fetch, shared by 50 requests
        clock.now += 3600  # idle: every request finds the token expired
        answers = await asyncio.gather(*(http.post("/lead/delayedSync", json=BODY) for _ in range(50)))
        assert {a.status_code for a in answers} == {200}
        assert api.token_calls == 2


async def test_concurrent_401s_share_one_reauthentication() -> None:
    api = FakeApi()
    api.slow_token = True
    pt = connect(api)
    async with pt.async_client() as client:
        http = client.get_async_httpx_client()
        await http.post("/lead/delayedSync", json=BODY)
        api.revoke_all()
        answers = await asyncio.gather(*(http.post("/lead/delayedSync", json=BODY) for _ in range(40)))
    assert {a.status_code for a in answers} == {200}
    assert api.token_calls == 2


def test_wrong_api_key_fails_fast_without_retries() -> None:
    api = FakeApi()
    pt = connect(api, api_key="wrong-key-SECRET")
    with pytest.raises(AuthenticationError) as caught:
        post(pt)
    assert caught.value.status_code == 401
    assert api.token_calls == 1
    assert api.sync_calls == []
    assert "wrong-key-SECRET" not in str(caught.value)


async def test_wrong_api_key_fails_fast_for_concurrent_requests() -> None:
    api = FakeApi()
    api.slow_token = True
    pt = connect(api, api_key="wrong-key-SECRET")
    async with pt.async_client() as client:
        http = client.get_async_httpx_client()
        results = await asyncio.gather(
            *(http.post("/lead/delayedSync", json=BODY) for _ in range(30)), return_exceptions=True
        )
    assert all(isinstance(r, AuthenticationError) for r in results)
    assert api.token_calls == 1  # the waiters reuse the failed fetch's error: no retry storm


async def test_transient_gettoken_failures_are_retried_within_one_fetch() -> None:
    api = FakeApi(token_status=503, token_body=b"<html>Service Unavailable</html>")
    api.slow_token = True
    pt = connect(api)
    async with pt.async_client() as client:
        http = client.get_async_httpx_client()
        results = await asyncio.gather(
            *(http.post("/lead/delayedSync", json=BODY) for _ in range(10)), return_exceptions=True
        )
    assert all(isinstance(r, ApiError) and r.status_code == 503 for r in results)
    assert api.token_calls == 4  # one fetch, its 4 attempts; the 9 waiters share its outcome
    assert pt.token_requests == 1


def test_unknown_status_and_html_body_keep_the_status_code() -> None:
    api = FakeApi(token_status=599, token_body=b"<html>oops</html>")
    pt = connect(api)
    with pytest.raises(ApiError) as caught:
        post(pt)
    assert caught.value.status_code == 599


def test_unusable_ttl_is_an_api_error() -> None:
    api = FakeApi(ttl="soon")
    pt = connect(api)
    with pytest.raises(ApiError, match="ttl"):
        post(pt)


def test_unreachable_host_is_connection_failed() -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused")

    pt = Publitrac(api_key=API_KEY, base_url=BASE_URL, transport=httpx.MockTransport(refuse))
    pt._retry_sleep = lambda seconds: None
    with pytest.raises(ConnectionFailed, match="127.0.0.1"):
        post(pt)


def test_parse_ttl() -> None:
    assert parse_ttl("900") == 900.0
    assert parse_ttl(" 15 ") == 15.0
    for bad in ("", "0", "-5", "1.5", "abc"):
        with pytest.raises(ValueError):
            parse_ttl(bad)


def test_auth_objects_never_show_secrets() -> None:
    api = FakeApi()
    pt = connect(api)
    post(pt)
    token = "tok1!"
    shown = " ".join(
        [
            repr(pt),
            repr(pt.auth),
            repr(pt.client),
            str(pt.client),
            repr(Token(token, 9.0)),
            repr(ApiKeyAuth(API_KEY)),
        ]
    )
    assert API_KEY not in shown
    assert token not in shown
    assert pt.redact(f"key {API_KEY} token {token}") == "key *** token ***"


def test_tokenauth_without_a_source_says_so() -> None:
    auth = TokenAuth(None, None)
    flow = auth.sync_auth_flow(httpx.Request("POST", "http://127.0.0.1/v2/lead/delayedSync"))
    with pytest.raises(RuntimeError, match="no blocking token source"):
        next(flow)


@pytest.mark.parametrize(
    ("body", "error", "calls"),
    [
        # A body that reports a final error: the fetch stops at once, with the body's message.
        (b'{"status":"error","code":400,"message":"bad request"}', ApiError, 1),
        (b'{"status":"error","code":403,"message":"account locked"}', ApiError, 1),
        # A body that says the key was refused, whatever the HTTP status.
        (b'{"status":"error","code":401,"message":"API key refused"}', AuthenticationError, 1),
        # Transient body codes and answers not understood are tried again, within the fetch's budget.
        (b'{"status":"error","code":503,"message":"busy"}', ApiError, 4),
        (b'{"status":"error","code":429}', ApiError, 4),
        (b"<html><body>Sign in to the proxy</body></html>", ApiError, 4),
        (b" ", ApiError, 4),
    ],
)
def test_a_200_from_gettoken_with_an_error_body_is_never_a_token(
    body: bytes, error: type[Exception], calls: int
) -> None:
    api = FakeApi(token_body=body)
    pt = connect(api)
    with pytest.raises(error) as caught:
        post(pt)
    assert type(caught.value) is error
    assert api.token_calls == calls
    assert api.sync_calls == []
    assert getattr(caught.value, "status_code", None) == 200
    expected = "body code" if body.startswith(b"{") else "answer not understood"
    assert expected in str(caught.value)


def test_a_200_without_a_token_is_final() -> None:
    api = FakeApi(token_body=b'{"status": "success", "code": 200}')
    pt = connect(api)
    with pytest.raises(ApiError, match="without a usable token"):
        post(pt)
    assert api.token_calls == 1


def test_gettoken_that_never_answers_stops_after_two_tries() -> None:
    calls = []

    def hang(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ReadTimeout("timed out")

    pt = Publitrac(api_key=API_KEY, base_url=BASE_URL, timeout=1.5, transport=httpx.MockTransport(hang))
    pt._retry_sleep = lambda seconds: None
    with pytest.raises(ConnectionFailed) as caught:
        post(pt)
    assert str(caught.value) == (
        f"No answer within 1.5 s from {BASE_URL} (getToken, 2 tries): the server takes connections but does "
        "not answer."
    )
    assert len(calls) == 2

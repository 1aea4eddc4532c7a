"""Token handling: one `httpx.Auth` that puts a valid token in the `Token` header of every request.

The Publitrac token has a *sliding* time to live: it stays valid until `ttl` seconds after the last call made
with it. `TokenAuth` therefore

- fetches a token lazily, on the first request;
- remembers when the token was last used successfully and fetches a new one *before* a request when the token
  has been idle longer than its TTL minus a safety margin;
- on a 401, re-authenticates once and replays the request once;
- lets many concurrent requests that find the token expired share one `getToken` (a threading lock for the
  blocking flow, one asyncio lock per event loop for the async flow);
- never shows a token or the API key in a repr, a log record or an exception message.

How a token is obtained is not this module's business: `TokenAuth` is given two callables (blocking and async)
that return a `Token`; `publitrac.connection._client` builds them on the generated client's `getToken`.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from dataclasses import dataclass

import httpx

from .._exceptions import PublitracError

logger = logging.getLogger("publitrac")

TOKEN_HEADER = "Token"
REDACTED = "***"


@dataclass(frozen=True, slots=True)
class Token:
    """A token and its sliding time to live in seconds.

    Args:
        value: the opaque token (never printed: see `__repr__`).
        ttl: seconds the token stays valid after the last call made with it.

    Example:
        >>> Token("djs4fdn4dJTer489!", 900.0)
        Token(value='***', ttl=900.0)
    """

    value: str
    ttl: float

    def __repr__(self) -> str:
        return f"Token(value={REDACTED!r}, ttl={self.ttl!r})"


def parse_ttl(ttl: str) -> float:
    """Seconds from the `ttl` string of a getToken answer (`"900"`).

    Args:
        ttl: the `ttl` field as sent by the API: a string of digits.

    Returns:
        The TTL in seconds.

    Raises:
        ValueError: when `ttl` is not a string of digits, or is zero.

    Example:
        >>> parse_ttl("900")
        900.0
    """
    text = str(ttl).strip()
    if not text.isdigit() or int(text) <= 0:
        raise ValueError(f"ttl is not a positive number of seconds: {text[:20]!r}")
    return float(int(text))


class _Held:
    """The current token and the clock time of its last successful use (mutable, for the hot path)."""

    __slots__ = ("last_used", "token")

    def __init__(self, token: Token, last_used: float) -> None:
        self.token = token
        self.last_used = last_used


class TokenAuth(httpx.Auth):
    """Adds a valid `Token` header to each request; fetches, refreshes and re-authenticates as needed.

    Args:
        fetch: blocking callable returning a new Token (used by `sync_auth_flow`).
        afetch: async callable returning a new Token (used by `async_auth_flow`).
        clock: monotonic clock in seconds; injectable so that tests need not sleep.
        refresh_margin: a token idle for longer than `ttl - margin` is replaced before the next request; the
            margin used is at most a fifth of the TTL, so that short TTLs stay usable.
        failure_hold: seconds during which a failed fetch's error is given to new requests without fetching
            again, so that a refused API key or a getToken outage does not become a storm of getToken calls.

    Raises:
        Whatever `fetch`/`afetch` raise (an AuthenticationError for a refused API key) propagates out of the
        request that needed the token. A fetch that fails is shared: requests that were waiting for it get the
        same error instead of each trying again.

    Example (not run by the doctests: `...` stands for a request to a server):
        >>> auth = TokenAuth(fetch=lambda: Token("t0k!", 900.0), afetch=None)  # doctest: +SKIP
        >>> httpx.Client(auth=auth).post(...)                                   # doctest: +SKIP
    """

    requires_request_body = False
    requires_response_body = False

    def __init__(
        self,
        fetch: Callable[[], Token] | None,
        afetch: Callable[[], Awaitable[Token]] | None,
        *,
        clock: Callable[[], float] = time.monotonic,
        refresh_margin: float = 30.0,
        failure_hold: float = 5.0,
    ) -> None:
        self._fetch = fetch
        self._afetch = afetch
        self._clock = clock
        self._refresh_margin = refresh_margin
        self._held: _Held | None = None
        # Counts fetch attempts (successful or not): a waiter that sees it change knows a fetch happened
        # while it waited, and reuses its outcome rather than fetching again.
        self._epoch = 0
        self._error: PublitracError | None = None
        self._error_at = 0.0
        self._failure_hold = failure_hold
        self._thread_lock = threading.Lock()
        self._async_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        self.fetch_count = 0

    def __repr__(self) -> str:
        state = "no token yet" if self._held is None else f"token {REDACTED}, ttl {self._held.token.ttl:g} s"
        return f"<TokenAuth ({state})>"

    # -- state ---------------------------------------------------------------------------------------------

    def _usable(self) -> str | None:
        """The current token if it may still be used now, else None."""
        held = self._held
        if held is None:
            return None
        ttl = held.token.ttl
        if self._clock() - held.last_used >= ttl - min(self._refresh_margin, ttl / 5):
            return None
        return held.token.value

    def _reuse(self, unusable: str | None, seen_epoch: int) -> str | None:
        """After the wait for the lock: a token fetched meanwhile, or the error of a fetch that failed."""
        value = self._usable()
        if value is not None and value != unusable:
            return value
        if self._error is not None and (
            self._epoch != seen_epoch or self._clock() - self._error_at < self._failure_hold
        ):
            raise self._error
        return None

    def _failed(self, error: PublitracError) -> None:
        self._error = error
        self._error_at = self._clock()
        logger.debug("getToken failed: %s", error)

    def _store(self, token: Token, asked_at: float, reason: str) -> str:
        self._held = _Held(token, asked_at)
        self._error = None
        logger.debug("new token (%s), ttl %g s", reason, token.ttl)
        return token.value

    def _reason(self, unusable: str | None) -> str:
        if self._held is None:
            return "first use"
        return "refused with 401" if unusable is not None else "idle past its ttl"

    def _touch(self, value: str, sent_at: float) -> None:
        """Slide the TTL: the token was used successfully by a request sent at `sent_at`."""
        held = self._held
        if held is not None and held.token.value == value and sent_at > held.last_used:
            held.last_used = sent_at

    def invalidate(self) -> None:
        """Forget the current token, so that the next request fetches a new one."""
        self._held = None

    def redact(self, text: str) -> str:
        """`text` with the current token replaced by `***` (for error messages built from server answers)."""
        held = self._held
        if held is not None and held.token.value and held.token.value in text:
            text = text.replace(held.token.value, REDACTED)
        return text

    # -- blocking flow -------------------------------------------------------------------------------------

    def _refresh(self, unusable: str | None) -> str:
        if self._fetch is None:
            raise RuntimeError("TokenAuth has no blocking token source")
        seen = self._epoch
        with self._thread_lock:
            value = self._reuse(unusable, seen)
            if value is not None:
                return value
            self._epoch += 1
            self.fetch_count += 1
            asked_at, reason = self._clock(), self._reason(unusable)
            try:
                token = self._fetch()
            except PublitracError as exc:
                self._failed(exc)
                raise
            return self._store(token, asked_at, reason)

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        value = self._usable() or self._refresh(None)
        request.headers[TOKEN_HEADER] = value
        sent_at = self._clock()
        response = yield request
        if response.status_code == 401:
            value = self._refresh(value)
            request.headers[TOKEN_HEADER] = value
            sent_at = self._clock()
            response = yield request
        if response.status_code != 401:
            self._touch(value, sent_at)

    # -- async flow ----------------------------------------------------------------------------------------

    def _async_lock(self) -> asyncio.Lock:
        # An asyncio.Lock binds to the loop it first waits on; each blocking sync() runs in its own loop.
        loop = asyncio.get_running_loop()
        lock = self._async_locks.get(loop)
        if lock is None:
            lock = self._async_locks[loop] = asyncio.Lock()
        return lock

    async def _arefresh(self, unusable: str | None) -> str:
        if self._afetch is None:
            raise RuntimeError("TokenAuth has no async token source")
        seen = self._epoch
        async with self._async_lock():
            value = self._reuse(unusable, seen)
            if value is not None:
                return value
            self._epoch += 1
            self.fetch_count += 1
            asked_at, reason = self._clock(), self._reason(unusable)
            try:
                token = await self._afetch()
            except PublitracError as exc:
                self._failed(exc)
                raise
            return self._store(token, asked_at, reason)

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        value = self._usable() or await self._arefresh(None)
        request.headers[TOKEN_HEADER] = value
        sent_at = self._clock()
        response = yield request
        if response.status_code == 401:
            value = await self._arefresh(value)
            request.headers[TOKEN_HEADER] = value
            sent_at = self._clock()
            response = yield request
        if response.status_code != 401:
            self._touch(value, sent_at)


class ApiKeyAuth(httpx.Auth):
    """Sends the API key raw in the `Authorization` header (getToken only), and never shows it.

    Args:
        api_key: the API key.

    Example:
        >>> ApiKeyAuth("s3cret")
        <ApiKeyAuth ***>
    """

    def __init__(self, api_key: str) -> None:
        self._api_key = api_key

    def __repr__(self) -> str:
        return f"<ApiKeyAuth {REDACTED}>"

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._api_key
        yield request

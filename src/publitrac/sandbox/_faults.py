"""Fault injection on the API paths: latency, 429s, 5xx (some as HTML proxy pages), dropped connections, calls
never answered, HTTP 200s that do not accept the lead (an error body, an HTML page, an empty body), token
revocation and a rate limit. Faults never touch the `/_sandbox/*` inspection endpoints.

Every request to an API path takes, in order: a call count; a revocation of all tokens on every `revoke_every`-th
call; a rate-limit check; two draws from `random.Random(seed)` (so that the same seed and the same sequence of calls
give the same faults, whatever the outcome); the latency; then, from the first draw, a dropped connection, a 429, a
5xx, a hang, a 200 with an error body, a 200 with a body that is not the API's JSON, or nothing. The two kinds of
200 apply to `delayedSync` only (a getToken draw in their range answers normally).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ._responses import AsciiJSONResponse, error_response
from ._stats import SandboxStats
from ._tokens import TokenRegistry


class ConnectionDropped(RuntimeError):
    """Raised in place of a dropped connection when the server gives no access to its transport."""


@dataclass(frozen=True, kw_only=True)
class FaultSettings:
    """What can go wrong, and how often.

    Args:
        latency_ms: Milliseconds added to every API call.
        error_429: Probability of a 429 with `Retry-After`.
        error_5xx: Probability of a 500, 502, 503 or 504 (the 502 and 504 as an HTML page, as a proxy sends).
        drop: Probability of a connection closed without any response.
        hang: Probability of a call never answered: the sandbox holds it until the client gives up (or the
            sandbox stops, closing it unanswered).
        error_200: Probability that `delayedSync` answers HTTP 200 with an error body and does not take the
            lead: `{"status": "error", "code": C, "message": ...}`, C drawn from 400 (final), 429 and 503
            (worth another try) in equal shares.
        junk_200: Probability that `delayedSync` answers HTTP 200 with a body that is not the API's JSON and
            does not take the lead: an HTML page or an empty body, in equal shares.
        revoke_every: Revoke every token on every N-th API call (`None`: never).
        rate_limit: Requests per second admitted (a token bucket); excess calls get a 429 with `Retry-After`
            (`None`: no limit).
        burst: The token bucket's size: the calls admitted at once after an idle spell (`None`: one second's
            worth, `rate_limit`, at least 1).
        retry_after: The `Retry-After` value, in whole seconds, of every 429 (0 suits fast tests).
        seed: Seed of the fault draws (`None`: unpredictable).

    Raises:
        ValueError: If a probability is outside [0, 1], the probabilities add up to more than 1, or a count or rate
            is not positive.

    Example:
        >>> FaultSettings(error_429=0.05, drop=0.01).any_random
        True
    """

    latency_ms: float = 0.0
    error_429: float = 0.0
    error_5xx: float = 0.0
    drop: float = 0.0
    hang: float = 0.0
    error_200: float = 0.0
    junk_200: float = 0.0
    revoke_every: int | None = None
    rate_limit: float | None = None
    burst: float | None = None
    retry_after: int = 1
    seed: int | None = 0

    def __post_init__(self) -> None:
        for name in _PROBABILITIES:
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"{name} must be a probability between 0 and 1, got {value!r}")
        if sum(getattr(self, name) for name in _PROBABILITIES) > 1.0 + 1e-9:
            raise ValueError(" + ".join(_PROBABILITIES) + " must not exceed 1")
        if self.latency_ms < 0:
            raise ValueError("latency_ms cannot be negative")
        if self.revoke_every is not None and self.revoke_every < 1:
            raise ValueError("revoke_every must be at least 1")
        if self.rate_limit is not None and not 0 < self.rate_limit < float("inf"):
            raise ValueError("rate_limit must be positive")
        if self.burst is not None:
            if self.rate_limit is None:
                raise ValueError("burst needs rate_limit: it is the size of the rate limit's bucket")
            if not 1 <= self.burst < float("inf"):
                raise ValueError("burst must be at least 1 call")
        if self.retry_after < 0:
            raise ValueError("retry_after cannot be negative")

    @property
    def any_random(self) -> bool:
        """Whether any probabilistic fault is enabled."""
        return any(getattr(self, name) > 0 for name in _PROBABILITIES)


# The probabilistic faults, in the order in which the first draw of a call picks them.
_PROBABILITIES = ("drop", "error_429", "error_5xx", "hang", "error_200", "junk_200")


class RateLimiter:
    """A token bucket: `rate` calls a second, bursts of up to `burst` calls (default: one second's worth).

    Args:
        rate: Calls admitted per second.
        clock: A callable returning monotonic seconds.
        burst: The bucket's size, at least 1 (`None`: `rate`, at least 1). It starts full.

    Example:
        >>> from publitrac.sandbox import ManualClock
        >>> clock = ManualClock()
        >>> limiter = RateLimiter(2, clock)
        >>> [limiter.admit() for _ in range(3)]
        [True, True, False]
        >>> clock.advance(0.5); limiter.admit()
        True
    """

    def __init__(self, rate: float, clock: Callable[[], float], burst: float | None = None) -> None:
        self.rate = rate
        self.capacity = max(1.0, rate) if burst is None else float(burst)
        self._clock = clock
        self._tokens = self.capacity
        self._last = clock()

    def admit(self) -> bool:
        """Take one slot if there is one."""
        now = self._clock()
        self._tokens = min(self.capacity, self._tokens + (now - self._last) * self.rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


_PROXY_PAGE = (
    "<html>\r\n<head><title>{status} {reason}</title></head>\r\n<body>\r\n"
    "<center><h1>{status} {reason}</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n"
)
# (status, reason, answered by a proxy as HTML rather than by the service as JSON)
_SERVER_ERRORS = (
    (500, "Internal Server Error", False),
    (502, "Bad Gateway", True),
    (503, "Service Unavailable", False),
    (504, "Gateway Timeout", True),
)


# Codes of the error bodies of `error_200`: one final for the lead, two worth another try.
_BODY_ERRORS = (
    (400, "Invalid lead"),
    (429, "Too many requests"),
    (503, "Service unavailable"),
)
_WELCOME_PAGE = (
    "<!DOCTYPE html>\n<html><head><title>Welcome</title></head>\n"
    "<body><h1>Welcome</h1><p>Please sign in to continue.</p></body></html>\n"
)


def server_error(status: int, reason: str, html: bool) -> Response:
    """A 5xx as the service (JSON `ErrorResponse`) or a proxy in front of it (an HTML page) would send it."""
    if html:
        return Response(
            _PROXY_PAGE.format(status=status, reason=reason), status_code=status, media_type="text/html"
        )
    return error_response(status, f"{reason} (injected by the sandbox).")


class FaultInjector:
    """ASGI middleware that injects faults into API calls and counts their responses.

    Args:
        app: The application behind it.
        settings: Which faults, how often.
        operations: API path to operationId (e.g. `/v2/auth/getToken` to `getToken`); other paths pass untouched.
        tokens: The registry that `revoke_every` empties.
        stats: Counters to update.
        clock: A callable returning monotonic seconds, for the rate limit.
    """

    def __init__(
        self,
        app: ASGIApp,
        *,
        settings: FaultSettings,
        operations: Mapping[str, str],
        tokens: TokenRegistry,
        stats: SandboxStats,
        clock: Callable[[], float],
    ) -> None:
        self.app = app
        self.settings = settings
        self.operations = dict(operations)
        self.tokens = tokens
        self.stats = stats
        self._random = random.Random(settings.seed)
        self._limiter = (
            RateLimiter(settings.rate_limit, clock, settings.burst) if settings.rate_limit else None
        )
        self._calls = 0
        self._released = asyncio.Event()

    def release_held(self) -> None:
        """Hang up on every call held by `hang` (the server is stopping): each connection closes unanswered.

        Call it on the server's event loop; calls that hang later are released at once.
        """
        self._released.set()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        operation = self.operations.get(scope["path"]) if scope["type"] == "http" else None
        if operation is None:
            await self.app(scope, receive, send)
            return
        self.stats.calls[operation] += 1
        response = self._decide(operation)
        if self.settings.latency_ms:
            await asyncio.sleep(self.settings.latency_ms / 1000)
        if response == "drop":
            await self._drop(send)
            return
        if response == "hang":
            await self._hang(receive, send)
            return
        assert not isinstance(response, str)
        counted = self._counting(send)
        if response is not None:
            await response(scope, receive, counted)
            return
        await self.app(scope, receive, counted)

    def _decide(self, operation: str) -> Response | str | None:
        settings = self.settings
        self._calls += 1
        if settings.revoke_every and self._calls % settings.revoke_every == 0:
            self.tokens.revoke_all()
            self.stats.faults["revoke"] += 1
        # Drawn on every call, whatever happens next, so a seed always yields the same sequence.
        draw, pick = self._random.random(), self._random.randrange(len(_SERVER_ERRORS))
        if self._limiter is not None and not self._limiter.admit():
            self.stats.faults["rate_limit"] += 1
            return self._too_many("Too many requests: rate limit exceeded.")
        if draw < settings.drop:
            self.stats.faults["drop"] += 1
            return "drop"
        draw -= settings.drop
        if draw < settings.error_429:
            self.stats.faults["429"] += 1
            return self._too_many("Too many requests (injected by the sandbox).")
        draw -= settings.error_429
        if draw < settings.error_5xx:
            status, reason, html = _SERVER_ERRORS[pick]
            self.stats.faults[str(status)] += 1
            return server_error(status, reason, html)
        draw -= settings.error_5xx
        if draw < settings.hang:
            self.stats.faults["hang"] += 1
            return "hang"
        draw -= settings.hang
        if operation != "delayedSync":
            return None
        if draw < settings.error_200:
            # Where the draw falls within the fault's share picks the code: no extra draw, same sequence.
            share = min(int(draw / settings.error_200 * len(_BODY_ERRORS)), len(_BODY_ERRORS) - 1)
            code, message = _BODY_ERRORS[share]
            self.stats.faults[f"200error:{code}"] += 1
            headers = {"Retry-After": str(settings.retry_after)} if code == 429 else None
            return AsciiJSONResponse(
                {"status": "error", "code": code, "message": f"{message} (injected by the sandbox)."},
                headers=headers,
            )
        draw -= settings.error_200
        if draw < settings.junk_200:
            if draw / settings.junk_200 < 0.5:
                self.stats.faults["200html"] += 1
                return Response(_WELCOME_PAGE, media_type="text/html")
            self.stats.faults["200empty"] += 1
            return Response(b"", media_type="application/json")
        return None

    def _too_many(self, message: str) -> Response:
        return error_response(429, message, headers={"Retry-After": str(self.settings.retry_after)})

    def _counting(self, send: Send) -> Send:
        stats = self.stats

        async def counted(message: Message) -> None:
            if message["type"] == "http.response.start":
                stats.responses[message["status"]] += 1
            await send(message)

        return counted

    async def _hang(self, receive: Receive, send: Send) -> None:
        # Never answers: waits until the client gives up and closes the connection (uvicorn then says
        # `http.disconnect`), as a server does that takes connections and is stuck behind them. A stopping
        # sandbox hangs up instead of holding its shutdown until uvicorn cancels the call.
        async def disconnected() -> None:
            while (await receive())["type"] != "http.disconnect":
                pass

        waits = [asyncio.ensure_future(disconnected()), asyncio.ensure_future(self._released.wait())]
        try:
            done, _ = await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for wait in waits:
                wait.cancel()
        if waits[0] not in done:
            await self._drop(send)

    @staticmethod
    async def _drop(send: Send) -> None:
        # ASGI has no message for "close without answering". Under uvicorn (h11 or httptools), `send` is a method
        # of the request cycle, which holds the connection's transport: closing it sends a FIN and no response,
        # and a client sees the connection end (httpx raises RemoteProtocolError).
        cycle: Any = getattr(send, "__self__", None)
        transport = getattr(cycle, "transport", None)
        if transport is None or not hasattr(transport, "close"):
            raise ConnectionDropped("connection dropped (fault injected by the sandbox)")
        transport.close()
        # uvicorn learns of the closed connection on a later turn of the loop; until it does, returning without a
        # response would make it try to send a 500.
        for _ in range(100):
            if getattr(cycle, "disconnected", True):
                return
            await asyncio.sleep(0)

"""The sandbox as an ASGI application: the Publitrac API v2 as `openapi.yaml` describes it, plus read-only
inspection endpoints under `/_sandbox/`.

API (under `/v2`, from the spec): `GET /v2/auth/getToken` and `POST /v2/lead/delayedSync`, with the assumed error
behaviour of the spec: 400 (body not JSON, or not matching `LeadSyncRequest`), 401 (wrong API key; missing, unknown
or expired token), 405 with `Allow`, 429 with `Retry-After`, 5xx. Unknown paths answer 404. Every error the sandbox
itself answers is the spec's `ErrorResponse` JSON.

Inspection (never faulted, never counted as API calls):

* `GET /_sandbox/leads`: every stored lead, a JSON list of `{"email", "leadInfo", "leadCustomField", "syncs"}`;
* `GET /_sandbox/leads/{email}`: one lead (404 if unknown);
* `GET /_sandbox/stats`: counters (see `SandboxStats.snapshot`);
* `GET /_sandbox/wait?timeout=10`: answers once no accepted lead is pending (`{"idle": true, ...}`), or after
  `timeout` seconds (`{"idle": false, ...}`).
"""

from __future__ import annotations

import contextlib
import json
import math
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from ._applier import DelayedApplier
from ._contract import Operation, first_error, operations
from ._faults import FaultInjector, FaultSettings
from ._responses import AsciiJSONResponse, error_response
from ._stats import SandboxStats
from ._store import LeadStore, email_key
from ._tokens import DEFAULT_API_KEY, ApiKeys, TokenRegistry

# Far above any single lead; keeps a runaway client from filling memory.
_MAX_BODY = 1024 * 1024
_MAX_WAIT = 600.0
_ACCEPTED = b'{"status":"success","code":200}'

__all__ = ["DEFAULT_API_KEY", "SandboxApp", "create_app"]

Handler = Callable[[Request], Awaitable[Response]]


class SandboxApp:
    """The sandbox application: call it as an ASGI app; its parts are attributes for in-process use.

    Build it with `create_app`. Attributes: `stats` (`SandboxStats`), `store` (`LeadStore`), `tokens`
    (`TokenRegistry`), `applier` (`DelayedApplier`), `faults` (`FaultSettings`), `ttl`.
    """

    def __init__(
        self,
        *,
        api_keys: ApiKeys,
        tokens: TokenRegistry,
        store: LeadStore,
        applier: DelayedApplier,
        stats: SandboxStats,
        faults: FaultSettings,
        clock: Callable[[], float],
    ) -> None:
        self.api_keys = api_keys
        self.tokens = tokens
        self.store = store
        self.applier = applier
        self.stats = stats
        self.faults = faults
        self.ttl = tokens.ttl
        ops = operations()
        handlers: dict[str, Handler] = {"getToken": self._get_token, "delayedSync": self._delayed_sync}
        missing = set(ops) - set(handlers)
        if missing:
            raise RuntimeError(f"the sandbox does not implement {sorted(missing)} from openapi.yaml")
        routes = [Route(op.path, _Operation(op, handlers[op.operation_id])) for op in ops.values()]
        routes += [
            Route("/_sandbox/leads", self._leads, methods=["GET"]),
            Route("/_sandbox/leads/{email:path}", self._lead, methods=["GET"]),
            Route("/_sandbox/stats", self._stats, methods=["GET"]),
            Route("/_sandbox/wait", self._wait, methods=["GET"]),
        ]
        starlette = Starlette(
            routes=routes,
            exception_handlers={HTTPException: _http_error, Exception: _internal_error},
            lifespan=self._lifespan,
        )
        self._asgi = FaultInjector(
            starlette,
            settings=faults,
            operations={op.path: op.operation_id for op in ops.values()},
            tokens=tokens,
            stats=stats,
            clock=clock,
        )
        self._operations = ops

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._asgi(scope, receive, send)

    def __repr__(self) -> str:
        return f"<SandboxApp ttl={self.ttl} store={self.store!r} faults={self.faults!r}>"

    def release_held(self) -> None:
        """Close, unanswered, every call held by the `hang` fault (the server is stopping)."""
        self._asgi.release_held()

    @contextlib.asynccontextmanager
    async def _lifespan(self, _: Starlette) -> AsyncIterator[None]:
        try:
            yield
        finally:
            # Leads accepted before a shutdown still reach the store (and a file database keeps them).
            await self.applier.aclose()
            self.store.close()

    async def _get_token(self, request: Request) -> Response:
        if not self.api_keys.accepts(request.headers.get(self._operations["getToken"].auth_header)):
            return error_response(401, "API key missing or wrong.")
        token = self.tokens.issue()
        self.stats.tokens_issued += 1
        return AsciiJSONResponse(
            {"token": token, "ttl": str(self.ttl)}, headers={"Cache-Control": "no-store"}
        )

    async def _delayed_sync(self, request: Request) -> Response:
        operation = self._operations["delayedSync"]
        if not self.tokens.use(request.headers.get(operation.auth_header)):
            return error_response(401, "Token missing, unknown or expired.")
        body = await request.body()
        if len(body) > _MAX_BODY:
            return error_response(400, f"body: larger than {_MAX_BODY} bytes.")
        try:
            data = json.loads(body, parse_constant=_reject_constant)
        except (ValueError, RecursionError):
            return error_response(400, "body: not valid JSON.")
        assert operation.body_schema is not None
        problem = first_error(operation.body_schema, data)
        if problem is not None:
            return error_response(400, problem)
        info = data["leadInfo"]
        self.applier.accept((email_key(info["email"]), info, data.get("leadCustomField", {})))
        return Response(_ACCEPTED, media_type="application/json")

    async def _leads(self, request: Request) -> Response:
        return AsciiJSONResponse(self.store.all())

    async def _lead(self, request: Request) -> Response:
        lead = self.store.get(request.path_params["email"])
        if lead is None:
            return error_response(404, "No lead with this email.")
        return AsciiJSONResponse(lead)

    async def _stats(self, request: Request) -> Response:
        snapshot = self.stats.snapshot(leads_stored=self.store.count())
        snapshot["tokens_live"] = len(self.tokens)
        return AsciiJSONResponse(snapshot)

    async def _wait(self, request: Request) -> Response:
        try:
            timeout = float(request.query_params.get("timeout", "10"))
        except ValueError:
            return error_response(400, "timeout: not a number.")
        if not 0 <= timeout <= _MAX_WAIT:
            return error_response(400, f"timeout: between 0 and {_MAX_WAIT:g} seconds.")
        idle = await self.applier.wait_idle(timeout)
        return AsciiJSONResponse({"idle": idle, "pending": self.stats.pending, "applied": self.stats.applied})


class _Operation:
    """One API path: the spec's method goes to its handler, any other gets a 405 with `Allow`."""

    def __init__(self, operation: Operation, handler: Handler) -> None:
        self.operation = operation
        self.handler = handler

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] != self.operation.method:
            response: Response = error_response(
                405,
                f"Method not allowed; {self.operation.path} accepts {self.operation.method}.",
                headers={"Allow": self.operation.method},
            )
        else:
            try:
                response = await self.handler(Request(scope, receive))
            except ClientDisconnect:
                # The client went away mid-request (a Ctrl-C'd run, a timeout): nobody to answer, nothing to
                # log. uvicorn sends nothing for an app that returns after a disconnect.
                return
        await response(scope, receive, send)


def create_app(
    *,
    api_key: str | Sequence[str] = DEFAULT_API_KEY,
    ttl: int = 900,
    latency_ms: float = 0.0,
    error_429: float = 0.0,
    error_5xx: float = 0.0,
    drop: float = 0.0,
    hang: float = 0.0,
    error_200: float = 0.0,
    junk_200: float = 0.0,
    revoke_every: int | None = None,
    rate_limit: float | None = None,
    burst: float | None = None,
    retry_after: int = 1,
    apply_delay: float = 0.05,
    db_path: str | None = None,
    seed: int | None = 0,
    clock: Callable[[], float] = time.monotonic,
) -> SandboxApp:
    """Build the sandbox ASGI application (serve it with uvicorn, or use `run_sandbox`).

    Args:
        api_key: The API key, or several, that `getToken` accepts.
        ttl: Token time to live in seconds, sliding with every call made with the token.
        latency_ms: Milliseconds added to every API call.
        error_429: Probability of an injected 429 (with `Retry-After`).
        error_5xx: Probability of an injected 500/502/503/504 (502 and 504 as an HTML proxy page).
        drop: Probability of a connection closed without a response.
        hang: Probability of a call never answered (held until the client gives up).
        error_200: Probability that `delayedSync` answers HTTP 200 with an error body and does not take the
            lead (body code 400, 429 or 503, in equal shares).
        junk_200: Probability that `delayedSync` answers HTTP 200 with an HTML page or an empty body and does
            not take the lead.
        revoke_every: Revoke all tokens on every N-th API call (`None`: never).
        rate_limit: API calls admitted per second, a token bucket; excess calls get a 429 (`None`: unlimited).
        burst: The bucket's size, the calls admitted at once after an idle spell (`None`: one second's worth).
        retry_after: Whole seconds in the `Retry-After` header of every 429 (0 for fast tests).
        apply_delay: Seconds between accepting a lead and applying it to the store.
        db_path: SQLite file for the leads (kept across restarts); `None` keeps them in memory.
        seed: Seed of the fault draws: the same seed and calls give the same faults (`None`: unpredictable).
        clock: Monotonic seconds for the token TTL and the rate limit (a `ManualClock` in tests).

    Returns:
        The application.

    Raises:
        ValueError: If a setting is out of range (a probability outside [0, 1], a negative delay, ...).

    Example:
        >>> import httpx, asyncio
        >>> async def demo():
        ...     transport = httpx.ASGITransport(app=create_app())
        ...     async with httpx.AsyncClient(transport=transport, base_url="http://sandbox/v2") as client:
        ...         answer = await client.get("/auth/getToken", headers={"Authorization": DEFAULT_API_KEY})
        ...     return answer.status_code, answer.json()["ttl"]
        >>> asyncio.run(demo())
        (200, '900')
    """
    keys = [api_key] if isinstance(api_key, str) else list(api_key)
    faults = FaultSettings(
        latency_ms=latency_ms,
        error_429=error_429,
        error_5xx=error_5xx,
        drop=drop,
        hang=hang,
        error_200=error_200,
        junk_200=junk_200,
        revoke_every=revoke_every,
        rate_limit=rate_limit,
        burst=burst,
        retry_after=retry_after,
        seed=seed,
    )
    if not math.isfinite(apply_delay) or apply_delay < 0:
        raise ValueError("apply_delay must be a finite number of seconds, not negative")
    stats = SandboxStats()
    tokens = TokenRegistry(ttl=int(ttl), clock=clock)
    store = LeadStore(db_path)
    return SandboxApp(
        api_keys=ApiKeys(keys),
        tokens=tokens,
        store=store,
        applier=DelayedApplier(store, stats, delay=apply_delay),
        stats=stats,
        faults=faults,
        clock=clock,
    )


def _reject_constant(name: str) -> Any:
    # Python's json accepts NaN and Infinity; JSON does not, and neither does the store.
    raise ValueError(f"{name} is not JSON")


async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    messages = {404: "Not found: no such path.", 405: "Method not allowed."}
    message = messages.get(exc.status_code, str(exc.detail))
    return error_response(exc.status_code, message, headers=exc.headers)


async def _internal_error(request: Request, exc: Exception) -> Response:
    return error_response(500, "Internal error in the sandbox.")

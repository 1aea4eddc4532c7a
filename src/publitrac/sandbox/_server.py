"""Running the sandbox: in a background thread from Python (`run_sandbox`), or in the foreground (`serve`)."""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any
from urllib.parse import quote

import httpx
import uvicorn

from ._app import DEFAULT_API_KEY, SandboxApp, create_app
from ._contract import base_path

_START_TIMEOUT = 30.0


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on `host:port` (port 0: a free one), handed to uvicorn.

    Binding first tells the caller the port before the server runs, and fails early if it is taken.

    Raises:
        OSError: If the address cannot be bound.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        sock.listen(2048)
    except BaseException:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


class _Server(uvicorn.Server):
    """uvicorn's server, hanging up on the calls held by the `hang` fault as soon as it stops.

    Otherwise uvicorn would wait for them until its graceful-shutdown timeout, then cancel them with a traceback.
    """

    def __init__(self, config: uvicorn.Config, app: SandboxApp) -> None:
        super().__init__(config)
        self._sandbox = app

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        self._sandbox.release_held()
        await super().shutdown(sockets=sockets)


def uvicorn_server(app: SandboxApp, *, host: str, port: int) -> uvicorn.Server:
    """A uvicorn server for the sandbox: warnings only, no access log (it would be one line per lead)."""
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        access_log=False,
        lifespan="on",
        timeout_graceful_shutdown=5,
        backlog=2048,
    )
    return _Server(config, app)


class SandboxServer:
    """A running sandbox, as `run_sandbox` yields it.

    Attributes:
        base_url: The API base URL, e.g. `http://127.0.0.1:54321/v2` (what `PUBLITRAC_BASE_URL` would hold).
        root_url: The server's root, e.g. `http://127.0.0.1:54321` (the inspection endpoints live under it).
        api_key: The (first) API key the sandbox accepts.
        app: The application, for in-process inspection (`app.stats`, ...).
    """

    def __init__(self, *, app: SandboxApp, host: str, port: int, api_key: str) -> None:
        self.app = app
        self.host = host
        self.port = port
        self.api_key = api_key
        shown = f"[{host}]" if ":" in host else host
        self.root_url = f"http://{shown}:{port}"
        self.base_url = self.root_url + base_path()
        self._http = httpx.Client(base_url=self.root_url, timeout=30.0)

    def __repr__(self) -> str:
        # The key stays out, even the demo one: a repr ends up in logs.
        return f"<SandboxServer {self.base_url}>"

    def leads(self) -> list[dict[str, Any]]:
        """Every stored lead, as `GET /_sandbox/leads` returns them: `{"email", "leadInfo", "leadCustomField",
        "syncs"}` each, ordered by email.

        Example:
            >>> with run_sandbox() as sandbox:
            ...     sandbox.leads()
            []
        """
        return list(self._get("/_sandbox/leads").json())

    def lead(self, email: str) -> dict[str, Any] | None:
        """One lead by email (case-insensitive), or `None` if the store has none.

        Example:
            >>> with run_sandbox() as sandbox:
            ...     sandbox.lead("nobody@example.com") is None
            True
        """
        response = self._http.get("/_sandbox/leads/" + quote(email, safe="@"))
        if response.status_code == 404:
            return None
        response.raise_for_status()
        return dict(response.json())

    def stats(self) -> dict[str, Any]:
        """The counters of `GET /_sandbox/stats` (see `SandboxStats.snapshot`).

        Example:
            >>> with run_sandbox() as sandbox:
            ...     sandbox.stats()["pending"]
            0
        """
        return dict(self._get("/_sandbox/stats").json())

    def wait_until_applied(self, timeout: float = 10.0) -> None:
        """Block until every accepted lead has been applied to the store.

        Args:
            timeout: Seconds to wait at most.

        Raises:
            TimeoutError: If leads are still pending after `timeout` seconds.

        Example:
            >>> with run_sandbox() as sandbox:
            ...     sandbox.wait_until_applied(timeout=1)
        """
        response = self._http.get("/_sandbox/wait", params={"timeout": timeout}, timeout=timeout + 30.0)
        response.raise_for_status()
        answer = response.json()
        if not answer["idle"]:
            raise TimeoutError(f"{answer['pending']} leads still pending after {timeout} s")

    def close(self) -> None:
        """Close the inspection client (the server itself stops when `run_sandbox` exits)."""
        self._http.close()

    def _get(self, path: str) -> httpx.Response:
        response = self._http.get(path)
        response.raise_for_status()
        return response


@contextlib.contextmanager
def run_sandbox(
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
    host: str = "127.0.0.1",
    port: int = 0,
) -> Iterator[SandboxServer]:
    """Run the sandbox in a background thread for the duration of a `with` block.

    The settings are those of `create_app`; `host` and `port` say where to listen (port 0: a free port). On exit the
    server stops, after applying the leads it accepted.

    Args:
        api_key: The API key, or several, that `getToken` accepts (the demo key by default).
        ttl: Token time to live in seconds (sliding).
        latency_ms: Milliseconds added to every API call.
        error_429: Probability of an injected 429.
        error_5xx: Probability of an injected 5xx.
        drop: Probability of a connection closed without a response.
        hang: Probability of a call never answered (held until the client gives up).
        error_200: Probability that `delayedSync` answers HTTP 200 with an error body (code 400, 429 or 503).
        junk_200: Probability that `delayedSync` answers HTTP 200 with an HTML page or an empty body.
        revoke_every: Revoke all tokens on every N-th API call.
        rate_limit: API calls admitted per second, a token bucket (excess: 429).
        burst: The bucket's size (`None`: one second's worth).
        retry_after: `Retry-After` seconds of every 429.
        apply_delay: Seconds between accepting and applying a lead.
        db_path: SQLite file for the leads; `None` keeps them in memory.
        seed: Seed of the fault draws.
        clock: Monotonic seconds for the TTL and the rate limit (a `ManualClock` in tests).
        host: Interface to listen on (loopback by default).
        port: Port to listen on (0: a free one).

    Yields:
        A `SandboxServer` handle: `base_url`, `api_key`, `leads()`, `lead(email)`, `stats()`,
        `wait_until_applied(timeout)`.

    Raises:
        ValueError: If a setting is out of range.
        OSError: If the address cannot be bound.
        RuntimeError: If the server does not start.

    Example:
        >>> import httpx
        >>> with run_sandbox(ttl=60) as sandbox:
        ...     httpx.get(sandbox.base_url + "/auth/getToken", headers={"Authorization": sandbox.api_key}).json()["ttl"]
        '60'
    """
    app = create_app(
        api_key=api_key,
        ttl=ttl,
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
        apply_delay=apply_delay,
        db_path=db_path,
        seed=seed,
        clock=clock,
    )
    sock = bind(host, port)
    server = uvicorn_server(app, host=host, port=sock.getsockname()[1])
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="publitrac-sandbox", daemon=True
    )
    thread.start()
    try:
        _wait_started(server, thread)
        first_key = api_key if isinstance(api_key, str) else list(api_key)[0]
        handle = SandboxServer(app=app, host=host, port=sock.getsockname()[1], api_key=first_key)
        try:
            yield handle
        finally:
            handle.close()
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


def _wait_started(server: uvicorn.Server, thread: threading.Thread) -> None:
    # uvicorn offers no start callback; its `started` flag is the documented signal.
    deadline = time.monotonic() + _START_TIMEOUT
    while not server.started:
        if not thread.is_alive():
            raise RuntimeError("the sandbox server stopped during startup")
        if time.monotonic() > deadline:
            raise RuntimeError("the sandbox server did not start in time")
        time.sleep(0.005)

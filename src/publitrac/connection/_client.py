"""The connection to Publitrac: settings, the token source, the two calls made through the generated client.

`Publitrac` holds the settings (API key and base URL, from the arguments, the environment or a saved profile:
`_profiles`) and one `TokenAuth` shared by every request. Both API calls go through the generated client's typed
functions (`publitrac_client.api.auth.get_token`, `publitrac_client.api.lead.delayed_sync`) and models; the
secrets stay out of the generated `AuthenticatedClient` (an attrs class whose repr would show its `token`): it
gets a placeholder token, and the real headers are added by the `httpx.Auth` objects of the httpx clients
installed with `set_httpx_client` / `set_async_httpx_client`.

The sync engine sends through `LeanAsyncClient` over `LeanAiohttpTransport` (`_transport`): the httpx API that
the generated client needs, on aiohttp's connection pool.
"""

from __future__ import annotations

import asyncio
import contextvars
import datetime as dt
import email.utils
import ipaddress
import json
import math
import os
import random
import time
from collections.abc import AsyncIterator, Callable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from http import HTTPStatus
from typing import Any, Literal, NamedTuple

import aiohttp
import httpcore
import httpx
import tenacity
from publitrac_client import AuthenticatedClient
from publitrac_client.api.auth import get_token
from publitrac_client.api.lead import delayed_sync
from publitrac_client.models import LeadSyncRequest, TokenResponse

from ._auth import REDACTED, ApiKeyAuth, Token, TokenAuth, parse_ttl
from ._profiles import load_key, select_profile
from .._exceptions import ApiError, AuthenticationError, ConfigurationError, ConnectionFailed
from ._transport import LeanAiohttpTransport, LeanAsyncClient
from .._words import Setting

API_KEY_ENV = "PUBLITRAC_API_KEY"
BASE_URL_ENV = "PUBLITRAC_BASE_URL"
USER_AGENT = "publitrac-toolkit/0.1"
# The generated AuthenticatedClient requires a token; the real one is added by TokenAuth on each request.
PLACEHOLDER_TOKEN = "<managed by publitrac TokenAuth>"
DEFAULT_TIMEOUT = 30.0

TRANSPORT_ERROR = 0  # the status code recorded when no HTTP answer came back
_SUCCESS_BODY = b'{"status":"success","code":200}'  # the usual acceptance, judged without parsing
_NOT_RETRYABLE_5XX = frozenset({501, 505})
# getToken tries that may time out before the run stops: a second try that gets no answer either means the
# server takes connections but does not answer.
TOKEN_TIMEOUTS = 2
# Errors raised by the aiohttp transport that httpx_aiohttp does not map to an httpx.TransportError.
_TRANSPORT_EXCEPTIONS = (httpx.TransportError, aiohttp.ClientError, asyncio.TimeoutError, OSError)


def is_transient(status_code: int) -> bool:
    """Whether a failed call may succeed when tried again.

    Args:
        status_code: the HTTP status, or 0 (TRANSPORT_ERROR) when the connection failed.

    Returns:
        True for transport errors, 408, 429 and 5xx except 501 and 505. A 401 that survived the token
        refresh is transient too: the token was revoked between the refresh and the replay.

    Example:
        >>> [is_transient(code) for code in (0, 400, 401, 429, 501, 503)]
        [True, False, True, True, False, True]
    """
    return status_code in (TRANSPORT_ERROR, 401, 408, 429) or (
        500 <= status_code <= 599 and status_code not in _NOT_RETRYABLE_5XX
    )


def retry_after_seconds(
    headers: httpx.Headers | Any, *, now: Callable[[], float] = time.time
) -> float | None:
    """The delay asked by a `Retry-After` header (seconds or an HTTP date), or None.

    Args:
        headers: the response headers.
        now: wall clock (for HTTP dates), injectable for tests.

    Returns:
        Seconds to wait (never negative), or None when the header is absent or unreadable.

    Example:
        >>> retry_after_seconds(httpx.Headers({"Retry-After": "2"}))
        2.0
    """
    value = headers.get("retry-after")
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        # `-0000` ("no zone information" in RFC 5322) gives a naive datetime; HTTP dates are always UTC.
        when = when.replace(tzinfo=dt.UTC)
    return max(0.0, when.timestamp() - now())


class Transient(Exception):
    """A failed attempt worth retrying (carried through tenacity; never leaves the toolkit)."""

    def __init__(
        self, status_code: int, error: str, retry_after: float | None = None, *, timed_out: bool = False
    ) -> None:
        super().__init__(error)
        self.status_code = status_code
        self.error = error
        self.retry_after = retry_after
        self.timed_out = timed_out


class BackoffWait(tenacity.wait.wait_base):
    """Exponential backoff with full jitter, never shorter than the server's `Retry-After`.

    Args:
        initial: the first backoff window in seconds (doubles with each attempt).
        maximum: the largest backoff window in seconds (a longer Retry-After is still honoured).

    Example:
        >>> wait = BackoffWait(0.2, 10.0)   # used as tenacity's `wait=`
    """

    def __init__(self, initial: float, maximum: float) -> None:
        self._backoff = tenacity.wait_random_exponential(multiplier=initial, max=maximum)

    def __call__(self, retry_state: tenacity.RetryCallState) -> float:
        wait = float(self._backoff(retry_state))
        outcome = retry_state.outcome
        exc = outcome.exception() if outcome is not None and outcome.failed else None
        retry_after = getattr(exc, "retry_after", None)
        if retry_after is not None:
            # A little jitter on top keeps rows told "retry in 1 s" from coming back in one burst.
            wait = max(wait, retry_after + random.uniform(0.0, 0.1 + 0.1 * retry_after))
        return wait


def _is_loopback(host: str) -> bool:
    if host.lower() in ("localhost", "localhost.localdomain") or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_base_url(base_url: str, *, allow_insecure_http: bool = False) -> str:
    """Validate a base URL and return it without a trailing slash.

    Args:
        base_url: e.g. `https://api.example.com/v2` or `http://127.0.0.1:8765/v2`.
        allow_insecure_http: permit plain http to a host that is not this machine.

    Returns:
        The base URL without a trailing slash.

    Raises:
        ConfigurationError: not an http(s) URL, or plain http to a remote host without the opt-in.

    Example:
        >>> check_base_url("http://127.0.0.1:8765/v2/")
        'http://127.0.0.1:8765/v2'
    """
    try:
        url = httpx.URL(base_url.strip())
    except (httpx.InvalidURL, TypeError) as exc:
        raise ConfigurationError(f"The base URL is not a valid URL: {base_url!r}") from exc
    if url.scheme not in ("http", "https") or not url.host:
        raise ConfigurationError(
            f"The base URL must be an http(s) URL with a host, e.g. https://host/v2: {base_url!r}"
        )
    if url.scheme == "http" and not allow_insecure_http and not _is_loopback(url.host):
        raise ConfigurationError(
            f"Refusing plain http to {url.host}: the API key and tokens would travel unencrypted. "
            "Use https, or pass ",
            Setting("allow_insecure_http", value=True),
            " if you really mean it.",
        )
    return str(url).rstrip("/")


# The last answer seen by the current task: the generated parser raises on some answers (an HTML 5xx page,
# an unknown status code) and loses the response with it; this keeps its status code and headers.
_last_response: contextvars.ContextVar[httpx.Response | None] = contextvars.ContextVar(
    "publitrac_last_response", default=None
)
# Whether the current task's request has left (token handling done, httpx hands it to the transport): a run
# stopped while waiting for a token leaves the row `not_sent`, not `in_flight`.
_request_left: contextvars.ContextVar[bool] = contextvars.ContextVar("publitrac_request_left", default=False)


async def _remember_response(response: httpx.Response) -> None:
    _last_response.set(response)


async def _mark_request_left(request: httpx.Request) -> None:
    _request_left.set(True)


def request_left() -> bool:
    """Whether the request of the latest `post_lead` in this task was handed to the transport."""
    return _request_left.get()


def _json_object(content: bytes) -> dict[str, Any] | None:
    """The answer's body as a JSON object, or None when it is not one (empty, HTML, a list, broken JSON)."""
    if content[:1] != b"{":
        content = content.strip()
        if content[:1] != b"{":
            return None
    try:
        document = json.loads(content)
    except (ValueError, RecursionError):
        return None
    return document if isinstance(document, dict) else None


def _body_code(document: dict[str, Any]) -> int | None | bool:
    """The body's own `code` as an int; None when absent; False when present but not a whole number."""
    code = document.get("code")
    if code is None:
        return None
    if isinstance(code, int) and not isinstance(code, bool):
        return code
    if isinstance(code, str) and code.strip().isdigit():
        return int(code.strip())
    return False


def _not_understood(status_code: int, content: bytes) -> str:
    stripped = content.strip()
    if not stripped:
        what = "an empty body"
    elif stripped[:1] == b"<":
        what = "an HTML page"
    else:
        what = "not the API's JSON"
    return f"HTTP {status_code}: answer not understood ({what})"


def _reported_error(status_code: int, document: dict[str, Any]) -> tuple[str, int | None] | None:
    """The error that a JSON body reports (`status` "error", or a `code` outside 2xx), or None."""
    status = document.get("status")
    status = status.strip().lower() if isinstance(status, str) else status
    code = _body_code(document)
    numeric = code if code is not None and code is not False else None
    if status != "error" and (numeric is None or 200 <= numeric <= 299):
        return None
    message = document.get("message")
    reason = f": {message[:200]}" if isinstance(message, str) and message.strip() else ""
    if numeric is None or 200 <= numeric <= 299:
        # "error" with no code, or with a code that says success: nothing to classify it by.
        shown = "" if numeric is None else f" (code {numeric})"
        return f"HTTP {status_code}, body status error{shown}{reason}", None
    if not reason:
        try:
            reason = f" ({HTTPStatus(numeric).phrase})"
        except ValueError:
            reason = ""
    return f"HTTP {status_code}, body code {numeric}{reason}", numeric


def judge_2xx(status_code: int, content: bytes) -> tuple[str | None, int | None]:
    """Whether a 2xx answer really accepted the call: the API's JSON with `status` "success".

    The API repeats a status in its body (`{"status": "success", "code": 200}`), and an API written this way
    can answer HTTP 200 with `{"status": "error", "code": 400, "message": "..."}`: such a call was not taken.

    Args:
        status_code: the HTTP status, 2xx.
        content: the answer's body.

    Returns:
        `(None, None)` when accepted (status "success", a `code`, where present, in 2xx). Otherwise
        `(error, body_code)`: `body_code` is the error code the body reports (to be treated as an HTTP status
        would be), or None when the body is not the API's JSON or reports an error without a code: both worth
        another try, the upsert making a resend harmless.

    Example:
        >>> judge_2xx(200, b'{"status": "success", "code": 200}')
        (None, None)
        >>> judge_2xx(200, b'{"status": "error", "code": 400, "message": "invalid lead"}')
        ('HTTP 200, body code 400: invalid lead', 400)
        >>> judge_2xx(200, b"<html>Sign in</html>")
        ('HTTP 200: answer not understood (an HTML page)', None)
    """
    if content == _SUCCESS_BODY:
        return None, None
    document = _json_object(content)
    if document is None:
        return _not_understood(status_code, content), None
    reported = _reported_error(status_code, document)
    if reported is not None:
        return reported
    status = document.get("status")
    if isinstance(status, str) and status.strip().lower() == "success" and _body_code(document) is not False:
        return None, None
    return _not_understood(status_code, content), None


def _error_text(status_code: int, content: bytes, reason: str = "") -> str:
    """A short text for a failed (non-2xx) answer: the API's `message` if it sent one, else the status and phrase."""
    document = _json_object(content)
    message = document.get("message") if document is not None else None
    if isinstance(message, str) and message.strip():
        return f"HTTP {status_code}: {message[:200]}"
    if not reason:
        try:
            reason = HTTPStatus(status_code).phrase
        except ValueError:
            reason = "unknown status"
    suffix = " (body is not the API's JSON)" if content and document is None else ""
    return f"HTTP {status_code} {reason}{suffix}"


def is_timeout(exc: BaseException) -> bool:
    """Whether a transport error means the server took too long (no answer, or no connection, in time).

    httpx_aiohttp maps some aiohttp errors to an httpx timeout that is not one (a closed connection becomes
    `ConnectTimeout`), so the original error, the cause, decides when there is one.

    Example:
        >>> is_timeout(httpx.ReadTimeout("timed out")), is_timeout(httpx.ConnectError("refused"))
        (True, False)
    """
    cause = exc.__cause__
    if cause is None:
        return isinstance(exc, httpx.TimeoutException | TimeoutError)
    return isinstance(cause, httpx.TimeoutException | httpcore.TimeoutException | TimeoutError)


def _connecting(exc: BaseException) -> bool:
    cause = exc.__cause__ or exc
    return isinstance(cause, httpx.ConnectTimeout | httpcore.ConnectTimeout | aiohttp.ConnectionTimeoutError)


def describe_exception(exc: BaseException, *, timeout: float | None = None) -> str:
    """A short, secret-free text for a transport error.

    Args:
        exc: the error.
        timeout: the seconds allowed for an answer; named in the text of a timeout.

    Returns:
        `no answer within S s` for a timeout (`no connection within S s` while connecting), else the error's
        type and text (`ConnectError: ...`).

    Example:
        >>> describe_exception(httpx.ReadTimeout(""), timeout=5.0)
        'no answer within 5 s'
    """
    if is_timeout(exc):
        within = f"within {timeout:g} s" if timeout is not None else "in time"
        return f"no connection {within}" if _connecting(exc) else f"no answer {within}"
    cause = exc.__cause__ if exc.__cause__ is not None and str(exc.__cause__) else None
    shown = cause or exc
    text = str(shown) or type(shown).__name__
    return f"{type(shown).__name__}: {text}"[:300]


class Publitrac:
    """A connection to the Publitrac API v2: settings, the token, and the generated client.

    Each setting comes from the first that has it: the argument, the environment (`PUBLITRAC_API_KEY`,
    `PUBLITRAC_BASE_URL`), the selected profile (saved by `publitrac login`: the key in the OS keyring, the
    rest in the config file), the default (timeout 30 s, no plain http to remote hosts).

    Args:
        api_key: the API key; default: the `PUBLITRAC_API_KEY` environment variable, else the profile's key.
        base_url: the API's base URL, ending in `/v2`; default: the `PUBLITRAC_BASE_URL` environment variable,
            else the profile's.
        profile: the saved profile to use; None: the one `PUBLITRAC_PROFILE` names, else the profile named
            `default` when there is one, unless `api_key` and `base_url` are both given; False: no profile (the
            arguments and the environment only).
        timeout: seconds allowed for each HTTP call (connect, read, write, pool); None: the profile's, else 30.
            A server that takes connections and never answers fails the call with "no answer within S s", and
            stops a run when a retry gets no answer either.
        allow_insecure_http: permit plain http to a host other than this machine (off: the key would leak);
            None: the profile's, else False.
        refresh_margin: seconds before the sliding TTL runs out at which an idle token is replaced.
        verify: TLS verification, as httpx's `verify`.
        clock: monotonic clock used for the token's TTL (injectable for tests).
        transport: httpx transport for blocking calls (tests use `httpx.MockTransport`).
        async_transport: httpx async transport for the sync engine and async token fetches (tests); default:
            a pooled aiohttp transport per run.

    Raises:
        ConfigurationError: no API key or base URL, a malformed URL, plain http to a remote host, a timeout
            that is not a number of seconds > 0, an unknown profile (the message lists the saved ones), or a
            keyring that could not be read.

    Example:
        >>> pt = Publitrac(api_key="k3y", base_url="http://127.0.0.1:8765/v2")
        >>> pt
        Publitrac(base_url='http://127.0.0.1:8765/v2')
        >>> Publitrac(profile="ci")     # doctest: +SKIP
        Publitrac(base_url='https://api.example.com/v2', profile='ci')
    """

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        profile: str | Literal[False] | None = None,
        timeout: float | None = None,
        allow_insecure_http: bool | None = None,
        refresh_margin: float = 30.0,
        verify: bool | str = True,
        clock: Callable[[], float] = time.monotonic,
        transport: httpx.BaseTransport | None = None,
        async_transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        given_key, given_base_url = api_key, base_url
        api_key = api_key if api_key is not None else os.environ.get(API_KEY_ENV)
        base_url = base_url if base_url is not None else os.environ.get(BASE_URL_ENV)
        if profile is None and given_key is not None and given_base_url is not None:
            # Both given in code (the sandbox, the app's boxes): a saved default says nothing about them.
            profile = False
        chosen = select_profile(profile)
        if chosen is not None:
            base_url = base_url if base_url is not None else chosen.base_url
            timeout = timeout if timeout is not None else chosen.timeout
            if allow_insecure_http is None:
                allow_insecure_http = chosen.allow_insecure_http
            if not (api_key and api_key.strip()):
                # The keyring is read only when nothing else gives the key (it may ask to be unlocked).
                api_key = load_key(chosen.name)
        timeout = DEFAULT_TIMEOUT if timeout is None else timeout
        allow_insecure_http = bool(allow_insecure_http)
        self._profile = chosen.name if chosen is not None else None
        # Where the key came from, for the message of a refused key (never the key itself).
        self._key_origin = (
            "the api_key argument"
            if given_key is not None
            else API_KEY_ENV
            if os.environ.get(API_KEY_ENV, "").strip()
            else f"the key of profile {self._profile!r} (publitrac login --profile {self._profile})"
        )
        missing: list[str | Setting] = []
        if not (api_key and api_key.strip()):
            missing += ["the API key (", Setting("api_key"), ")"]
            if chosen is not None:
                missing += [
                    f": none is stored for profile {chosen.name!r} in this machine's keyring; run "
                    f"`publitrac login --profile {chosen.name}`, or set {API_KEY_ENV} where no keyring exists"
                ]
        if not base_url:
            missing += [
                " and " if missing else "",
                "the base URL (",
                Setting("base_url"),
                ", e.g. https://host/v2)",
            ]
        if missing:
            raise ConfigurationError("Missing ", *missing, ".")
        assert api_key is not None and base_url is not None
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout < math.inf:
            raise ConfigurationError(f"timeout must be a number of seconds > 0, got {timeout!r}")
        self._base_url = check_base_url(base_url, allow_insecure_http=allow_insecure_http)
        self._api_key = api_key.strip()
        self.timeout = httpx.Timeout(timeout)
        self._verify = verify
        self._transport = transport
        self._async_transport = async_transport
        self._retry_sleep: Callable[[float], Any] = time.sleep
        self._retry_asleep: Callable[[float], Any] = asyncio.sleep
        self.auth = TokenAuth(
            self._fetch_token, self._afetch_token, clock=clock, refresh_margin=refresh_margin
        )
        self._client: AuthenticatedClient | None = None

    def __repr__(self) -> str:
        shown = f", profile={self._profile!r}" if self._profile is not None else ""
        return f"Publitrac(base_url={self._base_url!r}{shown})"

    @property
    def profile(self) -> str | None:
        """The name of the saved profile this connection took settings from, or None."""
        return self._profile

    @property
    def base_url(self) -> str:
        """The API's base URL (ends in /v2)."""
        return self._base_url

    @property
    def token_requests(self) -> int:
        """How many getToken calls this connection has made (retries of one fetch count once)."""
        return self.auth.fetch_count

    def redact(self, text: str) -> str:
        """`text` with the API key and the current token replaced by `***`."""
        text = self.auth.redact(text)
        return text.replace(self._api_key, REDACTED) if self._api_key in text else text

    # -- the generated client ------------------------------------------------------------------------------

    def _generated(self) -> AuthenticatedClient:
        return AuthenticatedClient(base_url=self._base_url, token=PLACEHOLDER_TOKEN, timeout=self.timeout)

    @property
    def client(self) -> AuthenticatedClient:
        """The generated client for blocking calls, authenticated by this connection's TokenAuth.

        Example (not run by the doctests: it needs a connection `pt` and a request `body`):
            >>> from publitrac_client.api.lead import delayed_sync          # doctest: +SKIP
            >>> delayed_sync.sync_detailed(client=pt.client, body=...)     # doctest: +SKIP
        """
        if self._client is None:
            http = httpx.Client(
                base_url=self._base_url,
                auth=self.auth,
                timeout=self.timeout,
                verify=self._verify,
                headers={"Accept": "application/json", "User-Agent": USER_AGENT},
                transport=self._transport,
            )
            self._client = self._generated().set_httpx_client(http)
        return self._client

    def close(self) -> None:
        """Close the blocking client's connections (the engine closes its own after each run)."""
        if self._client is not None:
            self._client.get_httpx_client().close()
            self._client = None

    def __enter__(self) -> Publitrac:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @asynccontextmanager
    async def async_client(self, *, max_connections: int = 32) -> AsyncIterator[AuthenticatedClient]:
        """A generated client for one run of the engine, on a pooled aiohttp transport of this event loop.

        Args:
            max_connections: the connection pool's size (the engine passes its concurrency).

        Returns:
            An async context manager yielding an AuthenticatedClient; its connections close on exit.

        Example (not run by the doctests: `async with` needs a running event loop):
            >>> async with pt.async_client(max_connections=16) as client:          # doctest: +SKIP
            ...     await delayed_sync.asyncio_detailed(client=client, body=...)
        """
        transport = self._async_transport or LeanAiohttpTransport(
            verify=self._verify,
            limits=httpx.Limits(max_connections=max_connections, max_keepalive_connections=max_connections),
        )
        http = LeanAsyncClient(
            base_url=self._base_url,
            auth=self.auth,
            timeout=self.timeout,
            headers={"Accept": "application/json", "User-Agent": USER_AGENT},
            transport=transport,
            event_hooks={"request": [_mark_request_left], "response": [_remember_response]},
        )
        try:
            yield self._generated().set_async_httpx_client(http)
        finally:
            if self._async_transport is None:
                await http.aclose()

    # -- getToken ------------------------------------------------------------------------------------------

    def _token_retry_settings(self) -> dict[str, Any]:
        # One fetch may take a few attempts; TokenAuth shares its outcome with every request waiting for it.
        return dict(
            retry=tenacity.retry_if_exception_type(Transient),
            stop=tenacity.stop_after_attempt(4) | tenacity.stop_before_delay(30.0),
            wait=BackoffWait(0.5, 8.0),
            reraise=True,
        )

    @contextmanager
    def _token_client(self, captured: list[httpx.Response]) -> Iterator[AuthenticatedClient]:
        http = httpx.Client(
            base_url=self._base_url,
            auth=ApiKeyAuth(self._api_key),
            timeout=self.timeout,
            verify=self._verify,
            headers={"Accept": "application/json", "User-Agent": USER_AGENT},
            transport=self._transport,
            event_hooks={"response": [captured.append]},
        )
        with http:
            yield self._generated().set_httpx_client(http)

    @asynccontextmanager
    async def _async_token_client(self, captured: list[httpx.Response]) -> AsyncIterator[AuthenticatedClient]:
        async def capture(response: httpx.Response) -> None:
            captured.append(response)

        http = httpx.AsyncClient(
            base_url=self._base_url,
            auth=ApiKeyAuth(self._api_key),
            timeout=self.timeout,
            verify=self._verify,
            headers={"Accept": "application/json", "User-Agent": USER_AGENT},
            transport=self._async_transport,
            event_hooks={"response": [capture]},
        )
        try:
            yield self._generated().set_async_httpx_client(http)
        finally:
            if self._async_transport is None:
                await http.aclose()

    def _fetch_token(self) -> Token:
        timeouts: list[Transient] = []
        try:
            for attempt in tenacity.Retrying(sleep=self._retry_sleep, **self._token_retry_settings()):
                with attempt:
                    captured: list[httpx.Response] = []
                    try:
                        with self._token_client(captured) as client:
                            answer = get_token.sync_detailed(client=client)
                    except _TRANSPORT_EXCEPTIONS as exc:
                        raise self._token_transport_failure(exc, timeouts) from exc
                    except (ValueError, KeyError, TypeError):
                        if not captured:
                            raise
                        return self._token_from(captured[-1], None)
                    return self._token_from(captured[-1], answer.parsed)
        except Transient as exc:
            raise self._token_failure(exc) from None
        raise AssertionError("unreachable")

    async def _afetch_token(self) -> Token:
        timeouts: list[Transient] = []
        try:
            async for attempt in tenacity.AsyncRetrying(
                sleep=self._retry_asleep, **self._token_retry_settings()
            ):
                with attempt:
                    captured: list[httpx.Response] = []
                    try:
                        async with self._async_token_client(captured) as client:
                            answer = await get_token.asyncio_detailed(client=client)
                    except _TRANSPORT_EXCEPTIONS as exc:
                        raise self._token_transport_failure(exc, timeouts) from exc
                    except (ValueError, KeyError, TypeError):
                        if not captured:
                            raise
                        return self._token_from(captured[-1], None)
                    return self._token_from(captured[-1], answer.parsed)
        except Transient as exc:
            raise self._token_failure(exc) from None
        raise AssertionError("unreachable")

    def _token_transport_failure(
        self, exc: BaseException, timeouts: list[Transient]
    ) -> Transient | ConnectionFailed:
        error = self.redact(describe_exception(exc, timeout=self.timeout.read))
        if not is_timeout(exc):
            return Transient(TRANSPORT_ERROR, error)
        failure = Transient(TRANSPORT_ERROR, error, timed_out=True)
        timeouts.append(failure)
        if len(timeouts) >= TOKEN_TIMEOUTS:
            # Each try costs the whole timeout: a server that takes connections and never answers would
            # otherwise hold the run for every attempt of the budget.
            return self._no_answer(failure, tries=len(timeouts))
        return failure

    def _token_from(self, raw: httpx.Response, parsed: Any) -> Token:
        code = raw.status_code
        if 200 <= code <= 299:
            document = _json_object(raw.content)
            if document is None:
                raise Transient(code, f"getToken: {_not_understood(code, raw.content)}")
            reported = _reported_error(code, document)
            if reported is not None:
                error, body_code = self.redact(reported[0]), reported[1]
                if body_code == 401:
                    raise AuthenticationError(
                        f"The API key was refused (getToken answered {error}). Check {self._key_origin} and "
                        f"the base URL ({self._base_url}).",
                        status_code=code,
                    )
                if body_code is None or is_transient(body_code):
                    raise Transient(code, f"getToken: {error}", retry_after_seconds(raw.headers))
                raise ApiError(f"getToken failed: {error}", status_code=code)
            if not isinstance(parsed, TokenResponse) or not isinstance(parsed.token, str) or not parsed.token:
                raise ApiError(f"getToken answered {code} without a usable token", status_code=code)
            try:
                ttl = parse_ttl(parsed.ttl)
            except ValueError as exc:
                raise ApiError(f"getToken answered an unusable ttl: {exc}", status_code=code) from None
            return Token(parsed.token, ttl)
        if code == 401:
            raise AuthenticationError(
                f"The API key was refused (getToken answered 401). Check {self._key_origin} and the base "
                f"URL ({self._base_url}).",
                status_code=401,
            )
        error = self.redact(_error_text(code, raw.content, raw.reason_phrase))
        if is_transient(code):
            raise Transient(code, error, retry_after_seconds(raw.headers))
        raise ApiError(f"getToken failed: {error}", status_code=code)

    def _token_failure(self, exc: Transient) -> ApiError | ConnectionFailed:
        if exc.timed_out:
            return self._no_answer(exc)
        if exc.status_code == TRANSPORT_ERROR:
            return ConnectionFailed(f"Could not reach {self._base_url}: {exc.error}")
        return ApiError(f"getToken kept failing: {exc.error}", status_code=exc.status_code)

    def _no_answer(self, exc: Transient, *, tries: int | None = None) -> ConnectionFailed:
        shown = f", {tries} tries" if tries else ""
        hint = (
            ": the server takes connections but does not answer" if exc.error.startswith("no answer") else ""
        )
        return ConnectionFailed(f"{exc.error.capitalize()} from {self._base_url} (getToken{shown}){hint}.")


class LeadAnswer(NamedTuple):
    """What became of one `delayedSync` call.

    Attributes:
        status_code: the HTTP status, or 0 (TRANSPORT_ERROR) when no answer came back. A row's `http_status`.
        error: None when the lead was accepted; else a short, secret-free text.
        retry_after: the seconds the server asked to wait (`Retry-After`), or None.
        body_code: the error code reported by the body of a 2xx answer, which counts instead of the HTTP
            status; None otherwise.
        timed_out: no answer (or no connection) within the timeout.
    """

    status_code: int
    error: str | None
    retry_after: float | None = None
    body_code: int | None = None
    timed_out: bool = False

    @property
    def code(self) -> int:
        """The code the outcome is classified by: the body's own code, else the HTTP status."""
        return self.status_code if self.body_code is None else self.body_code

    @property
    def retryable(self) -> bool:
        """A failure worth another try: transient by its code, or a 2xx whose body was not understood.

        Example:
            >>> LeadAnswer(200, "HTTP 200, body code 503", body_code=503).retryable
            True
            >>> LeadAnswer(200, "HTTP 200, body code 400: invalid lead", body_code=400).retryable
            False
        """
        if self.error is None:
            return False
        code = self.code
        return is_transient(code) or 200 <= code <= 299


def _judge(
    code: int, content: bytes, headers: Mapping[str, str], redact: Callable[[str], str], reason: str = ""
) -> LeadAnswer:
    if 200 <= code <= 299:
        error, body_code = judge_2xx(code, content)
        if error is None:
            return LeadAnswer(code, None)
        return LeadAnswer(code, redact(error), retry_after_seconds(headers), body_code)
    return LeadAnswer(code, redact(_error_text(code, content, reason)), retry_after_seconds(headers))


async def post_lead(
    client: AuthenticatedClient, body: LeadSyncRequest, redact: Callable[[str], str]
) -> LeadAnswer:
    """Send one lead through the generated `delayed_sync` and classify the answer.

    A 2xx counts as accepted only when its body is the API's JSON with `status` "success"; a 2xx whose body
    reports an error is classified by the body's `code`, and one whose body is not understood is retryable.

    Args:
        client: a generated client from `Publitrac.async_client()`.
        body: the lead.
        redact: removes secrets from error texts built from the server's answer.

    Returns:
        A LeadAnswer: `(status_code, error, retry_after, body_code, timed_out)`; `error` is None when accepted.

    Raises:
        PublitracError: from the token handling (a refused API key, getToken unreachable): the run stops.

    Example (not run by the doctests: `await` needs a running event loop, and a client and a body):
        >>> request = LeadSyncRequest.from_dict(body)                            # doctest: +SKIP
        >>> answer = await post_lead(client, request, pt.redact)                  # doctest: +SKIP
        >>> answer.status_code, answer.error, answer.retryable                    # doctest: +SKIP
    """
    _last_response.set(None)
    _request_left.set(False)
    try:
        answer = await delayed_sync.asyncio_detailed(client=client, body=body)
    except _TRANSPORT_EXCEPTIONS as exc:
        timeout = client.get_async_httpx_client().timeout.read
        return LeadAnswer(
            TRANSPORT_ERROR,
            redact(describe_exception(exc, timeout=timeout)),
            timed_out=is_timeout(exc),
        )
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        # The generated parser gave up on the answer (HTML, an unlisted status, a body it cannot read).
        raw = _last_response.get()
        if raw is None:
            # Nothing was sent: the body itself could not be encoded.
            return LeadAnswer(TRANSPORT_ERROR, f"not sent: {type(exc).__name__}: {exc}"[:300])
        return _judge(raw.status_code, raw.content, raw.headers, redact, raw.reason_phrase)
    return _judge(int(answer.status_code), answer.content, answer.headers, redact)

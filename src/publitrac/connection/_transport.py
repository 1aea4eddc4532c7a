"""The lean transport the sync engine sends through: httpx's API on aiohttp's connection pool.

The generated client needs an `httpx.AsyncClient`; under concurrency, aiohttp's pool costs far less CPU per
request than httpx's own (see the README's benchmark). `LeanAsyncClient` takes out per-request work the engine
does not need (merging the same relative URL again, parsing cookies), and `LeanAiohttpTransport` reads each
small JSON answer whole and reuses parsed URLs and timeouts.
"""

from __future__ import annotations

from typing import Any

import aiohttp
import httpx
import yarl
from httpx_aiohttp import AiohttpTransport
from httpx_aiohttp.transport import map_aiohttp_exceptions

__all__ = ["LeanAiohttpTransport", "LeanAsyncClient"]


class _IgnoredCookies(httpx.Cookies):
    """A cookie jar that ignores Set-Cookie: the API uses none, and parsing them costs CPU on every answer."""

    def extract_cookies(self, response: httpx.Response) -> None:
        return None


class LeanAsyncClient(httpx.AsyncClient):
    """`httpx.AsyncClient` with the per-request work the engine does not need taken out.

    The generated client calls `request(method, "/lead/delayedSync", ...)` for every row; httpx would parse
    and merge that relative URL with the base URL each time, and parse cookies from each answer. Here the
    merged URL is cached and cookies are ignored. Relies on httpx 0.28 internals (`_merge_url`, `_cookies`):
    httpx is pinned below 0.29 and tests/test_client.py checks both.

    Example:
        >>> client = LeanAsyncClient(base_url="http://127.0.0.1:8765/v2")
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._cookies = _IgnoredCookies()
        self._merged_urls: dict[str, httpx.URL] = {}

    def _merge_url(self, url: httpx.URL | str) -> httpx.URL:
        if isinstance(url, str):
            merged = self._merged_urls.get(url)
            if merged is None:
                merged = self._merged_urls[url] = super()._merge_url(url)
            return merged
        return super()._merge_url(url)


class LeanAiohttpTransport(AiohttpTransport):
    """httpx_aiohttp's transport, reading each answer whole and reusing parsed URLs and timeouts.

    Same session, connector and exception mapping as `httpx_aiohttp.AiohttpTransport`; the answers here are
    small JSON documents, so reading them at once (rather than streaming them through httpx) saves CPU.

    Example:
        >>> transport = LeanAiohttpTransport(limits=httpx.Limits(max_connections=32))
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._urls: dict[httpx.URL, yarl.URL] = {}
        self._timeouts: dict[tuple[Any, Any, Any], aiohttp.ClientTimeout] = {}

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if not isinstance(self.client, aiohttp.ClientSession):
            self.client = self.get_client()
        session = self.client
        timeouts = request.extensions.get("timeout") or {}
        key = (timeouts.get("connect"), timeouts.get("read"), timeouts.get("pool"))
        timeout = self._timeouts.get(key)
        if timeout is None:
            timeout = self._timeouts[key] = aiohttp.ClientTimeout(
                sock_connect=key[0], sock_read=key[1], connect=key[2]
            )
        url = self._urls.get(request.url)
        if url is None:
            url = self._urls[request.url] = yarl.URL(str(request.url), encoded=True)
        headers = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in request.headers.raw]
        with map_aiohttp_exceptions():
            async with session.request(
                request.method,
                url,
                headers=headers,
                data=request.content or None,
                allow_redirects=False,
                auto_decompress=False,
                compress=False,
                timeout=timeout,
            ) as answer:
                content = await answer.read()
        return httpx.Response(answer.status, headers=answer.raw_headers, content=content, request=request)

"""The clients a user would otherwise write, measured side by side with the toolkit's `sync`.

Each returns how many leads the server accepted (HTTP 200). None validates, retries or reports per row: they
are the yardsticks, not recommendations.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

import aiohttp
import httpx
import pandas as pd

from leads import CUSTOM_COLUMNS

_TIMEOUT_S = 60.0


def naive_loop(frame: pd.DataFrame, *, base_url: str, api_key: str) -> int:
    """The loop a user writes first: `iterrows()`, one blocking POST per row.

    It is given the benefit of a kept-alive `httpx.Client` (a user calling `httpx.post` per row would also pay a
    new connection and TLS context per row).

    Args:
        frame: Leads from `leads.make_leads`.
        base_url: API base URL ending in `/v2`.
        api_key: The API key for `getToken`.

    Returns:
        How many rows were answered 200.

    Example:
        >>> naive_loop(frame, base_url="http://127.0.0.1:8765/v2", api_key=key)  # doctest: +SKIP
        1000
    """
    accepted = 0
    with httpx.Client(timeout=_TIMEOUT_S) as http:
        token = http.get(f"{base_url}/auth/getToken", headers={"Authorization": api_key}).json()["token"]
        for _, row in frame.iterrows():
            body = {
                "leadInfo": {
                    "email": row["email"],
                    "crmLeadId": int(row["crmLeadId"]),  # numpy ints are not JSON serialisable
                    "jobTitle": row["jobTitle"],
                    "firstName": row["firstName"],
                    "lastName": row["lastName"],
                },
                "leadCustomField": {name: row[name] for name in CUSTOM_COLUMNS},
            }
            response = http.post(f"{base_url}/lead/delayedSync", json=body, headers={"Token": token})
            accepted += response.status_code == 200
    return accepted


async def httpx_async(
    bodies: Iterable[dict[str, Any]],
    *,
    base_url: str,
    api_key: str,
    concurrency: int,
    sized_pool: bool = False,
) -> int:
    """`concurrency` workers sharing one `httpx.AsyncClient` with its default settings, as the generated client
    builds it (httpx's default pool limits: 100 connections, 20 kept alive).

    Args:
        bodies: Prebuilt request bodies.
        base_url: API base URL ending in `/v2`.
        api_key: The API key for `getToken`.
        concurrency: How many requests in flight at most.
        sized_pool: Size the pool to `concurrency` connections, all kept alive, as one would for aiohttp
            (httpx is then slower still: its pool's bookkeeping grows with the connections it holds).

    Returns:
        How many bodies were answered 200.

    Example:
        >>> asyncio.run(httpx_async(bodies, base_url=url, api_key=key, concurrency=64))  # doctest: +SKIP
        10000
    """
    if sized_pool:
        limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
        client = httpx.AsyncClient(base_url=base_url, timeout=_TIMEOUT_S, limits=limits)
    else:
        client = httpx.AsyncClient(base_url=base_url, timeout=_TIMEOUT_S)
    async with client as http:
        token = (await http.get("/auth/getToken", headers={"Authorization": api_key})).json()["token"]
        headers = {"Token": token}
        pending = iter(bodies)

        async def worker() -> int:
            accepted = 0
            for body in pending:  # one shared iterator: each body is taken by exactly one worker
                response = await http.post("/lead/delayedSync", json=body, headers=headers)
                accepted += response.status_code == 200
            return accepted

        return sum(await asyncio.gather(*(worker() for _ in range(concurrency))))


async def aiohttp_raw(
    bodies: Iterable[dict[str, Any]], *, base_url: str, api_key: str, concurrency: int
) -> int:
    """`concurrency` workers sharing one `aiohttp.ClientSession` whose pool holds `concurrency` connections:
    no validation, no retries; the practical limit of a Python client.

    Args:
        bodies: Prebuilt request bodies.
        base_url: API base URL ending in `/v2`.
        api_key: The API key for `getToken`.
        concurrency: How many requests in flight at most.

    Returns:
        How many bodies were answered 200.

    Example:
        >>> asyncio.run(aiohttp_raw(bodies, base_url=url, api_key=key, concurrency=64))  # doctest: +SKIP
        10000
    """
    timeout = aiohttp.ClientTimeout(total=_TIMEOUT_S)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        async with session.get(f"{base_url}/auth/getToken", headers={"Authorization": api_key}) as response:
            token = (await response.json())["token"]
        headers = {"Token": token}
        url = f"{base_url}/lead/delayedSync"
        pending = iter(bodies)

        async def worker() -> int:
            accepted = 0
            for body in pending:
                async with session.post(url, json=body, headers=headers) as response:
                    await response.read()
                    accepted += response.status == 200
            return accepted

        return sum(await asyncio.gather(*(worker() for _ in range(concurrency))))

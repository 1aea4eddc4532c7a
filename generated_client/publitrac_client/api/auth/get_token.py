from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_response import ErrorResponse
from ...models.token_response import TokenResponse
from ...types import Response


def _get_kwargs() -> dict[str, Any]:

    _kwargs: dict[str, Any] = {
        "method": "get",
        "url": "/auth/getToken",
    }

    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorResponse | TokenResponse | str | None:
    if response.status_code == 200:
        response_200 = TokenResponse.from_dict(response.json())

        return response_200

    if response.status_code == 401:
        response_401 = ErrorResponse.from_dict(response.json())

        return response_401

    if response.status_code == 405:
        response_405 = ErrorResponse.from_dict(response.json())

        return response_405

    if response.status_code == 429:
        response_429 = ErrorResponse.from_dict(response.json())

        return response_429

    if 500 <= response.status_code <= 599:
        response_5xx = response.text
        return response_5xx

    if client.raise_on_unexpected_status:
        raise errors.UnexpectedStatus(response.status_code, response.content)
    else:
        return None


def _build_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> Response[ErrorResponse | TokenResponse | str]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
) -> Response[ErrorResponse | TokenResponse | str]:
    """Obtain a token

     Exchanges the API key (sent raw in the `Authorization` header, without any `Bearer` prefix) for an
    opaque
    token. The method `GET` comes from the later revision of the vendor page.

    The token lives `ttl` seconds after the last call made with it (sliding TTL). `ttl` is a **string**
    of
    seconds, `"900"` (15 minutes) by default. Tokens are opaque and may hold characters such as `!`.
    The request sends `Accept: application/json` (documented).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | TokenResponse | str]
    """

    kwargs = _get_kwargs()

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
) -> ErrorResponse | TokenResponse | str | None:
    """Obtain a token

     Exchanges the API key (sent raw in the `Authorization` header, without any `Bearer` prefix) for an
    opaque
    token. The method `GET` comes from the later revision of the vendor page.

    The token lives `ttl` seconds after the last call made with it (sliding TTL). `ttl` is a **string**
    of
    seconds, `"900"` (15 minutes) by default. Tokens are opaque and may hold characters such as `!`.
    The request sends `Accept: application/json` (documented).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | TokenResponse | str
    """

    return sync_detailed(
        client=client,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
) -> Response[ErrorResponse | TokenResponse | str]:
    """Obtain a token

     Exchanges the API key (sent raw in the `Authorization` header, without any `Bearer` prefix) for an
    opaque
    token. The method `GET` comes from the later revision of the vendor page.

    The token lives `ttl` seconds after the last call made with it (sliding TTL). `ttl` is a **string**
    of
    seconds, `"900"` (15 minutes) by default. Tokens are opaque and may hold characters such as `!`.
    The request sends `Accept: application/json` (documented).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | TokenResponse | str]
    """

    kwargs = _get_kwargs()

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
) -> ErrorResponse | TokenResponse | str | None:
    """Obtain a token

     Exchanges the API key (sent raw in the `Authorization` header, without any `Bearer` prefix) for an
    opaque
    token. The method `GET` comes from the later revision of the vendor page.

    The token lives `ttl` seconds after the last call made with it (sliding TTL). `ttl` is a **string**
    of
    seconds, `"900"` (15 minutes) by default. Tokens are opaque and may hold characters such as `!`.
    The request sends `Accept: application/json` (documented).

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | TokenResponse | str
    """

    return (
        await asyncio_detailed(
            client=client,
        )
    ).parsed

from http import HTTPStatus
from typing import Any

import httpx

from ... import errors
from ...client import AuthenticatedClient, Client
from ...models.error_response import ErrorResponse
from ...models.lead_sync_request import LeadSyncRequest
from ...models.sync_response import SyncResponse
from ...types import Response


def _get_kwargs(
    *,
    body: LeadSyncRequest,
) -> dict[str, Any]:
    headers: dict[str, Any] = {}

    _kwargs: dict[str, Any] = {
        "method": "post",
        "url": "/lead/delayedSync",
    }

    _kwargs["json"] = body.to_dict()

    headers["Content-Type"] = "application/json"

    _kwargs["headers"] = headers
    return _kwargs


def _parse_response(
    *, client: AuthenticatedClient | Client, response: httpx.Response
) -> ErrorResponse | SyncResponse | str | None:
    if response.status_code == 200:
        response_200 = SyncResponse.from_dict(response.json())

        return response_200

    if response.status_code == 400:
        response_400 = ErrorResponse.from_dict(response.json())

        return response_400

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
) -> Response[ErrorResponse | SyncResponse | str]:
    return Response(
        status_code=HTTPStatus(response.status_code),
        content=response.content,
        headers=response.headers,
        parsed=_parse_response(client=client, response=response),
    )


def sync_detailed(
    *,
    client: AuthenticatedClient,
    body: LeadSyncRequest,
) -> Response[ErrorResponse | SyncResponse | str]:
    """Create or update a lead (delayed)

     Adds information to a lead, or creates it, keyed by `leadInfo.email`. The call is *delayed*: it is
    answered at once and the lead is processed a little later, so that clients can push high volumes.
    A 200 means the lead was **accepted**, not that it was applied.

    Standard fields go in `leadInfo`; custom fields in `leadCustomField` (a map of field name to value)
    that
    the vendor says are edited, updated or added on the lead. **Assumed:** custom fields the body does
    not name
    are left as they are (merged into the lead's existing custom fields). The method `POST` comes from
    the later
    revision of the vendor page. The request sends `Accept: application/json` (documented).

    The vendor's prose calls the custom fields object `LeadCustomFields`, while its example body (and
    this
    spec) uses the key `leadCustomField`; the example is followed here.

    Args:
        body (LeadSyncRequest): One lead to create or update. Example: {'leadInfo': {'email':
            'john.doe@provider.com', 'firstName': 'John'}, 'leadCustomField': {'customField1':
            'Value'}}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | SyncResponse | str]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = client.get_httpx_client().request(
        **kwargs,
    )

    return _build_response(client=client, response=response)


def sync(
    *,
    client: AuthenticatedClient,
    body: LeadSyncRequest,
) -> ErrorResponse | SyncResponse | str | None:
    """Create or update a lead (delayed)

     Adds information to a lead, or creates it, keyed by `leadInfo.email`. The call is *delayed*: it is
    answered at once and the lead is processed a little later, so that clients can push high volumes.
    A 200 means the lead was **accepted**, not that it was applied.

    Standard fields go in `leadInfo`; custom fields in `leadCustomField` (a map of field name to value)
    that
    the vendor says are edited, updated or added on the lead. **Assumed:** custom fields the body does
    not name
    are left as they are (merged into the lead's existing custom fields). The method `POST` comes from
    the later
    revision of the vendor page. The request sends `Accept: application/json` (documented).

    The vendor's prose calls the custom fields object `LeadCustomFields`, while its example body (and
    this
    spec) uses the key `leadCustomField`; the example is followed here.

    Args:
        body (LeadSyncRequest): One lead to create or update. Example: {'leadInfo': {'email':
            'john.doe@provider.com', 'firstName': 'John'}, 'leadCustomField': {'customField1':
            'Value'}}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | SyncResponse | str
    """

    return sync_detailed(
        client=client,
        body=body,
    ).parsed


async def asyncio_detailed(
    *,
    client: AuthenticatedClient,
    body: LeadSyncRequest,
) -> Response[ErrorResponse | SyncResponse | str]:
    """Create or update a lead (delayed)

     Adds information to a lead, or creates it, keyed by `leadInfo.email`. The call is *delayed*: it is
    answered at once and the lead is processed a little later, so that clients can push high volumes.
    A 200 means the lead was **accepted**, not that it was applied.

    Standard fields go in `leadInfo`; custom fields in `leadCustomField` (a map of field name to value)
    that
    the vendor says are edited, updated or added on the lead. **Assumed:** custom fields the body does
    not name
    are left as they are (merged into the lead's existing custom fields). The method `POST` comes from
    the later
    revision of the vendor page. The request sends `Accept: application/json` (documented).

    The vendor's prose calls the custom fields object `LeadCustomFields`, while its example body (and
    this
    spec) uses the key `leadCustomField`; the example is followed here.

    Args:
        body (LeadSyncRequest): One lead to create or update. Example: {'leadInfo': {'email':
            'john.doe@provider.com', 'firstName': 'John'}, 'leadCustomField': {'customField1':
            'Value'}}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        Response[ErrorResponse | SyncResponse | str]
    """

    kwargs = _get_kwargs(
        body=body,
    )

    response = await client.get_async_httpx_client().request(**kwargs)

    return _build_response(client=client, response=response)


async def asyncio(
    *,
    client: AuthenticatedClient,
    body: LeadSyncRequest,
) -> ErrorResponse | SyncResponse | str | None:
    """Create or update a lead (delayed)

     Adds information to a lead, or creates it, keyed by `leadInfo.email`. The call is *delayed*: it is
    answered at once and the lead is processed a little later, so that clients can push high volumes.
    A 200 means the lead was **accepted**, not that it was applied.

    Standard fields go in `leadInfo`; custom fields in `leadCustomField` (a map of field name to value)
    that
    the vendor says are edited, updated or added on the lead. **Assumed:** custom fields the body does
    not name
    are left as they are (merged into the lead's existing custom fields). The method `POST` comes from
    the later
    revision of the vendor page. The request sends `Accept: application/json` (documented).

    The vendor's prose calls the custom fields object `LeadCustomFields`, while its example body (and
    this
    spec) uses the key `leadCustomField`; the example is followed here.

    Args:
        body (LeadSyncRequest): One lead to create or update. Example: {'leadInfo': {'email':
            'john.doe@provider.com', 'firstName': 'John'}, 'leadCustomField': {'customField1':
            'Value'}}.

    Raises:
        errors.UnexpectedStatus: If the server returns an undocumented status code and Client.raise_on_unexpected_status is True.
        httpx.TimeoutException: If the request takes longer than Client.timeout.

    Returns:
        ErrorResponse | SyncResponse | str
    """

    return (
        await asyncio_detailed(
            client=client,
            body=body,
        )
    ).parsed

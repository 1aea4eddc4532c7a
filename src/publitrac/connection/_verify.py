"""Checking a connection before anything is sent: fetch a token with its key.

A token proves both the address (something answered getToken under the base URL) and the key (it was accepted).
"""

from __future__ import annotations

from ._client import Publitrac


def verify_key(client: Publitrac) -> None:
    """Fetch a token with the connection's API key; the connection keeps it for its next calls (sliding TTL).

    Args:
        client: the connection to check.

    Raises:
        AuthenticationError: the key was refused.
        ConnectionFailed: nothing answered at the base URL.
        ApiError: getToken answered an error (404: the base URL is not the API's; 5xx: the service is unwell,
            after the usual retries).

    Example (not run by the doctests: it needs a server, here the sandbox on 127.0.0.1:8765):
        >>> verify_key(publitrac.Publitrac(api_key="k3y", base_url="http://127.0.0.1:8765/v2"))  # doctest: +SKIP
    """
    client.auth._refresh(None)

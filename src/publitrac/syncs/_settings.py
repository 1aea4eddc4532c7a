"""What every sync checks before it starts (in memory, streamed, on Dask): the run settings' defaults and their
check, and the connection a run uses."""

from __future__ import annotations

import contextlib
from typing import Any

from ..connection._client import Publitrac
from .._exceptions import ConfigurationError

__all__ = [
    "DEFAULT_CONCURRENCY",
    "DEFAULT_MAX_ATTEMPTS",
    "DEFAULT_MAX_RETRY_TIME",
    "check_settings",
    "run_connection",
]

DEFAULT_CONCURRENCY = 16
DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_MAX_RETRY_TIME = 60.0


def check_settings(
    concurrency: int,
    rate_limit: float | None,
    max_attempts: int,
    max_retry_time: float,
    resend: str = "changed",
) -> None:
    """Refuse settings no run can use, naming the keyword.

    Raises:
        ConfigurationError: a concurrency or max_attempts below 1, a rate_limit or max_retry_time out of range,
            a resend other than "changed" or "all".

    Example:
        >>> check_settings(DEFAULT_CONCURRENCY, None, DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_RETRY_TIME)
    """
    if not isinstance(concurrency, int) or concurrency < 1:
        raise ConfigurationError(f"concurrency must be a whole number >= 1, got {concurrency!r}")
    if rate_limit is not None and not rate_limit > 0:
        raise ConfigurationError(
            f"rate_limit must be a number of requests per second > 0, got {rate_limit!r}"
        )
    if not isinstance(max_attempts, int) or max_attempts < 1:
        raise ConfigurationError(f"max_attempts must be a whole number >= 1, got {max_attempts!r}")
    if not max_retry_time >= 0:
        raise ConfigurationError(f"max_retry_time must be a number of seconds >= 0, got {max_retry_time!r}")
    if resend not in ("changed", "all"):
        raise ConfigurationError(f"resend must be 'changed' or 'all', got {resend!r}")


def run_connection(client: Any, *, dry_run: bool, ledger: object) -> Publitrac | None:
    """The connection a run uses: `client`, else `Publitrac()` from the environment.

    A dry run needs none, but takes the environment's when there is one and a ledger may be used (`ledger` is
    not False): it then reports the rows Publitrac already has as unchanged.

    Raises:
        ConfigurationError: no client, and the environment names no API key or base URL (not for a dry run).
        TypeError: `client` is not a `publitrac.Publitrac`.
    """
    if client is None and not dry_run:
        client = Publitrac()
    if client is None and ledger is not False:
        with contextlib.suppress(ConfigurationError):
            client = Publitrac()
    if client is not None and not isinstance(client, Publitrac):
        raise TypeError(f"client must be a publitrac.Publitrac connection, got {type(client).__name__}")
    return client

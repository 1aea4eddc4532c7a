"""The run settings every sync shares (in memory, streamed, on Dask): their defaults and their check."""

from __future__ import annotations

from ._exceptions import ConfigurationError

__all__ = ["DEFAULT_CONCURRENCY", "DEFAULT_MAX_ATTEMPTS", "DEFAULT_MAX_RETRY_TIME", "check_settings"]

DEFAULT_CONCURRENCY = 16
DEFAULT_MAX_ATTEMPTS = 5
DEFAULT_MAX_RETRY_TIME = 60.0


def check_settings(
    concurrency: int, rate_limit: float | None, max_attempts: int, max_retry_time: float
) -> None:
    """Refuse settings no run can use, naming the keyword.

    Raises:
        ConfigurationError: a concurrency or max_attempts below 1, a rate_limit or max_retry_time out of range.

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

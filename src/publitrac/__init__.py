"""Push leads from pandas DataFrames to the Publitrac marketing API v2."""

from __future__ import annotations

from ._exceptions import ApiError, AuthenticationError, ConfigurationError, ConnectionFailed, PublitracError

__all__ = [
    "ApiError",
    "AuthenticationError",
    "ConfigurationError",
    "ConnectionFailed",
    "PublitracError",
]

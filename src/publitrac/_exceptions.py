"""Errors that stop a whole run. Problems with single rows are reported in a SyncReport, never raised.

    PublitracError
    ├── ConfigurationError      missing or unsafe settings (no API key, no base URL, plain http to a remote host)
    ├── ConnectionFailed        the host could not be reached at all
    └── ApiError                the API answered something the toolkit cannot go on with (.status_code, .response)
        └── AuthenticationError the API key was refused (getToken answered 401)

Messages never hold the API key or a token.
"""

from __future__ import annotations

from typing import Any


class PublitracError(Exception):
    """Base of every error raised by the toolkit."""


class ConfigurationError(PublitracError):
    """A setting is missing, malformed or unsafe."""


class ApiError(PublitracError):
    """The API answered with an error that stops the run."""

    def __init__(self, message: str, *, status_code: int | None = None, response: Any = None) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.response = response


class AuthenticationError(ApiError):
    """The API key was refused."""


class ConnectionFailed(PublitracError):
    """The API could not be reached."""

"""Errors that stop a whole run. Problems with single rows are reported in a SyncReport, never raised.

    PublitracError
    ├── ConfigurationError      a missing or unsafe setting (API key, base URL, plain http to a remote host)
    ├── ConnectionFailed        the host could not be reached at all
    ├── SyncInterrupted         a blocking sync was interrupted (Ctrl-C); `.report` accounts for every row
    ├── RunRefused              a guard stopped the run (too many invalid rows, a mass change, a failing canary);
    │                           `.setting` names the guard, `.figures` holds its numbers, `.report` every row
    └── ApiError                the API answered what the toolkit cannot go on with (.status_code, .response)
        └── AuthenticationError the API key was refused (getToken answered 401)

When an error stops a sync part way, the error's `.report` holds the report of that run (every row accounted
for: accepted, failed, `in_flight` or `not_sent`); otherwise `.report` is None.

Messages never hold the API key or a token.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ._words import PYTHON, Setting, Worded

if TYPE_CHECKING:
    from .engine._report import SyncReport


class PublitracError(Worded, Exception):
    """Base of every error raised by the toolkit.

    A message that names a setting holds it as a `Setting`: `str(error)` names the Python keyword (`email=`),
    `error.in_words("cli")` the command line's flag (`--email-column`).

    Args:
        parts: the message, in pieces of text and settings.

    Attributes:
        report: the SyncReport of the run this error stopped, or None when no sync was running.
    """

    report: SyncReport | None = None

    def __init__(self, *parts: str | Setting) -> None:
        self.parts = parts
        super().__init__(Setting.render(parts, PYTHON))


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


class SyncInterrupted(PublitracError):
    """A blocking sync was interrupted (KeyboardInterrupt); `.report` says what happened to every row.

    Args:
        report: the report of the interrupted run.

    Example (not run by the doctests: it needs a frame `df`, a connection `pt`, and a Ctrl-C):
        >>> try:
        ...     report = publitrac.sync(df, pt)            # doctest: +SKIP
        ... except publitrac.SyncInterrupted as stopped:
        ...     report = stopped.report                    # accepted, failed, in_flight or not_sent per row
    """

    report: SyncReport  # always set, unlike the base class's

    def __init__(self, report: SyncReport) -> None:
        super().__init__(f"Sync interrupted: {report.describe()}")
        self.report = report


class RunRefused(PublitracError):
    """A guard before sending stopped the run: the API is write-only, and a bad push cannot be undone.

    Raised by `max_invalid` (too many invalid rows: nothing sent), the column guard (`max_changed`: a column
    mapped last time is gone or empty, or a field would change on too many leads: nothing sent;
    `allow_mass_change=True` goes on) and `canary` (too many of the first rows failed: the rest not sent).

    Args:
        parts: the message, in pieces of text and settings (each interface names the setting its own way).
        setting: the guard's setting (`"max_invalid"`, `"max_changed"`, `"canary"`).
        figures: the numbers the decision was made on (e.g. `{"invalid": 312, "rows": 1000, "limit": 20}`).

    Attributes:
        report: the run's report (every row accounted for: invalid, unchanged, accepted, failed, `not_sent`).

    Example:
        >>> refused = RunRefused("too many", setting="max_invalid", figures={"invalid": 3, "rows": 4})
        >>> refused.setting, refused.figures["invalid"]
        ('max_invalid', 3)
    """

    def __init__(self, *parts: str | Setting, setting: str, figures: Mapping[str, Any]) -> None:
        super().__init__(*parts)
        self.setting = setting
        self.figures = dict(figures)

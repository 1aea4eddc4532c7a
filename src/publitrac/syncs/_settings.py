"""The run settings: one typed definition of the keywords every sync takes, their defaults and their checks; and
the connection a run uses.

Every sync entry point (`publitrac.sync`, `sync_async`, `sync_file`, `sync_dask`, `df.publitrac.sync`) takes the
run settings as keywords typed by `SyncOptions` (`**options: Unpack[SyncOptions]`, PEP 692), turns them into one
frozen `RunSettings` (`RunSettings.of`: defaults filled in, an unknown keyword refused, every value checked) and
hands that down; the command line builds its keywords from the same definition (`cli._common`).

A new setting is a line in `SyncOptions`, a field with its default in `RunSettings`, and its line in
`publitrac.sync`'s docstring (`tests/test_settings.py` holds the three together, and the command line to a flag
for it or a reason why not).

Why a `TypedDict` with `Unpack` and not the settings written out in each signature, as httpx's top-level
functions, pandas' `read_csv` and dask's `to_sql` do: they repeat every parameter in every function (pandas in
each overload too), which is what this module removes. `Unpack` keeps what the written-out form gave: mypy and
editors check each keyword's name and type, and `publitrac.sync`'s overloads still give a `SyncReport`,
`StreamReport` or `DaskSyncReport` by argument type. `help()`, IPython's `?` and Jupyter's tooltips read
`inspect.signature`, which `with_run_settings` fills with every setting and its default, so they show the same
signature as before.
"""

from __future__ import annotations

import contextlib
import dataclasses
import difflib
import inspect
import numbers
import typing
from collections.abc import Callable, Mapping, Sequence
from os import PathLike
from typing import Any, Literal, TypedDict, TypeVar

from .._exceptions import ConfigurationError
from ..connection._client import Publitrac
from ..lead._mapping import LeadMapping
from ..ledger._store import Ledger

__all__ = [
    "ColumnOptions",
    "LedgerSetting",
    "RunOptions",
    "RunSettings",
    "SyncOptions",
    "run_connection",
    "with_run_settings",
]

#: What `ledger=` takes.
LedgerSetting = str | PathLike[str] | Ledger | Literal[False] | None


class ColumnOptions(TypedDict, total=False):
    """The settings that choose the columns, as keywords (what `map_columns` takes too)."""

    email: str | None
    mapping: Mapping[str, str | None] | LeadMapping | None
    custom_fields: Sequence[str] | Mapping[str, str] | Literal["all"] | None


class RunOptions(TypedDict, total=False):
    """The settings of how a run goes, as keywords."""

    concurrency: int
    rate_limit: float | None
    max_attempts: int
    max_retry_time: float
    progress: bool | None
    dry_run: bool | Literal["diff"]
    ledger: str | PathLike[str] | Ledger | Literal[False] | None
    resend: Literal["changed", "all"]
    max_invalid: float | None
    max_changed: float | None
    allow_mass_change: bool
    canary: int | None
    stop_if_failing: float
    keep_bodies: bool
    input_name: str | None
    input_file: str | PathLike[str] | None
    retry_of: int | None


class SyncOptions(ColumnOptions, RunOptions, total=False):
    """The run settings as keywords (what `**options: Unpack[SyncOptions]` accepts); defaults in `RunSettings`."""


@dataclasses.dataclass(frozen=True, kw_only=True)
class RunSettings:
    """The settings of one run, defaults filled in and checked; each is documented in `publitrac.sync`.

    Example:
        >>> settings = RunSettings.of({"concurrency": 32}, entry="sync")
        >>> settings.concurrency, settings.max_attempts, settings.resend
        (32, 5, 'changed')
        >>> RunSettings.of({"concurrancy": 32}, entry="sync")
        Traceback (most recent call last):
        ...
        TypeError: sync() got an unexpected keyword argument 'concurrancy' (did you mean 'concurrency'?)
    """

    email: str | None = None
    mapping: Mapping[str, str | None] | LeadMapping | None = None
    custom_fields: Sequence[str] | Mapping[str, str] | Literal["all"] | None = None
    concurrency: int = 16
    rate_limit: float | None = None
    max_attempts: int = 5
    max_retry_time: float = 60.0
    progress: bool | None = None
    dry_run: bool | Literal["diff"] = False
    ledger: str | PathLike[str] | Ledger | Literal[False] | None = None
    resend: Literal["changed", "all"] = "changed"
    max_invalid: float | None = 20
    max_changed: float | None = 50
    allow_mass_change: bool = False
    canary: int | None = None
    stop_if_failing: float = 20
    keep_bodies: bool = True
    input_name: str | None = None
    input_file: str | PathLike[str] | None = None
    retry_of: int | None = None

    def __post_init__(self) -> None:
        self._check()

    @classmethod
    def of(cls, options: Mapping[str, Any], *, entry: str) -> RunSettings:
        """The settings from the keywords given to `entry` (a function's name, for the error).

        Raises:
            TypeError: a keyword that is no run setting, as Python says it (with the closest setting's name).
            ConfigurationError: a value no run can use, naming the keyword.
        """
        names = cls.names()
        for name in options:
            if name not in names:
                close = difflib.get_close_matches(name, names, n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else ""
                raise TypeError(f"{entry}() got an unexpected keyword argument {name!r}{hint}")
        return cls(**options)

    @classmethod
    def names(cls) -> list[str]:
        """The settings' names, in the order of the signatures."""
        return [field.name for field in dataclasses.fields(cls)]

    def replace(self, **changes: Any) -> RunSettings:
        """A copy with `changes` (checked again)."""
        return dataclasses.replace(self, **changes)

    def options(self) -> SyncOptions:
        """The settings as the keywords of a sync (to hand a run's settings to another sync)."""
        return typing.cast(SyncOptions, {name: getattr(self, name) for name in self.names()})

    def _check(self) -> None:
        """Refuse settings no run can use, naming the keyword."""
        if not _whole(self.concurrency) or self.concurrency < 1:
            raise ConfigurationError(f"concurrency must be a whole number >= 1, got {self.concurrency!r}")
        if self.rate_limit is not None and not _number_above(self.rate_limit, 0):
            raise ConfigurationError(
                f"rate_limit must be a number of requests per second > 0, got {self.rate_limit!r}"
            )
        if not _whole(self.max_attempts) or self.max_attempts < 1:
            raise ConfigurationError(f"max_attempts must be a whole number >= 1, got {self.max_attempts!r}")
        if not _number_above(self.max_retry_time, 0, inclusive=True):
            raise ConfigurationError(
                f"max_retry_time must be a number of seconds >= 0, got {self.max_retry_time!r}"
            )
        if self.resend not in ("changed", "all"):
            raise ConfigurationError(f"resend must be 'changed' or 'all', got {self.resend!r}")
        if self.dry_run not in (True, False, "diff"):
            raise ConfigurationError(f"dry_run must be True, False or 'diff', got {self.dry_run!r}")
        for name in ("max_invalid", "max_changed", "stop_if_failing"):
            value = getattr(self, name)
            if (value is not None or name == "stop_if_failing") and not _percent(value):
                raise ConfigurationError(f"{name} must be a percentage from 0 to 100, got {value!r}")
        if self.canary is not None and (not _whole(self.canary) or self.canary < 1):
            raise ConfigurationError(
                f"canary must be a whole number of rows >= 1 or None, got {self.canary!r}"
            )
        for name in ("allow_mass_change", "keep_bodies"):
            if not isinstance(getattr(self, name), bool):
                raise ConfigurationError(f"{name} must be True or False, got {getattr(self, name)!r}")
        if self.retry_of is not None and (not _whole(self.retry_of) or self.retry_of < 1):
            raise ConfigurationError(
                f"retry_of must be a run id (a whole number >= 1), got {self.retry_of!r}"
            )


def _whole(value: object) -> bool:
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def _percent(value: object) -> bool:
    return _number_above(value, 0, inclusive=True) and float(value) <= 100  # type: ignore[arg-type]


def _number_above(value: object, floor: float, *, inclusive: bool = False) -> bool:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        return False
    number = float(value)
    return number >= floor if inclusive else number > floor


F = TypeVar("F", bound=Callable[..., Any])


def with_run_settings(function: F) -> F:
    """Show the run settings in `function`'s signature for `help()`, IPython and Jupyter (`inspect.signature`).

    `function` takes them as `**options: Unpack[SyncOptions]`; its signature then lists each one as a
    keyword-only parameter with its default and type, in place of `**options`, before the function's own
    keyword-only parameters.

    Example:
        >>> def entry(df: object, *, results_path: str | None = None, **options: object) -> None: ...
        >>> shown = str(inspect.signature(with_run_settings(entry)))
        >>> shown.startswith("(df: object, *, email: str | None = None, mapping: Mapping[str, str | None] |")
        True
        >>> shown.endswith("retry_of: int | None = None, results_path: str | None = None) -> None")
        True
    """
    signature = inspect.signature(function)
    own = [
        _as_written(p) for p in signature.parameters.values() if p.kind is not inspect.Parameter.VAR_KEYWORD
    ]
    positional = [p for p in own if p.kind is not inspect.Parameter.KEYWORD_ONLY]
    keyword_only = [p for p in own if p.kind is inspect.Parameter.KEYWORD_ONLY]
    settings = [
        inspect.Parameter(
            field.name, inspect.Parameter.KEYWORD_ONLY, default=field.default, annotation=_Written(field.type)
        )
        for field in dataclasses.fields(RunSettings)
    ]
    returns = signature.return_annotation
    shown = signature.replace(
        parameters=[*positional, *settings, *keyword_only],
        return_annotation=_Written(returns) if isinstance(returns, str) else returns,
    )
    setattr(function, "__signature__", shown)
    return function


class _Written(str):
    """An annotation as the source writes it, shown without quotes (`inspect.formatannotation` uses repr)."""

    def __repr__(self) -> str:
        return str(self)


def _as_written(parameter: inspect.Parameter) -> inspect.Parameter:
    if isinstance(parameter.annotation, str):
        return parameter.replace(annotation=_Written(parameter.annotation))
    return parameter


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

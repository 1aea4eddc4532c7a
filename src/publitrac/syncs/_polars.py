"""`pl.DataFrame.publitrac` and `pl.LazyFrame.publitrac`: the toolkit's functions as Polars methods.

Registered through Polars' own `pl.api.register_dataframe_namespace("publitrac")` (and the LazyFrame one), as
`df.publitrac` is registered on pandas; each method delegates in one line and keeps only the frame.

`import publitrac` never imports Polars: when Polars is already loaded (`sys.modules`) the namespace is registered
at once; when it is installed but not loaded yet, a finder placed first in `sys.meta_path` registers it right after
Polars' own import ends, and removes itself; when it is not installed nothing happens.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import importlib.util
import logging
import sys
from collections.abc import Sequence
from types import ModuleType
from typing import Any, Unpack

import pandas as pd

from ..connection._client import Publitrac
from ..engine._report import SyncReport
from ._settings import SyncOptions, with_run_settings
from ._stream import StreamReport
from ._sync import sync
from ._tables import preview, validate

__all__ = ["PolarsNamespace", "install"]

logger = logging.getLogger("publitrac")
NAMESPACE = "publitrac"


class PolarsNamespace:
    """`df.publitrac.sync(...)`, `.validate(...)`, `.preview(n, ...)` on a Polars DataFrame or LazyFrame.

    A DataFrame is synced in memory (a SyncReport), a LazyFrame batch by batch (a StreamReport).

    Args:
        frame: the Polars DataFrame or LazyFrame (given by Polars).

    Example:
        >>> import polars as pl, publitrac
        >>> df = pl.DataFrame({"Email": ["ana@exemple.fr", "not an email"], "Lead ID": ["007", "008"]})
        >>> df.publitrac.preview()
        [{'leadInfo': {'email': 'ana@exemple.fr', 'crmLeadId': '007'}}]
        >>> df.lazy().publitrac.validate()["row"].tolist()
        [1]
    """

    def __init__(self, frame: Any) -> None:
        self._frame = frame

    @with_run_settings
    def sync(
        self, client: Publitrac | None = None, **options: Unpack[SyncOptions]
    ) -> SyncReport | StreamReport:
        """`publitrac.sync(df, client, **options)`: see there."""
        report: SyncReport | StreamReport = sync(self._frame, client, **options)
        return report

    def validate(self, **mapping: Any) -> pd.DataFrame:
        """`publitrac.validate(df, **mapping)`: the problems of every row; nothing is sent."""
        return validate(self._frame, **mapping)

    def preview(self, n: int = 5, **mapping: Any) -> list[dict[str, Any]]:
        """`publitrac.preview(df, n, **mapping)`: the first `n` bodies that would be sent."""
        return preview(self._frame, n, **mapping)


def register(polars: ModuleType) -> None:
    """Register the namespace on Polars' DataFrame and LazyFrame (once).

    Args:
        polars: the `polars` module.
    """
    if NAMESPACE in vars(polars.DataFrame):
        return
    polars.api.register_dataframe_namespace(NAMESPACE)(PolarsNamespace)
    polars.api.register_lazyframe_namespace(NAMESPACE)(PolarsNamespace)


class _AfterPolars(importlib.abc.MetaPathFinder):
    """Finds nothing itself: when `polars` is imported, wraps its loader so that `register` runs after it."""

    def find_spec(
        self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname != "polars":
            return None
        if self in sys.meta_path:
            sys.meta_path.remove(self)
        spec = importlib.util.find_spec(fullname)
        loader = spec.loader if spec is not None else None
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        exec_module = loader.exec_module

        def exec_then_register(module: ModuleType) -> None:
            exec_module(module)
            try:
                register(module)
            except Exception as exc:  # never break the user's import of Polars
                logger.warning("publitrac: could not register the Polars namespace (%s)", exc)

        loader.exec_module = exec_then_register  # type: ignore[method-assign]
        return spec


def install() -> None:
    """Register the namespace now if Polars is loaded, else right after it is imported (see the docstring)."""
    polars = sys.modules.get("polars")
    if polars is not None:
        register(polars)
    elif importlib.util.find_spec("polars") is not None and not any(
        isinstance(finder, _AfterPolars) for finder in sys.meta_path
    ):
        sys.meta_path.insert(0, _AfterPolars())


install()

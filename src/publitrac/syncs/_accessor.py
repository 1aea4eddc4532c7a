"""`df.publitrac`: the toolkit's functions as DataFrame methods, each a one-line delegation.

The accessor keeps only the frame and never modifies it; every method is the function of the same name
with the frame as first argument (`df.publitrac.sync(pt)` is `publitrac.sync(df, pt)`).
"""

from __future__ import annotations

from typing import Any, Unpack

import pandas as pd

from ..lead._preview import preview
from ..engine._report import SyncReport
from ..connection._client import Publitrac
from ._frame import sync_async, sync_frame
from ._settings import SyncOptions, with_run_settings
from ..lead._validation import validate


@pd.api.extensions.register_dataframe_accessor("publitrac")
class PublitracAccessor:
    """`df.publitrac.sync(...)`, `.sync_async(...)`, `.validate(...)`, `.preview(n, ...)`.

    Args:
        frame: the DataFrame (given by pandas).

    Example:
        >>> import publitrac
        >>> df = pd.DataFrame({"Email": ["ana@exemple.fr", "not an email"]})
        >>> df.publitrac.validate()["problem"].str.startswith("not a valid email").tolist()
        [True]
    """

    def __init__(self, frame: pd.DataFrame) -> None:
        self._frame = frame

    @with_run_settings
    def sync(self, client: Publitrac | None = None, **options: Unpack[SyncOptions]) -> SyncReport:
        """`publitrac.sync(df, client, **options)`: see there."""
        return sync_frame(self._frame, client, **options)

    @with_run_settings
    async def sync_async(self, client: Publitrac | None = None, **options: Unpack[SyncOptions]) -> SyncReport:
        """`await publitrac.sync_async(df, client, **options)`: see there."""
        return await sync_async(self._frame, client, **options)

    def validate(self, **mapping: Any) -> pd.DataFrame:
        """`publitrac.validate(df, **mapping)`: the problems of every row; nothing is sent."""
        return validate(self._frame, **mapping)

    def preview(self, n: int = 5, **mapping: Any) -> list[dict[str, Any]]:
        """`publitrac.preview(df, n, **mapping)`: the first `n` bodies that would be sent."""
        return preview(self._frame, n, **mapping)

"""Push leads from pandas DataFrames to the Publitrac marketing API v2.

Example (a local sandbox stands in for your account; `publitrac.Publitrac()` reads the environment):
    >>> import pandas as pd, publitrac
    >>> from publitrac.sandbox import run_sandbox
    >>> df = pd.DataFrame({"E-mail": ["ada@example.com", "not an email"], "First Name": ["Ada", "Bob"]})
    >>> with run_sandbox() as sandbox:
    ...     pt = publitrac.Publitrac(api_key=sandbox.api_key, base_url=sandbox.base_url)
    ...     report = df.publitrac.sync(pt, email="E-mail", progress=False)
    >>> report.counts["accepted"], report.counts["invalid"]
    (1, 1)
    >>> publitrac.__version__ == importlib.metadata.version("publitrac")
    True
"""

from __future__ import annotations

import importlib.metadata

from .syncs import _accessor  # noqa: F401  (registers df.publitrac)
from .syncs import _polars  # noqa: F401  (registers pl.DataFrame.publitrac, without importing Polars)
from .syncs._tables import preview, validate
from .connection._client import Publitrac
from .syncs._dask import DaskSyncReport, sync_dask
from .files._encoding import EncodingAlternative
from .files._reader import AmbiguousEncodingWarning, LeadFile, LeadFileError, read_leads
from .ledger._store import Ledger, open_ledger
from ._exceptions import (
    ApiError,
    AuthenticationError,
    ConfigurationError,
    ConnectionFailed,
    PublitracError,
    RunRefused,
    SyncInterrupted,
)
from .lead._mapping import LeadMapping, map_columns
from .engine._report import SyncReport
from .syncs._stream import StreamReport, sync_file
from .syncs._sync import sync
from .syncs._frame import last_report, sync_async

#: The installed distribution's version (from its metadata: pyproject.toml's `version`).
__version__: str = importlib.metadata.version("publitrac")

__all__ = [
    "AmbiguousEncodingWarning",
    "ApiError",
    "AuthenticationError",
    "ConfigurationError",
    "ConnectionFailed",
    "DaskSyncReport",
    "EncodingAlternative",
    "LeadFile",
    "LeadFileError",
    "LeadMapping",
    "Ledger",
    "Publitrac",
    "PublitracError",
    "RunRefused",
    "StreamReport",
    "SyncInterrupted",
    "SyncReport",
    "last_report",
    "map_columns",
    "open_ledger",
    "preview",
    "read_leads",
    "sync",
    "sync_async",
    "sync_dask",
    "sync_file",
    "validate",
]

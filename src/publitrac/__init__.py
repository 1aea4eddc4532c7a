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

from . import _accessor  # noqa: F401  (registers df.publitrac)
from ._preview import preview
from ._client import Publitrac
from ._dask import DaskSyncReport, sync_dask
from ._encoding import EncodingAlternative
from ._files import AmbiguousEncodingWarning, LeadFile, LeadFileError, read_leads
from ._ledger import Ledger, open_ledger
from ._exceptions import (
    ApiError,
    AuthenticationError,
    ConfigurationError,
    ConnectionFailed,
    PublitracError,
    SyncInterrupted,
)
from ._mapping import LeadMapping, map_columns
from ._report import SyncReport
from ._stream import StreamReport, sync_file
from ._sync import sync
from ._sync_frame import last_report, sync_async
from ._validation import validate

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

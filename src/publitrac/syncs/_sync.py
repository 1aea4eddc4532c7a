"""`publitrac.sync`: one entry for every kind of lead data, each handed to the sync made for it.

A pandas DataFrame goes to the in-memory sync (`_frame`), an iterable of DataFrames to the streaming sync
(`_stream`), a Dask DataFrame to the sync on Dask (`_dask`). A table of another library (`files._tables`) is
converted to pandas once: an eager one (a Polars DataFrame, an Arrow Table) goes to the in-memory sync, a lazy one
(a Polars LazyFrame, an Arrow RecordBatchReader, a DuckDB relation, an Arrow stream) to the streaming sync, batch
by batch (`_tables`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, Unpack, cast, overload

import pandas as pd

from ..connection._client import Publitrac
from ._dask import DaskSyncReport, is_dask_frame, run_dask
from ..engine._report import SyncReport
from ._settings import RunSettings, SyncOptions, with_run_settings
from ._stream import StreamReport, run_stream
from ._frame import run_frame

from ..files._tables import ArrowStreamExportable, is_table
from ._tables import open_mapped

if TYPE_CHECKING:
    import duckdb
    import polars as pl
    from dask.dataframe import DataFrame as DaskFrame

__all__ = ["sync"]


@overload
def sync(df: pd.DataFrame, client: Publitrac | None = None, **options: Unpack[SyncOptions]) -> SyncReport: ...


@overload
def sync(
    df: DaskFrame, client: Publitrac | None = None, **options: Unpack[SyncOptions]
) -> DaskSyncReport: ...


@overload
def sync(
    df: Iterable[pd.DataFrame], client: Publitrac | None = None, **options: Unpack[SyncOptions]
) -> StreamReport: ...


@overload
def sync(df: pl.DataFrame, client: Publitrac | None = None, **options: Unpack[SyncOptions]) -> SyncReport: ...


# No overload for a bare `ArrowStreamExportable`: a pandas DataFrame has `__arrow_c_stream__` too, so a call with
# `**settings` of Any would match both and type as Any; such an object is accepted at run time (the implementation
# below) and types as a `StreamReport` through `pa.RecordBatchReader.from_stream(obj)` (pyarrow is untyped: Any).
@overload
def sync(
    df: pl.LazyFrame | duckdb.DuckDBPyRelation,
    client: Publitrac | None = None,
    **options: Unpack[SyncOptions],
) -> StreamReport: ...


@with_run_settings
def sync(
    df: pd.DataFrame
    | DaskFrame
    | Iterable[pd.DataFrame]
    | pl.DataFrame
    | pl.LazyFrame
    | duckdb.DuckDBPyRelation
    | ArrowStreamExportable,
    client: Publitrac | None = None,
    **options: Unpack[SyncOptions],
) -> SyncReport | StreamReport | DaskSyncReport:
    """Send every valid row of `df` to Publitrac's delayed sync and report what happened to each row.

    Works in scripts and in Jupyter (where an event loop already runs, the sync runs in a worker thread with
    its own loop). Rows that share an email are sent one after another in row order: the later row wins.

    Args:
        df: the leads; never modified. A `dask.dataframe.DataFrame` is synced on Dask, each partition on a
            worker, and gives a `DaskSyncReport` (see `publitrac.sync_dask`, which has its extra options). An
            iterable of DataFrames (batches of one stream, e.g. `pd.read_csv(..., chunksize=)`) is synced
            batch by batch and gives a `StreamReport` (see `publitrac.sync_file`). A Polars DataFrame or an
            Arrow Table is converted to pandas once and gives a SyncReport (its rows numbered from 0); a Polars
            LazyFrame, an Arrow RecordBatchReader, a DuckDB relation or any object with `__arrow_c_stream__` is
            synced batch by batch, memory bounded by the batch, and gives a StreamReport. Values go as the
            table holds them (`007` stays text, integers with nulls stay integers, time zones are kept); a
            sent column of a type that has no exact lead value (Decimal, List, Struct, Binary...) is refused.
        client: the connection; default: `Publitrac()` from the environment (not needed for a dry run).
        email: the email column; detected from the column names when omitted.
        mapping: `{column: leadInfo field}` overrides (`None` drops a column), or a `LeadMapping`.
        custom_fields: columns to send as custom fields: a list, a dict `{column: name}`, or `"all"`.
        concurrency: the most requests in flight at once; below it the number adapts to the API's answers
            (fewer on 429, 503 or a rising latency, more while answers are good).
        rate_limit: at most this many requests per second (retries included); None: no limit.
        max_attempts: attempts per row for transient errors (1: no retry).
        max_retry_time: seconds a row may spend retrying before it is given up as failed.
        progress: show a progress bar; None: when interactive (a terminal or a notebook).
        dry_run: validate and report without sending: invalid rows `invalid`, unchanged rows `unchanged`, the
            others `not_sent` (they would be sent); a guard that would refuse the run is `report.refusal`.
            `"diff"`: also compare with the bodies the ledger last accepted, as `report.diff` (per field, how
            many leads would change; the old and new values of the first rows).
        ledger: where to remember what Publitrac accepted, so that rows it already has are `unchanged` and not
            sent again: None for the default file (`PUBLITRAC_LEDGER`, else the user's data directory), a
            path for another SQLite file, a `Ledger`, or False for none (every row is sent).
        resend: "changed" sends only rows whose body differs from the one last accepted for their email at this
            destination; "all" sends every valid row and refreshes the ledger.
        max_invalid: send nothing when more than this percentage of the rows are invalid (a wrong file, a
            wrong delimiter); None: no limit. Applies from 20 rows; a stream decides on its first batch, then
            stops when the running share goes over.
        max_changed: send nothing when, compared with the last run to this destination in the ledger, a field
            changes on more than this percentage of the leads the ledger knows (from 20 known leads), or a
            column mapped then is missing or empty on every row; None: columns only.
        allow_mass_change: go on past the column guard (`max_changed`).
        canary: send the first N rows to send first, and stop (`RunRefused`, the rest `not_sent`) when more
            than `stop_if_failing` of them fail; None: no canary. Not on Dask.
        stop_if_failing: with `canary`, the percentage of failed canary rows that stops the run.
        keep_bodies: keep each accepted body (compressed) in the ledger, for `dry_run="diff"` and the column
            guard; False keeps the fingerprints only.
        input_name: the name recorded with the run in the ledger (the CLI gives the file's name).
        input_file: the file the rows were read from: the run's record in the ledger keeps its absolute path
            and SHA-256, so that `publitrac retry` can read the same rows again (`sync_file` sets it).
        retry_of: the id of the run this one retries, recorded with the run (`publitrac retry` sets it).

    Returns:
        A SyncReport: `.results` (one row per input row, aligned to `df.index`), `.summary`, `.failed_rows()`,
        `.invalid_rows()`, `.rows_to_retry()`, `.problems`, `.to_csv(path)`, `.run_id` (the run in the ledger).

    Raises:
        ConfigurationError: a bad mapping or setting, a missing API key or base URL, or a sent column of a table
            whose type cannot be sent (the message names it and says what to do).
        AuthenticationError: the API key was refused (nothing is retried).
        ConnectionFailed: the API could not be reached.
        SyncInterrupted: Ctrl-C; its `.report` accounts for every row.
        RunRefused: a guard stopped the run (`max_invalid`, `max_changed`, `canary`); `.figures` says why,
            `.report` accounts for every row.

    Example (against a local sandbox; `publitrac.Publitrac()` reads your account from the environment):
        >>> import pandas as pd, publitrac
        >>> from publitrac.sandbox import run_sandbox
        >>> df = pd.DataFrame({"E-mail": ["ada@example.com", "bad"], "Company": ["ACME", "Initech"]})
        >>> with run_sandbox() as sandbox:
        ...     pt = publitrac.Publitrac(api_key=sandbox.api_key, base_url=sandbox.base_url)
        ...     report = publitrac.sync(df, pt, email="E-mail", custom_fields=["Company"], progress=False)
        ...     sandbox.wait_until_applied(timeout=10)
        ...     sandbox.lead("ada@example.com")["leadCustomField"]
        {'Company': 'ACME'}
        >>> report.counts["accepted"], report.counts["invalid"]
        (1, 1)
    """
    settings = RunSettings.of(options, entry="sync")
    if is_dask_frame(df):
        return run_dask(cast(Any, df), client, settings)
    if is_table(df):
        table, lead_mapping = open_mapped(
            df, email=settings.email, mapping=settings.mapping, custom_fields=settings.custom_fields
        )
        if table.lazy:
            return run_stream(table.batches(sent=lead_mapping.columns), client, settings)
        return run_frame(table.frame(sent=lead_mapping.columns), client, settings)
    if not isinstance(df, pd.DataFrame) and isinstance(df, Iterable) and not isinstance(df, str | bytes):
        return run_stream(df, client, settings)
    return run_frame(cast(pd.DataFrame, df), client, settings)

"""The sync of a `dask.dataframe.DataFrame`: each partition synced on a Dask worker, with its own connection.

Settings travel, connections do not (as `dask.dataframe.to_sql` hands each partition a database URI): the
task graph carries the base URL and the sync's settings; each worker builds its own `Publitrac`, whose API key
comes from the worker's own environment (`PUBLITRAC_API_KEY`) or from `api_key_loader()`, called on the
worker. The key is never pickled into the graph, so no task key, task repr, dashboard page or log shows it.

How a run goes:

1. The columns are mapped on the frame's column names (nothing computed).
2. Each row gets its input partition number, its position in that partition and its email key (trimmed,
   lower-cased); the rows are shuffled on the key, so that every row of one email lands in one partition,
   and sorted back by (partition, position) there: rows of one email keep their input order.
3. Each partition is synced on a worker by `publitrac.sync` (validation, duplicate chaining, retries), which
   returns its per-row results.
4. A worker that dies mid-partition is handled by Dask: its tasks run again elsewhere (re-sending is harmless,
   the API upserts by email, and a partition always re-sends its rows in order). A partition Dask gives up on
   (`distributed.scheduler.allowed-failures`) is reported: its rows `failed`, with the reason, safe to resend.

`rate_limit` is one budget for the whole run (`engine/_budget.py`): a Dask actor holds it, and each partition
reserves slices of it; W workers do not send W times the limit. `concurrency` stays per partition: each
partition's window adapts to the answers it gets, so together they back off when the API refuses.

dask and distributed are imported only when a Dask frame is synced: pandas-only users never import them.
"""

from __future__ import annotations

import dataclasses
import importlib
import os
import socket
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from os import PathLike
from typing import Any, Literal, Unpack

import numpy as np
import pandas as pd

from ..connection._client import API_KEY_ENV, Publitrac
from .._exceptions import ConfigurationError, ConnectionFailed, PublitracError
from ..engine._budget import Budget, RateBudget
from ..lead._mapping import LeadMapping, map_columns
from ..engine._report import STATUSES, SUMMARY_ORDER, ChangeCounts, provenance
from ._settings import RunSettings, SyncOptions, with_run_settings
from ..lead._values import normalised_emails

PARTITION = "__publitrac_partition"
ROW = "__publitrac_row"
KEY = "__publitrac_key"
_HELPERS = (PARTITION, ROW, KEY)
# Seconds a partition waits for the budget's actor to answer before the partition stops.
ACTOR_TIMEOUT = 60.0


def is_dask_frame(obj: object) -> bool:
    """Whether `obj` is a dask DataFrame (without importing dask when it is not loaded).

    Example:
        >>> is_dask_frame(pd.DataFrame())
        False
    """
    module = sys.modules.get("dask.dataframe")
    return module is not None and isinstance(obj, module.DataFrame)


@dataclasses.dataclass(frozen=True)
class WorkerSettings:
    """What a worker needs to sync a partition: settings only, never a secret (this object is in the graph).

    `base_url` None means the worker reads `PUBLITRAC_BASE_URL` from its own environment.
    """

    base_url: str | None
    timeout: float
    verify: bool | str
    refresh_margin: float
    allow_insecure_http: bool
    api_key_loader: Callable[[], str] | None
    run: RunSettings
    """The run's settings as each partition's sync takes them: the mapping decided (a `LeadMapping`), the
    ledger as a path or a URL, no progress bar."""
    budget: Budget | None = None
    """The run's `rate_limit`, one budget for every partition (see `shared_budget`); None: no limit."""

    def connect(self) -> Publitrac:
        """The worker's own connection: the key from its environment or from `api_key_loader()`."""
        key = self.api_key_loader() if self.api_key_loader is not None else os.environ.get(API_KEY_ENV)
        if not key or not key.strip():
            raise ConfigurationError(
                f"No API key on the Dask worker {socket.gethostname()}: set {API_KEY_ENV} in the workers' "
                "environment, or pass api_key_loader= (a function the worker calls to read it from a secret "
                "store). The key never travels in the task graph."
            )
        return Publitrac(
            api_key=key,
            base_url=self.base_url,
            timeout=self.timeout,
            verify=self.verify,
            refresh_margin=self.refresh_margin,
            allow_insecure_http=self.allow_insecure_http,
        )


def _settings_of(client: Publitrac | None) -> dict[str, Any]:
    if client is None:
        return {
            "base_url": None,
            "timeout": 30.0,
            "verify": True,
            "refresh_margin": 30.0,
            "allow_insecure_http": False,
        }
    if not isinstance(client, Publitrac):
        raise TypeError(f"client must be a publitrac.Publitrac connection, got {type(client).__name__}")
    verify = client._verify
    if not isinstance(verify, bool | str):
        raise ConfigurationError(
            "verify= must be True, False or a CA bundle path to sync on Dask: an SSL context cannot travel to "
            "the workers"
        )
    return {
        "base_url": client.base_url,
        "timeout": float(client.timeout.read or 30.0),
        # The driver's connection already passed the plain-http check; the workers repeat the same URL.
        "allow_insecure_http": client.base_url.startswith("http://"),
        "verify": verify,
        "refresh_margin": float(client.auth._refresh_margin),
    }


def _with_position(part: pd.DataFrame, email_column: str, partition_info: Any = None) -> pd.DataFrame:
    number = partition_info["number"] if partition_info else 0
    key = normalised_emails(part[email_column].astype("string")).fillna("")
    helpers: dict[str, Any] = {
        PARTITION: np.full(len(part), number, dtype=np.int64),
        ROW: np.arange(len(part), dtype=np.int64),
        KEY: key,
    }
    return part.assign(**helpers)


def _ledger_setting(ledger: object) -> str | Literal[False] | None:
    """The ledger as the workers get it: a path or a URL (settings travel, connections do not)."""
    from ..ledger._postgres import is_postgres_url, mask_url

    if ledger is None or ledger is False:
        return ledger
    if not isinstance(ledger, str | os.PathLike):
        raise ConfigurationError(
            "to sync on Dask, name the ledger by its path or its postgresql:// URL: each worker opens its own "
            f"(got {type(ledger).__name__})"
        )
    text = os.fspath(ledger)
    if not isinstance(text, str):
        raise ConfigurationError("the ledger path must be text")
    if is_postgres_url(text) and mask_url(text) != text:
        raise ConfigurationError(
            f"the ledger URL {mask_url(text)} holds a password, which would travel in the task graph: give the "
            "workers PGPASSWORD or a ~/.pgpass file, or set PUBLITRAC_LEDGER in their environment, and pass the "
            "URL without it"
        )
    return text


CHANGES = ("added", "changed", "resent", "unchanged")


def _results_frame(
    part: pd.DataFrame, results: pd.DataFrame, changes: tuple[np.ndarray, np.ndarray] | None = None
) -> pd.DataFrame:
    """A partition's results with its place in the input, and what each row changed (for the run's summary)."""
    n = len(results)
    labels, previously_failed = changes or (np.full(n, None, dtype=object), np.zeros(n, dtype=bool))
    results.insert(0, "partition", part[PARTITION].to_numpy())
    results.insert(1, "row", part[ROW].to_numpy())
    results["change"] = pd.Categorical(labels, categories=list(CHANGES))
    results["previously_failed"] = previously_failed
    return results


def sync_partition(part: pd.DataFrame, settings: WorkerSettings) -> pd.DataFrame:
    """Sync one shuffled partition on a worker; returns its per-row results (partition, row, email, status,
    http_status, attempts, error, elapsed_ms, run_id, sent_at, body_key, change, previously_failed), on the
    input index.

    Raises:
        PublitracError: what stops the run (a refused key, an unreachable host); without its report, which
            would drag the partition back to the client.
    """
    from ._frame import run_frame

    part = part.sort_values([PARTITION, ROW], kind="stable")
    frame = part.drop(columns=list(_HELPERS))
    client = None if settings.run.dry_run else settings.connect()
    try:
        report = run_frame(frame, client, settings.run, budget=settings.budget)
    except PublitracError as exc:
        exc.report = None
        raise
    return _results_frame(part, report.results, report._row_changes)


def lost_partition(part: pd.DataFrame, email_column: str, reason: str) -> pd.DataFrame:
    """The results of a partition whose task Dask gave up on: every row `failed`, with the reason."""
    part = part.sort_values([PARTITION, ROW], kind="stable")
    n = len(part)
    results = pd.DataFrame(
        {
            "email": part[email_column].array,
            "status": pd.Categorical(["failed"] * n, categories=list(STATUSES)),
            "http_status": pd.array([pd.NA] * n, dtype="Int16"),
            "attempts": np.zeros(n, dtype=np.int64),
            "error": np.full(n, reason[:300], dtype=object),
            "elapsed_ms": np.full(n, np.nan),
            **provenance(n, None, np.full(n, np.nan), np.zeros(n, dtype=np.int64), np.zeros(n, dtype=bool)),
        },
        index=part.index,
    )
    return _results_frame(part, results)


class DaskSyncReport:
    """The outcome of a sync on Dask: counts by status, and the per-row results as a Dask DataFrame.

    Attributes:
        results: one row per input row (a dask DataFrame on the input index, partitioned by email, not in
            input order): `partition` and `row` (the input partition and the position in it), email, status,
            http_status, attempts, error, elapsed_ms, run_id (each partition is a run of its own in the
            ledger), sent_at, body_key; `change` (added, changed, resent, unchanged, or missing for a row not
            accepted) and `previously_failed` (an accepted row an earlier run left unsent), from each
            partition's ledger. Read from Parquet when `results_path` was given,
            otherwise held in the workers' memory.
        counts: rows per status, every status present, in the order accepted, invalid, failed, in_flight,
            not_sent.
        lost_partitions: `(partition, reason)` of the partitions Dask gave up on (their rows are `failed`).
        results_path: where the results were written, or None.
        dry_run: True for a dry run.
        elapsed: seconds the run took.
        changes: what the run changed at its destination, every partition together (`N added, N changed, N
            unchanged, N previously failed now sent`, each partition's ledger as it was before it); None without
            a ledger or in a dry run.

    Example (not run by the doctests: it needs a Dask frame `ddf` and a connection `pt`):
        >>> report = publitrac.sync(ddf, pt, email="E-mail")     # doctest: +SKIP
        >>> report.summary                                          # doctest: +SKIP
        >>> report.results.query("status == 'failed'").compute()    # doctest: +SKIP
    """

    def __init__(
        self,
        results: Any,
        counts: Mapping[str, int],
        *,
        lost_partitions: Sequence[tuple[int, str]] = (),
        results_path: str | None = None,
        dry_run: bool = False,
        elapsed: float = 0.0,
        changes: ChangeCounts | None = None,
    ) -> None:
        self.results = results
        self.counts = {name: int(counts.get(name, 0)) for name in SUMMARY_ORDER}
        self.lost_partitions = list(lost_partitions)
        self.results_path = results_path
        self.dry_run = dry_run
        self.elapsed = elapsed
        self.changes = changes

    def __len__(self) -> int:
        return sum(self.counts.values())

    @property
    def summary(self) -> pd.Series:
        """Rows per status (accepted, invalid, failed, in_flight, not_sent), zeros included."""
        return pd.Series(self.counts, name="rows", dtype="int64")

    @property
    def ok(self) -> bool:
        """True when every row was accepted."""
        return self.counts["accepted"] == len(self)

    def describe(self) -> str:
        """One line: the row counts by status and the time taken."""
        parts = ", ".join(
            f"{count:,} {name.replace('_', ' ')}" for name, count in self.counts.items() if count
        )
        sent = self.counts["accepted"] + self.counts["failed"]
        rate = f", {sent / self.elapsed:,.0f} rows/s" if sent and self.elapsed > 0 else ""
        lost = f", {len(self.lost_partitions)} partitions lost" if self.lost_partitions else ""
        flags = " (dry run)" if self.dry_run else ""
        changes = f"; {self.changes.sentence()}" if self.changes is not None else ""
        return f"{len(self):,} rows: {parts or 'no rows'} in {self.elapsed:.1f} s{rate}{lost}{flags}{changes}"

    def __repr__(self) -> str:
        return f"DaskSyncReport: {self.describe()}"


@dataclasses.dataclass(frozen=True)
class ActorBudget:
    """A `RateBudget` held by a Dask actor on one worker; this handle travels in the graph to every partition."""

    actor: Any
    rate: float

    def reserve(self, count: int) -> float:
        try:
            return float(self.actor.reserve(count).result(timeout=ACTOR_TIMEOUT))
        except Exception as exc:
            raise ConnectionFailed(
                f"the run's shared rate_limit is out of reach (its Dask actor: {type(exc).__name__}: {exc})"
            ) from exc


def shared_budget(dask_client: Any, rate_limit: float | None) -> tuple[Budget | None, Any]:
    """One budget of `rate_limit` requests per second for every partition: (the budget, what keeps it alive).

    On a distributed Client, a `RateBudget` actor on one worker (the partitions call it: a round trip per slice
    of a twentieth of a second's worth); on dask's local scheduler, one `RateBudget` shared by its threads.
    """
    if rate_limit is None:
        return None, None
    if dask_client is None:
        return RateBudget(rate_limit), None
    future = dask_client.submit(RateBudget, rate_limit, actor=True, pure=False)
    return ActorBudget(future.result(), rate_limit), future


def _distributed_client() -> Any:
    try:
        from distributed import get_client
    except ImportError:
        return None
    try:
        return get_client()
    except ValueError:
        return None


def build(ddf: Any, settings: WorkerSettings, *, npartitions: int | None = None) -> tuple[Any, Any]:
    """The lazy collections of a run: (the shuffled input with its helper columns, the per-row results)."""
    assert isinstance(settings.run.mapping, LeadMapping)
    email_column = settings.run.mapping.email
    keyed = ddf.map_partitions(
        _with_position,
        email_column,
        meta=_with_position(ddf._meta, email_column),
    )
    shuffled = keyed.shuffle(on=KEY, npartitions=npartitions or ddf.npartitions)
    empty = dataclasses.replace(
        settings, run=settings.run.replace(dry_run=True, ledger=False), api_key_loader=None, budget=None
    )
    meta = sync_partition(shuffled._meta, empty).iloc[:0]
    results = shuffled.map_partitions(sync_partition, settings, meta=meta, enforce_metadata=False)
    return shuffled, results


@with_run_settings
def sync_dask(
    ddf: Any,
    client: Publitrac | None = None,
    *,
    results_path: str | PathLike[str] | None = None,
    api_key_loader: Callable[[], str] | None = None,
    npartitions: int | None = None,
    **options: Unpack[SyncOptions],
) -> DaskSyncReport:
    """Sync every valid row of a dask DataFrame, each partition on a Dask worker with its own connection.

    `publitrac.sync(ddf, ...)` comes here for a dask DataFrame. Runs on the distributed Client of the
    session when there is one (`distributed.Client(...)`), otherwise on dask's local scheduler.

    Args:
        ddf: the leads; rows of one email may be in any partitions: they are shuffled together.
        client: the connection whose base URL and settings the workers reuse (never its API key); None: each
            worker reads `PUBLITRAC_BASE_URL` from its environment.
        email, mapping, custom_fields: the columns, as for `publitrac.sync`.
        concurrency: the most requests in flight at once per partition being synced (a worker thread syncs one
            partition at a time); below it each partition's number adapts to the answers it gets (a 429
            slows the partition that got it, so together they settle at what the API takes).
        rate_limit: requests per second for the whole run, every worker together (None: no limit): one
            budget, held by a Dask actor on one worker (on a distributed Client) or shared by the threads
            (on dask's threaded scheduler), from which each partition reserves a twentieth of a second's worth
            at a time.
        max_attempts, max_retry_time, dry_run, resend, input_name: as for `publitrac.sync`.
        progress: not used: each partition's sync is silent (Dask's dashboard shows the tasks).
        ledger: what each worker opens: None, its default (`PUBLITRAC_LEDGER` in its environment, which may be
            a `postgresql://` URL, else its user's SQLite file: one file shared by the workers of one machine);
            a SQLite path (one machine) or a `postgresql://` URL (across machines), without a password (it
            would travel in the task graph: give it to the workers as `PGPASSWORD` or `~/.pgpass`); False for
            none. Each worker records its partitions' runs (one ledger run per partition).
        results_path: write the per-row results as Parquet there (a folder the workers can reach: shared
            storage or an fsspec URL); `report.results` then reads them back.
        api_key_loader: a function called on each worker that returns the API key (e.g. from a secret
            store); default: the worker's `PUBLITRAC_API_KEY`.
        npartitions: partitions after the shuffle by email (default: as many as `ddf`).

    Returns:
        A DaskSyncReport: `.counts`, `.summary`, `.results` (a dask DataFrame), `.lost_partitions`.

    Raises:
        ConfigurationError: a bad mapping or setting; no API key or base URL on a worker.
        AuthenticationError, ConnectionFailed: raised on a worker; `.report` is the DaskSyncReport.

    Example (not run by the doctests: it needs a Dask cluster, Parquet files in `leads/` and a server):
        >>> from distributed import Client, LocalCluster                          # doctest: +SKIP
        >>> dask_client = Client(LocalCluster(n_workers=2))                       # doctest: +SKIP
        >>> ddf = dd.read_parquet("leads/")                                       # doctest: +SKIP
        >>> report = publitrac.sync(ddf, publitrac.Publitrac(), concurrency=32)   # doctest: +SKIP
    """
    return run_dask(
        ddf,
        client,
        RunSettings.of(options, entry="sync_dask"),
        results_path=results_path,
        api_key_loader=api_key_loader,
        npartitions=npartitions,
    )


def run_dask(
    ddf: Any,
    client: Publitrac | None,
    settings: RunSettings,
    *,
    results_path: str | PathLike[str] | None = None,
    api_key_loader: Callable[[], str] | None = None,
    npartitions: int | None = None,
) -> DaskSyncReport:
    """`sync_dask` with the settings already checked (`publitrac.sync` on a dask DataFrame comes here)."""
    # dask is loosely typed: handled as Any here, typed at the signature.
    dask: Any = importlib.import_module("dask")
    dd: Any = importlib.import_module("dask.dataframe")
    frame: Any = ddf

    if not is_dask_frame(ddf):
        raise TypeError(f"expected a dask DataFrame, got {type(ddf).__name__}")
    # The guards on Dask: each partition's sync applies max_invalid and the column guard to its own rows (the
    # rows are shuffled by email, so each partition is a fair sample; a refusal in one partition does not stop
    # the others that already sent). A canary and a diff need one order over the whole frame: not on Dask.
    if settings.canary is not None:
        raise ConfigurationError(
            "canary= is not available on Dask (the partitions send at once): sync a sample first, "
            "e.g. publitrac.sync(ddf.head(100), pt), then the whole frame"
        )
    if settings.dry_run == "diff":
        raise ConfigurationError(
            "dry_run='diff' is not available on Dask: use dry_run=True, or diff a pandas frame "
            "(ddf.compute()) or a file (publitrac.sync_file)"
        )
    lead_mapping = map_columns(
        list(frame.columns),
        email=settings.email,
        mapping=settings.mapping,
        custom_fields=settings.custom_fields,
    )
    worker = WorkerSettings(
        **_settings_of(client),
        api_key_loader=api_key_loader,
        run=settings.replace(
            email=None,
            mapping=lead_mapping,
            custom_fields=None,
            ledger=_ledger_setting(settings.ledger),
            progress=False,
        ),
    )
    started = time.perf_counter()
    dask_client = _distributed_client()
    # Held until the run ends: the actor lives as long as its future.
    budget, holder = shared_budget(dask_client, None if settings.dry_run else settings.rate_limit)
    worker = dataclasses.replace(worker, budget=budget)
    shuffled, results = build(frame, worker, npartitions=npartitions)
    parts = results.to_delayed()
    lost: list[tuple[int, str]] = []
    stopping: PublitracError | None = None
    if dask_client is None:
        pieces: list[Any] = list(dask.persist(*parts))
    else:
        wait = importlib.import_module("distributed").wait
        pieces = dask_client.compute(parts)
        wait(pieces)
        inputs = shuffled.to_delayed()
        for number, future in enumerate(pieces):
            if future.status == "finished":
                continue
            error = future.exception()
            if isinstance(error, PublitracError) and stopping is None:
                stopping = error
            reason = (
                f"partition {number} lost, answers unknown, safe to resend: "
                f"{type(error).__name__}: {str(error)[:200]}"
            )
            lost.append((number, reason))
            pieces[number] = dask.delayed(lost_partition)(inputs[number], lead_mapping.email, reason)
    table = dd.from_delayed(pieces, meta=results._meta, verify_meta=False)
    path = None if results_path is None else os.fspath(results_path)
    tallies = (
        table["status"].value_counts(),
        table["change"].value_counts(),
        table["previously_failed"].sum(),
    )
    if path is not None:
        _, tally, by_change, previously_failed = dask.compute(table.to_parquet(path, compute=False), *tallies)
        table = dd.read_parquet(path)
    else:
        tally, by_change, previously_failed = dask.compute(*tallies)
    changes = None
    if settings.ledger is not False and not settings.dry_run:
        changes = ChangeCounts(
            **{name: int(by_change.get(name, 0)) for name in CHANGES},
            previously_failed_now_sent=int(previously_failed),
        )
    report = DaskSyncReport(
        table,
        {str(name): int(count) for name, count in tally.items()},
        lost_partitions=lost,
        results_path=path,
        dry_run=bool(settings.dry_run),
        elapsed=time.perf_counter() - started,
        changes=changes,
    )
    if stopping is not None:
        stopping.report = report  # type: ignore[assignment]
        raise stopping
    return report

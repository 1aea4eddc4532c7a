"""`publitrac.sync` on a dask DataFrame: a real LocalCluster (2 worker processes) against the sandbox over HTTP.

The workers get the API key from their environment (set before the cluster starts, as a deployment would);
the tests check that it never travels in the task graph, that every valid row arrives exactly once, that the
later of two rows with one email wins across partitions, and that a worker killed mid-run loses no row.
"""

from __future__ import annotations

import functools
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import cloudpickle
import dask
import dask.dataframe as dd
import numpy as np
import pandas as pd
import pytest
from distributed import Client, LocalCluster

import publitrac
from publitrac import AuthenticationError, ConfigurationError, DaskSyncReport, Publitrac
from publitrac.engine._budget import BUCKET_SECONDS, RateBudget, slice_size
from publitrac.syncs import _dask
from publitrac.syncs._settings import RunSettings
from publitrac.syncs._dask import WorkerSettings, build
from publitrac.lead._mapping import map_columns
from publitrac.sandbox import SandboxServer

KEY = "SECRET-dask-k3y-3c9f1e"
SETTLE = 60.0


@pytest.fixture(scope="module")
def dask_client(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Client]:
    previous = {name: os.environ.get(name) for name in ("PUBLITRAC_API_KEY", "PUBLITRAC_LEDGER")}
    # The worker processes inherit this environment: the key reaches them here, never through the graph; their
    # default ledger is a file of this module's, shared by the two workers.
    os.environ["PUBLITRAC_API_KEY"] = KEY
    os.environ["PUBLITRAC_LEDGER"] = str(tmp_path_factory.mktemp("dask-ledger") / "ledger.sqlite3")
    try:
        with (
            dask.config.set({"distributed.worker.daemon": False}),
            LocalCluster(
                n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0", silence_logs=40
            ) as cluster,
            Client(cluster) as client,
        ):
            yield client
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@pytest.fixture
def keyed_sandbox(make_sandbox: Callable[..., SandboxServer]) -> Callable[..., SandboxServer]:
    return functools.partial(make_sandbox, api_key=KEY)


def leads(n: int, *, distinct: int, invalid_every: int | None = None) -> pd.DataFrame:
    """`n` rows over `distinct` emails (so most emails repeat, across partitions); firstName says which row."""
    emails = [f"lead{i % distinct}@example.com" for i in range(n)]
    # The same email written differently still is one lead, and one chain.
    emails = [email.upper() if i % 7 == 3 else email for i, email in enumerate(emails)]
    if invalid_every:
        emails = [f"not-an-email-{i}" if i % invalid_every == 5 else e for i, e in enumerate(emails)]
    return pd.DataFrame(
        {
            "email": emails,
            "firstName": [f"row{i}" for i in range(n)],
            "crmLeadId": [f"{i:07d}" for i in range(n)],
        },
        index=pd.RangeIndex(1000, 1000 + n),
    )


def expected_last(frame: pd.DataFrame) -> dict[str, str]:
    valid = frame[frame["email"].str.contains("@")]
    return valid.groupby(valid["email"].str.lower())["firstName"].last().to_dict()


def stored_first_names(sandbox: SandboxServer) -> dict[str, str]:
    sandbox.wait_until_applied(timeout=SETTLE)
    return {lead["email"].lower(): lead["leadInfo"]["firstName"] for lead in sandbox.leads()}


def test_every_valid_row_arrives_once_and_the_later_duplicate_wins(
    dask_client: Client, keyed_sandbox: Callable[..., SandboxServer]
) -> None:
    sandbox = keyed_sandbox()
    frame = leads(3000, distinct=1100, invalid_every=100)
    ddf = dd.from_pandas(frame, npartitions=4)
    valid = int(frame["email"].str.contains("@").sum())

    report = publitrac.sync(
        ddf, Publitrac(base_url=sandbox.base_url, api_key="driver-side-only"), concurrency=8
    )

    assert isinstance(report, DaskSyncReport)
    assert report.counts == {
        "accepted": valid,
        "unchanged": 0,
        "invalid": 3000 - valid,
        "failed": 0,
        "in_flight": 0,
        "not_sent": 0,
    }
    stats = sandbox.stats()
    assert stats["calls"]["delayedSync"] == valid
    assert stats["accepted"] == valid
    assert stored_first_names(sandbox) == expected_last(frame)

    results = report.results.compute()
    assert len(results) == 3000
    assert sorted(results.index) == list(frame.index)
    # Every input row once, named by its input partition and position there.
    assert not results.duplicated(["partition", "row"]).any()
    by_index = results.sort_index()
    assert (by_index["email"].to_numpy() == frame["email"].to_numpy()).all()
    invalid = ~frame["email"].str.contains("@")
    assert (by_index.loc[invalid.to_numpy(), "status"] == "invalid").all()
    assert by_index.loc[invalid.to_numpy(), "error"].str.contains("email").all()


def test_the_api_key_never_travels_in_the_graph(
    dask_client: Client, keyed_sandbox: Callable[..., SandboxServer]
) -> None:
    sandbox = keyed_sandbox()
    frame = leads(400, distinct=300)
    ddf = dd.from_pandas(frame, npartitions=2)
    driver = Publitrac(api_key=KEY, base_url=sandbox.base_url)

    report = publitrac.sync_dask(ddf, driver, concurrency=4)
    assert report.counts["accepted"] == 400

    def holds_key(graph: Any) -> bool:
        return KEY.encode() in cloudpickle.dumps(dict(graph)) or any(KEY in str(key) for key in graph)

    # The scan finds a key that is in a graph...
    assert holds_key(dask.delayed(len)(KEY).__dask_graph__())
    # ...and finds none in the graph of a run, nor in what the scheduler holds, nor in any log.
    settings = WorkerSettings(
        base_url=driver.base_url,
        timeout=30.0,
        verify=True,
        refresh_margin=30.0,
        allow_insecure_http=True,
        api_key_loader=None,
        run=RunSettings(mapping=map_columns(frame), concurrency=4, progress=False),
    )
    assert not holds_key(build(ddf, settings)[1].__dask_graph__())

    def scheduler_view(dask_scheduler: Any) -> tuple[bytes, str]:
        tasks = dict(dask_scheduler.tasks)
        return (
            cloudpickle.dumps([(key, state.run_spec) for key, state in tasks.items()]),
            "\n".join(repr(state.run_spec) + str(key) for key, state in tasks.items()),
        )

    pickled, text = dask_client.run_on_scheduler(scheduler_view)
    assert text  # the run's results are still held on the workers
    assert KEY.encode() not in pickled and KEY not in text
    logs = str(dask_client.get_worker_logs()) + str(dask_client.get_scheduler_logs())
    assert KEY not in logs
    assert KEY not in repr(report) and KEY not in repr(driver)


def test_a_key_from_a_loader_and_a_refused_key_stops_the_run(
    dask_client: Client, keyed_sandbox: Callable[..., SandboxServer]
) -> None:
    sandbox = keyed_sandbox()
    ddf = dd.from_pandas(leads(200, distinct=200), npartitions=2)
    loader = functools.partial(str, "a-wrong-key-from-the-secret-store")

    with pytest.raises(AuthenticationError) as caught:
        publitrac.sync_dask(ddf, Publitrac(base_url=sandbox.base_url, api_key=KEY), api_key_loader=loader)

    report = caught.value.report
    assert isinstance(report, DaskSyncReport)
    assert report.counts["failed"] == 200 and len(report.lost_partitions) == 2
    assert "AuthenticationError" in report.results.compute()["error"].iloc[0]
    assert sandbox.stats()["calls"].get("delayedSync", 0) == 0

    with pytest.raises(ConfigurationError, match="No API key on the Dask worker"):
        publitrac.sync_dask(ddf, Publitrac(base_url=sandbox.base_url, api_key=KEY), api_key_loader=str)


def test_dry_run_needs_no_key_and_writes_parquet(dask_client: Client, tmp_path: Any) -> None:
    frame = leads(500, distinct=500, invalid_every=50)
    report = publitrac.sync(dd.from_pandas(frame, npartitions=3), dry_run=True)
    assert report.counts["invalid"] == 10 and report.counts["not_sent"] == 490
    assert report.ok is False and "dry run" in report.describe()

    written = publitrac.sync_dask(
        dd.from_pandas(frame, npartitions=3), dry_run=True, results_path=tmp_path / "results"
    )
    on_disk = pd.read_parquet(tmp_path / "results")
    assert len(on_disk) == 500 and set(on_disk["status"]) == {"invalid", "not_sent"}
    counts = written.results.compute()["status"].value_counts()
    assert counts[counts > 0].to_dict() == {"not_sent": 490, "invalid": 10}


def test_the_parquet_results_carry_run_id_sent_at_and_body_key(
    dask_client: Client, keyed_sandbox: Callable[..., SandboxServer], tmp_path: Any
) -> None:
    sandbox = keyed_sandbox()
    frame = leads(120, distinct=120, invalid_every=40)
    publitrac.sync_dask(
        dd.from_pandas(frame, npartitions=2),
        Publitrac(base_url=sandbox.base_url, api_key=KEY),
        concurrency=4,
        results_path=tmp_path / "results",
    )
    on_disk = pd.read_parquet(tmp_path / "results")
    assert {"run_id", "sent_at", "body_key"} <= set(on_disk.columns)
    accepted = on_disk["status"] == "accepted"
    assert accepted.sum() == 117 and on_disk.loc[accepted, "run_id"].notna().all()
    assert (
        on_disk.loc[accepted, "sent_at"].notna().all()
        and str(on_disk["sent_at"].dtype) == "datetime64[ms, UTC]"
    )
    assert on_disk.loc[accepted, "body_key"].notna().all() and on_disk.loc[~accepted, "body_key"].isna().all()
    assert on_disk["run_id"].nunique() == 2  # a run per partition


def _kill_one_worker_once_leads_arrive(
    client: Client, sandbox: SandboxServer, after: int
) -> tuple[threading.Thread, threading.Event]:
    """SIGKILL the process of a worker that is syncing a partition, once `after` leads have arrived."""
    pids = client.run(os.getpid)
    killed = threading.Event()

    def kill() -> None:
        deadline = time.monotonic() + SETTLE
        while time.monotonic() < deadline:
            busy = [
                address
                for address, keys in client.processing().items()
                if any("sync_partition" in str(key) for key in keys)
            ]
            if busy and sandbox.stats()["accepted"] >= after:
                os.kill(pids[busy[0]], signal.SIGKILL)
                killed.set()
                return
            time.sleep(0.05)

    thread = threading.Thread(target=kill, daemon=True)
    thread.start()
    return thread, killed


def test_a_worker_killed_mid_run_loses_no_row(
    dask_client: Client, keyed_sandbox: Callable[..., SandboxServer]
) -> None:
    sandbox = keyed_sandbox(latency_ms=10)
    frame = leads(2000, distinct=1500)
    ddf = dd.from_pandas(frame, npartitions=2)

    killer, killed = _kill_one_worker_once_leads_arrive(dask_client, sandbox, after=300)
    report = publitrac.sync(ddf, Publitrac(base_url=sandbox.base_url, api_key=KEY), concurrency=4)
    killer.join(SETTLE)
    assert killed.is_set()

    # Dask ran the lost partition again: every row accepted, some twice, and the later duplicate still wins;
    # rows the killed worker had recorded in the (default) ledger before dying are unchanged in the rerun.
    assert report.counts["accepted"] + report.counts["unchanged"] == 2000, report.describe()
    assert sandbox.stats()["calls"]["delayedSync"] > 2000
    assert stored_first_names(sandbox) == expected_last(frame)
    dask_client.wait_for_workers(2, timeout=SETTLE)


def test_a_partition_dask_gives_up_on_is_reported(
    dask_client: Client, keyed_sandbox: Callable[..., SandboxServer]
) -> None:
    sandbox = keyed_sandbox(latency_ms=10)
    frame = leads(2000, distinct=2000)
    ddf = dd.from_pandas(frame, npartitions=2)

    def allowed_failures(dask_scheduler: Any, value: int) -> int:
        previous, dask_scheduler.allowed_failures = dask_scheduler.allowed_failures, value
        return int(previous)

    previous = dask_client.run_on_scheduler(allowed_failures, value=0)
    try:
        killer, killed = _kill_one_worker_once_leads_arrive(dask_client, sandbox, after=300)
        report = publitrac.sync(ddf, Publitrac(base_url=sandbox.base_url, api_key=KEY), concurrency=4)
        killer.join(SETTLE)
        assert killed.is_set()
    finally:
        dask_client.run_on_scheduler(allowed_failures, value=previous)
        dask_client.wait_for_workers(2, timeout=SETTLE)

    # Every row has a status: the lost partition's rows are failed with the reason, the others accepted.
    results = report.results.compute()
    assert len(results) == 2000 and sum(report.counts.values()) == 2000
    assert report.lost_partitions, report.describe()
    lost = results[results["status"] == "failed"]
    assert len(lost) and lost["error"].str.contains("safe to resend").all()
    assert report.counts["accepted"] + report.counts["unchanged"] + report.counts["failed"] == 2000
    sandbox.wait_until_applied(timeout=SETTLE)
    stored = {lead["email"].lower() for lead in sandbox.leads()}
    assert set(results.loc[results["status"] == "accepted", "email"].str.lower()) <= stored


@pytest.mark.parametrize("scheduler", ["distributed", "threads"])
def test_the_rate_limit_is_one_budget_for_every_worker(
    dask_client: Client,
    keyed_sandbox: Callable[..., SandboxServer],
    scheduler: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Partitions syncing at once share `rate_limit`: against a sandbox that admits that rate and refuses the
    rest, almost nothing is refused (each partition with its own limit would send twice the rate)."""
    rate = 40.0
    sandbox = keyed_sandbox(rate_limit=rate, burst=10)
    frame = leads(320, distinct=320)
    ddf = dd.from_pandas(frame, npartitions=4)
    pt = Publitrac(base_url=sandbox.base_url, api_key=KEY)
    if scheduler == "threads":  # dask's local scheduler, two threads: one budget shared by reference
        monkeypatch.setattr("publitrac.syncs._dask._distributed_client", lambda: None)
        monkeypatch.setattr("publitrac.syncs._dask.shared_budget", _counting(_dask.shared_budget))
        local = {"scheduler": "threads", "num_workers": 2, "dataframe.shuffle.method": "tasks"}
        with dask.config.set(local):
            report = publitrac.sync(ddf, pt, rate_limit=rate, concurrency=8, ledger=False)
    else:
        report = publitrac.sync(ddf, pt, rate_limit=rate, concurrency=8, ledger=False)

    assert report.counts["accepted"] == 320, report.describe()
    stats = sandbox.stats()
    refused = int(stats.get("faults", {}).get("rate_limit", 0))
    calls = int(stats["calls"]["delayedSync"]) + int(stats["calls"]["getToken"])
    # The few refusals allowed: each partition's token call is outside the budget (it is not a lead's).
    assert refused <= 0.05 * calls, (refused, stats)
    # Not sooner than the budget allows: its bucket and one slice per partition aside.
    allowance = rate * BUCKET_SECONDS + 4 * slice_size(rate)
    assert report.elapsed >= (320 - allowance) / rate, report.describe()


def _counting(
    shared_budget: Callable[[Any, float | None], tuple[Any, Any]],
) -> Callable[[Any, float | None], tuple[Any, Any]]:
    """`shared_budget` checked to hand out a local `RateBudget` (the threaded scheduler's)."""

    def wrapper(client: Any, rate: float | None) -> tuple[Any, Any]:
        budget, holder = shared_budget(client, rate)
        assert isinstance(budget, RateBudget)
        return budget, holder

    return wrapper


@pytest.fixture(params=["sqlite", "postgresql"])
def shared_ledger(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "shared.sqlite3")  # one machine: the two worker processes share the file
    return str(request.getfixturevalue("postgres_url"))


def test_a_rerun_sends_nothing(
    dask_client: Client, keyed_sandbox: Callable[..., SandboxServer], shared_ledger: str
) -> None:
    sandbox = keyed_sandbox()
    frame = leads(1200, distinct=900, invalid_every=100)
    valid = int(frame["email"].str.contains("@").sum())
    pt = Publitrac(base_url=sandbox.base_url, api_key=KEY)

    first = publitrac.sync(dd.from_pandas(frame, npartitions=3), pt, ledger=shared_ledger, concurrency=8)
    again = publitrac.sync(dd.from_pandas(frame, npartitions=4), pt, ledger=shared_ledger, concurrency=8)

    assert first.counts["accepted"] == valid and first.counts["unchanged"] == 0
    assert again.counts["unchanged"] == valid and again.counts["accepted"] == 0, again.describe()
    assert again.ok is False and again.counts["invalid"] == 12
    assert sandbox.stats()["calls"]["delayedSync"] == valid
    changed = frame.assign(firstName=frame["firstName"].where(frame.index % 100 != 7, "changed"))
    third = publitrac.sync(dd.from_pandas(changed, npartitions=2), pt, ledger=shared_ledger, concurrency=8)
    assert third.counts["accepted"] >= 12 and third.counts["accepted"] < 100, third.describe()

    # What each run changed, in rows, every partition together, against the ledger as it was before the run
    # (as a pandas sync counts them): the first run's rows are all new, every email group with them.
    assert first.changes is not None and again.changes is not None and third.changes is not None
    assert first.changes.as_dict() == {
        "added": valid, "changed": 0, "resent": 0, "unchanged": 0, "previously_failed_now_sent": 0,
    }  # fmt: skip
    assert again.changes.as_dict() == {
        "added": 0, "changed": 0, "resent": 0, "unchanged": valid, "previously_failed_now_sent": 0,
    }  # fmt: skip
    assert third.changes.changed == third.counts["accepted"] and third.changes.added == 0
    assert third.changes.unchanged == third.counts["unchanged"]
    assert f"; {third.changes.sentence()}" in third.describe()
    rows = third.results.compute()
    assert (rows["change"] == "changed").sum() == third.counts["accepted"]
    assert rows.loc[rows["status"] == "invalid", "change"].isna().all()


def test_a_ledger_url_with_a_password_never_travels(dask_client: Client) -> None:
    ddf = dd.from_pandas(leads(10, distinct=10), npartitions=1)
    with pytest.raises(ConfigurationError, match="holds a password") as caught:
        publitrac.sync_dask(ddf, dry_run=True, ledger="postgresql://ana:s3cret@db.internal/leads")
    assert "s3cret" not in str(caught.value)


def test_pandas_users_never_import_dask() -> None:
    code = (
        "import sys, pandas as pd, publitrac; "
        "publitrac.sync(pd.DataFrame({'email': ['a@example.com']}), dry_run=True); "
        "print(sorted(name for name in sys.modules if name.split('.')[0] in ('dask', 'distributed')))"
    )
    shown = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert shown.stdout.strip() == "[]"


def test_sync_dask_refuses_a_pandas_frame() -> None:
    with pytest.raises(TypeError, match="dask DataFrame"):
        publitrac.sync_dask(pd.DataFrame({"email": ["a@example.com"]}), dry_run=True)  # type: ignore[arg-type]
    assert np.isscalar(
        publitrac.sync(pd.DataFrame({"email": ["a@example.com"]}), dry_run=True).counts["not_sent"]
    )

"""`IncrementalRun`: acceptances committed at least every interval, on a clock the test drives; a failing
ledger never fails the sync; a killed process re-sends at most what it accepted in its last second."""

from __future__ import annotations

import logging
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import publitrac
from publitrac.ledger._incremental import IncrementalRun
from publitrac.ledger._store import Destination, SQLiteLedger, key_fingerprint
from publitrac.engine._report import SyncReport
from publitrac.sandbox import SandboxServer

ROOT = Path(__file__).resolve().parents[1]
LEADS = ROOT / "examples" / "leads.csv"
VALID = 300 - len({17, 58, 133, 176, 264})  # the example's invalid rows, as examples/make_leads.py documents
DEST = Destination("http://127.0.0.1:1/v2", key_fingerprint("k"))


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def prepared(ledger: object, clock: Clock, rows: int = 5) -> tuple[IncrementalRun, SyncReport]:
    df = pd.DataFrame({"email": [f"lead{i}@example.com" for i in range(rows)]})
    report = SyncReport(df)
    run = IncrementalRun(ledger, DEST, owns_ledger=False, flush_interval=1.0, clock=clock)  # type: ignore[arg-type]
    mapping = publitrac.map_columns(df)
    positions = np.arange(rows)
    run.decide(df, mapping, positions, np.zeros(rows, dtype=bool), report, resend="changed")
    return run, report


def test_acceptances_are_committed_once_the_interval_has_passed(tmp_path: Path) -> None:
    clock = Clock()
    with SQLiteLedger(tmp_path / "l.sqlite3") as ledger:
        run, report = prepared(ledger, clock)
        run.start(report, input_name="x")
        stored = lambda: ledger.stats(DEST).leads  # noqa: E731
        clock.now = 0.4
        run.accepted(0)
        run.accepted(1)
        assert stored() == 0  # within the interval: queued
        clock.now = 1.1
        run.accepted(2)  # the interval has passed: the three are committed together
        assert stored() == 3 and run.recorded == 3
        clock.now = 1.5
        run.accepted(3)
        assert stored() == 3
        run.finish(report)  # whatever ends the run commits the rest
        assert stored() == 4
        (record,) = ledger.runs()
        assert record.finished_at is not None and record.counts["not_sent"] == 5


async def test_the_periodic_flush_commits_without_new_acceptances(tmp_path: Path) -> None:
    clock = Clock()
    with SQLiteLedger(tmp_path / "l.sqlite3") as ledger:
        run, _ = prepared(ledger, clock)
        run._interval = 0.01  # the task's own sleep: a short one, so the test does not wait
        run.accepted(0)
        import asyncio

        task = asyncio.create_task(run.flush_periodically())
        for _ in range(200):
            await asyncio.sleep(0.01)
            if ledger.stats(DEST).leads:
                break
        task.cancel()
        assert ledger.stats(DEST).leads == 1


def test_rows_queued_while_a_thread_commits_are_never_lost(tmp_path: Path) -> None:
    """The periodic commit runs in a thread while the engine queues rows on the event loop's thread."""
    import sys
    import threading

    clock = Clock()
    rows = 20_000
    with SQLiteLedger(tmp_path / "l.sqlite3") as ledger:
        run, report = prepared(ledger, clock, rows=rows)
        run.start(report, input_name="x")
        run._flushing_periodically = True  # as while `flush_periodically` runs: commits are the thread's
        stop = threading.Event()
        commits = 0

        def commit() -> None:
            nonlocal commits
            while not stop.is_set():
                run.flush()
                commits += 1

        thread = threading.Thread(target=commit)
        switching = sys.getswitchinterval()
        sys.setswitchinterval(1e-6)  # the threads take turns as often as they can: a race would show
        thread.start()
        try:
            for position in range(rows):
                run.accepted(position)
        finally:
            stop.set()
            thread.join()
            sys.setswitchinterval(switching)
        run.finish(report)
        assert commits > 1
        assert run.recorded == rows
        assert ledger.stats(DEST).leads == rows


class BrokenLedger:
    location = "nowhere"

    def lookup(self, destination: Destination, keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return np.zeros(len(keys), dtype=bool), np.zeros(len(keys), dtype=np.int64)

    def record_accepted(self, *args: object) -> None:
        raise sqlite3.OperationalError("database is locked")

    def start_run(self, *args: object, **kwargs: object) -> int:
        return 1

    def finish_run(self, *args: object, **kwargs: object) -> None:
        raise sqlite3.OperationalError("disk I/O error")


def test_a_failing_ledger_is_logged_never_raised(caplog: pytest.LogCaptureFixture) -> None:
    clock = Clock()
    run, report = prepared(BrokenLedger(), clock)
    run.start(report, input_name="x")
    with caplog.at_level(logging.WARNING, logger="publitrac"):
        run.accepted(0)
        run.finish(report)
    assert run.recorded == 0
    assert "could not record 1 accepted rows" in caplog.text and "end of run 1" in caplog.text


def test_a_killed_process_resends_at_most_its_last_seconds_rows(
    make_sandbox: Callable[..., SandboxServer], tmp_path: Path
) -> None:
    # SIGKILL: no handler runs, no final commit; only the commits made every second survive.
    sandbox = make_sandbox(latency_ms=100)
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PUBLITRAC_")}
    environment.update(
        PUBLITRAC_API_KEY=sandbox.api_key,
        PUBLITRAC_BASE_URL=sandbox.base_url,
        PUBLITRAC_LEDGER=str(tmp_path / "l.sqlite3"),
    )
    command = [
        sys.executable,
        "-m",
        "publitrac.cli",
        "sync",
        str(LEADS),
        "--no-progress",
        "--concurrency",
        "4",
    ]
    process = subprocess.Popen(
        command, env=environment, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    deadline = time.monotonic() + 60
    while sandbox.stats()["accepted"] < 80:
        assert process.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    accepted_before = sandbox.stats()["accepted"]
    rerun = subprocess.run(command, env=environment, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert "unchanged" in rerun.stdout, rerun.stdout + rerun.stderr
    resent = sandbox.stats()["calls"]["delayedSync"] - VALID
    # at 4 requests in flight and ~100 ms each, a second holds about 40 acceptances; allow for a slow machine
    assert 0 <= resent <= 80, (resent, accepted_before)
    assert resent < accepted_before  # most of what was accepted before the kill was remembered

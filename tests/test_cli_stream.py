"""`publitrac sync FILE` / `publitrac validate FILE` streaming a file in batches (`--batch-rows`, or big files)."""

from __future__ import annotations

import csv
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

import publitrac
from publitrac.cli import _stream as _cli_stream, _main as cli
from publitrac.sandbox import SandboxServer

ROOT = Path(__file__).resolve().parents[1]
LEADS = ROOT / "examples" / "leads.csv"
# What the in-memory path finds in the example (the spec decides which rows are valid).
_PROBLEMS = publitrac.validate(publitrac.read_leads(LEADS).frame)
INVALID = int(_PROBLEMS.loc[_PROBLEMS["severity"] == "error", "position"].nunique())
VALID = 300 - INVALID


def test_validate_streams_in_batches(capsys: pytest.CaptureFixture[str]) -> None:
    status = cli.main(["validate", str(LEADS), "--batch-rows", "64"])
    shown = capsys.readouterr().out
    assert status == 1
    assert "in batches of 64 rows" in shown and "(UTF-8, delimiter ',')" in shown
    assert f"300 rows, {VALID} valid, {INVALID} invalid" in shown
    assert "row 17 (E-mail Address): email is missing" in shown
    # The example's two rows of one email (rows 42 and 251) are in different batches: no warning, and it says so.
    assert "same email as" not in shown
    assert "Duplicate emails are looked for within each batch of 64 rows" in shown


def test_big_files_are_streamed_without_asking(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_cli_stream, "STREAM_FROM_BYTES", 1000)
    assert cli.main(["validate", str(LEADS)]) == 1
    assert "in batches of 50,000 rows" in capsys.readouterr().out
    monkeypatch.setattr(_cli_stream, "STREAM_FROM_BYTES", 10**9)
    assert cli.main(["validate", str(LEADS)]) == 1
    assert "in batches" not in capsys.readouterr().out


def test_sync_streams_into_the_sandbox_with_results_in_input_order(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    results = tmp_path / "results.csv"
    status = cli.main(
        ["sync", str(LEADS), "--batch-rows", "50", "--sandbox", "--results", str(results), "--no-progress"]
    )
    shown = capsys.readouterr().out
    assert status == 1  # invalid rows
    assert f"300 rows: {VALID} accepted, {INVALID} invalid" in shown and "The sandbox now holds" in shown
    table = pd.read_csv(results, dtype=str, keep_default_na=False)
    assert table["row"].tolist() == [str(i) for i in range(300)]
    assert table["status"].value_counts().to_dict() == {"accepted": VALID, "invalid": INVALID}
    source = pd.read_csv(LEADS, dtype=str, keep_default_na=False)
    assert table["email"].tolist() == source["E-mail Address"].tolist()


def test_a_dry_run_streams_json_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    lines = tmp_path / "leads.jsonl"
    pd.read_csv(LEADS, dtype=str).to_json(lines, orient="records", lines=True)
    status = cli.main(
        ["sync", str(lines), "--batch-rows", "128", "--dry-run", "--results", str(tmp_path / "r.csv")]
    )
    shown = capsys.readouterr().out
    assert status == 1 and "JSON Lines" in shown and f"{VALID} not sent" in shown
    assert sum(1 for _ in (tmp_path / "r.csv").open()) == 301


def test_sigterm_stops_a_streamed_run_and_keeps_the_lines_written(
    make_sandbox: Callable[..., SandboxServer], tmp_path: Path
) -> None:
    sandbox = make_sandbox(latency_ms=30)
    path = tmp_path / "leads.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "firstName"])
        writer.writerows([f"lead{i}@example.com", f"row{i}"] for i in range(3000))
    results = tmp_path / "results.csv"
    command = [
        sys.executable, "-m", "publitrac.cli", "sync", str(path), "--batch-rows", "100", "--concurrency", "4",
        "--base-url", sandbox.base_url, "--results", str(results), "--no-progress",
    ]  # fmt: skip
    env = {**os.environ, "PUBLITRAC_API_KEY": sandbox.api_key}
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and sandbox.stats()["accepted"] < 300:
        time.sleep(0.05)
    process.send_signal(signal.SIGTERM)
    out, err = process.communicate(timeout=60)
    assert process.returncode == 143, (out, err)  # 128 + SIGTERM
    assert "interrupted" in err and "(interrupted)" in out
    assert "Listing the rows not read (from row" in err and "as not_sent in" in err
    table = pd.read_csv(results, dtype=str, keep_default_na=False)
    # One line per input row, in input order, even for the rows the run never read.
    assert table["row"].tolist() == [str(i) for i in range(3000)]
    assert table["email"].tolist() == [f"lead{i}@example.com" for i in range(3000)]
    accepted = table[table["status"] == "accepted"]
    # The sandbox had accepted 300 when the signal went; up to 4 (the concurrency) of those answers may not have
    # reached the client: those rows are in_flight.
    assert len(accepted) >= 300 - 4
    assert set(table["status"]) <= {"accepted", "in_flight", "not_sent", "failed"}
    # Several batches were never read: they are listed as not_sent, untried, and the summary counts them.
    said = re.search(r"the ([\d,]+) rows after them were not read", out)
    assert said is not None, out
    unread = int(said[1].replace(",", ""))
    assert unread >= 500 and unread % 100 == 0, out
    tail = table.tail(unread)
    assert (tail["status"] == "not_sent").all() and (tail["attempts"] == "0").all()
    assert "3,000 rows:" in out and "The results file stops" not in out
    counts = table["status"].value_counts()
    assert f"{counts['accepted']:,} accepted" in out and f"{counts['not_sent']:,} not sent" in out
    sandbox.wait_until_applied(timeout=30)
    stored = {lead["email"] for lead in sandbox.leads()}
    assert set(accepted["email"]) <= stored
    # The ledger's record of the run counts every row of the results file, the ones never read included.
    ledger = publitrac.open_ledger()
    assert ledger is not None
    (run,) = ledger.runs(limit=1)
    ledger.close()
    assert run.interrupted and run.counts["rows"] == 3000
    assert run.counts["not_sent"] == counts["not_sent"] and run.counts["accepted"] == counts["accepted"]

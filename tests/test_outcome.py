"""RunOutcome: one overall view of a push and its retries, with the file's own row numbers.

Reports are real: dry runs (nothing sent) and syncs against the sandbox over HTTP, with 5xx faults so that some
rows fail; the engine's own arrays are only set by hand to freeze a "retrying" moment.
"""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

import publitrac
from publitrac.engine._outcome import RunOutcome, explain_status, live_counts
from publitrac.engine._report import RETRY_WAIT


@pytest.fixture
def frame() -> pd.DataFrame:
    emails = [f"lead{i}@example.com" for i in range(40)]
    emails[5] = "not-an-email"
    emails[30] = "LEAD3@example.com "  # the same lead as row 3: the later row wins
    return pd.DataFrame({"email": emails, "firstName": [f"N{i}" for i in range(40)]}, index=range(100, 140))


def test_dry_run_counts_and_sentence(frame: pd.DataFrame) -> None:
    outcome = RunOutcome(frame, publitrac.sync(frame, dry_run=True))
    counts = outcome.counts()
    assert counts["invalid"] == 1 and counts["not_sent"] == 39 and counts["failed"] == 0
    assert outcome.sentence().startswith("Dry run: 39 of 40 rows would be sent")
    assert len(outcome.positions_to_retry()) == 0  # nothing pushed yet: nothing to retry


def test_push_then_retry_gives_one_view_with_file_row_numbers(
    frame: pd.DataFrame, make_sandbox: Callable[..., Any]
) -> None:
    faulty = make_sandbox(error_5xx=0.6, seed=11)
    client = publitrac.Publitrac(api_key=faulty.api_key, base_url=faulty.base_url)
    first = publitrac.sync(frame, client, progress=False, max_attempts=2, max_retry_time=5)
    outcome = RunOutcome(frame, first)
    failed = first.counts["failed"]
    assert failed > 0, "the faults should leave some rows failed"
    assert outcome.counts()["failed"] == failed
    positions = outcome.positions_to_retry()
    status = first.results["status"].to_numpy()
    keys = frame["email"].str.strip().str.lower().to_numpy()
    failed_keys = set(keys[status == "failed"])
    # The failed rows, and every valid row sharing an email with one of them (the group goes again whole).
    expected = [i for i in range(len(frame)) if status[i] != "invalid" and keys[i] in failed_keys]
    assert list(positions) == expected and len(expected) >= failed

    well = make_sandbox()  # the service is well again
    steady = publitrac.Publitrac(api_key=well.api_key, base_url=well.base_url)
    groups = outcome.error_groups()
    failures = groups[groups["status"] == "failed"]
    assert failures["rows"].sum() == failed
    assert failures["explanation"].str.fullmatch(r".* \(HTTP 50[0234]\): tried 2 times").all()
    assert failures["what_to_do"].str.startswith("Retry these rows").all()
    invalid = groups[groups["status"] == "invalid"].iloc[0]
    assert invalid["explanation"] == "Not a valid email address (email): not sent"
    assert invalid["example"] == "row 5: not-an-email"
    retry = publitrac.sync(outcome.rows_to_retry(), steady, progress=False)
    outcome.add_retry(positions, retry)

    counts = outcome.counts()
    assert counts["accepted"] == 39 and counts["failed"] == 0 and counts["invalid"] == 1
    assert outcome.sentence() == "39 of 39 valid rows accepted (after 1 retry); 1 invalid row not sent"
    assert outcome.reports == [first, retry]
    table = outcome.results()
    assert list(table["row"]) == list(range(40))  # the file's rows, never renumbered
    assert list(table["email"]) == list(frame["email"])
    assert (table.loc[table["status"] == "accepted", "error"] == "").all()
    retried = table.iloc[positions]
    assert (retried["attempts"] >= 2).all()  # every attempt counted, over both runs
    written = pd.read_csv(io.BytesIO(outcome.csv_bytes()), keep_default_na=False)
    assert list(written.columns) == ["row", "email", "status", "http_status", "attempts", "error"]
    assert list(written["row"]) == list(range(40))
    assert written.loc[5, "status"] == "invalid" and "valid email" in written.loc[5, "error"]
    assert outcome.duplicates_sentence() == "39 accepted, 38 leads: 2 rows share an email; the later one wins"


def test_explain_status() -> None:
    assert explain_status(503) == "Publitrac was busy (HTTP 503)"
    assert explain_status(0).startswith("No answer from Publitrac")
    assert explain_status(400, message="leadInfo.email is required") == (
        "Publitrac refused the lead as malformed (HTTP 400): leadInfo.email is required"
    )
    assert "HTTP 418" in explain_status(418)


def test_live_counts_keep_retrying_rows_apart_from_failed(frame: pd.DataFrame) -> None:
    report = publitrac.sync(frame, dry_run=True)
    # The engine's own marks, frozen mid-run: 2 rows wait for another attempt, 1 failed for good.
    report._status[[0, 1]] = RETRY_WAIT
    report._status[2] = 3  # FAILED
    counts = live_counts(report)
    assert counts["retrying"] == 2 and counts["failed"] == 1 and counts["not_sent"] == 36
    outcome = RunOutcome(frame, report)
    assert outcome.counts()["failed"] == 3  # a finished report: rows still waiting count as failed


def test_a_retry_keeps_the_later_row_of_an_email_last() -> None:
    frame = pd.DataFrame(
        {"email": ["a@example.com", "b@example.com", "A@example.com ", "c@example.com", "bad"]}
    )
    report = publitrac.sync(frame, dry_run=True)
    report.dry_run = False  # as the engine leaves a push: row 0 failed, the others accepted
    report._status[[0, 1, 2, 3]] = [3, 2, 2, 2]  # FAILED, ACCEPTED...
    outcome = RunOutcome(frame, report)
    # Row 0 alone would now reach Publitrac after row 2, whose email it shares: row 2 goes again after it.
    assert list(outcome.positions_to_retry()) == [0, 2]
    report._status[0] = 2
    assert len(RunOutcome(frame, report).positions_to_retry()) == 0
    # Row 2 failed after row 0 was accepted: row 0 goes again too, so that the ledger records the group whole.
    report._status[2] = 3
    assert list(RunOutcome(frame, report).positions_to_retry()) == [0, 2]

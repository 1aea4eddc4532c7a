"""SyncReport: the results frame, the summary, the row selections, the CSV and the displays."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pandas as pd

import publitrac
from publitrac.engine._report import ACCEPTED, FAILED, IN_FLIGHT, RETRY_WAIT, SyncReport


def make_report() -> tuple[pd.DataFrame, SyncReport]:
    frame = pd.DataFrame(
        {
            "Email": ["a@x.io", "b@x.io", "<b>c</b>@x.io", "d@x.io", "e@x.io", "f@x.io"],
            "Plan": list("pqrstu"),
        },
        index=pd.Index([10, 11, 12, 13, 14, 15], name="id"),
    )
    problems = pd.DataFrame(
        {
            "row": [12],
            "position": [2],
            "column": ["Email"],
            "field": ["email"],
            "value": ["<b>c</b>@x.io"],
            "problem": ["not a valid email address"],
            "severity": ["error"],
        }
    )
    invalid = np.array([False, False, True, False, False, False])
    report = SyncReport(frame, emails=frame["Email"], problems=problems, invalid=invalid)
    # as the engine leaves them: 0 accepted, 1 failed (final 400), 3 failed while waiting to retry,
    # 4 in flight, 5 not sent
    report._status[0], report._http_status[0], report._attempts[0], report._elapsed_ms[0] = (
        ACCEPTED,
        200,
        1,
        12.3,
    )
    report._status[1], report._http_status[1], report._attempts[1] = FAILED, 400, 1
    report._errors[1] = "HTTP 400: bad lead"
    report._status[3], report._http_status[3], report._attempts[3] = RETRY_WAIT, 503, 2
    report._errors[3] = "HTTP 503 Service Unavailable"
    report._status[4], report._attempts[4] = IN_FLIGHT, 1
    report._sent_at[[0, 1, 3, 4]] = [1_800_000_000.25, 1_800_000_001.0, 1_800_000_002.5, 1_800_000_003.0]
    valid = np.flatnonzero(~invalid)
    report._body_keys[valid], report._keyed[valid] = [11, -22, 33, 44, 55], True
    report.run_id = 7
    report._finish(interrupted=True)
    return frame, report


def test_results_are_aligned_and_typed() -> None:
    frame, report = make_report()
    results = report.results
    assert list(results.index) == list(frame.index) and results.index.name == "id"
    assert list(results.columns) == [
        *["email", "status", "http_status", "attempts", "error", "elapsed_ms"],
        *["run_id", "sent_at", "body_key"],
    ]
    assert results["status"].tolist() == ["accepted", "failed", "invalid", "failed", "in_flight", "not_sent"]
    assert results["http_status"].tolist()[:2] == [200, 400]
    assert results["http_status"].isna().tolist() == [False, False, True, False, True, True]
    assert results["attempts"].tolist() == [1, 1, 0, 2, 1, 0]
    assert results["error"].iloc[2] == "Email: not a valid email address"
    assert pd.isna(results["error"].iloc[0])
    assert results["elapsed_ms"].iloc[0] == 12.3
    assert results["email"].tolist() == frame["Email"].tolist()
    assert results["run_id"].tolist() == [7] * 6 and str(results["run_id"].dtype) == "Int64"
    assert str(results["sent_at"].dtype) == "datetime64[ms, UTC]"
    assert results["sent_at"].iloc[0] == pd.Timestamp("2027-01-15T08:00:00.25Z")
    assert results["sent_at"].isna().tolist() == [False, False, True, False, False, True]
    assert results["body_key"].isna().tolist() == [False, False, True, False, False, False]
    assert results["body_key"].iloc[1] == -22


def test_results_without_a_ledger_have_no_run_id() -> None:
    frame, report = make_report()
    report.run_id = None
    assert report.results["run_id"].isna().all()
    assert report.counts_by_change is None
    assert "added" not in report.describe()


def test_summary_counts_every_status() -> None:
    _, report = make_report()
    assert report.summary.to_dict() == {
        "accepted": 1,
        "unchanged": 0,
        "invalid": 1,
        "failed": 2,
        "in_flight": 1,
        "not_sent": 1,
    }
    assert report.summary.sum() == len(report) == 6
    assert not report.ok


def test_row_selections_come_from_the_original_frame() -> None:
    frame, report = make_report()
    pd.testing.assert_frame_equal(report.failed_rows(), frame.loc[[11, 13]])
    pd.testing.assert_frame_equal(report.invalid_rows(), frame.loc[[12]])
    pd.testing.assert_frame_equal(report.rows_to_retry(), frame.loc[[11, 13, 14, 15]])
    pd.testing.assert_frame_equal(report.accepted_rows(), frame.loc[[10]])
    failed = report.failed_rows()
    failed.loc[11, "Plan"] = "changed"
    assert frame.loc[11, "Plan"] == "q"  # a copy: editing it leaves the input alone


def test_csv_has_one_line_per_input_row_in_order(tmp_path: Path) -> None:
    _, report = make_report()
    path = tmp_path / "results.csv"
    report.to_csv(path)
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == [
        *["row", "email", "status", "http_status", "attempts", "error"],
        *["run_id", "sent_at", "body_key"],
    ]
    assert [row["row"] for row in rows] == ["0", "1", "2", "3", "4", "5"]
    assert {row["run_id"] for row in rows} == {"7"}
    assert [row["sent_at"] for row in rows] == [
        "2027-01-15T08:00:00.250Z",
        "2027-01-15T08:00:01.000Z",
        "",
        "2027-01-15T08:00:02.500Z",
        "2027-01-15T08:00:03.000Z",
        "",
    ]
    assert [row["body_key"] for row in rows] == ["11", "-22", "", "33", "44", "55"]
    assert [row["status"] for row in rows] == [
        "accepted",
        "failed",
        "invalid",
        "failed",
        "in_flight",
        "not_sent",
    ]
    assert [row["http_status"] for row in rows] == ["200", "400", "", "503", "", ""]
    assert rows[1]["error"] == "HTTP 400: bad lead"


def test_csv_can_number_rows_as_another_file_does(tmp_path: Path) -> None:
    _, report = make_report()
    path = tmp_path / "retry.csv"
    report.to_csv(path, rows=[3, 8, 9, 20, 21, 40])
    assert pd.read_csv(path)["row"].tolist() == [3, 8, 9, 20, 21, 40]


def test_the_summary_says_what_changed_when_a_ledger_counted_it() -> None:
    from publitrac.engine._report import ChangeCounts

    _, report = make_report()
    report.changes = ChangeCounts(added=1, changed=0, unchanged=0, previously_failed_now_sent=1)
    assert report.describe().endswith("; 1 added, 0 changed, 0 unchanged, 1 previously failed now sent")
    assert report.counts_by_change == {
        "added": 1,
        "changed": 0,
        "resent": 0,
        "unchanged": 0,
        "previously_failed_now_sent": 1,
    }


def test_displays_are_readable_and_escaped() -> None:
    _, report = make_report()
    text = repr(report)
    assert text.startswith("SyncReport: 6 rows: 1 accepted, 1 invalid, 2 failed, 1 in flight, 1 not sent")
    assert "(interrupted)" in text
    assert "HTTP 400: bad lead" in text
    page = report._repr_html_()
    assert "<b>c</b>" not in page and "&lt;b&gt;c&lt;/b&gt;" in page
    assert "<table" in page and "in flight" in page


def test_a_finished_run_is_not_interrupted_and_a_dry_run_says_so() -> None:
    frame = pd.DataFrame({"email": ["a@x.io", "b@x.io"]})
    report = SyncReport(frame, emails=frame["email"])
    report._status[:] = ACCEPTED
    report._finish()
    assert report.ok and not report.interrupted
    assert report.rows_to_retry().empty
    dry = publitrac.sync(frame, dry_run=True)
    assert dry.dry_run and not dry.interrupted
    assert "dry run" in repr(dry)
    assert dry.summary["not_sent"] == 2


def test_empty_frame() -> None:
    report = publitrac.sync(pd.DataFrame({"email": pd.Series([], dtype=object)}), dry_run=True)
    assert len(report.results) == 0
    assert report.summary.sum() == 0
    assert "0 rows" in repr(report)


def test_rows_to_retry_bring_their_whole_email_group() -> None:
    frame = pd.DataFrame(
        {"email": ["a@example.com", "b@example.com", " A@example.com", "c@example.com", "bad"]},
        index=[10, 11, 12, 13, 14],
    )
    report = publitrac.sync(frame, dry_run=True)
    report.dry_run = False
    report._status[:4] = [ACCEPTED, ACCEPTED, FAILED, ACCEPTED]
    # Row 12 alone would leave the ledger a gap before it; row 10, its email's earlier row, goes again with it.
    pd.testing.assert_frame_equal(report.rows_to_retry(), frame.loc[[10, 12]])
    report._status[2] = ACCEPTED
    assert report.rows_to_retry().empty

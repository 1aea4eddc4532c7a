"""The command line's error paths, in-process: option values refused by argparse, long problem lists cut short,
failed rows listed, a results folder that cannot be written, an interrupted run, an error that stops a run with
`--results`, a sandbox left empty."""

from __future__ import annotations

import csv
import errno
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import publitrac
from publitrac.cli import _main as cli
from publitrac.cli._main import main

ROOT = Path(__file__).resolve().parents[1]
LEADS = ROOT / "examples" / "leads.csv"


def _write(path: Path, emails: list[str]) -> Path:
    pd.DataFrame({"Email": emails, "First Name": ["Ada"] * len(emails)}).to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--concurrency", "many", "not a whole number: 'many'"),
        ("--concurrency", "0", "must be at least 1: '0'"),
        ("--max-attempts", "2.5", "not a whole number: '2.5'"),
        ("--rate-limit", "fast", "not a number: 'fast'"),
        ("--rate-limit", "0", "must be more than 0: '0'"),
        ("--rate-limit", "nan", "must be more than 0: 'nan'"),
    ],
)
def test_bad_option_values_exit_2_naming_the_value(
    option: str, value: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["sync", str(LEADS), "--dry-run", option, value])
    assert stopped.value.code == 2
    assert message in capsys.readouterr().err


def test_a_long_list_of_problems_is_cut_with_a_count(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    leads = _write(tmp_path / "bad.csv", [f"not-an-email-{i}" for i in range(13)] + ["ok@example.com"])
    assert main(["validate", str(leads)]) == 1
    out = capsys.readouterr().out
    assert out.count("not a valid email address") == cli._SHOWN_PROBLEMS
    assert f"... and {13 - cli._SHOWN_PROBLEMS} more" in out


def test_failed_rows_are_listed_and_cut_with_a_count(
    tmp_path: Path, make_sandbox: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # every delayedSync answers HTTP 200 with an error body; one attempt each: every row fails
    sandbox = make_sandbox(error_200=1.0, retry_after=0)
    monkeypatch.setenv("PUBLITRAC_API_KEY", sandbox.api_key)
    leads = _write(tmp_path / "leads.csv", [f"lead{i}@example.com" for i in range(12)])
    results = tmp_path / "results.csv"
    code = main(
        ["sync", str(leads), "--base-url", sandbox.base_url, "--max-attempts", "1", "--no-progress"]
        + ["--results", str(results)]
    )
    assert code == 1
    out = capsys.readouterr().out
    assert "Failed rows:" in out and f"... and {12 - cli._SHOWN_PROBLEMS} more" in out
    with results.open(encoding="utf-8") as handle:
        assert {row["status"] for row in csv.DictReader(handle)} == {"failed"}


def test_a_results_folder_that_cannot_be_written_exits_2_before_sending(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # root writes anywhere but on a read-only mount: the probe file fails as it would there
    def read_only(*args: Any, **kwargs: Any) -> Any:
        raise OSError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(cli.tempfile, "NamedTemporaryFile", read_only)
    code = main(["sync", str(LEADS), "--dry-run", "--results", str(tmp_path / "results.csv")])
    assert code == 2
    assert f"cannot write in {tmp_path}: Read-only file system" in capsys.readouterr().err


def test_an_interrupted_run_reports_every_row_and_exits_130(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real_sync = publitrac.sync

    def interrupted(df: pd.DataFrame, client: Any = None, **options: Any) -> Any:
        # the run stops before sending anything: every valid row is not_sent
        raise publitrac.SyncInterrupted(real_sync(df, None, **{**options, "dry_run": True}))

    monkeypatch.setattr(publitrac, "sync", interrupted)
    monkeypatch.setenv("PUBLITRAC_API_KEY", "k")
    results = tmp_path / "results.csv"
    code = main(
        [
            "sync",
            str(LEADS),
            "--base-url",
            "http://127.0.0.1:9/v2",
            "--no-progress",
            "--results",
            str(results),
        ]
    )
    assert code == 130  # 128 + SIGINT: a KeyboardInterrupt is Ctrl-C's
    captured = capsys.readouterr()
    assert "interrupted" in captured.err
    with results.open(encoding="utf-8") as handle:
        statuses = [row["status"] for row in csv.DictReader(handle)]
    assert len(statuses) == 300 and set(statuses) == {"invalid", "not_sent"}


def test_ctrl_c_outside_a_run_exits_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    def ctrl_c(*args: Any, **kwargs: Any) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(cli, "read_file", ctrl_c)
    assert main(["validate", str(LEADS)]) == 130
    assert "publitrac: interrupted" in capsys.readouterr().err


def test_an_error_that_stops_a_run_still_writes_the_results(
    tmp_path: Path, sandbox: Any, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PUBLITRAC_API_KEY", "refused-key")
    results = tmp_path / "results.csv"
    code = main(
        ["sync", str(LEADS), "--base-url", sandbox.base_url, "--no-progress", "--results", str(results)]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "API key was refused" in err and "refused-key" not in err
    assert f"Results written to {results}" in err
    with results.open(encoding="utf-8") as handle:
        assert len(list(csv.DictReader(handle))) == 300


def test_a_sandbox_left_empty_says_so(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    leads = _write(tmp_path / "invalid.csv", ["nope", "still nope"])
    assert main(["sync", str(leads), "--sandbox", "--no-progress"]) == 1
    assert "The sandbox now holds 0 leads" in capsys.readouterr().out

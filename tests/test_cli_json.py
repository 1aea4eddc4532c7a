"""`--output json`: one JSON document on stdout, valid against `publitrac/cli/output_schema.json`, the human text on
stderr; and the exit statuses 130 (SIGINT) and 143 (SIGTERM), for in-memory and streamed syncs, with the results
file and the document complete. Real subprocesses against the sandbox."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pandas as pd
import pytest

from publitrac.cli._main import main
from publitrac.cli._output import load_schema
from publitrac.sandbox import SandboxServer

ROOT = Path(__file__).resolve().parents[1]
LEADS = ROOT / "examples" / "leads.csv"
INVALID_POSITIONS = {17, 58, 133, 176, 264}  # examples/make_leads.py documents them
VALIDATOR = jsonschema.Draft202012Validator(
    load_schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
)
STATUSES = {"accepted", "unchanged", "invalid", "failed", "in_flight", "not_sent"}


def environment(sandbox: SandboxServer | None = None, **extra: str) -> dict[str, str]:
    # PUBLITRAC_LEDGER stays: it points at the test's own ledger, never the user's
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUBLITRAC_") or k == "PUBLITRAC_LEDGER"}
    if sandbox is not None:
        env.update({"PUBLITRAC_API_KEY": sandbox.api_key, "PUBLITRAC_BASE_URL": sandbox.base_url})
    env.update(extra)
    return env


def publitrac(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "publitrac.cli", *args],
        capture_output=True,
        text=True,
        env=env if env is not None else environment(),
        timeout=120,
        cwd=ROOT,
    )


def parsed(stdout: str, command: str) -> dict[str, Any]:
    """The one document of stdout, checked against the schema (json.loads refuses anything around it)."""
    document: dict[str, Any] = json.loads(stdout)
    VALIDATOR.validate(document)
    assert document["command"] == command and document["schema_version"] == 1
    return document


def in_process(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """`main(args)` in this process (faster than a subprocess where exit codes by signal are not at stake)."""
    status = main(list(args))
    captured = capsys.readouterr()
    return status, captured.out, captured.err


def read_results(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def test_the_schema_is_valid_and_refuses_a_document_without_counts(
    capsys: pytest.CaptureFixture[str],
) -> None:
    jsonschema.Draft202012Validator.check_schema(load_schema())
    _, out, _ = in_process(capsys, "validate", str(LEADS), "--output", "json")
    document = parsed(out, "validate")
    del document["counts"]["not_sent"]
    with pytest.raises(jsonschema.ValidationError):
        VALIDATOR.validate(document)


@pytest.mark.parametrize("streamed", [False, True], ids=["in-memory", "streamed"])
def test_validate_writes_one_document_and_the_human_text_on_stderr(
    streamed: bool, capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, err = in_process(
        capsys, "validate", str(LEADS), "--output", "json", *(["--batch-rows", "64"] if streamed else [])
    )
    assert status == 1, err
    document = parsed(out, "validate")
    assert document["exit_code"] == 1 and document["error"] is None
    assert document["rows"] == 300 and document["dry_run"] is True
    assert document["counts"] == dict.fromkeys(STATUSES, 0) | {"invalid": 5, "not_sent": 295}
    assert document["file"]["streamed"] is streamed and document["file"]["encoding"] == "utf-8"
    assert document["file"]["delimiter"] == "," and document["file"]["encoding_ambiguous"] is False
    assert document["mapping"]["email"] == "E-mail Address"
    assert document["mapping"]["fields"]["First Name"] == "firstName"
    assert "Company" in document["mapping"]["not_sent"]
    problems = document["problems"]
    assert problems["invalid_rows"] == 5
    errors = [item for item in problems["shown"] if item["severity"] == "error"]
    assert {item["row"] for item in errors} == INVALID_POSITIONS
    assert {item["column"] for item in errors} == {"E-mail Address"}
    if not streamed:  # the file's line, the header being line 1
        assert {item["line"] for item in errors} == {row + 2 for row in INVALID_POSITIONS}
        assert any(item["problem"].startswith("same email as line 44") for item in problems["shown"])
    # every human line went to stderr
    assert "Mapping: E-mail Address -> email" in err and "Invalid rows (not sent):" in err


def test_usage_errors_still_write_the_document(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = in_process(capsys, "validate", str(tmp_path / "missing.csv"), "--output", "json")
    assert status == 2
    document = parsed(out, "validate")
    assert document["error"]["type"] == "UsageError" and document["file"]["encoding"] is None
    done = publitrac("validate", str(LEADS), "--email-column", "Nope", "--output", "json")
    assert done.returncode == 2
    document = parsed(done.stdout, "validate")
    assert document["exit_code"] == 2 and document["error"]["type"] == "ConfigurationError"
    assert "--email-column Nope names no column" in document["error"]["message"]
    assert document["file"]["encoding"] == "utf-8" and document["mapping"] is None


@pytest.mark.parametrize("streamed", [False, True], ids=["in-memory", "streamed"])
def test_a_sync_and_the_ledger_commands_as_json(
    streamed: bool,
    make_sandbox: Callable[..., SandboxServer],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sandbox = make_sandbox()
    ledger = tmp_path / "ledger.sqlite3"
    results = tmp_path / "results.csv"
    env = environment(sandbox, PUBLITRAC_LEDGER=str(ledger))
    done = publitrac(
        "sync", str(LEADS), "--results", str(results), "--output", "json",
        *(["--batch-rows", "100"] if streamed else []), env=env,
    )  # fmt: skip
    assert done.returncode == 1, done.stderr  # the invalid rows
    document = parsed(done.stdout, "sync")
    assert document["exit_code"] == 1 and document["error"] is None and document["interrupted"] is False
    assert document["counts"] == dict.fromkeys(STATUSES, 0) | {"accepted": 295, "invalid": 5}
    assert document["destination"] == {"base_url": sandbox.base_url, "profile": None, "sandbox": False}
    assert document["file"]["streamed"] is streamed and document["dry_run"] is False
    assert document["file"]["batch_rows"] == (100 if streamed else None)
    assert document["results_file"] == str(results) and len(read_results(results)) == 300
    assert document["rows_per_s"] > 0 and document["duration_s"] > 0
    assert document["started"] < document["finished"]
    assert isinstance(document["run_id"], int) and document["ledger"] == str(ledger)
    assert sandbox.api_key not in done.stdout + done.stderr
    assert "Results written to" in done.stderr and "Results written" not in done.stdout
    if streamed:
        return  # the ledger's commands: once is enough

    for name, value in env.items():
        if name.startswith("PUBLITRAC_"):
            monkeypatch.setenv(name, value)
    status, out, _ = in_process(capsys, "runs", "--output", "json")
    (run,) = parsed(out, "runs")["runs"]
    assert run["id"] == document["run_id"] and run["rows"] == 300 and run["input"] == "leads.csv"
    assert run["counts"] == document["counts"] and run["destination"].startswith(sandbox.base_url)
    status, out, err = in_process(capsys, "runs", "show", str(run["id"]), "--output", "json")
    assert status == 0 and parsed(out, "runs show")["run"] == run and "accepted:" in err
    # the option before the subcommand says the same
    status, out, _ = in_process(capsys, "runs", "--output", "json", "show", str(run["id"]))
    assert parsed(out, "runs show")["run"] == run
    status, out, _ = in_process(capsys, "runs", "show", "999", "--output", "json")
    assert status == 1 and parsed(out, "runs show")["run"] is None
    status, out, _ = in_process(capsys, "ledger", "stats", "--output", "json")
    stats = parsed(out, "ledger stats")
    assert stats["leads"] == 295 - 1 and stats["runs"] == 1  # two rows of the example share an email
    assert stats["destination"] == run["destination"] and stats["first_accepted"] <= stats["last_accepted"]

    status, out, _ = in_process(capsys, "sync", str(LEADS), "--output", "json", "--no-progress")
    again = parsed(out, "sync")
    assert again["counts"]["unchanged"] == 295 and again["counts"]["accepted"] == 0
    assert again["run_id"] == run["id"] + 1


def test_a_dry_run_as_json(capsys: pytest.CaptureFixture[str]) -> None:
    status, out, _ = in_process(capsys, "sync", str(LEADS), "--dry-run", "--output", "json", "--no-ledger")
    assert status == 1
    document = parsed(out, "sync")
    assert document["dry_run"] is True and document["destination"] is None and document["run_id"] is None
    assert document["counts"]["not_sent"] == 295 and document["rows_per_s"] is None


def test_failed_rows_are_listed_capped(make_sandbox: Callable[..., SandboxServer], tmp_path: Path) -> None:
    sandbox = make_sandbox(error_200=0.5, retry_after=0, seed=4)
    path = tmp_path / "leads.csv"
    pd.DataFrame({"email": [f"lead{i}@example.com" for i in range(120)]}).to_csv(path, index=False)
    done = publitrac("sync", str(path), "--max-attempts", "1", "--output", "json", env=environment(sandbox))
    assert done.returncode == 1, done.stderr
    document = parsed(done.stdout, "sync")
    failures = document["failures"]
    assert failures["total"] == document["counts"]["failed"] > 20 and len(failures["shown"]) == 20
    first = failures["shown"][0]
    assert first["email"] == f"lead{first['row']}@example.com" and first["line"] == first["row"] + 2
    assert first["error"].startswith("HTTP 200, body code")


def test_a_refused_key_exits_2_with_the_error_and_no_secret(
    make_sandbox: Callable[..., SandboxServer], tmp_path: Path
) -> None:
    sandbox = make_sandbox()
    secret = "wrong-key-do-not-leak"
    env = environment(sandbox, PUBLITRAC_API_KEY=secret)
    results = tmp_path / "results.csv"
    done = publitrac("sync", str(LEADS), "--output", "json", "--results", str(results), env=env)
    assert done.returncode == 2, done.stderr
    document = parsed(done.stdout, "sync")
    assert document["exit_code"] == 2 and document["error"]["type"] == "AuthenticationError"
    assert document["error"]["message"] in done.stderr
    assert document["counts"]["accepted"] == 0 and document["rows"] == 300
    assert secret not in done.stdout + done.stderr


def _slow_csv(tmp_path: Path, rows: int) -> Path:
    path = tmp_path / "leads.csv"
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["email", "firstName"])
        writer.writerows([f"lead{i}@example.com", f"row{i}"] for i in range(rows))
    return path


@pytest.mark.parametrize("streamed", [False, True], ids=["in-memory", "streamed"])
@pytest.mark.parametrize(
    ("sig", "status"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"]
)
def test_a_signal_exits_128_plus_its_number_with_the_results_and_the_document(
    sig: signal.Signals,
    status: int,
    streamed: bool,
    make_sandbox: Callable[..., SandboxServer],
    tmp_path: Path,
) -> None:
    sandbox = make_sandbox(latency_ms=100)
    rows = 600
    path = _slow_csv(tmp_path, rows)
    results = tmp_path / "results.csv"
    command = [
        sys.executable, "-m", "publitrac.cli", "sync", str(path), "--concurrency", "4", "--no-progress",
        "--results", str(results), "--output", "json", *(["--batch-rows", "100"] if streamed else []),
    ]  # fmt: skip
    process = subprocess.Popen(
        command, env=environment(sandbox), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=ROOT
    )
    try:
        deadline = time.monotonic() + 60
        while sandbox.stats()["accepted"] < 20 and time.monotonic() < deadline:
            time.sleep(0.05)
        process.send_signal(sig)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == status, err
    assert "Traceback" not in err, err
    document = parsed(out, "sync")
    assert document["exit_code"] == status and document["interrupted"] is True
    assert document["signal"] == sig.name and document["error"]["type"] == "SyncInterrupted"
    table = read_results(results)
    assert [int(row["row"]) for row in table] == list(range(rows))  # every row, in input order
    counted = {name: sum(row["status"] == name for row in table) for name in STATUSES}
    assert document["counts"] == counted and document["rows"] == rows
    assert 0 < counted["accepted"] < rows and counted["not_sent"] > 0, counted
    assert document["results_complete"] in ((True,) if streamed else (None,))
    assert "interrupted" in err and "Results written" in err


def test_a_streamed_validation_stopped_part_way_exits_130_with_its_counts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    import publitrac
    import publitrac.syncs._stream as stream

    real = stream.sync_stream

    def stopped(*args: Any, **options: Any) -> Any:
        raise publitrac.SyncInterrupted(real(*args, **options))  # type: ignore[arg-type]

    monkeypatch.setattr(stream, "sync_stream", stopped)
    status, out, err = in_process(capsys, "validate", str(LEADS), "--batch-rows", "64", "--output", "json")
    assert status == 130 and "publitrac: interrupted" in err
    document = parsed(out, "validate")
    assert document["exit_code"] == 130 and document["signal"] == "SIGINT" and document["rows"] == 300
    assert document["error"]["type"] == "SyncInterrupted"

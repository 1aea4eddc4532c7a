"""The ledger on the command line: `publitrac sync` reruns, `--full`, `--no-ledger`, `--ledger`, `--sandbox`;
`publitrac runs` and `publitrac ledger`. Subprocesses against the sandbox, each with the test's own ledger."""

from __future__ import annotations

import csv
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from publitrac.sandbox import SandboxServer

ROOT = Path(__file__).resolve().parents[1]
LEADS = ROOT / "examples" / "leads.csv"
INVALID_POSITIONS = {17, 58, 133, 176, 264}  # examples/make_leads.py documents them
VALID = 300 - len(INVALID_POSITIONS)


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    # PUBLITRAC_LEDGER stays: it points at the test's own ledger (conftest), never the user's
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith("PUBLITRAC_") or k == "PUBLITRAC_LEDGER"
    }
    environment.update(env or {})
    return subprocess.run(
        [sys.executable, "-m", "publitrac.cli", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=timeout,
        cwd=ROOT,
    )


def posts(sandbox: SandboxServer) -> int:
    return int(sandbox.stats()["calls"].get("delayedSync", 0))


@pytest.fixture
def env(sandbox: SandboxServer) -> dict[str, str]:
    return {"PUBLITRAC_API_KEY": sandbox.api_key, "PUBLITRAC_BASE_URL": sandbox.base_url}


def test_a_rerun_sends_nothing_and_exits_0_when_all_valid_rows_are_unchanged(
    sandbox: SandboxServer, env: dict[str, str], tmp_path: Path
) -> None:
    first = run_cli("sync", str(LEADS), "--no-progress", env=env)
    assert first.returncode == 1, first.stderr  # the example's invalid rows
    assert f"{VALID} accepted" in first.stdout and "Run 1 recorded in the ledger" in first.stdout
    assert os.environ["PUBLITRAC_LEDGER"] in first.stdout  # the test's own ledger, from the environment
    sent = posts(sandbox)
    results = tmp_path / "results.csv"
    second = run_cli("sync", str(LEADS), "--no-progress", "--results", str(results), env=env)
    assert posts(sandbox) == sent
    assert f"{VALID} unchanged" in second.stdout and "Run 2 recorded" in second.stdout
    with results.open(encoding="utf-8") as handle:
        statuses = {row["status"] for row in csv.DictReader(handle)}
    assert statuses == {"unchanged", "invalid"}
    # without the invalid rows, every row is unchanged: exit 0
    valid = tmp_path / "valid.csv"
    lines = LEADS.read_text(encoding="utf-8").splitlines(keepends=True)
    valid.write_text("".join(line for i, line in enumerate(lines) if i - 1 not in INVALID_POSITIONS))
    third = run_cli("sync", str(valid), "--no-progress", env=env)
    assert third.returncode == 0, third.stdout + third.stderr
    assert f"{VALID} unchanged" in third.stdout and posts(sandbox) == sent


def test_full_sends_everything_and_no_ledger_remembers_nothing(
    sandbox: SandboxServer, env: dict[str, str], tmp_path: Path
) -> None:
    ledger = tmp_path / "mine.sqlite3"
    run_cli("sync", str(LEADS), "--no-progress", "--ledger", str(ledger), env=env)
    sent = posts(sandbox)
    full = run_cli("sync", str(LEADS), "--no-progress", "--ledger", str(ledger), "--full", env=env)
    assert f"{VALID} accepted" in full.stdout and posts(sandbox) == sent + VALID
    off = run_cli("sync", str(LEADS), "--no-progress", "--no-ledger", env=env)
    assert f"{VALID} accepted" in off.stdout and "recorded in the ledger" not in off.stdout
    assert not Path(
        os.environ["PUBLITRAC_LEDGER"]
    ).exists()  # --ledger PATH and --no-ledger: never the default
    dry = run_cli("sync", str(LEADS), "--dry-run", "--ledger", str(ledger), env=env)
    assert f"{VALID} unchanged" in dry.stdout and "(dry run: 0 would be sent)" in dry.stdout


def test_a_sandbox_run_uses_no_ledger_unless_given_one(tmp_path: Path) -> None:
    plain = run_cli("sync", str(LEADS), "--sandbox", "--no-progress")
    assert plain.returncode == 1 and f"{VALID} accepted" in plain.stdout, plain.stderr
    assert "recorded in the ledger" not in plain.stdout and not Path(os.environ["PUBLITRAC_LEDGER"]).exists()
    ledger = tmp_path / "sandbox.sqlite3"
    given = run_cli("sync", str(LEADS), "--sandbox", "--no-progress", "--ledger", str(ledger))
    assert "Run 1 recorded in the ledger" in given.stdout and ledger.exists()


def test_runs_and_ledger_commands(make_sandbox: Any, tmp_path: Path) -> None:
    secret = "cli-ledger-secret-key-0123456789"
    sandbox = make_sandbox(api_key=secret)
    env = {"PUBLITRAC_API_KEY": secret, "PUBLITRAC_BASE_URL": sandbox.base_url}
    empty = run_cli("runs", env=env)
    assert empty.returncode == 0 and "No ledger at" in empty.stdout  # and none is created by looking
    assert not Path(os.environ["PUBLITRAC_LEDGER"]).exists()
    run_cli("sync", str(LEADS), "--no-progress", env=env)
    run_cli("sync", str(LEADS), "--no-progress", env=env)

    listed = run_cli("runs", env=env)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert "unchanged" in lines[0] and "destination" in lines[0] and len(lines) == 3
    assert lines[1].split()[0] == "2" and lines[2].split()[0] == "1"  # newest first
    assert "leads.csv" in lines[1] and sandbox.base_url in lines[1]
    shown = run_cli("runs", "show", "1", env=env)
    assert shown.returncode == 0
    assert re.search(rf"^accepted: +{VALID}$", shown.stdout, flags=re.MULTILINE), shown.stdout
    assert re.search(r"^interrupted: +no$", shown.stdout, flags=re.MULTILINE)
    # the run's provenance (publitrac retry): the input file's absolute path and SHA-256
    assert re.search(rf"^input path: +{re.escape(str(LEADS))}$", shown.stdout, flags=re.MULTILINE)
    assert re.search(r"^input sha256: +[0-9a-f]{64}$", shown.stdout, flags=re.MULTILINE)
    assert run_cli("runs", "show", "99", env=env).returncode == 1

    stats = run_cli("ledger", "stats", env=env)
    assert f"Leads accepted: {VALID - 1}" in stats.stdout and "Runs: 2" in stats.stdout, (
        stats.stdout + stats.stderr
    )
    assert (
        "Leads accepted: 0"
        in run_cli("ledger", "stats", "--base-url", "http://127.0.0.1:9/v2", env=env).stdout
    )

    sent = posts(sandbox)
    email = "Sofia.Lopez@ejemplo.es "  # the first row's email, as a user might type it
    forgot = run_cli("ledger", "forget", "--email", email, env=env)
    assert "Forgot 1 lead of" in forgot.stdout, forgot.stdout + forgot.stderr
    again = run_cli("sync", str(LEADS), "--no-progress", env=env)
    assert f"1 accepted, {VALID - 1} unchanged" in again.stdout and posts(sandbox) == sent + 1
    everything = run_cli("ledger", "forget", "--all", env=env)
    assert f"Forgot {VALID - 1} leads" in everything.stdout
    assert f"{VALID} accepted" in run_cli("sync", str(LEADS), "--no-progress", env=env).stdout
    assert run_cli("ledger", "forget", env=env).returncode == 2  # --email or --all is required
    missing = run_cli("ledger", "stats", env={"PUBLITRAC_BASE_URL": sandbox.base_url})
    assert missing.returncode == 2 and "PUBLITRAC_API_KEY" in missing.stderr

    outputs = [listed, shown, stats, forgot, again, everything]
    assert not any(secret in o.stdout + o.stderr for o in outputs)
    assert secret.encode() not in Path(os.environ["PUBLITRAC_LEDGER"]).read_bytes()

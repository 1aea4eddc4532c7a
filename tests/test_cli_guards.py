"""The guards on the command line: `--max-invalid`, `--max-changed`/`--allow-mass-change`, `--canary`/
`--stop-if-failing`, `--dry-run --diff`, `publitrac ledger compact`. Real subprocesses against the sandbox, each
with the test's own ledger; a refusal exits 2 and names the flag."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from publitrac.sandbox import SandboxServer

ROOT = Path(__file__).resolve().parents[1]


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    environment = {
        k: v for k, v in os.environ.items() if not k.startswith("PUBLITRAC_") or k == "PUBLITRAC_LEDGER"
    }
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-m", "publitrac.cli", *args],
        capture_output=True,
        text=True,
        env=environment,
        timeout=120,
        cwd=ROOT,
    )


def posts(sandbox: SandboxServer) -> int:
    return int(sandbox.stats()["calls"].get("delayedSync", 0))


def write_leads(path: Path, n: int, *, invalid: int = 0, title: str = "Engineer") -> Path:
    emails = [f"lead{i}@example.com" if i >= invalid else f"broken {i}" for i in range(n)]
    pd.DataFrame({"Email": emails, "Job Title": [title] * n, "Company": ["ACME"] * n}).to_csv(
        path, index=False
    )
    return path


def env_for(sandbox: SandboxServer) -> dict[str, str]:
    return {"PUBLITRAC_API_KEY": sandbox.api_key, "PUBLITRAC_BASE_URL": sandbox.base_url}


@pytest.mark.parametrize("streamed", [False, True])
def test_too_many_invalid_rows_exit_2_naming_the_flag(
    sandbox: SandboxServer, tmp_path: Path, streamed: bool
) -> None:
    leads = write_leads(tmp_path / "leads.csv", 50, invalid=12)
    batches = ["--batch-rows", "25"] if streamed else []
    refused = run_cli(
        "sync", str(leads), "--no-progress", "--custom", "Company", *batches, env=env_for(sandbox)
    )
    assert refused.returncode == 2, refused.stderr
    where = "12 of 25 rows in the first batch (48.0%)" if streamed else "12 of 50 rows (24.0%)"
    assert (
        f"publitrac: error: {where} are invalid, more than --max-invalid 20%: nothing sent" in refused.stderr
    )
    assert "max_invalid=" not in refused.stderr and posts(sandbox) == 0
    gone_on = run_cli(
        "sync",
        str(leads),
        "--no-progress",
        "--custom",
        "Company",
        "--max-invalid",
        "50%",
        *batches,
        env=env_for(sandbox),
    )
    assert gone_on.returncode == 1 and "38 accepted" in gone_on.stdout  # the invalid rows: exit 1
    assert posts(sandbox) == 38


def test_the_first_in_memory_refusal_sends_nothing(sandbox: SandboxServer, tmp_path: Path) -> None:
    leads = write_leads(tmp_path / "leads.csv", 50, invalid=10)
    results = tmp_path / "results.csv"
    refused = run_cli(
        "sync",
        str(leads),
        "--no-progress",
        "--max-invalid",
        "5",
        "--results",
        str(results),
        env=env_for(sandbox),
    )
    assert refused.returncode == 2 and posts(sandbox) == 0
    assert pd.read_csv(results)["status"].value_counts().to_dict() == {"not_sent": 40, "invalid": 10}


def test_a_failing_canary_exits_2_and_the_results_say_every_row(
    make_sandbox: Callable[..., SandboxServer], tmp_path: Path
) -> None:
    sandbox = make_sandbox(error_200=1.0)
    leads = write_leads(tmp_path / "leads.csv", 40)
    results = tmp_path / "results.csv"
    refused = run_cli(
        "sync",
        str(leads),
        "--no-progress",
        "--canary",
        "4",
        "--max-attempts",
        "1",
        "--results",
        str(results),
        env=env_for(sandbox),
    )
    assert refused.returncode == 2, refused.stderr
    assert (
        "canary: 4 of the first 4 rows sent (100.0%) failed, more than --stop-if-failing 20%"
        in refused.stderr
    )
    assert posts(sandbox) == 4
    assert pd.read_csv(results)["status"].value_counts().to_dict() == {"not_sent": 36, "failed": 4}


def test_the_column_guard_diff_and_compact(sandbox: SandboxServer, tmp_path: Path) -> None:
    env = env_for(sandbox)
    first = run_cli(
        "sync", str(write_leads(tmp_path / "a.csv", 30)), "--no-progress", "--custom", "Company", env=env
    )
    assert first.returncode == 0, first.stderr
    sent = posts(sandbox)
    changed = write_leads(tmp_path / "b.csv", 30, title="Director")
    diff = run_cli("sync", str(changed), "--dry-run", "--diff", "--custom", "Company", env=env)
    assert diff.returncode == 0, diff.stderr
    assert "leadInfo.jobTitle: 30 leads would change (100.0%)" in diff.stdout
    assert "lead0@example.com leadInfo.jobTitle: 'Engineer' -> 'Director'" in diff.stdout
    assert "This run would be refused: compared with what the ledger holds" in diff.stdout
    refused = run_cli("sync", str(changed), "--no-progress", "--custom", "Company", env=env)
    assert refused.returncode == 2 and posts(sandbox) == sent
    assert (
        "leadInfo.jobTitle changes on 30 of the 30 leads the ledger knows (100.0%), more than --max-changed 50%"
        in (refused.stderr)
    )
    assert refused.stderr.rstrip().endswith("pass --allow-mass-change")
    dropped = run_cli("sync", str(changed), "--no-progress", env=env)  # --custom Company forgotten
    assert (
        dropped.returncode == 2 and "column 'Company' (sent as leadCustomField.Company)" not in dropped.stderr
    )
    assert "leadCustomField.Company changes on 30 of the 30 leads" in dropped.stderr
    allowed = run_cli(
        "sync", str(changed), "--no-progress", "--custom", "Company", "--allow-mass-change", env=env
    )
    assert allowed.returncode == 0 and posts(sandbox) == sent + 30
    compact = run_cli("ledger", "compact", env=env)
    assert compact.returncode == 0 and "Dropped 30 kept bodies" in compact.stdout
    nodiff = run_cli("sync", str(changed), "--dry-run", "--diff", "--custom", "Company", env=env)
    assert "30 unchanged" in nodiff.stdout


def test_diff_goes_with_dry_run(tmp_path: Path) -> None:
    result = run_cli("sync", str(write_leads(tmp_path / "a.csv", 3)), "--diff", env={})
    assert result.returncode == 2 and "--diff goes with --dry-run" in result.stderr

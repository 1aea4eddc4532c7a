"""The recipes of docs/guides/unattended.md (`examples/recipes/`), run as they are against a sandbox: the cron
wrapper with its lock, the systemd units, the GitHub Actions workflow's commands, the Airflow and Dagster
functions (without the schedulers, which are not installed: their imports are guarded)."""

from __future__ import annotations

import configparser
import fcntl
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import jsonschema
import pandas as pd
import pytest
import yaml

import publitrac
from publitrac.cli._output import load_schema
from publitrac.sandbox import SandboxServer

ROOT = Path(__file__).resolve().parents[1]
RECIPES = ROOT / "examples" / "recipes"
SCRIPT = RECIPES / "push-leads.sh"
PAGE = ROOT / "docs" / "guides" / "unattended.md"
PUBLITRAC = Path(sys.executable).parent / "publitrac"  # the console script of this environment
INSTALLED_AT = "/opt/leads/push-leads.sh"  # where the recipes say the script is installed


def leads_csv(folder: Path, rows: int, *, invalid: int = 0) -> Path:
    path = folder / "leads.csv"
    emails = [f"lead{i}@example.com" for i in range(rows)] + ["not-an-email"] * invalid
    pd.DataFrame({"email": emails, "firstName": "Ann"}).to_csv(path, index=False)
    return path


def recipe_env(sandbox: SandboxServer, folder: Path, leads: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PUBLITRAC_", "LEADS_"))}
    key_file = folder / "publitrac-key"
    key_file.write_text(sandbox.api_key + "\n", encoding="utf-8")
    env.update(
        {
            "LEADS_FILE": str(leads),
            "LEADS_STATE_DIR": str(folder),
            "PUBLITRAC": str(PUBLITRAC),
            "PUBLITRAC_API_KEY_FILE": str(key_file),
            "PUBLITRAC_BASE_URL": sandbox.base_url,
            **extra,
        }
    )
    return env


def posts(sandbox: SandboxServer) -> int:
    return int(sandbox.stats()["calls"].get("delayedSync", 0))


def test_every_recipe_is_on_the_page() -> None:
    page = PAGE.read_text(encoding="utf-8")
    for path in sorted(RECIPES.iterdir()):
        assert f'--8<-- "examples/recipes/{path.name}"' in page, f"{path.name} is not included in {PAGE.name}"


# -- cron ----------------------------------------------------------------------------------------------------


@pytest.mark.skipif(shutil.which("flock") is None, reason="flock (util-linux) is not installed")
def test_the_cron_wrapper_pushes_and_a_second_run_meanwhile_sends_nothing(
    make_sandbox: Callable[..., SandboxServer], tmp_path: Path
) -> None:
    sandbox = make_sandbox(latency_ms=100)
    leads = leads_csv(tmp_path, 60)
    env = recipe_env(sandbox, tmp_path, leads, PUBLITRAC_LEDGER=str(tmp_path / "ledger.sqlite3"))
    first = subprocess.Popen(
        [str(SCRIPT)], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path
    )
    try:
        deadline = time.monotonic() + 60
        while sandbox.stats()["accepted"] < 4 and time.monotonic() < deadline:
            assert first.poll() is None, first.communicate()
            time.sleep(0.05)
        before = posts(sandbox)
        second = subprocess.run(
            [str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path
        )
        assert second.returncode == 75, second.stderr
        assert "another run holds" in second.stderr and "nothing sent" in second.stderr
        out, err = first.communicate(timeout=120)
    finally:
        first.kill()
    assert first.returncode == 0, err
    assert posts(sandbox) == 60 >= before  # every row once: the second run sent none
    document = json.loads((tmp_path / "last-run.json").read_text(encoding="utf-8"))
    jsonschema.validate(document, load_schema())
    assert document["counts"]["accepted"] == 60 and document["exit_code"] == 0
    assert document["ledger"] == str(tmp_path / "ledger.sqlite3")
    assert len(pd.read_csv(tmp_path / "results.csv")) == 60
    assert "push-leads: exit status 0" in err and out == ""
    assert sandbox.api_key not in err + (tmp_path / "last-run.json").read_text(encoding="utf-8")


@pytest.mark.skipif(shutil.which("flock") is None, reason="flock (util-linux) is not installed")
def test_the_cron_wrapper_passes_publitracs_exit_status_on(
    make_sandbox: Callable[..., SandboxServer], tmp_path: Path
) -> None:
    sandbox = make_sandbox()
    leads = leads_csv(tmp_path, 5, invalid=1)
    env = recipe_env(sandbox, tmp_path, leads)
    done = subprocess.run([str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert done.returncode == 1, done.stderr  # the invalid row
    (tmp_path / "publitrac-key").write_text("refused\n", encoding="utf-8")
    refused = subprocess.run([str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert refused.returncode == 2, refused.stderr
    document = json.loads((tmp_path / "last-run.json").read_text(encoding="utf-8"))
    assert document["error"]["type"] == "AuthenticationError"
    # the lock is free again once a run ended: it is held by the run, not left behind
    with (tmp_path / "push.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)


def test_the_crontab_line_runs_the_wrapper() -> None:
    (line,) = [
        line for line in (RECIPES / "crontab").read_text().splitlines() if line.strip() and line[0] != "#"
    ]
    minute, hour, day, month, weekday, command = line.split(maxsplit=5)
    assert (minute, hour, day, month, weekday) == ("0", "2", "*", "*", "*")
    assert shlex.split(command)[0] == INSTALLED_AT


# -- systemd -------------------------------------------------------------------------------------------------


def units() -> dict[str, configparser.ConfigParser]:
    parsed = {}
    for name in ("publitrac-push.service", "publitrac-push.timer"):
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.optionxform = str  # type: ignore[assignment,method-assign]  # systemd's keys are case-sensitive
        parser.read(RECIPES / name, encoding="utf-8")
        parsed[name] = parser
    return parsed


def test_the_systemd_units_run_the_same_command_as_cron() -> None:
    service, timer = units().values()
    assert shlex.split(service["Service"]["ExecStart"]) == [INSTALLED_AT]
    assert service["Service"]["Type"] == "oneshot"
    assert service["Service"]["LoadCredential"].startswith("publitrac-key:")  # the name the script reads
    assert "${CREDENTIALS_DIRECTORY:-/run/secrets}/publitrac-key" in SCRIPT.read_text()
    assert (
        timer["Timer"]["OnCalendar"] == "*-*-* 02:00:00" and timer["Install"]["WantedBy"] == "timers.target"
    )


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verifies_the_units(tmp_path: Path) -> None:
    # verify wants ExecStart's program to exist: the script where this checkout has it
    service = (RECIPES / "publitrac-push.service").read_text().replace(INSTALLED_AT, str(SCRIPT))
    (tmp_path / "publitrac-push.service").write_text(service)
    shutil.copy(RECIPES / "publitrac-push.timer", tmp_path)
    done = subprocess.run(
        ["systemd-analyze", "verify", "publitrac-push.service", "publitrac-push.timer"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr
    assert "publitrac-push" not in done.stderr, done.stderr  # no warning about our units (unknown keys...)


# -- GitHub Actions ------------------------------------------------------------------------------------------


def workflow() -> dict[Any, Any]:
    loaded: dict[Any, Any] = yaml.safe_load((RECIPES / "github-actions.yml").read_text())
    return loaded


def test_the_workflow_is_scheduled_with_secrets_from_the_environment() -> None:
    flow = workflow()
    triggers = flow.get("on", flow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert triggers["schedule"] == [{"cron": "0 2 * * *"}] and "workflow_dispatch" in triggers
    (job,) = flow["jobs"].values()
    assert job["env"]["PUBLITRAC_API_KEY"] == "${{ secrets.PUBLITRAC_API_KEY }}"
    for step in job["steps"]:
        assert "PUBLITRAC_API_KEY" not in step.get("run", "")  # never on a command line
        assert "${{" not in step.get("run", "")  # the commands read the environment: they run anywhere


def test_the_workflows_commands_run(make_sandbox: Callable[..., SandboxServer], tmp_path: Path) -> None:
    sandbox = make_sandbox()
    flow = workflow()
    (job,) = flow["jobs"].values()
    runs = {step["name"]: step["run"] for step in job["steps"] if "run" in step}
    page = PAGE.read_text(encoding="utf-8")
    push = runs["Push the leads"]
    assert push.strip().startswith("publitrac sync ") and "--output json > run.json" in push
    leads = tmp_path / job["env"]["LEADS_FILE"]
    leads.parent.mkdir()
    leads_csv(leads.parent, 12)
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUBLITRAC_")}
    env.update(
        {
            "PATH": f"{PUBLITRAC.parent}{os.pathsep}{env['PATH']}",
            "PUBLITRAC_API_KEY": sandbox.api_key,
            "PUBLITRAC_BASE_URL": sandbox.base_url,
            "PUBLITRAC_LEDGER": str(tmp_path / "ledger.sqlite3"),
            "LEADS_FILE": job["env"]["LEADS_FILE"],
            "GITHUB_STEP_SUMMARY": str(tmp_path / "summary.md"),
        }
    )
    for name in ("Push the leads", "Summary"):
        done = subprocess.run(
            ["bash", "-e", "-c", runs[name]],
            env=env,
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert done.returncode == 0, (name, done.stderr)
    document = json.loads((tmp_path / "run.json").read_text())
    jsonschema.validate(document, load_schema())
    assert document["counts"]["accepted"] == 12 and len(pd.read_csv(tmp_path / "results.csv")) == 12
    assert (tmp_path / "summary.md").read_text().startswith("0 {'accepted': 12")
    assert '--8<-- "examples/recipes/github-actions.yml"' in page  # the page shows these very commands


# -- Airflow and Dagster -------------------------------------------------------------------------------------


def load(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"recipe_{name}", RECIPES / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def sandbox_env(make_sandbox: Callable[..., SandboxServer], monkeypatch: pytest.MonkeyPatch) -> SandboxServer:
    sandbox = make_sandbox()
    monkeypatch.setenv("PUBLITRAC_API_KEY", sandbox.api_key)
    monkeypatch.setenv("PUBLITRAC_BASE_URL", sandbox.base_url)
    return sandbox


def test_the_airflow_task_pushes_and_fails_on_rows_not_delivered(
    sandbox_env: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = load("airflow_dag")
    assert module.dag is None or importlib.util.find_spec("airflow") is not None  # guarded, not faked
    results = str(tmp_path / "results.csv")
    counts = module.push_leads(str(leads_csv(tmp_path, 30)), results_path=results)
    assert counts["accepted"] == 30 and counts["failed"] == 0 and isinstance(counts["run_id"], int)
    assert posts(sandbox_env) == 30
    again = module.push_leads(str(leads_csv(tmp_path, 30)), results_path=results)
    assert again["unchanged"] == 30 and posts(sandbox_env) == 30  # the ledger: nothing sent twice
    with pytest.raises(module.LeadsNotDelivered, match="1 of 31 rows invalid"):
        module.push_leads(str(leads_csv(tmp_path, 30, invalid=1)), results_path=results)
    monkeypatch.setenv("PUBLITRAC_API_KEY", "refused")
    with pytest.raises(publitrac.AuthenticationError):
        module.push_leads(str(leads_csv(tmp_path, 31)), results_path=results)


def test_the_airflow_task_fails_when_rows_fail(
    make_sandbox: Callable[..., SandboxServer], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    sandbox = make_sandbox(error_200=0.5, retry_after=0, seed=4)
    monkeypatch.setenv("PUBLITRAC_API_KEY", sandbox.api_key)
    monkeypatch.setenv("PUBLITRAC_BASE_URL", sandbox.base_url)
    module = load("airflow_dag")
    monkeypatch.setattr(module.publitrac, "sync_file", _one_attempt(publitrac.sync_file))
    with pytest.raises(module.LeadsNotDelivered, match=r"rows not delivered \(\{'accepted'"):
        module.push_leads(str(leads_csv(tmp_path, 40)), results_path=str(tmp_path / "results.csv"))


def _one_attempt(sync_file: Callable[..., Any]) -> Callable[..., Any]:
    # the recipe keeps the default retries; one attempt makes the sandbox's faults final at once
    def once(*args: Any, **options: Any) -> Any:
        return sync_file(*args, **options, max_attempts=1)

    return once


def test_the_dagster_asset_pushes_and_fails_on_the_exit_status(
    sandbox_env: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    module = load("dagster_assets")
    assert module.dg is None or importlib.util.find_spec("dagster") is not None  # guarded, not faked
    results = str(tmp_path / "results.csv")
    document = module.push_leads(str(leads_csv(tmp_path, 25)), results_path=results, command=str(PUBLITRAC))
    jsonschema.validate(document, load_schema())
    assert document["counts"]["accepted"] == 25 and document["exit_code"] == 0
    assert document["destination"]["base_url"] == sandbox_env.base_url and posts(sandbox_env) == 25
    with pytest.raises(module.LeadsNotDelivered, match="rows invalid") as invalid:
        module.push_leads(
            str(leads_csv(tmp_path, 25, invalid=3)), results_path=results, command=str(PUBLITRAC)
        )
    assert invalid.value.document["counts"]["invalid"] == 3
    monkeypatch.setenv("PUBLITRAC_API_KEY", "refused")
    with pytest.raises(module.LeadsNotDelivered, match=r"publitrac exited 2: .*refused") as refused:
        module.push_leads(str(leads_csv(tmp_path, 25)), results_path=results, command=str(PUBLITRAC))
    assert refused.value.document["error"]["type"] == "AuthenticationError"


def test_the_recipes_import_without_the_schedulers() -> None:
    for name in ("airflow_dag", "dagster_assets"):
        source = (RECIPES / f"{name}.py").read_text()
        # every import of a scheduler sits in a try block: the module imports where it is not installed
        for match in re.finditer(r"^(\s*)(from airflow|import dagster)", source, re.M):
            assert match.group(1), f"{name}: an unguarded scheduler import"
        load(name)

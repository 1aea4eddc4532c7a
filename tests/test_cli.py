"""`publitrac sync` and `publitrac validate`: exit statuses, the results file, the summary; in-process and as
a subprocess, against the sandbox."""

from __future__ import annotations

import csv
import shlex
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

from publitrac.cli._main import main

ROOT = Path(__file__).resolve().parents[1]
LEADS = ROOT / "examples" / "leads.csv"
INVALID_POSITIONS = {17, 58, 133, 176, 264}  # examples/make_leads.py documents them


def run_cli(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    # PUBLITRAC_LEDGER stays: it points at the test's own ledger, never the user's
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


def read_results(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture
def clean_csv(tmp_path: Path) -> Path:
    path = tmp_path / "clean.csv"
    frame = pd.DataFrame(
        {
            "Email": [f"lead{i}@example.com" for i in range(40)],
            "First Name": ["Zoë"] * 40,
            "Company": ["Acme"] * 40,
        }
    )
    # a BOM, as Excel writes it: the first column must still be found by name
    path.write_text(frame.to_csv(index=False), encoding="utf-8-sig")
    return path


def test_validate_reports_invalid_rows_and_exits_1(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(LEADS)]) == 1
    out = capsys.readouterr().out
    assert "300 rows, 295 valid, 5 invalid, 1 warning" in out
    for position in INVALID_POSITIONS:
        assert f"line {position + 2} (E-mail Address)" in out  # the file's line: the header is line 1
    # the row a warning names is the file's line too, as the row it is about (rows 251 and 42 of the frame)
    assert "line 253 (E-mail Address): same email as line 44; sent after it, the later row wins" in out


def test_validate_a_clean_file_exits_0(clean_csv: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["validate", str(clean_csv), "--custom", "Company"]) == 0
    out = capsys.readouterr().out
    assert "40 rows, 40 valid, 0 invalid" in out
    assert (
        "Mapping: Email -> email, First Name -> firstName, Company -> custom 'Company'\nNot sent: none\n"
        in out
    )


def test_dry_run_writes_every_row_in_order(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = tmp_path / "results.csv"
    assert main(["sync", str(LEADS), "--dry-run", "--results", str(results), "--no-progress"]) == 1
    rows = read_results(results)
    assert list(rows[0]) == [
        *["row", "email", "status", "http_status", "attempts", "error"],
        *["run_id", "sent_at", "body_key"],
    ]
    assert [int(row["row"]) for row in rows] == list(range(300))
    assert {int(row["row"]) for row in rows if row["status"] == "invalid"} == INVALID_POSITIONS
    assert {row["status"] for row in rows if int(row["row"]) not in INVALID_POSITIONS} == {"not_sent"}
    out = capsys.readouterr().out
    assert f"(dry run: {300 - len(INVALID_POSITIONS)} would be sent)" in out
    assert "line 253 (E-mail Address): same email as line 44;" in out


@pytest.mark.parametrize(
    "args",
    [
        ["sync", "missing.csv", "--dry-run"],
        ["sync", str(LEADS), "--map", "no-equals-sign", "--dry-run"],
        ["sync", str(LEADS), "--map", "First Name=notAField", "--dry-run"],
        ["sync", str(LEADS), "--email-column", "Nope", "--dry-run"],
        ["sync", str(LEADS), "--sandbox", "--base-url", "http://127.0.0.1:1/v2"],
    ],
)
def test_usage_and_configuration_errors_exit_2(args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(args) == 2
    assert capsys.readouterr().err.startswith("publitrac: error:")


def test_argparse_usage_errors_exit_2() -> None:
    for args in (
        ["sync"],
        ["sync", str(LEADS), "--custom", "Company", "--custom-all"],
        ["sync", "x", "--concurrency", "0"],
    ):
        with pytest.raises(SystemExit) as caught:
            main(args)
        assert caught.value.code == 2


def test_missing_api_key_exits_2_and_names_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("PUBLITRAC_API_KEY", raising=False)
    monkeypatch.delenv("PUBLITRAC_BASE_URL", raising=False)
    assert main(["sync", str(LEADS), "--base-url", "http://127.0.0.1:1/v2", "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "PUBLITRAC_API_KEY" in err and "Traceback" not in err


def test_sync_into_the_sandbox_as_a_subprocess(tmp_path: Path) -> None:
    results = tmp_path / "results.csv"
    done = run_cli("sync", str(LEADS), "--sandbox", "--results", str(results), "--custom", "Company")
    assert done.returncode == 1, done.stderr  # 5 invalid rows
    rows = read_results(results)
    assert [int(row["row"]) for row in rows] == list(range(300))
    assert {int(row["row"]) for row in rows if row["status"] == "invalid"} == INVALID_POSITIONS
    accepted = [row for row in rows if row["status"] == "accepted"]
    assert len(accepted) == 295  # every valid row, the internationalised email of row 90 too; none failed
    assert {row["http_status"] for row in accepted} == {"200"}
    assert f"300 rows: {len(accepted)} accepted, 5 invalid" in done.stdout
    distinct = len({row["email"].strip().lower() for row in accepted})  # rows 42 and 251 share an address
    assert distinct == len(accepted) - 1
    assert f"The sandbox now holds {distinct} leads" in done.stdout
    assert "custom:Company" in done.stdout


def test_sync_of_a_clean_file_exits_0(clean_csv: Path, sandbox: Any, tmp_path: Path) -> None:
    results = tmp_path / "results.csv"
    env = {"PUBLITRAC_API_KEY": sandbox.api_key, "PUBLITRAC_BASE_URL": sandbox.base_url}
    done = run_cli("sync", str(clean_csv), "--custom", "Company", "--results", str(results), env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "40 rows: 40 accepted" in done.stdout
    assert sandbox.api_key not in done.stdout + done.stderr
    assert all(row["status"] == "accepted" for row in read_results(results))


def test_wrong_api_key_exits_2_fast(clean_csv: Path, sandbox: Any, tmp_path: Path) -> None:
    results = tmp_path / "results.csv"
    env = {"PUBLITRAC_API_KEY": "wrong-key-42", "PUBLITRAC_BASE_URL": sandbox.base_url}
    done = run_cli("sync", str(clean_csv), "--results", str(results), env=env, timeout=60)
    assert done.returncode == 2
    assert "API key was refused" in done.stderr
    assert "wrong-key-42" not in done.stdout + done.stderr
    assert {row["status"] for row in read_results(results)} == {"not_sent"}


def test_unreachable_host_exits_2(clean_csv: Path) -> None:
    env = {"PUBLITRAC_API_KEY": "k", "PUBLITRAC_BASE_URL": "http://127.0.0.1:9/v2"}
    done = run_cli("sync", str(clean_csv), "--no-progress", env=env, timeout=120)
    assert done.returncode == 2
    assert "Could not reach http://127.0.0.1:9/v2" in done.stderr


@pytest.mark.parametrize("suffix", [".parquet", ".xlsx"])
def test_parquet_and_excel_files_keep_their_types(
    suffix: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / f"leads{suffix}"
    frame = pd.DataFrame({"Mail": ["ana@exemple.fr", "bob@exemple.fr"], "CRM Lead ID": [12.0, None]})
    if suffix == ".parquet":
        frame.to_parquet(path)
    else:
        frame.to_excel(path, index=False)
    results = tmp_path / "out.csv"
    assert main(["sync", str(path), "--dry-run", "--results", str(results), "--map", "Mail=email"]) == 0
    assert [row["status"] for row in read_results(results)] == ["not_sent", "not_sent"]
    assert "Mail -> email, CRM Lead ID -> crmLeadId" in capsys.readouterr().out


def test_csv_values_are_read_as_written(sandbox: Any, tmp_path: Path) -> None:
    path = tmp_path / "leads.csv"
    path.write_text("Email,Zip,Code,Notes\nana@exemple.fr,01234,NA,ignored\n", encoding="utf-8")
    env = {"PUBLITRAC_API_KEY": sandbox.api_key, "PUBLITRAC_BASE_URL": sandbox.base_url}
    done = run_cli("sync", str(path), "--custom", "Zip", "--custom", "Code", "--map", "Notes=ignore", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    sandbox.wait_until_applied()
    lead = sandbox.lead("ana@exemple.fr")
    assert lead["leadCustomField"] == {"Zip": "01234", "Code": "NA"}
    assert lead["leadInfo"] == {"email": "ana@exemple.fr"}


def test_custom_all_sends_every_unmapped_column(sandbox: Any, clean_csv: Path) -> None:
    env = {"PUBLITRAC_API_KEY": sandbox.api_key, "PUBLITRAC_BASE_URL": sandbox.base_url}
    done = run_cli("sync", str(clean_csv), "--custom-all", "--no-progress", env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    sandbox.wait_until_applied()
    lead = sandbox.lead("lead7@example.com")
    assert lead["leadInfo"] == {"email": "lead7@example.com", "firstName": "Zoë"}
    assert lead["leadCustomField"] == {"Company": "Acme"}


def test_a_closed_pipe_ends_quietly(tmp_path: Path) -> None:
    done = subprocess.run(
        f"{shlex.quote(sys.executable)} -m publitrac.cli sync {shlex.quote(str(LEADS))} --sandbox --no-progress"
        " | head -n 1",
        shell=True,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.stdout.startswith("Read 300 rows"), done.stdout
    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr, done.stderr


# -- files, the mapping, the results file, signals, connection flags (issue 8, parts 4 and 5) ----------------

FIXTURES = ROOT / "tests" / "fixtures"


@pytest.mark.parametrize(
    ("name", "detected"),
    [
        ("excel-csv-cp1252-semicolon.csv", "(Windows-1252, delimiter ';')"),
        ("excel-unicode-text-utf16.txt", "(UTF-16 with BOM, delimiter tab)"),
        ("excel-csv-utf8-bom.csv", "(UTF-8 with BOM, delimiter ',')"),
        ("crm-records.jsonl", "(JSON Lines, UTF-8)"),
    ],
)
def test_excel_files_sync_without_options(name: str, detected: str, sandbox: Any) -> None:
    env = {"PUBLITRAC_API_KEY": sandbox.api_key, "PUBLITRAC_BASE_URL": sandbox.base_url}
    # The ids go as custom fields here: how crmLeadId takes text ids is the spec's business, not the reader's.
    done = run_cli(
        "sync",
        str(FIXTURES / name),
        "--map",
        "CRM Lead ID=ignore",
        "--custom",
        "CRM Lead ID",
        "--custom",
        "Company",
        "--no-progress",
        env=env,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"Read 4 rows, 5 columns from {name} {detected}" in done.stdout
    sandbox.wait_until_applied()
    zoe = sandbox.lead("zoe.muller@example.de")
    assert zoe["leadInfo"] == {"email": "zoe.muller@example.de", "firstName": "Zoë", "lastName": "Müller"}
    assert zoe["leadCustomField"] == {"CRM Lead ID": "007", "Company": "Müller, Schmidt & Co"}
    francois = sandbox.lead("francois@example.fr")["leadCustomField"]
    assert francois == {"CRM Lead ID": "00Q5e00000ABCdE", "Company": "Café; Crème SARL"}


def test_sep_and_encoding_flags_override_the_detection(tmp_path: Path) -> None:
    path = tmp_path / "pl.csv"
    path.write_bytes("email|Nazwisko\nl@exemple.pl|Łukasz Wiśniewski\n".encode("cp1250"))
    done = run_cli("validate", str(path), "--sep", "|", "--encoding", "cp1250")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Read 1 row, 2 columns from pl.csv (Windows-1250, delimiter '|')" in done.stdout
    for tab in ("\\t", "tab"):  # a tab is hard to type in a shell
        assert (
            main(["validate", str(FIXTURES / "crm-utf8.tsv"), "--sep", tab, "--map", "CRM Lead ID=ignore"])
            == 0
        )
    wrong = run_cli("validate", str(path), "--encoding", "utf-8")
    assert wrong.returncode == 2
    assert "cannot read" in wrong.stderr and "pass --encoding" in wrong.stderr, wrong.stderr


def test_file_errors_exit_2_with_a_clear_message(tmp_path: Path) -> None:
    duplicate = tmp_path / "dup.csv"
    duplicate.write_text("email,Name,email\na@exemple.fr,Ana,b@exemple.fr\n", encoding="utf-8")
    cases = {
        str(duplicate): "duplicate column names: 'email'",
        str(tmp_path): "is a directory",
        str(tmp_path / "missing.csv"): "no such file",
    }
    for path, message in cases.items():
        done = run_cli("sync", path, "--custom-all", "--dry-run")
        assert done.returncode == 2 and message in done.stderr, (path, done.stderr)
        assert "Traceback" not in done.stderr


def test_the_mapping_is_printed_with_the_columns_not_sent(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["sync", str(LEADS), "--dry-run", "--no-progress", "--custom", "Company"]) == 1
    out = capsys.readouterr().out
    mapping = next(line for line in out.splitlines() if line.startswith("Mapping: "))
    assert "E-mail Address -> email" in mapping and "Company -> custom 'Company'" in mapping
    not_sent = next(line for line in out.splitlines() if line.startswith("Not sent: "))
    header = pd.read_csv(LEADS, nrows=0).columns
    sent = {"E-mail Address", "Company"} | {c for c in header if f"{c} -> " in mapping}
    assert not_sent == "Not sent: " + ", ".join(c for c in header if c not in sent)


@pytest.mark.parametrize(
    ("results", "message"),
    [
        ("{tmp}", "is a directory"),
        ("{tmp}/no/such/folder/out.csv", "no such folder"),
        ("{input}", "is the input file"),
    ],
)
def test_a_bad_results_path_fails_before_anything_is_sent(
    results: str, message: str, sandbox: Any, tmp_path: Path
) -> None:
    source = tmp_path / "mine.csv"
    source.write_text("email\nana@exemple.fr\n", encoding="utf-8")
    target = results.format(tmp=tmp_path, input=source)
    env = {"PUBLITRAC_API_KEY": sandbox.api_key, "PUBLITRAC_BASE_URL": sandbox.base_url}
    done = run_cli("sync", str(source), "--results", target, "--no-progress", env=env)
    assert done.returncode == 2, done.stdout + done.stderr
    assert message in done.stderr and "--results" in done.stderr
    assert sandbox.stats()["calls"] == {}
    assert source.read_text(encoding="utf-8") == "email\nana@exemple.fr\n"


def test_the_results_file_replaces_the_old_one_whole(tmp_path: Path) -> None:
    results = tmp_path / "results.csv"
    results.write_text("an older run\n", encoding="utf-8")
    assert main(["sync", str(LEADS), "--dry-run", "--no-progress", "--results", str(results)]) == 1
    assert len(read_results(results)) == 300
    assert sorted(p.name for p in tmp_path.iterdir()) == ["results.csv"]  # no temporary file left behind


def test_timeout_and_allow_insecure_http_reach_the_connection(
    monkeypatch: pytest.MonkeyPatch, clean_csv: Path
) -> None:
    import publitrac

    seen: dict[str, Any] = {}

    class Stop(Exception):
        pass

    def fake(**settings: Any) -> Any:
        seen.update(settings)
        raise Stop

    monkeypatch.setattr(publitrac, "Publitrac", fake)
    with pytest.raises(Stop):
        main(
            [
                "sync",
                str(clean_csv),
                "--base-url",
                "http://leads.example/v2",
                "--timeout",
                "2.5",
                "--allow-insecure-http",
            ]
        )
    assert seen == {"base_url": "http://leads.example/v2", "timeout": 2.5, "allow_insecure_http": True}


def test_a_server_that_never_answers_stops_the_run_within_the_timeout(
    clean_csv: Path, tmp_path: Path
) -> None:
    import socket
    import time

    with socket.socket() as silent:  # accepts connections (the kernel's backlog), never answers
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        port = silent.getsockname()[1]
        env = {"PUBLITRAC_API_KEY": "k", "PUBLITRAC_BASE_URL": f"http://127.0.0.1:{port}/v2"}
        started = time.monotonic()
        done = run_cli(
            "sync",
            str(clean_csv),
            "--timeout",
            "1",
            "--max-attempts",
            "1",
            "--no-progress",
            "--results",
            str(tmp_path / "out.csv"),
            env=env,
            timeout=60,
        )
        elapsed = time.monotonic() - started
    assert done.returncode == 2, done.stdout + done.stderr
    assert "No answer within 1 s" in done.stderr, done.stderr
    assert elapsed < 20, elapsed
    assert {row["status"] for row in read_results(tmp_path / "out.csv")} <= {"not_sent", "failed"}


@pytest.mark.parametrize("sigint", ["default", "ignored"])
def test_sigterm_mid_run_writes_every_row_and_exits_143(
    sigint: str, make_sandbox: Any, tmp_path: Path
) -> None:
    import signal
    import time

    sandbox = make_sandbox(latency_ms=200)
    results = tmp_path / "results.csv"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PUBLITRAC_")}
    env.update({"PUBLITRAC_API_KEY": sandbox.api_key, "PUBLITRAC_BASE_URL": sandbox.base_url})
    args = [
        sys.executable,
        "-m",
        "publitrac.cli",
        "sync",
        str(LEADS),
        "--concurrency",
        "4",
        "--results",
        str(results),
    ]
    # A background job of a non-interactive shell starts with SIGINT ignored: SIGTERM must stop it all the same.
    ignore = (lambda: signal.signal(signal.SIGINT, signal.SIG_IGN)) if sigint == "ignored" else None
    process = subprocess.Popen(
        args + (["--no-progress"] if ignore else []),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        cwd=ROOT,
        preexec_fn=ignore,
    )
    try:
        if ignore is None:
            # Without a terminal, progress comes as plain lines on stderr: the first one means the run is going.
            assert process.stderr is not None
            line = process.stderr.readline()
            assert line.startswith("publitrac sync: ") and f"/{300 - len(INVALID_POSITIONS)} rows" in line, (
                line
            )
        else:
            deadline = time.monotonic() + 60
            while sandbox.stats()["accepted"] < 20 and time.monotonic() < deadline:
                time.sleep(0.1)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
    finally:
        process.kill()
    assert process.returncode == 143, out + err  # 128 + SIGTERM, as shells say it
    assert "Traceback" not in err, err
    if ignore is not None:
        assert "publitrac sync:" not in err  # --no-progress silences the lines
    rows = read_results(results)
    assert [int(row["row"]) for row in rows] == list(range(300))
    statuses = {row["status"] for row in rows}
    assert statuses <= {"accepted", "invalid", "failed", "in_flight", "not_sent"}
    assert "not_sent" in statuses and "accepted" in statuses, statuses
    assert {int(row["row"]) for row in rows if row["status"] == "invalid"} == INVALID_POSITIONS
    sandbox.wait_until_applied()
    stored = {lead["email"].lower() for lead in sandbox.leads()}
    accepted = {row["email"].strip().lower() for row in rows if row["status"] == "accepted"}
    in_flight = {row["email"].strip().lower() for row in rows if row["status"] == "in_flight"}
    assert accepted <= stored <= accepted | in_flight
    assert "not sent" in out and "Results written to" in out  # the summary was printed


def test_200s_with_error_bodies_fail_rows_and_exit_1(
    clean_csv: Path, make_sandbox: Any, tmp_path: Path
) -> None:
    sandbox = make_sandbox(error_200=0.5, retry_after=0, seed=4)
    results = tmp_path / "results.csv"
    env = {"PUBLITRAC_API_KEY": sandbox.api_key, "PUBLITRAC_BASE_URL": sandbox.base_url}
    done = run_cli("sync", str(clean_csv), "--results", str(results), env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    rows = read_results(results)
    failed = [row for row in rows if row["status"] == "failed"]
    assert failed and all(row["http_status"] == "200" for row in failed)
    assert all(row["error"].startswith("HTTP 200, body code") for row in failed)
    assert {row["status"] for row in rows} == {"accepted", "failed"}


@pytest.mark.parametrize(
    ("args", "env", "said", "not_said"),
    [
        (
            ["validate", str(LEADS), "--email-column", "Nope"],
            {},
            "--email-column Nope names no column",
            "email=",
        ),
        (["validate", str(LEADS), "--map", "Nope=firstName"], {}, "--map names column 'Nope'", "mapping"),
        (
            ["sync", str(LEADS), "--base-url", "http://leads.example/v2"],
            {"PUBLITRAC_API_KEY": "k"},
            "pass --allow-insecure-http if",
            "allow_insecure_http",
        ),
        (["sync", str(LEADS)], {}, "PUBLITRAC_API_KEY in the environment", "api_key="),
        (["sync", str(LEADS)], {"PUBLITRAC_API_KEY": "k"}, "(--base-url or PUBLITRAC_BASE_URL", "base_url="),
    ],
)
def test_messages_speak_in_flags(args: list[str], env: dict[str, str], said: str, not_said: str) -> None:
    done = run_cli(*args, "--no-progress" if args[0] == "sync" else "--custom-all", env=env)
    assert done.returncode == 2, done.stdout + done.stderr
    assert said in done.stderr and not_said not in done.stderr, done.stderr


def test_the_same_error_speaks_python_in_python() -> None:
    import publitrac

    with pytest.raises(publitrac.ConfigurationError) as caught:
        publitrac.map_columns(["email", "First Name", "first_name"])
    assert "e.g. mapping={'First Name': 'firstName', 'first_name': None}" in str(caught.value)
    assert "e.g. --map 'First Name=firstName' --map first_name=ignore" in caught.value.in_words("cli")

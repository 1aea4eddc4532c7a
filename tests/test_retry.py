"""`publitrac retry RESULTS [FILE]` and the provenance it stands on: real subprocesses against the sandbox over
real HTTP, the sandbox counting the requests it gets (`delayedSync` calls)."""

from __future__ import annotations

import contextlib
import csv
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd

import publitrac
from publitrac.sandbox import SandboxServer, run_sandbox

ROOT = Path(__file__).resolve().parents[1]
LEADS = ROOT / "examples" / "leads.csv"
INVALID_POSITIONS = {17, 58, 133, 176, 264}  # examples/make_leads.py documents them


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "publitrac.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        timeout=180,
        cwd=ROOT,
    )


def cli_env(sandbox: SandboxServer, ledger: Path, api_key: str | None = None) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PUBLITRAC_")}
    environment.update(
        PUBLITRAC_API_KEY=api_key or sandbox.api_key,
        PUBLITRAC_BASE_URL=sandbox.base_url,
        PUBLITRAC_LEDGER=str(ledger),
    )
    return environment


def posts(sandbox: SandboxServer) -> int:
    return int(sandbox.stats()["calls"].get("delayedSync", 0))


def read(path: Path) -> list[dict[str, str]]:
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def with_groups(rows: list[dict[str, str]], left: set[int]) -> list[int]:
    """The rows `left` and every valid row sharing an email with one of them (written out here, apart from the
    code under test)."""
    emails = {row["email"].strip().lower() for row in rows if int(row["row"]) in left}
    return sorted(
        int(row["row"])
        for row in rows
        if int(row["row"]) in left or (row["status"] != "invalid" and row["email"].strip().lower() in emails)
    )


def port_of(sandbox: SandboxServer) -> int:
    return int(sandbox.base_url.rsplit(":", 1)[1].split("/")[0])


@contextlib.contextmanager
def failing_then_healthy(**faults: float) -> Iterator[tuple[SandboxServer, Iterator[SandboxServer]]]:
    """A sandbox with faults, and a generator that stops it and starts a healthy one on the same port (the
    same destination: base URL and key)."""
    with contextlib.ExitStack() as stack:
        first = stack.enter_context(run_sandbox(seed=3, **faults))  # type: ignore[arg-type]

        def then() -> Iterator[SandboxServer]:
            port = port_of(first)
            stack.close()
            with run_sandbox(port=port) as healthy:
                yield healthy

        yield first, then()


def test_retry_sends_exactly_the_rows_that_failed_and_links_the_runs(tmp_path: Path) -> None:
    results = tmp_path / "results.csv"
    ledger = tmp_path / "ledger.sqlite3"
    with failing_then_healthy(error_5xx=0.15) as (flaky, healthy):
        env = cli_env(flaky, ledger)
        first = run_cli(
            "sync", str(LEADS), "--no-progress", "--max-attempts", "1", "--concurrency", "4",
            "--results", str(results), env=env,
        )  # fmt: skip
        assert first.returncode == 1, first.stdout + first.stderr
        rows = read(results)
        failed = [int(row["row"]) for row in rows if row["status"] == "failed"]
        assert 10 < len(failed) < 100, first.stdout  # the seed's share of 5xx, none retried
        # the results file's provenance columns
        assert list(rows[0]) == [
            *["row", "email", "status", "http_status", "attempts", "error"],
            *["run_id", "sent_at", "body_key"],
        ]
        assert {row["run_id"] for row in rows} == {"1"}
        for row in rows:
            sent = row["status"] in ("accepted", "failed")
            assert bool(row["sent_at"]) is sent, row
            if sent:
                assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", row["sent_at"]), row
            assert (row["body_key"] == "") is (int(row["row"]) in INVALID_POSITIONS), row
        sandbox = next(healthy)
        env = cli_env(sandbox, ledger)
        retry = run_cli("retry", str(results), "--no-progress", env=env)
        assert retry.returncode == 0, retry.stdout + retry.stderr
        expected = with_groups(rows, set(failed))
        assert posts(sandbox) == len(expected)
        again = read(tmp_path / "results.retry-1.csv")
        assert [int(row["row"]) for row in again] == expected
        assert {row["status"] for row in again} == {"accepted"} and {row["run_id"] for row in again} == {"2"}
        assert "Run 2 recorded in the ledger" in retry.stdout and "(retry of run 1)" in retry.stdout
        assert f"{len(expected)} previously failed now sent" in retry.stdout  # by email: groups too
        assert flaky.api_key not in retry.stdout + retry.stderr
        shown = run_cli("runs", "show", "2", "--ledger", str(ledger), env=env)
        assert "retry of:     1" in shown.stdout, shown.stdout
        assert f"input path:   {LEADS}" in shown.stdout
        assert re.search(r"input sha256: [0-9a-f]{64}\n", shown.stdout)
        # nothing is left: a second retry of the retry sends nothing and says so
        nothing = run_cli("retry", str(tmp_path / "results.retry-1.csv"), "--no-progress", env=env)
        assert nothing.returncode == 0 and "Nothing to retry" in nothing.stdout
        assert posts(sandbox) == len(expected)


def _group_file(tmp_path: Path) -> Path:
    path = tmp_path / "group.csv"
    pd.DataFrame(
        {
            "Email": ["ana@exemple.fr", "bo@exemple.fr", "Ana@Exemple.fr", "cy@exemple.fr", "dee@exemple.fr"],
            "First Name": ["first", "Bo", "second", "Cy", "Dee"],
        }
    ).to_csv(path, index=False)
    return path


def _mark(results: Path, statuses: dict[int, str]) -> None:
    """Edit a results file as a run that went otherwise would have written it."""
    table = pd.read_csv(results, dtype=str, keep_default_na=False)
    for row, status in statuses.items():
        table.loc[table["row"] == str(row), "status"] = status
    table.to_csv(results, index=False)


def test_a_retry_reads_the_file_as_the_run_did(tmp_path: Path) -> None:
    """A Lithuanian file read with `--encoding cp1257` (Windows-1257, which detection does not guess: it reads
    these bytes as another code page, `Šarūnas` as `Ğarûnas`) and `;`: the retry, given neither flag, reads
    the file as the run did, and the names arrive unchanged."""
    leads = tmp_path / "leads-lt.csv"
    names = [f"\u0160ar\u016bnas{i}" for i in range(200)]
    text = "email;firstName\n" + "".join(f"sarunas{i}@example.com;{name}\n" for i, name in enumerate(names))
    leads.write_bytes(text.encode("cp1257"))
    guessed = publitrac.read_leads(leads)
    assert guessed.encoding != "cp1257" and guessed.frame["firstName"][0] != names[0]  # what a guess gives
    results = tmp_path / "results.csv"
    ledger = tmp_path / "ledger.sqlite3"
    with failing_then_healthy(error_5xx=0.15) as (flaky, healthy):
        first = run_cli(
            "sync", str(leads), "--encoding", "cp1257", "--no-progress", "--max-attempts", "1",
            "--results", str(results), env=cli_env(flaky, ledger),
        )  # fmt: skip
        assert first.returncode == 1, first.stdout + first.stderr
        failed = [int(row["row"]) for row in read(results) if row["status"] == "failed"]
        assert failed, first.stdout
        (run,) = publitrac.open_ledger(ledger).runs()
        assert run.source.settings["reading"] == {"sep": ";", "encoding": "cp1257"}

        sandbox = next(healthy)
        retry = run_cli("retry", str(results), "--no-progress", env=cli_env(sandbox, ledger))
        assert retry.returncode == 0, retry.stdout + retry.stderr
        assert "Reading the file as run 1 did: --sep ';', --encoding 'cp1257'" in retry.stdout
        sandbox.wait_until_applied(timeout=30)
        stored = {lead["email"]: lead["leadInfo"]["firstName"] for lead in sandbox.leads()}
        assert stored == {f"sarunas{row}@example.com": names[row] for row in failed}


def test_a_failed_row_goes_again_with_its_email_group_in_order(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    path = _group_file(tmp_path)
    results = tmp_path / "results.csv"
    env = cli_env(sandbox, tmp_path / "ledger.sqlite3")
    assert run_cli("sync", str(path), "--no-progress", "--results", str(results), env=env).returncode == 0
    sent = posts(sandbox)
    # the group's first row, and a row of its own, left failed; everything else accepted
    _mark(results, {0: "failed", 3: "in_flight"})
    retry = run_cli("retry", str(results), "--no-progress", env=env)
    assert retry.returncode == 0, retry.stdout + retry.stderr
    assert posts(sandbox) - sent == 3  # rows 0 and 2 (the whole group) and row 3
    assert [int(row["row"]) for row in read(tmp_path / "results.retry-1.csv")] == [0, 2, 3]
    sandbox.wait_until_applied()
    lead = sandbox.lead("ana@exemple.fr")
    assert lead is not None and lead["leadInfo"]["firstName"] == "second"  # the later row still wins


def test_a_changed_input_file_is_refused_unless_allowed(sandbox: SandboxServer, tmp_path: Path) -> None:
    path = _group_file(tmp_path)
    results = tmp_path / "results.csv"
    env = cli_env(sandbox, tmp_path / "ledger.sqlite3")
    assert run_cli("sync", str(path), "--no-progress", "--results", str(results), env=env).returncode == 0
    _mark(results, {1: "failed"})
    sent = posts(sandbox)
    path.write_text(path.read_text(encoding="utf-8").replace(",Bo\n", ",Bob\n"), encoding="utf-8")
    refused = run_cli("retry", str(results), "--no-progress", env=env)
    assert refused.returncode == 2, refused.stdout + refused.stderr
    assert "SHA-256" in refused.stderr and "--allow-changed-input" in refused.stderr
    assert str(path) in refused.stderr
    # another file named as FILE is refused the same way
    other = tmp_path / "other.csv"
    other.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    named = run_cli("retry", str(results), str(other), "--no-progress", env=env)
    assert named.returncode == 2 and "is not the file run 1 read" in named.stderr
    assert posts(sandbox) == sent  # nothing sent
    allowed = run_cli("retry", str(results), "--allow-changed-input", "--no-progress", env=env)
    assert allowed.returncode == 0, allowed.stdout + allowed.stderr
    assert posts(sandbox) == sent + 1
    sandbox.wait_until_applied()
    lead = sandbox.lead("bo@exemple.fr")
    assert lead is not None and lead["leadInfo"]["firstName"] == "Bob"


def test_another_destination_is_refused_naming_both_without_secrets(tmp_path: Path) -> None:
    keys = ("retry-test-key-one-s3cret", "retry-test-key-two-s3cret")
    with run_sandbox(api_key=keys) as sandbox:
        path = _group_file(tmp_path)
        results = tmp_path / "results.csv"
        ledger = tmp_path / "ledger.sqlite3"
        env = cli_env(sandbox, ledger, api_key=keys[0])
        assert run_cli("sync", str(path), "--no-progress", "--results", str(results), env=env).returncode == 0
        _mark(results, {1: "failed"})
        sent = posts(sandbox)
        other = run_cli("retry", str(results), "--no-progress", env=cli_env(sandbox, ledger, api_key=keys[1]))
        assert other.returncode == 2, other.stdout + other.stderr
        fingerprints = re.findall(r"\(key ([0-9a-f]{16})\)", other.stderr)
        assert len(set(fingerprints)) == 2 and sandbox.base_url in other.stderr, other.stderr
        assert not any(key in other.stdout + other.stderr for key in keys)
        assert posts(sandbox) == sent


def test_an_interrupted_streamed_run_is_retried_from_its_not_sent_rows(
    make_sandbox: object, tmp_path: Path
) -> None:
    results = tmp_path / "results.csv"
    ledger = tmp_path / "ledger.sqlite3"
    with run_sandbox(latency_ms=60) as sandbox:
        env = cli_env(sandbox, ledger)
        process = subprocess.Popen(
            [sys.executable, "-m", "publitrac.cli", "sync", str(LEADS), "--no-progress", "--batch-rows", "50",
             "--concurrency", "2", "--results", str(results)],
            env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while sandbox.stats()["accepted"] < 20:
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the sync did not start"
            time.sleep(0.05)
        process.send_signal(signal.SIGTERM)
        out, err = process.communicate(timeout=60)
        assert process.returncode != 0, out + err
        rows = read(results)
        assert len(rows) == 300, out + err
        left = {int(row["row"]) for row in rows if row["status"] in ("failed", "in_flight", "not_sent")}
        accepted = sum(row["status"] == "accepted" for row in rows)
        assert len(left) > 100 and accepted >= 20
        sent = posts(sandbox)
        retry = run_cli("retry", str(results), "--no-progress", "--concurrency", "8", env=env)
        expected = with_groups(rows, left)
        # the rows never read were listed not_sent without being validated: the invalid ones among them are
        # found now, and make the exit status 1, as sync's
        invalid = INVALID_POSITIONS & set(expected)
        assert invalid and retry.returncode == 1, retry.stdout + retry.stderr
        assert f"{len(expected) - len(invalid)} accepted, {len(invalid)} invalid" in retry.stdout
        # the rows read and not sent, and those never read, were remembered as left unsent by run 1
        assert f"{len(expected) - len(invalid)} previously failed now sent" in retry.stdout
        assert posts(sandbox) - sent == len(expected) - len(invalid)
        assert [int(row["row"]) for row in read(tmp_path / "results.retry-1.csv")] == expected
        # every valid row of the file is now accepted: a plain sync finds them all unchanged
        rerun = run_cli("sync", str(LEADS), "--no-progress", env=env)
        assert f"{300 - len(INVALID_POSITIONS)} unchanged" in rerun.stdout, rerun.stdout
        assert posts(sandbox) - sent == len(expected) - len(invalid)


def test_the_summary_counts_added_changed_unchanged_and_previously_failed(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    pt = publitrac.Publitrac(api_key=sandbox.api_key, base_url=sandbox.base_url)
    ledger = tmp_path / "ledger.sqlite3"
    df = pd.DataFrame({"Email": [f"p{i}@exemple.fr" for i in range(6)], "First Name": list("abcdef")})
    first = publitrac.sync(df, pt, ledger=ledger, progress=False)
    assert first.counts_by_change == {
        "added": 6,
        "changed": 0,
        "resent": 0,
        "unchanged": 0,
        "previously_failed_now_sent": 0,
    }
    assert first.describe().endswith("; 6 added, 0 changed, 0 unchanged, 0 previously failed now sent")
    # two rows fail (a body the API refuses cannot be built here, so the run's outcome is written as a run
    # that went wrong writes it), then a run sends them, changed
    with publitrac.open_ledger(ledger) as store:  # type: ignore[union-attr]
        from publitrac.ledger._fingerprints import email_keys
        from publitrac.ledger._store import destination_for

        run = store.start_run(destination_for(pt), input_name="x", rows=2)
        store.record_outcomes(
            destination_for(pt), run, email_keys([]), email_keys(["p1@exemple.fr", "P2@exemple.fr "]),
            pd.Series(["failed", "not_sent"]).to_numpy(dtype=object),
        )  # fmt: skip
    changed = df.assign(**{"First Name": ["a", "B", "C", "d", "e", "f"]})
    second = publitrac.sync(pd.concat([changed, pd.DataFrame({"Email": ["new@exemple.fr"]})]), pt, ledger=ledger,
                            progress=False)  # fmt: skip
    assert second.counts_by_change == {
        "added": 1,
        "changed": 2,
        "resent": 0,
        "unchanged": 4,
        "previously_failed_now_sent": 2,
    }
    # once sent, they are no longer "previously failed"
    third = publitrac.sync(changed, pt, ledger=ledger, progress=False, resend="all")
    assert third.counts_by_change is not None
    assert third.counts_by_change["previously_failed_now_sent"] == 0 and third.counts_by_change["resent"] == 6


def test_the_streamed_summary_and_results_carry_the_same_provenance(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    pt = publitrac.Publitrac(api_key=sandbox.api_key, base_url=sandbox.base_url)
    results = tmp_path / "results.csv"
    ledger = tmp_path / "ledger.sqlite3"
    report = publitrac.sync_file(
        LEADS, pt, batch_rows=64, results_path=results, ledger=ledger, progress=False
    )
    changes = report.counts_by_change
    # the example's one email on two rows (42 and 251, in two batches): the ledger knows the second from the
    # first, recorded by then
    assert changes is not None and changes["added"] + changes["changed"] == report.counts["accepted"]
    assert changes["changed"] == 1
    assert "previously failed now sent" in report.describe()
    table = report.results
    assert set(table["run_id"]) == {str(report.run_id)}
    # the same body keys as the in-memory sync computes (the example's one duplicate email aside: a stream
    # chains rows of one email within a batch only)
    frame = publitrac.read_leads(LEADS).frame
    memory = publitrac.sync(frame, pt, dry_run=True, ledger=tmp_path / "other.sqlite3", progress=False)
    keys = memory.results["body_key"].astype("string").fillna("").tolist()
    assert sum(key != "" for key in keys) == report.counts["accepted"]
    # without a ledger, a dry run (publitrac validate) does not compute them
    bare = publitrac.sync(frame, pt, dry_run=True, ledger=False, progress=False)
    assert bare.results["body_key"].isna().all()
    # a real run without a ledger computes them, as the ledger would
    sent = publitrac.sync(frame, pt, ledger=False, progress=False)
    assert sent.results["body_key"].astype("string").fillna("").tolist() == keys
    assert sent.results["run_id"].isna().all() and sent.counts_by_change is None
    same = [i for i in range(300) if i not in (42, 251)]
    assert [table["body_key"][i] for i in same] == [keys[i] for i in same]
    with publitrac.open_ledger(ledger) as store:  # type: ignore[union-attr]
        run = store.run(report.run_id)  # type: ignore[arg-type]
    assert run is not None and run.source.input_path == str(LEADS)
    assert run.source.settings["mapping"]["email"] == "E-mail Address"

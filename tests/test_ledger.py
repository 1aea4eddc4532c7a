"""The ledger: fingerprints, the SQLite store, and incremental syncs over real HTTP against the sandbox."""

from __future__ import annotations

import csv
import json
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

import publitrac
from publitrac import Publitrac
from publitrac.lead._bodies import iter_bodies
from publitrac.ledger._fingerprints import KeySet, chain_groups, email_keys, lead_keys
from publitrac.ledger._store import (
    LEDGER_ENV,
    Destination,
    SQLiteLedger,
    default_ledger_path,
    destination_for,
    key_fingerprint,
    open_ledger,
)
from publitrac.sandbox import SandboxServer

ROOT = Path(__file__).resolve().parents[1]
LEADS = ROOT / "examples" / "leads.csv"
INVALID_POSITIONS = {17, 58, 133, 176, 264}  # the example's invalid rows, as examples/make_leads.py documents
VALID = 300 - len(INVALID_POSITIONS)
DEST = Destination("http://127.0.0.1:1/v2", key_fingerprint("k"))


def read_leads() -> pd.DataFrame:
    return pd.read_csv(LEADS, dtype=str, keep_default_na=False, na_values=[""])


def posts(sandbox: SandboxServer) -> int:
    return int(sandbox.stats()["calls"].get("delayedSync", 0))


def keys_of(df: pd.DataFrame, **mapping: Any) -> tuple[np.ndarray, np.ndarray]:
    lead_mapping = publitrac.map_columns(df, **mapping)
    return lead_keys(df, lead_mapping, np.arange(len(df)))


def canonical_bodies(df: pd.DataFrame, **mapping: Any) -> list[str]:
    lead_mapping = publitrac.map_columns(df, **mapping)
    return [
        json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        for _, body in iter_bodies(df, lead_mapping)
    ]


# -- fingerprints --------------------------------------------------------------------------------------------


def test_body_keys_follow_the_exact_json_body_not_the_dtypes() -> None:
    frames = [
        pd.DataFrame({"Email": ["a@x.com", "b@x.com"], "CRM Lead ID": [12, 13], "Plan": ["pro", None]}),
        # the same bodies: floats with whole values, text ids, padded text, other column order
        pd.DataFrame({"Plan": [" pro ", ""], "CRM Lead ID": [12.0, 13.0], "Email": [" a@x.com", "b@x.com "]}),
        pd.DataFrame({"CRM Lead ID": ["12", "13"], "Email": ["a@x.com", "b@x.com"], "Plan": ["pro", np.nan]}),
    ]
    bodies = [canonical_bodies(df, custom_fields=["Plan"]) for df in frames]
    assert bodies[0] == bodies[1] == bodies[2]
    keys = [keys_of(df, custom_fields=["Plan"]) for df in frames]
    for emails, body_keys in keys[1:]:
        assert (emails == keys[0][0]).all() and (body_keys == keys[0][1]).all()


@pytest.mark.parametrize(
    "change",
    [
        {"Plan": ["pro", "7"]},  # a value appears
        {"Plan": ["free", None]},  # a value changes
        {"Plan": [None, None]},  # a value disappears
        {"Score": [1.5, 2]},  # a float, typed
        {"Flag": [True, False]},  # booleans
    ],
)
def test_any_change_of_the_body_changes_the_key(change: dict[str, list[Any]]) -> None:
    base = pd.DataFrame({"Email": ["a@x.com", "b@x.com"], "Plan": ["pro", None]})
    changed = base.assign(**change)
    custom = [c for c in changed.columns if c != "Email"]
    before, after = keys_of(base, custom_fields=["Plan"]), keys_of(changed, custom_fields=custom)
    differs = [
        a != b
        for a, b in zip(
            canonical_bodies(base, custom_fields=["Plan"]),
            canonical_bodies(changed, custom_fields=custom),
            strict=True,
        )
    ]
    assert ((before[1] != after[1]) == np.array(differs)).all()
    assert (before[0] == after[0]).all()


def test_json_types_are_told_apart() -> None:
    # custom fields keep each value's own kind: 7, "7", 7.5, "7.5", true and "true" are six bodies
    values = [7, "7", 7.5, "7.5", True, "true"]
    df = pd.DataFrame({"Email": [f"{i}@x.com" for i in range(6)], "V": pd.Series(values, dtype=object)})
    same_email = df.assign(Email="a@x.com")
    _, keys = lead_keys(same_email, publitrac.map_columns(same_email, custom_fields=["V"]), np.arange(6))
    assert len(set(keys.tolist())) == 6
    assert len(set(canonical_bodies(same_email, custom_fields=["V"]))) == 6


def test_a_mapping_change_is_a_change() -> None:
    df = pd.DataFrame({"Email": ["a@x.com"], "Company": ["Acme"]})
    _, as_company = keys_of(df, custom_fields=["Company"])
    _, renamed = keys_of(df, custom_fields={"Company": "Employer"})
    _, dropped = keys_of(df)
    assert len({int(as_company[0]), int(renamed[0]), int(dropped[0])}) == 3


def test_email_keys_ignore_case_and_spaces() -> None:
    keys = email_keys(["Ana@Exemple.FR", " ana@exemple.fr ", "zoë.müller@beispiel.de", "ana@exemple.fr2"])
    assert keys[0] == keys[1] and len(set(keys.tolist())) == 3


def test_a_shared_email_chains_its_rows() -> None:
    emails = np.array([1, 2, 1, 1])
    bodies = np.array([10, 20, 10, 30])
    chained = chain_groups(emails, bodies, np.array([True, False, True, True]))
    assert chained[0] == 10 and chained[1] == 20
    assert len({int(k) for k in chained}) == 4  # the same body twice is a different sequence


@given(st.lists(st.lists(st.integers(-(2**63), 2**63 - 1), max_size=40), max_size=30))
def test_a_key_set_holds_what_was_added_batch_by_batch(batches: list[list[int]]) -> None:
    seen, expected = KeySet(), set()
    probe = np.array(sorted({k for batch in batches for k in batch} | {0, 1, -1}), dtype=np.int64)
    for batch in batches:
        seen.add(np.array(batch, dtype=np.int64))
        expected |= set(batch)
        assert seen.contains(probe).tolist() == [int(k) in expected for k in probe]
        assert len(seen) == len(expected)


# -- the store -----------------------------------------------------------------------------------------------


def test_store_records_and_looks_up_in_bulk(tmp_path: Path) -> None:
    with SQLiteLedger(tmp_path / "l.sqlite3") as ledger:
        assert ledger.lookup(DEST, np.array([1, 2]))[0].tolist() == [False, False]
        run = ledger.start_run(DEST, input_name="x.csv", rows=3)
        ledger.record_accepted(DEST, run, np.array([1, 2, 1]), np.array([11, 22, 12]))  # the last 1 wins
        for size in (3, 60_000):  # below and above the switch from IN queries to one scan
            keys = np.arange(size, dtype=np.int64)
            found, bodies = ledger.lookup(DEST, keys)
            assert found[:3].tolist() == [False, True, True] and not found[3:].any()
            assert bodies[:3].tolist() == [0, 12, 22]
        other = Destination(DEST.base_url, key_fingerprint("another key"))
        assert not ledger.lookup(other, np.array([1, 2]))[0].any()
        assert ledger.forget(DEST, email_keys=np.array([2, 5])) == 1
        assert ledger.lookup(DEST, np.array([1, 2]))[0].tolist() == [True, False]
        assert ledger.stats(DEST).leads == 1 and ledger.stats(other).leads == 0
        assert ledger.forget(DEST) == 1 and ledger.stats(DEST).leads == 0


def test_store_keeps_runs(tmp_path: Path) -> None:
    clock = iter(range(1_700_000_000, 1_800_000_000, 10))
    with SQLiteLedger(tmp_path / "l.sqlite3", clock=lambda: next(clock)) as ledger:
        first = ledger.start_run(DEST, input_name="a.csv", rows=5)
        ledger.finish_run(first, counts={"accepted": 5}, interrupted=False)
        second = ledger.start_run(DEST, input_name="b.csv", rows=2)
        assert [run.id for run in ledger.runs()] == [second, first]
        record = ledger.run(first)
        assert record is not None and record.counts == {"accepted": 5} and not record.interrupted
        assert record.input_name == "a.csv" and record.rows == 5 and record.destination == str(DEST)
        assert (record.finished_at - record.started_at).total_seconds() == 10  # type: ignore[operator]
        unfinished = ledger.run(second)
        assert unfinished is not None and unfinished.finished_at is None
        assert ledger.run(999) is None
        assert ledger.stats(DEST).runs == 2


def test_store_uses_wal_and_a_compact_table(tmp_path: Path) -> None:
    path = tmp_path / "l.sqlite3"
    SQLiteLedger(path).close()
    with sqlite3.connect(path) as db:
        assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        sql = db.execute("SELECT sql FROM sqlite_master WHERE name = 'leads'").fetchone()[0]
    assert "WITHOUT ROWID" in sql


def test_open_ledger_targets(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    assert open_ledger(False) is None
    monkeypatch.setenv(LEDGER_ENV, str(tmp_path / "env.sqlite3"))
    assert default_ledger_path() == tmp_path / "env.sqlite3"
    with open_ledger(None) as ledger:  # type: ignore[union-attr]
        assert ledger.location == str(tmp_path / "env.sqlite3")
        assert open_ledger(ledger) is ledger
    with open_ledger(tmp_path / "sub" / "given.sqlite3") as ledger:  # type: ignore[union-attr]
        assert (tmp_path / "sub" / "given.sqlite3").exists()
    with pytest.raises(publitrac.ConfigurationError, match="unsupported ledger mysql"):
        open_ledger("mysql://user:secret@host/db")  # postgresql:// is tests/test_ledger_backends.py's
    monkeypatch.delenv(LEDGER_ENV)
    assert default_ledger_path().name == "ledger.sqlite3"  # the user's data directory (not created here)


def test_the_api_key_never_reaches_the_ledger(tmp_path: Path) -> None:
    secret = "sk-live-0123456789abcdef-SECRET"
    pt = Publitrac(api_key=secret, base_url="http://127.0.0.1:1/v2")
    destination = destination_for(pt)
    assert secret not in repr(destination) and secret not in str(destination)
    assert destination.key_fingerprint == key_fingerprint(secret) != key_fingerprint(secret + "x")
    path = tmp_path / "l.sqlite3"
    with SQLiteLedger(path) as ledger:
        run = ledger.start_run(destination, input_name="leads.csv", rows=1)
        ledger.record_accepted(destination, run, np.array([1]), np.array([2]))
        ledger.finish_run(run, counts={"accepted": 1}, interrupted=False)
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir())
    assert secret.encode() not in stored and b"0123456789abcdef" not in stored
    assert destination.key_fingerprint.encode() in stored


# -- incremental syncs over real HTTP ------------------------------------------------------------------------


def connect(sandbox: SandboxServer, key: str | None = None) -> Publitrac:
    return Publitrac(api_key=key or sandbox.api_key, base_url=sandbox.base_url)


def test_a_second_run_sends_nothing_and_reports_every_valid_row_unchanged(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    df = read_leads()
    ledger = tmp_path / "l.sqlite3"
    first = publitrac.sync(df, connect(sandbox), custom_fields=["Company"], progress=False, ledger=ledger)
    assert first.counts["accepted"] == VALID and first.run_id is not None
    sent = posts(sandbox)
    second = publitrac.sync(df, connect(sandbox), custom_fields=["Company"], progress=False, ledger=ledger)
    assert posts(sandbox) == sent
    assert second.counts == {
        "accepted": 0,
        "unchanged": VALID,
        "invalid": 300 - VALID,
        "failed": 0,
        "in_flight": 0,
        "not_sent": 0,
    }
    assert second.run_id is not None and second.run_id != first.run_id
    assert f"{VALID} unchanged" in second.describe()
    assert set(second.results["status"]) == {"unchanged", "invalid"}
    assert len(second.unchanged_rows()) == VALID and second.rows_to_retry().empty
    # only invalid rows keep it from being ok; without them it is ok
    valid = df.drop(index=second.invalid_rows().index)
    again = publitrac.sync(valid, connect(sandbox), custom_fields=["Company"], progress=False, ledger=ledger)
    assert again.ok and again.counts["unchanged"] == VALID and posts(sandbox) == sent
    with SQLiteLedger(ledger) as store:
        runs = store.runs()
        assert [run.id for run in runs][-2:] == [second.run_id, first.run_id]
        assert runs[-1].counts["accepted"] == VALID and runs[-2].counts["unchanged"] == VALID


def test_changing_seven_rows_sends_exactly_those_seven(sandbox: SandboxServer, tmp_path: Path) -> None:
    df = read_leads()
    ledger = tmp_path / "l.sqlite3"
    publitrac.sync(df, connect(sandbox), custom_fields=["Company"], progress=False, ledger=ledger)
    sent = posts(sandbox)
    changed = df.copy()
    valid = np.flatnonzero(~df.index.isin(sorted(INVALID_POSITIONS)))
    rows = valid[[3, 40, 45, 100, 150, 200, 240]]
    assert not {42, 251} & set(rows.tolist())  # the example's shared email: its pair would go as a whole
    changed.loc[rows[:4], "Company"] = "Changed Inc."
    changed.loc[rows[4:6], "Job Title"] = changed.loc[rows[4:6], "Job Title"].fillna("") + " (senior)"
    changed.loc[rows[6], "Last Name"] = "Newname"
    report = publitrac.sync(
        changed, connect(sandbox), custom_fields=["Company"], progress=False, ledger=ledger
    )
    assert posts(sandbox) == sent + 7
    assert report.counts["accepted"] == 7 and report.counts["unchanged"] == VALID - 7
    assert sorted(np.flatnonzero(report.results["status"] == "accepted").tolist()) == sorted(rows.tolist())
    sandbox.wait_until_applied()
    assert (
        sandbox.lead(changed.loc[rows[0], "E-mail Address"])["leadCustomField"]["Company"] == "Changed Inc."
    )
    # a mapping change is a change: every row with a Company goes again; rows without one send the same body
    # (dropping a custom field from almost every known lead is a mass change: the column guard wants it said)
    report = publitrac.sync(changed, connect(sandbox), progress=False, ledger=ledger, allow_mass_change=True)
    status = report.results["status"]
    has_company = changed["Company"].notna()
    assert (status[has_company & (status != "invalid")] == "accepted").all()
    assert (status[~has_company & (status != "invalid")] == "unchanged").all()
    assert report.counts["accepted"] + report.counts["unchanged"] == VALID and report.counts["unchanged"] > 0


def test_resend_all_sends_everything_and_refreshes_the_ledger(sandbox: SandboxServer, tmp_path: Path) -> None:
    df = read_leads()
    ledger = tmp_path / "l.sqlite3"
    publitrac.sync(df, connect(sandbox), progress=False, ledger=ledger)
    sent = posts(sandbox)
    report = publitrac.sync(df, connect(sandbox), progress=False, ledger=ledger, resend="all")
    assert report.counts["accepted"] == VALID and posts(sandbox) == sent + VALID
    with SQLiteLedger(ledger) as store:
        assert store.stats(destination_for(connect(sandbox))).leads == VALID - 1  # one email appears twice
    assert publitrac.sync(df, connect(sandbox), progress=False, ledger=ledger).counts["unchanged"] == VALID
    with pytest.raises(publitrac.ConfigurationError, match="resend"):
        publitrac.sync(df, connect(sandbox), progress=False, ledger=ledger, resend="some")  # type: ignore[arg-type]


def test_dry_run_counts_unchanged_and_would_be_sent(sandbox: SandboxServer, tmp_path: Path) -> None:
    df = read_leads()
    ledger = tmp_path / "l.sqlite3"
    publitrac.sync(df.iloc[:100], connect(sandbox), progress=False, ledger=ledger)
    sent = posts(sandbox)
    report = publitrac.sync(df, connect(sandbox), progress=False, ledger=ledger, dry_run=True)
    assert posts(sandbox) == sent and report.run_id is None
    unchanged = report.counts["unchanged"]
    assert unchanged == 100 - len(INVALID_POSITIONS & set(range(100)))
    assert report.counts["not_sent"] == VALID - unchanged
    assert f"(dry run: {VALID - unchanged:,} would be sent)" in report.describe()
    with SQLiteLedger(ledger) as store:
        assert len(store.runs()) == 1  # a dry run is not a run


def test_ledger_false_sends_everything(sandbox: SandboxServer, tmp_path: Path) -> None:
    df = read_leads().iloc[:20]
    for _ in range(2):
        report = publitrac.sync(df, connect(sandbox), progress=False, ledger=False)
        assert report.run_id is None and report.ledger is None and report.counts["unchanged"] == 0
    assert posts(sandbox) == 2 * report.counts["accepted"]


def test_the_default_ledger_is_the_environments(
    sandbox: SandboxServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(LEDGER_ENV, str(tmp_path / "default.sqlite3"))
    df = read_leads().iloc[:20]
    publitrac.sync(df, connect(sandbox), progress=False)
    report = publitrac.sync(df, connect(sandbox), progress=False)
    assert report.ledger == str(tmp_path / "default.sqlite3") and report.counts["accepted"] == 0


def test_destinations_are_kept_apart(make_sandbox: Callable[..., SandboxServer], tmp_path: Path) -> None:
    df = read_leads()
    ledger = tmp_path / "l.sqlite3"
    one = make_sandbox(api_key=["key-one", "key-two"])
    other = make_sandbox()
    assert (
        publitrac.sync(df, connect(one, "key-one"), progress=False, ledger=ledger).counts["accepted"] == VALID
    )
    # the same URL with another key, and another URL: nothing is unchanged there
    assert (
        publitrac.sync(df, connect(one, "key-two"), progress=False, ledger=ledger).counts["accepted"] == VALID
    )
    assert publitrac.sync(df, connect(other), progress=False, ledger=ledger).counts["accepted"] == VALID
    assert (
        publitrac.sync(df, connect(one, "key-one"), progress=False, ledger=ledger).counts["unchanged"]
        == VALID
    )


def test_a_wrong_key_marks_nothing_accepted(sandbox: SandboxServer, tmp_path: Path) -> None:
    df = read_leads()
    ledger = tmp_path / "l.sqlite3"
    with pytest.raises(publitrac.AuthenticationError) as caught:
        publitrac.sync(df, connect(sandbox, "wrong-key"), progress=False, ledger=ledger)
    assert caught.value.report is not None and caught.value.report.counts["accepted"] == 0
    with SQLiteLedger(ledger) as store:
        assert store.stats(destination_for(connect(sandbox, "wrong-key"))).leads == 0
        (run,) = store.runs()
        assert run.interrupted and run.counts["accepted"] == 0
    # the right key afterwards sends every row
    assert publitrac.sync(df, connect(sandbox), progress=False, ledger=ledger).counts["accepted"] == VALID


def test_an_unreachable_host_marks_nothing_accepted(tmp_path: Path) -> None:
    import socket

    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    pt = Publitrac(api_key="k", base_url=f"http://127.0.0.1:{port}/v2")
    ledger = tmp_path / "l.sqlite3"
    with pytest.raises(publitrac.ConnectionFailed):
        publitrac.sync(read_leads(), pt, progress=False, ledger=ledger, max_attempts=1)
    with SQLiteLedger(ledger) as store:
        assert store.stats(destination_for(pt)).leads == 0


def test_rows_sharing_an_email_are_unchanged_only_as_a_whole_sequence(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    ledger = tmp_path / "l.sqlite3"
    df = pd.DataFrame({"Email": ["a@x.com", "b@x.com", "A@x.com"], "Plan": ["one", "solo", "two"]})
    first = publitrac.sync(df, connect(sandbox), custom_fields=["Plan"], progress=False, ledger=ledger)
    assert first.counts["accepted"] == 3
    again = publitrac.sync(df, connect(sandbox), custom_fields=["Plan"], progress=False, ledger=ledger)
    assert again.counts["unchanged"] == 3
    # the first row of the pair changes: both rows of the pair go again, in order, so that "two" still wins
    changed = df.assign(Plan=["one!", "solo", "two"])
    report = publitrac.sync(changed, connect(sandbox), custom_fields=["Plan"], progress=False, ledger=ledger)
    assert report.results["status"].tolist() == ["accepted", "unchanged", "accepted"]
    sandbox.wait_until_applied()
    assert sandbox.lead("a@x.com")["leadCustomField"]["Plan"] == "two"


# -- real processes ------------------------------------------------------------------------------------------


def cli_env(sandbox: SandboxServer, ledger: Path) -> dict[str, str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith("PUBLITRAC_")}
    environment.update(
        PUBLITRAC_API_KEY=sandbox.api_key, PUBLITRAC_BASE_URL=sandbox.base_url, PUBLITRAC_LEDGER=str(ledger)
    )
    return environment


def start_sync(path: Path, env: dict[str, str], *args: str) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "publitrac.cli", "sync", str(path), "--no-progress", *args],
        env=env,
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def statuses(path: Path) -> dict[str, int]:
    with path.open(encoding="utf-8") as handle:
        return dict(Counter(row["status"] for row in csv.DictReader(handle)))


def stop_midway(process: subprocess.Popen[str], sandbox: SandboxServer, sig: int) -> tuple[str, str]:
    deadline = time.monotonic() + 60
    while sandbox.stats()["accepted"] < 40:  # well into the run, far from its end (295 rows at ~40 rows/s)
        assert process.poll() is None, process.communicate()
        assert time.monotonic() < deadline, "the sync did not start"
        time.sleep(0.05)
    process.send_signal(sig)
    return process.communicate(timeout=60)


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_a_stopped_run_resumes_by_running_again(
    make_sandbox: Callable[..., SandboxServer], tmp_path: Path, sig: int
) -> None:
    sandbox = make_sandbox(latency_ms=100)
    env = cli_env(sandbox, tmp_path / "l.sqlite3")
    first = start_sync(LEADS, env, "--concurrency", "4", "--results", str(tmp_path / "first.csv"))
    out, err = stop_midway(first, sandbox, sig)
    assert first.returncode == 128 + sig, out + err  # 130 after SIGINT, 143 after SIGTERM
    stopped = statuses(tmp_path / "first.csv")
    assert 0 < stopped.get("accepted", 0) < VALID and stopped.get("not_sent", 0) > 0, stopped
    in_flight = stopped.get("in_flight", 0)
    assert in_flight <= 4
    second = subprocess.run(
        [sys.executable, "-m", "publitrac.cli", "sync", str(LEADS), "--no-progress", "--results",
         str(tmp_path / "second.csv")],
        env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert second.returncode == 1, second.stdout + second.stderr  # the example's invalid rows
    resumed = statuses(tmp_path / "second.csv")
    # everything accepted before the stop is unchanged (recorded on the way out), the rest was sent now
    assert (
        resumed.get("unchanged", 0) >= stopped["accepted"] - 1
    )  # -1: the pair sharing an email may go again
    assert resumed.get("accepted", 0) + resumed.get("unchanged", 0) == VALID
    # together: every valid row once, plus at most the rows that were in flight at the stop (and that pair)
    assert VALID <= posts(sandbox) <= VALID + in_flight + 1
    sandbox.wait_until_applied()
    assert sandbox.stats()["leads_stored"] == VALID - 1


def test_two_processes_share_one_ledger(make_sandbox: Callable[..., SandboxServer], tmp_path: Path) -> None:
    sandbox = make_sandbox(latency_ms=30)
    env = cli_env(sandbox, tmp_path / "shared.sqlite3")
    lines = LEADS.read_text(encoding="utf-8").splitlines(keepends=True)
    header, rows = lines[0], lines[1:]
    halves = [tmp_path / "a.csv", tmp_path / "b.csv"]
    halves[0].write_text(header + "".join(rows[:180]), encoding="utf-8")  # rows 120-179 in both
    # without row 251: it shares its email with row 42 of a.csv with another body, and the two files would then
    # disagree about that lead (the last accepted wins, and the other file's rerun sends it again)
    halves[1].write_text(header + "".join(rows[120:251] + rows[252:]), encoding="utf-8")
    processes = [start_sync(path, env, "--concurrency", "8") for path in halves]
    outputs = [process.communicate(timeout=180) for process in processes]
    for process, (out, err) in zip(processes, outputs, strict=True):
        assert process.returncode == 1, out + err  # invalid rows in each half
        assert "Run " in out and "recorded in the ledger" in out, out + err
        assert not re.search(r"\d failed|Failed rows", out), out + err
    sent = posts(sandbox)
    for path in halves:  # both halves are now entirely in the ledger
        again = subprocess.run(
            [sys.executable, "-m", "publitrac.cli", "sync", str(path), "--no-progress"],
            env=env, cwd=ROOT, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert " accepted" not in again.stdout and "unchanged" in again.stdout, again.stdout + again.stderr
    assert posts(sandbox) == sent
    with SQLiteLedger(tmp_path / "shared.sqlite3") as store:
        assert store.stats(destination_for(connect(sandbox))).leads == VALID - 1
        assert {run.input_name for run in store.runs()} == {"a.csv", "b.csv"}
        assert len(store.runs()) == 4 and not any(run.interrupted for run in store.runs())


def test_the_default_location_is_the_tests_own_even_without_publitrac_ledger(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(LEDGER_ENV)
    assert default_ledger_path().is_relative_to(os.environ["XDG_DATA_HOME"])  # not the user's home


def test_the_keys_of_a_sync_and_of_forget_agree_on_every_letter() -> None:
    # `publitrac ledger forget --email E` computes email_keys(E); a sync computes them column-wise: the same
    # lower-casing both ways, also for letters whose lower case differs between Python and pandas (İ)
    emails = ["İSTANBUL@örnek.com.tr", "ZOË.MÜLLER@BEISPIEL.DE", " Ana@Exemple.FR "]
    df = pd.DataFrame({"Email": emails})
    keys, _ = keys_of(df)
    assert (keys == email_keys(emails)).all()

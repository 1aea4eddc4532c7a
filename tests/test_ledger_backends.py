"""The ledger's interface on both stores: SQLite (a file) and PostgreSQL (a real server, tests/_postgres.py).

The same tests run on each (`ledger_target` is a path or a `postgresql://` URL); the PostgreSQL-only ones check
what a shared server adds: several connections writing at once, a masked password.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import publitrac
from publitrac import Publitrac
from publitrac.ledger._store import Destination, destination_for, key_fingerprint, open_ledger
from publitrac.ledger._postgres import PostgresLedger, mask_url
from publitrac.sandbox import SandboxServer

ROOT = Path(__file__).resolve().parents[1]
# The example's valid rows, as the in-memory path counts them (the spec decides).
_PROBLEMS = publitrac.validate(publitrac.read_leads(ROOT / "examples" / "leads.csv").frame)
VALID = 300 - int(_PROBLEMS.loc[_PROBLEMS["severity"] == "error", "position"].nunique())
DEST = Destination("http://127.0.0.1:1/v2", key_fingerprint("k"))


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "ledger.sqlite3")
    return str(request.getfixturevalue("postgres_url"))


def test_records_and_looks_up_in_bulk(ledger_target: str) -> None:
    with open_ledger(ledger_target) as ledger:  # type: ignore[union-attr]
        assert ledger.lookup(DEST, np.array([1, 2]))[0].tolist() == [False, False]
        run = ledger.start_run(DEST, input_name="x.csv", rows=3)
        ledger.record_accepted(DEST, run, np.array([1, 2, 1]), np.array([11, 22, 12]))  # the last 1 wins
        for size in (3, 60_000):
            keys = np.arange(size, dtype=np.int64)
            found, bodies = ledger.lookup(DEST, keys)
            assert found[:3].tolist() == [False, True, True] and not found[3:].any()
            assert bodies[:3].tolist() == [0, 12, 22]
        ledger.record_accepted(DEST, run, np.array([2]), np.array([23]))  # a later acceptance replaces
        assert ledger.lookup(DEST, np.array([2]))[1].tolist() == [23]
        other = Destination(DEST.base_url, key_fingerprint("another key"))
        assert not ledger.lookup(other, np.array([1, 2]))[0].any()
        assert ledger.forget(DEST, email_keys=np.array([2, 5])) == 1
        assert ledger.lookup(DEST, np.array([1, 2]))[0].tolist() == [True, False]
        assert ledger.stats(DEST).leads == 1 and ledger.stats(other).leads == 0
        assert ledger.forget(DEST) == 1 and ledger.stats(DEST).leads == 0


def test_keeps_runs(ledger_target: str) -> None:
    with open_ledger(ledger_target) as ledger:  # type: ignore[union-attr]
        first = ledger.start_run(DEST, input_name="a.csv", rows=5)
        ledger.finish_run(first, counts={"accepted": 5}, interrupted=False)
        second = ledger.start_run(DEST, input_name="b.csv", rows=2)
        assert [run.id for run in ledger.runs()] == [second, first]
        assert [run.id for run in ledger.runs(DEST, limit=1)] == [second]
        record = ledger.run(first)
        assert record is not None and record.counts == {"accepted": 5} and not record.interrupted
        assert record.input_name == "a.csv" and record.rows == 5 and record.destination == str(DEST)
        unfinished = ledger.run(second)
        assert unfinished is not None and unfinished.finished_at is None
        assert ledger.run(999) is None and ledger.stats(DEST).runs == 2


def test_a_second_sync_sends_nothing(sandbox: SandboxServer, ledger_target: str) -> None:
    frame = pd.read_csv(ROOT / "examples" / "leads.csv", dtype=str, keep_default_na=False, na_values=[""])
    pt = Publitrac(api_key=sandbox.api_key, base_url=sandbox.base_url)
    first = publitrac.sync(frame, pt, ledger=ledger_target, progress=False)
    assert first.counts["accepted"] == VALID
    calls = sandbox.stats()["calls"]["delayedSync"]
    again = publitrac.sync(frame, pt, ledger=ledger_target, progress=False)
    assert again.counts["unchanged"] == VALID and again.counts["accepted"] == 0
    assert sandbox.stats()["calls"]["delayedSync"] == calls
    with open_ledger(ledger_target) as ledger:  # type: ignore[union-attr]
        assert ledger.stats(destination_for(pt)).runs == 2


def test_the_api_key_never_reaches_the_database(postgres_url: str) -> None:
    import psycopg

    secret = "sk-live-0123456789abcdef-SECRET"
    destination = destination_for(Publitrac(api_key=secret, base_url="http://127.0.0.1:1/v2"))
    with PostgresLedger(postgres_url) as ledger:
        run = ledger.start_run(destination, input_name="leads.csv", rows=1)
        ledger.record_accepted(destination, run, np.array([1]), np.array([2]))
    with psycopg.connect(postgres_url) as connection:
        dump = str(connection.execute("SELECT * FROM publitrac_destinations").fetchall())
        dump += str(connection.execute("SELECT * FROM publitrac_runs").fetchall())
    assert secret not in dump and "0123456789abcdef" not in dump and destination.key_fingerprint in dump


def test_many_writers_at_once(postgres_url: str) -> None:
    def write(worker: int) -> None:
        with PostgresLedger(postgres_url) as ledger:
            for batch in range(10):
                keys = np.arange(batch * 100, batch * 100 + 100) * 10 + worker
                ledger.record_accepted(DEST, None, keys, keys + 1)

    threads = [threading.Thread(target=write, args=(worker,)) for worker in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with PostgresLedger(postgres_url) as ledger:
        assert ledger.stats(DEST).leads == 6000
        found, bodies = ledger.lookup(DEST, np.array([0, 9991, 5]))
        assert found.tolist() == [True, True, True] and bodies.tolist() == [1, 9992, 6]


def test_a_password_is_never_shown(postgres_url: str) -> None:
    with_password = postgres_url.replace("publitrac@", "publitrac:pa55-w0rd@")
    with PostgresLedger(with_password) as ledger:  # the test server trusts local connections
        assert "pa55-w0rd" not in ledger.location and "pa55-w0rd" not in repr(ledger)
    assert mask_url("postgresql://db/leads") == "postgresql://db/leads"
    unreachable = "postgresql://ana:pa55-w0rd@127.0.0.1:1/leads"
    with pytest.raises(publitrac.ConfigurationError) as caught:
        PostgresLedger(unreachable, connect_timeout=2)
    assert "pa55-w0rd" not in str(caught.value) and "ana:***@127.0.0.1:1" in str(caught.value)


def test_open_ledger_knows_postgresql_urls(
    postgres_url: str, make_sandbox: Callable[..., SandboxServer]
) -> None:
    ledger = open_ledger(postgres_url)
    assert isinstance(ledger, PostgresLedger)
    ledger.close()


@pytest.mark.parametrize("streamed", [False, True])
def test_the_cli_reruns_send_nothing(
    sandbox: SandboxServer,
    ledger_target: str,
    streamed: bool,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    from publitrac.cli import _main as cli

    monkeypatch.setenv("PUBLITRAC_API_KEY", sandbox.api_key)
    command = ["sync", str(ROOT / "examples" / "leads.csv"), "--base-url", sandbox.base_url, "--no-progress"]
    command += ["--ledger", ledger_target] + (["--batch-rows", "70"] if streamed else [])
    assert cli.main(command) == 1  # invalid rows
    first = capsys.readouterr().out
    assert f"{VALID} accepted" in first and "recorded in the ledger" in first
    assert cli.main(command) == 1
    second = capsys.readouterr().out
    if not streamed:
        assert f"300 rows: {VALID} unchanged, {300 - VALID} invalid" in second
        assert sandbox.stats()["calls"]["delayedSync"] == VALID
        return
    # The example's two rows of one email are in different batches of 70: the ledger cannot see the later one
    # coming, so the pair is sent again, in order, and the later row still wins.
    assert f"300 rows: 2 accepted, {VALID - 2} unchanged, {300 - VALID} invalid" in second
    assert sandbox.stats()["calls"]["delayedSync"] == VALID + 2
    frame = pd.read_csv(ROOT / "examples" / "leads.csv", dtype=str)
    emails = frame["E-mail Address"].str.strip().str.lower()
    twice = frame[emails.duplicated(keep=False) & emails.notna()]
    assert twice.index.tolist() == [42, 251]  # in batches 0 and 3
    sandbox.wait_until_applied(timeout=30)
    lead = sandbox.lead(twice["E-mail Address"].iloc[-1].strip())
    assert lead is not None and lead["leadInfo"]["email"] == twice["E-mail Address"].iloc[-1].strip()


# --- provenance of runs and the emails runs left unsent (publitrac retry; the summary's counts by change)


def test_keeps_where_a_run_came_from_and_the_run_it_retries(ledger_target: str) -> None:
    from publitrac.ledger._records import RunSource

    with open_ledger(ledger_target) as ledger:  # type: ignore[union-attr]
        first = ledger.start_run(DEST, input_name="a.csv", rows=5)
        plain = ledger.run(first)
        assert plain is not None and plain.source == RunSource(settings={})
        source = RunSource(
            input_path="/data/a.csv",
            input_sha256="ab" * 32,
            settings={"mapping": {"email": "E-mail"}, "concurrency": 4},
        )
        ledger.record_source(first, source)
        retry = ledger.start_run(DEST, input_name="a.csv", rows=2)
        ledger.record_source(retry, RunSource(input_path="/data/a.csv", retry_of=first))
        (newest, older) = ledger.runs(DEST, limit=2)
        assert older.source == source and newest.source.retry_of == first
        assert older.base_url == DEST.base_url and older.key_fingerprint == DEST.key_fingerprint
        assert older.as_dict()["input_sha256"] == "ab" * 32 and newest.as_dict()["retry_of"] == first


def test_remembers_the_emails_left_unsent_until_accepted(ledger_target: str) -> None:
    with open_ledger(ledger_target) as ledger:  # type: ignore[union-attr]
        keys = np.array([1, 2, 3, 4], dtype=np.int64)
        assert not ledger.failed_before(DEST, keys).any()
        run = ledger.start_run(DEST, input_name="a.csv", rows=4)
        statuses = np.array(["failed", "in_flight", "not_sent"], dtype=object)
        # email 3 twice: a row accepted and a later row failed: still left unsent
        ledger.record_outcomes(DEST, run, np.array([4, 3]), np.array([1, 2, 3]), statuses)
        assert ledger.failed_before(DEST, keys).tolist() == [True, True, True, False]
        other = Destination(DEST.base_url, key_fingerprint("another key"))
        assert not ledger.failed_before(other, keys).any()
        later = ledger.start_run(DEST, input_name="a.csv", rows=2)
        ledger.record_outcomes(DEST, later, np.array([1, 2]), np.zeros(0, dtype=np.int64), statuses[:0])
        assert ledger.failed_before(DEST, keys).tolist() == [False, False, True, False]
        many = np.arange(60_000, dtype=np.int64)  # the bulk path
        assert np.flatnonzero(ledger.failed_before(DEST, many)).tolist() == [3]


_OLD_SQLITE_SCHEMA = """
CREATE TABLE destinations (id INTEGER PRIMARY KEY, base_url TEXT NOT NULL, key_fingerprint TEXT NOT NULL,
    UNIQUE (base_url, key_fingerprint));
CREATE TABLE leads (destination INTEGER NOT NULL, email_key INTEGER NOT NULL, body_key INTEGER NOT NULL,
    accepted_at INTEGER NOT NULL, run_id INTEGER, PRIMARY KEY (destination, email_key)) WITHOUT ROWID;
CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, destination INTEGER NOT NULL, input_name TEXT,
    rows INTEGER NOT NULL, started_at REAL NOT NULL, finished_at REAL, counts TEXT,
    interrupted INTEGER NOT NULL DEFAULT 0);
CREATE INDEX runs_by_destination ON runs (destination, id);
INSERT INTO destinations VALUES (1, 'http://127.0.0.1:1/v2', '{fingerprint}');
INSERT INTO leads VALUES (1, 7, 70, 1700000000, 1);
INSERT INTO runs VALUES (1, 1, 'old.csv', 3, 1700000000.0, 1700000001.0, '{{"accepted": 3}}', 0);
"""

_OLD_POSTGRES_SCHEMA = (
    "CREATE TABLE publitrac_destinations (id BIGSERIAL PRIMARY KEY, base_url TEXT NOT NULL, "
    "key_fingerprint TEXT NOT NULL, UNIQUE (base_url, key_fingerprint))",
    "CREATE TABLE publitrac_leads (destination BIGINT NOT NULL REFERENCES publitrac_destinations (id), "
    "email_key BIGINT NOT NULL, body_key BIGINT NOT NULL, accepted_at BIGINT NOT NULL, run_id BIGINT, "
    "PRIMARY KEY (destination, email_key))",
    "CREATE TABLE publitrac_runs (id BIGSERIAL PRIMARY KEY, destination BIGINT NOT NULL REFERENCES "
    "publitrac_destinations (id), input_name TEXT, rows BIGINT NOT NULL, started_at DOUBLE PRECISION NOT NULL, "
    "finished_at DOUBLE PRECISION, counts TEXT, interrupted BOOLEAN NOT NULL DEFAULT FALSE)",
    "INSERT INTO publitrac_destinations (base_url, key_fingerprint) VALUES ('http://127.0.0.1:1/v2', '{fp}')",
    "INSERT INTO publitrac_leads VALUES (1, 7, 70, 1700000000, 1)",
    "INSERT INTO publitrac_runs (destination, input_name, rows, started_at, finished_at, counts) "
    "VALUES (1, 'old.csv', 3, 1700000000.0, 1700000001.0, '{{\"accepted\": 3}}')",
)


def test_a_ledger_of_the_earlier_schema_is_migrated_in_place(ledger_target: str) -> None:
    from publitrac.ledger._records import RunSource

    if ledger_target.startswith("postgresql"):
        import psycopg

        with psycopg.connect(ledger_target, autocommit=True) as db:
            for statement in _OLD_POSTGRES_SCHEMA:
                db.execute(statement.format(fp=DEST.key_fingerprint))
    else:
        import sqlite3

        with sqlite3.connect(ledger_target) as db:
            db.executescript(_OLD_SQLITE_SCHEMA.format(fingerprint=DEST.key_fingerprint))
        db.close()
    for _ in range(2):  # opening again finds it migrated already
        with open_ledger(ledger_target) as ledger:  # type: ignore[union-attr]
            (old,) = ledger.runs(DEST)
            assert (old.id, old.input_name, old.counts) == (1, "old.csv", {"accepted": 3})
            assert old.source == RunSource()
            assert ledger.lookup(DEST, np.array([7]))[1].tolist() == [70]
            assert not ledger.failed_before(DEST, np.array([7])).any()
    with open_ledger(ledger_target) as ledger:  # type: ignore[union-attr]
        new = ledger.start_run(DEST, input_name="new.csv", rows=1)
        ledger.record_source(new, RunSource(input_path="/data/new.csv", retry_of=1))
        ledger.record_outcomes(DEST, new, np.zeros(0, np.int64), np.array([7]), np.array(["failed"], object))
        run = ledger.run(new)
        assert run is not None and run.source.retry_of == 1 and run.source.input_path == "/data/new.csv"
        assert ledger.failed_before(DEST, np.array([7])).tolist() == [True]

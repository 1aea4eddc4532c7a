"""The last accepted bodies and the runs' mappings in the ledger (`BodyLedger`), on both stores: SQLite and a real
PostgreSQL server (tests/_postgres.py); the migration of a ledger made before they existed; `_packing`."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import publitrac
from publitrac import Publitrac
from publitrac.ledger._packing import pack_body, unpack_body
from publitrac.ledger._postgres import PostgresLedger, is_postgres_url
from publitrac.ledger._store import BodyLedger, Destination, SQLiteLedger, destination_for, key_fingerprint
from publitrac.sandbox import SandboxServer

DEST = Destination("http://127.0.0.1:1/v2", key_fingerprint("k"))
OTHER = Destination("http://127.0.0.1:1/v2", key_fingerprint("another key"))
DAY = 86_400.0


class Clock:
    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture(params=["sqlite", "postgresql"])
def ledger_target(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        return str(tmp_path / "ledger.sqlite3")
    return str(request.getfixturevalue("postgres_url"))


def opened(target: str, clock: Clock | None = None) -> Any:
    extra = {} if clock is None else {"clock": clock}
    return PostgresLedger(target, **extra) if is_postgres_url(target) else SQLiteLedger(target, **extra)


def test_packed_bodies_round_trip_and_are_small() -> None:
    body = {
        "leadInfo": {"email": "zoë.müller@beispiel.de", "firstName": "Zoë", "crmLeadId": "007", "x": 1.5},
        "leadCustomField": {"Company": "Müller GmbH", "Newsletter": True, "Score": None},
    }
    packed = pack_body(body)
    assert unpack_body(packed) == body
    assert len(packed) < len(json.dumps(body, ensure_ascii=False).encode()) * 0.8
    with pytest.raises(ValueError, match="unknown stored body format"):
        unpack_body(b"\x07" + packed[1:])
    with pytest.raises(ValueError, match="damaged"):
        unpack_body(packed[:5])


def test_keeps_forgets_and_compacts_bodies(ledger_target: str) -> None:
    clock = Clock()
    with opened(ledger_target, clock) as ledger:
        assert isinstance(ledger, BodyLedger)
        run = ledger.start_run(DEST, input_name="a.csv", rows=3)
        ledger.record_accepted(DEST, run, np.array([1, 2, 3]), np.array([11, 22, 33]))
        ledger.record_bodies(DEST, np.array([1, 2, 3, 1]), [b"one", b"two", b"three", b"one again"])
        assert ledger.bodies(DEST, np.array([3, 1, 9, 1])) == [b"three", b"one again", None, b"one again"]
        assert ledger.bodies(OTHER, np.array([1])) == [None]
        ledger.record_bodies(DEST, np.array([2]), [None])  # accepted again without a body: the old one goes
        assert ledger.bodies(DEST, np.array([2])) == [None]
        assert ledger.forget(DEST, np.array([3])) == 1 and ledger.bodies(DEST, np.array([3])) == [None]
        # compact: the bodies of leads untouched since a time go, the fingerprints stay
        clock.now += 40 * DAY
        ledger.record_accepted(DEST, run, np.array([4]), np.array([44]))
        ledger.record_bodies(DEST, np.array([4]), [b"four"])
        assert ledger.compact(OTHER) == 0
        assert ledger.compact(DEST, before=clock.now - 30 * DAY) == 1  # lead 1, accepted 40 days ago
        assert ledger.bodies(DEST, np.array([1, 4])) == [None, b"four"]
        assert ledger.lookup(DEST, np.array([1, 4]))[0].tolist() == [True, True]
        assert ledger.compact() == 1 and ledger.bodies(DEST, np.array([4])) == [None]
        assert ledger.stats(DEST).leads == 3


def test_keeps_the_mapping_of_each_run(ledger_target: str) -> None:
    with opened(ledger_target) as ledger:
        assert ledger.last_run(DEST) is None
        first = ledger.start_run(DEST, input_name="a.csv", rows=1)
        ledger.record_mapping(first, {"Email": "leadInfo.email", "Plan": "leadCustomField.Plan"})
        ledger.start_run(DEST, input_name="b.csv", rows=1)  # no mapping (refused, or an older toolkit)
        ledger.start_run(OTHER, input_name="c.csv", rows=1)
        last = ledger.last_run(DEST)
        assert last is not None and last.id == first
        assert last.mapping == {"Email": "leadInfo.email", "Plan": "leadCustomField.Plan"}
        assert ledger.run(first).as_dict()["mapping"] == last.mapping  # type: ignore[union-attr]
        assert ledger.last_run(OTHER) is None


def test_a_sync_keeps_what_was_accepted_and_diffs_against_it(
    sandbox: SandboxServer, ledger_target: str
) -> None:
    pt = Publitrac(api_key=sandbox.api_key, base_url=sandbox.base_url)
    frame = pd.DataFrame(
        {
            "Email": [f"l{i}@example.com" for i in range(25)],
            "Job Title": ["Engineer"] * 25,
            "Plan": ["pro"] * 25,
        }
    )
    publitrac.sync(frame, pt, custom_fields=["Plan"], ledger=ledger_target, progress=False)
    with opened(ledger_target) as ledger:
        keys = publitrac.ledger._fingerprints.email_keys(frame["Email"])  # type: ignore[attr-defined]
        kept = ledger.bodies(destination_for(pt), keys)
        assert unpack_body(kept[0]) == {
            "leadInfo": {"email": "l0@example.com", "jobTitle": "Engineer"},
            "leadCustomField": {"Plan": "pro"},
        }
        run = ledger.last_run(destination_for(pt))
        assert run.mapping == {
            "Email": "leadInfo.email",
            "Job Title": "leadInfo.jobTitle",
            "Plan": "leadCustomField.Plan",
        }
    changed = frame.assign(Plan=["pro"] * 20 + ["free"] * 5)
    report = publitrac.sync(
        changed, pt, custom_fields=["Plan"], ledger=ledger_target, dry_run="diff", progress=False
    )
    assert report.diff is not None and report.diff.changed == {"leadCustomField.Plan": 5}


# --- migration: a ledger made before bodies and mappings were kept

# The schema as the toolkit wrote it before (commit 2d1aac3, ledger/_store.py and ledger/_postgres.py).
_OLD_SQLITE = """
CREATE TABLE destinations (id INTEGER PRIMARY KEY, base_url TEXT NOT NULL, key_fingerprint TEXT NOT NULL,
    UNIQUE (base_url, key_fingerprint));
CREATE TABLE leads (destination INTEGER NOT NULL, email_key INTEGER NOT NULL, body_key INTEGER NOT NULL,
    accepted_at INTEGER NOT NULL, run_id INTEGER, PRIMARY KEY (destination, email_key)) WITHOUT ROWID;
CREATE TABLE runs (id INTEGER PRIMARY KEY AUTOINCREMENT, destination INTEGER NOT NULL, input_name TEXT,
    rows INTEGER NOT NULL, started_at REAL NOT NULL, finished_at REAL, counts TEXT,
    interrupted INTEGER NOT NULL DEFAULT 0);
CREATE INDEX runs_by_destination ON runs (destination, id);
"""
_OLD_POSTGRES = (
    "CREATE TABLE publitrac_destinations (id BIGSERIAL PRIMARY KEY, base_url TEXT NOT NULL, "
    "key_fingerprint TEXT NOT NULL, UNIQUE (base_url, key_fingerprint))",
    "CREATE TABLE publitrac_leads (destination BIGINT NOT NULL REFERENCES publitrac_destinations (id), "
    "email_key BIGINT NOT NULL, body_key BIGINT NOT NULL, accepted_at BIGINT NOT NULL, run_id BIGINT, "
    "PRIMARY KEY (destination, email_key))",
    "CREATE TABLE publitrac_runs (id BIGSERIAL PRIMARY KEY, destination BIGINT NOT NULL REFERENCES "
    "publitrac_destinations (id), input_name TEXT, rows BIGINT NOT NULL, started_at DOUBLE PRECISION NOT NULL, "
    "finished_at DOUBLE PRECISION, counts TEXT, interrupted BOOLEAN NOT NULL DEFAULT FALSE)",
)


def _old_ledger(target: str, pt: Publitrac, frame: pd.DataFrame) -> None:
    """A ledger as the previous toolkit left it after syncing `frame`: its tables, a run, the leads' keys."""
    from publitrac.ledger._fingerprints import lead_keys

    mapping = publitrac.map_columns(frame, custom_fields=["Plan"])
    emails, bodies = lead_keys(frame, mapping, np.arange(len(frame)))
    destination = destination_for(pt)
    rows = [(1, int(e), int(b), 1_700_000_000, 1) for e, b in zip(emails, bodies, strict=True)]
    if is_postgres_url(target):
        import psycopg

        with psycopg.connect(target, autocommit=True) as db:
            for statement in _OLD_POSTGRES:
                db.execute(statement)
            db.execute(
                "INSERT INTO publitrac_destinations (base_url, key_fingerprint) VALUES (%s, %s)",
                (destination.base_url, destination.key_fingerprint),
            )
            db.execute(
                "INSERT INTO publitrac_runs (destination, input_name, rows, started_at, finished_at, counts) "
                "VALUES (1, 'old.csv', %s, 1.7e9, 1.7e9, '{\"accepted\": 25}')",
                (len(frame),),
            )
            with db.cursor() as cursor:
                cursor.executemany("INSERT INTO publitrac_leads VALUES (%s, %s, %s, %s, %s)", rows)
        return
    db = sqlite3.connect(target)
    db.executescript(_OLD_SQLITE)
    db.execute(
        "INSERT INTO destinations (base_url, key_fingerprint) VALUES (?, ?)",
        (destination.base_url, destination.key_fingerprint),
    )
    db.execute(
        "INSERT INTO runs (destination, input_name, rows, started_at, finished_at, counts) "
        "VALUES (1, 'old.csv', ?, 1.7e9, 1.7e9, '{\"accepted\": 25}')",
        (len(frame),),
    )
    db.executemany("INSERT INTO leads VALUES (?, ?, ?, ?, ?)", rows)
    db.commit()
    db.close()


def test_a_ledger_made_before_bodies_is_migrated_when_opened(
    sandbox: SandboxServer, ledger_target: str
) -> None:
    pt = Publitrac(api_key=sandbox.api_key, base_url=sandbox.base_url)
    frame = pd.DataFrame({"Email": [f"m{i}@example.com" for i in range(25)], "Plan": ["pro"] * 25})
    _old_ledger(ledger_target, pt, frame)
    with opened(ledger_target) as ledger:  # the migration step runs here
        old = ledger.runs()
        assert [(run.input_name, run.mapping, run.counts) for run in old] == [
            ("old.csv", None, {"accepted": 25})
        ]
        assert ledger.last_run(destination_for(pt)) is None
    # the leads the old ledger knows are still unchanged; a changed lead is sent, and its body kept from now on
    changed = frame.assign(Plan=["pro"] * 24 + ["free"])
    report = publitrac.sync(changed, pt, custom_fields=["Plan"], ledger=ledger_target, progress=False)
    assert report.counts["unchanged"] == 24 and report.counts["accepted"] == 1
    # a diff against an old ledger: the leads without a kept body count as unknown, not as changed
    again = changed.assign(Plan="team")
    diff = publitrac.sync(
        again, pt, custom_fields=["Plan"], ledger=ledger_target, dry_run="diff", progress=False
    ).diff
    assert diff is not None and (diff.known, diff.unknown, diff.changed) == (
        1,
        24,
        {"leadCustomField.Plan": 1},
    )
    with opened(ledger_target) as ledger:  # opening a migrated ledger again changes nothing
        assert ledger.last_run(destination_for(pt)).mapping == {  # type: ignore[union-attr]
            "Email": "leadInfo.email",
            "Plan": "leadCustomField.Plan",
        }

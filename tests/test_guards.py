"""Guards before sending (`syncs/_guards.py`): `max_invalid`, the column guard (`max_changed`,
`allow_mass_change`), `canary`/`stop_if_failing`, `dry_run="diff"`; over real HTTP against the sandbox, in memory
and streamed; the command line's exit status 2 in subprocesses (`tests/test_cli_guards.py` has more)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import publitrac
from publitrac import Publitrac
from publitrac.sandbox import SandboxServer
from publitrac.syncs._guards import MIN_ROWS


def leads(n: int, *, invalid: int = 0, start: int = 0) -> pd.DataFrame:
    """`n` leads; the first `invalid` of them with an email that is no email."""
    emails = [f"lead{start + i}@example.com" for i in range(n)]
    for i in range(invalid):
        emails[i] = f"not an email {i}"
    return pd.DataFrame(
        {
            "Email": emails,
            "First Name": [f"Name{start + i}" for i in range(n)],
            "Job Title": ["Engineer"] * n,
            "Company": [f"Company {i % 7}" for i in range(n)],
        }
    )


def connect(sandbox: SandboxServer) -> Publitrac:
    return Publitrac(api_key=sandbox.api_key, base_url=sandbox.base_url)


def posts(sandbox: SandboxServer) -> int:
    return int(sandbox.stats()["calls"].get("delayedSync", 0))


OPTIONS: dict[str, object] = {"custom_fields": ["Company"], "progress": False}


# --- max_invalid


def test_too_many_invalid_rows_send_nothing(sandbox: SandboxServer, tmp_path: Path) -> None:
    frame = leads(40, invalid=10)  # 25%
    with pytest.raises(publitrac.RunRefused) as refused:
        publitrac.sync(frame, connect(sandbox), ledger=tmp_path / "l.sqlite3", **OPTIONS)  # type: ignore[arg-type]
    assert posts(sandbox) == 0
    error = refused.value
    assert str(error).startswith(
        "10 of 40 rows (25.0%) are invalid, more than max_invalid=20%: nothing sent; check the file"
    )
    assert "more than --max-invalid 20%: nothing sent" in error.in_words("cli")
    assert error.setting == "max_invalid" and error.figures["invalid"] == 10 and error.figures["rows"] == 40
    report = error.report
    assert report is not None and report.counts["invalid"] == 10 and report.counts["not_sent"] == 30
    # no run recorded: the next run's column guard compares with the last run that sent
    with publitrac.open_ledger(tmp_path / "l.sqlite3") as ledger:  # type: ignore[union-attr]
        assert ledger.runs() == []
    report = publitrac.sync(frame, connect(sandbox), max_invalid=30, ledger=False, **OPTIONS)  # type: ignore[arg-type]
    assert report.counts["accepted"] == 30 and posts(sandbox) == 30


def test_a_share_of_a_few_rows_does_not_refuse_and_a_dry_run_only_says_it(sandbox: SandboxServer) -> None:
    few = leads(MIN_ROWS - 1, invalid=10)
    report = publitrac.sync(few, connect(sandbox), ledger=False, **OPTIONS)  # type: ignore[arg-type]
    assert report.counts["accepted"] == MIN_ROWS - 11
    dry = publitrac.sync(leads(40, invalid=20), dry_run=True, ledger=False, **OPTIONS)  # type: ignore[arg-type]
    assert isinstance(dry.refusal, publitrac.RunRefused) and dry.counts["not_sent"] == 20


def test_a_stream_decides_on_its_first_batch(sandbox: SandboxServer) -> None:
    batches = [leads(25, invalid=10), leads(25, start=100)]
    with pytest.raises(publitrac.RunRefused, match=r"^10 of 25 rows in the first batch \(40.0%\)") as refused:
        publitrac.sync(iter(batches), connect(sandbox), ledger=False, **OPTIONS)  # type: ignore[arg-type]
    assert posts(sandbox) == 0
    report = refused.value.report
    assert isinstance(report, publitrac.StreamReport) and report.counts["accepted"] == 0


def test_a_stream_stops_when_the_running_share_goes_over(sandbox: SandboxServer, tmp_path: Path) -> None:
    batches = [leads(30), leads(30, invalid=30, start=100), leads(30, start=200)]
    results = tmp_path / "results.csv"
    with pytest.raises(publitrac.RunRefused, match=r"^30 of 60 rows so far \(50.0%\)") as refused:
        publitrac.sync_file(iter(batches), connect(sandbox), results_path=results, ledger=False, **OPTIONS)  # type: ignore[arg-type]
    report = refused.value.report
    assert isinstance(report, publitrac.StreamReport)
    assert report.counts["accepted"] == 30 and posts(sandbox) == 30  # sent before: answered, reported
    assert report.counts["invalid"] == 30 and report.interrupted
    assert pd.read_csv(results)["status"].value_counts().to_dict() == {"accepted": 30, "invalid": 30}


# --- canary


def test_a_failing_canary_stops_the_run(make_sandbox: object, tmp_path: Path) -> None:
    sandbox = make_sandbox(error_200=1.0)  # type: ignore[operator]
    frame = leads(50)
    with pytest.raises(publitrac.RunRefused) as refused:
        publitrac.sync(frame, connect(sandbox), canary=5, max_attempts=1, ledger=False, **OPTIONS)  # type: ignore[arg-type]
    error = refused.value
    assert str(error).startswith(
        "canary: 5 of the first 5 rows sent (100.0%) failed, more than stop_if_failing=20%; "
        "the other 45 rows were not sent"
    )
    assert "more than --stop-if-failing 20%" in error.in_words("cli")
    assert error.setting == "canary" and error.figures == {
        "canary": 5,
        "sent": 5,
        "failed": 5,
        "limit": 20,
        "not_sent": 45,
    }
    assert posts(sandbox) == 5
    report = error.report
    assert report is not None
    statuses = report.results["status"]
    assert (statuses.iloc[:5] == "failed").all() and (statuses.iloc[5:] == "not_sent").all()


def test_a_canary_that_passes_lets_the_run_go_on(sandbox: SandboxServer) -> None:
    report = publitrac.sync(leads(50), connect(sandbox), canary=5, ledger=False, **OPTIONS)  # type: ignore[arg-type]
    assert report.counts["accepted"] == 50 and posts(sandbox) == 50


def test_a_stream_canary(make_sandbox: object) -> None:
    failing = make_sandbox(error_200=1.0)  # type: ignore[operator]
    with pytest.raises(publitrac.RunRefused, match="the rest were not sent") as refused:
        publitrac.sync(
            iter([leads(30), leads(30, start=100)]),
            connect(failing),
            canary=4,
            max_attempts=1,
            ledger=False,
            **OPTIONS,
        )  # type: ignore[arg-type]
    assert posts(failing) == 4
    report = refused.value.report
    assert isinstance(report, publitrac.StreamReport) and report.counts["failed"] == 4
    healthy = make_sandbox()  # type: ignore[operator]
    passed = publitrac.sync(
        iter([leads(30), leads(30, start=100)]), connect(healthy), canary=4, ledger=False, **OPTIONS
    )  # type: ignore[arg-type]
    assert passed.counts["accepted"] == 60 and posts(healthy) == 60


# --- the column guard, against the last run in the ledger


def _first_run(sandbox: SandboxServer, ledger: Path, frame: pd.DataFrame) -> None:
    report = publitrac.sync(frame, connect(sandbox), ledger=ledger, **OPTIONS)  # type: ignore[arg-type]
    assert report.counts["accepted"] == len(frame)


def test_a_column_mapped_last_time_and_now_missing_or_empty_stops_the_run(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    ledger = tmp_path / "l.sqlite3"
    frame = leads(30)
    _first_run(sandbox, ledger, frame)
    sent = posts(sandbox)
    gone = frame.drop(columns=["Job Title"])
    with pytest.raises(publitrac.RunRefused) as refused:
        publitrac.sync(gone, connect(sandbox), ledger=ledger, **OPTIONS)  # type: ignore[arg-type]
    message = str(refused.value)
    assert "column 'Job Title' (sent as leadInfo.jobTitle) is missing" in message
    assert message.endswith("nothing sent; if this is what you mean, pass allow_mass_change=True")
    assert refused.value.in_words("cli").endswith("pass --allow-mass-change")
    assert refused.value.figures["missing_columns"] == ["Job Title"]
    empty = frame.assign(Company="  ")
    with pytest.raises(publitrac.RunRefused, match="column 'Company' .* is empty on every row"):
        publitrac.sync(empty, connect(sandbox), ledger=ledger, **OPTIONS)  # type: ignore[arg-type]
    assert posts(sandbox) == sent
    report = publitrac.sync(gone, connect(sandbox), ledger=ledger, allow_mass_change=True, **OPTIONS)  # type: ignore[arg-type]
    assert report.counts["accepted"] == 30


def test_a_field_changing_on_too_many_known_leads_stops_the_run(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    ledger = tmp_path / "l.sqlite3"
    frame = leads(40)
    _first_run(sandbox, ledger, frame)
    sent = posts(sandbox)
    few = frame.copy()
    few.loc[:9, "Job Title"] = "Manager"  # 10 of 40: 25%, under 50%
    assert publitrac.sync(few, connect(sandbox), ledger=ledger, **OPTIONS).counts["accepted"] == 10  # type: ignore[arg-type]
    many = few.copy()
    many.loc[:29, "Company"] = "ACME"  # Company changes on 30 - 30 // 7 ... leads whose Company was not ACME
    changing = int((few.loc[:29, "Company"] != "ACME").sum())
    with pytest.raises(publitrac.RunRefused) as refused:
        publitrac.sync(many, connect(sandbox), ledger=ledger, max_changed=50, **OPTIONS)  # type: ignore[arg-type]
    error = refused.value
    assert (
        f"leadCustomField.Company changes on {changing} of the 40 leads the ledger knows "
        f"({100 * changing / 40:.1f}%), more than max_changed=50%: nothing sent" in str(error)
    )
    assert "more than --max-changed 50%" in error.in_words("cli")
    assert error.figures["changed_fields"] == {"leadCustomField.Company": changing}
    assert posts(sandbox) == sent + 10
    # a higher limit, or allow_mass_change, goes on
    report = publitrac.sync(many, connect(sandbox), ledger=ledger, max_changed=80, **OPTIONS)  # type: ignore[arg-type]
    assert report.counts["accepted"] == changing


def test_the_stream_applies_the_column_guard_on_its_first_batch(
    sandbox: SandboxServer, tmp_path: Path
) -> None:
    ledger = tmp_path / "l.sqlite3"
    frame = leads(60)
    publitrac.sync(iter([frame.iloc[:30], frame.iloc[30:]]), connect(sandbox), ledger=ledger, **OPTIONS)  # type: ignore[arg-type]
    sent = posts(sandbox)
    assert sent == 60
    changed = frame.assign(**{"Job Title": "Director"})
    with pytest.raises(publitrac.RunRefused, match="leadInfo.jobTitle changes on 30 of the 30 leads"):
        publitrac.sync(
            iter([changed.iloc[:30], changed.iloc[30:]]), connect(sandbox), ledger=ledger, **OPTIONS
        )  # type: ignore[arg-type]
    assert posts(sandbox) == sent


# --- the diff


def test_a_dry_run_diff_says_what_would_change(sandbox: SandboxServer, tmp_path: Path) -> None:
    ledger = tmp_path / "l.sqlite3"
    frame = leads(30)
    _first_run(sandbox, ledger, frame)
    changed = pd.concat([frame, leads(2, start=500)], ignore_index=True)
    changed.loc[3, "Job Title"] = "CTO"
    changed.loc[[5, 6], "Company"] = "Initech"
    changed.loc[7, "Company"] = None
    report = publitrac.sync(changed, connect(sandbox), ledger=ledger, dry_run="diff", **OPTIONS)  # type: ignore[arg-type]
    diff = report.diff
    assert diff is not None
    assert (diff.known, diff.unknown, diff.unchanged) == (30, 2, 26)
    assert diff.changed == {"leadInfo.jobTitle": 1, "leadCustomField.Company": 3}
    assert diff.fields.loc["leadCustomField.Company", "leads"] == 3
    assert diff.fields.loc["leadCustomField.Company", "share"] == 10.0
    examples = diff.examples.set_index("row")
    assert examples.loc[3, "old"] == "Engineer" and examples.loc[3, "new"] == "CTO"
    assert examples.loc[5, "old"] == "Company 5" and examples.loc[5, "new"] == "Initech"
    assert examples.loc[7, "old"] == "Company 0" and examples.loc[7, "new"] is None
    assert "leadCustomField.Company: 3 leads would change (10.0%)" in "\n".join(diff.lines())
    assert report.counts["not_sent"] == 6 and posts(sandbox) == 30  # nothing sent
    # a plain dry run has no diff; nor does a ledger that keeps no bodies
    assert publitrac.sync(changed, connect(sandbox), ledger=ledger, dry_run=True, **OPTIONS).diff is None  # type: ignore[arg-type]
    bare = publitrac.sync(
        changed, connect(sandbox), ledger=ledger, dry_run="diff", keep_bodies=False, **OPTIONS
    )  # type: ignore[arg-type]
    assert bare.diff is None


def test_a_streamed_diff_adds_up_its_batches(sandbox: SandboxServer, tmp_path: Path) -> None:
    ledger = tmp_path / "l.sqlite3"
    frame = leads(40)
    _first_run(sandbox, ledger, frame)
    changed = frame.assign(**{"Job Title": ["CTO" if i % 4 == 0 else "Engineer" for i in range(40)]})
    report = publitrac.sync(
        iter([changed.iloc[:20], changed.iloc[20:]]),
        connect(sandbox),
        ledger=ledger,
        dry_run="diff",
        **OPTIONS,
    )  # type: ignore[arg-type]
    assert report.diff is not None and report.diff.changed == {"leadInfo.jobTitle": 10}
    assert report.diff.known == 40 and report.diff.examples["row"].nunique() == 10


def test_without_bodies_the_ledger_keeps_fingerprints_only(sandbox: SandboxServer, tmp_path: Path) -> None:
    ledger = tmp_path / "l.sqlite3"
    frame = leads(30)
    publitrac.sync(frame, connect(sandbox), ledger=ledger, keep_bodies=False, **OPTIONS)  # type: ignore[arg-type]
    again = publitrac.sync(frame, connect(sandbox), ledger=ledger, **OPTIONS)  # type: ignore[arg-type]
    assert again.counts["unchanged"] == 30
    with publitrac.open_ledger(ledger) as store:  # type: ignore[union-attr]
        from publitrac.ledger._store import destination_for

        keys = publitrac.ledger._fingerprints.email_keys(frame["Email"])  # type: ignore[attr-defined]
        assert store.bodies(destination_for(connect(sandbox)), keys) == [None] * 30  # type: ignore[attr-defined]


def test_on_dask_a_canary_and_a_diff_are_refused_before_anything_runs() -> None:
    dd = pytest.importorskip("dask.dataframe")
    frame = dd.from_pandas(leads(4), npartitions=1)
    with pytest.raises(publitrac.ConfigurationError, match="canary= is not available on Dask"):
        publitrac.sync(frame, canary=2, dry_run=True, ledger=False)
    with pytest.raises(publitrac.ConfigurationError, match="dry_run='diff' is not available on Dask"):
        publitrac.sync(frame, dry_run="diff", ledger=False)


def test_a_canary_as_big_as_the_run_is_the_run(make_sandbox: Callable[..., SandboxServer]) -> None:
    sandbox = make_sandbox(error_200=1.0)
    options: dict[str, Any] = {**OPTIONS, "canary": 10, "max_attempts": 1, "ledger": False}
    report = publitrac.sync(leads(8), connect(sandbox), **options)
    assert report.counts["failed"] == 8  # nothing left to hold back: reported, not refused
    streamed = publitrac.sync(iter([leads(8)]), connect(sandbox), **options)
    assert streamed.counts["failed"] == 8 and posts(sandbox) == 16

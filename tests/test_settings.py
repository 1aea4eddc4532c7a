"""The run settings: one definition (`syncs/_settings.py`) that every sync entry point and the command line use."""

from __future__ import annotations

import argparse
import dataclasses
import inspect
import re
import textwrap
import typing
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import publitrac
from publitrac.cli._common import RUN_SETTING_FLAGS, mapping_options, sync_options
from publitrac.cli._main import build_parser
from publitrac.syncs._settings import RunSettings, SyncOptions
from publitrac.syncs._stream import sync_stream

DEFAULTS = {field.name: field.default for field in dataclasses.fields(RunSettings)}
FRAME = pd.DataFrame({"email": ["ada@example.com"]})
ENTRY_POINTS: dict[str, Any] = {
    "sync": publitrac.sync,
    "sync_async": publitrac.sync_async,
    "sync_file": publitrac.sync_file,
    "sync_dask": publitrac.sync_dask,
    "sync_stream": sync_stream,
    "df.publitrac.sync": FRAME.publitrac.sync,
    "df.publitrac.sync_async": FRAME.publitrac.sync_async,
}


def test_the_keywords_and_the_settings_are_one_list_with_one_type_each() -> None:
    assert list(typing.get_type_hints(SyncOptions)) == RunSettings.names()
    assert typing.get_type_hints(SyncOptions) == typing.get_type_hints(RunSettings)


@pytest.mark.parametrize("name", ENTRY_POINTS)
def test_every_entry_point_shows_every_setting_with_its_default(name: str) -> None:
    parameters = inspect.signature(ENTRY_POINTS[name]).parameters
    for setting, default in DEFAULTS.items():
        assert parameters[setting].kind is inspect.Parameter.KEYWORD_ONLY, (name, setting)
        assert parameters[setting].default == default, (name, setting)
    assert not [p for p in parameters.values() if p.kind is inspect.Parameter.VAR_KEYWORD], name


def test_help_shows_the_types_as_written() -> None:
    shown = str(inspect.signature(publitrac.sync))
    assert "concurrency: int = 16" in shown
    assert "mapping: Mapping[str, str | None] | LeadMapping | None = None" in shown
    assert shown.endswith("-> SyncReport | StreamReport | DaskSyncReport")
    assert "'" not in shown.replace("'all'", "").replace("'changed'", "").replace("'diff'", "")  # unquoted


def test_the_sync_docstring_documents_every_setting() -> None:
    # inspect.getdoc: the same indentation on every Python (3.13 strips it from docstrings when compiling)
    args = (inspect.getdoc(publitrac.sync) or "").split("Args:")[1].split("Returns:")[0]
    documented = set(re.findall(r"^ {4}(\w+):", args, flags=re.MULTILINE))
    assert set(RunSettings.names()) <= documented


@pytest.mark.parametrize("name", ["sync", "sync_file", "sync_dask", "df.publitrac.sync"])
def test_a_misspelled_setting_is_refused_naming_the_closest(name: str) -> None:
    with pytest.raises(
        TypeError, match=r"unexpected keyword argument 'concurency' \(did you mean 'concurrency'\?\)"
    ):
        ENTRY_POINTS[name](FRAME, concurency=4, dry_run=True)


async def test_a_misspelled_setting_is_refused_by_the_awaitable_form() -> None:
    with pytest.raises(TypeError, match=r"sync_async\(\) got an unexpected keyword argument 'retries'"):
        await publitrac.sync_async(FRAME, retries=3, dry_run=True)


@pytest.mark.parametrize(
    ("setting", "value"),
    [
        ("concurrency", 0),
        ("concurrency", 2.5),
        ("concurrency", True),
        ("rate_limit", 0),
        ("rate_limit", float("nan")),
        ("max_attempts", 0),
        ("max_retry_time", -1),
        ("resend", "some"),
        ("max_invalid", 101),
        ("max_invalid", -1),
        ("max_changed", "half"),
        ("stop_if_failing", None),
        ("canary", 0),
        ("canary", 2.5),
        ("allow_mass_change", 1),
    ],
)
def test_a_value_no_run_can_use_is_refused_naming_the_keyword(setting: str, value: object) -> None:
    with pytest.raises(publitrac.ConfigurationError, match=f"^{setting} must be"):
        publitrac.sync(FRAME, dry_run=True, **{setting: value})


def test_dry_run_is_true_false_or_diff() -> None:
    with pytest.raises(publitrac.ConfigurationError, match="^dry_run must be True, False or 'diff'"):
        publitrac.sync(FRAME, dry_run="yes")  # type: ignore[call-overload]
    assert RunSettings.of({"dry_run": "diff"}, entry="sync").dry_run == "diff"


def test_numpy_numbers_are_settings_like_any_other() -> None:
    numpy = pytest.importorskip("numpy")
    settings = RunSettings.of({"concurrency": numpy.int64(4), "rate_limit": numpy.float64(2.5)}, entry="sync")
    assert (settings.concurrency, settings.rate_limit) == (4, 2.5)


def test_settings_are_frozen_and_replace_checks_again() -> None:
    settings = RunSettings()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.concurrency = 4  # type: ignore[misc]
    assert settings.replace(concurrency=4).concurrency == 4
    with pytest.raises(publitrac.ConfigurationError, match="concurrency"):
        settings.replace(concurrency=0)
    assert RunSettings.of(settings.options(), entry="sync") == settings


# --- the command line: every setting has its flags, whose defaults are the settings' defaults


def _sync_flags() -> set[str]:
    parser = build_parser()
    commands = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    sync = commands.choices["sync"]
    return {flag for action in sync._actions for flag in action.option_strings}


def _parsed(*flags: str) -> RunSettings:
    args = build_parser().parse_args(["sync", "leads.csv", *flags])
    return RunSettings.of({**mapping_options(args), **sync_options(args)}, entry="sync")


def test_every_setting_has_its_flags_on_the_command_line() -> None:
    assert list(RUN_SETTING_FLAGS) == RunSettings.names()
    flags = _sync_flags()
    for setting, names in RUN_SETTING_FLAGS.items():
        assert set(names) <= flags, setting
    assert RUN_SETTING_FLAGS["input_name"] == ()  # the file's name
    assert RUN_SETTING_FLAGS["input_file"] == ()  # the file itself
    assert RUN_SETTING_FLAGS["retry_of"] == ()  # set by publitrac retry


def test_the_flags_defaults_are_the_settings_defaults() -> None:
    assert _parsed() == RunSettings(input_name="leads.csv", input_file=Path("leads.csv"), progress=False)


@pytest.mark.parametrize(
    ("flags", "changed"),
    [
        (["--email-column", "Mail"], {"email": "Mail"}),
        (["--map", "Notes=ignore"], {"mapping": {"Notes": None}}),
        (["--custom", "Company"], {"custom_fields": ["Company"]}),
        (["--custom-all"], {"custom_fields": "all"}),
        (["--concurrency", "32"], {"concurrency": 32}),
        (["--rate-limit", "50"], {"rate_limit": 50.0}),
        (["--max-attempts", "2"], {"max_attempts": 2}),
        (["--max-retry-time", "0"], {"max_retry_time": 0.0}),
        (["--no-progress"], {}),
        (["--dry-run"], {"dry_run": True}),
        (["--ledger", "runs.sqlite3"], {"ledger": Path("runs.sqlite3")}),
        (["--no-ledger"], {"ledger": False}),
        (["--full"], {"resend": "all"}),
        (["--dry-run", "--diff"], {"dry_run": "diff"}),
        (["--max-invalid", "5"], {"max_invalid": 5}),
        (["--max-invalid", "2.5%"], {"max_invalid": 2.5}),
        (["--max-changed", "10"], {"max_changed": 10}),
        (["--allow-mass-change"], {"allow_mass_change": True}),
        (["--canary", "50"], {"canary": 50}),
        (["--stop-if-failing", "5"], {"stop_if_failing": 5}),
        (["--no-bodies"], {"keep_bodies": False}),
    ],
)
def test_each_flag_sets_its_setting(flags: list[str], changed: dict[str, object]) -> None:
    assert _parsed(*flags) == RunSettings(
        input_name="leads.csv", input_file=Path("leads.csv"), progress=False, **changed
    )


# --- mypy: the overloads still give the report of each kind of data, and a misspelled keyword is an error


def test_mypy_types_the_reports_by_argument_and_checks_the_keywords(tmp_path: Path) -> None:
    api = pytest.importorskip("mypy.api")
    program = tmp_path / "uses_publitrac.py"
    program.write_text(
        textwrap.dedent(
            """
            from typing import Any, Iterator, assert_type
            import dask.dataframe as dd
            import duckdb
            import pandas as pd
            import polars as pl
            import publitrac

            def batches() -> Iterator[pd.DataFrame]:
                yield pd.DataFrame()

            def dask_frame() -> dd.DataFrame:
                raise NotImplementedError

            def relation() -> duckdb.DuckDBPyRelation:
                raise NotImplementedError

            frame = pd.DataFrame()
            assert_type(publitrac.sync(frame, concurrency=4), publitrac.SyncReport)
            assert_type(publitrac.sync(batches(), dry_run=True), publitrac.StreamReport)
            assert_type(publitrac.sync(dask_frame(), resend="all"), publitrac.DaskSyncReport)
            assert_type(publitrac.sync(pl.DataFrame(), dry_run=True), publitrac.SyncReport)
            assert_type(publitrac.sync(pl.LazyFrame(), dry_run=True), publitrac.StreamReport)
            assert_type(publitrac.sync(relation(), dry_run=True), publitrac.StreamReport)
            settings: dict[str, Any] = {}  # as the widgets pass them: a pandas frame still gives a SyncReport
            assert_type(publitrac.sync(frame, **settings), publitrac.SyncReport)
            publitrac.sync(pl.LazyFrame(), concurency=4)
            publitrac.sync_file("leads.csv", concurency=4)
            publitrac.sync(frame, resend="some")
            """
        )
    )
    stdout, _, status = api.run(["--strict", "--no-error-summary", "--ignore-missing-imports", str(program)])
    errors = {
        int(line.split(":")[1]): line.split(": error: ", 1)[1]
        for line in stdout.splitlines()
        if ": error: " in line
    }
    lines = program.read_text().splitlines()
    misspelled_lazy, misspelled, wrong_value = (
        lines.index(line) + 1 for line in lines if "concurency" in line or '"some"' in line
    )
    assert status == 1, stdout
    assert sorted(errors) == [misspelled_lazy, misspelled, wrong_value], stdout
    assert 'Unexpected keyword argument "concurency"' in errors[misspelled]
    assert 'No overload variant of "sync"' in errors[misspelled_lazy]
    assert 'No overload variant of "sync"' in errors[wrong_value]

"""generated_client/ is exactly what the pinned generator makes from openapi.yaml: never edited by hand; and the
regeneration says what a spec change does for users."""

from __future__ import annotations

import filecmp
import importlib.util
import os
import runpy
import sys
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
import yaml

import publitrac
from publitrac.lead._mapping import normalise_name

ROOT = Path(__file__).resolve().parent.parent
COMMITTED = ROOT / "generated_client" / "publitrac_client"


@pytest.fixture(scope="module")
def script() -> dict[str, Any]:
    if importlib.util.find_spec("openapi_python_client") is None:
        if os.environ.get("CI"):
            pytest.fail("openapi-python-client is missing in CI: .ci/run must install the dev extra")
        pytest.skip('the pinned generator is in the dev extra: pip install -e ".[dev]"')
    return runpy.run_path(str(ROOT / "scripts" / "regenerate_client.py"))


def _files(top: Path) -> dict[str, bytes]:
    return {
        str(path.relative_to(top)): path.read_bytes()
        for path in sorted(top.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


def test_regenerating_the_client_changes_nothing(script: dict[str, Any], tmp_path: Path) -> None:
    fresh = tmp_path / "publitrac_client"
    script["generate"](fresh)
    committed, regenerated = _files(COMMITTED), _files(fresh)
    assert committed.keys() == regenerated.keys()
    changed = [name for name in committed if committed[name] != regenerated[name]]
    assert not changed, f"generated_client differs from a fresh generation in: {changed}"
    assert not filecmp.dircmp(COMMITTED, fresh).diff_files
    assert (fresh / "py.typed").is_file()


def test_the_pinned_tools_are_checked(script: dict[str, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    pins = script["pinned_versions"]()
    assert set(pins) == {"openapi-python-client", "ruff"}
    script["check_tools"](Path(sys.executable).parent)  # the test environment has the pinned ones
    check_tools = script["check_tools"]
    monkeypatch.setitem(check_tools.__globals__, "_installed", lambda name: "0.0.1")
    with pytest.raises(SystemExit) as stopped:
        check_tools(Path(sys.executable).parent)
    message = str(stopped.value)
    assert f"openapi-python-client 0.0.1 (pinned: {pins['openapi-python-client']})" in message
    assert 'pip install -e ".[dev]"' in message


def _with_field(tmp_path: Path, name: str, schema: dict[str, Any]) -> Path:
    spec = yaml.safe_load((ROOT / "openapi.yaml").read_text(encoding="utf-8"))
    spec["components"]["schemas"]["LeadInfo"]["properties"][name] = schema
    path = tmp_path / "openapi.yaml"
    path.write_text(yaml.safe_dump(spec, sort_keys=False), encoding="utf-8")
    return path


def test_the_report_names_a_new_field_and_the_column_it_starts_sending(
    script: dict[str, Any], tmp_path: Path
) -> None:
    # a column of the example that no standard field takes yet (today `Company`), and a field named after it
    columns = list(pd.read_csv(ROOT / "examples" / "leads.csv", nrows=0).columns)
    column = next(name for name in columns if name in publitrac.map_columns(columns).ignored)
    field = normalise_name(column)
    spec = _with_field(tmp_path, field, {"type": "string", "description": "A new optional field."})
    script["generate"](tmp_path / "publitrac_client", spec=spec)
    before = script["lead_info_fields"](COMMITTED)
    after = script["lead_info_fields"](tmp_path / "publitrac_client")
    assert [f.name for f in after] == [f.name for f in before] + [field]
    report = script["change_report"](before, after)
    assert f"added:    {field} (optional)" in report
    assert f"{column}: was not sent, now leadInfo.{field}" in report
    assert f'{column}: was custom field "{column}", now leadInfo.{field}' in report  # with --custom-all
    assert "removed" not in report and "renamed" not in report


def test_the_report_names_a_rename_and_a_removal(script: dict[str, Any]) -> None:
    field = script["Field"]
    before = script["lead_info_fields"](COMMITTED)
    renamed = [field("title" if f.name == "jobTitle" else f.name, f.required) for f in before]
    report = script["change_report"](before, renamed)
    assert "renamed:  jobTitle -> title" in report
    assert "Job Title: was leadInfo.jobTitle, now not sent" in report
    report = script["change_report"](before, [f for f in before if f.name != "lastName"])
    assert "removed:  lastName" in report
    assert "Last Name: was leadInfo.lastName, now not sent" in report
    unchanged = script["change_report"](before, before)
    assert "no change" in unchanged and "none" in unchanged

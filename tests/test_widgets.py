"""The widgets, driven as a user would: set `.value`, `.click()`, then look at their state.

The push panel's tests run over real HTTP against the sandbox the panel starts (or one the test starts,
standing in for a real account).
"""

from __future__ import annotations

import asyncio
import base64
import io
import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import ipywidgets as widgets
import pandas as pd
import pytest

import publitrac
from publitrac import _spec
from publitrac.sandbox import run_sandbox
from publitrac.widgets import LeadExplorer, MappingEditor, PushPanel, running_in_voila
from publitrac.widgets._mapping_editor import CUSTOM, IGNORE

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
SECRET = "wk-Zq8!distinctive-widget-key"


@pytest.fixture
def leads() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "E-mail Address": [
                "ana@example.com",
                "  ",
                "not-an-email",
                "bo@example.com",
                "ANA@example.com ",
                "cy@example.org",
            ],
            "First Name": ["Ana", "Bo", None, "Bo", "Ana", "Cyril"],
            "CRM Lead ID": [1.0, 2.0, None, 4.0, 5.0, 6.0],
            "Company": ["Acme", "Acme", "Initech", "", "Acme", "Globex"],
            "Notes": ["x", None, None, None, None, "y"],
        },
        index=[10, 11, 12, 13, 14, 15],
    )


def all_states(root: widgets.Widget) -> str:
    """Every synced trait of `root` and of the widgets below it, as one JSON text (what a browser sees)."""
    seen: list[str] = []
    stack = [root]
    while stack:
        widget = stack.pop()
        state = widget.get_state()
        seen.append(json.dumps(state, default=str))
        for value in vars(widget).get("_trait_values", {}).values():
            if isinstance(value, widgets.Widget):
                stack.append(value)
            elif isinstance(value, list | tuple):
                stack.extend(item for item in value if isinstance(item, widgets.Widget))
    return "\n".join(seen)


# -- telling an app from a notebook --------------------------------------------------------


def test_running_in_voila() -> None:
    assert running_in_voila({"VOILA_KERNEL_ID": "abc"})
    assert running_in_voila({"SERVER_SOFTWARE": "voila/0.5.13"})
    assert not running_in_voila({"SERVER_SOFTWARE": "nginx"})


# -- the explorer --------------------------------------------------------------------------------------------


def test_explorer_flags_the_rows_validation_flags(leads: pd.DataFrame) -> None:
    explorer = LeadExplorer(leads)
    assert explorer.email_column.value == "E-mail Address"  # the sync's own detection
    problems = publitrac.validate(leads, email="E-mail Address")
    email_errors = problems[(problems["field"] == "email") & (problems["severity"] == "error")]
    duplicates = problems[(problems["field"] == "email") & (problems["severity"] == "warning")]

    explorer.show.value = "invalid"
    assert list(explorer.visible.index) == sorted(set(email_errors["row"])) == [11, 12]
    explorer.show.value = "duplicate"
    # Every row of the group: the one validation warns about (14) and the earlier one it overwrites (10).
    assert list(duplicates["row"]) == [14]
    assert list(explorer.visible.index) == [10, 14]
    assert "same email" in explorer.table.value or "row 10" in explorer.table.value
    explorer.show.value = "all"
    assert len(explorer.visible) == len(leads)
    assert "<b>2</b> invalid emails" in explorer.summary.value
    assert "<b>1</b> rows repeating an earlier row's email" in explorer.summary.value
    assert "not-an-email" in explorer.problems_table.value


def test_explorer_completeness_counts_blank_text_as_missing(leads: pd.DataFrame) -> None:
    explorer = LeadExplorer(leads)
    completeness = explorer.completeness_frame()
    assert completeness.loc["E-mail Address", "filled"] == 5  # "  " is missing
    assert completeness.loc["Company", "filled"] == 5  # "" is missing
    assert completeness.loc["Notes", "missing"] == 4
    assert completeness.loc["CRM Lead ID", "complete"] == pytest.approx(5 / 6)
    assert bytes(explorer.completeness_chart.value).startswith(PNG_MAGIC)
    assert "83.3 %" in explorer.completeness.value


def test_explorer_filters_and_charts(leads: pd.DataFrame) -> None:
    explorer = LeadExplorer(leads)
    explorer.filter_text.value = "acme"
    assert list(explorer.visible.index) == [10, 11, 14]
    explorer.filter_column.value = "First Name"
    assert explorer.visible.empty
    assert "0 of 6 rows match" in explorer.table.value
    explorer.filter_text.value = "bo"
    explorer.show.value = "invalid"
    assert list(explorer.visible.index) == [11]

    assert explorer.group_column.value == "Company"
    company_chart = bytes(explorer.group_chart.value)
    assert company_chart.startswith(PNG_MAGIC)
    explorer.group_column.value = "First Name"
    first_name_chart = bytes(explorer.group_chart.value)
    assert first_name_chart.startswith(PNG_MAGIC) and first_name_chart != company_chart


def test_explorer_escapes_what_it_shows() -> None:
    explorer = LeadExplorer(pd.DataFrame({"email": ["<script>alert(1)</script>@x.com"]}))
    assert "<script>" not in explorer.table.value + explorer.problems_table.value
    assert "&lt;script&gt;" in explorer.table.value


def test_explorer_loads_a_path_and_an_upload(tmp_path: Any, leads: pd.DataFrame) -> None:
    explorer = LeadExplorer()
    assert explorer.df is None
    explorer.load_button.click()
    assert "Type a file path" in explorer.status.value

    leads.to_parquet(tmp_path / "leads.parquet")
    explorer.path.value = str(tmp_path / "leads.parquet")
    explorer.load_button.click()
    assert explorer.df is not None and explorer.df.shape == leads.shape
    assert "6 rows" in explorer.status.value

    explorer.path.value = str(tmp_path / "missing.csv")
    explorer.load_button.click()
    assert "Could not read" in explorer.status.value

    content = leads.head(3).to_csv(index=False).encode("utf-8")
    upload = {"name": "three.csv", "type": "text/csv", "size": len(content), "content": memoryview(content)}
    explorer.upload.value = ({**upload, "last_modified": datetime.now(UTC)},)
    assert explorer.df.shape == (3, leads.shape[1])
    assert "three.csv" in explorer.status.value


def test_explorer_asks_for_the_email_column_when_none_is_found() -> None:
    frame = pd.DataFrame({"who": ["ana@example.com", "nope"], "Company": ["Acme", "Initech"]})
    explorer = LeadExplorer(frame)
    assert explorer.email_column.value is None
    assert explorer.problems is None
    assert "Pick the email column" in explorer.status.value
    explorer.email_column.value = "who"
    assert list(explorer.problems["row"]) == [1]
    explorer.show.value = "invalid"
    assert list(explorer.visible["who"]) == ["nope"]


# -- the mapping editor --------------------------------------------------------------------------------------


def test_editor_starts_from_the_sync_detection(leads: pd.DataFrame) -> None:
    editor = MappingEditor(leads, custom_fields=["Company"])
    assert editor.mapping == publitrac.map_columns(leads, custom_fields=["Company"])
    assert editor.dropdowns["First Name"].value == "firstName"
    assert editor.dropdowns["Company"].value == CUSTOM
    assert editor.dropdowns["Notes"].value == IGNORE
    assert editor.custom_names["Notes"].disabled and not editor.custom_names["Company"].disabled
    options = {value for _, value in editor.dropdowns["Notes"].options}
    assert options == {IGNORE, CUSTOM, *_spec.lead_info_fields()}


def test_editor_changes_make_the_mapping_and_the_preview(leads: pd.DataFrame) -> None:
    editor = MappingEditor(leads)
    editor.dropdowns["Notes"].value = CUSTOM
    editor.custom_names["Notes"].value = "remarks"
    editor.dropdowns["CRM Lead ID"].value = IGNORE
    mapping = editor.mapping
    assert dict(mapping.custom) == {"Notes": "remarks"}
    assert "CRM Lead ID" in mapping.ignored and "CRM Lead ID" not in mapping.fields
    expected = publitrac.preview(leads, 3, mapping=mapping)
    shown = shown_bodies(editor.preview.value)
    assert shown == expected
    assert shown[0]["leadCustomField"] == {"remarks": "x"}
    editor.preview_count.value = 1
    assert len(shown_bodies(editor.preview.value)) == 1


def test_editor_reports_an_invalid_choice_and_recovers(leads: pd.DataFrame) -> None:
    editor = MappingEditor(leads)
    editor.dropdowns["Notes"].value = "firstName"
    assert editor.mapping is None
    assert "firstName" in editor.error and "First Name" in editor.error
    assert "firstName" in editor.message.value and editor.preview.value == ""
    editor.dropdowns["First Name"].value = IGNORE
    assert editor.mapping is not None and editor.mapping.fields["Notes"] == "firstName"

    editor.dropdowns["E-mail Address"].value = IGNORE
    assert editor.mapping is None and "exactly one column" in editor.error


def test_editor_offers_a_field_added_to_the_spec(
    monkeypatch: pytest.MonkeyPatch, leads: pd.DataFrame
) -> None:
    fields = {**_spec.lead_info_fields(), "companyName": {"type": "string"}}
    monkeypatch.setattr(_spec, "lead_info_fields", lambda: fields)
    editor = MappingEditor(leads)
    assert "companyName" in {value for _, value in editor.dropdowns["Company"].options}
    editor.dropdowns["Company"].value = "companyName"
    assert editor.mapping.fields["Company"] == "companyName"
    assert '"companyName": "Acme"' in _unescape(editor.preview.value)


def test_editor_without_an_email_column_waits_for_one() -> None:
    editor = MappingEditor(pd.DataFrame({"who": ["ana@example.com"], "Job": ["CTO"]}))
    assert editor.mapping is None
    editor.dropdowns["who"].value = "email"
    assert editor.mapping is not None and editor.mapping.email == "who"


def shown_bodies(preview_html: str) -> Any:
    match = re.search(r"<pre[^>]*>(.*)</pre>", preview_html, re.S)
    assert match, preview_html
    return json.loads(_unescape(match.group(1)))


def _unescape(text: str) -> str:
    import html

    return html.unescape(text)


# -- the push panel ------------------------------------------------------------------------------------------


@pytest.fixture
def panel_factory() -> Iterator[Any]:
    """PushPanel(...) whose sandboxes are stopped at the end of the test."""
    panels: list[PushPanel] = []

    def make(df: pd.DataFrame, **options: Any) -> PushPanel:
        options.setdefault("environ", {})
        options.setdefault("sync_options", {"concurrency": 8})
        panel = PushPanel(df, **options)
        panels.append(panel)
        return panel

    yield make
    for panel in panels:
        panel.close()


def valid_emails(frame: pd.DataFrame, mapping: publitrac.LeadMapping) -> set[str]:
    problems = publitrac.validate(frame, mapping=mapping)
    bad = set(problems.loc[problems["severity"] == "error", "position"])
    emails = frame[mapping.email].iloc[[i for i in range(len(frame)) if i not in bad]]
    return set(emails.str.strip().str.lower())


def test_panel_dry_run_shows_what_would_be_sent_and_sends_nothing(
    panel_factory: Any, leads: pd.DataFrame
) -> None:
    panel = panel_factory(leads, custom_fields=["Company"])
    panel.dry_run_button.click()
    report = panel.report
    assert report.dry_run and report.counts["invalid"] == 2 and report.counts["not_sent"] == 4
    assert "Dry run: nothing was sent" in panel.summary.value and "4 not sent" in panel.summary.value
    assert "not-an-email" in panel.details.value  # the problems keeping rows from being sent
    first_body = json.dumps(publitrac.preview(leads, 1, custom_fields=["Company"])[0]["leadInfo"]["email"])
    assert first_body in _unescape(panel.details.value)
    assert panel.client is None and panel.sandbox is None  # nothing connected, nothing sent
    assert panel.retry_button.disabled


def test_panel_push_asks_first_then_pushes_into_the_sandbox(panel_factory: Any, leads: pd.DataFrame) -> None:
    panel = panel_factory(leads, custom_fields=["Company"], sandbox=True)
    seen: list[int] = []
    panel.progress.observe(lambda change: seen.append(change["new"]), names="value")
    panel.push_button.click()
    assert panel.confirm_box.layout.display != "none"
    assert "Push 4 rows to the local sandbox at http://127.0.0.1:" in panel.confirm_text.value
    assert "2 rows invalid, not sent" in panel.confirm_text.value
    assert panel.sandbox.stats()["accepted"] == 0  # connected: the sandbox runs, nothing was sent yet
    assert panel.sandbox.leads() == []

    panel.cancel_button.click()
    assert panel.confirm_box.layout.display == "none"
    assert panel.sandbox.leads() == [] and panel.report is None

    panel.push_button.click()
    panel.confirm_button.click()  # outside a kernel the push blocks until done
    report = panel.report
    assert not report.dry_run and report.counts["accepted"] == 4 and report.counts["invalid"] == 2
    assert "Push of 6 rows" in panel.summary.value and "4 accepted" in panel.summary.value
    assert panel.progress.value == panel.progress.max == 4 and seen[-1] == 4
    held = {lead["email"] for lead in panel.sandbox.leads()}
    assert held == valid_emails(leads, panel.mapping)
    assert f"now holds {len(held)} leads" in panel.sandbox_info.value
    assert panel.retry_button.disabled  # nothing failed

    panel.status_filter.value = "invalid"
    assert "not-an-email" in panel.results_table.value and "cy@example.org" not in panel.results_table.value
    panel.status_filter.value = "accepted"
    assert "cy@example.org" in panel.results_table.value

    payload = re.search(r"base64,([A-Za-z0-9+/=]+)", panel.download.value).group(1)
    downloaded = pd.read_csv(io.StringIO(base64.b64decode(payload).decode("utf-8")))
    assert list(downloaded["status"]) == list(report.results["status"].astype(str))
    assert list(downloaded.columns[:3]) == ["row", "email", "status"]


def test_panel_retries_the_rows_that_failed(panel_factory: Any, leads: pd.DataFrame) -> None:
    frame = pd.DataFrame({"email": [f"lead{i}@example.com" for i in range(40)], "First Name": "Ana"})
    panel = panel_factory(
        frame,
        sandbox=True,
        sandbox_options={"error_5xx": 0.3, "seed": 11},
        sync_options={"concurrency": 4, "max_attempts": 1},  # no retry inside the run: failures stay failures
    )
    panel.connect()
    first = panel.push()
    failed = first.counts["failed"]
    assert 0 < failed < 40
    assert panel.retry_button.description == f"Retry {failed} rows" and not panel.retry_button.disabled
    panel.retry_button.click()
    retry = panel.report
    assert len(retry) == failed and retry is panel.history[-1] and first is panel.history[-2]
    assert set(retry.results.index) == set(first.results.index[first.results["status"] == "failed"])
    for _ in range(15):  # a flaky sandbox: retry until every row is in (each round sends only what failed)
        if panel.report.counts["failed"] == 0:
            break
        panel.retry_failed()
    assert panel.report.counts["failed"] == 0
    assert {lead["email"] for lead in panel.sandbox.leads()} == set(frame["email"])


def test_panel_shows_unchanged_rows_sends_everything_again_and_lists_runs(
    panel_factory: Any, leads: pd.DataFrame
) -> None:
    panel = panel_factory(leads, custom_fields=["Company"], sandbox=True)
    assert panel.push().counts["accepted"] == 4
    assert "Recent runs" in panel.runs_table.value and "push panel" in panel.runs_table.value
    ledger = Path(panel.report.ledger)
    assert ledger.exists() and ledger.parent.name.startswith("publitrac-panel-")  # the sandbox's own ledger

    panel.push_button.click()  # the same rows again: the ledger says the sandbox has them
    assert "Push 0 rows to the local sandbox" in panel.confirm_text.value
    assert "4 rows unchanged (Publitrac has them), not sent" in panel.confirm_text.value
    panel.confirm_button.click()
    assert panel.report.counts["unchanged"] == 4 and panel.report.counts["accepted"] == 0
    assert "4 unchanged" in panel.summary.value and panel.sandbox.stats()["accepted"] == 4
    assert panel.dry_run().counts["unchanged"] == 4

    panel.resend_all.value = True  # "Send everything again"
    assert panel.dry_run().counts["not_sent"] == 4
    panel.push_button.click()
    assert "Push 4 rows again to the local sandbox" in panel.confirm_text.value
    panel.confirm_button.click()
    assert panel.report.counts["accepted"] == 4 and panel.sandbox.stats()["accepted"] == 8
    assert panel.runs_table.value.count("push panel") == 3

    panel.disconnect()  # the sandbox's leads are gone: so is its ledger
    assert not ledger.exists()


async def test_a_click_in_a_kernel_runs_the_push_as_a_task(panel_factory: Any, leads: pd.DataFrame) -> None:
    panel = panel_factory(leads, sandbox=True)
    panel.push_button.click()
    panel.confirm_button.click()  # an event loop runs here, as in a kernel: the push becomes a task
    assert panel.task is not None and panel.busy
    assert panel.push_button.disabled and panel.stop_button.layout.display != "none"
    report = await panel.task
    assert report is panel.report and report.counts["accepted"] == 4
    assert not panel.busy and not panel.push_button.disabled
    assert "4 accepted" in panel.summary.value and "now holds 3 leads" in panel.sandbox_info.value


async def test_stop_leaves_a_report_that_accounts_for_every_row(panel_factory: Any) -> None:
    frame = pd.DataFrame({"email": [f"lead{i}@example.com" for i in range(200)]})
    panel = panel_factory(
        frame, sandbox=True, sandbox_options={"latency_ms": 50}, sync_options={"concurrency": 2}
    )
    panel.push_button.click()
    panel.confirm_button.click()

    async def some_rows_answered() -> None:
        while panel.progress.value < 4:
            await asyncio.sleep(0.05)

    await asyncio.wait_for(some_rows_answered(), timeout=30)  # let a few rows through, then stop
    panel.stop_button.click()
    report = await panel.task
    counts = report.counts
    assert "(stopped)" in panel.summary.value
    assert counts["accepted"] >= 4 and counts["not_sent"] > 0
    assert sum(counts.values()) == 200
    assert not panel.retry_button.disabled  # what was not sent can be sent again


def test_panel_connects_to_an_account_from_the_environment(panel_factory: Any, leads: pd.DataFrame) -> None:
    with run_sandbox(api_key=SECRET) as account:  # stands in for a real account: another server, its own key
        environ = {"PUBLITRAC_API_KEY": SECRET, "PUBLITRAC_BASE_URL": account.base_url}
        panel = panel_factory(leads, environ=environ)
        assert not panel.use_sandbox.value and panel.base_url.value == account.base_url
        assert panel.api_key.value == "" and "PUBLITRAC_API_KEY" in panel.api_key.placeholder
        panel.connect_button.click()
        assert panel.sandbox is None and panel.client.base_url == account.base_url
        assert f"Connected to {account.base_url} (API key from PUBLITRAC_API_KEY)" in panel.connection.value
        report = panel.push()
        assert report.counts["accepted"] == 4
        account.wait_until_applied(timeout=10)
        assert len(account.leads()) == 3
        assert SECRET not in all_states(panel)


def test_a_typed_key_is_read_once_cleared_and_never_shown(panel_factory: Any, leads: pd.DataFrame) -> None:
    with run_sandbox(api_key=SECRET) as account:
        panel = panel_factory(leads, sandbox=False)
        panel.base_url.value = account.base_url
        panel.api_key.value = "wrong-" + SECRET
        panel.push_button.click()  # connects with the typed key first
        assert panel.api_key.value == ""
        assert "API key typed in" in panel.connection.value
        panel.confirm_button.click()
        assert "AuthenticationError" in panel.summary.value  # shown, not raised
        assert panel.report is None or panel.report.counts["accepted"] == 0

        panel.api_key.value = SECRET
        panel.connect_button.click()
        assert panel.api_key.value == ""
        assert panel.push().counts["accepted"] == 4
        state = all_states(panel) + repr(panel) + repr(panel.client)
        assert SECRET not in state


def test_the_sandbox_accepts_the_key_from_the_environment(panel_factory: Any, leads: pd.DataFrame) -> None:
    panel = panel_factory(leads, environ={"PUBLITRAC_API_KEY": SECRET})
    assert panel.use_sandbox.value  # no base URL: the sandbox
    panel.connect()
    assert panel.sandbox.api_key == SECRET
    assert panel.push().counts["accepted"] == 4
    assert SECRET not in all_states(panel)


def test_a_real_account_needs_a_base_url(panel_factory: Any, leads: pd.DataFrame) -> None:
    panel = panel_factory(leads, sandbox=False, environ={"PUBLITRAC_API_KEY": SECRET})
    panel.connect_button.click()
    assert "ConfigurationError" in panel.summary.value and "base URL" in panel.summary.value
    assert panel.client is None and SECRET not in all_states(panel)


def test_panel_follows_the_mapping_editor(panel_factory: Any, leads: pd.DataFrame) -> None:
    editor = MappingEditor(leads)
    panel = panel_factory(leads, mapping=editor)
    editor.dropdowns["Company"].value = CUSTOM
    assert dict(panel.mapping.custom) == {"Company": "Company"}
    panel.dry_run()
    assert '"Company": "Acme"' in _unescape(panel.details.value)
    editor.dropdowns["Notes"].value = "firstName"  # two columns on one field
    panel.dry_run_button.click()
    assert "mapping is not valid" in panel.summary.value


def test_a_taken_sandbox_port_is_reported_in_the_panel(panel_factory: Any, leads: pd.DataFrame) -> None:
    with run_sandbox() as other:
        panel = panel_factory(leads, environ={"PUBLITRAC_SANDBOX_PORT": str(other.port)})
        panel.connect_button.click()
        assert "OSError" in panel.summary.value and panel.client is None and panel.sandbox is None


# -- charts, tables and examples as an analyst reads them -----------------------------------------------------


def test_ids_show_without_a_trailing_zero_and_examples_show_as_sent(leads: pd.DataFrame) -> None:
    explorer = LeadExplorer(leads)
    assert ">1<" in explorer.table.value and "1.0<" not in explorer.table.value  # CRM Lead ID 1.0 -> 1
    frame = leads.assign(Code=["007", "008", "009", "010", "011", "012"])
    editor = MappingEditor(frame, custom_fields=["Code"])
    assert editor.dropdowns["CRM Lead ID"].value == "crmLeadId"
    assert "<code>1</code>" in editor.examples["CRM Lead ID"].value  # the integer the body carries
    assert "<code>&quot;007&quot;</code>" in editor.examples["Code"].value  # text stays text
    assert "(not sent)" in editor.examples["Notes"].value
    editor.dropdowns["Notes"].value = CUSTOM
    assert "<code>&quot;x&quot;</code>" in editor.examples["Notes"].value


def test_numeric_columns_are_histograms_and_categories_bars() -> None:
    from publitrac.widgets._common import numeric_values

    frame = pd.DataFrame(
        {
            "email": [f"lead{i}@example.com" for i in range(40)],
            "Score": [str(i % 30) for i in range(40)],  # read from a CSV: text holding numbers
            "Rating": [str(i % 5) for i in range(40)],  # few values: categories read better
            "Company": ["Acme", "Initech"] * 20,
        }
    )
    assert numeric_values(frame["Score"]) is not None
    assert numeric_values(frame["Rating"]) is None and numeric_values(frame["Company"]) is None
    explorer = LeadExplorer(frame)
    explorer.group_column.value = "Score"
    histogram = bytes(explorer.group_chart.value)
    explorer.group_column.value = "Company"
    bars = bytes(explorer.group_chart.value)
    assert histogram.startswith(PNG_MAGIC) and bars.startswith(PNG_MAGIC) and bars != histogram
    # Charts keep their size and never stretch past their container.
    assert explorer.group_chart.layout.max_width == "100%" and explorer.group_chart.layout.width is None

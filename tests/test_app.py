"""The push app as a widget (`PushApp`) and its command (`publitrac app`), driven from Python.

Connections go over real HTTP to sandboxes on free ports; the browser test (`test_browser.py`) drives the same app
served by `publitrac app` in Chromium.
"""

from __future__ import annotations

import argparse
import html
import json
import re
from collections.abc import Callable
from typing import Any

import pandas as pd
import pytest

import publitrac
from publitrac.app import NOTEBOOK, add_arguments
from publitrac.app._serve import free_port, voila_command
from publitrac.widgets import PushApp
from publitrac.widgets._app import DETECT, ENCODINGS
from publitrac.widgets._connect import base_url_problem, explain_connection_error

CSV = (
    "E-mail Address,First Name,Company\n"
    "ana@example.com,Ana,Acme\n"
    "nope,Bo,Acme\n"
    "cy@example.org,Cyril,Globex\n"
    "ANA@example.com,Ana,Acme\n"
).encode()


def enabled(app: PushApp) -> list[str]:
    return [title for title, step in app.steps.items() if step.enabled]


def text(html_value: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", html_value))


def test_steps_open_one_after_another(make_sandbox: Callable[..., Any]) -> None:
    shared = make_sandbox()
    app = PushApp(sandbox_url=shared.base_url, environ={})
    assert enabled(app) == ["Load"]
    app.load(CSV, name="leads.csv")
    assert "leads.csv: 4 rows, 3 columns" in text(app.load_message.value)
    assert enabled(app) == ["Load", "Explore", "Map", "Connect"]
    assert app.dry_run_button.disabled and app.push_button.disabled
    assert "Not sent: Company." in text(app.map_message.value)

    app.connect.connect()
    assert text(app.connect.message.value) == "Connected: key accepted by the local sandbox."
    assert enabled(app)[-1] == "Dry run" and app.push_button.disabled
    app.dry_run()
    assert "3 rows would be sent; 1 invalid" in text(app.dry_run_message.value)
    assert not app.push_button.disabled
    app.push()
    assert enabled(app) == list(app.steps)
    assert text(app.results.sentence.value) == "3 of 3 valid rows accepted; 1 invalid row not sent"
    assert (
        text(app.results.duplicates.value) == "3 accepted, 2 leads: 2 rows share an email; the later one wins"
    )
    shared.wait_until_applied(timeout=10)
    assert {lead["leadInfo"]["email"].lower() for lead in shared.leads()} == {
        "ana@example.com",
        "cy@example.org",
    }
    app.close()


def test_mapping_change_is_what_is_sent(make_sandbox: Callable[..., Any]) -> None:
    from publitrac.widgets._mapping_editor import CUSTOM

    shared = make_sandbox()
    app = PushApp(
        pd.DataFrame({"Mail": ["ana@example.com"], "Company": ["Acme"]}), sandbox_url=shared.base_url
    )
    assert app.editor is not None
    app.editor.dropdowns["Company"].value = CUSTOM
    assert app.map_message.value == ""  # every column is sent now
    app.connect.connect()
    app.push()
    shared.wait_until_applied(timeout=10)
    assert shared.lead("ana@example.com")["leadCustomField"] == {"Company": "Acme"}
    app.close()


def test_the_email_column_picked_in_explore_is_the_one_map_sends() -> None:
    from publitrac.widgets._mapping_editor import IGNORE

    frame = pd.DataFrame(
        {"Email": ["ana@example.com", "bo@example.com"], "Work email": ["ana@acme.com", "bo@acme.com"]}
    )
    app = PushApp(frame, environ={})
    assert app.explorer is not None and app.editor is not None and app.editor.mapping is not None
    assert app.explorer.email_column.value == "Email" and app.editor.mapping.email == "Email"
    app.explorer.email_column.value = "Work email"  # Explore's Email column box
    assert app.editor.mapping.email == "Work email"
    assert app.editor.dropdowns["Email"].value == IGNORE  # not sent as a second email
    app.editor.dropdowns["Email"].value = "email"  # and back, from the Map step: two emails, not valid yet
    assert app.editor.mapping is None and app.explorer.email_column.value == "Work email"
    app.editor.dropdowns["Work email"].value = IGNORE
    assert app.editor.mapping.email == "Email" and app.explorer.email_column.value == "Email"
    app.close()


def test_failed_rows_retried_into_one_view(make_sandbox: Callable[..., Any]) -> None:
    faulty = make_sandbox(error_5xx=0.6, seed=5)
    frame = pd.DataFrame({"email": [f"lead{i}@example.com" for i in range(30)]})
    app = PushApp(frame, sandbox_url=faulty.base_url, sync_options={"max_attempts": 2, "max_retry_time": 5})
    app.connect._verify = lambda client: None  # getToken is faulted too; the push fetches its own token
    app.connect.connect()
    first = app.push()
    failed = first.counts["failed"]
    assert failed > 0
    assert f"{failed} failed" in text(app.results.sentence.value)
    assert 'data-status="failed"' in app.results.tiles.value
    assert app.retry_button.description == f"Retry {failed} row{'s' if failed > 1 else ''}"
    retries = 0
    while app.outcome is not None and len(app.outcome.positions_to_retry()) and retries < 6:
        app.retry_failed()
        retries += 1
    assert text(app.results.sentence.value) == (
        f"30 of 30 valid rows accepted (after {retries} retr{'y' if retries == 1 else 'ies'})"
    )
    assert app.retry_button.disabled
    assert [len(report) for report in app.history][0] == 30 and len(app.history) == retries + 1
    app.close()


def test_results_table_pages_and_sorts() -> None:
    frame = pd.DataFrame({"email": [f"lead{i}@example.com" for i in range(120)] + ["bad"]})
    app = PushApp(frame, sandbox=True)
    app.connect._verify = lambda client: None
    report = app.dry_run()
    from publitrac.engine._outcome import RunOutcome

    app.results.show(RunOutcome(frame, report))
    view = app.results
    assert view.page.max == 3 and "rows 1 to 50 of 121" in view.page_info.value
    view.next_page.click()
    assert view.page.value == 2 and "rows 51 to 100 of 121" in view.page_info.value
    view.sort_by.value = "status"
    view.descending.value = True
    assert view.page.value == 1
    assert view.visible.iloc[0]["status"] == "not_sent" and view.visible.iloc[-1]["status"] == "invalid"
    view.status_filter.value = "invalid"
    assert len(view.visible) == 1 and ">Row<" in view.table.value and ">Error<" in view.table.value
    assert "None" not in view.table.value and "&lt;NA&gt;" not in view.table.value
    app.close()


def test_connect_messages_speak_the_page(make_sandbox: Callable[..., Any]) -> None:
    shared = make_sandbox()
    app = PushApp(
        CSV and pd.DataFrame({"email": ["ana@example.com"]}), sandbox_url=shared.base_url, environ={}
    )
    app.connect.api_key.value = "wrong-key"
    app.connect.connect_button.click()
    refused = text(app.connect.message.value)
    assert refused.startswith("Key refused") and "API key box" in refused
    assert app.connect.api_key.value == ""  # read once, then cleared
    app.connect.connect_button.click()
    assert text(app.connect.message.value) == "Connected: key accepted by the local sandbox."  # replaced

    app.connect.use_sandbox.value = False  # switching the sandbox off disconnects
    assert not app.connect.connected
    assert "Not connected" in text(app.connect.message.value)
    assert app.dry_run_button.disabled

    app.connect.base_url.value = shared.base_url.removesuffix("/v2")
    app.connect.api_key.value = "sandbox-demo-key"
    app.connect.connect_button.click()
    assert "must end in /v2" in text(app.connect.message.value)

    app.connect.base_url.value = f"http://127.0.0.1:{free_port()}/v2"
    app.connect.api_key.value = "sandbox-demo-key"
    app.connect.connect_button.click()
    unreachable = text(app.connect.message.value)
    assert unreachable.startswith("Host unreachable") and "Base URL box" in unreachable
    for message in (refused, unreachable):
        assert "Error" not in message and "api_key" not in message and "base_url" not in message
    app.close()


def test_explanations() -> None:
    assert base_url_problem("https://api.example.com") == (
        "The Base URL box must end in /v2, the API version (e.g. https://api.example.com/v2)."
    )
    assert base_url_problem("https://api.example.com/v2/") == ""
    assert "https://" in base_url_problem("ftp://x/v2")
    plain = explain_connection_error(
        publitrac.ConfigurationError("Refusing plain http to example.com: ..."), base_url="", sandbox=False
    )
    assert plain.startswith("The Base URL box must start with https://")


def test_command_line_and_packaged_notebook() -> None:
    parser = argparse.ArgumentParser()
    add_arguments(parser)
    args = parser.parse_args(["--no-browser", "--sandbox-fault", "5xx=0.3", "--idle-timeout", "120"])
    assert args.no_browser and args.sandbox_fault == [("5xx", 0.3)] and args.port is None
    command = voila_command(NOTEBOOK, port=8866, idle_timeout=120)
    assert "--MappingKernelManager.cull_idle_timeout=120" in command
    assert "--Voila.ip=127.0.0.1" in command
    notebook = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    # The first screen is the app: one short code cell (Voilà hides code), no prose, no outputs.
    assert [cell["cell_type"] for cell in notebook["cells"]] == ["code"]
    assert all(not cell["outputs"] for cell in notebook["cells"])
    assert "PushApp.from_environment()" in "".join(notebook["cells"][0]["source"])
    with pytest.raises(SystemExit):
        parser.parse_args(["--sandbox-fault", "5xx"])


def test_load_shows_what_was_detected_and_takes_a_choice(tmp_path: Any) -> None:
    data = "E-mail;Prénom\r\nzoe@example.com;Zoë\r\nana@example.com;Ana\r\n".encode("cp1252")
    app = PushApp(environ={})
    app.load(data, name="leads.csv")
    assert text(app.load_message.value) == "leads.csv: 2 rows, 2 columns (Windows-1252, delimiter ';')."
    assert list(app.df.columns) == ["E-mail", "Prénom"]
    app.encoding.value = (
        "utf-8-sig"  # a wrong choice: the file is read again, and refused in the page's words
    )
    refused = text(app.load_message.value)
    assert "Encoding box" in refused and "encoding=" not in refused, refused
    app.encoding.value = "cp1252"
    app.delimiter.value = ","  # one column now: the choice is obeyed
    assert app.df is not None and list(app.df.columns) == ["E-mail;Prénom"]
    app.delimiter.value = ""  # detect again
    assert text(app.load_message.value).startswith("leads.csv: 2 rows, 2 columns")
    app.path.value = str(tmp_path / "missing.csv")
    app.load_button.click()
    assert text(app.load_message.value) == f"Could not read {tmp_path / 'missing.csv'}: no such file."
    app.close()


def test_a_second_push_is_unchanged_and_the_history_lists_the_runs(make_sandbox: Callable[..., Any]) -> None:
    shared = make_sandbox()
    frame = pd.DataFrame(
        {"email": ["ana@example.com", "bo@example.com", "nope"], "firstName": ["A", "B", "C"]}
    )
    app = PushApp(frame, sandbox=True, environ={})  # its own sandbox, and a ledger that lives as long
    app.connect.connect()
    app.dry_run()
    app.push()
    assert app.outcome is not None and app.outcome.counts()["accepted"] == 2
    app.dry_run()
    assert "0 rows would be sent; 2 unchanged" in text(app.dry_run_message.value)
    second = app.push()
    assert second.counts["unchanged"] == 2 and second.counts["accepted"] == 0
    assert text(app.results.sentence.value).startswith("2 of 2 valid rows accepted or already in Publitrac")
    assert 'data-status="unchanged"' in app.results.tiles.value
    app.send_all.value = True  # the dry run shown is redone at once
    assert "2 rows would be sent" in text(app.dry_run_message.value)
    assert app.push().counts["accepted"] == 2
    runs = app.recent_runs()
    assert list(runs["accepted"]) == [2, 0, 2] and list(runs["unchanged"]) == [0, 2, 0]
    assert (runs["file"] == "DataFrame").all() and "The latest runs" in app.history_table.value
    # Another app on another sandbox (another destination) sees none of these runs.
    other = PushApp(frame, sandbox_url=shared.base_url, environ={}, ledger=app.ledger_target())
    other.connect.connect()
    assert other.recent_runs().empty
    other.close()
    app.close()


def test_the_command_names_the_extra_it_needs(monkeypatch: pytest.MonkeyPatch, capsys: Any) -> None:
    from publitrac.app import _serve

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    monkeypatch.setattr(_serve.importlib.util, "find_spec", lambda name: None)
    assert _serve.run(parser.parse_args(["--no-browser"])) == 2
    assert 'pip install "publitrac[notebooks]"' in capsys.readouterr().err


def test_connect_fetches_the_token_the_push_then_uses(make_sandbox: Callable[..., Any]) -> None:
    shared = make_sandbox()
    app = PushApp(pd.DataFrame({"email": ["ana@example.com"]}), sandbox_url=shared.base_url, environ={})
    client = app.connect.connect()
    assert client.token_requests == 1 and shared.stats()["calls"]["getToken"] == 1
    app.push()
    assert client.token_requests == 1 and shared.stats()["calls"]["getToken"] == 1  # no second getToken
    app.close()


def ambiguous_export() -> bytes:
    """3,000 plain rows and one French name: in Windows-1252 its `è` reads as `č` in Windows-1250 too."""
    rows = [f"lead{i}@example.com;Martin;Paris" for i in range(3000)] + ["helene@example.fr;Lefèvre;Nîmes"]
    return ("E-mail;Nom de famille;Ville\r\n" + "\r\n".join(rows) + "\r\n").encode("cp1252")


def test_every_encoding_the_detection_may_choose_is_in_the_encoding_box() -> None:
    from publitrac.files._encoding import _CANDIDATES, encoding_label

    offered = {codec for _, codec in ENCODINGS}
    missing = [encoding_label(codec) for codec, _ in _CANDIDATES if codec not in offered]
    assert not missing, f"the Encoding box cannot confirm a guess of {missing}"


def test_an_ambiguous_encoding_is_shown_with_a_choice_before_anything_is_sent(
    make_sandbox: Callable[..., Any],
) -> None:
    shared = make_sandbox()
    app = PushApp(sandbox_url=shared.base_url, environ={})
    app.load(ambiguous_export(), name="leads.csv")
    said = text(app.load_message.value)
    assert "The encoding is a guess: read as Windows-1252" in said, said
    assert "'è' would be 'č' (line 3,002: 'Lefèvre' would be 'Lefčvre')" in said, said
    assert "Encoding box" in said and "encoding=" not in said and "--encoding" not in said, said
    buttons = {button.description: button for button in app.encoding_choice.children}
    assert list(buttons)[:2] == ["Keep Windows-1252", "Read as Windows-1250"]
    assert app.encoding_choice.layout.display == "flex"

    app.connect.connect()
    app.dry_run()
    app.request_push()  # the confirmation, next to the button that sends, says it again
    assert "The encoding is a guess" in text(app.confirm_text.value)
    app._hide_confirmation()

    buttons["Read as Windows-1250"].click()  # the other reading: read again, now as chosen
    assert app.encoding.value == "cp1250"
    assert app.df is not None and app.df["Nom de famille"].iloc[-1] == "Lefčvre"
    assert app.encoding_doubt is None and app.encoding_choice.layout.display == "none"
    assert "(Windows-1250, delimiter ';')" in text(app.load_message.value)

    app.encoding.value = DETECT  # detect again: the doubt is back, with its buttons
    assert app.encoding_doubt is not None
    [keep] = [button for button in app.encoding_choice.children if button.description.startswith("Keep")]
    keep.click()
    assert app.encoding.value == "cp1252" and app.encoding_doubt is None
    assert app.df is not None and app.df["Nom de famille"].iloc[-1] == "Lefèvre"
    app.dry_run()
    app.request_push()
    assert "guess" not in text(app.confirm_text.value)
    app._on_confirm()
    app.close()


def test_the_explorer_warns_of_an_ambiguous_encoding_in_its_status() -> None:
    from publitrac.widgets import LeadExplorer

    explorer = LeadExplorer()
    explorer.load(ambiguous_export(), name="leads.csv")
    said = text(explorer.status.value)
    assert "Warning: leads.csv: the encoding is a guess" in said and "encoding='cp1250'" in said, said
    explorer.load(ambiguous_export().decode("cp1252").encode("utf-8"), name="plain.csv")  # UTF-8: certain
    assert "guess" not in text(explorer.status.value)

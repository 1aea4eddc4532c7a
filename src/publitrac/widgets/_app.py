"""The push app: one page from "what is in this file?" to "pushed, and here is each row".

Steps, each enabled when the one before is done: Load → Explore → Map → Connect → Dry run → Push → Results →
History. `publitrac app` serves it with Voilà; in a notebook, `PushApp()` shows the same page.
"""

from __future__ import annotations

import asyncio
import html
import os
import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal

import ipywidgets as widgets
import numpy as np
import pandas as pd
import traitlets

import publitrac
from publitrac.ledger._store import destination_for
from publitrac.engine._outcome import RunOutcome, live_counts
from publitrac._words import APP, Worded

from ._common import ACCEPTED_SUFFIXES, json_html, message_html
from ._connect import ConnectStep
from ._explorer import LeadExplorer
from ._mapping_editor import MappingEditor
from ._results import ResultsView

#: Set by `publitrac app`: the ledger file the app records accepted leads in ('' or unset: the default).
LEDGER_VARIABLE = "PUBLITRAC_APP_LEDGER"
#: Set by `publitrac app`: the ledger of the sandbox it runs (it lives as long as that sandbox).
SANDBOX_LEDGER_VARIABLE = "PUBLITRAC_APP_SANDBOX_LEDGER"
#: Set by `publitrac app`: the folder it was started in, against which the path box's relative paths are read.
CWD_VARIABLE = "PUBLITRAC_APP_CWD"
#: Seconds between two redraws of the tiles while a run goes on.
PROGRESS_INTERVAL = 0.25
#: The Load step's choices; None: detected.
DETECT = ""
DELIMITERS = (("detect", DETECT), ("comma ,", ","), ("semicolon ;", ";"), ("tab", "\t"), ("pipe |", "|"))
#: Every encoding the detection may choose is here, so that a guess can be confirmed or changed in the box.
ENCODINGS = (
    ("detect", DETECT),
    ("UTF-8", "utf-8-sig"),
    ("UTF-16 (Excel's Unicode text)", "utf-16"),
    ("Windows-1252 (Excel, Western Europe)", "cp1252"),
    ("ISO-8859-15 (Western Europe, with €)", "iso8859-15"),
    ("ISO-8859-1 (Latin-1)", "latin-1"),
    ("Mac Roman", "mac_roman"),
    ("Windows-1250 (Central Europe)", "cp1250"),
    ("ISO-8859-2 (Central Europe)", "iso8859-2"),
    ("Windows-1254 (Turkish)", "cp1254"),
    ("Windows-1251 (Cyrillic)", "cp1251"),
    ("Windows-1253 (Greek)", "cp1253"),
)
STEPS = ("Load", "Explore", "Map", "Connect", "Dry run", "Push", "Results", "History")
_HIDDEN = {"display": "none"}
_SHOWN = {"display": "flex"}


class _Step(widgets.VBox):
    """A numbered step: a title, and a body shown once the step before is done."""

    def __init__(self, number: int, title: str, body: widgets.Widget, *, waiting_for: str) -> None:
        self.title = title
        self.header = widgets.HTML()
        self.body = body
        self._number = number
        self._waiting_for = waiting_for
        super().__init__(
            [self.header, body],
            layout={"border": "1px solid #d8d8d8", "padding": "6px 14px 10px", "margin": "0 0 10px"},
        )
        self.add_class("publitrac-step")
        self.add_class(f"publitrac-step-{title.lower().replace(' ', '-')}")
        self.set_enabled(number == 1)

    def set_enabled(self, enabled: bool) -> None:
        self.enabled = enabled
        colour = "inherit" if enabled else "#9a9a9a"
        note = "" if enabled else f' <span style="font-weight: normal">(after {self._waiting_for})</span>'
        self.header.value = (
            f'<h3 style="margin: 6px 0; color: {colour}">{self._number}. {html.escape(self.title)}{note}</h3>'
        )
        self.body.layout.display = None if enabled else "none"


class PushApp(widgets.VBox):
    """The whole push as one page of steps, composing the explorer, the mapping editor and the results view.

    It holds no logic of its own: it calls `read_leads`, `publitrac.map_columns` (through the editor),
    `publitrac.sync` (dry run, push, retry) and the ledger, as the command line does.

    Args:
        source: a file path or a DataFrame to start with (None: the Load step waits for one).
        sandbox: "Local sandbox" at start (None: on unless PUBLITRAC_API_KEY and PUBLITRAC_BASE_URL are set).
        sandbox_url: a running sandbox to share (None: `PUBLITRAC_APP_SANDBOX_URL`, else one started on Connect).
        sandbox_options: keywords for `run_sandbox` when the app starts its own sandbox.
        ledger: the ledger file (None: `PUBLITRAC_APP_LEDGER`, else the library's default).
        sync_options: keywords for `publitrac.sync` (concurrency, max_attempts...).
        environ: where to read the environment variables (default `os.environ`).

    Example (not run by the doctests: it needs the file `examples/leads.csv` and starts the sandbox):
        >>> app = PushApp("examples/leads.csv", sandbox=True)          # doctest: +SKIP
        >>> app.connect.connect(); app.push().counts["accepted"]       # doctest: +SKIP
        295
    """

    busy = traitlets.Bool(False, help="True while a push or a retry runs.")

    def __init__(
        self,
        source: str | os.PathLike[str] | pd.DataFrame | None = None,
        *,
        sandbox: bool | None = None,
        sandbox_url: str | None = None,
        sandbox_options: Mapping[str, Any] | None = None,
        ledger: str | os.PathLike[str] | None = None,
        sync_options: Mapping[str, Any] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self._environ = os.environ if environ is None else environ
        self.ledger = ledger
        self.sync_options = dict(sync_options or {})
        self.df: pd.DataFrame | None = None
        self.source_name = ""
        self.explorer: LeadExplorer | None = None
        self.editor: MappingEditor | None = None
        self.outcome: RunOutcome | None = None
        self.dry_report: publitrac.SyncReport | None = None
        self.history: list[publitrac.SyncReport] = []
        self.task: asyncio.Task[Any] | None = None

        # 1. Load
        self.upload = widgets.FileUpload(
            accept=",".join(ACCEPTED_SUFFIXES), multiple=False, description="Choose a file", icon="upload"
        )
        self.upload.layout.width = "160px"
        self.path = widgets.Text(
            placeholder="or a path on this machine: /data/leads.csv", layout={"width": "420px"}
        )
        self.load_button = widgets.Button(description="Load", icon="folder-open")
        self.delimiter = widgets.Dropdown(
            options=DELIMITERS, value=DETECT, description="Delimiter", layout={"width": "220px"}
        )
        self.encoding = widgets.Dropdown(
            options=ENCODINGS, value=DETECT, description="Encoding", layout={"width": "340px"}
        )
        self.load_message = widgets.HTML(
            message_html("Choose a lead file: CSV or text as Excel writes it, JSON, Excel, Parquet.")
        )
        # Shown when the encoding is a guess: one button per reading, each puts its encoding in the box.
        self.encoding_choice = widgets.HBox(layout=_HIDDEN)
        # What the Load step says about an encoding that is a guess (None: certain, or chosen in the box).
        self.encoding_doubt: str | None = None
        load = widgets.VBox(
            [
                widgets.HBox([self.upload, self.path, self.load_button]),
                widgets.HBox([self.delimiter, self.encoding]),
                self.load_message,
                self.encoding_choice,
            ]
        )
        self._source: tuple[str | os.PathLike[str] | bytes, str | None] | None = None
        # 2. Explore and 3. Map: built for each file loaded
        self.explore_box = widgets.VBox()
        self.map_box = widgets.VBox()
        self.map_message = widgets.HTML()
        # 4. Connect
        self.connect = ConnectStep(
            sandbox=sandbox,
            sandbox_url=sandbox_url,
            sandbox_options=sandbox_options,
            environ=self._environ,
        )
        # 5. Dry run
        self.dry_run_button = widgets.Button(description="Dry run", icon="eye")
        self.dry_run_message = widgets.HTML()
        self.dry_run_details = widgets.HTML()
        dry = widgets.VBox([self.dry_run_button, self.dry_run_message, self.dry_run_details])
        # 6. Push
        self.push_button = widgets.Button(description="Push", icon="upload", button_style="primary")
        self.send_all = widgets.Checkbox(
            value=False,
            description="Send every row again, even those Publitrac already has unchanged",
            indent=False,
            layout={"width": "auto"},
        )
        self.confirm_text = widgets.HTML()
        self.confirm_button = widgets.Button(description="Yes, push", button_style="danger")
        self.cancel_button = widgets.Button(description="Cancel")
        self.confirm_box = widgets.HBox(
            [self.confirm_text, self.confirm_button, self.cancel_button], layout=_HIDDEN
        )
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="Progress", layout=_HIDDEN)
        self.progress_text = widgets.HTML()
        self.stop_button = widgets.Button(description="Stop", icon="stop", layout=_HIDDEN)
        self.push_message = widgets.HTML()
        push = widgets.VBox(
            [
                widgets.HBox([self.push_button, self.send_all], layout={"align_items": "center"}),
                self.confirm_box,
                widgets.HBox([self.progress, self.progress_text, self.stop_button]),
                self.push_message,
            ]
        )
        # 7. Results
        self.results = ResultsView()
        self.retry_button = widgets.Button(description="Retry failed rows", icon="redo", disabled=True)
        self.results_message = widgets.HTML()
        self.results.actions.children = [self.retry_button, self.results.download]
        results = widgets.VBox([self.results_message, self.results])
        # 8. History
        self.history_table = widgets.HTML()
        history = widgets.VBox([self.history_table])

        bodies = (
            load,
            self.explore_box,
            widgets.VBox([self.map_message, self.map_box]),
            self.connect,
            dry,
            push,
            results,
            history,
        )
        self.steps = {
            title: _Step(number, title, body, waiting_for=STEPS[number - 2] if number > 1 else "")
            for number, (title, body) in enumerate(zip(STEPS, bodies, strict=True), start=1)
        }
        title = widgets.HTML('<h2 style="margin: 4px 0 12px">Publitrac: push a lead file</h2>')
        super().__init__([title, *self.steps.values()], layout={"max_width": "1180px"})

        self.load_button.on_click(lambda _: self._load_path())
        for control in (self.delimiter, self.encoding):
            control.observe(lambda _: self._reload(), names="value")
        self.send_all.observe(lambda _: self._guard(self._redo_dry_run, self.dry_run_message), names="value")
        self.upload.observe(lambda _: self._load_upload(), names="value")
        self.connect.observe(lambda _: self._on_connection(), names="client")
        self.dry_run_button.on_click(lambda _: self._guard(self.dry_run, self.dry_run_message))
        self.push_button.on_click(lambda _: self._guard(self.request_push, self.push_message))
        self.confirm_button.on_click(lambda _: self._guard(self._on_confirm, self.push_message))
        self.cancel_button.on_click(lambda _: self._hide_confirmation())
        self.retry_button.on_click(lambda _: self._guard(self._on_retry, self.results_message))
        self.stop_button.on_click(lambda _: self._on_stop())
        self.observe(self._watch_busy, names="busy")
        if source is not None:
            self.load(source)

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> PushApp:
        """The app as `publitrac app` serves it: shared sandbox and ledger from the variables it sets.

        Example (not run by the doctests: it builds the whole app, which a notebook shows):
            >>> PushApp.from_environment({})    # doctest: +SKIP
        """
        return cls(environ=environ)

    # -- 1. Load ---------------------------------------------------------------------------------------------

    def load(self, source: str | os.PathLike[str] | pd.DataFrame | bytes, *, name: str | None = None) -> None:
        """Load a file (a path, or uploaded bytes with their name) or a DataFrame, and open Explore and Map.

        Raises:
            OSError, ValueError: the file cannot be read (also shown under the Load step).
        """
        leads: publitrac.LeadFile | None = None
        if isinstance(source, pd.DataFrame):
            frame, facts, shown = source, "", name or "DataFrame"
            self._source = None
        else:
            if not isinstance(source, bytes):
                source = Path(self._environ.get(CWD_VARIABLE) or ".").joinpath(os.fspath(source))
            with warnings.catch_warnings():
                # The page says it, with a button per reading, instead of a warning in the server's log.
                warnings.simplefilter("ignore", publitrac.AmbiguousEncodingWarning)
                leads = publitrac.read_leads(
                    source, name=name, sep=self.delimiter.value or None, encoding=self.encoding.value or None
                )
            self._source = (source, name)
            frame, facts, shown = leads.frame, f" ({leads.details()})", Path(leads.name).name
        self.df, self.source_name = frame, shown
        read = f"{shown}: {len(frame):,} rows, {frame.shape[1]} columns{facts}."
        self.encoding_doubt = _encoding_doubt(leads) if leads is not None else None
        if self.encoding_doubt is None:
            self.load_message.value = message_html(read, kind="ok")
            self.encoding_choice.children = ()
            self.encoding_choice.layout = widgets.Layout(**_HIDDEN)
        else:
            assert leads is not None and leads.encoding is not None
            self.load_message.value = message_html(
                f"{read} {self.encoding_doubt} Check the names in Explore, then keep this reading or choose "
                "another (here or in the Encoding box) before you push.",
                kind="warning",
            )
            self._offer_encodings(leads)
        self.explorer = LeadExplorer()
        self.explorer.load(frame, name=shown)
        for control in (self.explorer.upload, self.explorer.path, self.explorer.load_button):
            control.layout.display = "none"  # the Load step reads files for the whole app
        self.explore_box.children = [self.explorer]
        self.editor = MappingEditor(frame)
        self.editor.observe(lambda _: self._on_mapping(), names="mapping")
        # One email column for the page: picked in Explore, it is the one Map sends, and the other way round.
        explorer, editor = self.explorer, self.editor
        explorer.email_column.observe(lambda change: editor.use_email(change["new"]), names="value")
        editor.observe(lambda _: self._follow_mapping_email(explorer, editor), names="mapping")
        self.map_box.children = [self.editor]
        self.outcome, self.dry_report = None, None
        self.results.clear()
        self.dry_run_message.value = self.dry_run_details.value = self.push_message.value = ""
        self._on_mapping()

    def _offer_encodings(self, leads: publitrac.LeadFile) -> None:
        # Each button reads the file again with its encoding, chosen in the box: the choice is then certain.
        assert leads.encoding is not None
        readings = [(f"Keep {leads.encoding_label}", leads.encoding)]
        readings += [(f"Read as {other.label}", other.encoding) for other in leads.alternatives[:3]]
        buttons = []
        for description, codec in readings:
            button = widgets.Button(description=description, layout={"width": "auto"})
            button.on_click(lambda _, codec=codec: setattr(self.encoding, "value", codec))
            buttons.append(button)
        self.encoding_choice.children = tuple(buttons)
        self.encoding_choice.layout = widgets.Layout(**_SHOWN)

    @staticmethod
    def _follow_mapping_email(explorer: LeadExplorer, editor: MappingEditor) -> None:
        email = editor.mapping.email if editor.mapping is not None else None
        if email is not None and explorer.email_column.value != email:  # both list the same frame's columns
            explorer.email_column.value = email

    def _reload(self) -> None:
        # A delimiter or an encoding chosen by hand: read the same file again with it.
        if self._source is not None:
            source, name = self._source
            self._try_load(source, name=name)

    def _try_load(self, source: str | os.PathLike[str] | bytes, *, name: str | None) -> None:
        shown = name or ("the file" if isinstance(source, bytes) else os.fspath(source))
        try:
            self.load(source, name=name)
        except (OSError, ValueError, ImportError) as error:
            self._source = (source, name)  # so that choosing a delimiter or an encoding tries again
            self.load_message.value = message_html(_load_error(error, shown), kind="error")

    def _load_path(self) -> None:
        path = self.path.value.strip()
        if not path:
            self.load_message.value = message_html("Type a file path in the box first.", kind="warning")
            return
        self._try_load(path, name=None)

    def _load_upload(self) -> None:
        if not self.upload.value:
            return
        upload = self.upload.value[0]
        self._try_load(bytes(upload["content"]), name=str(upload["name"]))

    # -- 3. Map ----------------------------------------------------------------------------------------------

    @property
    def mapping(self) -> publitrac.LeadMapping:
        """The mapping chosen in the Map step.

        Raises:
            ConfigurationError: no file yet, or the choice is not a valid mapping (the Map step says why).
        """
        if self.editor is None or self.editor.mapping is None:
            raise publitrac.ConfigurationError("choose where each column goes in the Map step first")
        mapping: publitrac.LeadMapping = self.editor.mapping
        return mapping

    def _on_mapping(self) -> None:
        mapping = self.editor.mapping if self.editor is not None else None
        if mapping is not None and mapping.ignored:
            names = ", ".join(str(column) for column in mapping.ignored)
            self.map_message.value = message_html(f"Not sent: {names}.", kind="warning")
        else:
            self.map_message.value = ""
        self.dry_report = None
        self._enable()

    # -- 4. Connect ------------------------------------------------------------------------------------------

    def _on_connection(self) -> None:
        self.dry_report = None
        self.dry_run_message.value = self.dry_run_details.value = ""
        self._enable()
        if self.connect.connected:
            self._draw_history()

    # -- 5. Dry run ------------------------------------------------------------------------------------------

    def dry_run(self) -> publitrac.SyncReport:
        """Validate and build the bodies, send nothing; say how many rows would be sent.

        Returns:
            The dry run's report.
        """
        self.dry_run_message.value = self.dry_run_details.value = ""
        frame = self._frame()
        mapping = self.mapping
        keywords = self._sync_keywords() | {"dry_run": True}
        report = publitrac.sync(frame, self.connect.client, **keywords)
        self.dry_report = report
        counts = report.counts
        unchanged = (
            f"; {counts['unchanged']:,} unchanged (Publitrac already has them: not sent again)"
            if counts["unchanged"]
            else ""
        )
        invalid = f"; {counts['invalid']:,} invalid (see Explore)" if counts["invalid"] else ""
        self.dry_run_message.value = message_html(
            f"Dry run, nothing sent: {counts['not_sent']:,} rows would be sent{unchanged}{invalid}.",
            kind="ok",
        )
        bodies = publitrac.preview(frame, 3, mapping=mapping)
        self.dry_run_details.value = (
            f"<details><summary>The first {len(bodies)} leads as they will be sent</summary>"
            f"{json_html(bodies)}</details>"
        )
        self._enable()
        return report

    def _redo_dry_run(self) -> None:
        # What would be sent depends on "send every row again": a dry run already shown is redone.
        if self.dry_report is not None:
            self.dry_run()

    # -- 6. Push ---------------------------------------------------------------------------------------------

    def request_push(self) -> None:
        """What the Push button does: ask for confirmation, naming the rows and the destination."""
        self.push_message.value = ""
        report = self.dry_report or self.dry_run()
        to_send, unchanged = report.counts["not_sent"], report.counts["unchanged"]
        skipped = f" ({unchanged:,} unchanged rows are not sent again.)" if unchanged else ""
        # Nothing decoded from a guess is sent without the guess said once more, next to the button that sends.
        doubt = (
            f" {self.encoding_doubt} Choose the encoding in the Load step if it is wrong."
            if self.encoding_doubt
            else ""
        )
        self.confirm_text.value = message_html(
            f"Push {_rows(to_send)} of {self.source_name} to {self.connect.destination}?{skipped}{doubt}",
            kind="warning",
        )
        self.confirm_box.layout = widgets.Layout(**_SHOWN)

    def _hide_confirmation(self) -> None:
        self.confirm_box.layout = widgets.Layout(**_HIDDEN)
        self.confirm_text.value = ""

    def _on_confirm(self) -> None:
        self._hide_confirmation()
        self._launch(None)

    def _on_retry(self) -> None:
        self._launch(self._positions_to_retry())

    def _on_stop(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()

    def push(self) -> publitrac.SyncReport:
        """Send every valid row now, blocking until done (for code and tests; the button asks first).

        Returns:
            The push's report.
        """
        return self._run_blocking(None)

    def retry_failed(self) -> publitrac.SyncReport:
        """Send again the rows not accepted yet (failed, in flight, not sent), blocking until done.

        Returns:
            The retry's report (its rows only); the Results step shows the whole file.
        """
        return self._run_blocking(self._positions_to_retry())

    def _positions_to_retry(self) -> np.ndarray:
        if self.outcome is None:
            raise publitrac.ConfigurationError("nothing to retry: push first")
        return self.outcome.positions_to_retry()

    def _sync_keywords(self, *, retry: bool = False) -> dict[str, Any]:
        return {
            "mapping": self.mapping,
            "progress": False,
            "ledger": self.ledger_target(),
            # A retry sends what it is given: its later duplicates must go again even where the ledger has them.
            "resend": "all" if self.send_all.value or retry else "changed",
            "input_name": f"{self.source_name} (retry)" if retry else self.source_name or None,
            **self.sync_options,
        }

    def ledger_target(self) -> str | os.PathLike[str] | Literal[False] | None:
        """The ledger for the current destination: the local sandbox's own (it lives as long as the sandbox,
        which forgets its leads when it stops), else the one given, else the library's default."""
        if self.connect.use_sandbox.value:
            if self.ledger is not None:
                return self.ledger
            shared = self._environ.get(SANDBOX_LEDGER_VARIABLE)
            if shared:
                return shared
            return self.connect.sandbox_ledger or False
        return self.ledger if self.ledger is not None else (self._environ.get(LEDGER_VARIABLE) or None)

    def _launch(self, positions: np.ndarray | None) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._run_blocking(positions)
            return
        # A click in a kernel arrives on the kernel's event loop: run there as a task, so the page stays live.
        client, rows = self._start_run(positions)
        self.task = loop.create_task(self._run_async(rows, positions, client))
        self.task.add_done_callback(lambda _: setattr(self, "busy", False))

    def _start_run(self, positions: np.ndarray | None) -> tuple[publitrac.Publitrac, pd.DataFrame]:
        client = self.connect.client
        if client is None:
            raise publitrac.ConfigurationError("connect first (step 4)")
        frame = self._frame()
        rows = frame if positions is None else frame.iloc[positions]
        self.push_message.value = self.results_message.value = ""
        if positions is None:
            self.outcome = None
            self.results.clear()
        self.busy = True
        self.progress.value, self.progress.max = 0, max(len(rows), 1)
        self.progress_text.value = "starting…"
        self.progress.layout = widgets.Layout(**_SHOWN)
        self._enable()
        return client, rows

    def _run_blocking(self, positions: np.ndarray | None) -> publitrac.SyncReport:
        client, rows = self._start_run(positions)
        try:
            report = publitrac.sync(rows, client, **self._sync_keywords(retry=positions is not None))
        finally:
            self.busy = False
        self._finish(report, positions)
        return report

    async def _run_async(
        self, rows: pd.DataFrame, positions: np.ndarray | None, client: publitrac.Publitrac
    ) -> publitrac.SyncReport | None:
        previous = publitrac.last_report()
        watcher = asyncio.create_task(self._watch(previous, positions))
        try:
            report = await publitrac.sync_async(
                rows, client, **self._sync_keywords(retry=positions is not None)
            )
        except asyncio.CancelledError:
            stopped = publitrac.last_report()
            if stopped is None or stopped is previous:
                self._say_stopped("Stopped before anything was sent.")
                return None
            report = stopped
        except publitrac.PublitracError as error:
            stopped = error.report
            self._say_stopped(_run_error(error))
            if stopped is None:
                return None
            report = stopped
        finally:
            watcher.cancel()
            self.busy = False
        self._finish(report, positions)
        return report

    async def _watch(self, previous: publitrac.SyncReport | None, positions: np.ndarray | None) -> None:
        started = False
        while True:
            await asyncio.sleep(PROGRESS_INTERVAL)
            report = publitrac.last_report()
            if report is None or report is previous:
                continue
            if positions is not None and self.outcome is not None and not started:
                self.outcome.start_retry(positions, report)
                started = True
            self._show_live(report, positions)

    def _show_live(self, report: publitrac.SyncReport, positions: np.ndarray | None) -> None:
        counts = live_counts(report)
        answered = counts["accepted"] + counts["failed"] + counts["unchanged"]
        to_answer = max(len(report) - counts["invalid"], 1)
        self.progress.max = to_answer
        self.progress.value = min(answered, to_answer)
        retrying = f", {counts['retrying']} retrying" if counts["retrying"] else ""
        failed = f", {counts['failed']} failed" if counts["failed"] else ""
        self.progress_text.value = f"{answered:,} / {to_answer:,} rows answered{retrying}{failed}"
        self.steps["Results"].set_enabled(True)
        if positions is None or self.outcome is None:
            self.results.show_counts(counts)
        else:
            self.results.show_counts(self.outcome.counts())

    def _finish(self, report: publitrac.SyncReport, positions: np.ndarray | None) -> None:
        self.history.append(report)
        self._show_live(report, positions)
        if positions is None or self.outcome is None:
            self.outcome = RunOutcome(self._frame(), report)
        else:
            self.outcome.add_retry(positions, report)
        self.results.show(self.outcome)
        kind = "stopped" if report.interrupted else "done"
        word = "Retry" if positions is not None else "Push"
        self.push_message.value = message_html(f"{word} {kind}: {report.describe()}.", kind="ok")
        self._enable()
        self._draw_history()

    def _say_stopped(self, text: str) -> None:
        self.push_message.value = message_html(text, kind="error")

    # -- 8. History ------------------------------------------------------------------------------------------

    def recent_runs(self, *, limit: int = 10) -> pd.DataFrame:
        """The latest runs to the connected destination, from the ledger, newest first (empty when not
        connected or without a ledger)."""
        client, target = self.connect.client, self.ledger_target()
        columns = ["run", "started", "file", "rows", "accepted", "unchanged", "invalid", "failed", "stopped"]
        if client is None or target is False:
            return pd.DataFrame(columns=columns)
        ledger = publitrac.open_ledger(target)
        if ledger is None:
            return pd.DataFrame(columns=columns)
        try:
            records = ledger.runs(destination_for(client), limit=limit)
        finally:
            ledger.close()
        rows = [
            {
                "run": record.id,
                "started": record.started_at.astimezone().strftime("%Y-%m-%d %H:%M:%S"),
                "file": record.input_name or "",
                "rows": record.rows,
                **{status: record.counts.get(status, 0) for status in columns[4:8]},
                "stopped": "stopped" if record.interrupted else "",
            }
            for record in records
        ]
        return pd.DataFrame(rows, columns=columns)

    def _draw_history(self) -> None:
        try:
            runs = self.recent_runs()
        except publitrac.PublitracError as error:
            self.history_table.value = message_html(f"The history cannot be read: {error}", kind="warning")
            return
        if runs.empty:
            self.history_table.value = message_html("No run recorded yet for this destination.")
            return
        where = html.escape(self.connect.destination)
        self.history_table.value = (
            f"<div>The latest runs to {where}, newest first (a retry is a run of its own):</div>"
            + _table_html(runs)
        )

    # -- state -----------------------------------------------------------------------------------------------

    def _frame(self) -> pd.DataFrame:
        if self.df is None:
            raise publitrac.ConfigurationError("load a file first (step 1)")
        return self.df

    def _enable(self) -> None:
        loaded = self.df is not None
        mapped = loaded and self.editor is not None and self.editor.mapping is not None
        connected = mapped and self.connect.connected
        dry = connected and self.dry_report is not None
        pushed = self.outcome is not None or self.busy
        states = {
            "Load": True,
            "Explore": loaded,
            "Map": loaded,
            "Connect": mapped,
            "Dry run": connected,
            "Push": dry or pushed,
            "Results": pushed,
            "History": pushed,
        }
        for title, enabled in states.items():
            self.steps[title].set_enabled(enabled)
        busy = self.busy
        self.push_button.disabled = busy or not dry
        self.dry_run_button.disabled = busy or not connected
        self.connect.connect_button.disabled = busy
        left = 0 if self.outcome is None else len(self.outcome.positions_to_retry())
        self.retry_button.disabled = busy or left == 0
        self.retry_button.description = f"Retry {_rows(left)}" if left else "Retry failed rows"

    def _watch_busy(self, change: dict[str, Any]) -> None:
        busy = bool(change["new"])
        self.stop_button.layout = widgets.Layout(**(_SHOWN if busy else _HIDDEN))
        self._enable()

    def _guard(self, action: Any, message: widgets.HTML) -> None:
        # A click has no caller to raise to: the step shows what went wrong (messages hold no secret).
        message.value = ""
        try:
            action()
        except publitrac.PublitracError as error:
            message.value = message_html(_run_error(error), kind="error")

    def close(self) -> None:
        """Stop a running push, disconnect (stopping a sandbox the app started) and close the widgets."""
        self._on_stop()
        self.connect.close()
        super().close()


def _table_html(frame: pd.DataFrame) -> str:
    """A small escaped table with room between its columns."""
    cell = "padding: 2px 12px 2px 0; text-align: left"
    head = "".join(f'<th style="{cell}">{html.escape(str(column))}</th>' for column in frame.columns)
    body = "".join(
        "<tr>" + "".join(f'<td style="{cell}">{html.escape(str(value))}</td>' for value in row) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return f'<table style="font-size: 12px"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def _encoding_doubt(leads: publitrac.LeadFile) -> str | None:
    """`The encoding is a guess: read as Windows-1252 (76% sure); as Windows-1250 (24%), 'è' would be 'č' (line
    3,002: 'Lefèvre' would be 'Lefčvre').`; None when the encoding is certain or was chosen."""
    if not leads.encoding_ambiguous:
        return None
    others = "; ".join(other.describe() for other in leads.alternatives[:3])
    return (
        f"The encoding is a guess: read as {leads.encoding_label} ({leads.encoding_confidence or 0.0:.0%} sure); "
        f"{others}."
    )


def _load_error(error: BaseException, shown: str) -> str:
    """Why a file could not be read, in the words of the Load step."""
    if isinstance(error, FileNotFoundError):
        return f"Could not read {shown}: no such file."
    if isinstance(error, IsADirectoryError):
        return f"Could not read {shown}: it is a folder, not a file."
    if isinstance(error, PermissionError):
        return f"Could not read {shown}: permission denied."
    if isinstance(error, Worded):
        text = error.in_words(APP)
        return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")
    return f"Could not read {shown}: {error}"


def _run_error(error: publitrac.PublitracError) -> str:
    """A run-stopping error in the app's words."""
    if isinstance(error, publitrac.AuthenticationError):
        return "Stopped: the key was refused. Check the API key box and Connect again."
    if isinstance(error, publitrac.ConnectionFailed):
        return "Stopped: Publitrac stopped answering (host unreachable). Retry when it is back."
    if isinstance(error, publitrac.ApiError):
        return "Stopped: Publitrac answered with an error that ends the run. Retry in a moment."
    return str(error)


def _rows(count: int) -> str:
    return f"{count:,} row{'s' if count != 1 else ''}"

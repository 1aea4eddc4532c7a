"""The push panel: connect, dry run, push with confirmation and progress, read the report, retry, download;
the rows the ledger finds unchanged, "send everything again", and the recent runs."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import html
import os
import tempfile
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import ipywidgets as widgets
import pandas as pd
import traitlets

import publitrac
from publitrac.ledger._store import recent_runs

from ._common import frame_html, json_html, message_html
from ._mapping_editor import MappingEditor

#: The environment variable naming the port the panel's local sandbox listens on (0 or unset: any free port).
SANDBOX_PORT_VARIABLE = "PUBLITRAC_SANDBOX_PORT"
STATUSES = ("accepted", "unchanged", "invalid", "failed", "in_flight", "not_sent")
#: Seconds between two updates of the progress bar.
PROGRESS_INTERVAL = 0.2
_HIDDEN = {"display": "none"}
_SHOWN = {"display": "flex"}


class PushPanel(widgets.VBox):
    """Push a frame of leads to Publitrac (or to the local sandbox) and show what happened to each row.

    Connection: the API key comes from `PUBLITRAC_API_KEY` unless typed in the password field, which is
    cleared as soon as it has been read (a Password widget's value is synced to the browser like any other, so
    it must not stay there). The base URL comes from `PUBLITRAC_BASE_URL` or its text box. With "Local
    sandbox" on (the default unless both variables are set), Connect starts `publitrac.sandbox.run_sandbox`
    and keeps it running until `close()`, accepting the key given (field or environment) or the demo key.

    The buttons call `publitrac.sync` (`dry_run=True` for the dry run) with the mapping given, exactly as
    `df.publitrac.sync` and `publitrac sync` do. Rows the ledger says Publitrac already has are `unchanged`
    and not sent; "Send everything again" sends them too (`resend="all"`). After each push, the recent runs
    recorded in the ledger are listed. In a kernel, the button's push runs as a task on the kernel's
    event loop (the page stays live and the progress bar moves); the methods `dry_run()`, `push()` and
    `retry_failed()` block and return the report, for notebooks and tests.

    Args:
        df: the leads.
        mapping: a LeadMapping, a MappingEditor (its current mapping is used), or overrides {column: field}.
        email: the email column, when `mapping` is not a LeadMapping or an editor.
        custom_fields: the custom fields, when `mapping` is not a LeadMapping or an editor.
        sandbox: the "Local sandbox" switch at start (None: on unless both environment variables are set).
        sandbox_options: keywords for `run_sandbox` (faults, latency, seed...).
        sandbox_port: the sandbox's port (None: `PUBLITRAC_SANDBOX_PORT`, else a free port).
        sync_options: keywords for `publitrac.sync` (concurrency, rate_limit, max_attempts...).
        ledger: the ledger (see `publitrac.sync`): None for the default one with an account, and for the
            panel's own sandbox a temporary one that lives as long as that sandbox (whose leads are gone when
            it stops); a path or a `Ledger`; False for none.
        environ: where to read the environment variables (defaults to `os.environ`).

    Example:
        >>> import pandas as pd
        >>> panel = PushPanel(pd.DataFrame({"email": ["ana@example.com", "nope"]}), sandbox=True)
        >>> panel.dry_run().counts["invalid"]
        1
    """

    report = traitlets.Any(None, allow_none=True, help="The last SyncReport (dry run, push or retry).")
    busy = traitlets.Bool(False, help="True while a push or retry runs.")

    def __init__(
        self,
        df: pd.DataFrame,
        *,
        mapping: publitrac.LeadMapping | MappingEditor | Mapping[str, str | None] | None = None,
        email: str | None = None,
        custom_fields: Sequence[str] | Mapping[str, str] | Literal["all"] | None = None,
        sandbox: bool | None = None,
        sandbox_options: Mapping[str, Any] | None = None,
        sandbox_port: int | None = None,
        sync_options: Mapping[str, Any] | None = None,
        ledger: str | os.PathLike[str] | publitrac.Ledger | Literal[False] | None = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        self.df = df
        self._environ = os.environ if environ is None else environ
        self._mapping_source = mapping
        self._email = email
        self._custom_fields = custom_fields
        self.sandbox_options = dict(sandbox_options or {})
        self.sandbox_port = sandbox_port
        self.sync_options = dict(sync_options or {})
        self.ledger_option = ledger
        self._ledger: str | os.PathLike[str] | publitrac.Ledger | Literal[False] | None = ledger
        self.client: publitrac.Publitrac | None = None
        self.sandbox: Any = None
        self.task: asyncio.Task[Any] | None = None
        self.history: list[publitrac.SyncReport] = []
        self._dry: tuple[Any, publitrac.SyncReport] | None = None
        self._stack = contextlib.ExitStack()
        self._destination = ""

        env_key = bool(self._environ.get("PUBLITRAC_API_KEY"))
        env_url = self._environ.get("PUBLITRAC_BASE_URL", "")
        if sandbox is None:
            sandbox = not (env_key and env_url)
        self.use_sandbox = widgets.Checkbox(value=sandbox, description="Local sandbox", indent=False)
        self.base_url = widgets.Text(
            value=env_url, description="Base URL", placeholder="https://your-host/v2"
        )
        self.api_key = widgets.Password(
            description="API key",
            placeholder="(from PUBLITRAC_API_KEY)" if env_key else "paste your API key",
        )
        self.connect_button = widgets.Button(description="Connect", icon="plug")
        self.connection = widgets.HTML(message_html("Not connected."))

        self.dry_run_button = widgets.Button(description="Dry run", icon="eye")
        self.push_button = widgets.Button(description="Push", icon="upload", button_style="primary")
        self.resend_all = widgets.Checkbox(
            value=False,
            description="Send everything again",
            indent=False,
            tooltip="also the rows the ledger says Publitrac already has (and refresh the ledger)",
        )
        self.confirm_text = widgets.HTML()
        self.confirm_button = widgets.Button(description="Yes, push", button_style="danger")
        self.cancel_button = widgets.Button(description="Cancel")
        self.confirm_box = widgets.HBox(
            [self.confirm_text, self.confirm_button, self.cancel_button], layout=_HIDDEN
        )
        self.progress = widgets.IntProgress(value=0, min=0, max=1, description="Progress", layout=_HIDDEN)
        self.stop_button = widgets.Button(description="Stop", icon="stop", layout=_HIDDEN)
        self.progress_text = widgets.HTML()

        self.summary = widgets.HTML()
        self.details = widgets.HTML()
        self.status_filter = widgets.ToggleButtons(
            options=("all", *STATUSES), value="all", description="Status"
        )
        self.results_table = widgets.HTML()
        self.retry_button = widgets.Button(description="Retry failed rows", icon="redo", disabled=True)
        self.download = widgets.HTML()
        self.sandbox_info = widgets.HTML()
        self.runs_table = widgets.HTML()
        self.results_box = widgets.VBox(
            [self.status_filter, self.results_table, widgets.HBox([self.retry_button, self.download])],
            layout=_HIDDEN,
        )

        super().__init__(
            [
                widgets.HTML("<b>Connection</b>"),
                widgets.HBox([self.use_sandbox, self.base_url]),
                widgets.HBox([self.api_key, self.connect_button]),
                self.connection,
                widgets.HTML("<b>Push</b>"),
                widgets.HBox([self.dry_run_button, self.push_button, self.resend_all]),
                self.confirm_box,
                widgets.HBox([self.progress, self.progress_text, self.stop_button]),
                self.summary,
                self.details,
                self.results_box,
                self.sandbox_info,
                self.runs_table,
            ]
        )
        self.use_sandbox.observe(lambda _: self._sync_controls(), names="value")
        self.connect_button.on_click(lambda _: self._guard(self.connect))
        self.dry_run_button.on_click(lambda _: self._guard(self.dry_run))
        self.push_button.on_click(lambda _: self._guard(self.request_push))
        self.confirm_button.on_click(lambda _: self._guard(self._on_confirm))
        self.cancel_button.on_click(lambda _: self._hide_confirmation())
        self.retry_button.on_click(lambda _: self._guard(self._on_retry))
        self.stop_button.on_click(lambda _: self._on_stop())
        self.observe(self._watch_busy, names="busy")
        self.status_filter.observe(lambda _: self._draw_results(), names="value")
        self.resend_all.observe(lambda _: self._hide_confirmation(), names="value")
        self._sync_controls()

    # -- what the panel works on -----------------------------------------------------------------------------

    @property
    def ledger(self) -> str | os.PathLike[str] | publitrac.Ledger | Literal[False] | None:
        """The ledger the panel's pushes use; give it to your own `publitrac.sync` calls on `panel.client`.

        Connected to the panel's own sandbox, a temporary one that ends with the sandbox, which forgets its leads
        when it stops: the user's ledger must not remember them (a later sandbox on the same port, with the same
        key, would then count rows as unchanged that it never received). Otherwise the `ledger=` given.
        """
        return self._ledger

    @property
    def mapping(self) -> publitrac.LeadMapping:
        """The mapping the panel sends with (the editor's current one when it was given an editor).

        Raises:
            ConfigurationError: the mapping is not valid (the editor shows why).
        """
        source = self._mapping_source
        if isinstance(source, MappingEditor):
            if source.mapping is None:
                raise publitrac.ConfigurationError(f"the mapping is not valid yet: {source.error}")
            return source.mapping  # type: ignore[no-any-return]
        if isinstance(source, publitrac.LeadMapping):
            return source
        return publitrac.map_columns(
            self.df, email=self._email, mapping=source, custom_fields=self._custom_fields
        )

    # -- connection ------------------------------------------------------------------------------------------

    def connect(self) -> publitrac.Publitrac:
        """Connect with the current settings; with "Local sandbox" on, start the sandbox first.

        The key typed in the password field (if any) is read once and the field is cleared.

        Returns:
            The connection, also kept as `.client`.

        Raises:
            ConfigurationError: no API key or no base URL (for a real account).
        """
        typed = self.api_key.value
        self.api_key.value = ""
        self.disconnect()
        key = typed or self._environ.get("PUBLITRAC_API_KEY") or None
        origin = "typed in" if typed else ("from PUBLITRAC_API_KEY" if key else "")
        if self.use_sandbox.value:
            from publitrac.sandbox import DEFAULT_API_KEY, run_sandbox

            key = key or DEFAULT_API_KEY
            origin = origin or "the sandbox's demo key"
            port = self._sandbox_port()
            self.sandbox = self._stack.enter_context(
                run_sandbox(api_key=key, port=port, **self.sandbox_options)
            )
            base_url = self.sandbox.base_url
            self._destination = f"the local sandbox at {base_url}"
            if self.ledger_option is None:
                # The sandbox forgets its leads when it stops: so does its ledger.
                folder = self._stack.enter_context(tempfile.TemporaryDirectory(prefix="publitrac-panel-"))
                self._ledger = str(Path(folder, "ledger.sqlite3"))
        else:
            base_url = self.base_url.value.strip() or None
            self._destination = base_url or ""
            self._ledger = self.ledger_option
        self.client = publitrac.Publitrac(api_key=key, base_url=base_url)
        self.connection.value = message_html(
            f"Connected to {self._destination} (API key {origin}).", kind="ok"
        )
        return self.client

    def disconnect(self) -> None:
        """Close the connection and stop the panel's sandbox, if any."""
        client, self.client = self.client, None
        if client is not None:
            closer = getattr(client, "close", None)
            if callable(closer):
                closer()
        self._stack.close()
        self._stack = contextlib.ExitStack()
        self.sandbox = None
        self._ledger = self.ledger_option
        self._dry = None
        self.connection.value = message_html("Not connected.")

    def close(self) -> None:
        """Disconnect (stopping the sandbox) and close the widgets."""
        self.disconnect()
        super().close()

    def _sandbox_port(self) -> int:
        if self.sandbox_port is not None:
            return self.sandbox_port
        raw = self._environ.get(SANDBOX_PORT_VARIABLE, "").strip()
        return int(raw) if raw else 0

    def _sync_controls(self) -> None:
        self.base_url.disabled = self.use_sandbox.value

    # -- dry run and push ------------------------------------------------------------------------------------

    def dry_run(self) -> publitrac.SyncReport:
        """Validate and build the bodies, send nothing; show what would be sent and what is invalid.

        Returns:
            The dry run's SyncReport (invalid rows `invalid`; once connected, the rows the ledger finds
            unchanged `unchanged`; the others `not_sent`: they would be sent).
        """
        mapping = self.mapping
        report = self._dry_run_report(mapping)
        self._show_report(report, title="Dry run: nothing was sent")
        bodies = publitrac.preview(self.df, 3, mapping=mapping)
        problems = report.problems
        errors = problems[problems["severity"] == "error"] if len(problems) else problems
        parts = [
            f"<details open><summary>The first {len(bodies)} bodies that would be sent</summary>"
            f"{json_html(bodies)}</details>"
        ]
        if len(errors):
            parts.append(
                f"<details open><summary>{len(errors)} problems keep rows from being sent</summary>"
                f"{frame_html(errors, max_rows=50, index=False)}</details>"
            )
        self.details.value = "".join(parts)
        return report

    def _dry_run_report(self, mapping: publitrac.LeadMapping) -> publitrac.SyncReport:
        resend: Literal["changed", "all"] = "all" if self.resend_all.value else "changed"
        key = (mapping, self.client, resend, len(self.history))
        cached = self._dry
        if cached is not None and cached[0] == key:
            return cached[1]
        # Before connecting there is no destination, so no ledger to ask: every valid row would be sent.
        report = publitrac.sync(
            self.df,
            self.client,
            mapping=mapping,
            dry_run=True,
            progress=False,
            ledger=self._ledger if self.client is not None else False,
            resend=resend,
        )
        self._dry = (key, report)
        return report

    def request_push(self) -> None:
        """What the Push button does: connect if needed, then ask for confirmation, naming the row count."""
        if self.client is None:
            self.connect()
        counts = self._dry_run_report(self.mapping).counts
        to_send, invalid, unchanged = counts["not_sent"], counts["invalid"], counts["unchanged"]
        skipped = f" {_rows(unchanged)} unchanged (Publitrac has them), not sent." if unchanged else ""
        skipped += f" {_rows(invalid)} invalid, not sent." if invalid else ""
        again = "again " if self.resend_all.value else ""
        self.confirm_text.value = message_html(
            f"Push {_rows(to_send)} {again}to {self._destination}?{skipped}", kind="warning"
        )
        self.confirm_box.layout = widgets.Layout(**_SHOWN)

    def _hide_confirmation(self) -> None:
        self.confirm_box.layout = widgets.Layout(**_HIDDEN)
        self.confirm_text.value = ""

    def _on_confirm(self) -> None:
        self._hide_confirmation()
        self._launch(self.df, title="Push")

    def _on_retry(self) -> None:
        self._launch(self._rows_to_retry(), title="Retry")

    def _on_stop(self) -> None:
        if self.task is not None and not self.task.done():
            self.task.cancel()

    def push(self) -> publitrac.SyncReport:
        """Send every valid row now (those the ledger finds unchanged only with "Send everything again" ticked),
        blocking until done (no confirmation: running it is the confirmation).

        Returns:
            The SyncReport, also kept as `.report`.

        Raises:
            PublitracError: what stops a whole run (a refused API key, an unreachable host...).
        """
        return self._run_blocking(self.df, title="Push")

    def retry_failed(self) -> publitrac.SyncReport:
        """Send again the rows of the last push that failed (or a stop left unsent), blocking until done.

        Re-sending is harmless: the API upserts by email.

        Returns:
            The retry's SyncReport, for the retried rows only (also kept as `.report`).

        Raises:
            ConfigurationError: there is no push to retry.
        """
        return self._run_blocking(self._rows_to_retry(), title="Retry")

    def _rows_to_retry(self) -> pd.DataFrame:
        report: publitrac.SyncReport | None = self.report
        if report is None or report.dry_run:
            raise publitrac.ConfigurationError("nothing to retry: push first")
        return report.rows_to_retry()

    def _launch(self, rows: pd.DataFrame, *, title: str) -> None:
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._run_blocking(rows, title=title)
            return
        # A click in a kernel arrives on the kernel's event loop: run there as a task, so the page stays live.
        client = self._start_run()
        self.task = loop.create_task(self._run_async(rows, client, title=title))
        # A task stopped before its first step never enters its own `finally`.
        self.task.add_done_callback(lambda _: setattr(self, "busy", False))

    def _run_blocking(self, rows: pd.DataFrame, *, title: str) -> publitrac.SyncReport:
        client, previous = self._start_run(), publitrac.last_report()
        done = threading.Event()
        watcher = threading.Thread(target=self._watch_thread, args=(previous, done), daemon=True)
        watcher.start()
        try:
            report = publitrac.sync(rows, client, **self._sync_settings())
        finally:
            done.set()
            watcher.join()
            self.busy = False
        self._finish_run(report, title=f"{title} of {_rows(len(rows))}", held=self._sandbox_count())
        return report

    async def _run_async(
        self, rows: pd.DataFrame, client: publitrac.Publitrac, *, title: str
    ) -> publitrac.SyncReport | None:
        previous = publitrac.last_report()
        watcher = asyncio.create_task(self._watch_task(previous))
        try:
            report = await publitrac.sync_async(rows, client, **self._sync_settings())
        except asyncio.CancelledError:
            stopped = publitrac.last_report()
            if stopped is None or stopped is previous:
                self._show_error("stopped before anything was sent")
                return None
            report, title = stopped, f"{title} (stopped)"
        except Exception as error:  # a task has no caller to raise to: show it (messages hold no secret)
            self._show_error(f"{type(error).__name__}: {error}")
            return None
        finally:
            watcher.cancel()
            self.busy = False
        held = await asyncio.to_thread(self._sandbox_count)
        self._finish_run(report, title=f"{title} of {_rows(len(rows))}", held=held)
        return report

    def _sync_settings(self) -> dict[str, Any]:
        settings: dict[str, Any] = {
            "mapping": self.mapping,
            "progress": False,
            "ledger": self._ledger,
            "resend": "all" if self.resend_all.value else "changed",
            "input_name": "push panel",
        }
        settings.update(self.sync_options)
        return settings

    def _start_run(self) -> publitrac.Publitrac:
        client = self.client or self.connect()
        self.busy = True
        self.progress.value, self.progress.max = 0, 1
        self.progress_text.value = "starting…"
        self.progress.layout = widgets.Layout(**_SHOWN)
        return client

    def _watch_thread(self, previous: publitrac.SyncReport | None, done: threading.Event) -> None:
        while not done.wait(PROGRESS_INTERVAL):
            self._show_progress(previous)

    async def _watch_task(self, previous: publitrac.SyncReport | None) -> None:
        while True:
            await asyncio.sleep(PROGRESS_INTERVAL)
            self._show_progress(previous)

    def _show_progress(self, previous: publitrac.SyncReport | None) -> None:
        # The engine writes each row's outcome into the report as it goes; reading its counts costs little.
        report = publitrac.last_report()
        if report is None or report is previous:
            return
        counts = report.counts
        total = max(len(report) - counts["invalid"] - counts["unchanged"], 1)
        sent = counts["accepted"] + counts["failed"]
        self.progress.max = total
        self.progress.value = min(sent, total)
        failed = f", {counts['failed']} failed" if counts["failed"] else ""
        self.progress_text.value = f"{sent} / {total} rows answered{failed}"

    def _finish_run(self, report: publitrac.SyncReport, *, title: str, held: int | None) -> None:
        self.history.append(report)
        self._show_progress(None)
        self._show_report(report, title=title)
        self.details.value = ""
        self.sandbox_info.value = (
            message_html(f"The local sandbox now holds {held} leads.", kind="ok") if held is not None else ""
        )
        self._show_runs(report)

    def _show_runs(self, report: publitrac.SyncReport) -> None:
        if report.ledger is None:
            self.runs_table.value = ""
            return
        runs = recent_runs(report.ledger, limit=5)
        self.runs_table.value = (
            f"<details open><summary>Recent runs (ledger: {html.escape(report.ledger)})</summary>"
            f"{frame_html(runs, max_rows=5, index=False)}</details>"
        )

    def _sandbox_count(self) -> int | None:
        if self.sandbox is None:
            return None
        # Accepted is not applied: wait for the sandbox's delayed apply before counting what it holds.
        self.sandbox.wait_until_applied(timeout=30)
        return len(self.sandbox.leads())

    # -- showing a report ------------------------------------------------------------------------------------

    def _show_report(self, report: publitrac.SyncReport, *, title: str) -> None:
        self.report = report
        counts = report.counts
        parts = [f"{counts[status]} {status.replace('_', ' ')}" for status in STATUSES if counts[status]]
        self.summary.value = f"<b>{html.escape(title)}</b>: " + html.escape(" · ".join(parts) or "no rows")
        left = self._left_to_retry()
        self.retry_button.disabled = left == 0
        self.retry_button.description = f"Retry {_rows(left)}" if left else "Retry failed rows"
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder, "results.csv")
            report.to_csv(path)
            payload = base64.b64encode(path.read_bytes()).decode("ascii")
        self.download.value = (
            f'<a download="publitrac-results.csv" href="data:text/csv;charset=utf-8;base64,{payload}">'
            "Download the results (CSV)</a>"
        )
        self._draw_results()

    def _draw_results(self) -> None:
        if self.report is None:
            return
        self.results_box.layout = widgets.Layout(**_SHOWN)
        results = self.report.results
        if self.status_filter.value != "all":
            results = results[results["status"] == self.status_filter.value]
        self.results_table.value = frame_html(results, max_rows=100)

    def _left_to_retry(self) -> int:
        report: publitrac.SyncReport | None = self.report
        if report is None or report.dry_run:
            return 0
        counts = report.counts
        return counts["failed"] + counts["in_flight"] + counts["not_sent"]

    def _show_error(self, text: str) -> None:
        self.summary.value = message_html(text, kind="error")

    def _watch_busy(self, change: dict[str, Any]) -> None:
        busy = bool(change["new"])
        for button in (self.connect_button, self.dry_run_button, self.push_button, self.retry_button):
            button.disabled = busy
        if not busy:
            self.retry_button.disabled = self._left_to_retry() == 0
        self.stop_button.layout = widgets.Layout(**(_SHOWN if busy else _HIDDEN))

    def _guard(self, action: Callable[[], object]) -> None:
        # A button callback has no caller to raise to: the panel shows the error (messages hold no secret).
        try:
            action()
        except (publitrac.PublitracError, OSError) as error:  # OSError: the sandbox's port is taken, say
            self._show_error(f"{type(error).__name__}: {error}")


def _rows(count: int) -> str:
    return f"{count} row{'s' if count != 1 else ''}"

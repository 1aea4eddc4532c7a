"""What happened to each row, for an analyst: status tiles, one sentence, errors by kind, a paged row table.

Presentation only: the facts come from `publitrac.engine._outcome.RunOutcome` (and a running report's live counts).
"""

from __future__ import annotations

import base64
import html
import ipywidgets as widgets
import numpy as np
import pandas as pd

from publitrac.engine._outcome import TILE_STATUSES, RunOutcome

from ._common import message_html

#: Tile colours (background, text) per status.
STATUS_COLOURS: dict[str, tuple[str, str]] = {
    "accepted": ("#e3f4e8", "#1b7f3b"),
    "unchanged": ("#e6eef8", "#2c5d92"),
    "invalid": ("#f3e8f7", "#7b3294"),
    "failed": ("#fbe5e3", "#b3261e"),
    "retrying": ("#fff4d6", "#8a5a00"),
    "in_flight": ("#e8f1fb", "#1f5fa8"),
    "not_sent": ("#eeeeee", "#555555"),
}
#: Readable column names of the row table.
COLUMN_TITLES = {
    "row": "Row",
    "email": "Email",
    "status": "Status",
    "http_status": "HTTP",
    "attempts": "Attempts",
    "error": "Error",
    "elapsed_ms": "Time (ms)",
}
PAGE_SIZE = 50


def status_words(status: str) -> str:
    """`in_flight` -> "in flight"."""
    return status.replace("_", " ")


def tiles_html(counts: dict[str, int]) -> str:
    """One coloured tile per status, with its count (zero tiles are shown faded)."""
    cells = []
    for status in TILE_STATUSES:
        background, colour = STATUS_COLOURS[status]
        count = counts.get(status, 0)
        fade = "" if count else "opacity: 0.45;"
        cells.append(
            f'<div class="publitrac-tile" data-status="{status}" style="background: {background}; '
            f'color: {colour}; border-radius: 6px; padding: 6px 12px; min-width: 92px; {fade}">'
            f'<div style="font-size: 22px; font-weight: 600; line-height: 1.2">{count:,}</div>'
            f'<div style="font-size: 12px; line-height: 1.2">{status_words(status)}</div></div>'
        )
    return f'<div style="display: flex; flex-wrap: wrap; gap: 8px">{"".join(cells)}</div>'


def rows_html(table: pd.DataFrame) -> str:
    """An escaped HTML table of result rows, each row tinted by its status, readable column names."""
    header = "".join(
        f'<th style="text-align: left; padding: 2px 8px">{html.escape(COLUMN_TITLES.get(str(c), str(c)))}</th>'
        for c in table.columns
    )
    lines = []
    for record in table.itertuples(index=False, name=None):
        values = dict(zip(map(str, table.columns), record, strict=True))
        background, colour = STATUS_COLOURS.get(str(values.get("status", "")), ("inherit", "inherit"))
        cells = []
        for column, value in values.items():
            text = "" if value is None or (not isinstance(value, str) and pd.isna(value)) else str(value)
            if column == "status":
                text = status_words(text)
                style = f"color: {colour}; font-weight: 600"
            else:
                style = ""
            cells.append(f'<td style="padding: 2px 8px; {style}">{html.escape(text)}</td>')
        lines.append(f'<tr style="background: {background}">{"".join(cells)}</tr>')
    return (
        '<table class="publitrac-results" style="border-collapse: collapse; font-size: 12px; width: 100%">'
        f"<thead><tr>{header}</tr></thead><tbody>{''.join(lines)}</tbody></table>"
    )


class ResultsView(widgets.VBox):
    """The results of a push and its retries: tiles, the run in one sentence, errors by kind, the rows.

    The row table is paged (`PAGE_SIZE` rows a page) and sortable by any column, so that a file of 100,000
    rows draws one page at a time. `show_counts` updates the tiles alone, cheaply, while a run goes on.

    Example:
        >>> view = ResultsView()
        >>> view.show_counts({"accepted": 3, "failed": 1})
        >>> "failed" in view.tiles.value
        True
    """

    def __init__(self) -> None:
        self.outcome: RunOutcome | None = None
        self._table: pd.DataFrame | None = None
        self._visible: pd.DataFrame | None = None
        self.tiles = widgets.HTML(tiles_html({}))
        self.sentence = widgets.HTML()
        self.duplicates = widgets.HTML()
        self.errors = widgets.HTML()
        self.status_filter = widgets.Dropdown(
            options=[("all statuses", "all")]
            + [(status_words(s), s) for s in TILE_STATUSES if s != "retrying"],
            value="all",
            description="Show",
            layout={"width": "220px"},
        )
        self.sort_by = widgets.Dropdown(
            options=[(title, column) for column, title in COLUMN_TITLES.items()],
            value="row",
            description="Sort by",
            layout={"width": "220px"},
        )
        self.descending = widgets.ToggleButton(value=False, description="Descending", icon="sort-amount-desc")
        self.previous_page = widgets.Button(description="Previous", icon="chevron-left")
        self.next_page = widgets.Button(description="Next", icon="chevron-right")
        self.page = widgets.BoundedIntText(
            value=1, min=1, max=1, description="Page", layout={"width": "150px"}
        )
        self.page_info = widgets.HTML()
        self.table = widgets.HTML()
        self.download = widgets.HTML()
        controls = widgets.HBox([self.status_filter, self.sort_by, self.descending])
        pager = widgets.HBox([self.previous_page, self.page, self.next_page, self.page_info])
        #: Where the app puts what to do next (its retry button), above the row table, beside the download.
        self.actions = widgets.HBox([self.download], layout={"align_items": "center"})
        super().__init__(
            [
                self.tiles,
                self.sentence,
                self.duplicates,
                self.errors,
                self.actions,
                controls,
                pager,
                self.table,
            ]
        )
        for control in (self.status_filter, self.sort_by, self.descending):
            control.observe(lambda _: self._reorder(), names="value")
        self.page.observe(lambda _: self._draw_page(), names="value")
        self.previous_page.on_click(lambda _: self._turn(-1))
        self.next_page.on_click(lambda _: self._turn(+1))

    def show_counts(self, counts: dict[str, int]) -> None:
        """Redraw the tiles (cheap: called several times a second while a run goes on)."""
        self.tiles.value = tiles_html(counts)

    def show(self, outcome: RunOutcome) -> None:
        """Show an outcome: tiles, sentence, duplicates, errors by kind, the first page of rows, the download."""
        self.outcome = outcome
        self.show_counts(outcome.counts())
        self.sentence.value = f"<b>{html.escape(outcome.sentence())}</b>"
        duplicates = outcome.duplicates_sentence()
        self.duplicates.value = message_html(duplicates) if duplicates else ""
        self.errors.value = self._errors_html(outcome)
        self._table = outcome.results()
        payload = base64.b64encode(outcome.csv_bytes()).decode("ascii")
        self.download.value = (
            '<a class="publitrac-download" download="publitrac-results.csv" style="margin-left: 12px; color: #1a5fb4; text-decoration: underline" '
            f'href="data:text/csv;charset=utf-8;base64,{payload}">Download the results (CSV, one line per row '
            "of the file, with its row number)</a>"
        )
        self._reorder()

    @staticmethod
    def _errors_html(outcome: RunOutcome) -> str:
        groups = outcome.error_groups()
        if groups.empty:
            return ""
        lines = []
        for record in groups.itertuples(index=False):
            background, colour = STATUS_COLOURS[str(record.status)]
            lines.append(
                f'<li style="margin: 2px 0"><span style="color: {colour}; font-weight: 600">'
                f"{record.rows:,} row{'s' if record.rows != 1 else ''}</span>: {html.escape(str(record.explanation))}"
                f" (e.g. {html.escape(str(record.example))}). {html.escape(str(record.what_to_do))}</li>"
            )
        return f'<div><b>What needs attention</b><ul style="margin: 4px 0">{"".join(lines)}</ul></div>'

    # -- the paged table -------------------------------------------------------------------------------------

    @property
    def visible(self) -> pd.DataFrame:
        """The rows the table pages through: the status filter's rows, sorted."""
        table = self._table
        if table is None:
            return pd.DataFrame(columns=list(COLUMN_TITLES))
        if self.status_filter.value != "all":
            table = table[table["status"] == self.status_filter.value]
        column = self.sort_by.value
        # A stable sort keeps the file's order within equal values; missing values go last.
        return table.sort_values(
            column, ascending=not self.descending.value, kind="stable", na_position="last"
        )

    def _reorder(self) -> None:
        self._visible = self.visible
        pages = max(1, int(np.ceil(len(self._visible) / PAGE_SIZE)))
        self.page.max = pages
        if self.page.value != 1:
            self.page.value = 1  # redraws through the observer
        else:
            self._draw_page()

    def _turn(self, step: int) -> None:
        self.page.value = min(max(self.page.value + step, 1), self.page.max)

    def _draw_page(self) -> None:
        visible = self._visible
        if visible is None:
            return
        start = (self.page.value - 1) * PAGE_SIZE
        shown = visible.iloc[start : start + PAGE_SIZE]
        total = len(visible)
        self.page_info.value = (
            f"rows {start + 1:,} to {start + len(shown):,} of {total:,}" if total else "no rows"
        )
        self.previous_page.disabled = self.page.value <= 1
        self.next_page.disabled = self.page.value >= self.page.max
        self.table.value = rows_html(shown)

    def clear(self) -> None:
        """Forget the outcome shown (a new file, or a new push starting)."""
        self.outcome = None
        self._table = None
        self._visible = None
        for pane in (self.sentence, self.duplicates, self.errors, self.table, self.download, self.page_info):
            pane.value = ""
        self.show_counts({})

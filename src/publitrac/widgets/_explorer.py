"""The lead explorer: what a lead file holds, how complete it is, which rows have bad or duplicate emails."""

from __future__ import annotations

import os
import warnings
from typing import Any

import ipywidgets as widgets
import numpy as np
import pandas as pd

import publitrac

from ._common import (
    IMAGE_LAYOUT,
    histogram_png,
    numeric_values,
    ACCEPTED_SUFFIXES,
    WIDE_DESCRIPTION,
    barh_png,
    frame_html,
    message_html,
)

SHOW_OPTIONS = (
    ("All rows", "all"),
    ("Invalid emails", "invalid"),
    ("Duplicate emails", "duplicate"),
    ("Any problem", "problems"),
)
ANY_COLUMN = ""
# Names a "leads per company" chart picks by default; any column can be chosen in the dropdown.
_GROUP_HINTS = (
    "company",
    "organisation",
    "organization",
    "societe",
    "entreprise",
    "empresa",
    "firma",
    "account",
)


class LeadExplorer(widgets.VBox):
    """Look at a lead file before sending it: completeness per column, invalid and duplicate emails, a table.

    The problems come from `publitrac.validate` (the same check the sync runs before sending), so the rows
    flagged here are the rows a sync would report as invalid (errors) or send after an earlier row (duplicate
    warnings).

    Args:
        source: a DataFrame, a path to a file of leads (any format `publitrac.read_leads` reads: CSV as Excel
            writes it, JSON, Parquet, Excel...), or None to load one later (path or upload).
        email: the email column; detected from its name when None.
        max_rows: how many rows the tables show at most.

    Example:
        >>> import pandas as pd
        >>> explorer = LeadExplorer(pd.DataFrame({"Email": ["a@example.com", "nope", "a@example.com"]}))
        >>> explorer.show.value = "invalid"
        >>> list(explorer.visible["Email"])
        ['nope']
    """

    def __init__(
        self,
        source: pd.DataFrame | str | os.PathLike[str] | None = None,
        *,
        email: str | None = None,
        max_rows: int = 50,
    ) -> None:
        self.max_rows = max_rows
        self.df: pd.DataFrame | None = None
        self.problems: pd.DataFrame | None = None
        self.source_name = ""
        self.source_details = ""
        self.encoding_warning: str | None = (
            None  # the file's encoding is a guess: what to check, what to pass
        )

        self.upload = widgets.FileUpload(
            accept=",".join(ACCEPTED_SUFFIXES), multiple=False, description="Upload"
        )
        self.path = widgets.Text(placeholder="path/to/leads.csv", description="File")
        self.load_button = widgets.Button(description="Load", icon="folder-open")
        self.status = widgets.HTML()
        self.email_column = widgets.Dropdown(
            description="Email column", options=[], value=None, style=WIDE_DESCRIPTION
        )

        self.summary = widgets.HTML()
        self.completeness = widgets.HTML()
        self.completeness_chart = widgets.Image(format="png", layout=IMAGE_LAYOUT)
        self.group_column = widgets.Dropdown(description="Leads per", options=[], value=None)
        self.group_chart = widgets.Image(format="png", layout=IMAGE_LAYOUT)
        self.problems_table = widgets.HTML()
        self.show = widgets.ToggleButtons(options=SHOW_OPTIONS, value="all", description="Show")
        self.filter_column = widgets.Dropdown(description="Column", options=[("any column", ANY_COLUMN)])
        # Filtering a big frame on every keystroke would lag: filter on Enter or when the box loses focus.
        self.filter_text = widgets.Text(
            placeholder="contains…", description="Filter", continuous_update=False
        )
        self.table = widgets.HTML()

        self.tabs = widgets.Tab(
            children=[
                widgets.VBox([self.summary, widgets.HBox([self.completeness, self.completeness_chart])]),
                widgets.VBox([self.group_column, self.group_chart]),
                self.problems_table,
                widgets.VBox([self.show, widgets.HBox([self.filter_column, self.filter_text]), self.table]),
            ],
            titles=("Overview", "Leads per value", "Problems", "Rows"),
        )
        super().__init__(
            [
                widgets.HBox([self.upload, self.path, self.load_button]),
                self.status,
                self.email_column,
                self.tabs,
            ]
        )

        self.load_button.on_click(lambda _: self._load_path())
        self.upload.observe(lambda _: self._load_upload(), names="value")
        self._loading = False
        self.email_column.observe(lambda _: self._unless_loading(self._revalidate), names="value")
        self.group_column.observe(lambda _: self._unless_loading(self._draw_groups), names="value")
        for control in (self.show, self.filter_column, self.filter_text):
            control.observe(lambda _: self._unless_loading(self._draw_table), names="value")

        self._email_hint = email
        if source is not None:
            self.load(source)
        else:
            self.status.value = message_html("Choose a file (path or upload) to look at.")

    # -- loading ---------------------------------------------------------------------------------------------

    def load(self, source: pd.DataFrame | str | os.PathLike[str] | bytes, *, name: str | None = None) -> None:
        """Show a new frame, or the leads read from a file (a path, or uploaded bytes with their file name).

        Args:
            source: a DataFrame, a path, or file content as bytes.
            name: the file name when `source` is bytes.

        Raises:
            OSError: no such file, or a directory.
            ValueError: the file cannot be read (an unknown type, duplicate column names, bad bytes).
            ImportError: Parquet or Excel without their library.
        """
        self.encoding_warning = None
        if isinstance(source, pd.DataFrame):
            frame, self.source_name, self.source_details = source, name or "DataFrame", ""
        else:
            with warnings.catch_warnings():
                # Said in the status line, which stays in sight, rather than once in the cell's output.
                warnings.simplefilter("ignore", publitrac.AmbiguousEncodingWarning)
                leads = publitrac.read_leads(source, name=name)
            frame, self.source_name, self.source_details = leads.frame, leads.name, leads.details()
            self.encoding_warning = leads.encoding_warning()
        self.df = frame
        columns = [(str(column), column) for column in frame.columns]
        detected = self._detect_email(frame)
        # Setting options moves a dropdown's value: hold the redraws until every control agrees.
        self._loading = True
        try:
            self.filter_column.options = [("any column", ANY_COLUMN), *columns]
            self.filter_column.value = ANY_COLUMN
            self.email_column.options = columns
            self.email_column.value = detected
            self.group_column.options = columns
            self.group_column.value = self._default_group_column(frame, detected)
        finally:
            self._loading = False
        self._revalidate()

    def _unless_loading(self, redraw: Any) -> None:
        if not self._loading:
            redraw()

    def _load_path(self) -> None:
        path = self.path.value.strip()
        if not path:
            self.status.value = message_html("Type a file path first.", kind="warning")
            return
        try:
            self.load(path)
        except (OSError, ValueError, ImportError) as error:
            self.status.value = message_html(f"Could not read {path}: {error}", kind="error")

    def _load_upload(self) -> None:
        if not self.upload.value:
            return
        upload = self.upload.value[0]
        try:
            self.load(bytes(upload["content"]), name=str(upload["name"]))
        except (OSError, ValueError, ImportError) as error:
            self.status.value = message_html(f"Could not read {upload['name']}: {error}", kind="error")

    def _detect_email(self, frame: pd.DataFrame) -> str | None:
        try:
            return publitrac.map_columns(frame, email=self._email_hint).email
        except publitrac.ConfigurationError as error:
            self.status.value = message_html(str(error), kind="warning")
            return None

    @staticmethod
    def _default_group_column(frame: pd.DataFrame, email: str | None) -> str | None:
        candidates = [column for column in frame.columns if column != email]
        for column in candidates:
            if any(hint in str(column).lower() for hint in _GROUP_HINTS):
                return column
        return candidates[0] if candidates else None

    # -- what the panes show ---------------------------------------------------------------------------------

    def _revalidate(self) -> None:
        frame = self.df
        if frame is None:
            return
        email = self.email_column.value
        if email is None:
            self.problems = None
            self.status.value = message_html(
                f"{self.source_name}: {len(frame)} rows. Pick the email column to check the emails.",
                kind="warning",
            )
        else:
            self.problems = publitrac.validate(frame, email=email)
            details = f" ({self.source_details})" if self.source_details else ""
            read = f"{self.source_name}: {len(frame)} rows, {frame.shape[1]} columns{details}."
            if self.encoding_warning is None:
                self.status.value = message_html(read, kind="ok")
            else:
                self.status.value = message_html(f"{read} Warning: {self.encoding_warning}", kind="warning")
        self._draw_overview()
        self._draw_groups()
        self._draw_problems()
        self._draw_table()

    def completeness_frame(self) -> pd.DataFrame:
        """Per column: the cells filled (blank text counts as missing), the cells missing, the share filled.

        Returns:
            A frame indexed by column with `filled`, `missing` and `complete` (0 to 1), in column order.
        """
        frame = self._frame()
        filled = frame.notna()
        for column in frame.columns:
            values = frame[column]
            if values.dtype == object or isinstance(values.dtype, pd.StringDtype):
                blank = values.astype("string").str.strip().eq("").fillna(False).astype(bool)
                filled[column] = filled[column] & ~blank
        counts = filled.sum()
        return pd.DataFrame(
            {"filled": counts, "missing": len(frame) - counts, "complete": counts / max(len(frame), 1)},
            index=frame.columns,
        )

    def row_positions(self, kind: str) -> np.ndarray:
        """The 0-based positions of the rows of one kind: `invalid` (email errors), `duplicate` (every row of
        each group of rows sharing an email, the first one included), `problems` (any error or warning) or `all`.

        Args:
            kind: one of the `show` toggle's values.

        Returns:
            Sorted positions; for `duplicate`, each group's rows together (in the order of its first row).
        """
        frame = self._frame()
        if kind == "all":
            return np.arange(len(frame))
        problems = self.problems
        if problems is None or problems.empty:
            return np.empty(0, dtype=np.int64)
        on_email = problems["field"].eq("email")
        selected = {
            "invalid": on_email & problems["severity"].eq("error"),
            "duplicate": on_email & problems["severity"].eq("warning"),
            "problems": pd.Series(True, index=problems.index),
        }[kind]
        positions = np.unique(problems.loc[selected, "position"].to_numpy(dtype=np.int64))
        if kind == "duplicate" and len(positions) and self.email_column.value is not None:
            positions = self._duplicate_groups(positions)
        return positions

    def _duplicate_groups(self, later: np.ndarray) -> np.ndarray:
        # Validation warns on the later rows of a shared email; the analyst needs to see the whole group, the
        # row that will be overwritten included. The key is the one the sync uses (trimmed, case-insensitive).
        keys = self._frame()[self.email_column.value].astype("string").str.strip().str.lower()
        shared = keys.iloc[later].dropna().unique()
        members = np.flatnonzero(keys.isin(shared).fillna(False).to_numpy(dtype=bool))
        first_seen = {key: order for order, key in enumerate(keys.iloc[members].drop_duplicates())}
        group = keys.iloc[members].map(first_seen).to_numpy(dtype=np.int64)
        return members[np.lexsort((members, group))]

    @property
    def visible(self) -> pd.DataFrame:
        """The rows the table shows: the `show` toggle's rows whose filter column holds the filter text."""
        return self._frame().iloc[self._visible_positions()]

    def _visible_positions(self) -> np.ndarray:
        positions = self.row_positions(self.show.value)
        text = self.filter_text.value.strip()
        if text:
            frame = self._frame()
            columns = [self.filter_column.value] if self.filter_column.value else list(frame.columns)
            texts = frame.iloc[positions][columns].astype("string")
            hits = texts.apply(lambda values: values.str.contains(text, case=False, regex=False)).fillna(
                False
            )
            positions = positions[hits.any(axis=1).to_numpy(dtype=bool)]
        return positions

    def _frame(self) -> pd.DataFrame:
        if self.df is None:
            raise ValueError("no leads loaded yet: call load() or use the path box or the upload button")
        return self.df

    def _draw_overview(self) -> None:
        completeness = self.completeness_frame()
        invalid = len(self.row_positions("invalid"))
        duplicate = self._later_duplicates()
        frame = self._frame()
        facts = [f"<b>{len(frame)}</b> rows", f"<b>{frame.shape[1]}</b> columns"]
        if self.problems is not None:
            facts += [
                f"<b>{invalid}</b> invalid emails",
                f"<b>{duplicate}</b> rows repeating an earlier row's email (the later row wins)",
            ]
        self.summary.value = " · ".join(facts)
        shown = completeness.assign(complete=(completeness["complete"] * 100).round(1).astype(str) + " %")
        self.completeness.value = frame_html(shown, max_rows=len(shown))
        self.completeness_chart.value = barh_png(
            (completeness["complete"] * 100).sort_values(ascending=False, kind="stable"),
            title="Completeness per column (most complete first)",
            xlabel="% of rows filled",
            xmax=100,
            value_format="{:.0f} %",
        )

    def _later_duplicates(self) -> int:
        problems = self.problems
        if problems is None or problems.empty:
            return 0
        warned = problems["field"].eq("email") & problems["severity"].eq("warning")
        return int(problems.loc[warned, "position"].nunique())

    def _draw_groups(self) -> None:
        column = self.group_column.value
        if self.df is None or column is None:
            self.group_chart.value = b""
            return
        values = self.df[column]
        numbers = numeric_values(values)
        if numbers is not None:
            self.group_chart.value = histogram_png(numbers, title=f"Leads by {column}", xlabel=str(column))
            return
        counts = values.value_counts(dropna=True).head(15)
        self.group_chart.value = barh_png(
            counts, title=f"Leads per {column} (top {len(counts)})", xlabel="leads", value_format="{:,.0f}"
        )

    def _draw_problems(self) -> None:
        problems = self.problems
        if problems is None:
            self.problems_table.value = message_html("Pick the email column first.", kind="warning")
        elif problems.empty:
            self.problems_table.value = message_html("No problem found.", kind="ok")
        else:
            self.problems_table.value = frame_html(problems, max_rows=self.max_rows, index=False)

    def _draw_table(self) -> None:
        if self.df is None:
            return
        positions = self._visible_positions()
        shown_positions = positions[: self.max_rows]
        shown = self.df.iloc[shown_positions]
        if self.problems is not None and not self.problems.empty:
            notes: Any = self.problems.groupby("position")["problem"].agg("; ".join)
            shown = shown.assign(problems=notes.reindex(shown_positions).fillna("").to_numpy())
        header = message_html(f"{len(positions)} of {len(self.df)} rows match.")
        more = "" if len(positions) <= self.max_rows else message_html(f" Showing the first {self.max_rows}.")
        self.table.value = header + more + frame_html(shown, max_rows=self.max_rows)

"""What the widgets share: the file types offered, rendering a frame or a chart, telling an app from a notebook.

Presentation only: nothing here decides what a lead is or how it is sent.
"""

from __future__ import annotations

import html
import io
import json
import os
from collections.abc import Mapping

import numpy as np
import pandas as pd

from ..files._reader import SUFFIXES

#: File types the explorer's upload button offers: every format `publitrac.read_leads` reads.
ACCEPTED_SUFFIXES = tuple(SUFFIXES)


def running_in_voila(environ: Mapping[str, str] | None = None) -> bool:
    """Whether Voilà started this kernel (the notebook is served as an app), not JupyterLab or nbclient.

    Notebooks use it to leave pushing to the buttons when they are served as an app, so that opening the page
    never sends anything by itself.

    Args:
        environ: the environment to look at (defaults to `os.environ`).

    Returns:
        True inside a Voilà kernel.

    Example:
        >>> running_in_voila({"VOILA_KERNEL_ID": "1f2e"}), running_in_voila({})
        (True, False)
    """
    env = os.environ if environ is None else environ
    # Voilà sets VOILA_KERNEL_ID in the kernel before the first cell; SERVER_SOFTWARE comes with a request.
    return bool(env.get("VOILA_KERNEL_ID")) or env.get("SERVER_SOFTWARE", "").startswith("voila")


def frame_html(frame: pd.DataFrame, *, max_rows: int = 50, index: bool = True) -> str:
    """An escaped HTML table of the first `max_rows` rows, with a line saying how many were left out.

    Float columns holding whole numbers only (an id column with gaps) show as whole numbers: `12387`, not
    `12387.0`.
    """
    shown = whole_numbers_as_int(frame.head(max_rows))
    table = shown.to_html(index=index, escape=True, na_rep="", border=0, classes="publitrac-table")
    more = len(frame) - len(shown)
    note = f"<div><i>{more} more row{'s' if more != 1 else ''} not shown</i></div>" if more > 0 else ""
    style = "max-height: 360px; overflow: auto; font-size: 12px; line-height: 1.4"
    return f'<div style="{style}">{table}</div>{note}'


def whole_numbers_as_int(frame: pd.DataFrame) -> pd.DataFrame:
    """`frame` with each float column whose values are all whole numbers (or missing) shown as integers.

    Example:
        >>> whole_numbers_as_int(pd.DataFrame({"id": [12387.0, None]}))["id"].tolist()
        [12387, <NA>]
    """
    converted = {}
    for column in frame.columns:
        values = frame[column]
        if pd.api.types.is_float_dtype(values.dtype):
            filled = values.dropna()
            if len(filled) and bool(np.isfinite(filled).all()) and bool((filled % 1 == 0).all()):
                converted[column] = values.astype("Int64")
    return frame.assign(**{str(k): v for k, v in converted.items()}) if converted else frame


def numeric_values(values: pd.Series, *, min_distinct: int = 16) -> pd.Series | None:
    """The numbers of a column that holds numbers (numeric, or text of which 95% reads as numbers), else None.

    A column with fewer than `min_distinct` different numbers reads better as categories (a 1-5 rating).

    Example:
        >>> numeric_values(pd.Series([str(n) for n in range(20)])).max()
        np.float64(19.0)
    """
    filled = values.dropna()
    if filled.empty or pd.api.types.is_bool_dtype(values.dtype):
        return None
    if pd.api.types.is_numeric_dtype(values.dtype):
        numbers = filled.astype("float64")
    else:
        numbers = (
            pd.to_numeric(filled.astype("string").str.strip(), errors="coerce").dropna().astype("float64")
        )
        if len(numbers) < 0.95 * len(filled):
            return None
    return numbers if numbers.nunique() >= min_distinct else None


#: Charts keep their own size and shrink to a narrow container; they are never stretched past it.
IMAGE_LAYOUT = {"max_width": "100%", "height": "auto", "object_fit": "contain"}


#: For a widget whose description must not be cut short ("Email col…").
WIDE_DESCRIPTION = {"description_width": "initial"}


def json_html(value: object) -> str:
    """Escaped, indented JSON in a compact `<pre>` (the HTML widget's own line height is meant for prose)."""
    text = html.escape(json.dumps(value, indent=2, ensure_ascii=False))
    return f'<pre style="font-size: 12px; line-height: 1.35; margin: 0">{text}</pre>'


def message_html(text: str, *, kind: str = "info") -> str:
    """One escaped line of text, coloured by kind (info, ok, warning, error)."""
    colour = {"ok": "#1b7f3b", "warning": "#9a6700", "error": "#b3261e"}.get(kind, "inherit")
    return f'<span style="color: {colour}">{html.escape(text)}</span>'


def barh_png(
    values: pd.Series,
    *,
    title: str,
    xlabel: str,
    xmax: float | None = None,
    value_format: str | None = None,
) -> bytes:
    """A horizontal bar chart of `values` (index as labels, first value on top), as PNG bytes for an
    `ipywidgets.Image`; `value_format` (e.g. `"{:.0f} %"`) writes each value at the end of its bar.

    Drawn on a bare `Figure` (no pyplot), so it leaves no global figure behind and needs no display.
    """
    from matplotlib.figure import Figure

    labels = [str(label) for label in values.index][::-1]
    numbers = [float(value) for value in values.to_numpy()][::-1]
    figure = Figure(figsize=(6.0, 0.8 + 0.28 * max(len(labels), 1)), dpi=90)
    axes = figure.subplots()
    bars = axes.barh(labels, numbers, color="#4c72b0")
    if value_format is not None:
        # Outside the axes when a bar is full: the tight bounding box makes room for it.
        axes.bar_label(bars, labels=[value_format.format(n) for n in numbers], padding=3, fontsize=7)
    axes.set_title(title, fontsize=10)
    axes.set_xlabel(xlabel, fontsize=9)
    axes.tick_params(labelsize=8)
    if xmax is not None:
        axes.set_xlim(0, xmax)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()


def histogram_png(numbers: pd.Series, *, title: str, xlabel: str, bins: int = 20) -> bytes:
    """A histogram of `numbers`, as PNG bytes for an `ipywidgets.Image` (bare `Figure`, no pyplot)."""
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.0, 3.0), dpi=90)
    axes = figure.subplots()
    axes.hist(numbers.to_numpy(dtype=float), bins=bins, color="#4c72b0", edgecolor="white")
    axes.set_title(title, fontsize=10)
    axes.set_xlabel(xlabel, fontsize=9)
    axes.set_ylabel("leads", fontsize=9)
    axes.tick_params(labelsize=8)
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()

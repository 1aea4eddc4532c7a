"""The mapping editor: a dropdown per column, prefilled by the sync's detection, with a live JSON preview."""

from __future__ import annotations

import html
import json
from collections.abc import Mapping, Sequence
from typing import Any, Literal

import ipywidgets as widgets
import pandas as pd
import traitlets

import publitrac
from publitrac import _spec
from publitrac.lead import _values

from ._common import WIDE_DESCRIPTION, json_html, message_html

#: Dropdown values that are not standard fields; the parentheses keep them apart from any JSON property name.
IGNORE = "(ignore)"
CUSTOM = "(custom)"


class MappingEditor(widgets.VBox):
    """Choose, per column, the standard `leadInfo` field it fills, a custom field, or nothing.

    The dropdowns start from `publitrac.map_columns` (the detection the sync uses) and every change goes back
    through it, so `.mapping` is always a `LeadMapping` the sync accepts as it is (or None, with `.error`
    saying why, while the choice is not valid: two columns on one field, no email column...). The preview
    shows the exact JSON bodies of the first rows, from `publitrac.preview`.

    Args:
        df: the leads.
        email: the email column (detected when None).
        mapping: a LeadMapping to start from, or overrides {column: field} for the detection.
        custom_fields: columns to start as custom fields (a list, {column: name}, or "all").
        preview_rows: how many bodies the preview shows at first.

    Example:
        >>> import pandas as pd
        >>> editor = MappingEditor(pd.DataFrame({"E-mail": ["ana@example.com"], "Job": ["CTO"]}))
        >>> editor.dropdowns["Job"].value = "jobTitle"
        >>> dict(editor.mapping.fields)
        {'E-mail': 'email', 'Job': 'jobTitle'}
    """

    mapping = traitlets.Any(
        None, allow_none=True, help="The LeadMapping chosen, or None while it is not valid."
    )
    error = traitlets.Unicode("", help="Why the current choice is not a valid mapping ('' when it is).")

    def __init__(
        self,
        df: pd.DataFrame,
        *,
        email: str | None = None,
        mapping: publitrac.LeadMapping | Mapping[str, str | None] | None = None,
        custom_fields: Sequence[str] | Mapping[str, str] | Literal["all"] | None = None,
        preview_rows: int = 3,
    ) -> None:
        self.df = df
        fields = list(_spec.lead_info_fields())
        options: list[tuple[str, str]] = [("— ignore —", IGNORE), ("custom field", CUSTOM)]
        options += [(f"leadInfo.{field}", field) for field in fields]

        self.dropdowns: dict[Any, widgets.Dropdown] = {}
        self.custom_names: dict[Any, widgets.Text] = {}
        self.examples: dict[Any, widgets.HTML] = {column: widgets.HTML() for column in df.columns}
        cells: list[widgets.Widget] = [
            widgets.HTML(f"<b>{title}</b>")
            for title in ("column", "sent as", "custom name", "example, as it will be sent")
        ]
        for column in df.columns:
            self.dropdowns[column] = widgets.Dropdown(
                options=options, value=IGNORE, layout={"width": "200px"}
            )
            self.custom_names[column] = widgets.Text(
                value=str(column).strip(), placeholder="custom field name", layout={"width": "180px"}
            )
            cells += [
                widgets.HTML(html.escape(str(column))),
                self.dropdowns[column],
                self.custom_names[column],
                self.examples[column],
            ]
        self.grid = widgets.GridBox(
            cells, layout={"grid_template_columns": "repeat(4, max-content)", "grid_gap": "2px 12px"}
        )
        self.grid.add_class("publitrac-mapping")
        self.message = widgets.HTML()
        self.preview_count = widgets.BoundedIntText(
            value=preview_rows, min=1, max=50, description="Preview rows", style=WIDE_DESCRIPTION
        )
        self.preview = widgets.HTML()
        super().__init__([self.grid, self.message, self.preview_count, self.preview])

        self._start(email=email, mapping=mapping, custom_fields=custom_fields)
        for column in df.columns:
            self.dropdowns[column].observe(lambda _: self.refresh(), names="value")
            self.custom_names[column].observe(lambda _: self.refresh(), names="value")
        self.preview_count.observe(lambda _: self._draw_preview(), names="value")
        self.refresh()

    def _start(
        self,
        *,
        email: str | None,
        mapping: publitrac.LeadMapping | Mapping[str, str | None] | None,
        custom_fields: Sequence[str] | Mapping[str, str] | Literal["all"] | None,
    ) -> None:
        try:
            if isinstance(mapping, publitrac.LeadMapping):
                start = mapping
            else:
                start = publitrac.map_columns(
                    self.df, email=email, mapping=mapping, custom_fields=custom_fields
                )
        except publitrac.ConfigurationError as error:
            self.message.value = message_html(str(error), kind="warning")
            return
        for column, field in start.fields.items():
            self.dropdowns[column].value = field
        self.dropdowns[start.email].value = "email"
        for column, name in start.custom.items():
            self.dropdowns[column].value = CUSTOM
            self.custom_names[column].value = name

    def use_email(self, column: Any) -> None:
        """Send `column` as leadInfo.email (chosen elsewhere: the explorer's Email column box); the column sent as
        the email until now is ignored, not sent as a second email.

        Example:
            >>> editor = MappingEditor(pd.DataFrame({"Mail": ["a@example.com"], "Work mail": ["b@example.com"]}))
            >>> editor.use_email("Work mail")
            >>> editor.mapping.email
            'Work mail'
        """
        if column not in self.dropdowns or self.dropdowns[column].value == "email":
            return
        for dropdown in self.dropdowns.values():
            if dropdown.value == "email":
                dropdown.value = IGNORE
        self.dropdowns[column].value = "email"

    def refresh(self) -> None:
        """Rebuild `.mapping` from the dropdowns (through `publitrac.map_columns`) and redraw the preview."""
        try:
            self.mapping = self._build()
            self.error = ""
        except publitrac.ConfigurationError as error:
            self.mapping, self.error = None, str(error)
        for column, dropdown in self.dropdowns.items():
            self.custom_names[column].disabled = dropdown.value != CUSTOM
            self.examples[column].value = _example_html(self.df[column], dropdown.value)
        self._draw_preview()

    def _build(self) -> publitrac.LeadMapping:
        chosen = {column: dropdown.value for column, dropdown in self.dropdowns.items()}
        emails = [column for column, value in chosen.items() if value == "email"]
        if len(emails) != 1:
            named = ", ".join(repr(str(column)) for column in emails) or "none"
            raise publitrac.ConfigurationError(f"map exactly one column to leadInfo.email (now: {named})")
        overrides = {
            column: (None if value in (IGNORE, CUSTOM) else value)
            for column, value in chosen.items()
            if column != emails[0]
        }
        custom = {
            column: self.custom_names[column].value.strip() or str(column).strip()
            for column, value in chosen.items()
            if value == CUSTOM
        }
        return publitrac.map_columns(
            self.df, email=emails[0], mapping=overrides, custom_fields=custom or None
        )

    def _draw_preview(self) -> None:
        if self.mapping is None:
            self.message.value = message_html(self.error, kind="error")
            self.preview.value = ""
            return
        mapping: publitrac.LeadMapping = self.mapping
        sent = len(mapping.fields) + len(mapping.custom)
        self.message.value = message_html(
            f"{sent} columns sent ({len(mapping.fields)} standard, {len(mapping.custom)} custom), "
            f"{len(mapping.ignored)} ignored.",
            kind="ok",
        )
        bodies = publitrac.preview(self.df, self.preview_count.value, mapping=mapping)
        self.preview.value = json_html(bodies)


def _example_html(values: pd.Series, choice: str) -> str:
    """The column's first value as the body will carry it (JSON: `12387`, `"007"`), or greyed when not sent."""
    filled = values.dropna()
    raw = filled.iloc[0] if len(filled) else None
    if choice == IGNORE or raw is None:
        text = "" if raw is None else _cut(str(raw))
        return f'<span style="color: #9a9a9a">{html.escape(text)}</span>' + (" (not sent)" if text else "")
    types = _values.custom_field_types() if choice == CUSTOM else _values.lead_info_types().get(choice)
    value, ok = _values.convert_value(raw, types or _values.ANY_TYPE)
    if not ok:
        return f'<code>{html.escape(_cut(str(raw)))}</code> <span style="color: #b3261e">(left out: not a value this field takes)</span>'
    return f"<code>{html.escape(_cut(json.dumps(value, ensure_ascii=False)))}</code>"


def _cut(text: str) -> str:
    return text if len(text) <= 40 else text[:39] + "…"

"""What a sync would change, field by field: the bodies about to be sent compared with the ones last accepted.

The ledger keeps the last body Publitrac accepted for each lead (compressed, `ledger._packing`); a dry run with
`dry_run="diff"` (`publitrac sync --dry-run --diff`) compares each row about to be sent with it and gives a
`LeadDiff`: per field, how many leads would change, and for the first rows the old and the new value. The
column guard (`max_changed`) reads the same counts.

A field is named as in the body: `leadInfo.firstName`, `leadCustomField.Company`. A value that appears, changes
or disappears (a blank cell, a column no longer sent) is a change.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

import pandas as pd

__all__ = ["EXAMPLE_ROWS", "LeadDiff", "compare_bodies", "flatten_body"]

EXAMPLE_ROWS: Final = 10
"""Rows whose old and new values a diff shows."""
_ABSENT: Final = object()


def flatten_body(body: Mapping[str, Any]) -> dict[str, Any]:
    """`{"leadInfo": {"email": ...}, ...}` as `{"leadInfo.email": ...}`.

    Example:
        >>> flatten_body({"leadInfo": {"email": "a@b.fr"}, "leadCustomField": {"Plan": "pro"}})
        {'leadInfo.email': 'a@b.fr', 'leadCustomField.Plan': 'pro'}
    """
    flat: dict[str, Any] = {}
    for section, values in body.items():
        if isinstance(values, Mapping):
            for name, value in values.items():
                flat[f"{section}.{name}"] = value
        else:
            flat[section] = values
    return flat


@dataclass
class LeadDiff:
    """What a run would change, per field, among the leads the ledger knows.

    Attributes:
        known: rows to send whose lead's last accepted body the ledger holds (the base of the shares).
        unknown: rows to send that are new to the ledger (or whose body it no longer keeps).
        unchanged: rows the ledger says Publitrac already has as they are.
        changed: `{field: rows whose value of that field would change}`.
        examples: the first rows that change: row (the input's label), email, field, old, new (None: absent).
    """

    known: int = 0
    unknown: int = 0
    unchanged: int = 0
    changed: dict[str, int] = field(default_factory=dict)
    examples: pd.DataFrame = field(
        default_factory=lambda: pd.DataFrame(columns=["row", "email", "field", "old", "new"])
    )

    def add(self, other: LeadDiff) -> LeadDiff:
        """The two diffs as one (a stream's batches); the examples of the first, then of the other, up to
        `EXAMPLE_ROWS` rows."""
        changed = dict(self.changed)
        for name, count in other.changed.items():
            changed[name] = changed.get(name, 0) + count
        rows = self.examples["row"].nunique() if len(self.examples) else 0
        extra = other.examples[
            other.examples["row"].isin(other.examples["row"].unique()[: EXAMPLE_ROWS - rows])
        ]
        examples = self.examples if not len(extra) else pd.concat([self.examples, extra], ignore_index=True)
        return LeadDiff(
            known=self.known + other.known,
            unknown=self.unknown + other.unknown,
            unchanged=self.unchanged + other.unchanged,
            changed=changed,
            examples=examples,
        )

    @property
    def fields(self) -> pd.DataFrame:
        """One row per field that changes: `leads` (how many would change) and `share` (of the known leads, %),
        most changed first."""
        table = pd.DataFrame(
            {"field": list(self.changed), "leads": list(self.changed.values())}, columns=["field", "leads"]
        )
        table["share"] = (100 * table["leads"] / self.known).round(1) if self.known else 0.0
        return table.sort_values(["leads", "field"], ascending=[False, True], kind="stable").set_index(
            "field"
        )

    def lines(self) -> list[str]:
        """The diff as text lines (what `publitrac sync --dry-run --diff` prints)."""
        lines = [
            f"Diff against the ledger: {self.known:,} known leads would be sent, {self.unknown:,} new, "
            f"{self.unchanged:,} unchanged"
        ]
        if not self.changed:
            lines.append("  no field of a known lead would change")
            return lines
        for name, row in self.fields.iterrows():
            lines.append(f"  {name}: {int(row['leads']):,} leads would change ({row['share']:.1f}%)")
        if len(self.examples):
            lines.append("First changes (old -> new):")
            for item in self.examples.itertuples(index=False):
                lines.append(f"  {item.email} {item.field}: {_shown(item.old)} -> {_shown(item.new)}")
        return lines

    def __repr__(self) -> str:
        return "LeadDiff: " + "\n".join(self.lines())


def _shown(value: Any) -> str:
    return "(absent)" if value is None else repr(value)


def compare_bodies(
    pairs: Iterable[tuple[Any, Any, Mapping[str, Any] | None, Mapping[str, Any]]],
    *,
    examples: int = EXAMPLE_ROWS,
) -> tuple[dict[str, int], int, int, pd.DataFrame]:
    """Compare bodies: `(label, email, old body or None, new body)` each.

    Returns:
        `(changes per field, known, unknown, examples)`: a pair without an old body is unknown.

    Example:
        >>> changed, known, unknown, table = compare_bodies(
        ...     [(0, "a@b.fr", {"leadInfo": {"email": "a@b.fr", "jobTitle": "CTO"}},
        ...       {"leadInfo": {"email": "a@b.fr", "jobTitle": "CEO"}}),
        ...      (1, "c@d.fr", None, {"leadInfo": {"email": "c@d.fr"}})])
        >>> changed, known, unknown, table[["field", "old", "new"]].values.tolist()
        ({'leadInfo.jobTitle': 1}, 1, 1, [['leadInfo.jobTitle', 'CTO', 'CEO']])
    """
    changed: dict[str, int] = {}
    known = unknown = 0
    shown: list[tuple[Any, Any, str, Any, Any]] = []
    rows_shown = 0
    for label, email, old, new in pairs:
        if old is None:
            unknown += 1
            continue
        known += 1
        before, after = flatten_body(old), flatten_body(new)
        differing = [
            name
            for name in dict.fromkeys([*before, *after])
            if before.get(name, _ABSENT) != after.get(name, _ABSENT)
            or type(before.get(name)) is not type(after.get(name))
        ]
        for name in differing:
            changed[name] = changed.get(name, 0) + 1
        if differing and rows_shown < examples:
            rows_shown += 1
            shown += [(label, email, name, before.get(name), after.get(name)) for name in differing]
    table = pd.DataFrame(shown, columns=["row", "email", "field", "old", "new"], dtype=object)
    return changed, known, unknown, table

"""Guards before sending: the checks that refuse a run the API could not undo (it is write-only, upsert by email).

- `max_invalid`: more invalid rows than this share (a wrong delimiter, a wrong file): nothing is sent. In memory
  the share is known before sending; a stream decides on its first batch, then stops when the running share
  goes over (the rows already sent stay reported).
- the column guard (`column_refusal`): against the last run to the same destination recorded in the ledger, a
  column mapped then and now missing or empty on every row, or a field whose value changes on more than
  `max_changed` of the leads the ledger knows: nothing is sent, unless `allow_mass_change`.
- `canary`: the first N rows to send go first; when more than `stop_if_failing` of them fail, the rest are not
  sent.

Each refusal is one `RunRefused`, its message naming the setting in each interface's words (`max_invalid=20`
in Python, `--max-invalid 20` on the command line), its numbers in `.figures`.

A share says little about a handful of rows: `max_invalid` and `max_changed` refuse only from `MIN_ROWS` rows
(rows read, or leads the ledger knows). A dry run sends nothing, so it is never refused; the guard's verdict is
in its report (`report.refusal`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Final

import pandas as pd

from .._exceptions import RunRefused
from .._words import Setting

__all__ = ["MIN_ROWS", "canary_refusal", "column_refusal", "invalid_refusal", "percent"]

MIN_ROWS: Final = 20
"""Fewer rows (or known leads) than this: the share guards do not refuse."""


def percent(part: int, whole: int) -> str:
    """`part` of `whole` as a percentage for a message: one decimal.

    Example:
        >>> percent(312, 1000)
        '31.2%'
    """
    return f"{100 * part / whole:.1f}%" if whole else "0.0%"


def _limit(value: float) -> float | int:
    return int(value) if float(value).is_integer() else float(value)


def invalid_refusal(
    invalid: int, rows: int, limit: float | None, *, first_batch: bool = False, sent: int = 0
) -> RunRefused | None:
    """The refusal when more than `limit` percent of `rows` are invalid, else None.

    Args:
        invalid: invalid rows.
        rows: rows checked.
        limit: `max_invalid` (None: no limit).
        first_batch: the figures are a stream's first batch (said in the message).
        sent: rows already sent in a stream (said in the message: they stay reported).

    Example:
        >>> str(invalid_refusal(312, 1000, 20)).split(":")[0]
        '312 of 1,000 rows (31.2%) are invalid, more than max_invalid=20%'
        >>> invalid_refusal(3, 10, 20) is None   # under MIN_ROWS rows
        True
    """
    if limit is None or rows < MIN_ROWS or invalid * 100 <= limit * rows:
        return None
    where = " in the first batch" if first_batch else " so far" if sent else ""
    after = f"the rest not sent ({sent:,} rows sent before stay reported)" if sent else "nothing sent"
    return RunRefused(
        f"{invalid:,} of {rows:,} rows{where} ({percent(invalid, rows)}) are invalid, more than ",
        Setting("max_invalid", value=_limit(limit)),
        f"%: {after}; check the file (its delimiter, its columns, that it is the right one), or allow more with ",
        Setting("max_invalid", named=True),
        setting="max_invalid",
        figures={"invalid": invalid, "rows": rows, "limit": limit, "sent_before": sent},
    )


def canary_refusal(
    failed: int, sent: int, limit: float, *, canary: int, left: int | None
) -> RunRefused | None:
    """The refusal when more than `limit` percent of the `sent` canary rows failed, else None.

    Example:
        >>> str(canary_refusal(4, 10, 20, canary=10, left=90)).split(";")[0]
        'canary: 4 of the first 10 rows sent (40.0%) failed, more than stop_if_failing=20%'
    """
    if not sent or failed * 100 <= limit * sent:
        return None
    return RunRefused(
        f"canary: {failed:,} of the first {sent:,} rows sent ({percent(failed, sent)}) failed, more than ",
        Setting("stop_if_failing", value=_limit(limit)),
        f"%; {'the rest were' if left is None else f'the other {left:,} rows were'} not sent "
        "(see the failed rows' errors; fix and run again)",
        setting="canary",
        figures={"canary": canary, "sent": sent, "failed": failed, "limit": limit, "not_sent": left},
    )


def empty_columns(frame: pd.DataFrame, columns: Sequence[Any]) -> list[Any]:
    """The `columns` of `frame` with no value on any row (missing, or blank text)."""
    empty = []
    for column in columns:
        values = frame[column]
        present = values.notna()
        if values.dtype == object or pd.api.types.is_string_dtype(values.dtype):
            present &= values.astype("string").str.strip().fillna("") != ""
        if not bool(present.any()):
            empty.append(column)
    return empty


def column_refusal(
    frame: pd.DataFrame,
    last_mapping: Mapping[str, str] | None,
    changes: Mapping[str, int],
    known: int,
    limit: float | None,
    *,
    run_id: int | None,
    first_batch: bool = False,
) -> RunRefused | None:
    """The column guard's refusal, or None.

    Args:
        frame: the leads (a stream's first batch).
        last_mapping: `{column: target}` of the last run to this destination (`leadInfo.x` or
            `leadCustomField.y`), None when there is none.
        changes: `{target: leads whose value changes}` among the leads the ledger knows.
        known: leads of this run whose last accepted body the ledger holds.
        limit: `max_changed` (None: no limit on changes; the columns are still checked).
        run_id: the last run's id (named in the message).
        first_batch: the figures are a stream's first batch.
    """
    problems: list[str] = []
    figures: dict[str, Any] = {"last_run": run_id, "known": known, "limit": limit}
    if last_mapping and len(frame):
        missing = [column for column in last_mapping if column not in frame.columns]
        present = [column for column in last_mapping if column in frame.columns]
        empty = empty_columns(frame, present)
        where = "in the first batch" if first_batch else "on every row"
        problems += [f"column {column!r} (sent as {last_mapping[column]}) is missing" for column in missing]
        problems += [
            f"column {column!r} (sent as {last_mapping[column]}) is empty {where}" for column in empty
        ]
        figures["missing_columns"] = missing
        figures["empty_columns"] = empty
    over: dict[str, int] = {}
    if limit is not None and known >= MIN_ROWS:
        over = {name: count for name, count in changes.items() if count * 100 > limit * known}
        problems += [
            f"{name} changes on {count:,} of the {known:,} leads the ledger knows ({percent(count, known)})"
            for name, count in sorted(over.items(), key=lambda item: -item[1])
        ]
    figures["changed_fields"] = over
    if not problems:
        return None
    since = f" (last run {run_id})" if run_id is not None else ""
    parts: list[str | Setting] = [f"compared with what the ledger holds for this destination{since}: "]
    parts.append("; ".join(problems))
    if over:
        assert limit is not None
        parts += [", more than ", Setting("max_changed", value=_limit(limit)), "%"]
    parts += [": nothing sent; if this is what you mean, pass ", Setting("allow_mass_change", value=True)]
    return RunRefused(*parts, setting="max_changed", figures=figures)

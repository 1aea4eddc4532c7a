"""Request bodies built from a DataFrame, converted column by column (`_values`), yielded chunk by chunk.

Bodies carry what `_values.convert_column` makes of each cell (see `_values` for the rules): missing values and
blank text left out, text trimmed, ids sent as the user's data holds them. `leadCustomField` is left out when
empty. Rows should have been validated first (`_validation.find_problems`): a cell that cannot be sent raises.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from itertools import repeat
from typing import Any

import numpy as np
import pandas as pd

from ._mapping import EMAIL_FIELD, LeadMapping, field_plan, map_columns
from ._values import convert_column

__all__ = ["build_bodies", "iter_bodies"]


def iter_bodies(
    df: pd.DataFrame,
    mapping: LeadMapping,
    positions: Sequence[int] | np.ndarray | None = None,
    *,
    chunk_size: int = 2048,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """Yield `(position, body)` for the rows at `positions`, converting `chunk_size` rows at a time.

    Only one chunk of bodies exists at a time, so a million-row frame costs a chunk's memory. Rows should have
    been validated with `find_problems` first: a cell that cannot be sent, or a missing email, raises.

    Args:
        df: the leads.
        mapping: which column goes where (from `map_columns`).
        positions: 0-based row positions, in the order to send them; every row when omitted.
        chunk_size: rows converted together.

    Returns:
        An iterator of `(position, {"leadInfo": {...}, "leadCustomField": {...}})`; `leadCustomField` is
        left out when empty. The bodies are plain JSON-ready dicts.

    Raises:
        ConfigurationError: the mapping names columns the frame does not have.
        IndexError: a position is outside the frame.
        TypeError: positions is a boolean mask.
        ValueError: a row has no email or a value that cannot be sent (while iterating).

    Example:
        >>> df = pd.DataFrame({"Email": [" ana@exemple.fr "], "CRM Lead ID": [12.0], "Plan": ["pro"]})
        >>> next(iter_bodies(df, map_columns(df, custom_fields=["Plan"])))
        (0, {'leadInfo': {'email': 'ana@exemple.fr', 'crmLeadId': 12}, 'leadCustomField': {'Plan': 'pro'}})
    """
    return build_bodies(df, map_columns(df, mapping=mapping), positions, chunk_size=chunk_size)


def build_bodies(
    df: pd.DataFrame,
    mapping: LeadMapping,
    positions: Sequence[int] | np.ndarray | None = None,
    *,
    chunk_size: int = 2048,
) -> Iterator[tuple[int, dict[str, Any]]]:
    """`iter_bodies` with a mapping already checked against `df` (the sync's path: it maps once).

    Example:
        >>> df = pd.DataFrame({"Email": ["ana@exemple.fr"]})
        >>> list(build_bodies(df, map_columns(df)))
        [(0, {'leadInfo': {'email': 'ana@exemple.fr'}})]
    """
    if chunk_size < 1:
        raise ValueError(f"chunk_size must be at least 1, got {chunk_size}")
    n = len(df)
    if positions is None:
        chunks: Iterator[slice | np.ndarray] = (
            slice(start, min(start + chunk_size, n)) for start in range(0, n, chunk_size)
        )
    else:
        given = np.asarray(positions)
        if given.dtype == bool:
            raise TypeError("positions must be row numbers, not a mask: use np.flatnonzero(mask)")
        wanted = given.astype(np.int64).reshape(-1)
        outside = wanted[(wanted < 0) | (wanted >= n)]
        if len(outside):
            raise IndexError(f"positions outside the frame of {n} rows: {outside[:5].tolist()}")
        chunks = (wanted[start : start + chunk_size] for start in range(0, len(wanted), chunk_size))
    plan = [
        (field.custom, field.key, df[field.column], field.types, field.column)
        for field in field_plan(mapping)
    ]
    return _bodies(df, plan, chunks)


def _bodies(
    df: pd.DataFrame,
    plan: list[tuple[bool, str, pd.Series, frozenset[str], Any]],
    chunks: Iterator[slice | np.ndarray],
) -> Iterator[tuple[int, dict[str, Any]]]:
    info_keys = [key for custom, key, *_ in plan if not custom]
    custom_keys = [key for custom, key, *_ in plan if custom]
    for chunk in chunks:
        if (
            not isinstance(chunk, slice)
            and len(chunk)
            and chunk[-1] - chunk[0] + 1 == len(chunk)
            and (len(chunk) == 1 or bool((np.diff(chunk) == 1).all()))
        ):
            chunk = slice(int(chunk[0]), int(chunk[-1]) + 1)  # a run of rows: a view is cheaper than a take
        if isinstance(chunk, slice):
            chunk_positions: Sequence[int] = range(chunk.start, chunk.stop)
        else:
            chunk_positions = chunk.tolist()
        info_values: list[list[Any]] = []
        custom_values: list[list[Any]] = []
        for custom, key, series, types, column in plan:
            converted = convert_column(series.iloc[chunk], types)
            if converted.bad is not None:
                position = chunk_positions[int(np.argmax(converted.bad))]
                raise ValueError(
                    f"row {df.index[position]!r} (position {position}): column {column!r} holds a value that "
                    f"cannot be sent as {key!r}; check rows with find_problems() and send only valid ones"
                )
            assert converted.values is not None
            (custom_values if custom else info_values).append(converted.values)
        custom_rows = zip(*custom_values, strict=True) if custom_keys else repeat(())
        info_rows = zip(*info_values, strict=True)
        for position, info_row, custom_row in zip(chunk_positions, info_rows, custom_rows):
            info = {key: value for key, value in zip(info_keys, info_row) if value is not None}
            if EMAIL_FIELD not in info:
                raise ValueError(
                    f"row {df.index[position]!r} (position {position}) has no email; check rows "
                    "with find_problems() and send only valid ones"
                )
            body: dict[str, Any] = {"leadInfo": info}
            if custom_keys:
                extra = {key: value for key, value in zip(custom_keys, custom_row) if value is not None}
                if extra:
                    body["leadCustomField"] = extra
            yield position, body

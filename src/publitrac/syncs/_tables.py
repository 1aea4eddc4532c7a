"""Tables of other libraries (Polars, Arrow, DuckDB, Arrow streams) for the syncs, `validate` and `preview`.

The conversion is `files._tables`' (any table in, pandas frames out); this module decides, from the run's
mapping, which columns are sent, so that a column that cannot be sent blocks a run only when it would be sent,
and hands the frames to the paths that pandas takes: an eager table to the in-memory path, a lazy one batch by
batch. `publitrac.validate` and `publitrac.preview` are here: a pandas frame goes straight to `lead/`.

A lazy table is validated batch by batch as the streaming sync validates it: rows sharing an email are found
within a batch (the sync sends them in order across batches all the same).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from ..files._tables import DEFAULT_TABLE_BATCH_ROWS, TableInput, is_table, open_table
from ..lead._mapping import LeadMapping, map_columns
from ..lead._preview import preview as preview_frame
from ..lead._validation import check
from ..lead._validation import validate as validate_frame

__all__ = ["open_mapped", "preview", "validate"]

MappingSetting = Mapping[str, str | None] | LeadMapping | None
CustomFieldsSetting = Sequence[str] | Mapping[str, str] | str | None


def open_mapped(
    table: Any,
    *,
    email: str | None,
    mapping: MappingSetting,
    custom_fields: CustomFieldsSetting,
    batch_rows: int = DEFAULT_TABLE_BATCH_ROWS,
) -> tuple[TableInput, LeadMapping]:
    """Open a table and map its columns; refuse a column that is sent and cannot be.

    Args:
        table: a table `files._tables.is_table` recognises.
        email, mapping, custom_fields: as for `publitrac.sync`.
        batch_rows: the most rows in a batch of a lazy table.

    Returns:
        The opened table and the mapping of its columns.

    Raises:
        ConfigurationError: the mapping is wrong, or a sent column has a type that cannot be sent.

    Example:
        >>> import pyarrow as pa
        >>> opened, lead_mapping = open_mapped(
        ...     pa.table({"email": ["ana@exemple.fr"], "tags": [["a"]]}), email=None, mapping=None,
        ...     custom_fields=None,
        ... )
        >>> lead_mapping.ignored, opened.frame(sent=lead_mapping.columns)["tags"].tolist()
        (('tags',), [None])
    """
    opened = open_table(table, batch_rows=batch_rows)
    lead_mapping = map_columns(opened.columns, email=email, mapping=mapping, custom_fields=custom_fields)
    opened.refuse_unsendable(lead_mapping.columns)
    return opened, lead_mapping


def validate(
    df: Any,
    *,
    email: str | None = None,
    mapping: MappingSetting = None,
    custom_fields: CustomFieldsSetting = None,
) -> pd.DataFrame:
    """Map the columns, then list the problems of every row; nothing is sent.

    Args:
        df: the leads: a pandas DataFrame, or a Polars DataFrame or LazyFrame, an Arrow Table or
            RecordBatchReader, a DuckDB relation, or any object with `__arrow_c_stream__` (a lazy one is read
            batch by batch; rows sharing an email are then found within a batch, as the streaming sync does).
        email: the email column; detected from its name when omitted.
        mapping: `{column: leadInfo field}` overrides, or a `LeadMapping`.
        custom_fields: the columns to send as custom fields, a dict of new names, or `"all"`.

    Returns:
        One line per problem: `row` (the index label; a table's rows are numbered from 0), `position`,
        `column`, `field`, `value`, `problem`, `severity`; empty when every row can be sent as is.

    Raises:
        ConfigurationError: the mapping is wrong (see `map_columns`), or a column that would be sent has a type
            that cannot be (Decimal, List, Struct, Binary...).

    Example:
        >>> validate(pd.DataFrame({"E-mail": ["ana@exemple.fr", None]}))["problem"].tolist()
        ['email is missing: a lead cannot be sent without it']
    """
    if not is_table(df):
        return validate_frame(df, email=email, mapping=mapping, custom_fields=custom_fields)
    opened, lead_mapping = open_mapped(df, email=email, mapping=mapping, custom_fields=custom_fields)
    found = []
    start = 0
    for frame in opened.batches(sent=lead_mapping.columns):
        problems = check(frame, lead_mapping).problems
        if len(problems):
            found.append(problems.assign(position=problems["position"] + start))
        start += len(frame)
    if not found:
        return check(pd.DataFrame({column: [] for column in opened.columns}), lead_mapping).problems
    return pd.concat(found, ignore_index=True) if len(found) > 1 else found[0]


def preview(
    df: Any,
    n: int = 5,
    *,
    email: str | None = None,
    mapping: MappingSetting = None,
    custom_fields: CustomFieldsSetting = None,
) -> list[dict[str, Any]]:
    """The first `n` bodies that would be sent: invalid rows are skipped, exactly as a sync skips them.

    Only the head is read and validated, so a preview of a huge frame or a lazy table is quick.

    Args:
        df: the leads: a pandas DataFrame or any table `validate` takes.
        n: how many bodies.
        email: the email column (see `map_columns`).
        mapping: `{column: leadInfo field}` overrides, or a `LeadMapping`.
        custom_fields: the columns to send as custom fields, a dict of new names, or `"all"`.

    Returns:
        Up to `n` JSON-ready bodies.

    Raises:
        ConfigurationError: the mapping is wrong, or a column that would be sent cannot be.

    Example:
        >>> import pyarrow as pa
        >>> preview(pa.table({"Email": ["not an email", "ana@exemple.fr"], "Lead ID": ["007", None]}))
        [{'leadInfo': {'email': 'ana@exemple.fr'}}]
    """
    if not is_table(df):
        return preview_frame(df, n, email=email, mapping=mapping, custom_fields=custom_fields)
    opened, lead_mapping = open_mapped(
        df, email=email, mapping=mapping, custom_fields=custom_fields, batch_rows=max(4 * n, 64)
    )
    bodies: list[dict[str, Any]] = []
    for frame in opened.batches(sent=lead_mapping.columns):
        if len(bodies) >= n:
            break
        bodies.extend(preview_frame(frame, n - len(bodies), mapping=lead_mapping))
    return bodies

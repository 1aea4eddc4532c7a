"""A preview of what a sync would send: the first bodies of the valid rows, above validation and bodies.

`preview` validates the head of the frame in growing windows (`_validation`) and builds the bodies of the rows
that pass (`_bodies`), so that a preview of a huge frame is quick and shows exactly what a sync sends.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from ._bodies import iter_bodies
from ._mapping import LeadMapping, map_columns
from ._validation import find_problems, invalid_positions

__all__ = ["preview"]


def preview(
    df: pd.DataFrame,
    n: int = 5,
    *,
    email: str | None = None,
    mapping: Mapping[str, str | None] | LeadMapping | None = None,
    custom_fields: Sequence[str] | Mapping[str, str] | str | None = None,
) -> list[dict[str, Any]]:
    """The first `n` bodies that would be sent: invalid rows are skipped, exactly as a sync skips them.

    Only the head of the frame is validated (in growing windows), so a preview of a huge frame is quick.

    Args:
        df: the leads.
        n: how many bodies.
        email: the email column (see `map_columns`).
        mapping: `{column: leadInfo field}` overrides, or a `LeadMapping`.
        custom_fields: the columns to send as custom fields, a dict of new names, or `"all"`.

    Returns:
        Up to `n` JSON-ready bodies.

    Raises:
        ConfigurationError: the mapping is wrong (see `map_columns`).

    Example:
        >>> df = pd.DataFrame({"Email": ["not an email", "ana@exemple.fr"], "First Name": [" Ana ", None]})
        >>> preview(df)
        [{'leadInfo': {'email': 'ana@exemple.fr'}}]
    """
    lead_mapping = map_columns(df, email=email, mapping=mapping, custom_fields=custom_fields)
    bodies: list[dict[str, Any]] = []
    start, window = 0, max(4 * n, 64)
    while len(bodies) < n and start < len(df):
        stop = min(len(df), start + window)
        invalid = invalid_positions(find_problems(df.iloc[start:stop], lead_mapping))
        valid = np.setdiff1d(np.arange(start, stop), invalid + start)[: n - len(bodies)]
        bodies.extend(body for _, body in iter_bodies(df, lead_mapping, valid))
        start, window = stop, window * 2
    return bodies

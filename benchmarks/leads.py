"""Generated leads for the benchmarks: a frame as an analyst holds it, and the bodies a hand-written client sends.

Standard columns carry the spec's `leadInfo` names so that every client sends the same body; the two custom
columns go to `leadCustomField`. Values are clean (no gaps), so that every client can send every row as is.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

STANDARD_COLUMNS = ["email", "crmLeadId", "jobTitle", "firstName", "lastName"]
CUSTOM_COLUMNS = ["Company", "Country"]

_FIRST = ["Ada", "Grace", "Alan", "Edsger", "Barbara", "Donald", "Frances", "John", "Margaret", "Ken"]
_LAST = [
    "Lovelace",
    "Hopper",
    "Turing",
    "Dijkstra",
    "Liskov",
    "Knuth",
    "Allen",
    "Backus",
    "Hamilton",
    "Thompson",
]
_TITLES = ["Analyst", "Marketing Manager", "CTO", "Sales Director", "Data Engineer", "Buyer"]
_COMPANIES = ["Acme", "Globex", "Initech", "Umbrella", "Hooli", "Stark Industries", "Wayne Enterprises"]
_COUNTRIES = ["CA", "US", "FR", "DE", "GB", "JP"]


def make_leads(rows: int, *, tag: str, seed: int = 0) -> pd.DataFrame:
    """A frame of `rows` distinct leads whose emails carry `tag`, so that each run pushes new leads.

    Args:
        rows: How many leads.
        tag: A short run identifier put in every email (letters and digits).
        seed: Seed of the random choices of names, titles and companies.

    Returns:
        A frame with the columns `STANDARD_COLUMNS + CUSTOM_COLUMNS`.

    Example:
        >>> make_leads(2, tag="r1")["email"].tolist()
        ['lead0000000.r1@example.com', 'lead0000001.r1@example.com']
    """
    rng = np.random.default_rng(seed)

    def pick(values: list[str]) -> np.ndarray:
        return np.asarray(values, dtype=object)[rng.integers(0, len(values), rows)]

    return pd.DataFrame(
        {
            "email": [f"lead{i:07d}.{tag}@example.com" for i in range(rows)],
            "crmLeadId": np.arange(100_000, 100_000 + rows, dtype="int64"),
            "jobTitle": pick(_TITLES),
            "firstName": pick(_FIRST),
            "lastName": pick(_LAST),
            "Company": pick(_COMPANIES),
            "Country": pick(_COUNTRIES),
        }
    )


def prebuilt_bodies(frame: pd.DataFrame) -> list[dict[str, Any]]:
    """The request bodies a hand-written client prepares before sending, one per row, as JSON-ready dicts.

    Args:
        frame: A frame from `make_leads`.

    Returns:
        `[{"leadInfo": {...}, "leadCustomField": {...}}, ...]` with Python (not numpy) values.

    Example:
        >>> prebuilt_bodies(make_leads(1, tag="r1"))[0]["leadInfo"]["crmLeadId"]
        100000
    """
    standard = frame[STANDARD_COLUMNS].to_dict("records")
    custom = frame[CUSTOM_COLUMNS].to_dict("records")
    return [
        {"leadInfo": info, "leadCustomField": fields} for info, fields in zip(standard, custom, strict=True)
    ]

"""Where a run's rows came from and how it ran, as the ledger keeps it for `publitrac retry`.

The run record keeps the input file's absolute path and its SHA-256 (one extra read of the file when the run
starts: 0.3 to 0.6 s for a million-row CSV of 143 MB, the file being in the page cache after it was read), how it
was read (the delimiter and the encoding, when `input_file` is an `InputFile`), the resolved column mapping and
the settings that decide how rows are sent, and the run it retries. Nothing secret: no API key, no ledger URL.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..lead._mapping import LeadMapping
from ..ledger._records import RunSource, file_sha256
from ._settings import RunSettings

__all__ = ["mapping_from_record", "run_source"]

#: The settings a retry takes from the run it retries (the columns aside, kept as the resolved mapping).
REPLAYED: tuple[str, ...] = ("concurrency", "rate_limit", "max_attempts", "max_retry_time")


def run_source(settings: RunSettings, mapping: LeadMapping | None) -> RunSource:
    """The provenance of a run with these settings and this resolved mapping.

    Example:
        >>> from publitrac import map_columns
        >>> source = run_source(RunSettings(retry_of=3), map_columns(["E-mail", "Company"], custom_fields=["Company"]))
        >>> source.input_path, source.retry_of, source.settings["mapping"]["custom"]
        (None, 3, {'Company': 'Company'})
    """
    recorded: dict[str, Any] = {name: getattr(settings, name) for name in REPLAYED}
    if mapping is not None:
        recorded["mapping"] = mapping_record(mapping)
    reading = {
        name: getattr(settings.input_file, name, None) for name in ("sep", "encoding")
    }  # an `InputFile` says how it was read
    if any(value is not None for value in reading.values()):
        recorded["reading"] = reading
    path = sha = None
    if settings.input_file is not None:
        file = Path(os.fspath(settings.input_file)).expanduser()
        path = str(file.resolve())
        try:
            sha = file_sha256(file)
        except OSError:
            sha = None  # the run goes on; a retry then asks for the file and --allow-changed-input
    return RunSource(input_path=path, input_sha256=sha, settings=recorded, retry_of=settings.retry_of)


def mapping_record(mapping: LeadMapping) -> dict[str, Any]:
    """A resolved mapping as JSON-ready values (`mapping_from_record` reads it back)."""
    return {
        "email": str(mapping.email),
        "fields": {str(column): field for column, field in mapping.fields.items()},
        "custom": {str(column): name for column, name in mapping.custom.items()},
        "ignored": [str(column) for column in mapping.ignored],
    }


def mapping_from_record(record: dict[str, Any]) -> LeadMapping:
    """The mapping a run record keeps.

    Example:
        >>> from publitrac import map_columns
        >>> mapping = map_columns(["E-mail", "Company"], custom_fields=["Company"])
        >>> mapping_from_record(mapping_record(mapping)) == mapping
        True
    """
    return LeadMapping(
        email=record["email"],
        fields=dict(record["fields"]),
        custom=dict(record["custom"]),
        ignored=tuple(record.get("ignored", ())),
    )

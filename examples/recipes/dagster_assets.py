"""A Dagster asset that pushes the leads export every night with the `publitrac sync` command and its JSON
document, and fails when rows were not delivered.

`push_leads` is a plain function: the asset calls it, a test (or a shell) calls it as it is. Dagster is imported
only to declare the asset, so that this module imports without it. The environment holds PUBLITRAC_API_KEY and
PUBLITRAC_BASE_URL (Dagster's EnvVar or your secrets manager can set them) and PUBLITRAC_LEDGER.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from typing import Any

LEADS_FILE = os.environ.get("LEADS_FILE", "/data/export/leads.csv")
RESULTS_FILE = os.environ.get("LEADS_RESULTS", "/data/export/results.csv")


class LeadsNotDelivered(RuntimeError):
    """The run stopped or rows were not delivered; `document` is the command's JSON document."""

    def __init__(self, message: str, document: dict[str, Any]) -> None:
        super().__init__(message)
        self.document = document


def push_leads(
    path: str = LEADS_FILE,
    *,
    results_path: str = RESULTS_FILE,
    max_invalid_share: float = 0.01,
    command: str | None = None,
) -> dict[str, Any]:
    """Run `publitrac sync --output json` on the file; return its JSON document, or raise.

    Args:
        path: the leads file.
        results_path: one line per input row.
        max_invalid_share: the share of invalid rows (never sent) tolerated.
        command: the `publitrac` executable (default: the one on PATH).

    Returns:
        The document (`counts`, `run_id`, `rows_per_s`, ...: docs/reference/json-output.md).

    Raises:
        LeadsNotDelivered: the exit status says the run could not start (2) or was stopped (130, 143), or rows
            failed, were not sent, or too many were invalid.
    """
    executable = command or shutil.which("publitrac") or "publitrac"
    done = subprocess.run(
        [executable, "sync", path, "--results", results_path, "--no-progress", "--output", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    document: dict[str, Any] = json.loads(done.stdout)  # one document, whatever ended the run
    counts = document["counts"]
    if done.returncode not in (0, 1):
        error = document["error"] or {}
        raise LeadsNotDelivered(f"publitrac exited {done.returncode}: {error.get('message')}", document)
    undelivered = counts["failed"] + counts["in_flight"] + counts["not_sent"]
    if undelivered:
        raise LeadsNotDelivered(f"{undelivered:,} rows not delivered; see {results_path}", document)
    if document["rows"] and counts["invalid"] / document["rows"] > max_invalid_share:
        raise LeadsNotDelivered(
            f"{counts['invalid']:,} of {document['rows']:,} rows invalid; see {results_path}", document
        )
    return document


try:
    import dagster as dg
except ImportError:
    dg = None

if dg is not None:

    @dg.asset(description="The leads export, pushed to Publitrac")
    def publitrac_leads() -> dg.MaterializeResult:
        document = push_leads()
        return dg.MaterializeResult(
            metadata={
                "run_id": document["run_id"],
                "rows_per_s": document["rows_per_s"],
                **{f"rows {status}": count for status, count in document["counts"].items()},
            }
        )

    nightly = dg.ScheduleDefinition(
        job=dg.define_asset_job("publitrac_push", selection=[publitrac_leads]), cron_schedule="0 2 * * *"
    )
    defs = dg.Definitions(assets=[publitrac_leads], schedules=[nightly])

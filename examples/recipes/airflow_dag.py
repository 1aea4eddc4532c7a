"""An Airflow DAG that pushes the leads export every night with `publitrac.sync_file`, and fails its task when
rows were not delivered.

`push_leads` is a plain function: Airflow runs it as a @task, a test (or a shell) calls it as it is. Airflow is
imported only to declare the DAG, so that this module imports without it. The worker's environment holds
PUBLITRAC_API_KEY and PUBLITRAC_BASE_URL (an Airflow connection or a secrets backend can set them), and
PUBLITRAC_LEDGER: a PostgreSQL ledger (postgresql://user@host/db, the password from PGPASSWORD) when the tasks run
on several workers.
"""

from __future__ import annotations

import datetime as dt
import os
from typing import Any

import publitrac

LEADS_FILE = os.environ.get("LEADS_FILE", "/data/export/leads.csv")
RESULTS_FILE = os.environ.get("LEADS_RESULTS", "/data/export/results.csv")


class LeadsNotDelivered(RuntimeError):
    """Rows were not delivered: the task fails, and its retry (or tomorrow's run) sends only what is left."""


def push_leads(
    path: str = LEADS_FILE, *, results_path: str = RESULTS_FILE, max_invalid_share: float = 0.01
) -> dict[str, int]:
    """Push the file; return the counts per status, or raise when rows were not delivered.

    Args:
        path: the leads file (any size: it is read in batches).
        results_path: one line per input row, for whoever looks into a failure.
        max_invalid_share: the share of invalid rows (never sent) tolerated before the task fails.

    Returns:
        The rows per status (accepted, unchanged, invalid, failed, in_flight, not_sent) and `run_id`.

    Raises:
        LeadsNotDelivered: rows failed or were not sent, or too many were invalid.
        publitrac.PublitracError: the run could not start or was stopped (a refused key, an unreachable host).
    """
    report = publitrac.sync_file(path, results_path=results_path, progress=False)
    counts: dict[str, Any] = dict(report.counts)
    undelivered = counts["failed"] + counts["in_flight"] + counts["not_sent"]
    if undelivered:
        raise LeadsNotDelivered(f"{undelivered:,} rows not delivered ({counts}); see {results_path}")
    if report.rows and counts["invalid"] / report.rows > max_invalid_share:
        raise LeadsNotDelivered(
            f"{counts['invalid']:,} of {report.rows:,} rows invalid, more than {max_invalid_share:.0%}; "
            f"see {results_path}"
        )
    return {**counts, "run_id": report.run_id}


try:  # Airflow 3, then Airflow 2
    from airflow.sdk import dag, task
except ImportError:
    try:
        from airflow.decorators import dag, task
    except ImportError:
        dag = task = None

if dag is not None and task is not None:

    @dag(schedule="0 2 * * *", start_date=dt.datetime(2026, 1, 1), catchup=False, max_active_runs=1)
    def publitrac_push() -> None:
        # retries: a rerun sends only the rows the ledger does not have (failed, in flight, not sent)
        task(retries=2, retry_delay=dt.timedelta(minutes=10))(push_leads)()

    publitrac_push()

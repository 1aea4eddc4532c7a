"""`--output json`: one JSON document on stdout for `sync`, `validate`, `runs`, `runs show` and `ledger stats`.

A command that writes JSON prints its human text (what was read, the mapping, progress, warnings, problems) on
stderr, and fills a `Document` as it goes; `main` writes the document once, at the end, whatever ended the
command (its exit status, an error that stopped it, Ctrl-C or SIGTERM), so that a scheduler always reads one
document. Its shape is `output_schema.json` (JSON Schema, shipped in the package), documented in
docs/reference/json-output.md. New keys may be added without changing `schema_version` (readers ignore the keys
they do not know); a key removed or changed in meaning raises it.

Nothing secret is written: the destination is the base URL (without any user or query part) and the profile's
name, never the API key or a token; messages are those printed on stderr, which never hold them either.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import signal
from collections.abc import Callable
from importlib import resources
from typing import TYPE_CHECKING, Any, Final, TextIO

if TYPE_CHECKING:
    import pandas as pd

    from ..engine._report import SyncReport
    from ..files._batches import LeadBatches
    from ..files._reader import LeadFile
    from ..lead._mapping import LeadMapping
    from ..ledger._records import LedgerStats, RunRecord
    from ..syncs._stream import StreamReport

__all__ = [
    "SCHEMA_VERSION",
    "SHOWN",
    "Document",
    "add_output_argument",
    "document_of",
    "human_out",
    "load_schema",
    "run_record",
]

#: The version of the documents' shape (`output_schema.json`).
SCHEMA_VERSION: Final = 1
#: How many problems and failed rows a document lists (their totals are given too).
SHOWN: Final = 20
_STATUSES: Final = ("accepted", "unchanged", "invalid", "failed", "in_flight", "not_sent")
_LINE: Final = re.compile(r"line (\d+)")


def add_output_argument(parser: argparse.ArgumentParser, command: str, *, suppress: bool = False) -> None:
    """Add `--output text|json` to a command whose JSON document `main` writes.

    Args:
        parser: the command's parser.
        command: the command as the document names it (`"runs show"`).
        suppress: leave the option unset when absent, so that a subcommand's parser does not overwrite the
            value its parent parsed (`publitrac runs --output json show 3`).

    Example:
        >>> parser = argparse.ArgumentParser(); add_output_argument(parser, "sync")
        >>> parser.parse_args(["--output", "json"]).output
        'json'
    """
    parser.add_argument(
        "--output",
        choices=("text", "json"),
        default=argparse.SUPPRESS if suppress else "text",
        help="text (default), or json: one JSON document on stdout at the end (its schema: "
        "publitrac/cli/output_schema.json), the human text on stderr",
    )
    parser.set_defaults(document_command=command)


def wants_json(args: argparse.Namespace) -> bool:
    """Whether the command was asked for a JSON document (`--output json` on a command that has one)."""
    return getattr(args, "output", "text") == "json" and hasattr(args, "document_command")


def human_out(args: argparse.Namespace, out: TextIO | None) -> TextIO:
    """Where the human text goes: `out` when given, else stdout, or stderr when stdout carries the JSON."""
    import sys

    if out is not None:
        return out
    return sys.stderr if wants_json(args) else sys.stdout


def document_of(args: argparse.Namespace) -> Document:
    """The command's document (made on first use, kept on `args`; `main` writes it when JSON was asked for)."""
    document = getattr(args, "document", None)
    if not isinstance(document, Document):
        document = Document(getattr(args, "document_command", None) or str(getattr(args, "command", "")))
        if getattr(args, "file", None) is not None:
            document.start_run(args)
        args.document = document
    return document


def load_schema() -> dict[str, Any]:
    """The JSON Schema of the documents (`output_schema.json`).

    Example:
        >>> load_schema()["properties"]["schema_version"]["const"]
        1
    """
    text = resources.files(__package__).joinpath("output_schema.json").read_text(encoding="utf-8")
    schema: dict[str, Any] = json.loads(text)
    return schema


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def _iso(moment: dt.datetime | None) -> str | None:
    if moment is None:
        return None
    return moment.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _plain(value: Any) -> Any:
    """A JSON value for a cell: numpy scalars as Python's, missing values (NaN, NA) as None."""
    import pandas as pd

    if value is None:
        return None
    try:
        if pd.isna(value):
            return None
    except (TypeError, ValueError):
        pass
    item = getattr(value, "item", None)
    return item() if callable(item) else value


def _line(where: str | None) -> int | None:
    match = _LINE.fullmatch(where or "")
    return int(match[1]) if match else None


def safe_base_url(base_url: str) -> str:
    """The base URL as a document shows it: scheme, host, port and path only (no user, password or query).

    Example:
        >>> safe_base_url("https://user:secret@api.example.com:8443/v2?token=x")
        'https://api.example.com:8443/v2'
    """
    import httpx

    url = httpx.URL(base_url)
    port = f":{url.port}" if url.port is not None else ""
    return f"{url.scheme}://{url.host}{port}{url.path}".rstrip("/")


class Document:
    """The JSON document of one command, filled as the command goes, written once by `main`.

    Args:
        command: the command as the document names it (`sync`, `validate`, `runs`, `runs show`, `ledger stats`).

    Example:
        >>> document = Document("runs")
        >>> document.fields["runs"] = []
        >>> sorted(json.loads(document.render(0))) == sorted(
        ...     ["schema_version", "command", "exit_code", "error", "started", "finished", "duration_s", "runs"])
        True
    """

    def __init__(self, command: str) -> None:
        self.command = command
        self.started = _utc_now()
        self.fields: dict[str, Any] = {}
        self.error: dict[str, str] | None = None
        self.locate: Callable[[int], str] | None = None
        self._rate_seconds: float | None = None

    # -- sync and validate ---------------------------------------------------------------------------------

    def start_run(self, args: argparse.Namespace) -> None:
        """Every key of a sync's or a validation's document, before anything is known: a command stopped at
        any point still writes all of them."""
        results = getattr(args, "results", None)
        self.fields.update(
            {
                "run_id": None,
                "ledger": None,
                "destination": None,
                "file": {
                    "path": str(args.file),
                    "format": None,
                    "encoding": None,
                    "encoding_label": None,
                    "encoding_confidence": None,
                    "encoding_ambiguous": None,
                    "delimiter": None,
                    "streamed": None,
                    "batch_rows": None,
                },
                "mapping": None,
                "rows": 0,
                "counts": dict.fromkeys(_STATUSES, 0),
                "rows_per_s": None,
                "dry_run": self.command == "validate" or bool(getattr(args, "dry_run", False)),
                "interrupted": False,
                "signal": None,
                "results_file": None if results is None else str(results),
                "results_complete": None,
                "problems": {"total": 0, "invalid_rows": 0, "warnings": 0, "shown": []},
                "failures": {"total": 0, "shown": []},
            }
        )

    def record_file(self, leads: LeadFile | LeadBatches, *, streamed: bool, batch_rows: int | None) -> None:
        """What was read and how (the encoding and delimiter detected or given)."""
        from ..files._encoding import encoding_label

        self.fields["file"].update(
            {
                "format": leads.format,
                "encoding": leads.encoding,
                "encoding_label": None if leads.encoding is None else encoding_label(leads.encoding),
                "encoding_confidence": leads.encoding_confidence,
                "encoding_ambiguous": leads.encoding_ambiguous,
                "delimiter": leads.delimiter,
                "streamed": streamed,
                "batch_rows": batch_rows,
            }
        )
        locate = getattr(leads, "locate", None)
        if not streamed and callable(locate):
            self.locate = locate

    def record_mapping(self, mapping: LeadMapping) -> None:
        """Where each column goes: `fields` (column -> leadInfo field), `custom` (column -> custom field),
        `not_sent` (the columns left out)."""
        self.fields["mapping"] = {
            "email": str(mapping.email),
            "fields": {str(column): field for column, field in mapping.fields.items()},
            "custom": {str(column): name for column, name in mapping.custom.items()},
            "not_sent": [str(column) for column in mapping.ignored],
        }

    def record_destination(self, client: Any, *, sandbox: bool) -> None:
        """Where the leads go: the base URL and the profile's name (never the key nor a token)."""
        if client is None:
            return
        self.fields["destination"] = {
            "base_url": safe_base_url(client.base_url),
            "profile": client.profile,
            "sandbox": sandbox,
        }

    def record_report(self, report: SyncReport | StreamReport) -> None:
        """The counts, the run, the first problems and failed rows of a sync's report (partial after a stop)."""
        from ..engine._report import SyncReport

        counts = report.counts
        self.fields["counts"] = {name: int(counts.get(name, 0)) for name in _STATUSES}
        self.fields["rows"] = len(report)
        self.fields["run_id"] = report.run_id
        self.fields["ledger"] = report.ledger
        self.fields["interrupted"] = bool(self.fields["interrupted"] or report.interrupted)
        seconds = report.elapsed
        sent = counts["accepted"] + counts["failed"]
        self.fields["rows_per_s"] = round(sent / seconds, 1) if sent and seconds > 0 else None
        if isinstance(report, SyncReport):
            self.record_problems(report.problems, total=len(report.problems))
            results = report.results
            emails, errors = results["email"], results["error"]
            failed = (results["status"] == "failed").to_numpy(dtype=bool).nonzero()[0][:SHOWN].tolist()
            self.fields["failures"] = {
                "total": int(counts["failed"]),
                "shown": [
                    self._row(position, email=emails.iloc[position], error=errors.iloc[position])
                    for position in failed
                ],
            }
        else:
            self.record_problems(report.problems, total=report.problem_count)
            self.fields["failures"] = {
                "total": int(counts["failed"]),
                "shown": [
                    self._row(position, email=email, error=error)
                    for position, email, error in report.failures[:SHOWN]
                ],
            }
            self.fields["results_complete"] = (
                report.results_complete if report.results_path is not None else None
            )

    def record_problems(self, problems: pd.DataFrame, *, total: int) -> None:
        """The first validation problems (in the command line's words) and how many there are."""
        from .._words import CLI
        from ..lead._validation import problems_in_words

        summary: dict[str, Any] = {"total": int(total), "invalid_rows": 0, "warnings": 0, "shown": []}
        if not problems.empty:
            errors = problems["severity"] == "error"
            summary["invalid_rows"] = int(problems.loc[errors, "position"].nunique())
            summary["warnings"] = int((~errors).sum())
            shown = problems.head(SHOWN)
            texts = problems_in_words(shown, CLI, locate=self.locate).tolist()
            summary["shown"] = [
                self._row(
                    int(position),
                    column=None if _plain(column) is None else str(column),
                    severity=str(severity),
                    problem=str(text),
                )
                for position, column, severity, text in zip(
                    shown["position"].tolist(),
                    shown["column"].tolist(),
                    shown["severity"].tolist(),
                    texts,
                    strict=True,
                )
            ]
        self.fields["problems"] = summary

    def _row(self, position: int, **values: Any) -> dict[str, Any]:
        where = self.locate(position) if self.locate is not None else None
        return {
            "row": int(position),
            "line": _line(where),
            "location": where or f"row {position}",
            **{name: _plain(value) for name, value in values.items()},
        }

    def stopped_by(self, signum: int) -> None:
        """The run was stopped by a signal (SIGINT: Ctrl-C, SIGTERM)."""
        name = signal.Signals(signum).name
        self.fields["interrupted"] = True
        self.fields["signal"] = name
        if self.error is None:
            self.error = {
                "type": "SyncInterrupted",
                "message": f"interrupted by {name}: the run was stopped",
            }

    def failed(self, error: BaseException, message: str) -> None:
        """An error stopped the command; `message` is the one printed on stderr (the command line's words)."""
        self.error = {"type": type(error).__name__, "message": message}

    # -- the document --------------------------------------------------------------------------------------

    def render(self, exit_code: int) -> str:
        """The document as JSON text (one line per key, indented), with the exit status it ends with."""
        finished = _utc_now()
        document: dict[str, Any] = {
            "schema_version": SCHEMA_VERSION,
            "command": self.command,
            "exit_code": int(exit_code),
            "error": self.error,
            "started": _iso(self.started),
            "finished": _iso(finished),
            "duration_s": round((finished - self.started).total_seconds(), 3),
            **self.fields,
        }
        return json.dumps(document, indent=2, ensure_ascii=False, default=str)


def run_record(run: RunRecord) -> dict[str, Any]:
    """A run of the ledger as a document shows it: the fields `publitrac runs show` prints, the counts by
    status in `counts`, times in ISO 8601 UTC, `duration_s`; keys a newer ledger record adds come through.

    Example:
        >>> from publitrac.ledger._records import RunRecord
        >>> started = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.timezone.utc)
        >>> record = run_record(RunRecord(3, "http://127.0.0.1:8765/v2 (key 1f0c9a2b)", "leads.csv", 2, started,
        ...                               started + dt.timedelta(seconds=1.5), {"accepted": 2}))
        >>> record["counts"]["accepted"], record["duration_s"], record["started"]
        (2, 1.5, '2026-12-07T02:00:00.000Z')
    """
    record = run.as_dict()
    rows = record.get("rows", run.rows)  # a streamed run's record keeps its rows in its counts
    for name in _STATUSES:
        record.pop(name, None)
    record.update(
        {
            "rows": rows,
            "started": _iso(run.started_at),
            "finished": _iso(run.finished_at),
            "duration_s": None
            if run.finished_at is None
            else round((run.finished_at - run.started_at).total_seconds(), 3),
            "counts": {name: int(run.counts.get(name, 0)) for name in _STATUSES},
        }
    )
    return {name: _plain(value) for name, value in record.items()}


def stats_record(stats: LedgerStats) -> dict[str, Any]:
    """`publitrac ledger stats` as a document shows it."""
    return {
        "ledger": stats.location,
        "destination": stats.destination,
        "leads": stats.leads,
        "runs": stats.runs,
        "first_accepted": _iso(stats.first_accepted),
        "last_accepted": _iso(stats.last_accepted),
    }

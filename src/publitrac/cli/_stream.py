"""`publitrac sync FILE` and `publitrac validate FILE` on files too big to hold: read, checked and sent in batches.

The command line streams a CSV (or other delimited text), JSON Lines or Parquet file when it is larger than
`STREAM_FROM_BYTES`, or always with `--batch-rows N`; smaller files take the in-memory path of `cli`, whose
output is the same but for the row counts printed before the run (a stream does not know them yet). The results
file (`--results`) is written as the run goes, one line per input row in input order, so that a run that is
stopped (Ctrl-C, SIGTERM) or crashes leaves the lines of the rows it finished; a stopped run then lists the rows it
never read as `not_sent` (only their email column is kept; a second Ctrl-C or SIGTERM stops that listing at once).
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from .._words import CLI

if TYPE_CHECKING:
    from ._common import StopSignal
    from ..files._batches import LeadBatches
    from ..syncs._stream import StreamReport
    from ..syncs._settings import ColumnOptions

STREAM_FROM_BYTES = 8 << 20
"""Files larger than this are streamed by the command line (about 150,000 rows of a typical CSV)."""
_SHOWN = 10


def wants_stream(args: argparse.Namespace) -> bool:
    """Whether FILE is to be streamed: `--batch-rows` given, or a streamable file over `STREAM_FROM_BYTES`."""
    from ..files._batches import STREAMED
    from ..files._reader import SUFFIXES

    path: Path = args.file
    kind = SUFFIXES.get(path.suffix.lower(), "text" if not path.suffix else None)
    if kind is None or (kind not in STREAMED and kind != "json"):
        return False
    if getattr(args, "batch_rows", None) is not None:
        return True
    try:
        return path.is_file() and path.stat().st_size > STREAM_FROM_BYTES and kind in STREAMED
    except OSError:
        return False


def _open(args: argparse.Namespace, out: TextIO) -> LeadBatches:
    from ..files._batches import DEFAULT_BATCH_ROWS, read_batches
    from ..files._reader import AmbiguousEncodingWarning, LeadFileError
    from ._common import UsageError

    try:
        with warnings.catch_warnings():
            warnings.simplefilter(
                "ignore", AmbiguousEncodingWarning
            )  # said below, in the command line's words
            batches = read_batches(
                args.file,
                batch_rows=args.batch_rows or DEFAULT_BATCH_ROWS,
                sep=args.sep,
                encoding=args.encoding,
            )
    except LeadFileError as exc:
        raise UsageError(exc.in_words(CLI)) from exc
    except (OSError, ImportError, ValueError) as exc:
        raise UsageError(str(exc)) from exc
    from ._output import document_of

    document_of(args).record_file(batches, streamed=True, batch_rows=batches.batch_rows)
    how = "in batches" if batches.streamed else "whole (it cannot be read in pieces), then in batches"
    print(f"Reading {batches.name} ({batches.details()}) {how} of {batches.batch_rows:,} rows", file=out)
    warning = batches.encoding_warning(CLI)
    if warning is not None:
        print(f"Warning: {warning}", file=out)
    return batches


def _file_errors(batches: Iterator[Any]) -> Iterator[Any]:
    """The batches, a file problem found part way turned into a usage error (exit 2) in the CLI's words."""
    from ..files._reader import LeadFileError
    from ._common import UsageError

    try:
        yield from batches
    except LeadFileError as exc:
        raise UsageError(exc.in_words(CLI)) from exc


def _first(
    args: argparse.Namespace, batches: LeadBatches, out: TextIO, options: ColumnOptions
) -> tuple[Iterator[Any], Any]:
    """Peek at the first batch to map the columns (printed before anything is sent)."""
    import publitrac

    from ._common import UsageError, describe_mapping
    from ._output import document_of

    stream = _file_errors(iter(batches))
    first = next(stream, None)
    if first is None:
        raise UsageError(f"{batches.name} has no rows")
    mapping = publitrac.map_columns(first, **options)
    document_of(args).record_mapping(mapping)
    for line in describe_mapping(mapping):
        print(line, file=out)
    return itertools.chain([first], stream), mapping


def _print_problems(report: StreamReport, out: TextIO) -> None:
    problems = report.problems
    if problems.empty:
        return
    for title, severity in (("Invalid rows (not sent)", "error"), ("Warnings (rows sent anyway)", "warning")):
        table = problems[problems["severity"] == severity]
        if table.empty:
            continue
        print(f"{title}:", file=out)
        shown = table.head(_SHOWN)
        for position, column, problem in zip(
            shown["position"].tolist(), shown["column"].tolist(), shown["problem"].tolist(), strict=True
        ):
            print(f"  row {position} ({column}): {problem}", file=out)
    if report.problem_count > _SHOWN:
        print(f"  ({report.problem_count:,} problems in all; the results file has every row)", file=out)


@contextlib.contextmanager
def _progress_lines(report: StreamReport, interval: float, stream: TextIO) -> Iterator[None]:
    stopped = threading.Event()

    def watch() -> None:
        while not stopped.wait(interval):
            failed = f", {report.failed_so_far:,} failed" if report.failed_so_far else ""
            print(
                f"publitrac sync: {report.answered:,} rows answered, {report.rows:,} read{failed}",
                file=stream,
                flush=True,
            )

    watcher = threading.Thread(target=watch, name="publitrac-progress", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stopped.set()
        watcher.join()


def run_validate(args: argparse.Namespace, out: TextIO) -> int:
    """`publitrac validate FILE`, streamed: the counts and the first problems; exit 1 when rows are invalid."""
    from ..syncs._stream import sync_stream

    batches = _open(args, out)
    from ._common import mapping_options

    from ._output import document_of

    stream, mapping = _first(args, batches, out, mapping_options(args))
    report = sync_stream(stream, None, mapping=mapping, dry_run=True, ledger=False)
    document_of(args).record_report(report)
    invalid = report.counts["invalid"]
    print(
        f"{args.file}: {report.rows:,} rows, {report.rows - invalid:,} valid, {invalid:,} invalid",
        file=out,
    )
    _print_problems(report, out)
    if report.batches > 1:
        print(
            f"Duplicate emails are looked for within each batch of {batches.batch_rows:,} rows; across batches a "
            "sync still sends the rows of one email in file order, the later winning.",
            file=out,
        )
    return 1 if invalid else 0


def run_sync(args: argparse.Namespace, out: TextIO, *, client: Any, stop: StopSignal) -> int:
    """`publitrac sync FILE`, streamed; the connection (or None for a dry run) is made by the caller; `stop`
    says which signal stopped the run (exit status 130 for SIGINT, 143 for SIGTERM)."""
    import signal

    import publitrac

    from ..syncs._stream import StreamReport, sync_stream
    from ..files._reader import InputFile
    from ._common import PROGRESS_EVERY, mapping_options, sync_options
    from ._output import document_of

    document = document_of(args)
    batches = _open(args, out)
    stream, mapping = _first(args, batches, out, mapping_options(args))
    options = sync_options(args)
    # the record keeps how the file was read (what was detected, or the flags): a retry reads it so again
    options["input_file"] = InputFile(args.file, sep=batches.delimiter, encoding=batches.encoding)
    report = StreamReport(
        dry_run=args.dry_run,
        results_path=None if args.results is None else str(args.results),
        source=batches.name,
    )
    lines = not (args.no_progress or options["progress"] or args.dry_run)
    interrupted = False
    try:
        with _progress_lines(report, PROGRESS_EVERY, sys.stderr) if lines else contextlib.nullcontext():
            sync_stream(
                stream,
                client,
                mapping=mapping,
                results_path=args.results,
                report=report,
                list_unread=True,
                announce=lambda line: print(f"publitrac: {line}", file=sys.stderr, flush=True),
                **options,
            )
    except publitrac.SyncInterrupted:
        interrupted = True
        print("publitrac: interrupted: the run was stopped", file=sys.stderr)
        document.stopped_by(stop.signum or signal.SIGINT)
    except publitrac.PublitracError as exc:
        message = exc.in_words(CLI)
        print(f"publitrac: error: {message}", file=sys.stderr)
        document.failed(exc, message)
        document.record_report(report)
        _summary(report, args, out)
        return 2
    document.record_report(report)
    _summary(report, args, out)
    if interrupted:
        return stop.exit_status
    if args.dry_run:
        return 1 if report.counts["invalid"] else 0
    return 0 if report.ok else 1


def _summary(report: StreamReport, args: argparse.Namespace, out: TextIO) -> None:
    from ._common import print_guards

    print(report.describe(), file=out)
    if report.run_id is not None:
        print(f"Run {report.run_id} recorded in the ledger {report.ledger}", file=out)
    print_guards(report, args, out)
    if report.interrupted:
        read = report.rows - report.not_read
        after = "the rows after them were not read (not sent)"
        if report.not_read:
            after = f"the {report.not_read:,} rows after them were not read, and are listed as not_sent"
        print(f"Stopped after reading {read:,} rows: {after}", file=out)
        if args.results is not None and not report.results_complete:
            print(
                f"The results file stops at row {report.rows - 1:,}: the listing of the rows not read was "
                "stopped or could not go on, so the rows after it are not in the file",
                file=out,
            )
    _print_problems(report, out)
    if report.failures:
        print("Failed rows:", file=out)
        for position, email, error in report.failures[:_SHOWN]:
            print(f"  row {position} ({email}): {error}", file=out)
        if report.counts["failed"] > _SHOWN:
            print(f"  ... and {report.counts['failed'] - _SHOWN:,} more", file=out)
    if args.results is not None:
        print(f"Results written to {args.results} as the run went (one line per input row)", file=out)

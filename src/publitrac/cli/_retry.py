"""`publitrac retry RESULTS.csv [FILE]`: send again the rows a run left failed, in flight or not sent.

    publitrac sync leads.csv --results results.csv        # some rows fail (exit 1)
    publitrac retry results.csv                           # those rows (and their email groups) again

The results file names its run (`run_id`); the run's record in the ledger names the input file (its absolute
path and SHA-256), the resolved mapping and the settings the run had, and the destination it sent to. The
retry reads the same rows again from that file (or from FILE, refused when its SHA-256 differs from the
record's unless `--allow-changed-input`), with the same mapping and settings (or the flags given now), into the
same destination (refused when the connection's differs), and sends exactly the rows whose status was
`failed`, `in_flight` or `not_sent`, with every valid row sharing an email with one of them, in row order (the
later row still wins). It writes a results file for the retried rows, numbered as in the original file
(default: next to the old one, `results.retry-<run>.csv`), and records a new run linked to the old one
(`retry_of`).

Exit statuses as `publitrac sync`: 0 every retried row accepted, 1 some still not, 2 usage, file,
configuration or authentication errors (nothing sent).
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import numpy as np
import pandas as pd

from ._common import (
    StopSignal,
    UsageError,
    add_mapping_arguments,
    mapping_options,
    positive_float,
    positive_int,
)

if TYPE_CHECKING:
    from ..engine._report import SyncReport
    from ..ledger._records import RunRecord
    from ..ledger._store import Ledger

__all__ = ["add_command", "run_retry"]

EXIT_OK, EXIT_ROWS, EXIT_USAGE = 0, 1, 2
RETRIED: tuple[str, ...] = ("failed", "in_flight", "not_sent")
_SHOWN = 10
_OWN_SETTINGS: tuple[str, ...] = ("concurrency", "rate_limit", "max_attempts", "max_retry_time")


def add_command(
    commands: argparse._SubParsersAction[argparse.ArgumentParser],
    *,
    guard: Callable[[], contextlib.AbstractContextManager[StopSignal]] = lambda: contextlib.nullcontext(
        StopSignal()
    ),
    check_results: Callable[[Path, Path], None] | None = None,
) -> None:
    """Add `retry` to the `publitrac` command line.

    Args:
        commands: the subparsers of the main parser.
        guard: what `publitrac sync` runs in (SIGTERM stopping the run as Ctrl-C does), handed down by the
            parser's builder so that this module does not import it back.
        check_results: `publitrac sync`'s check of a `--results` path before anything is sent.

    Example:
        >>> parser = argparse.ArgumentParser(prog="publitrac"); add_command(parser.add_subparsers())
        >>> parser.parse_args(["retry", "results.csv"]).concurrency is None    # None: the run's own setting
        True
    """
    from ._profiles import add_profile_argument

    retry = commands.add_parser(
        "retry",
        help="send again the rows a run left failed, in flight or not sent (from its results file)",
        description="Send again the rows of RESULTS whose status was failed, in_flight or not_sent, with the "
        "rows sharing their email, read from the run's input file (named in the ledger, or FILE) with the "
        "run's mapping and settings, to the run's destination. The API key comes from PUBLITRAC_API_KEY or "
        "the profile.",
        epilog="Exit status: 0 every retried row accepted; 1 some rows failed or not sent again; 2 usage, file, "
        "configuration or authentication error (nothing sent); 130 stopped by Ctrl-C, 143 by SIGTERM (the "
        "summary and the results file are still written).",
    )
    retry.add_argument("results_file", type=Path, metavar="RESULTS", help="the results file of the run")
    retry.add_argument(
        "file",
        type=Path,
        nargs="?",
        metavar="FILE",
        help="the input file (default: the one the run's record names; its SHA-256 must match the record's)",
    )
    retry.add_argument(
        "--allow-changed-input",
        action="store_true",
        help="read the rows from the input file even when its SHA-256 differs from the one the run recorded",
    )
    retry.add_argument(
        "--results",
        type=Path,
        metavar="OUT.csv",
        help="where to write the retried rows' results (default: RESULTS.retry-<run>.csv next to RESULTS)",
    )
    retry.add_argument(
        "--base-url", metavar="URL", help="the API's base URL, ending in /v2 (default: PUBLITRAC_BASE_URL)"
    )
    add_profile_argument(retry)
    retry.add_argument(
        "--ledger",
        metavar="PATH|URL",
        help="the ledger that recorded the run (default: PUBLITRAC_LEDGER, else the one in your user data "
        "directory); the retry is recorded there too",
    )
    retry.add_argument(
        "--sep",
        metavar="CHAR",
        help="the delimiter of a text file (default: as the run read it, else detected)",
    )
    retry.add_argument(
        "--encoding",
        metavar="CODEC",
        help="the encoding of a text file (default: as the run read it, else detected)",
    )
    retry.add_argument(
        "--batch-rows",
        type=positive_int,
        metavar="N",
        help="read the input file N rows at a time (files over 8 MB are read in batches anyway); only the "
        "rows to retry are kept",
    )
    add_mapping_arguments(retry)
    retry.add_argument("--concurrency", type=positive_int, metavar="N", help="requests at once (the run's)")
    retry.add_argument(
        "--rate-limit", type=positive_float, metavar="R", help="at most R requests per second (the run's)"
    )
    retry.add_argument(
        "--max-attempts",
        type=positive_int,
        metavar="N",
        help="attempts per row for transient errors (the run's)",
    )
    retry.add_argument(
        "--max-retry-time",
        type=positive_float,
        metavar="S",
        help="seconds a row may spend retrying (the run's)",
    )
    retry.add_argument("--timeout", type=positive_float, metavar="S", help="seconds to wait for each answer")
    retry.add_argument(
        "--allow-insecure-http",
        action="store_true",
        help="allow plain http to a host other than this machine (the API key would travel in clear)",
    )
    retry.add_argument("--dry-run", action="store_true", help="say which rows would be sent; send nothing")
    retry.add_argument("--no-progress", action="store_true", help="no progress bar or lines")
    retry.set_defaults(run=functools.partial(run_retry, guard=guard, check_results=check_results))


def run_retry(
    args: argparse.Namespace,
    out: TextIO | None = None,
    *,
    guard: Callable[[], contextlib.AbstractContextManager[StopSignal]] = lambda: contextlib.nullcontext(
        StopSignal()
    ),
    check_results: Callable[[Path, Path], None] | None = None,
) -> int:
    """`publitrac retry RESULTS [FILE]`: resend the rows left unsent; the exit status says how it went."""
    with guard() as stop:
        return _run_retry(args, out or sys.stdout, check_results, stop)


def _run_retry(
    args: argparse.Namespace,
    out: TextIO,
    check_results: Callable[[Path, Path], None] | None,
    stop: StopSignal,
) -> int:
    import publitrac
    from ..files._reader import InputFile
    from ..ledger._store import destination_for

    table, run_id = read_results(args.results_file)
    with _ledger(args.ledger) as ledger:
        run = ledger.run(run_id)
        if run is None:
            raise UsageError(
                f"{args.results_file} is the results file of run {run_id}, which the ledger {ledger.location} "
                "does not hold: pass --ledger with the ledger that recorded it"
            )
        client = _connection(args)
        here = destination_for(client)
        if (here.base_url, here.key_fingerprint) != (run.base_url.rstrip("/"), run.key_fingerprint):
            raise UsageError(
                f"run {run.id} sent to {run.destination}, but this connection sends to {here}: retry with the "
                "run's base URL and API key (--base-url, PUBLITRAC_BASE_URL, PUBLITRAC_API_KEY or --profile)"
            )
        source = _input_file(args, run)
        _read_as_recorded(args, run, out)
        rows = rows_to_retry(table)
        if not len(rows):
            print(
                f"Nothing to retry: no row of run {run.id} was failed, in flight or not sent.",
                file=out,
            )
            return EXIT_OK
        results = args.results or args.results_file.with_name(
            f"{args.results_file.stem}.retry-{run.id}{args.results_file.suffix or '.csv'}"
        )
        if check_results is not None:
            check_results(results, source)
        frame = read_rows(args, source, rows, out)
        mapping = _mapping(args, run, frame)
        _check_emails(frame[mapping.email], table, rows, out)
        from ._common import describe_mapping

        for line in describe_mapping(mapping):
            print(line, file=out)
        left = int(table["status"].isin(RETRIED).sum())
        print(
            f"Retrying run {run.id}: {left:,} rows failed, in flight or not sent, {len(rows):,} with their "
            f"email groups, from {source}",
            file=out,
        )
        options = _settings(args, run)
        interrupted = False
        try:
            report = publitrac.sync(
                frame,
                client,
                mapping=mapping,
                ledger=ledger,
                resend="all",
                dry_run=args.dry_run,
                input_name=source.name,
                input_file=InputFile(source, sep=args.sep, encoding=args.encoding),
                retry_of=run.id,
                progress=False if args.no_progress else None,
                **options,
            )
        except publitrac.SyncInterrupted as stopped:
            report, interrupted = stopped.report, True
            print("publitrac: interrupted: the retry was stopped", file=sys.stderr)
        except publitrac.PublitracError as exc:
            if exc.report is not None:
                _write(exc.report, results, rows)
                print(f"Results written to {results} (one line per retried row)", file=sys.stderr)
                exc.report = None  # written here, numbered as in the input file: not again by the caller
            raise
        _summary(report, run, rows, results, out)
    if interrupted:
        return stop.exit_status
    if args.dry_run:
        return EXIT_OK
    return EXIT_OK if report.ok else EXIT_ROWS


def read_results(path: Path) -> tuple[pd.DataFrame, int]:
    """The results file (text columns as written) and the run it names.

    Raises:
        UsageError: no such file, not a results file, or one naming no run or several.
    """
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read the results file {path}: {exc}") from None
    missing = {"row", "email", "status"} - set(table.columns)
    if missing:
        raise UsageError(f"{path} is not a results file of publitrac sync (no {', '.join(sorted(missing))})")
    if "run_id" not in table.columns:
        raise UsageError(
            f"{path} has no run_id column: it was written by an older publitrac, or by a run without a ledger; "
            "sync the file again with a ledger"
        )
    runs = sorted(set(table["run_id"]) - {""})
    if not runs:
        raise UsageError(
            f"{path} names no run (the run had no ledger, or was a dry run): nothing to retry from"
        )
    if len(runs) > 1:
        raise UsageError(f"{path} names several runs ({', '.join(runs)}): give the results file of one run")
    try:
        run_id = int(runs[0])
    except ValueError:
        raise UsageError(f"{path}: run_id {runs[0]!r} is not a run id") from None
    try:
        table["row"] = table["row"].astype(np.int64)
    except ValueError:
        raise UsageError(f"{path}: the row column holds something other than row numbers") from None
    return table, run_id


def rows_to_retry(table: pd.DataFrame) -> np.ndarray:
    """The row numbers (of the input file) to send again: those failed, in flight or not sent, and every valid
    row sharing an email with one of them, sorted.

    Example:
        >>> table = pd.DataFrame({"row": [0, 1, 2, 3], "email": ["a@x.fr", "b@x.fr", "A@x.fr ", "bad"],
        ...                       "status": ["accepted", "accepted", "failed", "invalid"]})
        >>> rows_to_retry(table).tolist()
        [0, 2]
    """
    from ..engine._report import with_email_groups

    statuses = table["status"].to_numpy(dtype=object)
    left = np.isin(statuses, RETRIED)
    sendable = statuses != "invalid"
    positions = with_email_groups(left, table["email"].to_numpy(dtype=object), sendable)
    rows: np.ndarray = np.sort(table["row"].to_numpy(dtype=np.int64)[positions])
    return rows


def read_rows(args: argparse.Namespace, source: Path, rows: np.ndarray, out: TextIO) -> pd.DataFrame:
    """The input file's rows at these row numbers, in order; a big file is read in batches, keeping only them.

    Raises:
        UsageError: the file cannot be read, or has fewer rows than the results file names.
    """
    from ..files._reader import LeadFileError
    from .._words import CLI
    from ._stream import wants_stream

    reading = argparse.Namespace(file=source, batch_rows=args.batch_rows)
    try:
        if wants_stream(reading):
            frame, total = _rows_in_batches(args, source, rows)
        else:
            from ..files._reader import read_leads

            whole = read_leads(source, sep=args.sep, encoding=args.encoding).frame
            total = len(whole)
            frame = whole.iloc[rows[rows < total]].reset_index(drop=True)
    except LeadFileError as exc:
        raise UsageError(exc.in_words(CLI)) from exc
    except (OSError, ImportError) as exc:
        raise UsageError(str(exc)) from exc
    if len(frame) != len(rows):
        raise UsageError(
            f"{source} has {total:,} rows, but the results file names row {int(rows[-1]):,}: it is not the "
            "run's input file"
        )
    print(f"Read {len(frame):,} of the {total:,} rows of {source.name}", file=out)
    return frame


def _rows_in_batches(args: argparse.Namespace, source: Path, rows: np.ndarray) -> tuple[pd.DataFrame, int]:
    from ..files._batches import DEFAULT_BATCH_ROWS, read_batches

    batches = read_batches(
        source, batch_rows=args.batch_rows or DEFAULT_BATCH_ROWS, sep=args.sep, encoding=args.encoding
    )
    kept: list[pd.DataFrame] = []
    start = 0
    for batch in batches:
        end = start + len(batch)
        low, high = np.searchsorted(rows, [start, end])
        if high > low:
            kept.append(batch.iloc[rows[low:high] - start])
        start = end
    if not kept:
        return pd.DataFrame(), start
    return pd.concat(kept, ignore_index=True), start


def _check_emails(emails: pd.Series, table: pd.DataFrame, rows: np.ndarray, out: TextIO) -> None:
    """Say how many rows hold another email than the results file says (a changed input file)."""
    from ..lead._values import normalised_emails

    expected = table.set_index("row").loc[rows, "email"]
    now = normalised_emails(emails.astype("string")).fillna("").to_numpy(dtype=object)
    before = normalised_emails(expected.astype("string")).fillna("").to_numpy(dtype=object)
    differ = int((now != before).sum())
    if differ:
        print(
            f"Warning: {differ:,} of the rows to retry hold another email than in the results file: the input "
            "file changed since the run",
            file=out,
        )


def _mapping(args: argparse.Namespace, run: RunRecord, frame: pd.DataFrame) -> Any:
    import publitrac
    from ..syncs._provenance import mapping_from_record

    options = mapping_options(args)
    given = any(value is not None for value in options.values())
    recorded = run.source.settings.get("mapping")
    if given or recorded is None:
        return publitrac.map_columns(frame, **options)
    mapping = mapping_from_record(recorded)
    missing = [column for column in (*mapping.fields, *mapping.custom) if column not in frame.columns]
    if missing:
        raise UsageError(
            f"the input file has no column {', '.join(map(repr, missing))} that run {run.id} sent: pass "
            "--email-column/--map/--custom to map its columns now"
        )
    return mapping


def _settings(args: argparse.Namespace, run: RunRecord) -> dict[str, Any]:
    """The run's settings, each replaced by its flag when given now."""
    recorded = run.source.settings
    chosen: dict[str, Any] = {}
    for name in _OWN_SETTINGS:
        given = getattr(args, name)
        if given is not None:
            chosen[name] = given
        elif name in recorded:
            chosen[name] = recorded[name]
    return chosen


def _read_as_recorded(args: argparse.Namespace, run: RunRecord, out: TextIO) -> None:
    """`--sep` and `--encoding`, when not given now, as the run read its file (detected or given then): the
    same bytes read another way could change a name on the way."""
    reading = run.source.settings.get("reading") or {}
    taken = []
    for name, flag in (("sep", "--sep"), ("encoding", "--encoding")):
        recorded = reading.get(name)
        if getattr(args, name) is None and isinstance(recorded, str) and recorded:
            setattr(args, name, recorded)
            taken.append(f"{flag} {recorded!r}")
    if taken:
        print(f"Reading the file as run {run.id} did: {', '.join(taken)}", file=out)


def _input_file(args: argparse.Namespace, run: RunRecord) -> Path:
    """FILE, or the run's input file; refused when its SHA-256 is not the recorded one (unless allowed)."""
    from ..ledger._records import file_sha256

    recorded = run.source.input_path
    if args.file is None and recorded is None:
        raise UsageError(f"run {run.id} recorded no input file: name it, publitrac retry RESULTS FILE")
    source = Path(args.file) if args.file is not None else Path(str(recorded))
    if not source.is_file():
        hint = "" if args.file is not None else ": name where it is now, publitrac retry RESULTS FILE"
        raise UsageError(f"no such input file: {source}{hint}")
    if args.allow_changed_input:
        return source
    expected = run.source.input_sha256
    if expected is None:
        raise UsageError(
            f"run {run.id} recorded no SHA-256 of its input, so {source} cannot be checked: pass "
            "--allow-changed-input to retry from it anyway"
        )
    actual = file_sha256(source)
    if actual != expected:
        raise UsageError(
            f"{source} is not the file run {run.id} read: its SHA-256 is {actual[:16]}..., the run's input "
            f"({recorded}) had {expected[:16]}...; rows may have moved or changed. Pass --allow-changed-input "
            "to retry from it anyway"
        )
    return source


def _connection(args: argparse.Namespace) -> Any:
    import publitrac

    options: dict[str, Any] = {"allow_insecure_http": args.allow_insecure_http or None}
    if args.timeout is not None:
        options["timeout"] = args.timeout
    if args.profile:
        options["profile"] = args.profile
    return publitrac.Publitrac(base_url=args.base_url, **options)


@contextlib.contextmanager
def _ledger(target: str | None) -> Iterator[Ledger]:
    """The ledger that recorded the run: --ledger, else the default one (never created by looking)."""
    import os

    from ..ledger._store import LEDGER_ENV, default_ledger_path, open_ledger

    if target is None and not os.environ.get(LEDGER_ENV, "").lower().startswith(("postgresql:", "postgres:")):
        path = default_ledger_path()
        if not path.is_file():
            raise UsageError(f"no ledger at {path}: pass --ledger with the ledger that recorded the run")
        target = str(path)
    elif target is not None and "://" not in target and not Path(target).expanduser().is_file():
        raise UsageError(f"--ledger {target}: no such ledger file")
    ledger = open_ledger(target)
    assert ledger is not None
    try:
        yield ledger
    finally:
        ledger.close()


def _write(report: SyncReport, results: Path, rows: np.ndarray) -> None:
    """The retried rows' results, numbered as in the input file, written atomically."""
    import os

    temporary = results.with_name(f".{results.name}.{os.getpid()}.tmp")
    try:
        report.to_csv(temporary, rows=rows)
        os.replace(temporary, results)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def _summary(report: SyncReport, run: RunRecord, rows: np.ndarray, results: Path, out: TextIO) -> None:
    print(report.describe(), file=out)
    if report.run_id is not None:
        print(f"Run {report.run_id} recorded in the ledger {report.ledger} (retry of run {run.id})", file=out)
    table = report.results
    failed = np.flatnonzero((table["status"] == "failed").to_numpy(dtype=bool))
    if len(failed):
        print("Failed rows:", file=out)
        for position in failed[:_SHOWN].tolist():
            print(
                f"  row {int(rows[position])} ({table['email'].iloc[position]}): {table['error'].iloc[position]}",
                file=out,
            )
        if len(failed) > _SHOWN:
            print(f"  ... and {len(failed) - _SHOWN:,} more", file=out)
    _write(report, results, rows)
    print(f"Results written to {results} (one line per retried row, numbered as in the input file)", file=out)

"""The `publitrac` command line: `publitrac sync FILE`, `validate FILE`, `sandbox`, `app` (the push app),
`runs` and `ledger` (the history of runs and the ledger of accepted leads: `_ledger`).

    publitrac sync leads.csv --sandbox                    # try it: a local sandbox, synced and shown
    publitrac sync leads.csv --custom Company --results results.csv
    publitrac validate leads.csv --map "Mail=email"

The API key is read from `PUBLITRAC_API_KEY`, else from the profile saved by `publitrac login` (`--profile`,
`PUBLITRAC_PROFILE`, else "default": `_profiles`), never from a command-line argument (shell history, `ps`); the
base URL from `--base-url`, else `PUBLITRAC_BASE_URL`, else the profile. Files are read by `publitrac.read_leads`: text files as
text (encoding and delimiter detected, `--encoding`/`--sep` override) so that values such as `007` or `NA`
arrive as written; JSON keeps its values; Parquet and Excel files keep their column types.

Exit statuses: 0 every row accepted or unchanged (for `validate`: no invalid row); 1 some rows invalid, failed or
not sent; 2 usage, configuration, file or authentication errors, and a run refused by a guard (`--max-invalid`,
`--max-changed`, `--canary`: `RunRefused`); 130 stopped by Ctrl-C (SIGINT) and 143 by SIGTERM (128 + the signal's
number, as shells say it), the summary and the results file written all the same.

`--output json` (`sync`, `validate`, `runs`, `runs show`, `ledger stats`): one JSON document on stdout at the end,
whatever ended the command, and the human text on stderr (`_output`).

A ledger remembers what Publitrac accepted: a rerun sends only the rows that changed (`--full` sends all,
`--no-ledger` turns it off, `--ledger PATH` picks the file; a `--sandbox` run uses none unless given one).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
import sys
import tempfile
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import ExitStack
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any, TextIO, cast

import numpy as np
import pandas as pd

from . import _stream as _cli_stream
from ._common import (
    PROGRESS_EVERY,
    StopSignal,
    UsageError,
    add_mapping_arguments,
    add_run_arguments,
    describe_mapping,
    mapping_options,
    positive_float,
    positive_int,
    print_guards,
    sync_options,
)
from ._output import add_output_argument, document_of, human_out, wants_json
from ._profiles import add_commands as profiles_commands, add_profile_argument
from .._words import CLI

if TYPE_CHECKING:
    from ..files._reader import LeadFile
    from ..engine._report import SyncReport

EXIT_OK = 0
EXIT_ROWS = 1
EXIT_USAGE = 2
EXIT_SIGINT = 128 + signal.SIGINT  # 130, as a shell reports a command Ctrl-C stopped
EXIT_SIGTERM = 128 + signal.SIGTERM  # 143
_SHOWN_PROBLEMS = 10
_SHOWN_LEADS = 5
"""Seconds between two progress lines when stderr is not a terminal."""


def build_parser() -> argparse.ArgumentParser:
    from .. import __version__

    parser = argparse.ArgumentParser(prog="publitrac", description="Push leads to the Publitrac API v2.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    from ..sandbox import _cli as sandbox_cli

    sandbox = commands.add_parser("sandbox", help="run a local Publitrac-compatible server")
    sandbox_cli.add_arguments(sandbox)
    sandbox.set_defaults(run=sandbox_cli.run)

    sync = commands.add_parser(
        "sync",
        help="send every valid row of a file to Publitrac",
        description="Send every valid row of FILE to Publitrac's delayed sync and report what happened to "
        "each row. The API key comes from PUBLITRAC_API_KEY.",
        epilog="Exit status: 0 every row accepted or unchanged; 1 some rows invalid, failed or not sent; 2 usage, "
        "configuration or authentication error (nothing sent when --results is unusable); 130 stopped by Ctrl-C "
        "(SIGINT), 143 by SIGTERM (the summary, the results file and the JSON document are still written).",
    )
    _add_input_arguments(sync)
    sync.add_argument(
        "--base-url", metavar="URL", help="the API's base URL, ending in /v2 (default: PUBLITRAC_BASE_URL)"
    )
    add_profile_argument(sync)
    sync.add_argument(
        "--results",
        type=Path,
        metavar="OUT.csv",
        help="write one line per input row: row, email, status, http_status, attempts, error, run_id, sent_at, "
        "body_key",
    )
    sync.add_argument(
        "--timeout",
        type=positive_float,
        metavar="S",
        help="seconds to wait for each answer before giving the call up (default: the library's, 30)",
    )
    sync.add_argument(
        "--allow-insecure-http",
        action="store_true",
        help="allow plain http to a host other than this machine (the API key would travel in clear)",
    )
    sync.add_argument(
        "--sandbox",
        action="store_true",
        help="start a local sandbox for this run, sync into it and show what it holds",
    )
    add_run_arguments(sync)
    add_output_argument(sync, "sync")
    sync.set_defaults(run=run_sync)

    validate = commands.add_parser(
        "validate",
        help="check a file's rows without sending anything",
        description="Map the columns of FILE and list the problems of every row; nothing is sent.",
        epilog="Exit status: 0 no invalid row (warnings allowed); 1 some rows invalid; 2 usage or file error; "
        "130 stopped by Ctrl-C (SIGINT), 143 by SIGTERM",
    )
    _add_input_arguments(validate)
    add_output_argument(validate, "validate")
    validate.set_defaults(run=run_validate)

    from ..app import _serve as app_serve

    app = commands.add_parser(
        "app",
        help="the push app in the browser (load, explore, map, connect, push, results)",
        description="Serve the push app on 127.0.0.1 with Voila and print its URL. A local sandbox shared by "
        'every page of the app runs alongside. Needs the notebooks extra: pip install "publitrac[notebooks]".',
    )
    app_serve.add_arguments(app)
    app.set_defaults(run=app_serve.run)

    from ._ledger import add_commands

    add_commands(commands)  # publitrac runs, publitrac ledger
    from ._retry import add_command as retry_command

    retry_command(commands, guard=sigterm_as_interrupt, check_results=check_results_path)  # publitrac retry
    profiles_commands(commands)  # publitrac login, profiles, logout
    return parser


def _add_input_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file",
        type=Path,
        metavar="FILE",
        help="the leads: CSV/TSV/TXT as Excel or a CRM writes it (encoding and delimiter detected), JSON, "
        "JSON Lines, Parquet or Excel",
    )
    parser.add_argument(
        "--sep",
        type=_delimiter,
        metavar="CHAR",
        help="the delimiter of a text file: one character, or tab (also written \\t) (detected when omitted)",
    )
    parser.add_argument(
        "--encoding",
        metavar="CODEC",
        help="the encoding of a text file, e.g. cp1252, utf-16, utf-8-sig (detected when omitted)",
    )
    parser.add_argument(
        "--batch-rows",
        type=positive_int,
        metavar="N",
        help="read, check and send the file N rows at a time, memory bounded whatever its size (CSV/TSV/TXT, "
        "JSON Lines, Parquet); files over 8 MB are streamed in batches of 50,000 rows anyway",
    )
    add_mapping_arguments(parser)


def _delimiter(text: str) -> str:
    # A tab is hard to type in a shell: `--sep tab` and `--sep '\t'` mean it.
    return "\t" if text in ("tab", "TAB", "\\t") else text


def read_file(args: argparse.Namespace, out: TextIO) -> LeadFile:
    """Read FILE with the shared reader (`publitrac.read_leads`) and say what was detected.

    Raises:
        UsageError: the file is missing, a directory, of an unknown kind, unreadable, or its library is missing.
    """
    from ..files._reader import AmbiguousEncodingWarning, LeadFileError, read_leads

    try:
        with warnings.catch_warnings():
            warnings.simplefilter(
                "ignore", AmbiguousEncodingWarning
            )  # said below, in the command line's words
            leads = read_leads(args.file, sep=args.sep, encoding=args.encoding)
    except LeadFileError as exc:
        raise UsageError(exc.in_words(CLI)) from exc
    except (OSError, ImportError) as exc:
        raise UsageError(str(exc)) from exc
    print(f"Read {leads.describe()}", file=out)
    document_of(args).record_file(leads, streamed=False, batch_rows=None)
    warning = leads.encoding_warning(CLI)
    if warning is not None:
        print(f"Warning: {warning}", file=out)
    return leads


def _print_problems(report_problems: pd.DataFrame, leads: LeadFile, out: TextIO) -> None:
    from ..lead._validation import problems_in_words

    errors = report_problems[report_problems["severity"] == "error"]
    warnings = report_problems[report_problems["severity"] != "error"]
    for title, table in (("Invalid rows (not sent)", errors), ("Warnings (rows sent anyway)", warnings)):
        if table.empty:
            continue
        print(f"{title}:", file=out)
        shown = table.head(_SHOWN_PROBLEMS)
        # rows named inside a problem ("same email as ...") in the file's own terms too, as the row itself
        texts = problems_in_words(shown, CLI, locate=leads.locate)
        for item, text in zip(shown.itertuples(index=False), texts, strict=True):
            print(f"  {leads.locate(int(cast(int, item.position)))} ({item.column}): {text}", file=out)
        if len(table) > _SHOWN_PROBLEMS:
            print(f"  ... and {len(table) - _SHOWN_PROBLEMS} more", file=out)


def run_validate(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """`publitrac validate FILE`: print the problems; exit 1 when some rows are invalid."""
    from .._exceptions import SyncInterrupted

    with sigterm_as_interrupt() as stop:
        try:
            return _run_validate(args, human_out(args, out))
        except KeyboardInterrupt:
            return _interrupted(args, stop)
        except SyncInterrupted as stopped:  # a streamed validation: its report has the rows checked so far
            document_of(args).record_report(stopped.report)
            return _interrupted(args, stop)


def _run_validate(args: argparse.Namespace, out: TextIO) -> int:
    import publitrac

    if _cli_stream.wants_stream(args):
        return _cli_stream.run_validate(args, out)
    leads = read_file(args, out)
    frame = leads.frame
    mapping = publitrac.map_columns(frame, **mapping_options(args))
    document = document_of(args)
    document.record_mapping(mapping)
    for line in describe_mapping(mapping):
        print(line, file=out)
    problems = publitrac.validate(frame, mapping=mapping)
    invalid = problems.loc[problems["severity"] == "error", "position"].nunique()
    document.fields["rows"] = len(frame)
    document.fields["counts"].update(invalid=int(invalid), not_sent=len(frame) - int(invalid))
    document.record_problems(problems, total=len(problems))
    warned = int((problems["severity"] != "error").sum())
    print(
        f"{args.file}: {len(frame):,} rows, {len(frame) - invalid:,} valid, {invalid:,} invalid"
        + (f", {warned:,} warning{'s' if warned > 1 else ''}" if warned else ""),
        file=out,
    )
    _print_problems(problems, leads, out)
    return EXIT_ROWS if invalid else EXIT_OK


def check_results_path(results: Path, source: Path) -> None:
    """Refuse a `--results` path before anything is sent: a directory, a missing or read-only folder, the
    input file itself.

    Raises:
        UsageError: the path cannot take the results.
    """
    if results.is_dir():
        raise UsageError(f"--results {results}: is a directory; name a file, e.g. {results / 'results.csv'}")
    folder = results.parent
    if not folder.is_dir():
        raise UsageError(f"--results {results}: no such folder: {folder}")
    if results.resolve() == source.resolve() or (results.exists() and os.path.samefile(results, source)):
        raise UsageError(f"--results {results}: is the input file; name another file")
    # os.access says yes to root even on a read-only mount: create (and remove) a file to know.
    try:
        probe = tempfile.NamedTemporaryFile(dir=folder, prefix=f".{results.name}.", suffix=".check")
    except OSError as exc:
        raise UsageError(f"--results {results}: cannot write in {folder}: {exc.strerror or exc}") from None
    probe.close()


def write_results(report: SyncReport, results: Path) -> None:
    """Write the results file atomically: a temporary file in the same folder, then `os.replace`, so that an
    interrupted write never leaves half a file (nor destroys the previous one)."""
    temporary = results.with_name(f".{results.name}.{os.getpid()}.tmp")
    try:
        report.to_csv(temporary)
        os.replace(temporary, results)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()


def _raise_interrupt() -> None:
    raise KeyboardInterrupt


@contextlib.contextmanager
def sigterm_as_interrupt() -> Iterator[StopSignal]:
    """SIGTERM (a scheduler, `timeout`, `docker stop`) stops the run as Ctrl-C does; the previous handler is
    restored after. The `StopSignal` yielded says which signal stopped the run (the first one).

    The signal is handed to the current SIGINT handler, so that under `asyncio.run` the run is cancelled as on
    Ctrl-C (every row gets its status); where SIGINT is ignored (a background job), KeyboardInterrupt is raised.
    """
    stop = StopSignal()
    if threading.current_thread() is not threading.main_thread():
        yield stop
        return

    def interrupt(signum: int, frame: FrameType | None) -> None:
        if stop.signum is None:
            stop.signum = signum
        handler = signal.getsignal(signal.SIGINT)
        if callable(handler) and handler is not signal.default_int_handler:
            handler(signal.SIGINT, frame)
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise KeyboardInterrupt from None
        # Raised from a callback of its own rather than here, inside whichever task the signal caught: that task
        # would keep the KeyboardInterrupt as its exception ("Task exception was never retrieved").
        loop.call_soon(_raise_interrupt)

    previous = signal.signal(signal.SIGTERM, interrupt)
    try:
        yield stop
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def progress_lines(interval: float = PROGRESS_EVERY, stream: TextIO | None = None) -> Iterator[None]:
    """Without a terminal, a plain line every `interval` seconds on stderr: `publitrac sync: 1,200/5,000 rows,
    3 failed` (a log or a CI job shows it; a bar would be garbage there)."""
    import publitrac

    stopped = threading.Event()
    before = publitrac.last_report()

    def watch() -> None:
        while not stopped.wait(interval):
            report = publitrac.last_report()
            if report is None or report is before:
                continue
            counts = report.counts
            total = len(report) - counts["invalid"]
            done = total - counts["in_flight"] - counts["not_sent"]
            failed = f", {counts['failed']:,} failed" if counts["failed"] else ""
            print(f"publitrac sync: {done:,}/{total:,} rows{failed}", file=stream or sys.stderr, flush=True)

    watcher = threading.Thread(target=watch, name="publitrac-progress", daemon=True)
    watcher.start()
    try:
        yield
    finally:
        stopped.set()
        watcher.join()


def _show_sandbox(handle: Any, out: TextIO) -> None:
    handle.wait_until_applied()
    leads = list(handle.leads())
    print(f"The sandbox now holds {len(leads):,} leads; the first {min(_SHOWN_LEADS, len(leads))}:", file=out)
    if not leads:
        return
    rows = [
        {**lead.get("leadInfo", {}), **{f"custom:{k}": v for k, v in lead.get("leadCustomField", {}).items()}}
        for lead in leads[:_SHOWN_LEADS]
    ]
    table = pd.DataFrame(rows, dtype=object).fillna("")
    with pd.option_context("display.width", 120, "display.max_columns", 10, "display.max_colwidth", 30):
        print(table.to_string(index=False), file=out)


def _connect(args: argparse.Namespace, stack: ExitStack, out: TextIO) -> tuple[Any, Any]:
    """The connection for `publitrac sync` (None for a dry run) and the sandbox handle with `--sandbox`; the
    destination is recorded in the JSON document."""
    client, handle = _connection(args, stack, out)
    document_of(args).record_destination(client, sandbox=handle is not None)
    return client, handle


def _connection(args: argparse.Namespace, stack: ExitStack, out: TextIO) -> tuple[Any, Any]:
    import publitrac

    # None, not False, when the flag is absent: the profile's setting applies then
    connection: dict[str, Any] = {"allow_insecure_http": args.allow_insecure_http or None}
    if args.timeout is not None:
        connection["timeout"] = args.timeout
    if args.profile:
        if args.sandbox:
            raise UsageError("--sandbox and --profile exclude each other (the sandbox needs no account)")
        connection["profile"] = args.profile
    if args.dry_run:
        if not args.sandbox and (args.base_url or args.profile):
            # a dry run with a destination also says which rows the ledger finds unchanged
            return publitrac.Publitrac(base_url=args.base_url, **connection), None
        return None, None
    if args.sandbox:
        from ..sandbox import run_sandbox

        handle = stack.enter_context(run_sandbox())
        print(f"Sandbox running at {handle.base_url} (for this run only)", file=out)
        return publitrac.Publitrac(api_key=handle.api_key, base_url=handle.base_url, **connection), handle
    return publitrac.Publitrac(base_url=args.base_url, **connection), None


def run_sync(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """`publitrac sync FILE`: send, print a summary, write the results; the exit status says how it went."""
    with sigterm_as_interrupt() as stop:
        try:
            return _run_sync(args, human_out(args, out), stop)
        except KeyboardInterrupt:  # before or after the sync itself (reading the file, connecting)
            return _interrupted(args, stop)


def _interrupted(args: argparse.Namespace, stop: StopSignal) -> int:
    print("publitrac: interrupted", file=sys.stderr)
    document_of(args).stopped_by(stop.signum or signal.SIGINT)
    return stop.exit_status


def _run_sync(args: argparse.Namespace, out: TextIO, stop: StopSignal) -> int:
    import publitrac

    from ..files._reader import InputFile

    if args.sandbox and args.base_url:
        raise UsageError("--sandbox and --base-url exclude each other")
    if args.diff and not args.dry_run:
        raise UsageError("--diff goes with --dry-run: publitrac sync FILE --dry-run --diff")
    if args.results is not None:
        check_results_path(args.results, args.file)
    if _cli_stream.wants_stream(args):
        with ExitStack() as stack:
            client, handle = _connect(args, stack, out)
            status = _cli_stream.run_sync(args, out, client=client, stop=stop)
            if handle is not None and status != EXIT_USAGE:
                _show_sandbox(handle, out)
            return status
    leads = read_file(args, out)
    frame = leads.frame
    mapping = publitrac.map_columns(frame, **mapping_options(args))
    document = document_of(args)
    document.record_mapping(mapping)
    for line in describe_mapping(mapping):
        print(line, file=out)
    with ExitStack() as stack:
        client, handle = _connect(args, stack, out)
        options = sync_options(args)
        # the record keeps how the file was read (what was detected, or the flags): a retry reads it so again
        options["input_file"] = InputFile(args.file, sep=leads.delimiter, encoding=leads.encoding)
        interrupted = False
        try:
            with (
                progress_lines()
                if not (args.no_progress or options["progress"] or args.dry_run)
                else contextlib.nullcontext()
            ):
                report = publitrac.sync(frame, client, mapping=mapping, **options)
        except publitrac.SyncInterrupted as stopped:
            report, interrupted = stopped.report, True
            print("publitrac: interrupted: the run was stopped", file=sys.stderr)
            document.stopped_by(stop.signum or signal.SIGINT)
        document.record_report(report)
        print(report.describe(), file=out)
        if report.run_id is not None:
            print(f"Run {report.run_id} recorded in the ledger {report.ledger}", file=out)
        print_guards(report, args, out)
        _print_problems(report.problems, leads, out)
        statuses = report.results["status"]
        failed = np.flatnonzero((statuses == "failed").to_numpy(dtype=bool))
        if len(failed):
            print("Failed rows:", file=out)
            emails, errors = report.results["email"], report.results["error"]
            for position in failed[:_SHOWN_PROBLEMS]:
                print(
                    f"  {leads.locate(int(position))} ({emails.iloc[position]}): {errors.iloc[position]}",
                    file=out,
                )
            if len(failed) > _SHOWN_PROBLEMS:
                print(f"  ... and {len(failed) - _SHOWN_PROBLEMS} more", file=out)
        if args.results is not None:
            write_results(report, args.results)
            print(f"Results written to {args.results} (one line per input row)", file=out)
        if handle is not None and not interrupted:
            _show_sandbox(handle, out)
    if interrupted:
        return stop.exit_status
    if args.dry_run:
        return EXIT_ROWS if report.counts["invalid"] else EXIT_OK
    return EXIT_OK if report.ok else EXIT_ROWS


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status. With `--output json`, the command's JSON document is
    written on stdout at the end, whatever ended the command (`_output`)."""
    args = build_parser().parse_args(argv)
    json_output = wants_json(args)
    if json_output:
        document_of(args)  # its start time is the command's
    status, gone = _run_command(args)
    if json_output and not gone:
        try:
            print(document_of(args).render(status), file=sys.stdout, flush=True)
        except BrokenPipeError:
            _silence_stdout()
    return status


def _run_command(args: argparse.Namespace) -> tuple[int, bool]:
    """The command's exit status, and whether stdout's reader went away."""
    from .._exceptions import PublitracError

    try:
        return int(args.run(args)), False
    except UsageError as exc:
        print(f"publitrac: error: {exc}", file=sys.stderr)
        document_of(args).failed(exc, str(exc))
        return EXIT_USAGE, False
    except PublitracError as exc:
        message = exc.in_words(CLI)
        print(f"publitrac: error: {message}", file=sys.stderr)
        document = document_of(args)
        document.failed(exc, message)
        report = exc.report
        if report is not None:
            document.record_report(report)
            if getattr(args, "results", None) is not None:
                write_results(report, args.results)
                print(f"Results written to {args.results} (one line per input row)", file=sys.stderr)
        return EXIT_USAGE, False
    except KeyboardInterrupt:
        print("publitrac: interrupted", file=sys.stderr)
        document_of(args).stopped_by(signal.SIGINT)
        return EXIT_SIGINT, False
    except BrokenPipeError:
        # The reader went away (`publitrac sync ... | head`): stop quietly, as the docs of `signal` advise.
        _silence_stdout()
        return EXIT_ROWS, True


def _silence_stdout() -> None:
    # stdout pointed at devnull, so that the interpreter's final flush does not fail again.
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())


if __name__ == "__main__":
    sys.exit(main())

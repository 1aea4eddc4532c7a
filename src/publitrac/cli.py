"""The `publitrac` command line: `publitrac sandbox`, `publitrac sync FILE`, `publitrac validate FILE`.

    publitrac sync leads.csv --sandbox                    # try it: a local sandbox, synced and shown
    publitrac sync leads.csv --custom Company --results results.csv
    publitrac validate leads.csv --map "Mail=email"

The API key is read from `PUBLITRAC_API_KEY` only (never a command-line argument: shell history, `ps`); the
base URL from `--base-url` or `PUBLITRAC_BASE_URL`. Files are read by `publitrac.read_leads`: text files as
text (encoding and delimiter detected, `--encoding`/`--sep` override) so that values such as `007` or `NA`
arrive as written; JSON keeps its values; Parquet and Excel files keep their column types.

Exit statuses: 0 every row accepted (for `validate`: no invalid row); 1 some rows invalid, failed or not sent
(an interrupted run included); 2 usage, configuration, file or authentication errors.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

import pandas as pd

from ._words import CLI

if TYPE_CHECKING:
    from ._files import LeadFile

EXIT_OK = 0
EXIT_ROWS = 1
EXIT_USAGE = 2
_SHOWN_PROBLEMS = 10
_SHOWN_LEADS = 5


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="publitrac", description="Push leads to the Publitrac API v2.")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    from .sandbox import _cli as sandbox_cli

    sandbox = commands.add_parser("sandbox", help="run a local Publitrac-compatible server")
    sandbox_cli.add_arguments(sandbox)
    sandbox.set_defaults(run=sandbox_cli.run)

    sync = commands.add_parser(
        "sync",
        help="send every valid row of a file to Publitrac",
        description="Send every valid row of FILE to Publitrac's delayed sync and report what happened to "
        "each row. The API key comes from PUBLITRAC_API_KEY.",
        epilog="Exit status: 0 every row accepted; 1 some rows invalid or failed; 2 usage, configuration or "
        "authentication error.",
    )
    _add_input_arguments(sync)
    sync.add_argument(
        "--base-url", metavar="URL", help="the API's base URL, ending in /v2 (default: PUBLITRAC_BASE_URL)"
    )
    sync.add_argument(
        "--concurrency", type=_positive_int, default=16, metavar="N", help="requests at once (16)"
    )
    sync.add_argument("--rate-limit", type=_positive_float, metavar="R", help="at most R requests per second")
    sync.add_argument(
        "--max-attempts", type=_positive_int, default=5, metavar="N", help="attempts per row (5)"
    )
    sync.add_argument(
        "--results",
        type=Path,
        metavar="OUT.csv",
        help="write one line per input row: row, email, status, http_status, attempts, error",
    )
    sync.add_argument("--dry-run", action="store_true", help="validate and report; send nothing")
    sync.add_argument(
        "--sandbox",
        action="store_true",
        help="start a local sandbox for this run, sync into it and show what it holds",
    )
    sync.add_argument("--no-progress", action="store_true", help="no progress bar")
    sync.set_defaults(run=run_sync)

    validate = commands.add_parser(
        "validate",
        help="check a file's rows without sending anything",
        description="Map the columns of FILE and list the problems of every row; nothing is sent.",
        epilog="Exit status: 0 no invalid row (warnings allowed); 1 some rows invalid; 2 usage or file error",
    )
    _add_input_arguments(validate)
    validate.set_defaults(run=run_validate)
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
        metavar="CHAR",
        help="the delimiter of a text file, e.g. ';' or $'\\t' (detected when omitted)",
    )
    parser.add_argument(
        "--encoding",
        metavar="CODEC",
        help="the encoding of a text file, e.g. cp1252, utf-16, utf-8-sig (detected when omitted)",
    )
    parser.add_argument("--email-column", metavar="COL", help="the email column (detected when omitted)")
    parser.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="COLUMN=field",
        dest="maps",
        help="send COLUMN as leadInfo field (repeatable); COLUMN=ignore drops a column",
    )
    custom = parser.add_mutually_exclusive_group()
    custom.add_argument(
        "--custom",
        action="append",
        default=[],
        metavar="COLUMN",
        help="send COLUMN as a custom field (repeatable)",
    )
    custom.add_argument(
        "--custom-all",
        action="store_true",
        help="send every column not mapped to a standard field as a custom field",
    )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1: {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be more than 0: {text!r}")
    return value


class UsageError(Exception):
    """A bad command line or input file (exit status 2)."""


def read_file(args: argparse.Namespace, out: TextIO) -> LeadFile:
    """Read FILE with the shared reader (`publitrac.read_leads`) and say what was detected.

    Raises:
        UsageError: the file is missing, a directory, of an unknown kind, unreadable, or its library is missing.
    """
    from ._files import LeadFileError, read_leads

    try:
        leads = read_leads(args.file, sep=args.sep, encoding=args.encoding)
    except LeadFileError as exc:
        raise UsageError(exc.in_words(CLI)) from exc
    except (OSError, ImportError) as exc:
        raise UsageError(str(exc)) from exc
    print(f"Read {leads.describe()}", file=out)
    return leads


def _mapping_options(args: argparse.Namespace) -> dict[str, Any]:
    overrides: dict[str, str | None] = {}
    for item in args.maps:
        column, equals, field = item.rpartition("=")
        if not equals or not column.strip():
            raise UsageError(f"--map expects COLUMN=field, got {item!r}")
        field = field.strip()
        overrides[column.strip()] = None if field.lower() in ("", "ignore", "none") else field
    custom: Any = "all" if args.custom_all else (list(args.custom) or None)
    return {"email": args.email_column, "mapping": overrides or None, "custom_fields": custom}


def _print_problems(report_problems: pd.DataFrame, leads: LeadFile, out: TextIO) -> None:
    errors = report_problems[report_problems["severity"] == "error"]
    warnings = report_problems[report_problems["severity"] != "error"]
    for title, table in (("Invalid rows (not sent)", errors), ("Warnings (rows sent anyway)", warnings)):
        if table.empty:
            continue
        print(f"{title}:", file=out)
        for item in table.head(_SHOWN_PROBLEMS).itertuples(index=False):
            print(f"  {leads.locate(int(item.position))} ({item.column}): {item.problem}", file=out)
        if len(table) > _SHOWN_PROBLEMS:
            print(f"  ... and {len(table) - _SHOWN_PROBLEMS} more", file=out)


def run_validate(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """`publitrac validate FILE`: print the problems; exit 1 when some rows are invalid."""
    import publitrac

    out = out or sys.stdout
    leads = read_file(args, out)
    frame = leads.frame
    problems = publitrac.validate(frame, **_mapping_options(args))
    invalid = problems.loc[problems["severity"] == "error", "position"].nunique()
    warned = int((problems["severity"] != "error").sum())
    print(
        f"{args.file}: {len(frame):,} rows, {len(frame) - invalid:,} valid, {invalid:,} invalid"
        + (f", {warned:,} warning{'s' if warned > 1 else ''}" if warned else ""),
        file=out,
    )
    _print_problems(problems, leads, out)
    return EXIT_ROWS if invalid else EXIT_OK


def _describe_mapping(mapping: Any) -> str:
    parts = [f"{column} -> {field}" for column, field in mapping.fields.items()]
    parts += [f"{column} -> custom {name!r}" for column, name in mapping.custom.items()]
    return ", ".join(parts)


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


def run_sync(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """`publitrac sync FILE`: send, print a summary, write the results; the exit status says how it went."""
    import publitrac

    out = out or sys.stdout
    if args.sandbox and args.base_url:
        raise UsageError("--sandbox and --base-url exclude each other")
    leads = read_file(args, out)
    frame = leads.frame
    options = _mapping_options(args)
    mapping = publitrac.map_columns(frame, **options)
    print(f"Mapping: {_describe_mapping(mapping)}", file=out)
    with ExitStack() as stack:
        client = None
        handle = None
        if args.sandbox and not args.dry_run:
            from .sandbox import run_sandbox

            handle = stack.enter_context(run_sandbox())
            client = publitrac.Publitrac(api_key=handle.api_key, base_url=handle.base_url)
            print(f"Sandbox running at {handle.base_url} (for this run only)", file=out)
        elif not args.dry_run:
            client = publitrac.Publitrac(base_url=args.base_url)
        interrupted = False
        try:
            report = publitrac.sync(
                frame,
                client,
                mapping=mapping,
                concurrency=args.concurrency,
                rate_limit=args.rate_limit,
                max_attempts=args.max_attempts,
                progress=False if args.no_progress else None,
                dry_run=args.dry_run,
            )
        except publitrac.SyncInterrupted as stopped:
            report, interrupted = stopped.report, True  # type: ignore[assignment]
        print(report.describe(), file=out)
        _print_problems(report.problems, leads, out)
        failed = report.results[report.results["status"] == "failed"]
        if len(failed):
            print("Failed rows:", file=out)
            for position, (email, error) in enumerate(zip(failed["email"], failed["error"], strict=True)):
                if position == _SHOWN_PROBLEMS:
                    print(f"  ... and {len(failed) - _SHOWN_PROBLEMS} more", file=out)
                    break
                print(f"  {email}: {error}", file=out)
        if args.results is not None:
            report.to_csv(args.results)
            print(f"Results written to {args.results} (one line per input row)", file=out)
        if handle is not None and not interrupted:
            _show_sandbox(handle, out)
    if args.dry_run:
        return EXIT_ROWS if report.counts["invalid"] else EXIT_OK
    return EXIT_OK if report.ok else EXIT_ROWS


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    from ._exceptions import PublitracError

    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args))
    except UsageError as exc:
        print(f"publitrac: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except PublitracError as exc:
        print(f"publitrac: error: {exc}", file=sys.stderr)
        report = exc.report
        if report is not None and getattr(args, "results", None) is not None:
            report.to_csv(args.results)
            print(f"Results written to {args.results} (one line per input row)", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        print("publitrac: interrupted", file=sys.stderr)
        return EXIT_ROWS
    except BrokenPipeError:
        # The reader went away (`publitrac sync ... | head`): stop quietly, as the docs of `signal` advise,
        # pointing stdout at devnull so that the interpreter's final flush does not fail again.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_ROWS


if __name__ == "__main__":
    sys.exit(main())

"""`publitrac runs` and `publitrac ledger`: the history of runs and the ledger of accepted leads, from the shell.

    publitrac runs                          # recent runs, every destination, newest first
    publitrac runs show 12                  # one run
    publitrac ledger stats                  # leads and runs for the destination of PUBLITRAC_BASE_URL + key
    publitrac ledger forget --email ana@exemple.fr     # the next sync sends this lead again
    publitrac ledger forget --all                      # ... every lead of the destination
    publitrac runs --output json                       # runs, runs show and ledger stats as one JSON document
    publitrac ledger compact --older-than 90           # drop the bodies kept for leads untouched for 90 days

The ledger is the default one (`PUBLITRAC_LEDGER`, else the user's data directory) unless `--ledger PATH` names
another. The destination is the base URL (`--base-url` or `PUBLITRAC_BASE_URL`) with the API key of
`PUBLITRAC_API_KEY` (only its fingerprint is used), or those of the profile `--profile` names. Reading commands never create a ledger.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import TextIO

import pandas as pd

from ._output import add_output_argument, document_of, human_out, run_record, stats_record
from ..ledger._store import (
    Ledger,
    default_ledger_path,
    destination_for,
    open_ledger,
    run_duration,
    runs_frame,
)

__all__ = ["add_commands"]


def add_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add `runs` and `ledger` to the `publitrac` command line.

    Args:
        commands: the subparsers of the main parser.

    Example:
        >>> parser = argparse.ArgumentParser(prog="publitrac"); add_commands(parser.add_subparsers())
        >>> parser.parse_args(["runs", "--limit", "5"]).limit
        5
    """
    runs = commands.add_parser(
        "runs",
        help="list recent sync runs (from the ledger)",
        description="List the latest sync runs recorded in the ledger, newest first, or show one.",
    )
    _add_ledger_path(runs)
    runs.add_argument("--limit", type=int, default=20, metavar="N", help="how many runs (20)")
    add_output_argument(runs, "runs", suppress=True)
    runs.set_defaults(run=run_runs)
    runs_commands = runs.add_subparsers(dest="runs_command", metavar="show ID")
    show = runs_commands.add_parser("show", help="show one run")
    show.add_argument("run_id", type=int, metavar="ID", help="the run's id (as listed)")
    _add_ledger_path(show)
    add_output_argument(show, "runs show", suppress=True)
    show.set_defaults(run=run_show)

    ledger = commands.add_parser(
        "ledger",
        help="what the ledger holds for a destination; forget leads",
        description="The ledger of leads Publitrac accepted, for the destination of --base-url (or "
        "PUBLITRAC_BASE_URL) and PUBLITRAC_API_KEY.",
    )
    ledger_commands = ledger.add_subparsers(dest="ledger_command", required=True, metavar="COMMAND")
    stats = ledger_commands.add_parser("stats", help="leads and runs held for the destination")
    _add_destination(stats)
    add_output_argument(stats, "ledger stats")
    stats.set_defaults(run=run_stats)
    forget = ledger_commands.add_parser("forget", help="forget leads, so that the next sync sends them again")
    _add_destination(forget)
    which = forget.add_mutually_exclusive_group(required=True)
    which.add_argument(
        "--email", action="append", default=[], metavar="E", help="forget this lead (repeatable)"
    )
    which.add_argument("--all", action="store_true", help="forget every lead of the destination")
    forget.set_defaults(run=run_forget)
    compact = ledger_commands.add_parser(
        "compact",
        help="drop the accepted bodies the ledger keeps (for --dry-run --diff and the column guard); "
        "the fingerprints stay, so reruns still skip unchanged leads",
        description="Drop the last accepted bodies kept for leads (all of them, or those of leads last accepted "
        "more than --older-than DAYS ago), for every destination unless --base-url or --profile names one; "
        "a SQLite file then gives the space back (VACUUM).",
    )
    _add_ledger_path(compact)
    compact.add_argument(
        "--older-than", type=float, metavar="DAYS", help="only the bodies of leads untouched for DAYS days"
    )
    compact.add_argument("--base-url", metavar="URL", help="only this destination (with the key in use)")
    from ._profiles import add_profile_argument

    add_profile_argument(compact)
    compact.set_defaults(run=run_compact)


def _add_ledger_path(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--ledger",
        type=Path,
        metavar="PATH",
        default=argparse.SUPPRESS,
        help="the ledger file (default: PUBLITRAC_LEDGER, else one in your user data directory)",
    )


def _add_destination(parser: argparse.ArgumentParser) -> None:
    from ._profiles import add_profile_argument

    _add_ledger_path(parser)
    parser.add_argument(
        "--base-url", metavar="URL", help="the API's base URL, ending in /v2 (default: PUBLITRAC_BASE_URL)"
    )
    add_profile_argument(parser)


def _existing(args: argparse.Namespace, out: TextIO) -> Ledger | None:
    """The ledger named by the arguments, or None (said on `out`) when it does not exist yet."""
    path = getattr(args, "ledger", None) or default_ledger_path()
    document_of(args).fields["ledger"] = str(path)
    if not Path(path).is_file():
        print(f"No ledger at {path} yet: it is created by the first sync.", file=out)
        return None
    return open_ledger(path)


def run_runs(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """`publitrac runs`: the latest runs as a table."""
    out = human_out(args, out)
    document = document_of(args)
    document.fields["runs"] = []
    ledger = _existing(args, out)
    if ledger is None:
        return 0
    with ledger:
        runs = ledger.runs(limit=args.limit)
        location = ledger.location
    document.fields.update(ledger=location, runs=[run_record(run) for run in runs])
    if not runs:
        print(f"No runs recorded in {location}.", file=out)
        return 0
    with pd.option_context("display.width", 200, "display.max_columns", 20, "display.max_colwidth", 60):
        print(runs_frame(runs).to_string(index=False), file=out)
    return 0


def run_show(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """`publitrac runs show ID`: one run, a field a line; exit 1 when there is no such run."""
    out = human_out(args, out)
    document = document_of(args)
    document.fields["run"] = None
    ledger = _existing(args, out)
    if ledger is None:
        return 1
    with ledger:
        run = ledger.run(args.run_id)
    document.fields["ledger"] = ledger.location
    if run is not None:
        document.fields["run"] = run_record(run)
    if run is None:
        print(f"No run {args.run_id} in {ledger.location}.", file=out)
        return 1
    record = run.as_dict()
    record["took"] = run_duration(run)
    width = max(len(name) for name in record)
    for name, value in record.items():
        shown = "" if value is None else ("yes" if value else "no") if isinstance(value, bool) else value
        print(f"{name.replace('_', ' ') + ':':<{width + 2}}{shown}", file=out)
    return 0


def run_stats(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """`publitrac ledger stats`: leads and runs held for the destination."""
    from ..connection._client import Publitrac

    out = human_out(args, out)
    document = document_of(args)
    document.fields.update(
        ledger=str(getattr(args, "ledger", None) or default_ledger_path()),
        destination=None,
        leads=0,
        runs=0,
        first_accepted=None,
        last_accepted=None,
    )
    destination = destination_for(Publitrac(base_url=args.base_url, profile=args.profile))
    document.fields["destination"] = str(destination)
    ledger = _existing(args, out)
    if ledger is None:
        return 0
    with ledger:
        stats = ledger.stats(destination)
    document.fields.update(stats_record(stats))
    print(f"Ledger: {stats.location}", file=out)
    print(f"Destination: {stats.destination}", file=out)
    print(f"Leads accepted: {stats.leads:,}", file=out)
    print(f"Runs: {stats.runs:,}", file=out)
    if stats.first_accepted is not None and stats.last_accepted is not None:
        first = stats.first_accepted.strftime("%Y-%m-%d %H:%M:%S")
        last = stats.last_accepted.strftime("%Y-%m-%d %H:%M:%S")
        print(f"Accepted between {first} and {last} UTC", file=out)
    return 0


def run_forget(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """`publitrac ledger forget (--email E | --all)`: the next sync sends these leads again."""
    from ..connection._client import Publitrac
    from ..ledger._fingerprints import email_keys

    out = out or sys.stdout
    destination = destination_for(Publitrac(base_url=args.base_url, profile=args.profile))
    ledger = _existing(args, out)
    if ledger is None:
        return 0
    with ledger:
        forgotten = ledger.forget(destination, None if args.all else email_keys(args.email))
    print(f"Forgot {forgotten:,} lead{'s' if forgotten != 1 else ''} of {destination}", file=out)
    return 0


def run_compact(args: argparse.Namespace, out: TextIO | None = None) -> int:
    """`publitrac ledger compact [--older-than DAYS]`: drop the kept bodies; the fingerprints stay."""
    import time

    from ..connection._client import Publitrac
    from ..ledger._store import BodyLedger

    out = out or sys.stdout
    destination = None
    if args.base_url or args.profile:
        destination = destination_for(Publitrac(base_url=args.base_url, profile=args.profile))
    ledger = _existing(args, out)
    if ledger is None:
        return 0
    with ledger:
        if not isinstance(ledger, BodyLedger):
            print(f"{ledger.location} keeps no bodies: nothing to compact.", file=out)
            return 0
        before = None if args.older_than is None else time.time() - args.older_than * 86400
        dropped = ledger.compact(destination, before=before)
    which = "" if args.older_than is None else f" of leads untouched for {args.older_than:g} days"
    print(
        f"Dropped {dropped:,} kept bod{'y' if dropped == 1 else 'ies'}{which} from {ledger.location}",
        file=out,
    )
    return 0
